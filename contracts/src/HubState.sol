// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {Governed} from "./Governed.sol";
import {Inbound} from "./Inbound.sol";
import {IOperational} from "./IOperational.sol";
import {Quorum} from "./Quorum.sol";
import {Transfer, TransferHash} from "./Transfer.sol";
import {SignerSet} from "./SignerSet.sol";
import {TransferQueue} from "./TransferQueue.sol";

/// @notice What `MainHub` and `MainHubAdmin` share: the hub's storage (one layout, as the admin
/// runs by `delegatecall` in the hub's storage), its events and errors, and the checks both
/// make. See `MainHub` for what the hub is.
abstract contract HubState is TransferQueue, EIP712, ReentrancyGuardTransient {
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

    bool internal _paused;
    bool internal _live;

    mapping(bytes32 route => Route) internal _routes;
    bytes32[] internal _routeIds;
    /// @dev One bit per inbound nonce of a route, 256 to a slot: released, queued or parked.
    mapping(bytes32 route => mapping(uint256 => uint256)) internal _processed;
    mapping(bytes32 route => mapping(address token => Inbound.Limit)) internal _inbound;
    /// @notice What route S may still pay out of `token`: locked or forwarded to S, not yet
    /// released from it.
    mapping(bytes32 route => mapping(address token => uint256)) public custody;
    /// @notice `token`'s counterpart on the route's side chain; zero: closed toward the route.
    mapping(bytes32 route => mapping(address token => address)) public remoteToken;
    /// @notice Σ custody over routes plus Σ parked, per token: what the hub owes.
    mapping(address token => uint256) public booked;
    mapping(bytes32 transferId => Parked) internal _parked;
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
    /// @notice A withdrawal from `route` was settled from its book: paid out on this chain to
    /// `recipient`, or (chained) handed on to its destination route, forwarded (`Locked` follows,
    /// naming it as `parentId`) or parked (`TransferParked` follows).
    event Released(
        bytes32 indexed route,
        uint64 indexed nonce,
        bytes32 indexed transferId,
        address recipient,
        address token,
        uint256 amount
    );
    /// @notice A large withdrawal from `route` was queued: `executeQueued` pays it from `eta`.
    event RouteTransferQueued(bytes32 indexed route, uint64 indexed nonce, bytes32 indexed transferId, uint256 eta);
    /// @notice A withdrawal from `route` in a `releaseBatch` was not released; the others were.
    /// `reason` is its revert data, cut to 256 bytes (empty when it ran out of its entry gas).
    event ReleaseSkipped(bytes32 indexed route, uint64 indexed nonce, bytes32 indexed transferId, bytes reason);
    /// @notice A chained transfer its destination refused waits here (`forward` or `refund`).
    event TransferParked(bytes32 indexed transferId, bytes32 indexed dstRoute, Refusal reason);
    /// @notice A parked transfer was paid to its sender on this chain.
    event RefundedHere(bytes32 indexed transferId, address indexed sender, uint256 amount);
    /// @notice Governance paid out a transfer parked from a retired route.
    event ParkedResolved(bytes32 indexed transferId, address to, uint256 amount);
    event SurplusSwept(address indexed token, address to, uint256 amount);
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
    }

    // ---------------------------------------------------------------- shared internals

    function _isGuardian(address account) internal view override returns (bool) {
        return operational.isGuardian(account);
    }

    /// @dev The parking record of `t`, which must be parked, and not from a paused route (a
    /// guardian's pause holds what was parked from it too).
    function _openParked(Transfer calldata t) internal view returns (bytes32 id, Parked storage p) {
        id = _hashTypedDataV4(TransferHash.hash(t));
        p = _parked[id];
        if (p.state != ParkState.Parked) revert NotParked(id);
        if (_routes[p.srcRoute].config.paused) revert RouteIsPaused(p.srcRoute);
    }

    function _requireActive() internal view {
        if (_paused) revert BridgePaused();
        if (!_live) revert NotLive();
    }

    /// @dev Reverts unless route `id` exists and is not retired.
    function _openRoute(bytes32 id) internal view {
        RouteConfig memory c = _routes[id].config;
        if (c.validatorSet == address(0)) revert UnknownRoute(id);
        if (c.retired) revert RouteIsRetired(id);
    }

    function _setValidators(bytes32 id, address[] calldata validators, uint256 threshold) internal {
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
    function _freeSigners(RouteConfig storage c) internal {
        if (c.validatorSet == address(0)) return;
        bytes memory set = SignerSet.read(c.validatorSet);
        for (uint256 i; i < c.validatorCount; ++i) {
            delete routeOfValidator[SignerSet.at(set, i)];
        }
    }

    /// @dev Why route `id` would not take a deposit of `token` now (`None`: it would, as far as
    /// the hub's own settings go; Operational's limits are asked when it is made).
    function _refusal(bytes32 id, address token) internal view returns (Refusal) {
        RouteConfig memory c = _routes[id].config;
        if (c.validatorSet == address(0)) return Refusal.UnknownRoute;
        if (c.retired) return Refusal.RouteRetired;
        if (c.paused) return Refusal.RoutePaused;
        if (remoteToken[id][token] == address(0)) return Refusal.TokenNotOpen;
        return Refusal.None;
    }

    /// @dev Transfers `amount` and checks that the recipient's balance grew by exactly that.
    function _pay(address token, address recipient, uint256 amount) internal {
        IERC20 erc20 = IERC20(token);
        uint256 before = erc20.balanceOf(recipient);
        erc20.safeTransfer(recipient, amount);
        uint256 received = erc20.balanceOf(recipient) - before;
        if (received != amount) revert BalanceMismatch(recipient, amount, received);
    }
}
