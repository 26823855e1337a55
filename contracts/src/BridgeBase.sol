// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {Governed} from "./Governed.sol";
import {Inbound} from "./Inbound.sol";
import {IOperational} from "./IOperational.sol";
import {Quorum} from "./Quorum.sol";
import {SignerSet} from "./SignerSet.sol";
import {Transfer, TransferHash} from "./Transfer.sol";
import {TransferQueue} from "./TransferQueue.sol";

/// @notice What both bridges share: the validator set (owned by governance), the pause flag
/// (switched by the Operational contract), the outbound nonce, the EIP-712 domain, and the
/// inbound side of the limits: a rolling cap per token on what arrives, and a delay for large
/// transfers during which any guardian can hold them and governance can cancel them.
///
/// The inbound cap bounds what arrives, queued or not (see `Inbound`).
///
/// Everything a release or a vote reads about the set lives in one storage slot (`_config`):
/// the address of the validator-set data contract, the threshold, the set size, the set version
/// and the pause and live flags.
abstract contract BridgeBase is TransferQueue, EIP712, ReentrancyGuardTransient {
    /// @notice Upper bound of the validator set: it bounds vote masks (32 bits) and the signer
    /// walk of a release.
    uint256 public constant MAX_VALIDATORS = Quorum.MAX_VALIDATORS;
    /// @notice Shortest and longest wait governance may give large inbound transfers.
    uint256 public constant MIN_LARGE_DELAY = Inbound.MIN_DELAY;
    uint256 public constant MAX_LARGE_DELAY = Inbound.MAX_DELAY;

    struct Config {
        address validatorSet;
        uint16 threshold;
        uint16 validatorCount;
        uint32 setVersion;
        bool paused;
        bool live;
    }

    Config internal _config;

    /// @notice Chain id of the other side of the route.
    uint256 public immutable remoteChainId;
    /// @notice Registry, outbound limits, fees and guardians for this chain.
    IOperational public immutable operational;
    /// @notice Nonce the next outbound transfer will carry; outbound nonces are contiguous.
    uint64 public outboundNonce;

    /// @dev Inbound limits per token (the main-chain token on both bridges).
    mapping(address token => Inbound.Limit) private _inbound;

    event ValidatorAdded(address indexed validator, uint32 setVersion);
    event ValidatorRemoved(address indexed validator, uint32 setVersion);
    event ValidatorThresholdChanged(uint256 threshold, uint32 setVersion);
    event PauseChanged(bool paused);
    event InboundLimitsSet(address indexed token, uint256 cap, uint256 window, uint256 large, uint256 delay);

    error BridgePaused();
    error NotLive();
    error NotOperational();
    error WrongRoute(uint256 srcChainId, uint256 dstChainId);
    error WrongBridges(address srcBridge, address dstBridge);
    error ZeroAmount();
    error ZeroRecipient();
    error BridgeRecipient(address recipient);
    error BalanceMismatch(address recipient, uint256 expected, uint256 received);
    error InboundDisabled(address token);
    error RateLimited(uint256 amount, uint256 available);

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
        return Quorum.findIndex(SignerSet.read(c.validatorSet), c.validatorCount, account) < c.validatorCount;
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
        Inbound.Limit memory l = _inbound[token];
        return (l.cap, l.window, l.large, l.delay);
    }

    /// @notice What can arrive of `token` now without waiting (0 when inbound is off).
    function inboundAvailable(address token) external view returns (uint256) {
        return Inbound.availableNow(_inbound[token]);
    }

    // ---------------------------------------------------------------- governance

    /// @notice Adds a validator and sets the threshold for the larger set in one step (the old
    /// threshold may no longer be a majority of it). Bumps the set version.
    function addValidator(address validator, uint256 threshold) external onlyGovernance {
        Quorum.checkCandidate(validator);
        Config memory c = _config;
        bytes memory packed = SignerSet.read(c.validatorSet);
        uint256 n = c.validatorCount;
        if (n + 1 > MAX_VALIDATORS) revert Quorum.TooManyValidators();
        address[] memory next = new address[](n + 1);
        uint256 j;
        bool inserted;
        for (uint256 i; i < n; ++i) {
            address v = SignerSet.at(packed, i);
            if (v == validator) revert Quorum.ValidatorExists(validator);
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
        Quorum.checkCandidate(replacement);
        Config memory c = _config;
        address[] memory rest = _without(c, old);
        address[] memory next = new address[](rest.length + 1);
        uint256 j;
        bool inserted;
        for (uint256 i; i < rest.length; ++i) {
            if (rest[i] == replacement) revert Quorum.ValidatorExists(replacement);
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
        Quorum.checkThreshold(threshold, c.validatorCount);
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
        Inbound.set(_inbound[token], cap, window, large, delay);
        emit InboundLimitsSet(token, cap, window, large, delay);
    }

    /// @notice Pauses or unpauses every entry point. Only the Operational contract calls this:
    /// any guardian pauses there at once, only governance unpauses.
    function setPaused(bool paused_) external {
        if (msg.sender != address(operational)) revert NotOperational();
        _config.paused = paused_;
        emit PauseChanged(paused_);
    }

    // ---------------------------------------------------------------- internals

    function _beforeFinishSetup() internal virtual override {
        _config.live = true;
    }

    function _requireActive(Config memory c) internal pure {
        if (c.paused) revert BridgePaused();
        if (!c.live) revert NotLive();
    }

    /// @dev The bridge on the other chain.
    function _remoteBridge() internal view virtual returns (address);

    /// @dev Reverts unless `t` comes from the other chain's bridge to this one.
    function _checkInbound(Transfer calldata t) internal view {
        if (t.srcChainId != remoteChainId || t.dstChainId != block.chainid) {
            revert WrongRoute(t.srcChainId, t.dstChainId);
        }
        if (t.srcBridge != _remoteBridge() || t.dstBridge != address(this)) {
            revert WrongBridges(t.srcBridge, t.dstBridge);
        }
    }

    /// @dev An outbound transfer of this bridge (from here to the other chain's bridge).
    function _outbound(uint64 nonce, address token, address recipient, uint256 amount)
        internal
        view
        returns (Transfer memory)
    {
        return Transfer({
            srcChainId: block.chainid,
            srcBridge: address(this),
            dstChainId: remoteChainId,
            dstBridge: _remoteBridge(),
            nonce: nonce,
            token: token,
            sender: msg.sender,
            recipient: recipient,
            amount: amount
        });
    }

    function _isGuardian(address account) internal view override returns (bool) {
        return operational.isGuardian(account);
    }

    /// @dev Charges an inbound transfer of `amount` to `token`'s limits (see `Inbound.charge`).
    function _chargeInbound(address token, uint256 amount, bool waited)
        internal
        returns (Inbound.Inflow, uint256 available)
    {
        return Inbound.charge(_inbound[token], amount, waited);
    }

    /// @dev Queues approved transfer `id` for `token`'s large-transfer delay.
    function _queueLarge(bytes32 id, uint64 nonce, address token) internal {
        emit TransferQueued(id, nonce, _enqueue(id, _inbound[token].delay));
    }

    /// @dev Marks queued transfer `id` (of `amount` of `token`) executed and charges it to the
    /// inbound bucket; reverts unless its delay passed, it is neither held nor canceled nor
    /// executed, and it fits the inbound limits as they are now (`InboundDisabled` when closed,
    /// `RateLimited` when the bucket holds too little). A revert leaves it queued, to retry.
    function _executeQueued(bytes32 id, address token, uint256 amount) internal {
        _takeQueued(id);
        (Inbound.Inflow inflow, uint256 available) = _chargeInbound(token, amount, true);
        if (inflow == Inbound.Inflow.Disabled) revert InboundDisabled(token);
        if (inflow == Inbound.Inflow.RateLimited) revert RateLimited(amount, available);
    }

    /// @dev The current set without `validator` (which must be in it).
    function _without(Config memory c, address validator) private view returns (address[] memory next) {
        bytes memory packed = SignerSet.read(c.validatorSet);
        uint256 n = c.validatorCount;
        uint256 index = Quorum.findIndex(packed, n, validator);
        if (index == n) revert Quorum.UnknownValidator(validator);
        next = new address[](n - 1);
        uint256 j;
        for (uint256 i; i < n; ++i) {
            if (i != index) next[j++] = SignerSet.at(packed, i);
        }
    }

    function _writeSet(address[] memory set, uint256 threshold, uint32 version) private returns (uint32) {
        Config memory c = _config;
        _config = Config({
            validatorSet: Quorum.write(set, threshold),
            threshold: uint16(threshold),
            validatorCount: uint16(set.length),
            setVersion: version,
            paused: c.paused,
            live: c.live
        });
        return version;
    }
}
