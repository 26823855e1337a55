// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Governed} from "./Governed.sol";

/// @notice The queue of large inbound transfers, shared by the bridges and the hub: an approved
/// transfer above its token's large size waits, any guardian can hold it at once, and only
/// governance lifts a hold or cancels. Entries are keyed by the transfer's full id, which binds
/// its route, so one queue serves every route.
abstract contract TransferQueue is Governed {
    /// @dev Queued transfers by id: `[eta:64][held:1][canceled:1][executed:1]`.
    mapping(bytes32 id => uint256) private _queue;

    uint256 private constant QUEUE_HELD = 1 << 64;
    uint256 private constant QUEUE_CANCELED = 1 << 65;
    uint256 private constant QUEUE_EXECUTED = 1 << 66;

    /// @notice A large inbound transfer was approved and waits until `eta`.
    event TransferQueued(bytes32 indexed transferId, uint64 indexed nonce, uint256 eta);
    event TransferHeld(bytes32 indexed transferId, address indexed by);
    event TransferHoldLifted(bytes32 indexed transferId);
    event TransferCanceled(bytes32 indexed transferId);

    error NotGuardian(address account);
    error NotQueued(bytes32 transferId);
    error QueueClosed(bytes32 transferId);
    error TransferOnHold(bytes32 transferId);
    error TooEarly(bytes32 transferId, uint256 eta);

    /// @notice A queued transfer: when it may execute, and whether it is held, canceled or done.
    function queuedTransfer(bytes32 id) public view returns (uint256 eta, bool held, bool canceled, bool executed) {
        uint256 q = _queue[id];
        return (uint64(q), q & QUEUE_HELD != 0, q & QUEUE_CANCELED != 0, q & QUEUE_EXECUTED != 0);
    }

    /// @notice Lifts a guardian's hold on a queued transfer; it executes once its ETA passed.
    function liftHold(bytes32 id) external onlyGovernance {
        uint256 q = _openQueued(id);
        _queue[id] = q & ~QUEUE_HELD;
        emit TransferHoldLifted(id);
    }

    /// @notice Cancels a queued transfer for good (a forgery by stolen validator keys).
    function cancelTransfer(bytes32 id) external onlyGovernance {
        uint256 q = _openQueued(id);
        _queue[id] = q | QUEUE_CANCELED;
        emit TransferCanceled(id);
    }

    /// @notice Any guardian (or governance) holds a queued transfer at once; only governance
    /// lifts the hold or cancels.
    function holdTransfer(bytes32 id) external {
        if (msg.sender != governance && !_isGuardian(msg.sender)) revert NotGuardian(msg.sender);
        uint256 q = _openQueued(id);
        _queue[id] = q | QUEUE_HELD;
        emit TransferHeld(id, msg.sender);
    }

    /// @dev Whether `account` may hold queued transfers.
    function _isGuardian(address account) internal view virtual returns (bool);

    /// @dev Queues approved transfer `id` to wait `delay` seconds; returns when it may execute.
    /// The caller emits the event that names it (`TransferQueued`, or the hub's own with its
    /// route).
    function _enqueue(bytes32 id, uint256 delay) internal returns (uint256 eta) {
        eta = block.timestamp + delay;
        _queue[id] = eta;
    }

    /// @dev Checks that queued transfer `id` may execute now (its delay passed, neither held nor
    /// canceled nor executed) and marks it executed. The caller charges the inbound bucket in
    /// the same transaction and reverts when it does not fit, which leaves it queued to retry.
    function _takeQueued(bytes32 id) internal {
        uint256 q = _openQueued(id);
        if (q & QUEUE_HELD != 0) revert TransferOnHold(id);
        uint256 eta = uint64(q);
        if (block.timestamp < eta) revert TooEarly(id, eta);
        _queue[id] = q | QUEUE_EXECUTED;
    }

    function _openQueued(bytes32 id) private view returns (uint256 q) {
        q = _queue[id];
        if (q == 0) revert NotQueued(id);
        if (q & (QUEUE_CANCELED | QUEUE_EXECUTED) != 0) revert QueueClosed(id);
    }
}
