// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {BridgeTestBase} from "./Base.t.sol";

import {BridgeBase} from "../src/BridgeBase.sol";
import {MainBridge} from "../src/MainBridge.sol";
import {SideBridge} from "../src/SideBridge.sol";
import {WrappedToken} from "../src/WrappedToken.sol";
import {Operational} from "../src/Operational.sol";
import {Transfer} from "../src/Transfer.sol";
import {Governed} from "../src/Governed.sol";
import {AuthorityGovernance} from "../src/AuthorityGovernance.sol";

import {FakeGovernance, OneKeyForwarder, SilentForwarder} from "./mocks/Forwarder.sol";

/// @notice Operational: pause switch (guardians pause, only governance unpauses) on every entry
/// point of both bridges, per-transfer limits, the rolling cap, fees; and WrappedToken's minter.
contract OperationalTest is BridgeTestBase {
    // ---------------------------------------------------------------- pause

    function _pauseMain(address by) internal {
        vm.expectEmit(true, true, true, true, address(main));
        emit BridgeBase.PauseChanged(true);
        vm.expectEmit(true, true, true, true, address(opMain));
        emit Operational.Paused(by);
        vm.prank(by);
        opMain.pause();
        assertTrue(main.paused());
        assertTrue(opMain.paused());
    }

    function test_pause_lockAndReleaseOnMain() public {
        token.mint(address(main), 100e18);
        token.mint(alice, 10e18);
        vm.prank(alice);
        token.approve(address(main), 10e18);
        Transfer memory w = _withdrawal(0, bob, 1e18);
        bytes memory sigs = _signRelease(w, THRESHOLD);

        _pauseMain(guardian);

        vm.prank(alice);
        vm.expectRevert(BridgeBase.BridgePaused.selector);
        main.lock(address(token), 10e18, bob);

        vm.expectRevert(BridgeBase.BridgePaused.selector);
        main.release(w, sigs);

        opMain.unpause();
        assertFalse(main.paused());
        vm.prank(alice);
        main.lock(address(token), 10e18, bob);
        main.release(w, sigs);
        assertEq(token.balanceOf(bob), 1e18);
    }

    function test_pause_everySideEntryPoint() public {
        _onSide();
        Transfer memory d = _deposit(0, bob, 5e18);
        // a deposit with threshold votes waiting for executeDeposit (its token is unmapped for now)
        Transfer memory stalled = _deposit(1, bob, 5e18);
        stalled.token = makeAddr("laterMapped");
        _approve(stalled, THRESHOLD);
        // a burned withdrawal waiting for signatures
        _mintWrapped(alice, 20e18);
        vm.prank(alice);
        side.burn(address(wrapped), 10e18, bob);
        Transfer memory w = _withdrawal(0, bob, 10e18);
        bytes memory sig = _sign(validatorKeys[0], side.withdrawalId(w));
        WrappedToken later = new WrappedToken("Later", "LTR", 18, address(side), stalled.token);
        opSide.mapToken(address(later), stalled.token);
        side.setInboundLimits(stalled.token, OPEN_CAP, 1 days, OPEN_CAP, 1 days);

        vm.prank(guardian2);
        opSide.pause();
        assertTrue(side.paused());

        vm.prank(validatorAddrs[0]);
        vm.expectRevert(BridgeBase.BridgePaused.selector);
        side.approveDeposits(_one(d));

        vm.expectRevert(BridgeBase.BridgePaused.selector);
        side.executeDeposit(stalled);

        vm.prank(alice);
        vm.expectRevert(BridgeBase.BridgePaused.selector);
        side.burn(address(wrapped), 10e18, bob);

        vm.prank(validatorAddrs[0]);
        vm.expectRevert(BridgeBase.BridgePaused.selector);
        side.submitSignatures(_one(w), sig);

        // nothing moved while paused; all of it works after governance unpauses
        opSide.unpause();
        vm.prank(validatorAddrs[0]);
        side.approveDeposits(_one(d));
        side.executeDeposit(stalled);
        assertEq(later.balanceOf(bob), 5e18);
        vm.prank(alice);
        side.burn(address(wrapped), 10e18, bob);
        vm.prank(validatorAddrs[0]);
        side.submitSignatures(_one(w), sig);
        (uint256 signers,) = side.withdrawalSignatures(side.withdrawalId(w));
        assertEq(signers, 1);
    }

    function test_pause_anyGuardianPausesOnlyOwnerUnpauses() public {
        _pauseMain(guardian);

        // neither guardian may unpause
        vm.prank(guardian);
        vm.expectRevert(abi.encodeWithSelector(Governed.NotGovernance.selector, guardian));
        opMain.unpause();
        vm.prank(guardian2);
        vm.expectRevert(abi.encodeWithSelector(Governed.NotGovernance.selector, guardian2));
        opMain.unpause();
        assertTrue(main.paused());

        vm.expectEmit(true, true, true, true, address(opMain));
        emit Operational.Unpaused();
        opMain.unpause();
        assertFalse(main.paused());

        // the other guardian, and the owner itself, can pause as well
        _pauseMain(guardian2);
        opMain.unpause();
        _pauseMain(address(this));
        opMain.unpause();

        // a stranger cannot pause; a removed guardian is a stranger
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Operational.NotGuardian.selector, alice));
        opMain.pause();
        opMain.removeGuardian(guardian);
        vm.prank(guardian);
        vm.expectRevert(abi.encodeWithSelector(Operational.NotGuardian.selector, guardian));
        opMain.pause();
        assertEq(opMain.guardians().length, 1);
        assertFalse(main.paused());
    }

    function test_pause_bridgeSwitchOnlyFromOperational() public {
        vm.prank(guardian);
        vm.expectRevert(BridgeBase.NotOperational.selector);
        main.setPaused(true);
        vm.expectRevert(BridgeBase.NotOperational.selector);
        side.setPaused(true); // not even the owner
        assertFalse(main.paused());
        assertFalse(side.paused());
    }

    // ---------------------------------------------------------------- limits

    function test_limits_minimum() public {
        opMain.setLimits(address(token), 10e18, 0, 0, 0);
        token.mint(alice, 100e18);
        vm.startPrank(alice);
        token.approve(address(main), 100e18);
        vm.expectRevert(abi.encodeWithSelector(Operational.BelowMinimum.selector, 10e18 - 1, 10e18));
        main.lock(address(token), 10e18 - 1, bob);
        main.lock(address(token), 10e18, bob);
        vm.stopPrank();
        assertEq(token.balanceOf(address(main)), 10e18);
    }

    function test_limits_maximum() public {
        opMain.setLimits(address(token), 0, 50e18, 0, 0);
        token.mint(alice, 100e18);
        vm.startPrank(alice);
        token.approve(address(main), 100e18);
        vm.expectRevert(abi.encodeWithSelector(Operational.AboveMaximum.selector, 50e18 + 1, 50e18));
        main.lock(address(token), 50e18 + 1, bob);
        main.lock(address(token), 50e18, bob);
        vm.stopPrank();
        assertEq(token.balanceOf(address(main)), 50e18);
    }

    function test_limits_minimumAndMaximumOnBurn() public {
        opSide.setLimits(address(wrapped), 1e18, 5e18, 0, 0);
        _onSide();
        _mintWrapped(alice, 100e18);
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(Operational.BelowMinimum.selector, 1e18 - 1, 1e18));
        side.burn(address(wrapped), 1e18 - 1, bob);
        vm.expectRevert(abi.encodeWithSelector(Operational.AboveMaximum.selector, 5e18 + 1, 5e18));
        side.burn(address(wrapped), 5e18 + 1, bob);
        side.burn(address(wrapped), 5e18, bob);
        vm.stopPrank();
        assertEq(wrapped.totalSupply(), 95e18);
    }

    function test_limits_invalidConfigurationsRejected() public {
        vm.expectRevert(Operational.InvalidLimits.selector);
        opMain.setLimits(address(token), 10, 9, 0, 0);
        vm.expectRevert(Operational.InvalidLimits.selector);
        opMain.setLimits(address(token), 0, 0, 100, 0); // a cap needs a window
        vm.expectRevert(Operational.InvalidLimits.selector);
        opMain.setLimits(address(token), 0, 0, uint256(type(uint192).max) + 1, 1 days);
        vm.expectRevert(abi.encodeWithSelector(Operational.TokenNotMapped.selector, alice));
        opMain.setLimits(alice, 0, 0, 0, 0);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Governed.NotGovernance.selector, alice));
        opMain.setLimits(address(token), 0, 0, 0, 0);
    }

    /// @dev A 1,000-token cap refilled over 1,000 seconds (1 token/s) behaves as a token bucket.
    function test_limits_rollingCapRefillsOverTime() public {
        uint256 cap = 1000e18;
        opMain.setLimits(address(token), 0, 0, cap, 1000);
        assertEq(opMain.availableCapacity(address(token)), cap);
        token.mint(alice, 10_000e18);
        vm.startPrank(alice);
        token.approve(address(main), type(uint256).max);

        main.lock(address(token), 600e18, bob);
        main.lock(address(token), 400e18, bob);
        assertEq(opMain.availableCapacity(address(token)), 0);
        vm.expectRevert(abi.encodeWithSelector(Operational.RateLimited.selector, 1, 0));
        main.lock(address(token), 1, bob);

        skip(10); // refills 10 tokens
        assertEq(opMain.availableCapacity(address(token)), 10e18);
        vm.expectRevert(abi.encodeWithSelector(Operational.RateLimited.selector, 10e18 + 1, 10e18));
        main.lock(address(token), 10e18 + 1, bob);
        main.lock(address(token), 10e18, bob);
        assertEq(opMain.availableCapacity(address(token)), 0);

        skip(250);
        assertEq(opMain.availableCapacity(address(token)), 250e18);
        main.lock(address(token), 100e18, bob);
        assertEq(opMain.availableCapacity(address(token)), 150e18);

        // refilling stops at the cap
        skip(100_000);
        assertEq(opMain.availableCapacity(address(token)), cap);
        vm.expectRevert(abi.encodeWithSelector(Operational.RateLimited.selector, cap + 1, cap));
        main.lock(address(token), cap + 1, bob);
        main.lock(address(token), cap, bob);
        vm.stopPrank();

        assertEq(token.balanceOf(address(main)), 2110e18);
    }

    function test_limits_rollingCapOnBurn() public {
        opSide.setLimits(address(wrapped), 0, 0, 100e18, 1 days);
        _onSide();
        _mintWrapped(alice, 1000e18);
        vm.startPrank(alice);
        side.burn(address(wrapped), 100e18, bob);
        vm.expectRevert(abi.encodeWithSelector(Operational.RateLimited.selector, 1e18, 0));
        side.burn(address(wrapped), 1e18, bob);
        skip(1 days / 2);
        side.burn(address(wrapped), 50e18, bob);
        vm.stopPrank();
    }

    function test_onOutbound_onlyTheBridge() public {
        vm.expectRevert(Operational.NotBridge.selector);
        opMain.onOutbound(address(token), 1e18);
        vm.expectRevert(Operational.BridgeAlreadySet.selector);
        opMain.setBridge(alice);
    }

    // ---------------------------------------------------------------- fees

    /// @dev fee + net == locked; the fee recipient gets the fee; the fee never exceeds maxFee nor
    /// 10% of the amount (the transfer is refused instead).
    function testFuzz_fees_lockArithmetic(uint256 amount, uint16 bps, uint256 flat, uint256 maxFee) public {
        amount = bound(amount, 1, 1e30);
        bps = uint16(bound(bps, 0, opMain.MAX_FEE_BPS()));
        flat = bound(flat, 0, 1e24);
        maxFee = bound(maxFee, 0, 1e24);
        opMain.setFees(address(token), bps, flat, maxFee);

        uint256 expected = flat + amount * bps / 10_000;
        if (maxFee != 0 && expected > maxFee) expected = maxFee;
        assertEq(opMain.quoteFee(address(token), amount), expected);

        token.mint(alice, amount);
        vm.startPrank(alice);
        token.approve(address(main), amount);
        {
            uint256 cap = amount * opMain.MAX_FEE_BPS() / 10_000;
            if (expected > cap) {
                vm.expectRevert(abi.encodeWithSelector(Operational.FeeAboveCap.selector, amount, expected, cap));
                main.lock(address(token), amount, bob);
                vm.stopPrank();
                return;
            }
        }
        _expectLocked(amount - expected, expected);
        main.lock(address(token), amount, bob);
        vm.stopPrank();

        uint256 fee = token.balanceOf(feeMain);
        uint256 net = token.balanceOf(address(main));
        assertEq(fee, expected, "fee recipient gets the fee");
        assertEq(fee + net, amount, "fee + paid == locked");
        assertEq(token.balanceOf(alice), 0);
        if (maxFee != 0) assertLe(fee, maxFee, "maxFee caps the fee");
        assertLe(fee, flat + amount * bps / 10_000);
        assertLe(fee * 10_000, amount * opMain.MAX_FEE_BPS(), "never above 10% of the amount");
    }

    /// @dev The same arithmetic on the side chain: the fee is minted wrapped to the fee recipient
    /// and the withdrawal carries the rest.
    function testFuzz_fees_burnArithmetic(uint256 amount, uint16 bps, uint256 flat, uint256 maxFee) public {
        amount = bound(amount, 1, 1e30);
        bps = uint16(bound(bps, 0, opSide.MAX_FEE_BPS()));
        flat = bound(flat, 0, 1e24);
        maxFee = bound(maxFee, 0, 1e24);
        opSide.setFees(address(wrapped), bps, flat, maxFee);
        uint256 expected = flat + amount * bps / 10_000;
        if (maxFee != 0 && expected > maxFee) expected = maxFee;

        _onSide();
        _mintWrapped(alice, amount);
        uint256 cap = amount * opSide.MAX_FEE_BPS() / 10_000;
        if (expected > cap) {
            vm.prank(alice);
            vm.expectRevert(abi.encodeWithSelector(Operational.FeeAboveCap.selector, amount, expected, cap));
            side.burn(address(wrapped), amount, bob);
            return;
        }
        bytes32 id = side.withdrawalId(_withdrawal(0, bob, amount - expected));
        vm.expectEmit(true, true, true, true, address(side));
        emit SideBridge.Burned(
            0, address(token), alice, bob, amount - expected, expected, address(wrapped), id, mainChainId, address(main)
        );
        vm.prank(alice);
        side.burn(address(wrapped), amount, bob);

        assertEq(wrapped.balanceOf(feeSide), expected);
        assertEq(wrapped.balanceOf(alice), 0);
        assertEq(wrapped.totalSupply(), expected);
    }

    function test_fees_configurationChecks() public {
        vm.expectRevert(abi.encodeWithSelector(Operational.FeeTooHigh.selector, 1001));
        opMain.setFees(address(token), 1001, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(Operational.TokenNotMapped.selector, alice));
        opMain.setFees(alice, 1, 0, 0);
        vm.expectRevert(Operational.ZeroAddress.selector);
        opMain.setFeeRecipient(address(0));

        opMain.setFees(address(token), 1000, 5, 7);
        assertEq(opMain.quoteFee(address(token), 1000), 7); // 5 + 100, capped at 7
        assertEq(opMain.quoteFee(address(token), 10), 6); // 5 + 1

        // fees go to the new recipient once it is changed
        opMain.setFeeRecipient(carol);
        _lock(alice, 1000, bob);
        assertEq(token.balanceOf(carol), 7);
        assertEq(token.balanceOf(feeMain), 0);
    }

    /// @dev Finding 6: only the basis points were capped, so a flat fee (or a max fee) of any
    /// size took `amount - 1` of a transfer. Governance sets the greediest fees it can; no lock
    /// or burn ever pays more than 10% of its amount, the flat part included.
    function test_fees_flatFeeCannotTakeMoreThanTheCap() public {
        opMain.setFees(address(token), 1000, 1e30, 0); // 10% + a flat fee bigger than any amount
        token.mint(alice, 100e18);
        vm.startPrank(alice);
        token.approve(address(main), 100e18);
        vm.expectRevert(abi.encodeWithSelector(Operational.FeeAboveCap.selector, 100e18, 1e30 + 10e18, 10e18));
        main.lock(address(token), 100e18, bob);
        vm.stopPrank();
        assertEq(token.balanceOf(alice), 100e18, "nothing taken");
        assertEq(token.balanceOf(feeMain), 0);

        // a max fee does not lift the cap either: 10% + flat 1, capped at amount - 1
        opSide.setFees(address(wrapped), 1000, 1, 99e18);
        _onSide();
        _mintWrapped(alice, 100e18);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Operational.FeeAboveCap.selector, 100e18, 10e18 + 1, 10e18));
        side.burn(address(wrapped), 100e18, bob);
        assertEq(wrapped.balanceOf(alice), 100e18);

        // at exactly the cap it goes through
        opSide.setFees(address(wrapped), 900, 1e18, 0);
        vm.prank(alice);
        side.burn(address(wrapped), 100e18, bob);
        assertEq(wrapped.balanceOf(feeSide), 10e18);
    }

    // ---------------------------------------------------------------- wrapped token

    function test_wrapped_mintAndBurnOnlyByBridge() public {
        vm.prank(alice);
        vm.expectRevert(WrappedToken.OnlyBridge.selector);
        wrapped.mint(alice, 1e18);

        vm.expectRevert(WrappedToken.OnlyBridge.selector); // not even the bridge's owner
        wrapped.mint(address(this), 1e18);

        _mintWrapped(alice, 5e18);
        vm.prank(alice);
        vm.expectRevert(WrappedToken.OnlyBridge.selector);
        wrapped.burn(alice, 5e18);
        vm.prank(address(main));
        vm.expectRevert(WrappedToken.OnlyBridge.selector);
        wrapped.burn(alice, 5e18);
        assertEq(wrapped.balanceOf(alice), 5e18);

        vm.prank(address(side));
        wrapped.burn(alice, 2e18);
        assertEq(wrapped.balanceOf(alice), 3e18);
        assertEq(wrapped.totalSupply(), 3e18);
        assertEq(wrapped.bridge(), address(side));
        assertEq(wrapped.mainToken(), address(token));
        assertEq(wrapped.decimals(), 18);
    }

    // ---------------------------------------------------------------- registry and ownership

    function test_registry_mapping() public {
        assertEq(opMain.localOf(address(wrapped)), address(token));
        assertEq(opSide.localOf(address(token)), address(wrapped));
        vm.expectRevert(abi.encodeWithSelector(Operational.TokenAlreadyMapped.selector, address(token)));
        opMain.mapToken(address(token), alice);
        vm.expectRevert(abi.encodeWithSelector(Operational.TokenAlreadyMapped.selector, address(wrapped)));
        opMain.mapToken(alice, address(wrapped));
        vm.expectRevert(Operational.ZeroAddress.selector);
        opMain.mapToken(address(0), alice);

        opMain.unmapToken(address(token));
        assertEq(opMain.localOf(address(wrapped)), address(0));
        vm.expectRevert(abi.encodeWithSelector(Operational.TokenNotMapped.selector, address(token)));
        opMain.unmapToken(address(token));
        opMain.mapToken(address(token), address(wrapped));
        assertEq(opMain.mappedTokens().length, 1, "remapping does not duplicate the registry entry");
    }

    /// @dev A bridge or Operational governed by an EOA would put every power behind one key
    /// with no timelock: construction refuses it.
    function test_ownership_governanceMustBeAContract() public {
        vm.expectRevert(abi.encodeWithSelector(Governed.GovernanceNotContract.selector, alice));
        new Operational(alice, address(0), feeMain);
        vm.expectRevert(abi.encodeWithSelector(Governed.GovernanceNotContract.selector, alice));
        new MainBridge(alice, address(0), opMain, SIDE_CHAIN_ID, validatorAddrs, THRESHOLD);
        assertEq(main.governance(), address(this));
        assertEq(opMain.governance(), address(this));
    }

    /// @dev Finding 4: the deployer (or whoever prepared the deployment) hands control to an
    /// account that looks like a contract but is one key. An EIP-7702 delegated EOA has code
    /// (`0xef0100 ‖ delegate`) and even answers as the real governance it delegates to, yet its
    /// key signs as itself and re-delegates at will; a one-key forwarder, or a contract that
    /// answers nothing, is no timelocked council either. Construction refuses each of them.
    /// (A contract built to answer like governance passes here: the code-hash check of
    /// `bridgectl verify` is what catches it.)
    function test_ownership_governanceMustAnswerAsAuthorityGovernance() public {
        AuthorityGovernance real = new AuthorityGovernance(validatorAddrs, THRESHOLD, 1 days, 1 hours, address(0));
        address delegated = makeAddr("delegatedEoa");
        vm.etch(delegated, abi.encodePacked(hex"ef0100", address(real)));
        assertEq(delegated.code.length, 23);
        vm.expectRevert(abi.encodeWithSelector(Governed.GovernanceNotContract.selector, delegated));
        new Operational(delegated, address(0), feeMain);
        vm.expectRevert(abi.encodeWithSelector(Governed.GovernanceNotContract.selector, delegated));
        new MainBridge(delegated, address(0), opMain, SIDE_CHAIN_ID, validatorAddrs, THRESHOLD);

        address[4] memory impostors = [
            address(new OneKeyForwarder(alice)),
            address(new SilentForwarder()),
            address(new FakeGovernance(59, 1)), // a timelock under the one-minute floor
            address(new FakeGovernance(1 hours, 0)) // no threshold
        ];
        for (uint256 i; i < impostors.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(Governed.GovernanceNotAuthority.selector, impostors[i]));
            new Operational(impostors[i], address(0), feeMain);
            vm.expectRevert(abi.encodeWithSelector(Governed.GovernanceNotAuthority.selector, impostors[i]));
            new SideBridge(
                impostors[i], address(0), opSide, mainChainId, address(main), false, validatorAddrs, THRESHOLD
            );
        }

        // the project's governance is accepted
        Operational ok = new Operational(address(real), address(0), feeMain);
        assertEq(ok.governance(), address(real));
    }

    /// @dev Expects the `Locked` of alice's first lock to bob of `net` after `fee`.
    function _expectLocked(uint256 net, uint256 fee) private {
        bytes32 id = _lockId(0, address(token), alice, bob, net);
        vm.expectEmit(true, true, true, true, address(main));
        emit MainBridge.Locked(0, address(token), alice, bob, net, fee, SIDE_CHAIN_ID, id);
    }
}
