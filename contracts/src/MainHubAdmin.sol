// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {HubState} from "./HubState.sol";
import {Inbound} from "./Inbound.sol";
import {IOperational} from "./IOperational.sol";
import {SignerSet} from "./SignerSet.sol";
import {Transfer, TransferHash} from "./Transfer.sol";

/// @title MainHubAdmin
/// @notice The hub's route administration, run only by `delegatecall` from its `MainHub` (in
/// the hub's storage, with the hub's address): governance adds, tunes and retires routes and
/// sweeps retired books; guardians pause routes. Called directly, it touches only its own empty
/// storage. Its hub creates it, with the hub's governance and Operational, so its code is
/// always the project's.
contract MainHubAdmin is HubState {
    using SafeERC20 for IERC20;

    constructor(address governance_, IOperational operational_) HubState(governance_, address(0), operational_) {}

    // ---------------------------------------------------------------- views

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

    /// @notice Tokens the hub holds beyond what it owes (sent to it without a lock).
    function surplus(address token) public view returns (uint256) {
        uint256 balance = IERC20(token).balanceOf(address(this));
        uint256 owed = booked[token];
        return balance > owed ? balance - owed : 0;
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
        // retired blocks every new move; a pause left in place would also block what must
        // still go (queued before, parked from it), and nobody could lift it any more
        c.paused = false;
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

    /// @notice Sends tokens the hub holds beyond what it owes (`surplus`) to `to`.
    function sweepSurplus(address token, address to) external onlyGovernance nonReentrant {
        if (to == address(0)) revert ZeroRecipient();
        uint256 amount = surplus(token);
        IERC20(token).safeTransfer(to, amount);
        emit SurplusSwept(token, to, amount);
    }
}
