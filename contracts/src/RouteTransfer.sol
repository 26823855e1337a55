// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @notice The message validators agree on when one main chain serves many side chains: both
/// ends are named by chain id *and* bridge contract, so a second bridge on a chain (a redeploy,
/// a migration) is another route whose ids and nonces never meet the first's. `token` is the
/// main-chain token on every route; `amount` is what the recipient receives.
///
/// A withdrawal from side chain A names the hub as its destination, or side chain B's bridge
/// for a chained transfer, which the hub turns into a deposit to B (see `MainHub`).
struct RouteTransfer {
    uint256 srcChainId;
    address srcBridge;
    uint256 dstChainId;
    address dstBridge;
    uint64 nonce;
    address token;
    address sender;
    address recipient;
    uint256 amount;
}

/// @notice EIP-712 struct hashing of `RouteTransfer` (type name `Transfer`); the domain is the
/// destination bridge's, applied by the bridge that verifies it.
library RouteTransferHash {
    bytes32 internal constant TYPEHASH = keccak256(
        "Transfer(uint256 srcChainId,address srcBridge,uint256 dstChainId,address dstBridge,uint64 nonce,address token,address sender,address recipient,uint256 amount)"
    );

    function hash(RouteTransfer calldata t) internal pure returns (bytes32) {
        return keccak256(abi.encode(TYPEHASH, t));
    }

    function hashMemory(RouteTransfer memory t) internal pure returns (bytes32) {
        return keccak256(abi.encode(TYPEHASH, t));
    }

    /// @notice A route's id: the side chain and its bridge, as a full 256-bit hash.
    function routeId(uint256 chainId, address bridge) internal pure returns (bytes32) {
        return keccak256(abi.encode(chainId, bridge));
    }
}
