// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {BridgeTestBase} from "./Base.t.sol";

import {BridgeBase} from "../src/BridgeBase.sol";
import {BatchRelease} from "../src/BatchRelease.sol";
import {MainBridge} from "../src/MainBridge.sol";
import {Operational} from "../src/Operational.sol";
import {Transfer} from "../src/Transfer.sol";

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {MockERC20} from "./mocks/MockERC20.sol";
import {FeeOnTransferToken} from "./mocks/FeeOnTransferToken.sol";
import {ReentrantToken} from "./mocks/ReentrantToken.sol";

/// @notice MainBridge.lock: custody, the measured amount, token checks and reentrancy.
contract MainBridgeLockTest is BridgeTestBase {
    function test_lock_takesCustodyAndEmitsLocked() public {
        uint256 amount = 250e18;
        token.mint(alice, amount);
        vm.startPrank(alice);
        token.approve(address(main), amount);
        vm.expectEmit(true, true, true, true, address(main));
        emit MainBridge.Locked(
            0, address(token), alice, bob, amount, 0, SIDE_CHAIN_ID, _lockId(0, address(token), alice, bob, amount)
        );
        uint64 nonce = main.lock(address(token), amount, bob);
        vm.stopPrank();

        assertEq(nonce, 0);
        assertEq(main.outboundNonce(), 1);
        assertEq(token.balanceOf(address(main)), amount);
        assertEq(token.balanceOf(alice), 0);

        // outbound nonces are contiguous
        assertEq(_lock(alice, 1e18, bob), 1);
        assertEq(_lock(carol, 1e18, bob), 2);
        assertEq(main.outboundNonce(), 3);
    }

    function test_lock_rejectsZeroAmount() public {
        vm.prank(alice);
        vm.expectRevert(BridgeBase.ZeroAmount.selector);
        main.lock(address(token), 0, bob);
        assertEq(main.outboundNonce(), 0);
    }

    function test_lock_rejectsZeroRecipient() public {
        token.mint(alice, 1e18);
        vm.startPrank(alice);
        token.approve(address(main), 1e18);
        vm.expectRevert(BridgeBase.ZeroRecipient.selector);
        main.lock(address(token), 1e18, address(0));
        vm.stopPrank();
        assertEq(token.balanceOf(alice), 1e18);
    }

    function test_lock_rejectsUnmappedToken() public {
        MockERC20 other = new MockERC20("Other", "OTH", 18);
        other.mint(alice, 1e18);
        vm.startPrank(alice);
        other.approve(address(main), 1e18);
        vm.expectRevert(abi.encodeWithSelector(Operational.TokenNotMapped.selector, address(other)));
        main.lock(address(other), 1e18, bob);
        vm.stopPrank();
        assertEq(other.balanceOf(alice), 1e18);
        assertEq(other.balanceOf(address(main)), 0);

        // unmapping a mapped token stops new locks of it
        opMain.unmapToken(address(token));
        token.mint(alice, 1e18);
        vm.startPrank(alice);
        token.approve(address(main), 1e18);
        vm.expectRevert(abi.encodeWithSelector(Operational.TokenNotMapped.selector, address(token)));
        main.lock(address(token), 1e18, bob);
        vm.stopPrank();
    }

    function test_lock_rejectsCodelessToken() public {
        address eoa = makeAddr("eoaToken");
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(MainBridge.TokenNotContract.selector, eoa));
        main.lock(eoa, 1e18, bob);

        // even when governance mapped it by mistake
        opMain.mapToken(eoa, makeAddr("remoteOfEoa"));
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(MainBridge.TokenNotContract.selector, eoa));
        main.lock(eoa, 1e18, bob);
        assertEq(main.outboundNonce(), 0);
    }

    /// @dev A 2% transfer tax: the bridge credits what it measured, not what was named.
    function test_lock_feeOnTransferCreditsMeasuredAmount() public {
        FeeOnTransferToken fot = new FeeOnTransferToken(200);
        address remote = makeAddr("wrappedFot");
        opMain.mapToken(address(fot), remote);
        opMain.setFees(address(fot), 100, 0, 0); // bridge fee 1% of what arrived

        uint256 amount = 1000e18;
        fot.mint(alice, amount);
        uint256 arrived = amount - amount * 200 / 10_000; // 980e18
        uint256 bridgeFee = arrived / 100; // 9.8e18

        vm.startPrank(alice);
        fot.approve(address(main), amount);
        vm.expectEmit(true, true, true, true, address(main));
        emit MainBridge.Locked(
            0,
            address(fot),
            alice,
            bob,
            arrived - bridgeFee,
            bridgeFee,
            SIDE_CHAIN_ID,
            _lockId(0, address(fot), alice, bob, arrived - bridgeFee)
        );
        main.lock(address(fot), amount, bob);
        vm.stopPrank();

        // custody grew by exactly what will be minted; the fee left (and was taxed on the way)
        assertEq(fot.balanceOf(address(main)), arrived - bridgeFee);
        assertEq(fot.balanceOf(feeMain), bridgeFee - bridgeFee * 200 / 10_000);
        assertEq(fot.balanceOf(alice), 0);
    }

    function test_lock_feeOnTransferTakingEverythingReverts() public {
        FeeOnTransferToken fot = new FeeOnTransferToken(10_000);
        opMain.mapToken(address(fot), makeAddr("wrappedFot"));
        fot.mint(alice, 1e18);
        vm.startPrank(alice);
        fot.approve(address(main), 1e18);
        vm.expectRevert(BridgeBase.ZeroAmount.selector);
        main.lock(address(fot), 1e18, bob);
        vm.stopPrank();
    }

    function test_lock_reentrancyThroughTokenHookReverts() public {
        ReentrantToken ree = new ReentrantToken();
        opMain.mapToken(address(ree), makeAddr("wrappedRee"));
        ree.mint(alice, 10e18);
        vm.prank(alice);
        ree.approve(address(main), 10e18);

        // on the pull into custody, the hook calls lock again
        ree.arm(address(main), abi.encodeCall(MainBridge.lock, (address(ree), 1e18, bob)));
        vm.prank(alice);
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        main.lock(address(ree), 5e18, bob);
        assertEq(ree.balanceOf(address(main)), 0);
        assertEq(main.outboundNonce(), 0);

        // with the hook disarmed the same lock goes through (the guard, not the token, refused)
        ree.arm(address(ree), abi.encodeCall(ree.totalSupply, ()));
        vm.prank(alice);
        main.lock(address(ree), 5e18, bob);
        assertTrue(ree.reentered());
        assertEq(ree.balanceOf(address(main)), 5e18);
    }

    /// @dev A hook-calling token the bridge holds 100e18 of, and withdrawals 0 and 1 of 10e18
    /// of it to bob.
    function _reentrantPair() internal returns (ReentrantToken ree, Transfer memory t, Transfer memory t2) {
        ree = new ReentrantToken();
        main.setInboundLimits(address(ree), OPEN_CAP, 1 days, OPEN_CAP, 1 days);
        ree.mint(address(main), 100e18);
        t = _withdrawal(0, bob, 10e18);
        t.token = address(ree);
        t2 = _withdrawal(1, bob, 10e18);
        t2.token = address(ree);
    }

    function test_release_reentrancyThroughTokenHookReverts() public {
        (ReentrantToken ree, Transfer memory t, Transfer memory t2) = _reentrantPair();
        bytes memory sigs = _signRelease(t, THRESHOLD);
        bytes memory sigs2 = _signRelease(t2, THRESHOLD);

        // paying out t, the hook tries to release t2 inside the same call
        ree.arm(address(main), abi.encodeCall(MainBridge.release, (t2, sigs2)));
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        main.release(t, sigs);
        assertFalse(main.isProcessed(0));
        assertFalse(main.isProcessed(1));
        assertEq(ree.balanceOf(bob), 0);

        // ...or to lock
        ree.arm(address(main), abi.encodeCall(MainBridge.lock, (address(ree), 1e18, bob)));
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        main.release(t, sigs);

        // disarmed (a harmless hook), both go through one after the other
        ree.arm(address(ree), abi.encodeCall(ree.totalSupply, ()));
        main.release(t, sigs);
        main.release(t2, sigs2);
        assertEq(ree.balanceOf(bob), 20e18);
    }

    /// @dev A token hook reentering during a batch reaches neither the batch nor its
    /// per-transfer entry point.
    function test_releaseBatch_reentrancyThroughTokenHookIsSkipped() public {
        (ReentrantToken ree, Transfer memory t, Transfer memory t2) = _reentrantPair();
        Transfer[] memory one = new Transfer[](1);
        one[0] = t;
        bytes[] memory sigs = new bytes[](1);
        sigs[0] = _signRelease(t, THRESHOLD);
        bytes memory sigs2 = _signRelease(t2, THRESHOLD);

        ree.arm(address(main), abi.encodeCall(BatchRelease.releaseInBatch, (t2, sigs2)));
        assertEq(main.releaseBatch(one, sigs), 0, "the transfer whose hook reentered is skipped");
        assertFalse(main.isProcessed(0));
        assertFalse(main.isProcessed(1));
        assertEq(ree.balanceOf(bob), 0);

        ree.arm(address(ree), abi.encodeCall(ree.totalSupply, ()));
        assertEq(main.releaseBatch(one, sigs), 1);
        assertEq(ree.balanceOf(bob), 10e18);
    }
}
