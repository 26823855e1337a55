// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {SignerSet} from "./SignerSet.sol";

/// @notice Vote records keyed by a transfer's full 256-bit EIP-712 digest: one storage slot per
/// content, holding which validators voted for exactly that content.
///
/// Binding. The key is the whole digest, so a vote for one content never counts for another.
/// A depositor picks both contents of any pair it wants to collide; its best strategy is a
/// birthday search over keccak-256, about 2^128 hashes — out of reach (DESIGN assumes 2^80).
/// Nothing here truncates a digest.
///
/// Layout of a record:
/// - bits 0..159: the validator-set data contract (`SignerSet`) the mask is indexed by;
/// - bits 160..191: the voter mask, bit i = validator i of that set (at most 32 validators);
/// - bit 192: DONE — minted or queued (deposits), `ReadyForRelay` announced (withdrawals);
/// - bit 193: EXISTS — withdrawals only: this content was burned here.
///
/// Counting against the set as it is now. A record remembers the set its mask indexes; when the
/// set has changed since, `current` re-indexes the mask by a merge walk over both (ascending)
/// sets, keeping the votes of validators still in the set and dropping the others. So a removed
/// validator's vote stops counting without anyone voting again, and a validator that leaves and
/// comes back keeps only votes it really cast for this very content. A set is a new data
/// contract at a fresh CREATE address, so a stored pointer names exactly one set forever.
library Votes {
    uint256 internal constant MASK_SHIFT = 160;
    uint256 internal constant MASK_BITS = 0xffffffff;
    uint256 internal constant DONE = 1 << 192;
    uint256 internal constant EXISTS = 1 << 193;

    /// @dev Packs a record.
    function pack(address set, uint256 mask, uint256 flagBits) internal pure returns (uint256) {
        return uint256(uint160(set)) | (mask << MASK_SHIFT) | flagBits;
    }

    function flags(uint256 record) internal pure returns (uint256) {
        return record & (DONE | EXISTS);
    }

    function isDone(uint256 record) internal pure returns (bool) {
        return record & DONE != 0;
    }

    /// @dev The record's voters as a mask over the current set `set` (`packed` is its code).
    function current(uint256 record, address set, bytes memory packed, uint256 n) internal view returns (uint256) {
        uint256 mask = (record >> MASK_SHIFT) & MASK_BITS;
        address recorded = address(uint160(record));
        if (mask == 0 || recorded == set) return mask;
        return _reindex(mask, SignerSet.read(recorded), packed, n);
    }

    /// @dev Moves the bits of `mask` (indexed by `oldSet`) to the indices the same addresses
    /// have in `newSet`; addresses not in `newSet` are dropped. Both sets are ascending.
    function _reindex(uint256 mask, bytes memory oldSet, bytes memory newSet, uint256 n)
        private
        pure
        returns (uint256 out)
    {
        uint256 oldCount = (oldSet.length - 1) / 20;
        uint256 j;
        for (uint256 i; i < oldCount && j < n; ++i) {
            if (mask & (1 << i) == 0) continue;
            address voter = SignerSet.at(oldSet, i);
            while (j < n && SignerSet.at(newSet, j) < voter) ++j;
            if (j < n && SignerSet.at(newSet, j) == voter) out |= 1 << j;
        }
    }

    /// @dev Number of bits set in a 32-bit mask.
    function count(uint256 mask) internal pure returns (uint256 x) {
        x = mask - ((mask >> 1) & 0x55555555);
        x = (x & 0x33333333) + ((x >> 2) & 0x33333333);
        x = (x + (x >> 4)) & 0x0f0f0f0f;
        x = ((x * 0x01010101) >> 24) & 0xff;
    }
}
