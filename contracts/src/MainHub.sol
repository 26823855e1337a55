// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {BatchRelease} from "./BatchRelease.sol";
import {HubState} from "./HubState.sol";
import {Inbound} from "./Inbound.sol";
import {IOperational} from "./IOperational.sol";
import {MainHubAdmin} from "./MainHubAdmin.sol";
import {Quorum} from "./Quorum.sol";
import {Transfer, TransferHash} from "./Transfer.sol";

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
/// transfer: in the transaction that releases it from A's book, it becomes a deposit to B (the
/// hop's fee and per-transfer bounds apply; no token leaves the hub). When B refuses it (unknown,
/// paused or retired, the token not open toward B, a refused hop) it is *parked*, its amount off A's
/// book and on no route's, until `forward` (anyone, once B takes it) or `refund` (its sender at
/// any time, anyone after `REFUND_DELAY`: back to A, or to the sender on this chain) moves it.
///
/// The custody invariant, per token: `balanceOf(hub) = Σ custody + Σ parked + surplus`, where
/// `booked[token]` is the first two and surplus is what was sent to the hub without a lock
/// (owed to nobody; governance sweeps it). Fees leave the hub when charged.
///
/// Operational (fees, outbound limits, guardians, the global pause) serves the hub as it serves
/// a bridge; its registry lists a token for the hub by mapping it to itself, and the token's
/// counterpart on each side chain is the hub's per-route `remoteToken`. Routes, keys, limits
/// and books per route are described in docs/routes.md.
///
/// Route administration (adding, tuning, pausing and retiring routes, the sweeps and the
/// route view) lives in `MainHubAdmin`, which the hub runs by `delegatecall` for any call it
/// does not answer itself, so the release path keeps the hub's code within EIP-170. The hub
/// creates its admin in its own constructor: whoever deploys the hub cannot hand it other
/// code to run in its storage.
contract MainHub is HubState, BatchRelease {
    using SafeERC20 for IERC20;

    /// @notice The route administration the hub delegates to (immutable).
    address public immutable admin;

    constructor(address governance_, address setupKey_, IOperational operational_)
        HubState(governance_, setupKey_, operational_)
    {
        admin = address(new MainHubAdmin(governance_, operational_));
        // without a setup key there is no setup phase
        _live = setupKey_ == address(0);
    }

    /// @dev Every other call is route administration, run in the hub's storage.
    fallback() external {
        address target = admin;
        // not memory-safe: the call's data is copied from offset 0, and the frame ends here
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), target, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }

    // ---------------------------------------------------------------- views

    /// @notice Every route ever added, in order (retired ones included).
    function routeIds() external view returns (bytes32[] memory) {
        return _routeIds;
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

    // ---------------------------------------------------------------- operational

    /// @notice Pauses or unpauses every route. Only the Operational contract calls this: any
    /// guardian pauses there at once, only governance unpauses.
    function setPaused(bool paused_) external {
        if (msg.sender != address(operational)) revert NotOperational();
        _paused = paused_;
        emit PauseChanged(paused_);
    }

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

    /// @notice Settles a withdrawal signed by at least the threshold of its source route's
    /// current validators, from that route's book: paid out here, or (chained) forwarded to
    /// the destination route or parked. Within the token's inbound limits of the source route
    /// it settles at once; above the large size it is queued (`executeQueued`); over the cap
    /// it reverts (`RateLimited`) and can be sent again later.
    /// @param signatures Concatenated 65-byte `r‖s‖v` signatures over the transfer's id
    /// (`hashTransfer`), ordered by strictly ascending signer address.
    function release(Transfer calldata t, bytes calldata signatures) external nonReentrant whenActive {
        _release(t, signatures);
    }

    /// @notice Where each withdrawal from `routeId_` stands here (id and nonce): whether its
    /// nonce was processed and its queue entry. One call answers for a whole batch.
    function releaseStatus(bytes32 routeId_, bytes32[] calldata ids, uint64[] calldata nonces)
        external
        view
        returns (ReleaseStatus[] memory out)
    {
        return _releaseStatus(_processed[routeId_], ids, nonces);
    }

    function _queueEntry(bytes32 id)
        internal
        view
        override
        returns (uint256 eta, bool held, bool canceled, bool executed)
    {
        return queuedTransfer(id);
    }

    function _releaseEntry(Transfer calldata t, bytes calldata signatures) internal override {
        _requireActive();
        _release(t, signatures);
    }

    function _releaseSkipped(Transfer calldata t, bytes memory reason) internal override {
        emit ReleaseSkipped(
            TransferHash.routeId(t.srcChainId, t.srcBridge), t.nonce, _hashTypedDataV4(TransferHash.hash(t)), reason
        );
    }

    function _release(Transfer calldata t, bytes calldata signatures) private {
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
            emit RouteTransferQueued(src, t.nonce, id, _enqueue(id, limit.delay));
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

    function _beforeFinishSetup() internal override {
        if (operational.bridge() != address(this)) revert OperationalNotBound();
        _live = true;
    }

    /// @dev `_refusal` of route `dst` for `t`, and a recipient that is `dst`'s bridge or the hub.
    function _destinationRefusal(bytes32 dst, Transfer calldata t) private view returns (Refusal why) {
        why = _refusal(dst, t.token);
        if (why == Refusal.None && (t.recipient == _routes[dst].bridge || t.recipient == address(this))) {
            why = Refusal.BridgeRecipient;
        }
    }

    /// @dev Takes a withdrawal's amount off its source route's book and pays it here, or hands
    /// it to its destination route (forwarded now, or parked).
    function _settle(Transfer calldata t, bytes32 src, bytes32 id) private {
        uint256 held = custody[src][t.token];
        if (held < t.amount) revert CustodyShort(src, t.token, t.amount, held);
        custody[src][t.token] = held - t.amount;
        // the source route's relayers see every settlement of theirs here, chained ones too
        emit Released(src, t.nonce, id, t.recipient, t.token, t.amount);

        if (t.dstChainId == block.chainid && t.dstBridge == address(this)) {
            booked[t.token] -= t.amount;
            _pay(t.token, t.recipient, t.amount);
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
}
