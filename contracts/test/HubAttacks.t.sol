// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {HubState} from "../src/HubState.sol";
import {MainHub} from "../src/MainHub.sol";
import {MainHubAdmin} from "../src/MainHubAdmin.sol";
import {Quorum} from "../src/Quorum.sol";
import {Transfer} from "../src/Transfer.sol";

import {HubTestBase} from "./HubBase.t.sol";

/// @notice The hub attacked by one route's stolen validator set, by signatures presented on the
/// wrong route or bridge, and by someone trying to settle a chained transfer twice. Each test
/// gives the attacker its best move and asserts what the other routes keep.
contract HubAttacksTest is HubTestBase {
    uint256 internal constant A = 0;
    uint256 internal constant B = 1;
    uint256 internal constant C = 2;
    address internal thief = makeAddr("thief");

    function setUp() public override {
        super.setUp();
        _lock(alice, A, 100 ether);
        _lock(bob, B, 1_000 ether);
        _lock(bob, C, 10 ether);
    }

    /// S's whole set is stolen: it signs releases to itself. It drains S's book to the last wei
    /// and not one wei more; T's book and T's holders are untouched.
    function test_stolenSetTakesAtMostItsOwnRouteCustody() public {
        Transfer memory over = _home(A, 0, thief, 100 ether + 1);
        bytes memory sigs = _sigs(A, over);
        vm.expectRevert(
            abi.encodeWithSelector(HubState.CustodyShort.selector, routes[A], address(token), 100 ether + 1, 100 ether)
        );
        hub.release(over, sigs);

        _release(A, _home(A, 0, thief, 60 ether));
        _release(A, _home(A, 1, thief, 40 ether));
        assertEq(token.balanceOf(thief), 100 ether);
        assertEq(_custody(A), 0);

        Transfer memory more = _home(A, 2, thief, 1);
        sigs = _sigs(A, more);
        vm.expectRevert(abi.encodeWithSelector(HubState.CustodyShort.selector, routes[A], address(token), 1, 0));
        hub.release(more, sigs);

        // B's holders still get all of theirs
        assertEq(_custody(B), 1_000 ether);
        uint256 before = token.balanceOf(bob);
        _release(B, _home(B, 0, bob, 1_000 ether));
        assertEq(token.balanceOf(bob) - before, 1_000 ether);
        assertEq(_custody(C), 10 ether);
    }

    /// The stolen set of A signs a withdrawal that claims to come from B: B's set is selected
    /// by the route named in the message, and A's keys are not in it.
    function test_stolenSetCannotSignForAnotherRoute() public {
        Transfer memory t = _home(B, 0, thief, 1 ether);
        bytes memory sigs = _sigsBy(keys[A], t);
        vm.expectRevert(abi.encodeWithSelector(Quorum.NotValidator.selector, signers[A][0]));
        hub.release(t, sigs);
        assertEq(_custody(B), 1_000 ether);
        assertFalse(hub.isProcessed(routes[B], 0));
    }

    /// A's stolen set routes a chained transfer to B: it is taken from A's book and credited to
    /// B's, so what B's holders are owed stays fully backed. The loss is A's alone.
    function test_stolenSetChainingToAnotherRouteStaysOnItsOwnBook() public {
        _release(A, _chained(A, B, 0, thief, 100 ether));
        assertEq(_custody(A), 0);
        assertEq(_custody(B), 1_100 ether);
        // B's original holders still withdraw everything
        _release(B, _home(B, 0, bob, 1_000 ether));
        assertEq(_custody(B), 100 ether);
    }

    /// The same validators serve an old and a new bridge on one side chain (a redeploy). What
    /// they signed for the old bridge's withdrawal is no signature for the new one's, and the
    /// two keep separate nonces.
    function test_withdrawalSignedForOneBridgeIsNotAnotherBridges() public {
        address newBridge = makeAddr("redeployedBridgeA");
        (, address[] memory newSigners) = _makeKeys(N_VALIDATORS, 0x7000);
        bytes32 newRoute = govern.addRoute(chainIds[A], newBridge, newSigners, THRESHOLD);
        govern.setRouteToken(newRoute, address(token), makeAddr("wrappedA2"));
        govern.setInboundLimits(newRoute, address(token), OPEN_CAP, 1 days, OPEN_CAP, 1 days);
        vm.prank(bob);
        hub.lock(newRoute, address(token), 50 ether, bob);

        Transfer memory old = _home(A, 0, alice, 50 ether);
        bytes memory sigs = _sigs(A, old);
        Transfer memory replayed = _home(A, 0, alice, 50 ether);
        replayed.srcBridge = newBridge;
        // the signatures recover to other addresses under the new bridge's content
        vm.expectRevert();
        hub.release(replayed, sigs);
        assertFalse(hub.isProcessed(newRoute, 0));
        assertEq(hub.custody(newRoute, address(token)), 50 ether);

        // the genuine one, on its own route, goes through; the new route's nonce 0 is still free
        hub.release(old, sigs);
        assertTrue(hub.isProcessed(routes[A], 0));
        assertFalse(hub.isProcessed(newRoute, 0));
        assertEq(hub.custody(newRoute, address(token)), 50 ether);
        assertEq(_custody(A), 50 ether);
    }

    /// A withdrawal to another main-chain contract (an old hub) is not paid here as if it were
    /// ours: it names no route, so it is parked and can only go back to its sender.
    function test_withdrawalForAnotherMainBridgeIsNotPaidHere() public {
        Transfer memory t = _to(A, block.chainid, makeAddr("oldHub"), 0, alice, 10 ether);
        uint256 before = token.balanceOf(alice);
        _release(A, t);
        assertEq(token.balanceOf(alice), before);
        (HubState.ParkState state,,) = hub.parked(hub.hashTransfer(t));
        assertEq(uint256(state), uint256(HubState.ParkState.Parked));
        vm.prank(alice, alice);
        hub.refund(t, true);
        assertEq(token.balanceOf(alice) - before, 10 ether);
    }

    /// A chained transfer is forwarded once: released again, forwarded again or refunded after
    /// its forward, it moves nothing more.
    function test_chainedTransferSettlesOnce() public {
        Transfer memory t = _chained(A, B, 0, alice, 30 ether);
        bytes memory sigs = _sigs(A, t);
        hub.release(t, sigs);
        assertEq(_custody(A), 70 ether);
        assertEq(_custody(B), 1_030 ether);

        vm.expectRevert(abi.encodeWithSelector(HubState.AlreadyProcessed.selector, routes[A], uint64(0)));
        hub.release(t, sigs);
        bytes32 id = hub.hashTransfer(t);
        vm.expectRevert(abi.encodeWithSelector(HubState.NotParked.selector, id));
        hub.forward(t);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(HubState.NotParked.selector, id));
        hub.refund(t, true);
        assertEq(_custody(A), 70 ether);
        assertEq(_custody(B), 1_030 ether);
    }

    /// Parked, then forwarded by anyone once B takes it: a refund (or a second forward) after
    /// that is refused, and the refund before it makes the forward impossible.
    function test_parkedTransferIsEitherForwardedOrRefundedNeverBoth() public {
        vm.prank(guardian);
        govern.pauseRoute(routes[B]);
        Transfer memory t1 = _chained(A, B, 0, alice, 20 ether);
        Transfer memory t2 = _chained(A, B, 1, alice, 5 ether);
        _release(A, t1);
        _release(A, t2);
        assertEq(_custody(A), 75 ether);
        assertEq(_custody(B), 1_000 ether);
        vm.expectRevert(
            abi.encodeWithSelector(HubState.DestinationRefuses.selector, routes[B], HubState.Refusal.RoutePaused)
        );
        hub.forward(t1);

        govern.unpauseRoute(routes[B]);
        vm.prank(thief);
        hub.forward(t1);
        assertEq(_custody(B), 1_020 ether);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(HubState.NotParked.selector, hub.hashTransfer(t1)));
        hub.refund(t1, false);

        vm.prank(alice);
        hub.refund(t2, false);
        assertEq(_custody(A), 80 ether);
        vm.expectRevert(abi.encodeWithSelector(HubState.NotParked.selector, hub.hashTransfer(t2)));
        hub.forward(t2);
        assertEq(_custody(B), 1_020 ether);
    }

    /// A stranger may not take a parked transfer on this chain (the sender's address here may
    /// not be the sender's), and may send it back to its source only after the refund delay.
    function test_strangerCannotRefundHereOrEarly() public {
        Transfer memory t = _parkedAtoB(0, 20 ether);
        bytes32 id = hub.hashTransfer(t);

        vm.prank(thief);
        vm.expectRevert(abi.encodeWithSelector(HubState.OnlySender.selector, alice));
        hub.refund(t, true);
        uint256 from = block.timestamp + hub.REFUND_DELAY();
        vm.prank(thief);
        vm.expectRevert(abi.encodeWithSelector(HubState.RefundNotYet.selector, id, from));
        hub.refund(t, false);

        vm.warp(from);
        uint64 nonce = _nextNonce(A);
        vm.prank(thief);
        hub.refund(t, false);
        assertEq(_nextNonce(A), nonce + 1);
        assertEq(_custody(A), 100 ether);
        assertEq(token.balanceOf(thief), 0);
    }

    /// One route's pause, limits and queue are its own: A paused, over its cap and queueing
    /// does not slow B.
    function test_pauseLimitsAndQueueOfOneRouteLeaveOthersAlone() public {
        govern.setInboundLimits(routes[A], address(token), 10 ether, 1 days, 5 ether, 1 hours);
        _release(A, _home(A, 0, alice, 5 ether));
        Transfer memory large = _home(A, 1, alice, 6 ether);
        _release(A, large);
        (uint256 eta,,,) = hub.queuedTransfer(hub.hashTransfer(large));
        assertGt(eta, 0);
        _release(A, _home(A, 2, alice, 4 ether));
        Transfer memory over = _home(A, 3, alice, 2 ether);
        bytes memory sigs = _sigs(A, over);
        vm.expectRevert(abi.encodeWithSelector(HubState.RateLimited.selector, 2 ether, 1 ether));
        hub.release(over, sigs);

        vm.prank(guardian);
        govern.pauseRoute(routes[A]);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(HubState.DestinationRefuses.selector, routes[A], HubState.Refusal.RoutePaused)
        );
        hub.lock(routes[A], address(token), 1 ether, alice);

        // B: full speed
        _release(B, _home(B, 0, bob, 900 ether));
        _lock(bob, B, 1 ether);
        assertEq(hub.inboundAvailable(routes[B], address(token)), OPEN_CAP - 900 ether);
    }

    /// A guardian cannot unpause; only governance does.
    function test_onlyGovernanceUnpausesARoute() public {
        vm.prank(guardian);
        govern.pauseRoute(routes[A]);
        vm.prank(guardian);
        vm.expectRevert();
        govern.unpauseRoute(routes[A]);
        vm.prank(thief);
        vm.expectRevert();
        govern.pauseRoute(routes[B]);
    }

    /// Surplus (a direct transfer) goes to governance only, and sweeping it takes no custody.
    function test_surplusGoesToGovernanceAndIsNeverCustody() public {
        token.mint(address(this), 7 ether);
        token.transfer(address(hub), 7 ether);
        assertEq(govern.surplus(address(token)), 7 ether);
        vm.prank(thief);
        vm.expectRevert();
        govern.sweepSurplus(address(token), thief);
        govern.sweepSurplus(address(token), feeRecipient);
        assertEq(token.balanceOf(feeRecipient), 7 ether);
        assertEq(token.balanceOf(address(hub)), hub.booked(address(token)));
        assertEq(govern.surplus(address(token)), 0);
    }

    /// The route administration is code the hub created and runs in its own storage. Called
    /// directly, it changes nothing of the hub's; a call neither knows reverts.
    function test_routeAdministrationActsOnlyThroughItsHub() public {
        MainHubAdmin logic = MainHubAdmin(hub.admin());
        (, address[] memory fresh) = _makeKeys(N_VALIDATORS, 0x7000);
        bytes32 id = logic.addRoute(0xD1, makeAddr("sideBridgeD"), fresh, THRESHOLD);
        assertEq(hub.routeIds().length, ROUTES);
        vm.expectRevert(abi.encodeWithSelector(HubState.UnknownRoute.selector, id));
        govern.route(id);
        vm.prank(thief);
        vm.expectRevert();
        logic.retireRoute(routes[A]);
        (,,,,, bool paused_, bool retired,) = govern.route(routes[A]);
        assertFalse(paused_ || retired);

        assertEq(logic.governance(), hub.governance());
        assertEq(address(logic.operational()), address(op));

        (bool ok,) = address(hub).call(abi.encodeWithSignature("noSuchFunction()"));
        assertFalse(ok);
    }

    /// Tokens sent to the hub without a lock back no route: a stolen set cannot reach them.
    function test_strayTokensBackNoRoute() public {
        token.mint(address(this), 7 ether);
        token.transfer(address(hub), 7 ether);
        Transfer memory t = _home(A, 0, thief, 107 ether);
        bytes memory sigs = _sigs(A, t);
        vm.expectRevert(
            abi.encodeWithSelector(HubState.CustodyShort.selector, routes[A], address(token), 107 ether, 100 ether)
        );
        hub.release(t, sigs);
        assertEq(hub.booked(address(token)), _custody(A) + _custody(B) + _custody(C));
        assertEq(token.balanceOf(address(hub)), hub.booked(address(token)) + 7 ether);
    }

    /// A retired route moves nothing; its book leaves only by governance's sweep.
    function test_retiredRouteMovesNothing() public {
        govern.retireRoute(routes[A]);
        Transfer memory t = _home(A, 0, thief, 1 ether);
        bytes memory sigs = _sigs(A, t);
        vm.expectRevert(abi.encodeWithSelector(HubState.RouteIsRetired.selector, routes[A]));
        hub.release(t, sigs);
        vm.expectRevert(abi.encodeWithSelector(HubState.RouteIsRetired.selector, routes[A]));
        govern.setRouteValidators(routes[A], signers[B], THRESHOLD);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(HubState.DestinationRefuses.selector, routes[A], HubState.Refusal.RouteRetired)
        );
        hub.lock(routes[A], address(token), 1 ether, alice);
        // chained to the retired route: parked
        Transfer memory toA = _chained(B, A, 0, bob, 1 ether);
        _release(B, toA);
        (HubState.ParkState state,,) = hub.parked(hub.hashTransfer(toA));
        assertEq(uint256(state), uint256(HubState.ParkState.Parked));

        govern.sweepRetired(routes[A], address(token), feeRecipient);
        assertEq(token.balanceOf(feeRecipient), 100 ether);
        assertEq(_custody(A), 0);
        vm.expectRevert(abi.encodeWithSelector(HubState.RouteNotRetired.selector, routes[B]));
        govern.sweepRetired(routes[B], address(token), feeRecipient);
    }

    /// A set replaced by governance stops counting at once.
    function test_replacedSetStopsCounting() public {
        (uint256[] memory fresh, address[] memory freshAddrs) = _makeKeys(N_VALIDATORS, 0x9000);
        govern.setRouteValidators(routes[A], freshAddrs, THRESHOLD);
        Transfer memory t = _home(A, 0, thief, 1 ether);
        bytes memory stale = _sigs(A, t);
        vm.expectRevert(abi.encodeWithSelector(Quorum.NotValidator.selector, signers[A][0]));
        hub.release(t, stale);
        hub.release(t, _sigsBy(fresh, t));
        assertEq(token.balanceOf(thief), 1 ether);
    }

    /// The caller of a chained release picks its gas limit to starve Operational's check, hoping
    /// the hub parks a transfer B would take. Whatever the limit, it reverts or forwards.
    function test_gasStarvedChainedReleaseNeverParks() public {
        Transfer memory t = _chained(A, B, 0, alice, 10 ether);
        bytes memory sigs = _sigs(A, t);
        bytes32 id = hub.hashTransfer(t);
        uint256 forwarded;
        for (uint256 gas_ = 60_000; gas_ < 260_000; gas_ += 1_000) {
            uint256 snapshot = vm.snapshotState();
            try hub.release{gas: gas_}(t, sigs) {
                (HubState.ParkState state,,) = hub.parked(id);
                assertEq(uint256(state), uint256(HubState.ParkState.Forwarded), "parked by a gas limit");
                ++forwarded;
            } catch {}
            vm.revertToState(snapshot);
        }
        assertGt(forwarded, 0);
    }

    /// A stolen set chaining its forgeries to B does not use the outbound window that every
    /// route's locks share: holders still lock to C.
    function test_forwardsLeaveTheSharedOutboundWindowToLocks() public {
        op.setLimits(address(token), 0, 0, 50 ether, 1 days);
        _release(A, _chained(A, B, 0, thief, 100 ether));
        assertEq(_custody(B), 1_100 ether);
        assertEq(op.availableCapacity(address(token)), 50 ether);
        _lock(bob, C, 50 ether);
        assertEq(_custody(C), 60 ether);
    }

    /// One address signs for one route only: a set that reuses another route's validator is
    /// refused, so stealing one route's keys is never stealing another's.
    function test_oneValidatorServesOneRoute() public {
        address[] memory mixed = new address[](N_VALIDATORS);
        for (uint256 i; i < N_VALIDATORS; ++i) {
            mixed[i] = signers[B][i];
        }
        mixed[0] = signers[A][0];
        (mixed[0], mixed[1], mixed[2], mixed[3]) = _ascending(mixed);
        vm.expectRevert(abi.encodeWithSelector(HubState.ValidatorOnOtherRoute.selector, signers[A][0], routes[A]));
        govern.setRouteValidators(routes[B], mixed, THRESHOLD);
        vm.expectRevert(abi.encodeWithSelector(HubState.ValidatorOnOtherRoute.selector, signers[A][0], routes[A]));
        govern.addRoute(0xD1, makeAddr("sideBridgeD"), mixed, THRESHOLD);

        // once A's set no longer holds it, B may take it
        (, address[] memory fresh) = _makeKeys(N_VALIDATORS, 0x9000);
        govern.setRouteValidators(routes[A], fresh, THRESHOLD);
        govern.setRouteValidators(routes[B], mixed, THRESHOLD);
        assertEq(hub.routeOfValidator(signers[A][0]), routes[B]);
        assertEq(hub.routeOfValidator(fresh[0]), routes[A]);

        // a retired route's keys are free again (a redeployed bridge on the same side chain)
        govern.retireRoute(routes[A]);
        assertEq(hub.routeOfValidator(fresh[0]), bytes32(0));
        bytes32 redeployed = govern.addRoute(chainIds[A], makeAddr("redeployedA"), fresh, THRESHOLD);
        assertEq(hub.routeOfValidator(fresh[0]), redeployed);
    }

    /// A transfer parked from a route that was then retired cannot go back there; after the
    /// refund delay governance pays it out, once.
    function test_parkedFromARetiredRouteIsResolvedByGovernance() public {
        Transfer memory t = _parkedAtoB(0, 20 ether);
        govern.retireRoute(routes[A]);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(HubState.DestinationRefuses.selector, routes[A], HubState.Refusal.RouteRetired)
        );
        hub.refund(t, false);
        bytes32 id = hub.hashTransfer(t);
        uint256 from = block.timestamp + hub.REFUND_DELAY();
        vm.expectRevert(abi.encodeWithSelector(HubState.RefundNotYet.selector, id, from));
        govern.resolveParked(t, alice);
        vm.warp(from);
        vm.prank(thief);
        vm.expectRevert();
        govern.resolveParked(t, thief);
        govern.resolveParked(t, alice);
        assertEq(token.balanceOf(alice), 1e30 - 100 ether + 20 ether);
        vm.expectRevert(abi.encodeWithSelector(HubState.NotParked.selector, id));
        govern.resolveParked(t, alice);
    }

    /// A transfer parked from a route that is not retired is its sender's to move, not
    /// governance's.
    function test_governanceCannotTakeAParkedTransferOfALiveRoute() public {
        Transfer memory t = _parkedAtoB(0, 20 ether);
        vm.warp(block.timestamp + hub.REFUND_DELAY());
        vm.expectRevert(abi.encodeWithSelector(HubState.SourceNotRetired.selector, routes[A]));
        govern.resolveParked(t, feeRecipient);
    }

    /// The usual incident: a guardian pauses the route, then governance retires it. What was
    /// queued from it still executes, and what was parked from it can still be resolved.
    function test_pausedThenRetiredRouteStillLetsItsParkedAndQueuedGo() public {
        govern.setInboundLimits(routes[A], address(token), 100 ether, 1 days, 10 ether, 1 hours);
        Transfer memory queued = _home(A, 0, bob, 50 ether);
        _release(A, queued);
        Transfer memory t = _parkedAtoB(1, 5 ether);
        vm.prank(guardian);
        govern.pauseRoute(routes[A]);
        govern.retireRoute(routes[A]);
        (,,,,, bool paused_, bool retired,) = govern.route(routes[A]);
        assertTrue(retired);
        assertFalse(paused_);

        vm.warp(block.timestamp + hub.REFUND_DELAY());
        uint256 before = token.balanceOf(bob);
        hub.executeQueued(queued);
        assertEq(token.balanceOf(bob) - before, 50 ether);
        govern.resolveParked(t, alice);
        (HubState.ParkState state,,) = hub.parked(hub.hashTransfer(t));
        assertEq(uint256(state), uint256(HubState.ParkState.Refunded));
    }

    /// A large withdrawal queued before its route was retired still pays after its delay.
    function test_queuedBeforeRetirementStillExecutes() public {
        govern.setInboundLimits(routes[A], address(token), 100 ether, 1 days, 10 ether, 1 hours);
        Transfer memory t = _home(A, 0, bob, 50 ether);
        _release(A, t);
        govern.retireRoute(routes[A]);
        vm.warp(block.timestamp + 1 hours);
        uint256 before = token.balanceOf(bob);
        hub.executeQueued(t);
        assertEq(token.balanceOf(bob) - before, 50 ether);
    }

    /// The sender's address on this chain may be a contract that is not the sender (a
    /// forwarder anyone can call through): only the sender as an externally owned account
    /// takes a parked transfer here.
    function test_onlyAnAccountSenderTakesAParkedTransferHere() public {
        Transfer memory t = _parkedAtoB(0, 20 ether);
        vm.prank(alice, thief); // alice's address called by way of someone else's transaction
        vm.expectRevert(abi.encodeWithSelector(HubState.OnlySender.selector, alice));
        hub.refund(t, true);
        vm.prank(alice, alice);
        hub.refund(t, true);
        assertEq(token.balanceOf(alice), 1e30 - 100 ether + 20 ether);
    }

    /// A chained transfer to the destination's own bridge would be minted to that bridge and
    /// stuck: it is parked instead, and cannot be forwarded.
    function test_chainedToTheDestinationBridgeIsParked() public {
        Transfer memory t = _chained(A, B, 0, alice, 5 ether);
        t.recipient = bridges[B];
        bytes32 id = hub.hashTransfer(t);
        vm.expectEmit(address(hub));
        emit HubState.TransferParked(id, routes[B], HubState.Refusal.BridgeRecipient);
        hub.release(t, _sigs(A, t));
        vm.expectRevert(
            abi.encodeWithSelector(HubState.DestinationRefuses.selector, routes[B], HubState.Refusal.BridgeRecipient)
        );
        hub.forward(t);
        assertEq(_custody(B), 1_000 ether);
    }

    /// A guardian's pause of a route holds what was parked from it too: no forward, no refund.
    function test_pausedSourceHoldsItsParkedTransfers() public {
        Transfer memory t = _parkedAtoB(0, 5 ether);
        govern.unpauseRoute(routes[B]);
        vm.prank(guardian);
        govern.pauseRoute(routes[A]);
        vm.expectRevert(abi.encodeWithSelector(HubState.RouteIsPaused.selector, routes[A]));
        hub.forward(t);
        vm.prank(alice, alice);
        vm.expectRevert(abi.encodeWithSelector(HubState.RouteIsPaused.selector, routes[A]));
        hub.refund(t, true);
    }

    /// @dev A guardian pauses B, and a chained A → B transfer of `amount` to alice is released:
    /// it is parked.
    function _parkedAtoB(uint64 nonce, uint256 amount) internal returns (Transfer memory t) {
        vm.prank(guardian);
        govern.pauseRoute(routes[B]);
        t = _chained(A, B, nonce, alice, amount);
        _release(A, t);
    }

    function _ascending(address[] memory a) internal pure returns (address, address, address, address) {
        for (uint256 i = 1; i < a.length; ++i) {
            address x = a[i];
            uint256 j = i;
            while (j > 0 && a[j - 1] > x) {
                a[j] = a[j - 1];
                --j;
            }
            a[j] = x;
        }
        return (a[0], a[1], a[2], a[3]);
    }

    function _nextNonce(uint256 r) internal view returns (uint64 nonce) {
        (,,,,,,, nonce) = govern.route(routes[r]);
    }
}
