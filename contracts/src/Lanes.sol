// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @notice Per-transfer vote records packed two to a storage slot, keyed by the contiguous nonce.
///
/// A lane is 128 bits: `[tag:79][done:1][version:16][votes:32]`.
/// - votes: one bit per validator, by its position in the ascending validator set;
/// - version: the low 16 bits of the set version the votes were cast under (a set change makes
///   old votes void, so validators of the new set vote again);
/// - done: minted (deposits) or ready for relay (withdrawals);
/// - tag: the top 79 bits of the transfer's EIP-712 digest, so every vote counted for a nonce is
///   a vote for the same content (forging a different transfer with the same tag is a 2^79
///   second-preimage search).
/// Packing two lanes per slot halves the cold-slot write that dominates a first vote.
library Lanes {
    uint256 internal constant VOTES_MASK = 0xffffffff;
    uint256 internal constant VERSION_SHIFT = 32;
    uint256 internal constant DONE = 1 << 48;
    uint256 internal constant TAG_SHIFT = 49;
    uint256 internal constant LANE_MASK = (1 << 128) - 1;

    function load(mapping(uint256 => uint256) storage lanes, uint64 nonce) internal view returns (uint256) {
        return (lanes[nonce >> 1] >> ((nonce & 1) << 7)) & LANE_MASK;
    }

    function store(mapping(uint256 => uint256) storage lanes, uint64 nonce, uint256 lane) internal {
        uint256 shift = (uint256(nonce) & 1) << 7;
        uint256 key = nonce >> 1;
        lanes[key] = (lanes[key] & ~(LANE_MASK << shift)) | (lane << shift);
    }

    function tagOf(bytes32 digest) internal pure returns (uint256) {
        return uint256(digest) >> 177;
    }

    function fresh(uint256 tag, uint32 version) internal pure returns (uint256) {
        return (tag << TAG_SHIFT) | (uint256(uint16(version)) << VERSION_SHIFT);
    }

    function tag(uint256 lane) internal pure returns (uint256) {
        return lane >> TAG_SHIFT;
    }

    function version(uint256 lane) internal pure returns (uint16) {
        return uint16(lane >> VERSION_SHIFT);
    }

    function votes(uint256 lane) internal pure returns (uint256) {
        return lane & VOTES_MASK;
    }

    function popcount(uint256 x) internal pure returns (uint256 n) {
        // the 32-bit SWAR count: no loop, constant gas
        x = x - ((x >> 1) & 0x55555555);
        x = (x & 0x33333333) + ((x >> 2) & 0x33333333);
        x = (x + (x >> 4)) & 0x0f0f0f0f;
        n = (x * 0x01010101 >> 24) & 0xff;
    }
}
