// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "../utils/ForgeStd.sol";

import {HubState} from "../../src/HubState.sol";
import {MainHub} from "../../src/MainHub.sol";
import {MainHubAdmin} from "../../src/MainHubAdmin.sol";
import {Transfer, TransferHash} from "../../src/Transfer.sol";

import {MockERC20} from "../mocks/MockERC20.sol";

/// @notice Drives the hub through random locks, honest and chained withdrawals, a stolen set
/// signing whatever it likes for its route, route pauses, forwards and refunds of parked
/// transfers, and tokens sent to the hub without a lock; keeps the books an auditor would.
contract HubHandler is Test {
    MainHub internal immutable hub;
    MockERC20 internal immutable token;
    address internal immutable governance;

    uint256[] internal chainIds;
    address[] internal bridges;
    bytes32[] public routes;
    uint256[][] internal keys;
    uint64[] internal nextNonce;
    address[] internal actors;
    address internal constant THIEF = address(0x7417EF);

    Transfer[] internal parkedList;
    Transfer[] internal queuedList;
    /// @notice Σ amounts parked and not yet forwarded or refunded.
    uint256 public parkedSum;
    /// @notice Tokens sent to the hub without a lock.
    uint256 public donated;
    /// @notice Per route: everything credited to its book and everything taken off it.
    mapping(bytes32 => uint256) public credited;
    mapping(bytes32 => uint256) public debited;
    /// @notice What the stolen set of route 0 obtained, and what route 0 was ever credited.
    uint256 public stolen;

    constructor(
        MainHub hub_,
        MockERC20 token_,
        uint256[] memory chainIds_,
        address[] memory bridges_,
        bytes32[] memory routes_,
        uint256[][] memory keys_,
        address[] memory actors_
    ) {
        hub = hub_;
        token = token_;
        governance = msg.sender;
        chainIds = chainIds_;
        bridges = bridges_;
        routes = routes_;
        keys = keys_;
        actors = actors_;
        nextNonce = new uint64[](routes_.length);
        for (uint256 i; i < actors_.length; ++i) {
            vm.prank(actors_[i]);
            token_.approve(address(hub_), type(uint256).max);
        }
    }

    function routeCount() external view returns (uint256) {
        return routes.length;
    }

    function lock(uint256 actorSeed, uint256 routeSeed, uint256 amount) external {
        address actor = actors[actorSeed % actors.length];
        bytes32 r = routes[routeSeed % routes.length];
        amount = bound(amount, 1, 1e24);
        token.mint(actor, amount);
        (uint256 before, uint256 fees) = (hub.custody(r, address(token)), token.balanceOf(_feeRecipient()));
        vm.prank(actor);
        try hub.lock(r, address(token), amount, actor) {
            credited[r] += hub.custody(r, address(token)) - before;
            assertEq(hub.custody(r, address(token)) - before + token.balanceOf(_feeRecipient()) - fees, amount);
        } catch {}
    }

    /// An honest withdrawal from route `src` to the hub, or chained to another route.
    function withdraw(uint256 srcSeed, uint256 dstSeed, uint256 amount, bool chained) external {
        uint256 s = srcSeed % routes.length;
        uint256 held = hub.custody(routes[s], address(token));
        if (held == 0) return;
        amount = bound(amount, 1, held);
        uint256 d = dstSeed % routes.length;
        Transfer memory t = chained && d != s
            ? _transfer(s, chainIds[d], bridges[d], actors[dstSeed % actors.length], amount)
            : _transfer(s, block.chainid, address(hub), actors[dstSeed % actors.length], amount);
        _submit(s, t);
    }

    /// Route 0's whole set is stolen: it signs anything for route 0 (any amount, any
    /// destination). Whatever gets through comes out of route 0's book.
    function steal(uint256 amount, uint256 dstSeed) external {
        amount = bound(amount, 1, 1e25);
        uint256 d = dstSeed % routes.length;
        Transfer memory t = d == 0
            ? _transfer(0, block.chainid, address(hub), THIEF, amount)
            : _transfer(0, chainIds[d], bridges[d], THIEF, amount);
        uint256 before = token.balanceOf(THIEF);
        _submit(0, t);
        stolen += token.balanceOf(THIEF) - before;
    }

    function pause(uint256 routeSeed, bool on) external {
        bytes32 r = routes[routeSeed % routes.length];
        vm.prank(governance);
        if (on) MainHubAdmin(address(hub)).pauseRoute(r);
        else MainHubAdmin(address(hub)).unpauseRoute(r);
    }

    function forward(uint256 i) external {
        if (parkedList.length == 0) return;
        i %= parkedList.length;
        Transfer memory t = parkedList[i];
        bytes32 dst = TransferHash.routeId(t.dstChainId, t.dstBridge);
        uint256 before = hub.custody(dst, address(token));
        try hub.forward(t) {
            credited[dst] += hub.custody(dst, address(token)) - before;
            parkedSum -= t.amount;
            _dropParked(i);
        } catch {}
    }

    /// A large withdrawal queued earlier, executed when it may (time passes in `warp`).
    function executeQueued(uint256 i) external {
        if (queuedList.length == 0) return;
        i %= queuedList.length;
        Transfer memory t = queuedList[i];
        bytes32 src = TransferHash.routeId(t.srcChainId, t.srcBridge);
        bytes32 dst = TransferHash.routeId(t.dstChainId, t.dstBridge);
        uint256 srcBefore = hub.custody(src, address(token));
        uint256 dstBefore = dst == src ? 0 : hub.custody(dst, address(token));
        uint256 before = token.balanceOf(THIEF);
        try hub.executeQueued(t) {
            _settled(src, dst, t, srcBefore, dstBefore);
            stolen += token.balanceOf(THIEF) - before;
            queuedList[i] = queuedList[queuedList.length - 1];
            queuedList.pop();
        } catch {}
    }

    function refund(uint256 i, bool here) external {
        if (parkedList.length == 0) return;
        i %= parkedList.length;
        Transfer memory t = parkedList[i];
        bytes32 src = TransferHash.routeId(t.srcChainId, t.srcBridge);
        vm.prank(t.sender, t.sender);
        try hub.refund(t, here) {
            if (here && t.sender == THIEF) stolen += t.amount;
            if (!here) credited[src] += t.amount;
            parkedSum -= t.amount;
            _dropParked(i);
        } catch {}
    }

    function donate(uint256 amount) external {
        amount = bound(amount, 1, 1e22);
        token.mint(address(hub), amount);
        donated += amount;
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 1, 2 days));
    }

    function _submit(uint256 s, Transfer memory t) internal {
        bytes32 src = routes[s];
        bytes32 dst = TransferHash.routeId(t.dstChainId, t.dstBridge);
        uint256 srcBefore = hub.custody(src, address(token));
        uint256 dstBefore = dst == src ? 0 : hub.custody(dst, address(token));
        bytes32 id = hub.hashTransfer(t);
        try hub.release(t, _sign(s, id)) {
            nextNonce[s]++;
            (uint256 eta,,,) = hub.queuedTransfer(id);
            if (eta != 0) {
                // large: nothing moves until it executes
                assertEq(hub.custody(src, address(token)), srcBefore);
                queuedList.push(t);
                return;
            }
            _settled(src, dst, t, srcBefore, dstBefore);
        } catch {}
    }

    /// Books a settled withdrawal: off its source's book, and paid, forwarded or parked.
    function _settled(bytes32 src, bytes32 dst, Transfer memory t, uint256 srcBefore, uint256 dstBefore) internal {
        debited[src] += t.amount;
        (HubState.ParkState state,,) = hub.parked(hub.hashTransfer(t));
        if (state == HubState.ParkState.Parked) {
            parkedSum += t.amount;
            parkedList.push(t);
        } else if (state == HubState.ParkState.Forwarded) {
            credited[dst] += hub.custody(dst, address(token)) - dstBefore;
        }
        assertEq(srcBefore - hub.custody(src, address(token)), t.amount);
    }

    function _transfer(uint256 s, uint256 dstChainId, address dstBridge, address recipient, uint256 amount)
        internal
        view
        returns (Transfer memory)
    {
        return Transfer({
            srcChainId: chainIds[s],
            srcBridge: bridges[s],
            dstChainId: dstChainId,
            dstBridge: dstBridge,
            nonce: nextNonce[s],
            token: address(token),
            sender: recipient,
            recipient: recipient,
            amount: amount
        });
    }

    function _sign(uint256 s, bytes32 id) internal view returns (bytes memory sigs) {
        for (uint256 i; i < 3; ++i) {
            (uint8 v, bytes32 r, bytes32 ss) = vm.sign(keys[s][i], id);
            sigs = bytes.concat(sigs, abi.encodePacked(r, ss, v));
        }
    }

    function _dropParked(uint256 i) internal {
        parkedList[i] = parkedList[parkedList.length - 1];
        parkedList.pop();
    }

    function _feeRecipient() internal view returns (address) {
        (bool ok, bytes memory out) = address(hub.operational()).staticcall(abi.encodeWithSignature("feeRecipient()"));
        require(ok);
        return abi.decode(out, (address));
    }
}
