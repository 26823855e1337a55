// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {Transfer} from "./Transfer.sol";

/// @title BatchRelease
/// @notice Many withdrawals released in one transaction, each in its own capped call frame, so
/// one that fails is skipped and the others go through. Shared by the main-chain bridges; each
/// says how one entry is released and how a skip is recorded.
abstract contract BatchRelease is ReentrancyGuardTransient {
    /// @notice Gas each withdrawal of a `releaseBatch` may spend in its own call frame: more
    /// than twice an honest one at 32 signatures (about 200k), room for a token with hooks, and
    /// the most one hostile withdrawal costs a batch. A withdrawal that needs more is skipped
    /// in batches and goes through `release`, which has no such cap.
    uint256 public constant RELEASE_ENTRY_GAS = 500_000;
    /// @dev Most revert data a skipped withdrawal's `ReleaseSkipped` carries: its selector and
    /// seven words, enough for every error of this contract and of the tokens' usual ones.
    uint256 private constant SKIP_REASON_BYTES = 256;
    /// @dev Gas `releaseBatch` keeps besides an entry's budget: the call itself, and the skip
    /// event and loop after an entry that used all of it.
    uint256 private constant ENTRY_RESERVE_GAS = 30_000;

    /// @notice Where a withdrawal stands on this chain, for relayers asking about many at once.
    struct ReleaseStatus {
        bool processed; // this nonce was released or queued, by whichever content
        uint64 eta; // queued: when it may execute (0: not queued)
        bool held;
        bool canceled;
        bool executed;
    }

    error OnlyBatch();
    error LengthMismatch();
    /// @notice `releaseBatch` had too little gas left to give entry `index` its whole budget.
    error BatchGasTooLow(uint256 index);

    /// @notice Releases many withdrawals in one transaction, each checked against its own
    /// signatures exactly as `release` checks it. One that would revert (already released,
    /// over the cap, a token that does not pay, ...) is skipped with `ReleaseSkipped` and the
    /// others go through. Returns how many were released or queued.
    ///
    /// Each withdrawal runs in its own call frame with at most `RELEASE_ENTRY_GAS`, and of its
    /// revert data at most 256 bytes are copied. The batch reverts (`BatchGasTooLow`) rather
    /// than start a withdrawal with less than its whole budget, so a gas limit of 21,000 plus
    /// calldata plus n × (`RELEASE_ENTRY_GAS` × 64/63 + 30,000) runs every withdrawal whatever the
    /// others do, and a gas estimate never settles on a limit that starves an honest one.
    ///
    /// Against it, a recipient with hooks (through a token that calls it on transfer) or a
    /// hostile token has three moves. (1) Revert with as much data as its gas builds: the batch
    /// copies 256 bytes of it, the callee paid for the rest. (2) Burn every unit of gas it gets:
    /// that is `RELEASE_ENTRY_GAS`, not 63/64 of what the batch had left, so it costs the
    /// relayer at most that and the withdrawals after it run as if it were absent; its own
    /// withdrawal is skipped (not processed) and can still go through `release`. (3) Switch
    /// from cheap to (2) after the relayer estimated the batch: with a gas limit below the
    /// bound above the batch then reverts as a whole (its withdrawals stay unprocessed, to be
    /// sent again); a relayer leaving `RELEASE_ENTRY_GAS` of headroom for every withdrawal
    /// whose recipient or token has code (or could delegate code, EIP-7702) cannot be made to
    /// revert. Not capping the frame would leave (2) making the batch keep 1/64 of its gas for
    /// everything after, and reverting nothing on low gas would let an estimate starve honest
    /// withdrawals of gas and skip them.
    /// @param signatures One packed signature set per transfer, as `release` takes it.
    function releaseBatch(Transfer[] calldata transfers, bytes[] calldata signatures)
        external
        nonReentrant
        returns (uint256 released)
    {
        uint256 n = transfers.length;
        if (signatures.length != n) revert LengthMismatch();
        for (uint256 i; i < n; ++i) {
            // each in its own call frame, so a failure undoes exactly that transfer's effects
            bytes memory entry = abi.encodeCall(this.releaseInBatch, (transfers[i], signatures[i]));
            if (gasleft() < RELEASE_ENTRY_GAS + RELEASE_ENTRY_GAS / 63 + ENTRY_RESERVE_GAS) {
                revert BatchGasTooLow(i);
            }
            (bool ok, bytes memory reason) = _callEntry(entry);
            if (ok) {
                ++released;
            } else {
                _releaseSkipped(transfers[i], reason);
            }
        }
    }

    /// @dev Calls this contract with `data` and at most `RELEASE_ENTRY_GAS`; on failure returns
    /// the first `SKIP_REASON_BYTES` of the revert data. Never copies more, however much the
    /// callee returned (a Solidity `catch (bytes memory)` copies it all).
    function _callEntry(bytes memory data) private returns (bool ok, bytes memory reason) {
        assembly ("memory-safe") {
            ok := call(RELEASE_ENTRY_GAS, address(), 0, add(data, 0x20), mload(data), 0, 0)
            if iszero(ok) {
                let size := returndatasize()
                if gt(size, SKIP_REASON_BYTES) { size := SKIP_REASON_BYTES }
                reason := mload(0x40)
                mstore(reason, size)
                returndatacopy(add(reason, 0x20), 0, size)
                mstore(0x40, add(reason, and(add(size, 63), not(31))))
            }
        }
    }

    /// @notice One transfer of a `releaseBatch`; callable only by this contract while the batch
    /// holds the reentrancy guard (a token hook calling it directly is refused).
    function releaseInBatch(Transfer calldata t, bytes calldata signatures) external {
        if (msg.sender != address(this) || !_reentrancyGuardEntered()) revert OnlyBatch();
        _releaseEntry(t, signatures);
    }

    /// @dev `releaseStatus` of withdrawals whose processed nonces are the bitmap `processed`
    /// (256 nonces to a slot).
    function _releaseStatus(
        mapping(uint256 => uint256) storage processed,
        bytes32[] calldata ids,
        uint64[] calldata nonces
    ) internal view returns (ReleaseStatus[] memory out) {
        uint256 n = ids.length;
        if (nonces.length != n) revert LengthMismatch();
        out = new ReleaseStatus[](n);
        for (uint256 i; i < n; ++i) {
            out[i] = _statusOf(processed, ids[i], nonces[i]);
        }
    }

    function _statusOf(mapping(uint256 => uint256) storage processed, bytes32 id, uint64 nonce)
        private
        view
        returns (ReleaseStatus memory status)
    {
        (uint256 eta, bool held, bool canceled, bool executed) = _queueEntry(id);
        status = ReleaseStatus({
            processed: processed[nonce >> 8] & (1 << (nonce & 0xff)) != 0,
            eta: uint64(eta),
            held: held,
            canceled: canceled,
            executed: executed
        });
    }

    /// @dev Queued transfer `id`'s entry (`TransferQueue.queuedTransfer`): when it may execute
    /// (0: not queued) and its flags.
    function _queueEntry(bytes32 id)
        internal
        view
        virtual
        returns (uint256 eta, bool held, bool canceled, bool executed);

    /// @dev Releases `t` exactly as a lone `release` would (the batch already holds the guard).
    function _releaseEntry(Transfer calldata t, bytes calldata signatures) internal virtual;

    /// @dev Records that `t` was skipped, with the first bytes of its revert data.
    function _releaseSkipped(Transfer calldata t, bytes memory reason) internal virtual;
}
