// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title DemoToken
/// @notice A plain ERC-20 for local devnets, benchmarks and tests: the deployer receives the
/// whole supply. Like the large stablecoins, its issuer (the deployer) can block an address
/// from sending or receiving, which is how tests make a release that always reverts. Never
/// deployed by the production `deploy`.
contract DemoToken is ERC20 {
    uint8 private immutable _decimals;
    address public immutable issuer;
    mapping(address account => bool) public blocked;

    error Blocked(address account);
    error NotIssuer(address caller);

    constructor(string memory name_, string memory symbol_, uint8 decimals_, uint256 supply) ERC20(name_, symbol_) {
        _decimals = decimals_;
        issuer = msg.sender;
        _mint(msg.sender, supply);
    }

    function decimals() public view override returns (uint8) {
        return _decimals;
    }

    /// @notice Blocks (or unblocks) `account` from sending and receiving.
    function setBlocked(address account, bool isBlocked) external {
        if (msg.sender != issuer) revert NotIssuer(msg.sender);
        blocked[account] = isBlocked;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (blocked[from]) revert Blocked(from);
        if (blocked[to]) revert Blocked(to);
        super._update(from, to, value);
    }
}
