// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice ERC-20 that burns `feeBps` of every transfer between two accounts (mints and burns are
/// untaxed), so the receiver gets less than the amount named in the call.
contract FeeOnTransferToken is ERC20 {
    uint256 public immutable feeBps;

    constructor(uint256 feeBps_) ERC20("Fee On Transfer", "FOT") {
        require(feeBps_ <= 10_000, "fee");
        feeBps = feeBps_;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && to != address(0)) {
            uint256 tax = value * feeBps / 10_000;
            if (tax > 0) {
                super._update(from, address(0), tax);
                value -= tax;
            }
        }
        super._update(from, to, value);
    }
}
