// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {DemoToken} from "./DemoToken.sol";

/// @title BlockableToken
/// @notice A DemoToken whose issuer (the deployer) can block an address from sending and
/// receiving, as the large stablecoins' issuers can: how tests make a release that always
/// reverts. Kept apart from DemoToken so that the gas the benchmarks measure is a plain
/// ERC-20's. Never deployed by the production `deploy`.
contract BlockableToken is DemoToken {
    address public immutable issuer;
    mapping(address account => bool) public blocked;

    error Blocked(address account);
    error NotIssuer(address caller);

    constructor(string memory name_, string memory symbol_, uint8 decimals_, uint256 supply)
        DemoToken(name_, symbol_, decimals_, supply)
    {
        issuer = msg.sender;
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
