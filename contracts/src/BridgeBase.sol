// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {Governed} from "./Governed.sol";
import {IOperational} from "./IOperational.sol";
import {SignerSet} from "./SignerSet.sol";
import {Transfer, TransferHash} from "./Transfer.sol";

/// @notice What both bridges share: the validator set (owned by governance), the pause flag
/// (switched by the Operational contract), the outbound nonce, the EIP-712 domain, and the
/// inbound side of the limits: a rolling cap per token on what arrives, and a delay for large
/// transfers during which any guardian can hold them and governance can cancel them.
///
/// The inbound cap bounds what arrives, queued or not: every payout (a release or mint now, or
/// `executeQueued` later) is charged to the token's bucket when it pays, so over any span of t
/// seconds at most `cap + t × cap / window` arrives. A stolen validator set's best strategy is
/// to sign transfers to itself and execute each the moment it may: it gets the bucket, and
/// large transfers only wait longer for it (giving guardians the delay to hold them).
///
/// Everything a release or a vote reads about the set lives in one storage slot (`_config`):
/// the address of the validator-set data contract, the threshold, the set size, the set version
/// and the pause and live flags.
abstract contract BridgeBase is Governed, EIP712, ReentrancyGuardTransient {
    /// @notice Upper bound of the validator set: it bounds vote masks (32 bits) and the signer
    /// walk of a release.
    uint256 public constant MAX_VALIDATORS = 32;
    /// @notice Shortest and longest wait governance may give large inbound transfers.
    uint256 public constant MIN_LARGE_DELAY = 1 minutes;
    uint256 public constant MAX_LARGE_DELAY = 30 days;

    struct Config {
        address validatorSet;
        uint16 threshold;
        uint16 validatorCount;
        uint32 setVersion;
        bool paused;
        bool live;
    }

    /// @notice Inbound limits of one token (keyed by the main-chain token on both bridges).
    struct InboundLimit {
        // slot 0: the bucket, written by every inbound transfer
        uint112 available;
        uint32 updatedAt;
        uint32 delay; // seconds a transfer above `large` waits
        // slot 1: settings, read-only on the hot path
        uint112 cap; // most that arrives per `window` (refilled continuously); 0: inbound off
        uint112 large; // transfers above this wait `delay`, then use the bucket
        uint32 window;
    }

    /// @notice What happens to an inbound transfer that a threshold of validators approved.
    enum Inflow {
        Now, // pay out now; the bucket was charged
        Delayed, // above the large-transfer size: queued for `delay`, charged when it executes
        RateLimited, // the bucket holds less than the amount: try again later
        Disabled // governance has not opened (or has closed) inbound for this token
    }

    Config internal _config;

    /// @notice Chain id of the other side of the route.
    uint256 public immutable remoteChainId;
    /// @notice Registry, outbound limits, fees and guardians for this chain.
    IOperational public immutable operational;
    /// @notice Nonce the next outbound transfer will carry; outbound nonces are contiguous.
    uint64 public outboundNonce;

    mapping(address token => InboundLimit) private _inbound;
    /// @dev Queued large transfers by id: `[eta:64][held:1][canceled:1][executed:1]`.
    mapping(bytes32 id => uint256) private _queue;

    uint256 private constant QUEUE_HELD = 1 << 64;
    uint256 private constant QUEUE_CANCELED = 1 << 65;
    uint256 private constant QUEUE_EXECUTED = 1 << 66;

    event ValidatorAdded(address indexed validator, uint32 setVersion);
    event ValidatorRemoved(address indexed validator, uint32 setVersion);
    event ValidatorThresholdChanged(uint256 threshold, uint32 setVersion);
    event PauseChanged(bool paused);
    event InboundLimitsSet(address indexed token, uint256 cap, uint256 window, uint256 large, uint256 delay);
    /// @notice A large inbound transfer was approved and waits until `eta`.
    event TransferQueued(bytes32 indexed transferId, uint64 indexed nonce, uint256 eta);
    event TransferHeld(bytes32 indexed transferId, address indexed by);
    event TransferHoldLifted(bytes32 indexed transferId);
    event TransferCanceled(bytes32 indexed transferId);

    error BridgePaused();
    error NotLive();
    error NotOperational();
    error NotGuardian(address account);
    error InvalidValidator(address validator);
    error ValidatorExists(address validator);
    error UnknownValidator(address validator);
    error InvalidThreshold(uint256 threshold, uint256 validators);
    error TooManyValidators();
    error NotValidator(address account);
    error WrongRoute(uint256 srcChainId, uint256 dstChainId);
    error ZeroAmount();
    error ZeroRecipient();
    error BridgeRecipient(address recipient);
    error BalanceMismatch(address recipient, uint256 expected, uint256 received);
    error InboundDisabled(address token);
    error RateLimited(uint256 amount, uint256 available);
    error InvalidInboundLimits();
    error NotQueued(bytes32 transferId);
    error QueueClosed(bytes32 transferId);
    error TransferOnHold(bytes32 transferId);
    error TooEarly(bytes32 transferId, uint256 eta);

    /// @dev Value moves only while the bridge is live (setup finished) and not paused.
    modifier whenActive() {
        _requireActive(_config);
        _;
    }

    constructor(
        address governance_,
        address setupKey_,
        IOperational operational_,
        uint256 remoteChainId_,
        address[] memory validators_,
        uint256 threshold_
    ) Governed(governance_, setupKey_) EIP712("Sidebridge", "1") {
        operational = operational_;
        remoteChainId = remoteChainId_;
        for (uint256 i; i < validators_.length; ++i) {
            _checkCandidate(validators_[i]);
            if (i > 0 && validators_[i] <= validators_[i - 1]) revert ValidatorExists(validators_[i]);
        }
        _writeSet(validators_, threshold_, 1);
        // without a setup key there is no setup phase
        _config.live = setupKey_ == address(0);
    }

    // ---------------------------------------------------------------- views

    /// @notice The current validators, ascending.
    function validators() public view returns (address[] memory) {
        Config memory c = _config;
        return SignerSet.toArray(SignerSet.read(c.validatorSet), c.validatorCount);
    }

    /// @notice How many distinct current validators must agree.
    function validatorThreshold() external view returns (uint256) {
        return _config.threshold;
    }

    /// @notice Bumped by every validator-set or threshold change, so relayers notice that
    /// collected signatures may no longer reach the threshold (a removed validator's stop
    /// counting) and new validators must add theirs.
    function validatorSetVersion() external view returns (uint256) {
        return _config.setVersion;
    }

    /// @notice Everything a relayer reads about the set in one call: the validators
    /// (ascending), the threshold, the set version, and the pause and live flags.
    function bridgeState()
        external
        view
        returns (address[] memory set, uint256 threshold, uint256 setVersion, bool isPaused, bool isLive)
    {
        Config memory c = _config;
        return (
            SignerSet.toArray(SignerSet.read(c.validatorSet), c.validatorCount),
            c.threshold,
            c.setVersion,
            c.paused,
            c.live
        );
    }

    /// @notice Whether `account` is in the current validator set.
    function isValidator(address account) external view returns (bool) {
        Config memory c = _config;
        return _findIndex(SignerSet.read(c.validatorSet), c.validatorCount, account) < c.validatorCount;
    }

    /// @notice Whether the bridge is paused.
    function paused() external view returns (bool) {
        return _config.paused;
    }

    /// @notice Whether setup is finished, so value can move.
    function live() external view returns (bool) {
        return _config.live;
    }

    /// @notice The EIP-712 domain separator of this bridge (destination of inbound transfers).
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @notice The EIP-712 digest (the transfer id) of an inbound transfer to this bridge.
    function hashTransfer(Transfer calldata t) external view returns (bytes32) {
        return _hashTypedDataV4(TransferHash.hash(t));
    }

    /// @notice Inbound limits of `token` (the main-chain token): the cap per window (0: inbound
    /// closed), the window and the large-transfer size and delay, in seconds and token units.
    function inboundLimit(address token)
        external
        view
        returns (uint256 cap, uint256 window, uint256 large, uint256 delay)
    {
        InboundLimit memory l = _inbound[token];
        return (l.cap, l.window, l.large, l.delay);
    }

    /// @notice What can arrive of `token` now without waiting (0 when inbound is off).
    function inboundAvailable(address token) external view returns (uint256) {
        InboundLimit memory l = _inbound[token];
        return l.cap == 0 ? 0 : _refilled(l);
    }

    /// @notice A queued transfer: when it may execute, and whether it is held, canceled or done.
    function queuedTransfer(bytes32 id) public view returns (uint256 eta, bool held, bool canceled, bool executed) {
        uint256 q = _queue[id];
        return (uint64(q), q & QUEUE_HELD != 0, q & QUEUE_CANCELED != 0, q & QUEUE_EXECUTED != 0);
    }

    // ---------------------------------------------------------------- governance

    /// @notice Adds a validator and sets the threshold for the larger set in one step (the old
    /// threshold may no longer be a majority of it). Bumps the set version.
    function addValidator(address validator, uint256 threshold) external onlyGovernance {
        _checkCandidate(validator);
        Config memory c = _config;
        bytes memory packed = SignerSet.read(c.validatorSet);
        uint256 n = c.validatorCount;
        if (n + 1 > MAX_VALIDATORS) revert TooManyValidators();
        address[] memory next = new address[](n + 1);
        uint256 j;
        bool inserted;
        for (uint256 i; i < n; ++i) {
            address v = SignerSet.at(packed, i);
            if (v == validator) revert ValidatorExists(validator);
            if (!inserted && validator < v) {
                next[j++] = validator;
                inserted = true;
            }
            next[j++] = v;
        }
        if (!inserted) next[j] = validator;
        uint32 version = _writeSet(next, threshold, c.setVersion + 1);
        emit ValidatorAdded(validator, version);
        if (threshold != c.threshold) emit ValidatorThresholdChanged(threshold, version);
    }

    /// @notice Removes a validator; the threshold stays and must still be reachable. Bumps the
    /// set version, so the removed validator's votes and signatures stop counting.
    function removeValidator(address validator) external onlyGovernance {
        Config memory c = _config;
        address[] memory next = _without(c, validator);
        uint32 version = _writeSet(next, c.threshold, c.setVersion + 1);
        emit ValidatorRemoved(validator, version);
    }

    /// @notice Replaces validator `old` by `replacement` (a stolen or retired key), keeping the
    /// size and the threshold. Bumps the set version.
    function rotateValidator(address old, address replacement) external onlyGovernance {
        _checkCandidate(replacement);
        Config memory c = _config;
        address[] memory rest = _without(c, old);
        address[] memory next = new address[](rest.length + 1);
        uint256 j;
        bool inserted;
        for (uint256 i; i < rest.length; ++i) {
            if (rest[i] == replacement) revert ValidatorExists(replacement);
            if (!inserted && replacement < rest[i]) {
                next[j++] = replacement;
                inserted = true;
            }
            next[j++] = rest[i];
        }
        if (!inserted) next[j] = replacement;
        uint32 version = _writeSet(next, c.threshold, c.setVersion + 1);
        emit ValidatorRemoved(old, version);
        emit ValidatorAdded(replacement, version);
    }

    /// @notice Sets how many validators must agree: a strict majority of the set, at most all.
    function setValidatorThreshold(uint256 threshold) external onlyGovernance {
        Config memory c = _config;
        _checkThreshold(threshold, c.validatorCount);
        c.threshold = uint16(threshold);
        c.setVersion += 1;
        _config = c;
        emit ValidatorThresholdChanged(threshold, c.setVersion);
    }

    /// @notice Opens, retunes or closes (`cap` 0) inbound transfers of `token`: at most `cap`
    /// arrives per `window` seconds (refilled continuously); a transfer above `large` waits
    /// `delay` seconds, during which any guardian can hold it and governance can cancel it, and
    /// is charged to the bucket when it executes (one above `cap` waits for a larger cap). Only
    /// the first opening fills the bucket; afterwards it keeps what it held (never more than the
    /// new cap), so re-setting, or closing and reopening, is no way to refill it.
    function setInboundLimits(address token, uint256 cap, uint256 window, uint256 large, uint256 delay)
        external
        onlyGovernance
    {
        uint256 available = Math.min(_heldInBucket(_inbound[token]), cap);
        if (cap != 0) {
            if (
                cap > type(uint112).max || window == 0 || window > type(uint32).max || large == 0 || large > cap
                    || delay < MIN_LARGE_DELAY || delay > MAX_LARGE_DELAY
            ) revert InvalidInboundLimits();
        } else if (window != 0 || large != 0 || delay != 0) {
            revert InvalidInboundLimits();
        }
        // closing keeps what the bucket held, so closing and reopening refills nothing
        if (cap == 0) available = Math.min(_heldInBucket(_inbound[token]), type(uint112).max);
        _inbound[token] = InboundLimit({
            available: uint112(available),
            updatedAt: uint32(block.timestamp),
            delay: uint32(delay),
            cap: uint112(cap),
            large: uint112(large),
            window: uint32(window)
        });
        emit InboundLimitsSet(token, cap, window, large, delay);
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

    /// @notice Pauses or unpauses every entry point. Only the Operational contract calls this:
    /// any guardian pauses there at once, only governance unpauses.
    function setPaused(bool paused_) external {
        if (msg.sender != address(operational)) revert NotOperational();
        _config.paused = paused_;
        emit PauseChanged(paused_);
    }

    // ---------------------------------------------------------------- guardians

    /// @notice Any guardian (or governance) holds a queued transfer at once; only governance
    /// lifts the hold or cancels.
    function holdTransfer(bytes32 id) external {
        if (msg.sender != governance && !operational.isGuardian(msg.sender)) revert NotGuardian(msg.sender);
        uint256 q = _openQueued(id);
        _queue[id] = q | QUEUE_HELD;
        emit TransferHeld(id, msg.sender);
    }

    // ---------------------------------------------------------------- internals

    function _beforeFinishSetup() internal virtual override {
        _config.live = true;
    }

    function _requireActive(Config memory c) internal pure {
        if (c.paused) revert BridgePaused();
        if (!c.live) revert NotLive();
    }

    /// @dev Charges an inbound transfer of `amount` to `token`'s limits. Writes the bucket only
    /// when the transfer passes now. Returns what to do and what the bucket held. A transfer
    /// above the large size is not charged here but when it executes (`waited`), against the
    /// limits as they are then. Charging at queue time instead would let a stolen set's queued
    /// forgeries (held by guardians, canceled by governance) keep the capacity honest transfers
    /// need for as long as they wait, and limits changed during the delay (closed inbound, a
    /// lower cap) would need checking at execution anyway; charging at both would count twice.
    function _chargeInbound(address token, uint256 amount, bool waited) internal returns (Inflow, uint256 available) {
        InboundLimit storage s = _inbound[token];
        InboundLimit memory l = s;
        if (l.cap == 0) return (Inflow.Disabled, 0);
        if (!waited && amount > l.large) return (Inflow.Delayed, 0);
        available = _refilled(l);
        if (amount > available) return (Inflow.RateLimited, available);
        s.available = uint112(available - amount);
        s.updatedAt = uint32(block.timestamp);
        return (Inflow.Now, available);
    }

    /// @dev What a bucket holds now for the purpose of re-setting limits: everything (max) for
    /// a token never opened, else what it held, refilled to now while it was open.
    function _heldInBucket(InboundLimit memory l) private view returns (uint256) {
        if (l.updatedAt == 0) return type(uint256).max;
        return l.cap == 0 ? l.available : _refilled(l);
    }

    /// @dev The bucket refilled to now: `cap / window` per second, never above `cap`.
    function _refilled(InboundLimit memory l) private view returns (uint256) {
        // elapsed < 2^32 and cap < 2^112: the product cannot overflow. A chain's clock never
        // runs back, but a simulation's block may be stamped before the latest write: no refill
        uint256 elapsed = block.timestamp > l.updatedAt ? block.timestamp - l.updatedAt : 0;
        uint256 refill = elapsed * l.cap / l.window;
        return Math.min(l.cap, uint256(l.available) + refill);
    }

    /// @dev Queues approved transfer `id` for `token`'s large-transfer delay.
    function _enqueue(bytes32 id, uint64 nonce, address token) internal {
        uint256 eta = block.timestamp + _inbound[token].delay;
        _queue[id] = eta;
        emit TransferQueued(id, nonce, eta);
    }

    /// @dev Marks queued transfer `id` (of `amount` of `token`) executed and charges it to the
    /// inbound bucket; reverts unless its delay passed, it is neither held nor canceled nor
    /// executed, and it fits the inbound limits as they are now (`InboundDisabled` when closed,
    /// `RateLimited` when the bucket holds too little). A revert leaves it queued, to retry.
    function _takeQueued(bytes32 id, address token, uint256 amount) internal {
        uint256 q = _openQueued(id);
        if (q & QUEUE_HELD != 0) revert TransferOnHold(id);
        uint256 eta = uint64(q);
        if (block.timestamp < eta) revert TooEarly(id, eta);
        (Inflow inflow, uint256 available) = _chargeInbound(token, amount, true);
        if (inflow == Inflow.Disabled) revert InboundDisabled(token);
        if (inflow == Inflow.RateLimited) revert RateLimited(amount, available);
        _queue[id] = q | QUEUE_EXECUTED;
    }

    function _openQueued(bytes32 id) private view returns (uint256 q) {
        q = _queue[id];
        if (q == 0) revert NotQueued(id);
        if (q & (QUEUE_CANCELED | QUEUE_EXECUTED) != 0) revert QueueClosed(id);
    }

    function _checkCandidate(address validator) private view {
        if (validator == address(0) || validator == address(this)) revert InvalidValidator(validator);
    }

    /// @dev A threshold must be a strict majority of the set (two conflicting contents can then
    /// never both reach it without a validator voting for both) and reachable.
    function _checkThreshold(uint256 threshold, uint256 n) private pure {
        if (threshold == 0 || threshold > n || threshold * 2 <= n) revert InvalidThreshold(threshold, n);
    }

    /// @dev The current set without `validator` (which must be in it).
    function _without(Config memory c, address validator) private view returns (address[] memory next) {
        bytes memory packed = SignerSet.read(c.validatorSet);
        uint256 n = c.validatorCount;
        uint256 index = _findIndex(packed, n, validator);
        if (index == n) revert UnknownValidator(validator);
        next = new address[](n - 1);
        uint256 j;
        for (uint256 i; i < n; ++i) {
            if (i != index) next[j++] = SignerSet.at(packed, i);
        }
    }

    function _writeSet(address[] memory set, uint256 threshold, uint32 version) private returns (uint32) {
        if (set.length > MAX_VALIDATORS) revert TooManyValidators();
        _checkThreshold(threshold, set.length);
        Config memory c = _config;
        _config = Config({
            validatorSet: SignerSet.write(set),
            threshold: uint16(threshold),
            validatorCount: uint16(set.length),
            setVersion: version,
            paused: c.paused,
            live: c.live
        });
        return version;
    }

    /// @dev Position of `account` in the packed set, or `n` when absent.
    function _findIndex(bytes memory packed, uint256 n, address account) internal pure returns (uint256) {
        for (uint256 i; i < n; ++i) {
            if (SignerSet.at(packed, i) == account) return i;
        }
        return n;
    }

    /// @dev Reads signature `i` of a packed `r‖s‖v` array.
    function _signatureAt(bytes calldata signatures, uint256 i) internal pure returns (uint8 v, bytes32 r, bytes32 s) {
        assembly ("memory-safe") {
            let p := add(signatures.offset, mul(i, 65))
            r := calldataload(p)
            s := calldataload(add(p, 32))
            v := byte(0, calldataload(add(p, 64)))
        }
    }

    /// @dev Recovers a signer; malleable (high-s) and malformed signatures are rejected by
    /// OpenZeppelin's ECDSA.
    function _recover(bytes32 digest, uint8 v, bytes32 r, bytes32 s) internal pure returns (address signer, bool ok) {
        ECDSA.RecoverError err;
        (signer, err,) = ECDSA.tryRecover(digest, v, r, s);
        ok = err == ECDSA.RecoverError.NoError;
    }
}
