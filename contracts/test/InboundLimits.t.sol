// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {BridgeTestBase} from "./Base.t.sol";

import {BridgeBase} from "../src/BridgeBase.sol";
import {MainBridge} from "../src/MainBridge.sol";
import {SideBridge} from "../src/SideBridge.sol";
import {Governed} from "../src/Governed.sol";
import {Transfer} from "../src/Transfer.sol";
import {Inbound} from "../src/Inbound.sol";
import {TransferQueue} from "../src/TransferQueue.sol";

/// @notice What may arrive: a rolling cap per token on `release` and on the mint, and a delay
/// for large transfers during which any guardian holds them and governance cancels them.
contract InboundLimitsTest is BridgeTestBase {
    uint256 internal constant CAP = 1000e18;
    uint256 internal constant WINDOW = 1000; // refills 1 token per second
    uint256 internal constant LARGE = 400e18;
    uint256 internal constant DELAY = 1 days;

    address internal attacker = makeAddr("attacker");

    function setUp() public override {
        super.setUp();
        main.setInboundLimits(address(token), CAP, WINDOW, LARGE, DELAY);
        side.setInboundLimits(address(token), CAP, WINDOW, LARGE, DELAY);
        token.mint(address(main), 1_000_000e18); // custody (as if locked earlier)
    }

    function _release(uint64 nonce, address to, uint256 amount) internal returns (Transfer memory t) {
        t = _withdrawal(nonce, to, amount);
        main.release(t, _signRelease(t, THRESHOLD));
    }

    // ---------------------------------------------------------------- release

    function test_inbound_releaseChargesTheBucketAndRefillsOverTime() public {
        assertEq(main.inboundAvailable(address(token)), CAP);
        _release(0, bob, 400e18);
        _release(1, bob, 400e18);
        assertEq(main.inboundAvailable(address(token)), 200e18);

        Transfer memory t = _withdrawal(2, bob, 201e18);
        bytes memory sigs = _signRelease(t, THRESHOLD);
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.RateLimited.selector, 201e18, 200e18));
        main.release(t, sigs);
        assertFalse(main.isProcessed(2), "a rate-limited release can be sent again");

        skip(1); // one token refilled
        main.release(t, sigs);
        assertEq(token.balanceOf(bob), 1001e18);
        assertEq(main.inboundAvailable(address(token)), 0);
        skip(WINDOW * 10);
        assertEq(main.inboundAvailable(address(token)), CAP, "refilling stops at the cap");
    }

    /// A simulation (eth_simulateV1, a node's pending block) may stamp its block before the
    /// latest charge: the bucket then refills nothing, and neither the view nor a release
    /// panics (an arithmetic panic there made relayers' simulations refuse honest work).
    function test_inbound_aClockBehindTheLastChargeRefillsNothing() public {
        skip(1000);
        _release(0, bob, 400e18);
        vm.warp(block.timestamp - 30);
        assertEq(main.inboundAvailable(address(token)), CAP - 400e18);
        _release(1, bob, 100e18);
        assertEq(main.inboundAvailable(address(token)), CAP - 500e18);
    }

    function test_inbound_largeReleaseWaitsItsDelayThenAnyoneExecutes() public {
        Transfer memory t = _withdrawal(0, bob, LARGE + 1);
        bytes32 id = main.hashTransfer(t);
        bytes memory sigs = _signRelease(t, THRESHOLD);
        uint256 eta = block.timestamp + DELAY;
        vm.expectEmit(true, true, true, true, address(main));
        emit TransferQueue.TransferQueued(id, 0, eta);
        main.release(t, sigs);
        assertEq(token.balanceOf(bob), 0, "queued, not paid");
        assertTrue(main.isProcessed(0));
        assertEq(main.inboundAvailable(address(token)), CAP, "a queued transfer does not use the bucket");
        vm.expectRevert(abi.encodeWithSelector(MainBridge.AlreadyProcessed.selector, 0));
        main.release(t, sigs);

        vm.expectRevert(abi.encodeWithSelector(TransferQueue.TooEarly.selector, id, eta));
        main.executeQueued(t);
        skip(DELAY);
        vm.expectEmit(true, true, true, true, address(main));
        emit MainBridge.Released(0, id, bob, address(token), LARGE + 1);
        vm.prank(carol);
        main.executeQueued(t);
        assertEq(token.balanceOf(bob), LARGE + 1);
        assertEq(main.inboundAvailable(address(token)), CAP - LARGE - 1, "charged when it executes");
        vm.expectRevert(abi.encodeWithSelector(TransferQueue.QueueClosed.selector, id));
        main.executeQueued(t);

        // content other than what was queued is not queued
        Transfer memory other = _withdrawal(0, carol, LARGE + 1);
        vm.expectRevert(abi.encodeWithSelector(TransferQueue.NotQueued.selector, main.hashTransfer(other)));
        main.executeQueued(other);
    }

    function test_inbound_guardianHoldsGovernanceLiftsOrCancels() public {
        Transfer memory t = _withdrawal(0, bob, 500e18);
        Transfer memory u = _withdrawal(1, carol, 600e18);
        bytes32 tid = main.hashTransfer(t);
        bytes32 uid = main.hashTransfer(u);
        main.release(t, _signRelease(t, THRESHOLD));
        main.release(u, _signRelease(u, THRESHOLD));

        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(TransferQueue.NotGuardian.selector, alice));
        main.holdTransfer(tid);
        vm.expectEmit(true, true, true, true, address(main));
        emit TransferQueue.TransferHeld(tid, guardian);
        vm.prank(guardian);
        main.holdTransfer(tid);
        vm.prank(guardian2);
        main.holdTransfer(uid);

        skip(DELAY);
        vm.expectRevert(abi.encodeWithSelector(TransferQueue.TransferOnHold.selector, tid));
        main.executeQueued(t);
        // a guardian cannot lift a hold or cancel
        vm.startPrank(guardian);
        vm.expectRevert(abi.encodeWithSelector(Governed.NotGovernance.selector, guardian));
        main.liftHold(tid);
        vm.expectRevert(abi.encodeWithSelector(Governed.NotGovernance.selector, guardian));
        main.cancelTransfer(uid);
        vm.stopPrank();

        main.liftHold(tid);
        main.executeQueued(t);
        assertEq(token.balanceOf(bob), 500e18);

        main.cancelTransfer(uid);
        (,, bool canceled,) = main.queuedTransfer(uid);
        assertTrue(canceled);
        vm.expectRevert(abi.encodeWithSelector(TransferQueue.QueueClosed.selector, uid));
        main.executeQueued(u);
        bytes memory uSigs = _signRelease(u, THRESHOLD);
        vm.expectRevert(abi.encodeWithSelector(MainBridge.AlreadyProcessed.selector, 1));
        main.release(u, uSigs);
        assertEq(token.balanceOf(carol), 0);
    }

    /// @dev Finding 4, the property itself: every validator key is stolen. The attacker signs
    /// releases of the whole custody to itself, as many and as large as it likes. It gets
    /// exactly one window's cap; everything large waits in the queue, where one guardian holds
    /// it and pauses the bridge; governance cancels it. Before, one transaction took it all.
    function test_attack4_compromisedValidatorSetTakesAtMostOneWindowCap() public {
        uint256 custody = token.balanceOf(address(main));
        uint64 nonce;
        // many releases just under the large size, back to back in one block
        for (; nonce < 20; ++nonce) {
            Transfer memory t = _withdrawal(nonce, attacker, LARGE);
            bytes memory sigs = _signSorted(validatorKeys, main.hashTransfer(t));
            try main.release(t, sigs) {} catch {}
        }
        assertEq(token.balanceOf(attacker), 800e18, "two fit the 1,000 cap, the third is refused");
        assertLe(token.balanceOf(attacker), CAP);

        // the rest of custody in one go: queued, not paid
        Transfer memory big = _withdrawal(nonce, attacker, custody - token.balanceOf(attacker));
        bytes32 bigId = main.hashTransfer(big);
        main.release(big, _signSorted(validatorKeys, bigId));
        assertLe(token.balanceOf(attacker), CAP);

        // one guardian acts: holds the big one and pauses
        vm.startPrank(guardian);
        main.holdTransfer(bigId);
        opMain.pause();
        vm.stopPrank();
        skip(DELAY * 2);
        vm.expectRevert(BridgeBase.BridgePaused.selector);
        main.executeQueued(big);
        Transfer memory more = _withdrawal(nonce + 1, attacker, 1e18);
        bytes memory moreSigs = _signSorted(validatorKeys, main.hashTransfer(more));
        vm.expectRevert(BridgeBase.BridgePaused.selector);
        main.release(more, moreSigs);

        // governance cancels the forgery; even unpaused it never pays
        main.cancelTransfer(bigId);
        opMain.unpause();
        vm.expectRevert(abi.encodeWithSelector(TransferQueue.QueueClosed.selector, bigId));
        main.executeQueued(big);
        assertEq(token.balanceOf(attacker), 800e18);
        assertEq(token.balanceOf(address(main)), custody - 800e18);
    }

    /// @dev Finding 2: the stolen full set signs many large releases (each above `large`, so
    /// each used to skip the bucket) and executes every one the moment its delay ends. Each
    /// execution is now charged to the bucket: at most the cap, then its refill, leaves per
    /// window, queued or not; what does not fit waits (RateLimited) and is not lost.
    function test_attack2_stolenSetQueuesManyLargeTransfersButExecutionPaysAtMostCapPerWindow() public {
        uint256 n = 10;
        Transfer[] memory forged = new Transfer[](n);
        for (uint64 i; i < n; ++i) {
            forged[i] = _withdrawal(i, attacker, 900e18);
            main.release(forged[i], _signSorted(validatorKeys, main.hashTransfer(forged[i])));
        }
        // and one for the rest of custody, above the cap itself
        Transfer memory all = _withdrawal(uint64(n), attacker, token.balanceOf(address(main)) - n * 900e18);
        main.release(all, _signSorted(validatorKeys, main.hashTransfer(all)));
        assertEq(token.balanceOf(attacker), 0, "everything queued");

        skip(DELAY);
        uint256 start = block.timestamp;
        // the attacker executes whatever it can, every 100 seconds, for three windows
        for (uint256 round; round <= 30; ++round) {
            for (uint256 i; i <= n; ++i) {
                Transfer memory t = i < n ? forged[i] : all;
                try main.executeQueued(t) {} catch {}
            }
            uint256 elapsed = block.timestamp - start;
            assertLe(token.balanceOf(attacker), CAP + elapsed * CAP / WINDOW, "cap plus refill bounds the outflow");
            skip(100);
        }
        // 3,000 seconds refill three caps: four transfers of 900 in all, the fifth waits
        assertEq(token.balanceOf(attacker), 4 * 900e18);
        bytes32 waiting = main.hashTransfer(forged[4]);
        (, bool held, bool canceled, bool executed) = main.queuedTransfer(waiting);
        assertFalse(held || canceled || executed, "a transfer that did not fit is still queued");
        uint256 available = main.inboundAvailable(address(token));
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.RateLimited.selector, 900e18, available));
        main.executeQueued(forged[4]);
        // one above the cap never fits a bucket; it waits for governance
        skip(WINDOW);
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.RateLimited.selector, all.amount, CAP));
        main.executeQueued(all);
        // a guardian holds the rest, governance cancels it
        vm.prank(guardian);
        main.holdTransfer(main.hashTransfer(all));
        main.cancelTransfer(main.hashTransfer(all));
        assertEq(token.balanceOf(attacker), 4 * 900e18);
    }

    /// @dev Governance closes inbound while a large release waits (the validator set is
    /// suspected): its execution is refused, and it is not lost when inbound reopens.
    function test_inbound_queuedThenInboundClosedExecuteRefusesUntilReopened() public {
        Transfer memory t = _release(0, bob, 500e18);
        bytes32 id = main.hashTransfer(t);
        main.setInboundLimits(address(token), 0, 0, 0, 0);
        skip(DELAY);
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.InboundDisabled.selector, address(token)));
        main.executeQueued(t);
        (,,, bool executed) = main.queuedTransfer(id);
        assertFalse(executed);
        assertEq(token.balanceOf(bob), 0);

        // a pause is re-checked too
        main.setInboundLimits(address(token), CAP, WINDOW, LARGE, DELAY);
        vm.prank(guardian);
        opMain.pause();
        vm.expectRevert(BridgeBase.BridgePaused.selector);
        main.executeQueued(t);
        opMain.unpause();
        main.executeQueued(t);
        assertEq(token.balanceOf(bob), 500e18);
    }

    // ---------------------------------------------------------------- mint

    function test_inbound_mintOverTheCapStallsUntilTheBucketRefills() public {
        _onSide();
        Transfer memory a = _deposit(0, bob, 400e18);
        Transfer memory b = _deposit(1, bob, 400e18);
        Transfer memory c = _deposit(2, carol, 300e18);
        _approve(a, THRESHOLD);
        _approve(b, THRESHOLD);
        _approve(c, THRESHOLD - 1);
        vm.expectEmit(true, true, true, true, address(side));
        emit SideBridge.DepositStalled(2, _depositId(c), address(token), SideBridge.Stall.RateLimited);
        vm.prank(validatorAddrs[THRESHOLD - 1]);
        side.approveDeposits(_one(c));
        assertEq(wrapped.balanceOf(carol), 0);
        assertFalse(side.isDepositDone(2));

        vm.expectRevert(abi.encodeWithSelector(BridgeBase.RateLimited.selector, 300e18, 200e18));
        side.executeDeposit(c);
        skip(100);
        side.executeDeposit(c);
        assertEq(wrapped.balanceOf(carol), 300e18);
        assertEq(wrapped.totalSupply(), 1100e18);
    }

    function test_inbound_largeDepositIsQueuedThenMinted() public {
        _onSide();
        Transfer memory t = _deposit(0, bob, 900e18);
        bytes32 id = _depositId(t);
        _approve(t, THRESHOLD - 1);
        vm.expectEmit(true, true, true, true, address(side));
        emit TransferQueue.TransferQueued(id, 0, block.timestamp + DELAY);
        vm.prank(validatorAddrs[THRESHOLD - 1]);
        side.approveDeposits(_one(t));
        assertEq(wrapped.totalSupply(), 0);
        assertTrue(side.isDepositDone(0));
        (, bool executed) = side.depositVotes(id);
        assertTrue(executed, "queued counts as done for this content");

        vm.prank(guardian);
        side.holdTransfer(id);
        skip(DELAY);
        vm.expectRevert(abi.encodeWithSelector(TransferQueue.TransferOnHold.selector, id));
        side.executeQueued(t);
        side.liftHold(id);
        side.executeQueued(t);
        assertEq(wrapped.balanceOf(bob), 900e18);
    }

    /// @dev Finding 4 on the side chain: the stolen set votes mints to the attacker. At most one
    /// window's cap is minted; the large one waits and is canceled.
    function test_attack4_compromisedValidatorSetMintsAtMostOneWindowCap() public {
        _onSide();
        Transfer[] memory forged = new Transfer[](10);
        for (uint64 i; i < 10; ++i) {
            forged[i] = _deposit(i, attacker, 300e18);
        }
        for (uint256 v; v < N_VALIDATORS; ++v) {
            vm.prank(validatorAddrs[v]);
            side.approveDeposits(forged);
        }
        assertEq(wrapped.balanceOf(attacker), 900e18, "three fit the 1,000 cap");
        Transfer memory big = _deposit(10, attacker, 1_000_000e18);
        _approve(big, N_VALIDATORS);
        vm.prank(guardian);
        side.holdTransfer(_depositId(big));
        side.cancelTransfer(_depositId(big));
        skip(DELAY);
        vm.expectRevert(abi.encodeWithSelector(TransferQueue.QueueClosed.selector, _depositId(big)));
        side.executeQueued(big);
        assertEq(wrapped.totalSupply(), 900e18);
    }

    /// @dev Finding 2 on the side chain: queued mints are charged to the bucket when they
    /// execute, and re-check closed inbound and the token mapping then.
    function test_attack2_queuedMintsAreChargedAndRecheckedWhenTheyExecute() public {
        _onSide();
        Transfer[] memory forged = new Transfer[](3);
        for (uint64 i; i < 3; ++i) {
            forged[i] = _deposit(i, attacker, 900e18);
        }
        for (uint256 v; v < N_VALIDATORS; ++v) {
            vm.prank(validatorAddrs[v]);
            side.approveDeposits(forged);
        }
        assertEq(wrapped.totalSupply(), 0, "all three queued");
        skip(DELAY);
        for (uint256 i; i < 3; ++i) {
            try side.executeQueued(forged[i]) {} catch {}
        }
        assertEq(wrapped.balanceOf(attacker), 900e18, "one fits the 1,000 cap");
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.RateLimited.selector, 900e18, 100e18));
        side.executeQueued(forged[1]);

        skip(WINDOW);
        side.setInboundLimits(address(token), 0, 0, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.InboundDisabled.selector, address(token)));
        side.executeQueued(forged[1]);
        side.setInboundLimits(address(token), CAP, WINDOW, LARGE, DELAY);
        opSide.unmapToken(address(wrapped));
        vm.expectRevert(abi.encodeWithSelector(SideBridge.TokenNotMapped.selector, address(token)));
        side.executeQueued(forged[1]);
        opSide.mapToken(address(wrapped), address(token));
        side.executeQueued(forged[1]);
        assertEq(wrapped.balanceOf(attacker), 1800e18);
    }

    // ---------------------------------------------------------------- settings

    function test_inbound_closedOrUnopenedTokenIsRefused() public {
        main.setInboundLimits(address(token), 0, 0, 0, 0);
        Transfer memory t = _withdrawal(0, bob, 1e18);
        bytes memory sigs = _signRelease(t, THRESHOLD);
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.InboundDisabled.selector, address(token)));
        main.release(t, sigs);
    }

    function test_inbound_settingsChecks() public {
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(Governed.NotGovernance.selector, alice));
        main.setInboundLimits(address(token), CAP, WINDOW, LARGE, DELAY);
        vm.stopPrank();
        vm.expectRevert(Inbound.InvalidInboundLimits.selector);
        main.setInboundLimits(address(token), CAP, 0, LARGE, DELAY); // no window
        vm.expectRevert(Inbound.InvalidInboundLimits.selector);
        main.setInboundLimits(address(token), CAP, WINDOW, CAP + 1, DELAY); // large above the cap
        vm.expectRevert(Inbound.InvalidInboundLimits.selector);
        main.setInboundLimits(address(token), CAP, WINDOW, 0, DELAY);
        vm.expectRevert(Inbound.InvalidInboundLimits.selector);
        main.setInboundLimits(address(token), CAP, WINDOW, LARGE, 59); // under a minute
        vm.expectRevert(Inbound.InvalidInboundLimits.selector);
        main.setInboundLimits(address(token), CAP, WINDOW, LARGE, 31 days);
        vm.expectRevert(Inbound.InvalidInboundLimits.selector);
        main.setInboundLimits(address(token), uint256(type(uint112).max) + 1, WINDOW, LARGE, DELAY);
        vm.expectRevert(Inbound.InvalidInboundLimits.selector);
        main.setInboundLimits(address(token), 0, WINDOW, 0, 0); // closing takes no settings
    }

    /// @dev Re-setting limits, or closing and reopening, never refills the bucket: a captured
    /// quorum cannot use settings to lift the cap between two drains.
    function test_inbound_resettingLimitsDoesNotRefill() public {
        _release(0, bob, 400e18);
        _release(1, bob, 400e18);
        assertEq(main.inboundAvailable(address(token)), 200e18);
        main.setInboundLimits(address(token), CAP * 2, WINDOW, LARGE, DELAY);
        assertEq(main.inboundAvailable(address(token)), 200e18);
        main.setInboundLimits(address(token), 0, 0, 0, 0);
        assertEq(main.inboundAvailable(address(token)), 0);
        skip(WINDOW);
        main.setInboundLimits(address(token), CAP, WINDOW, LARGE, DELAY);
        assertEq(main.inboundAvailable(address(token)), 200e18, "closed time refills nothing");
        main.setInboundLimits(address(token), 100e18, WINDOW, 100e18, DELAY);
        assertEq(main.inboundAvailable(address(token)), 100e18, "never above the new cap");
    }
}
