// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @notice The one message validators agree on. `token` is the main-chain token on both routes;
/// `amount` is what the recipient receives (the fee was already taken at the source).
struct Transfer {
    uint256 srcChainId;
    uint256 dstChainId;
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
        "Transfer(uint256 srcChainId,uint256 dstChainId,uint64 nonce,address token,address sender,address recipient,uint256 amount)"
    );

    function hash(Transfer calldata t) internal pure returns (bytes32) {
        return keccak256(abi.encode(TYPEHASH, t));
    }

    function hashMemory(Transfer memory t) internal pure returns (bytes32) {
        return keccak256(abi.encode(TYPEHASH, t));
    }
}
