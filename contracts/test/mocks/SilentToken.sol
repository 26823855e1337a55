// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice ERC-20 whose `transfer` reports success and moves nothing once `silent` is set: the
/// token a release must not count as paid.
contract SilentToken is ERC20 {
    bool public silent;

    constructor() ERC20("Silent", "SIL") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function setSilent(bool silent_) external {
        silent = silent_;
    }

    function transfer(address to, uint256 value) public override returns (bool) {
        if (silent) return true;
        return super.transfer(to, value);
    }
}

/// @notice A "wrapped token" whose mint does nothing: what a mapping mistake would look like.
contract SilentWrapped {
    address public immutable bridge;

    constructor(address bridge_) {
        bridge = bridge_;
    }

    function mint(address, uint256) external {}

    function balanceOf(address) external pure returns (uint256) {
        return 0;
    }
}
