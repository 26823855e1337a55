// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @notice The one message validators agree on. Both ends are named by chain id *and* bridge
/// contract, so a second bridge on a chain (a redeploy, a migration, another route of the hub)
/// never shares ids or nonces with the first. `token` is the main-chain token on every route;
/// `amount` is what the recipient receives (the fee was already taken at the source).
struct Transfer {
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

/// @notice EIP-712 struct hashing of `Transfer`; the domain (destination chain and bridge) is
/// applied by the bridge that verifies it.
library TransferHash {
    bytes32 internal constant TYPEHASH = keccak256(
        "Transfer(uint256 srcChainId,address srcBridge,uint256 dstChainId,address dstBridge,uint64 nonce,address token,address sender,address recipient,uint256 amount)"
    );

    function hash(Transfer calldata t) internal pure returns (bytes32) {
        return keccak256(abi.encode(TYPEHASH, t));
    }

    function hashMemory(Transfer memory t) internal pure returns (bytes32) {
        return keccak256(abi.encode(TYPEHASH, t));
    }

    /// @notice A hub route's id: the side chain and its bridge, as a full 256-bit hash.
    function routeId(uint256 chainId, address bridge) internal pure returns (bytes32) {
        return keccak256(abi.encode(chainId, bridge));
    }
}
