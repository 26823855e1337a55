// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {Governed} from "./Governed.sol";
import {IOperational} from "./IOperational.sol";

interface IPausableBridge {
    function setPaused(bool paused) external;
    function paused() external view returns (bool);
}

/// @title Operational
/// @notice The running settings of one chain's bridge, owned by governance: the token registry
/// (local token ↔ its counterpart on the other chain), per-token limits (min and max per
/// transfer, a rolling-window cap as a token bucket), fees (basis points plus flat, capped) and
/// the guardians who may pause at once. Limits and fees apply to transfers leaving this chain;
/// the limits on what arrives are the bridge's own (`BridgeBase.setInboundLimits`).
contract Operational is Governed, IOperational {
    /// @notice No transfer ever pays more than 10% of its amount in fees, flat part included.
    uint256 public constant MAX_FEE_BPS = 1_000;

    struct TokenConfig {
        address remote; // counterpart on the other chain; zero when unmapped
        uint16 feeBps;
        uint64 window; // seconds for the cap to refill completely
        uint256 minAmount;
        uint256 maxAmount; // 0: no maximum
        uint256 windowCap; // 0: no rolling cap
        uint256 flatFee;
        uint256 maxFee; // 0: no cap on the fee
    }

    struct Bucket {
        uint192 available;
        uint64 updatedAt;
    }

    /// @notice The bridge this contract serves (set once at deployment).
    address public bridge;
    /// @notice Where fees go.
    address public feeRecipient;

    mapping(address local => TokenConfig) private _tokens;
    mapping(address local => Bucket) private _buckets;
    /// @inheritdoc IOperational
    mapping(address remote => address local) public localOf;
    mapping(address => bool) public isGuardian;
    address[] private _mappedTokens;
    address[] private _guardians;

    event BridgeSet(address bridge);
    event TokenMapped(address indexed local, address indexed remote);
    event TokenUnmapped(address indexed local, address indexed remote);
    event LimitsSet(address indexed token, uint256 minAmount, uint256 maxAmount, uint256 windowCap, uint64 window);
    event FeesSet(address indexed token, uint16 feeBps, uint256 flatFee, uint256 maxFee);
    event FeeRecipientSet(address recipient);
    event GuardianAdded(address indexed guardian);
    event GuardianRemoved(address indexed guardian);
    event Paused(address indexed by);
    event Unpaused();

    error NotBridge();
    error BridgeAlreadySet();
    error ZeroAddress();
    error TokenNotMapped(address token);
    error TokenAlreadyMapped(address token);
    error BelowMinimum(uint256 amount, uint256 minimum);
    error AboveMaximum(uint256 amount, uint256 maximum);
    error RateLimited(uint256 amount, uint256 available);
    error FeeAboveCap(uint256 amount, uint256 fee, uint256 cap);
    error FeeTooHigh(uint256 feeBps);
    error InvalidLimits();
    error NotGuardian(address account);
    error GuardianExists(address guardian);
    error UnknownGuardian(address guardian);
    error BridgeNotSet();

    constructor(address governance_, address setupKey_, address feeRecipient_) Governed(governance_, setupKey_) {
        if (feeRecipient_ == address(0)) revert ZeroAddress();
        feeRecipient = feeRecipient_;
    }

    // ---------------------------------------------------------------- bridge hook

    /// @inheritdoc IOperational
    function onOutbound(address token, uint256 amount)
        external
        returns (uint256 fee, address recipient, address remoteToken)
    {
        if (msg.sender != bridge) revert NotBridge();
        TokenConfig memory cfg = _tokens[token];
        fee = _quote(cfg, token, amount);
        if (cfg.windowCap != 0) {
            uint256 available = _available(cfg, _buckets[token]);
            if (amount > available) revert RateLimited(amount, available);
            _buckets[token] = Bucket({available: uint192(available - amount), updatedAt: uint64(block.timestamp)});
        }
        return (fee, feeRecipient, cfg.remote);
    }

    /// @inheritdoc IOperational
    function quoteOutbound(address token, uint256 amount) external view returns (uint256 fee, address recipient) {
        return (_quote(_tokens[token], token, amount), feeRecipient);
    }

    /// @dev The fee of an outbound transfer, after the checks that do not depend on the window.
    function _quote(TokenConfig memory cfg, address token, uint256 amount) private pure returns (uint256 fee) {
        if (cfg.remote == address(0)) revert TokenNotMapped(token);
        if (amount < cfg.minAmount) revert BelowMinimum(amount, cfg.minAmount);
        if (cfg.maxAmount != 0 && amount > cfg.maxAmount) revert AboveMaximum(amount, cfg.maxAmount);
        fee = _fee(cfg, amount);
        uint256 cap = _feeCap(amount);
        if (fee > cap) revert FeeAboveCap(amount, fee, cap);
    }

    // ---------------------------------------------------------------- views

    /// @notice Settings of a local token.
    function tokenConfig(address token) external view returns (TokenConfig memory) {
        return _tokens[token];
    }

    /// @notice Every local token ever mapped (check `tokenConfig(t).remote` for the current state).
    function mappedTokens() external view returns (address[] memory) {
        return _mappedTokens;
    }

    /// @notice The current guardians.
    function guardians() external view returns (address[] memory) {
        return _guardians;
    }

    /// @notice Amount that can leave now under the rolling cap (max uint256 when uncapped).
    function availableCapacity(address token) external view returns (uint256) {
        TokenConfig memory cfg = _tokens[token];
        if (cfg.windowCap == 0) return type(uint256).max;
        return _available(cfg, _buckets[token]);
    }

    /// @notice The fee an outbound transfer of `amount` pays (`onOutbound` refuses the transfer
    /// when this is above 10% of the amount).
    function quoteFee(address token, uint256 amount) external view returns (uint256) {
        return _fee(_tokens[token], amount);
    }

    /// @notice Whether the bridge is paused (false before a bridge is bound).
    function paused() external view returns (bool) {
        return bridge != address(0) && IPausableBridge(bridge).paused();
    }

    // ---------------------------------------------------------------- pause

    /// @notice Any guardian (or governance) pauses the bridge at once.
    function pause() external {
        if (!isGuardian[msg.sender] && msg.sender != governance) revert NotGuardian(msg.sender);
        IPausableBridge(bridge).setPaused(true);
        emit Paused(msg.sender);
    }

    /// @notice Only governance unpauses.
    function unpause() external onlyGovernance {
        IPausableBridge(bridge).setPaused(false);
        emit Unpaused();
    }

    // ---------------------------------------------------------------- governance

    /// @notice Binds the bridge this contract serves; once, at deployment.
    function setBridge(address bridge_) external onlyGovernance {
        if (bridge != address(0)) revert BridgeAlreadySet();
        if (bridge_ == address(0)) revert ZeroAddress();
        bridge = bridge_;
        emit BridgeSet(bridge_);
    }

    /// @notice Maps local token `local` to its counterpart `remote` on the other chain.
    function mapToken(address local, address remote) external onlyGovernance {
        if (local == address(0) || remote == address(0)) revert ZeroAddress();
        if (_tokens[local].remote != address(0)) revert TokenAlreadyMapped(local);
        if (localOf[remote] != address(0)) revert TokenAlreadyMapped(remote);
        _tokens[local].remote = remote;
        localOf[remote] = local;
        if (!_wasMapped(local)) _mappedTokens.push(local);
        emit TokenMapped(local, remote);
    }

    /// @notice Unmaps a token: new outbound transfers of it are refused, inbound ones wait.
    function unmapToken(address local) external onlyGovernance {
        address remote = _tokens[local].remote;
        if (remote == address(0)) revert TokenNotMapped(local);
        delete _tokens[local].remote;
        delete localOf[remote];
        emit TokenUnmapped(local, remote);
    }

    /// @notice Per-transfer bounds and the rolling cap (`windowCap` per `window` seconds,
    /// refilled continuously). Zero `maxAmount` or `windowCap` means unlimited. Resets the bucket.
    function setLimits(address token, uint256 minAmount, uint256 maxAmount, uint256 windowCap, uint64 window)
        external
        onlyGovernance
    {
        if (_tokens[token].remote == address(0)) revert TokenNotMapped(token);
        if (maxAmount != 0 && minAmount > maxAmount) revert InvalidLimits();
        if (windowCap != 0 && (window == 0 || windowCap > type(uint192).max)) revert InvalidLimits();
        TokenConfig storage cfg = _tokens[token];
        cfg.minAmount = minAmount;
        cfg.maxAmount = maxAmount;
        cfg.windowCap = windowCap;
        cfg.window = window;
        _buckets[token] = Bucket({available: uint192(windowCap), updatedAt: uint64(block.timestamp)});
        emit LimitsSet(token, minAmount, maxAmount, windowCap, window);
    }

    /// @notice Fee = `flatFee` + `amount` × `feeBps` / 10,000, at most `maxFee` (0: no cap of its
    /// own). Whatever the settings, a transfer whose fee would exceed 10% of its amount is
    /// refused at the source, so the flat part can never take a small transfer whole.
    function setFees(address token, uint16 feeBps, uint256 flatFee, uint256 maxFee) external onlyGovernance {
        if (_tokens[token].remote == address(0)) revert TokenNotMapped(token);
        if (feeBps > MAX_FEE_BPS) revert FeeTooHigh(feeBps);
        TokenConfig storage cfg = _tokens[token];
        cfg.feeBps = feeBps;
        cfg.flatFee = flatFee;
        cfg.maxFee = maxFee;
        emit FeesSet(token, feeBps, flatFee, maxFee);
    }

    /// @notice Where fees are sent.
    function setFeeRecipient(address recipient) external onlyGovernance {
        if (recipient == address(0)) revert ZeroAddress();
        feeRecipient = recipient;
        emit FeeRecipientSet(recipient);
    }

    function addGuardian(address guardian) external onlyGovernance {
        if (guardian == address(0)) revert ZeroAddress();
        if (isGuardian[guardian]) revert GuardianExists(guardian);
        isGuardian[guardian] = true;
        _guardians.push(guardian);
        emit GuardianAdded(guardian);
    }

    function removeGuardian(address guardian) external onlyGovernance {
        if (!isGuardian[guardian]) revert UnknownGuardian(guardian);
        isGuardian[guardian] = false;
        uint256 n = _guardians.length;
        for (uint256 i; i < n; ++i) {
            if (_guardians[i] == guardian) {
                _guardians[i] = _guardians[n - 1];
                _guardians.pop();
                break;
            }
        }
        emit GuardianRemoved(guardian);
    }

    // ---------------------------------------------------------------- internals

    function _available(TokenConfig memory cfg, Bucket memory b) private view returns (uint256) {
        uint256 refill = Math.mulDiv(block.timestamp - b.updatedAt, cfg.windowCap, cfg.window);
        return Math.min(cfg.windowCap, uint256(b.available) + refill);
    }

    function _beforeFinishSetup() internal view override {
        if (bridge == address(0)) revert BridgeNotSet();
    }

    function _feeCap(uint256 amount) private pure returns (uint256) {
        return Math.mulDiv(amount, MAX_FEE_BPS, 10_000);
    }

    function _fee(TokenConfig memory cfg, uint256 amount) private pure returns (uint256 fee) {
        fee = cfg.flatFee + Math.mulDiv(amount, cfg.feeBps, 10_000);
        if (cfg.maxFee != 0 && fee > cfg.maxFee) fee = cfg.maxFee;
    }

    function _wasMapped(address token) private view returns (bool) {
        uint256 n = _mappedTokens.length;
        for (uint256 i; i < n; ++i) {
            if (_mappedTokens[i] == token) return true;
        }
        return false;
    }
}
