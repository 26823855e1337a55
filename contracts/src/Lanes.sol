// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @notice Per-transfer vote records packed three to a storage slot, keyed by the contiguous
/// nonce, with each validator's own votes kept as one bit per nonce.
///
/// A lane is 85 bits: `[tag:78][done:1][count:6]`.
/// - tag: the top 78 bits of the transfer's EIP-712 digest, so every vote counted for a nonce is
///   a vote for the same content (making a different transfer with the same tag is a 2^78
///   second-preimage search);
/// - done: minted (deposits) or announced ready for relay (withdrawals);
/// - count: votes ever cast for the tag, saturating at 63. It is only a hint: a vote that takes
///   it to the threshold triggers an exact count over the current validators' vote bits, so a
///   removed validator's vote never counts.
/// The first vote for a nonce writes a fresh slot, the dominant cost of voting; three lanes per
/// slot and a per-validator bitmap (256 nonces per slot) keep it near a third of a slot write.
library Lanes {
    uint256 internal constant COUNT_MASK = 0x3f;
    uint256 internal constant DONE = 1 << 6;
    uint256 internal constant TAG_SHIFT = 7;
    uint256 internal constant LANE_BITS = 85;
    uint256 internal constant LANE_MASK = (1 << LANE_BITS) - 1;

    /// @dev Storage key and bit offset of the lane of `nonce`.
    function position(uint64 nonce) internal pure returns (uint256 key, uint256 shift) {
        key = nonce / 3;
        shift = (nonce % 3) * LANE_BITS;
    }

    function load(mapping(uint256 => uint256) storage lanes, uint64 nonce) internal view returns (uint256) {
        (uint256 key, uint256 shift) = position(nonce);
        return (lanes[key] >> shift) & LANE_MASK;
    }

    function store(mapping(uint256 => uint256) storage lanes, uint64 nonce, uint256 lane) internal {
        (uint256 key, uint256 shift) = position(nonce);
        lanes[key] = (lanes[key] & ~(LANE_MASK << shift)) | (lane << shift);
    }

    /// @dev A lane for `digest` with no votes yet.
    function fresh(bytes32 digest) internal pure returns (uint256) {
        return tagOf(digest) << TAG_SHIFT;
    }

    function tagOf(bytes32 digest) internal pure returns (uint256) {
        return uint256(digest) >> 178;
    }

    function matches(uint256 lane, bytes32 digest) internal pure returns (bool) {
        return lane >> TAG_SHIFT == tagOf(digest);
    }

    function count(uint256 lane) internal pure returns (uint256) {
        return lane & COUNT_MASK;
    }

    /// @dev One more vote, saturating.
    function increment(uint256 lane) internal pure returns (uint256) {
        return lane & COUNT_MASK == COUNT_MASK ? lane : lane + 1;
    }
}
