// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice ERC-20 with a transfer hook: once armed, the next balance update calls `target` with
/// `payload` (e.g. back into the bridge that is moving the tokens) and bubbles up its revert.
contract ReentrantToken is ERC20 {
    address public target;
    bytes public payload;
    bool public armed;
    /// @notice Whether the hook ran and its call succeeded (only observable when nothing reverts).
    bool public reentered;

    constructor() ERC20("Reentrant", "REE") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function arm(address target_, bytes calldata payload_) external {
        target = target_;
        payload = payload_;
        armed = true;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (armed) {
            armed = false;
            (bool ok, bytes memory ret) = target.call(payload);
            if (!ok) {
                assembly ("memory-safe") {
                    revert(add(ret, 0x20), mload(ret))
                }
            }
            reentered = true;
        }
    }
}
