// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice A plain ERC-20 with an open mint: the main-chain token the symbolic tests move.
contract HalmosToken is ERC20 {
    constructor() ERC20("Halmos Token", "HT") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
