// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {Governed} from "./Governed.sol";
import {Inbound} from "./Inbound.sol";
import {IOperational} from "./IOperational.sol";
import {Quorum} from "./Quorum.sol";
import {Transfer, TransferHash} from "./Transfer.sol";
import {SignerSet} from "./SignerSet.sol";
import {TransferQueue} from "./TransferQueue.sol";

/// @title MainHub
/// @notice One main-chain bridge for many side chains. A *route* is one side chain's bridge as
/// the hub knows it, `routeId = keccak256(abi.encode(chainId, sideBridge))`, and everything a
/// route's validators can touch is the route's own: its signer set and threshold, its pause,
/// its processed nonces, its inbound limits per token and its custody book per token. A release
/// for route S is paid from `custody[S][token]`, what was locked for S (or forwarded to S) and
/// not yet released, and reverts when the book is short, so S's whole validator set, stolen,
/// can take at most S's custody (one inbound window at a time) and never another route's.
///
/// A withdrawal from side chain A whose destination is side chain B's bridge is a *chained*
/// transfer: in the transaction that releases it from A's book, it becomes a deposit to B (B's
/// fee and outbound limits apply; no token leaves the hub). When B refuses it (unknown, paused
/// or retired, the token not open toward B, over a limit) it is *parked*, its amount off A's
/// book and on no route's, until `forward` (anyone, once B takes it) or `refund` (its sender at
/// any time, anyone after `REFUND_DELAY`: back to A, or to the sender on this chain) moves it.
///
/// The custody invariant, per token: `balanceOf(hub) = Σ custody + Σ parked + surplus`, where
/// `booked[token]` is the first two and surplus is what was sent to the hub without a lock
/// (owed to nobody; no call moves it). Fees leave the hub when charged.
///
/// Operational (fees, outbound limits, guardians, the global pause) serves the hub as it serves
/// a bridge; its registry lists a token for the hub by mapping it to itself, and the token's
/// counterpart on each side chain is the hub's per-route `remoteToken`.
contract MainHub is TransferQueue, EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice How long a parked chained transfer is its sender's alone to refund or leave.
    uint256 public constant REFUND_DELAY = 7 days;

    struct RouteConfig {
        address validatorSet; // SignerSet data contract; zero: no such route
        uint16 threshold;
        uint16 validatorCount;
        uint32 setVersion;
        bool paused;
        bool retired;
    }

    struct Route {
        RouteConfig config; // slot 0: everything a release reads about the signers
        uint64 outboundNonce; // nonce of the next deposit to this route
        address bridge; // the side chain's bridge
        uint256 chainId;
        bytes32 domain; // the side bridge's EIP-712 domain separator: deposits are hashed under it
    }

    /// @notice Why a chained transfer was parked instead of forwarded.
    enum Refusal {
        None,
        UnknownRoute,
        RouteRetired,
        RoutePaused,
        TokenNotOpen,
        BridgeRecipient, // the recipient is the destination's bridge or the hub: it would be stuck
        OutboundRefused // Operational refused it (not listed, below the minimum, above the maximum)
    }

    enum ParkState {
        None,
        Parked,
        Forwarded,
        Refunded
    }

    struct Parked {
        ParkState state;
        uint64 since;
        bytes32 srcRoute;
    }

    /// @notice Registry, outbound limits, fees and guardians for this chain.
    IOperational public immutable operational;

    bool private _paused;
    bool private _live;

    mapping(bytes32 route => Route) private _routes;
    bytes32[] private _routeIds;
    /// @dev One bit per inbound nonce of a route, 256 to a slot: released, queued or parked.
    mapping(bytes32 route => mapping(uint256 => uint256)) private _processed;
    mapping(bytes32 route => mapping(address token => Inbound.Limit)) private _inbound;
    /// @notice What route S may still pay out of `token`: locked or forwarded to S, not yet
    /// released from it.
    mapping(bytes32 route => mapping(address token => uint256)) public custody;
    /// @notice `token`'s counterpart on the route's side chain; zero: closed toward the route.
    mapping(bytes32 route => mapping(address token => address)) public remoteToken;
    /// @notice Σ custody over routes plus Σ parked, per token: what the hub owes.
    mapping(address token => uint256) public booked;
    mapping(bytes32 transferId => Parked) private _parked;
    /// @notice The route whose set holds `validator` (zero: none). One address serves one route
    /// only, so a route's stolen keys sign for no other route.
    mapping(address validator => bytes32 route) public routeOfValidator;

    event RouteAdded(bytes32 indexed route, uint256 chainId, address bridge);
    event RouteValidatorsSet(bytes32 indexed route, address[] validators, uint256 threshold, uint32 setVersion);
    event RouteTokenSet(bytes32 indexed route, address indexed token, address remote);
    event RouteInboundLimitsSet(
        bytes32 indexed route, address indexed token, uint256 cap, uint256 window, uint256 large, uint256 delay
    );
    event RoutePauseChanged(bytes32 indexed route, bool paused, address by);
    event RouteRetired(bytes32 indexed route);
    event PauseChanged(bool paused);
    /// @notice A deposit to `route`: a lock, a chained transfer forwarded (`parentId` is the
    /// withdrawal it continues) or a parked one refunded to its source (`parentId` likewise).
    event Locked(
        bytes32 indexed route,
        uint64 indexed nonce,
        address indexed token,
        address sender,
        address recipient,
        uint256 amount,
        uint256 fee,
        bytes32 transferId,
        bytes32 parentId
    );
    /// @notice A withdrawal from `route` was paid out on this chain.
    event Released(
        bytes32 indexed route,
        uint64 indexed nonce,
        bytes32 indexed transferId,
        address recipient,
        address token,
        uint256 amount
    );
    /// @notice A chained transfer its destination refused waits here (`forward` or `refund`).
    event TransferParked(bytes32 indexed transferId, bytes32 indexed dstRoute, Refusal reason);
    /// @notice A parked transfer was paid to its sender on this chain.
    event RefundedHere(bytes32 indexed transferId, address indexed sender, uint256 amount);
    /// @notice Governance paid out a transfer parked from a retired route.
    event ParkedResolved(bytes32 indexed transferId, address to, uint256 amount);
    event RetiredCustodySwept(bytes32 indexed route, address indexed token, address to, uint256 amount);

    error BridgePaused();
    error NotLive();
    error NotOperational();
    error UnknownRoute(bytes32 route);
    error RouteExists(bytes32 route);
    error RouteIsRetired(bytes32 route);
    error RouteIsPaused(bytes32 route);
    error RouteNotRetired(bytes32 route);
    error InvalidRoute(uint256 chainId, address bridge);
    error TokenNotContract(address token);
    error WrongDestination(uint256 chainId, address bridge);
    error AlreadyProcessed(bytes32 route, uint64 nonce);
    error CustodyShort(bytes32 route, address token, uint256 amount, uint256 custody);
    error InboundDisabled(address token);
    error RateLimited(uint256 amount, uint256 available);
    error ZeroAmount();
    error ZeroRecipient();
    error BridgeRecipient(address recipient);
    error BalanceMismatch(address recipient, uint256 expected, uint256 received);
    error NotParked(bytes32 transferId);
    error DestinationRefuses(bytes32 route, Refusal reason);
    error RefundNotYet(bytes32 transferId, uint256 from);
    error OnlySender(address sender);
    error ValidatorOnOtherRoute(address validator, bytes32 route);
    error OperationalNotBound();
    error SourceNotRetired(bytes32 route);
    /// @notice Operational ran out of gas deciding on a chained transfer: send it with more.
    error OutboundUnanswered();

    modifier whenActive() {
        _requireActive();
        _;
    }

    constructor(address governance_, address setupKey_, IOperational operational_)
        Governed(governance_, setupKey_)
        EIP712("Sidebridge", "1")
    {
        operational = operational_;
        // without a setup key there is no setup phase
        _live = setupKey_ == address(0);
    }

    // ---------------------------------------------------------------- views

    /// @notice Every route ever added, in order (retired ones included).
    function routeIds() external view returns (bytes32[] memory) {
        return _routeIds;
    }

    /// @notice A route's side chain and bridge, its signers, threshold, set version, pause and
    /// retirement, and the nonce its next deposit will carry.
    function route(bytes32 id)
        external
        view
        returns (
            uint256 chainId,
            address bridge,
            address[] memory validators,
            uint256 threshold,
            uint256 setVersion,
            bool isPaused,
            bool isRetired,
            uint64 outboundNonce
        )
    {
        Route storage r = _routes[id];
        RouteConfig memory c = r.config;
        if (c.validatorSet == address(0)) revert UnknownRoute(id);
        return (
            r.chainId,
            r.bridge,
            SignerSet.toArray(SignerSet.read(c.validatorSet), c.validatorCount),
            c.threshold,
            c.setVersion,
            c.paused,
            c.retired,
            r.outboundNonce
        );
    }

    function paused() external view returns (bool) {
        return _paused;
    }

    function live() external view returns (bool) {
        return _live;
    }

    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @notice The id (this hub's EIP-712 digest) of a withdrawal: what a route's validators sign.
    function hashTransfer(Transfer calldata t) external view returns (bytes32) {
        return _hashTypedDataV4(TransferHash.hash(t));
    }

    /// @notice The id of a deposit to `routeId_`: its digest under the side bridge's domain.
    function depositId(bytes32 routeId_, Transfer memory t) public view returns (bytes32) {
        return MessageHashUtils.toTypedDataHash(_routes[routeId_].domain, TransferHash.hashMemory(t));
    }

    function isProcessed(bytes32 routeId_, uint64 nonce) external view returns (bool) {
        return _processed[routeId_][nonce >> 8] & (1 << (nonce & 0xff)) != 0;
    }

    function inboundLimit(bytes32 routeId_, address token)
        external
        view
        returns (uint256 cap, uint256 window, uint256 large, uint256 delay)
    {
        Inbound.Limit memory l = _inbound[routeId_][token];
        return (l.cap, l.window, l.large, l.delay);
    }

    function inboundAvailable(bytes32 routeId_, address token) external view returns (uint256) {
        return Inbound.availableNow(_inbound[routeId_][token]);
    }

    /// @notice A chained transfer's parking: its state, since when it waits, its source route.
    function parked(bytes32 transferId) external view returns (ParkState state, uint256 since, bytes32 srcRoute) {
        Parked memory p = _parked[transferId];
        return (p.state, p.since, p.srcRoute);
    }

    // ---------------------------------------------------------------- governance

    /// @notice Adds side chain `chainId`'s bridge `bridge` as a route with its validator set.
    /// Its tokens and inbound limits are set per token afterwards; until then nothing moves.
    function addRoute(uint256 chainId, address bridge, address[] calldata validators, uint256 threshold)
        external
        onlyGovernance
        returns (bytes32 id)
    {
        if (chainId == 0 || chainId == block.chainid || bridge == address(0)) {
            revert InvalidRoute(chainId, bridge);
        }
        id = TransferHash.routeId(chainId, bridge);
        Route storage r = _routes[id];
        if (r.config.validatorSet != address(0)) revert RouteExists(id);
        r.chainId = chainId;
        r.bridge = bridge;
        r.domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Sidebridge"),
                keccak256("1"),
                chainId,
                bridge
            )
        );
        _routeIds.push(id);
        emit RouteAdded(id, chainId, bridge);
        _setValidators(id, validators, threshold);
    }

    /// @notice Replaces a route's validator set and threshold (a strict majority); bumps its
    /// set version, so signatures of the old set stop counting.
    function setRouteValidators(bytes32 id, address[] calldata validators, uint256 threshold) external onlyGovernance {
        _openRoute(id);
        _setValidators(id, validators, threshold);
    }

    /// @notice Opens `token` toward the route (`remote` is its counterpart there) or closes it
    /// (`remote` zero): locks and forwarded transfers to the route need it open.
    function setRouteToken(bytes32 id, address token, address remote) external onlyGovernance {
        _openRoute(id);
        if (token.code.length == 0) revert TokenNotContract(token);
        remoteToken[id][token] = remote;
        emit RouteTokenSet(id, token, remote);
    }

    /// @notice The route's inbound limits for `token` (see `Inbound.set`); cap 0 closes it.
    function setInboundLimits(bytes32 id, address token, uint256 cap, uint256 window, uint256 large, uint256 delay)
        external
        onlyGovernance
    {
        _openRoute(id);
        Inbound.set(_inbound[id][token], cap, window, large, delay);
        emit RouteInboundLimitsSet(id, token, cap, window, large, delay);
    }

    /// @notice Any guardian (or governance) pauses one route at once: no lock to it, no release
    /// from it, and chained transfers to it are parked. Other routes carry on.
    function pauseRoute(bytes32 id) external {
        if (msg.sender != governance && !operational.isGuardian(msg.sender)) revert NotGuardian(msg.sender);
        _openRoute(id);
        _routes[id].config.paused = true;
        emit RoutePauseChanged(id, true, msg.sender);
    }

    /// @notice Only governance unpauses a route.
    function unpauseRoute(bytes32 id) external onlyGovernance {
        _openRoute(id);
        _routes[id].config.paused = false;
        emit RoutePauseChanged(id, false, msg.sender);
    }

    /// @notice Retires a route for good: nothing is locked to, released from or forwarded to it
    /// again. Its custody stays on its book until governance sweeps it (`sweepRetired`), and
    /// chained transfers parked on it can still be refunded.
    function retireRoute(bytes32 id) external onlyGovernance {
        _openRoute(id);
        RouteConfig storage c = _routes[id].config;
        c.retired = true;
        // its keys sign for it no more, so they may serve another route (a redeployed bridge)
        _freeSigners(c);
        emit RouteRetired(id);
    }

    /// @notice Moves what a retired route's book still holds of `token` to `to`.
    function sweepRetired(bytes32 id, address token, address to) external onlyGovernance nonReentrant {
        if (!_routes[id].config.retired) revert RouteNotRetired(id);
        if (to == address(0)) revert ZeroRecipient();
        uint256 amount = custody[id][token];
        custody[id][token] = 0;
        booked[token] -= amount;
        IERC20(token).safeTransfer(to, amount);
        emit RetiredCustodySwept(id, token, to, amount);
    }

    /// @notice Pauses or unpauses every route. Only the Operational contract calls this: any
    /// guardian pauses there at once, only governance unpauses.
    function setPaused(bool paused_) external {
        if (msg.sender != address(operational)) revert NotOperational();
        _paused = paused_;
        emit PauseChanged(paused_);
    }

    // ---------------------------------------------------------------- holders

    /// @notice Locks `amount` of `token` for `recipient` on route `id`'s side chain. The amount
    /// credited is the hub's measured balance change; the fee goes to the fee recipient and the
    /// rest is added to the route's custody and minted there.
    function lock(bytes32 id, address token, uint256 amount, address recipient)
        external
        nonReentrant
        whenActive
        returns (uint64 nonce)
    {
        return _lock(id, token, amount, recipient);
    }

    /// @notice `lock` after an EIP-2612 permit; the permit's own failure is ignored (someone may
    /// have submitted it first), the allowance is what counts.
    function lockWithPermit(
        bytes32 id,
        address token,
        uint256 amount,
        address recipient,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant whenActive returns (uint64 nonce) {
        if (token.code.length == 0) revert TokenNotContract(token);
        try IERC20Permit(token).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        return _lock(id, token, amount, recipient);
    }

    function _lock(bytes32 id, address token, uint256 amount, address recipient) private returns (uint64) {
        if (amount == 0) revert ZeroAmount();
        Route storage r = _routes[id];
        Refusal why = _refusal(id, token);
        if (why != Refusal.None) revert DestinationRefuses(id, why);
        if (recipient == address(0)) revert ZeroRecipient();
        if (recipient == r.bridge || recipient == address(this)) revert BridgeRecipient(recipient);

        IERC20 erc20 = IERC20(token);
        uint256 before = erc20.balanceOf(address(this));
        erc20.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = erc20.balanceOf(address(this)) - before;
        if (received == 0) revert ZeroAmount();
        booked[token] += received;
        (uint256 fee, address feeRecipient,) = operational.onOutbound(token, received);
        uint64 nonce = _deposit(id, token, msg.sender, recipient, received - fee, fee, bytes32(0));
        _takeFee(token, fee, feeRecipient);
        return nonce;
    }

    // ---------------------------------------------------------------- withdrawals

    /// @notice Settles a withdrawal signed by at least the threshold of its source route's
    /// current validators, from that route's book: paid out here, or (chained) forwarded to
    /// the destination route or parked. Within the token's inbound limits of the source route
    /// it settles at once; above the large size it is queued (`executeQueued`); over the cap
    /// it reverts (`RateLimited`) and can be sent again later.
    /// @param signatures Concatenated 65-byte `r‖s‖v` signatures over the transfer's id
    /// (`hashTransfer`), ordered by strictly ascending signer address.
    function release(Transfer calldata t, bytes calldata signatures) external nonReentrant whenActive {
        bytes32 src = TransferHash.routeId(t.srcChainId, t.srcBridge);
        RouteConfig memory c = _routes[src].config;
        if (c.validatorSet == address(0)) revert UnknownRoute(src);
        if (c.retired) revert RouteIsRetired(src);
        if (c.paused) revert RouteIsPaused(src);
        if (t.recipient == address(0)) revert ZeroRecipient();

        uint256 word = t.nonce >> 8;
        uint256 bit = 1 << (t.nonce & 0xff);
        uint256 bits = _processed[src][word];
        if (bits & bit != 0) revert AlreadyProcessed(src, t.nonce);

        bytes32 id = _hashTypedDataV4(TransferHash.hash(t));
        Quorum.check(c.validatorSet, c.threshold, c.validatorCount, id, signatures);

        Inbound.Limit storage limit = _inbound[src][t.token];
        (Inbound.Inflow inflow, uint256 available) = Inbound.charge(limit, t.amount, false);
        if (inflow == Inbound.Inflow.Disabled) revert InboundDisabled(t.token);
        if (inflow == Inbound.Inflow.RateLimited) revert RateLimited(t.amount, available);

        _processed[src][word] = bits | bit;
        if (inflow == Inbound.Inflow.Delayed) {
            uint256 held = custody[src][t.token];
            if (held < t.amount) revert CustodyShort(src, t.token, t.amount, held);
            _enqueue(id, t.nonce, limit.delay);
        } else {
            _settle(t, src, id);
        }
    }

    /// @notice Settles a queued (large) withdrawal once its delay has passed, unless a guardian
    /// holds it or governance canceled it. Anyone may call. The pauses and the source route's
    /// inbound limits are checked as they are now (a refusal reverts and leaves it queued); one
    /// queued before its route was retired still executes.
    function executeQueued(Transfer calldata t) external nonReentrant whenActive {
        bytes32 src = TransferHash.routeId(t.srcChainId, t.srcBridge);
        // a route retired after this was queued still pays it (governance cancels what it will not)
        if (_routes[src].config.paused) revert RouteIsPaused(src);
        bytes32 id = _hashTypedDataV4(TransferHash.hash(t));
        _takeQueued(id);
        (Inbound.Inflow inflow, uint256 available) = Inbound.charge(_inbound[src][t.token], t.amount, true);
        if (inflow == Inbound.Inflow.Disabled) revert InboundDisabled(t.token);
        if (inflow == Inbound.Inflow.RateLimited) revert RateLimited(t.amount, available);
        _settle(t, src, id);
    }

    /// @notice Forwards a parked chained transfer to its destination once it takes it. Anyone
    /// may call: the destination and recipient are fixed by what the source route signed.
    function forward(Transfer calldata t) external nonReentrant whenActive {
        (bytes32 id, Parked storage p) = _openParked(t);
        bytes32 dst = TransferHash.routeId(t.dstChainId, t.dstBridge);
        Refusal why = _destinationRefusal(dst, t);
        if (why != Refusal.None) revert DestinationRefuses(dst, why);
        p.state = ParkState.Forwarded;
        (uint256 fee, address feeRecipient) = operational.quoteOutbound(t.token, t.amount);
        _deposit(dst, t.token, t.sender, t.recipient, t.amount - fee, fee, id);
        _takeFee(t.token, fee, feeRecipient);
    }

    /// @notice Returns a parked chained transfer: to its sender on its source side chain, or
    /// (`here`) to the sender on this chain. The sender may refund at any time, anyone may
    /// refund to the source after `REFUND_DELAY`; no fee is charged. Only the sender, and only
    /// as an externally owned account, takes it here: a contract at the same address on this
    /// chain (a forwarder, a wallet deployed by someone else) need not be the sender's.
    function refund(Transfer calldata t, bool here) external nonReentrant whenActive {
        (bytes32 id, Parked storage p) = _openParked(t);
        if (msg.sender != t.sender || (here && msg.sender != tx.origin)) {
            if (here) revert OnlySender(t.sender);
            uint256 from = uint256(p.since) + REFUND_DELAY;
            if (block.timestamp < from) revert RefundNotYet(id, from);
        }
        p.state = ParkState.Refunded;
        if (here) {
            booked[t.token] -= t.amount;
            _pay(t.token, t.sender, t.amount);
            emit RefundedHere(id, t.sender, t.amount);
        } else {
            bytes32 src = p.srcRoute;
            Refusal why = _refusal(src, t.token);
            if (why != Refusal.None) revert DestinationRefuses(src, why);
            _deposit(src, t.token, t.sender, t.sender, t.amount, 0, id);
        }
    }

    /// @notice Pays a transfer parked from a route since retired (which can take no refund) to
    /// `to`, once `REFUND_DELAY` has passed: for a sender who cannot take it here itself.
    function resolveParked(Transfer calldata t, address to) external onlyGovernance nonReentrant {
        (bytes32 id, Parked storage p) = _openParked(t);
        if (!_routes[p.srcRoute].config.retired) revert SourceNotRetired(p.srcRoute);
        uint256 from = uint256(p.since) + REFUND_DELAY;
        if (block.timestamp < from) revert RefundNotYet(id, from);
        if (to == address(0)) revert ZeroRecipient();
        p.state = ParkState.Refunded;
        booked[t.token] -= t.amount;
        _pay(t.token, to, t.amount);
        emit ParkedResolved(id, to, t.amount);
    }

    // ---------------------------------------------------------------- internals

    function _isGuardian(address account) internal view override returns (bool) {
        return operational.isGuardian(account);
    }

    function _beforeFinishSetup() internal override {
        if (operational.bridge() != address(this)) revert OperationalNotBound();
        _live = true;
    }

    /// @dev The parking record of `t`, which must be parked, and not from a paused route (a
    /// guardian's pause holds what was parked from it too).
    function _openParked(Transfer calldata t) private view returns (bytes32 id, Parked storage p) {
        id = _hashTypedDataV4(TransferHash.hash(t));
        p = _parked[id];
        if (p.state != ParkState.Parked) revert NotParked(id);
        if (_routes[p.srcRoute].config.paused) revert RouteIsPaused(p.srcRoute);
    }

    /// @dev `_refusal` of route `dst` for `t`, and a recipient that is `dst`'s bridge or the hub.
    function _destinationRefusal(bytes32 dst, Transfer calldata t) private view returns (Refusal why) {
        why = _refusal(dst, t.token);
        if (why == Refusal.None && (t.recipient == _routes[dst].bridge || t.recipient == address(this))) {
            why = Refusal.BridgeRecipient;
        }
    }

    function _requireActive() private view {
        if (_paused) revert BridgePaused();
        if (!_live) revert NotLive();
    }

    /// @dev Reverts unless route `id` exists and is not retired.
    function _openRoute(bytes32 id) private view {
        RouteConfig memory c = _routes[id].config;
        if (c.validatorSet == address(0)) revert UnknownRoute(id);
        if (c.retired) revert RouteIsRetired(id);
    }

    function _setValidators(bytes32 id, address[] calldata validators, uint256 threshold) private {
        RouteConfig storage c = _routes[id].config;
        _freeSigners(c);
        for (uint256 i; i < validators.length; ++i) {
            bytes32 other = routeOfValidator[validators[i]];
            if (other != bytes32(0)) revert ValidatorOnOtherRoute(validators[i], other);
            routeOfValidator[validators[i]] = id;
        }
        uint32 version = c.setVersion + 1;
        c.validatorSet = Quorum.write(validators, threshold);
        c.threshold = uint16(threshold);
        c.validatorCount = uint16(validators.length);
        c.setVersion = version;
        emit RouteValidatorsSet(id, validators, threshold, version);
    }

    /// @dev Frees the addresses of route config `c`'s set (if any) for other routes.
    function _freeSigners(RouteConfig storage c) private {
        if (c.validatorSet == address(0)) return;
        bytes memory set = SignerSet.read(c.validatorSet);
        for (uint256 i; i < c.validatorCount; ++i) {
            delete routeOfValidator[SignerSet.at(set, i)];
        }
    }

    /// @dev Why route `id` would not take a deposit of `token` now (`None`: it would, as far as
    /// the hub's own settings go; Operational's limits are asked when it is made).
    function _refusal(bytes32 id, address token) private view returns (Refusal) {
        RouteConfig memory c = _routes[id].config;
        if (c.validatorSet == address(0)) return Refusal.UnknownRoute;
        if (c.retired) return Refusal.RouteRetired;
        if (c.paused) return Refusal.RoutePaused;
        if (remoteToken[id][token] == address(0)) return Refusal.TokenNotOpen;
        return Refusal.None;
    }

    /// @dev Takes a withdrawal's amount off its source route's book and pays it here, or hands
    /// it to its destination route (forwarded now, or parked).
    function _settle(Transfer calldata t, bytes32 src, bytes32 id) private {
        uint256 held = custody[src][t.token];
        if (held < t.amount) revert CustodyShort(src, t.token, t.amount, held);
        custody[src][t.token] = held - t.amount;

        if (t.dstChainId == block.chainid && t.dstBridge == address(this)) {
            booked[t.token] -= t.amount;
            _pay(t.token, t.recipient, t.amount);
            emit Released(src, t.nonce, id, t.recipient, t.token, t.amount);
            return;
        }
        bytes32 dst = TransferHash.routeId(t.dstChainId, t.dstBridge);
        Refusal why = _destinationRefusal(dst, t);
        if (why == Refusal.None) {
            // Operational's refusal parks the transfer rather than reverting its release. Its
            // errors always carry a selector; empty revert data is running out of gas, which a
            // caller could cause on purpose to park a transfer B would take: that reverts. The
            // hop is not charged to Operational's outbound window, shared by every route's locks:
            // the source route's inbound limits bound it, and the destination's where it mints.
            try operational.quoteOutbound(t.token, t.amount) returns (uint256 fee, address feeRecipient) {
                _parked[id] = Parked({state: ParkState.Forwarded, since: uint64(block.timestamp), srcRoute: src});
                _deposit(dst, t.token, t.sender, t.recipient, t.amount - fee, fee, id);
                _takeFee(t.token, fee, feeRecipient);
                return;
            } catch (bytes memory reason) {
                if (reason.length == 0) revert OutboundUnanswered();
                why = Refusal.OutboundRefused;
            }
        }
        _parked[id] = Parked({state: ParkState.Parked, since: uint64(block.timestamp), srcRoute: src});
        emit TransferParked(id, dst, why);
    }

    function _takeFee(address token, uint256 fee, address feeRecipient) private {
        if (fee == 0) return;
        booked[token] -= fee;
        IERC20(token).safeTransfer(feeRecipient, fee);
    }

    /// @dev A deposit of `net` of `token` to route `id`: credits the route's book and emits
    /// `Locked` with its id under the side bridge's domain.
    function _deposit(
        bytes32 id,
        address token,
        address sender,
        address recipient,
        uint256 net,
        uint256 fee,
        bytes32 parent
    ) private returns (uint64 nonce) {
        custody[id][token] += net;
        Route storage r = _routes[id];
        nonce = r.outboundNonce++;
        bytes32 transferId = depositId(
            id,
            Transfer({
                srcChainId: block.chainid,
                srcBridge: address(this),
                dstChainId: r.chainId,
                dstBridge: r.bridge,
                nonce: nonce,
                token: token,
                sender: sender,
                recipient: recipient,
                amount: net
            })
        );
        emit Locked(id, nonce, token, sender, recipient, net, fee, transferId, parent);
    }

    /// @dev Transfers `amount` and checks that the recipient's balance grew by exactly that.
    function _pay(address token, address recipient, uint256 amount) private {
        IERC20 erc20 = IERC20(token);
        uint256 before = erc20.balanceOf(recipient);
        erc20.safeTransfer(recipient, amount);
        uint256 received = erc20.balanceOf(recipient) - before;
        if (received != amount) revert BalanceMismatch(recipient, amount, received);
    }
}
