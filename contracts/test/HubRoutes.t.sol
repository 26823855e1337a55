// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Vm} from "./utils/ForgeStd.sol";

import {HubState} from "../src/HubState.sol";
import {MainHub} from "../src/MainHub.sol";
import {MainHubAdmin} from "../src/MainHubAdmin.sol";
import {Operational} from "../src/Operational.sol";
import {Quorum} from "../src/Quorum.sol";
import {Transfer, TransferHash} from "../src/Transfer.sol";

import {HubTestBase} from "./HubBase.t.sol";

/// @notice The hub's routes as their users see them: governance adding and tuning routes,
/// holders locking to one side chain, withdrawals paid here, chained transfers forwarded with
/// their own fee, or parked and moved on by `forward` and `refund`.
contract HubRoutesTest is HubTestBase {
    uint256 internal constant A = 0;
    uint256 internal constant B = 1;
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant TRANSFER_TYPEHASH = keccak256(
        "Transfer(uint256 srcChainId,address srcBridge,uint256 dstChainId,address dstBridge,uint64 nonce,address token,address sender,address recipient,uint256 amount)"
    );

    /// The deposit id a side chain's validators vote for: the transfer under its bridge's domain.
    function _sideId(uint256 r, Transfer memory t) internal view returns (bytes32) {
        bytes32 domain =
            keccak256(abi.encode(DOMAIN_TYPEHASH, keccak256("Sidebridge"), keccak256("1"), chainIds[r], bridges[r]));
        return keccak256(abi.encodePacked(hex"1901", domain, keccak256(abi.encode(TRANSFER_TYPEHASH, t))));
    }

    function test_lockCreditsItsRouteAndNamesBothBridges() public {
        op.setFees(address(token), 100, 0, 0); // 1%
        vm.recordLogs();
        uint64 nonce = _lock(alice, A, 100 ether);
        assertEq(nonce, 0);
        assertEq(_custody(A), 99 ether);
        assertEq(_custody(B), 0);
        assertEq(token.balanceOf(feeRecipient), 1 ether);
        assertEq(hub.booked(address(token)), 99 ether);

        Transfer memory expected = Transfer({
            srcChainId: block.chainid,
            srcBridge: address(hub),
            dstChainId: chainIds[A],
            dstBridge: bridges[A],
            nonce: 0,
            token: address(token),
            sender: alice,
            recipient: alice,
            amount: 99 ether
        });
        Vm.Log[] memory logs = vm.getRecordedLogs();
        Vm.Log memory locked;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(hub) && logs[i].topics[0] == HubState.Locked.selector) locked = logs[i];
        }
        assertEq(locked.topics[1], routes[A]);
        (,,,, bytes32 transferId, bytes32 parent) =
            abi.decode(locked.data, (address, address, uint256, uint256, bytes32, bytes32));
        assertEq(transferId, _sideId(A, expected));
        assertEq(transferId, hub.depositId(routes[A], expected));
        assertEq(parent, bytes32(0));
        // each route numbers its own deposits
        assertEq(_lock(alice, B, 1 ether), 0);
        assertEq(_lock(alice, A, 1 ether), 1);
    }

    function test_lockRefusesClosedTokensAndBridgeRecipients() public {
        govern.setRouteToken(routes[A], address(token), address(0));
        vm.startPrank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(HubState.DestinationRefuses.selector, routes[A], HubState.Refusal.TokenNotOpen)
        );
        hub.lock(routes[A], address(token), 1 ether, alice);
        vm.expectRevert(abi.encodeWithSelector(HubState.BridgeRecipient.selector, bridges[B]));
        hub.lock(routes[B], address(token), 1 ether, bridges[B]);
        vm.expectRevert(
            abi.encodeWithSelector(
                HubState.DestinationRefuses.selector, bytes32(uint256(1)), HubState.Refusal.UnknownRoute
            )
        );
        hub.lock(bytes32(uint256(1)), address(token), 1 ether, alice);
        vm.stopPrank();
    }

    function test_releasePaysHereFromItsRoute() public {
        _lock(alice, A, 100 ether);
        Transfer memory t = _home(A, 0, bob, 40 ether);
        uint256 before = token.balanceOf(bob);
        vm.expectEmit(address(hub));
        emit HubState.Released(routes[A], 0, hub.hashTransfer(t), bob, address(token), 40 ether);
        _release(A, t);
        assertEq(token.balanceOf(bob) - before, 40 ether);
        assertEq(_custody(A), 60 ether);
        assertTrue(hub.isProcessed(routes[A], 0));
        assertFalse(hub.isProcessed(routes[B], 0));
    }

    /// A → B in the release's transaction: off A's book (`Released` for A), B's fee taken, onto
    /// B's book, and the deposit to B names the withdrawal it continues.
    function test_chainedTransferIsForwardedWithItsHopFee() public {
        _lock(alice, A, 100 ether);
        op.setFees(address(token), 0, 1 ether, 0);
        Transfer memory t = _chained(A, B, 0, bob, 30 ether);
        bytes32 parent = hub.hashTransfer(t);
        Transfer memory deposit = Transfer({
            srcChainId: block.chainid,
            srcBridge: address(hub),
            dstChainId: chainIds[B],
            dstBridge: bridges[B],
            nonce: 0,
            token: address(token),
            sender: bob,
            recipient: bob,
            amount: 29 ether
        });
        uint256 balance = token.balanceOf(address(hub));
        // A's relayers see their withdrawal settled, B's see a deposit naming it
        vm.expectEmit(address(hub));
        emit HubState.Released(routes[A], 0, parent, bob, address(token), 30 ether);
        vm.expectEmit(address(hub));
        emit HubState.Locked(routes[B], 0, address(token), bob, bob, 29 ether, 1 ether, _sideId(B, deposit), parent);
        _release(A, t);
        assertEq(_custody(A), 70 ether);
        assertEq(_custody(B), 29 ether);
        assertEq(token.balanceOf(address(hub)), balance - 1 ether);
        assertEq(token.balanceOf(feeRecipient), 1 ether);
        (HubState.ParkState state,, bytes32 src) = hub.parked(parent);
        assertEq(uint256(state), uint256(HubState.ParkState.Forwarded));
        assertEq(src, routes[A]);
    }

    /// B refuses (Operational's maximum): parked, then refunded to the sender on A.
    function test_refusedChainedTransferParksAndRefundsToItsSource() public {
        _lock(alice, A, 100 ether);
        op.setLimits(address(token), 0, 10 ether, 0, 0);
        Transfer memory t = _chained(A, B, 0, alice, 30 ether);
        bytes32 id = hub.hashTransfer(t);
        vm.expectEmit(address(hub));
        emit HubState.TransferParked(id, routes[B], HubState.Refusal.OutboundRefused);
        _release(A, t);
        assertEq(_custody(A), 70 ether);
        assertEq(_custody(B), 0);
        assertEq(hub.booked(address(token)), 100 ether);
        vm.expectRevert(abi.encodeWithSelector(Operational.AboveMaximum.selector, 30 ether, 10 ether));
        hub.forward(t);

        vm.prank(alice);
        hub.refund(t, false);
        assertEq(_custody(A), 100 ether);
        (,,,,,,, uint64 nonce) = govern.route(routes[A]);
        assertEq(nonce, 2); // the lock and the refund
    }

    function test_chainedTransferToAnUnknownSideChainIsParked() public {
        _lock(alice, A, 100 ether);
        Transfer memory t = _to(A, 0xDEAD, makeAddr("nowhere"), 0, alice, 10 ether);
        vm.expectEmit(address(hub));
        emit HubState.TransferParked(
            hub.hashTransfer(t), TransferHash.routeId(0xDEAD, makeAddr("nowhere")), HubState.Refusal.UnknownRoute
        );
        _release(A, t);
        uint256 before = token.balanceOf(alice);
        vm.prank(alice, alice);
        hub.refund(t, true);
        assertEq(token.balanceOf(alice) - before, 10 ether);
        assertEq(hub.booked(address(token)), 90 ether);
        assertEq(token.balanceOf(address(hub)), 90 ether);
    }

    function test_largeWithdrawalWaitsOnItsRoutesQueue() public {
        _lock(alice, A, 100 ether);
        govern.setInboundLimits(routes[A], address(token), 100 ether, 1 days, 10 ether, 1 hours);
        Transfer memory t = _home(A, 0, bob, 50 ether);
        _release(A, t);
        bytes32 id = hub.hashTransfer(t);
        assertEq(_custody(A), 100 ether);
        vm.prank(guardian);
        hub.holdTransfer(id);
        vm.warp(block.timestamp + 1 hours);
        vm.expectRevert();
        hub.executeQueued(t);
        hub.liftHold(id);
        uint256 before = token.balanceOf(bob);
        hub.executeQueued(t);
        assertEq(token.balanceOf(bob) - before, 50 ether);
        assertEq(_custody(A), 50 ether);
    }

    function test_queuedForgeryCanceledTakesNothing() public {
        _lock(alice, A, 100 ether);
        govern.setInboundLimits(routes[A], address(token), 100 ether, 1 days, 10 ether, 1 hours);
        Transfer memory t = _home(A, 0, makeAddr("thief"), 90 ether);
        _release(A, t);
        hub.cancelTransfer(hub.hashTransfer(t));
        vm.warp(block.timestamp + 1 hours);
        vm.expectRevert();
        hub.executeQueued(t);
        assertEq(_custody(A), 100 ether);
    }

    function test_addRouteRefusesThisChainDuplicatesAndBadSets() public {
        vm.expectRevert(abi.encodeWithSelector(HubState.InvalidRoute.selector, block.chainid, address(1)));
        govern.addRoute(block.chainid, address(1), signers[A], THRESHOLD);
        vm.expectRevert(abi.encodeWithSelector(HubState.RouteExists.selector, routes[A]));
        govern.addRoute(chainIds[A], bridges[A], signers[A], THRESHOLD);
        vm.expectRevert(abi.encodeWithSelector(HubState.ValidatorOnOtherRoute.selector, signers[A][0], routes[A]));
        govern.addRoute(0xD1, address(1), signers[A], THRESHOLD);
        (, address[] memory fresh) = _makeKeys(N_VALIDATORS, 0x7000);
        vm.expectRevert(abi.encodeWithSelector(Quorum.InvalidThreshold.selector, 2, 4));
        govern.addRoute(0xD1, address(1), fresh, 2);
        vm.prank(alice);
        vm.expectRevert();
        govern.addRoute(0xD1, address(1), signers[A], THRESHOLD);
        (uint256 chainId, address bridge, address[] memory set, uint256 k, uint256 version, bool p, bool r,) =
            govern.route(routes[B]);
        assertEq(chainId, chainIds[B]);
        assertEq(bridge, bridges[B]);
        assertEq(set, signers[B]);
        assertEq(k, THRESHOLD);
        assertEq(version, 1);
        assertFalse(p);
        assertFalse(r);
        assertEq(hub.routeIds().length, ROUTES);
    }

    /// Before setup is finished nothing moves; the global pause stops every route.
    function test_setupPhaseAndGlobalPause() public {
        Operational freshOp = new Operational(address(this), address(this), feeRecipient);
        MainHub fresh = new MainHub(address(this), address(this), freshOp);
        assertFalse(fresh.live());
        vm.expectRevert(HubState.NotLive.selector);
        fresh.lock(routes[A], address(token), 1, alice);
        // its Operational must serve it before it goes live
        vm.expectRevert(HubState.OperationalNotBound.selector);
        fresh.finishSetup();
        freshOp.setBridge(address(fresh));
        fresh.finishSetup();
        assertTrue(fresh.live());

        vm.prank(guardian);
        op.pause();
        assertTrue(hub.paused());
        vm.prank(alice);
        vm.expectRevert(HubState.BridgePaused.selector);
        hub.lock(routes[B], address(token), 1 ether, alice);
    }
}
