// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {BridgeTestBase} from "./Base.t.sol";
import {Vm} from "./utils/ForgeStd.sol";

import {BridgeBase} from "../src/BridgeBase.sol";
import {SideBridge} from "../src/SideBridge.sol";
import {WrappedToken} from "../src/WrappedToken.sol";
import {Operational} from "../src/Operational.sol";
import {Transfer} from "../src/Transfer.sol";
import {Quorum} from "../src/Quorum.sol";

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

import {MockERC20} from "./mocks/MockERC20.sol";

/// @notice SideBridge: deposit votes (approveDeposits / executeDeposit), burns and the
/// validators' withdrawal signatures (submitSignatures). Runs on the side chain's id.
contract SideBridgeTest is BridgeTestBase {
    uint256 internal constant AMOUNT = 40e18;

    function setUp() public override {
        super.setUp();
        _onSide();
    }

    /// @dev The `DepositsApproved.votes` entry of one counted vote.
    function _vote(Transfer memory t) internal view returns (bytes memory) {
        return abi.encodePacked(t.nonce, _depositId(t));
    }

    // ---------------------------------------------------------------- approveDeposits

    function test_approveDeposits_votesBelowThresholdDoNotMint() public {
        Transfer memory t = _deposit(0, bob, AMOUNT);
        bytes32 id = _depositId(t);
        vm.expectEmit(true, true, true, true, address(side));
        emit SideBridge.DepositsApproved(validatorAddrs[0], _vote(t));
        _approve(t, THRESHOLD - 1);

        assertEq(wrapped.balanceOf(bob), 0);
        assertEq(wrapped.totalSupply(), 0);
        (uint256 votes, bool executed) = side.depositVotes(id);
        assertEq(votes, THRESHOLD - 1);
        assertFalse(executed);
        assertFalse(side.isDepositDone(0));
        for (uint256 i; i < N_VALIDATORS; ++i) {
            assertEq(side.hasVotedDeposit(validatorAddrs[i], id), i < THRESHOLD - 1);
        }
        Transfer memory other = _deposit(0, carol, AMOUNT);
        assertFalse(side.hasVotedDeposit(validatorAddrs[0], _depositId(other)), "a vote is for one content only");
        (votes,) = side.depositVotes(_depositId(other));
        assertEq(votes, 0);
    }

    function test_approveDeposits_thresholdVoteMintsExactlyOnce() public {
        Transfer memory t = _deposit(0, bob, AMOUNT);
        bytes32 id = _depositId(t);
        _approve(t, THRESHOLD - 1);

        vm.expectEmit(true, true, true, true, address(side));
        emit SideBridge.DepositExecuted(0, id, bob, address(wrapped), AMOUNT);
        vm.prank(validatorAddrs[THRESHOLD - 1]);
        side.approveDeposits(_one(t));
        assertEq(wrapped.balanceOf(bob), AMOUNT);
        (uint256 votes, bool executed) = side.depositVotes(id);
        assertTrue(executed);
        assertTrue(side.isDepositDone(0));
        assertEq(votes, THRESHOLD);

        // later votes (and repeated ones) are skipped: no mint, no revert, nothing listed
        vm.recordLogs();
        for (uint256 i; i < N_VALIDATORS; ++i) {
            vm.prank(validatorAddrs[i]);
            side.approveDeposits(_one(t));
        }
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(_countLogs(logs, address(side), SideBridge.DepositExecuted.selector), 0, "no second mint");
        assertEq(_countLogs(logs, address(side), SideBridge.DepositsApproved.selector), N_VALIDATORS);
        for (uint256 i; i < logs.length; ++i) {
            assertEq(abi.decode(logs[i].data, (bytes)).length, 0, "skipped votes are not listed");
        }
        assertEq(wrapped.balanceOf(bob), AMOUNT);
        assertEq(wrapped.totalSupply(), AMOUNT);
        (votes,) = side.depositVotes(id);
        assertEq(votes, THRESHOLD, "votes after execution are not recorded");
        assertFalse(side.hasVotedDeposit(validatorAddrs[THRESHOLD], id));

        // the executed deposit cannot be executed again either
        vm.expectRevert(abi.encodeWithSelector(SideBridge.NotReady.selector, 0));
        side.executeDeposit(t);
    }

    function test_approveDeposits_repeatedVoteBySameValidatorCountsOnce() public {
        Transfer memory t = _deposit(0, bob, AMOUNT);
        for (uint256 i; i < THRESHOLD + 1; ++i) {
            vm.prank(validatorAddrs[0]);
            side.approveDeposits(_one(t));
        }
        (uint256 votes,) = side.depositVotes(_depositId(t));
        assertEq(votes, 1);
        assertEq(wrapped.totalSupply(), 0);

        // the repeats did not advance the tally: one more distinct vote is still short
        vm.prank(validatorAddrs[1]);
        side.approveDeposits(_one(t));
        assertEq(wrapped.totalSupply(), 0);
        vm.expectRevert(abi.encodeWithSelector(SideBridge.NotReady.selector, 0));
        side.executeDeposit(t);
        vm.prank(validatorAddrs[2]);
        side.approveDeposits(_one(t));
        assertEq(wrapped.balanceOf(bob), AMOUNT);
    }

    function test_approveDeposits_batchMintsManyAtOnce() public {
        Transfer[] memory ts = new Transfer[](3);
        for (uint64 i; i < 3; ++i) {
            ts[i] = _deposit(i, i == 1 ? carol : bob, AMOUNT + i);
        }
        for (uint256 v; v < THRESHOLD; ++v) {
            vm.prank(validatorAddrs[v]);
            side.approveDeposits(ts);
        }
        assertEq(wrapped.balanceOf(bob), 2 * AMOUNT + 2);
        assertEq(wrapped.balanceOf(carol), AMOUNT + 1);
        for (uint64 n; n < 3; ++n) {
            (uint256 votes, bool executed) = side.depositVotes(_depositId(ts[n]));
            assertEq(votes, THRESHOLD);
            assertTrue(executed);
        }
    }

    /// @dev `DepositsApproved.votes` lists each counted vote as an 8-byte big-endian nonce and
    /// the 32-byte id voted for, in batch order; a repeat in the batch counts once and is listed
    /// once; distant nonces (other bitmap words) are independent.
    function test_approveDeposits_eventListsNonceAndIdOfEachCountedVote() public {
        uint64 big = 0x0102030405060708;
        Transfer[] memory ts = new Transfer[](4);
        ts[0] = _deposit(big, bob, 1);
        ts[1] = _deposit(255, bob, 10);
        ts[2] = _deposit(256, bob, 100);
        ts[3] = ts[0]; // repeated in the batch: skipped
        bytes memory packed = bytes.concat(_vote(ts[0]), _vote(ts[1]), _vote(ts[2]));
        assertEq(packed.length, 120);
        assertEq(bytes8(packed), bytes8(hex"0102030405060708"));

        vm.recordLogs();
        vm.prank(validatorAddrs[0]);
        side.approveDeposits(ts);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1);
        assertEq(logs[0].topics[0], SideBridge.DepositsApproved.selector);
        assertEq(logs[0].topics[1], bytes32(uint256(uint160(validatorAddrs[0]))));
        assertEq(abi.decode(logs[0].data, (bytes)), packed);

        (uint256 votes,) = side.depositVotes(_depositId(ts[0]));
        assertEq(votes, 1, "the repeat in the batch counted once");
        for (uint256 v = 1; v < THRESHOLD; ++v) {
            vm.prank(validatorAddrs[v]);
            side.approveDeposits(ts);
        }
        assertEq(wrapped.balanceOf(bob), 111);
        for (uint256 i; i < 3; ++i) {
            (uint256 n, bool executed) = side.depositVotes(_depositId(ts[i]));
            assertEq(n, THRESHOLD);
            assertTrue(executed);
        }
        assertFalse(side.isDepositDone(257));
    }

    /// @dev Two contents for one nonce are two records: each counts only its own voters, the
    /// first to reach the threshold mints, and the nonce is then closed to every other content.
    function test_approveDeposits_nonceMintsAtMostOnceWhicheverContentWins() public {
        Transfer memory t = _deposit(5, bob, AMOUNT);
        Transfer memory other = _deposit(5, carol, AMOUNT * 2);
        vm.prank(validatorAddrs[0]);
        side.approveDeposits(_one(t));
        for (uint256 i = 1; i <= THRESHOLD; ++i) {
            vm.prank(validatorAddrs[i]);
            side.approveDeposits(_one(other));
        }
        assertEq(wrapped.balanceOf(carol), AMOUNT * 2, "a threshold agreed on this content");
        (uint256 votes, bool executed) = side.depositVotes(_depositId(t));
        assertEq(votes, 1);
        assertFalse(executed);

        // t can never mint now: further votes are skipped, executeDeposit is refused
        for (uint256 i = 1; i < N_VALIDATORS; ++i) {
            vm.prank(validatorAddrs[i]);
            side.approveDeposits(_one(t));
        }
        (votes, executed) = side.depositVotes(_depositId(t));
        assertEq(votes, 1);
        assertFalse(executed);
        vm.expectRevert(abi.encodeWithSelector(SideBridge.NotReady.selector, 5));
        side.executeDeposit(t);
        assertEq(wrapped.balanceOf(bob), 0);
        assertEq(wrapped.totalSupply(), AMOUNT * 2);
    }

    function test_approveDeposits_nonValidatorReverts() public {
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(Quorum.NotValidator.selector, outsider));
        side.approveDeposits(_one(_deposit(0, bob, AMOUNT)));

        // a removed validator is an outsider too
        address removed = validatorAddrs[4];
        side.removeValidator(removed);
        vm.prank(removed);
        vm.expectRevert(abi.encodeWithSelector(Quorum.NotValidator.selector, removed));
        side.approveDeposits(_one(_deposit(0, bob, AMOUNT)));
    }

    function test_approveDeposits_wrongRouteReverts() public {
        Transfer memory t = _withdrawal(0, bob, AMOUNT); // side -> main presented as a deposit
        vm.prank(validatorAddrs[0]);
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.WrongRoute.selector, SIDE_CHAIN_ID, mainChainId));
        side.approveDeposits(_one(t));
    }

    /// A deposit locked on another main-chain bridge (or aimed at another side bridge) is no
    /// deposit of this route, whoever votes for it.
    function test_approveDeposits_anotherBridgeReverts() public {
        Transfer memory t = _deposit(0, bob, AMOUNT);
        address rogue = makeAddr("rogueMainBridge");
        t.srcBridge = rogue;
        vm.prank(validatorAddrs[0]);
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.WrongBridges.selector, rogue, address(side)));
        side.approveDeposits(_one(t));

        t = _deposit(0, bob, AMOUNT);
        t.dstBridge = rogue;
        vm.prank(validatorAddrs[0]);
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.WrongBridges.selector, address(main), rogue));
        side.approveDeposits(_one(t));
    }

    /// @dev A rotation re-indexes the set (the newcomer sorts in among the others); votes
    /// already cast keep counting for the validators still in it.
    function test_approveDeposits_votesSurviveSetChange() public {
        Transfer memory t = _deposit(0, bob, AMOUNT);
        bytes32 id = _depositId(t);
        _approve(t, THRESHOLD - 1);

        address newcomer = address(1); // sorts first: every index moves
        side.rotateValidator(validatorAddrs[4], newcomer);
        side.setValidatorThreshold(THRESHOLD); // same value, still a new set version
        assertEq(side.validatorSetVersion(), 3);
        (uint256 votes, bool executed) = side.depositVotes(id);
        assertEq(votes, THRESHOLD - 1, "a set change does not reset votes");
        assertFalse(executed);
        for (uint256 i; i < THRESHOLD - 1; ++i) {
            assertTrue(side.hasVotedDeposit(validatorAddrs[i], id));
        }
        assertFalse(side.hasVotedDeposit(newcomer, id));

        // the vote that reaches the threshold mints; nobody votes again
        vm.expectEmit(true, true, true, true, address(side));
        emit SideBridge.DepositExecuted(0, id, bob, address(wrapped), AMOUNT);
        vm.prank(validatorAddrs[THRESHOLD - 1]);
        side.approveDeposits(_one(t));
        assertEq(wrapped.balanceOf(bob), AMOUNT);

        // the newcomer's late vote is skipped
        vm.prank(newcomer);
        side.approveDeposits(_one(t));
        assertEq(wrapped.totalSupply(), AMOUNT);
        (votes, executed) = side.depositVotes(id);
        assertEq(votes, THRESHOLD);
        assertTrue(executed);
    }

    /// @dev Only current validators' votes count: a removed validator's vote no longer counts.
    function test_approveDeposits_removedValidatorVoteStopsCounting() public {
        Transfer memory t = _deposit(0, bob, AMOUNT);
        bytes32 id = _depositId(t);
        _approve(t, THRESHOLD - 1);
        address removed = validatorAddrs[0];
        side.removeValidator(removed);

        (uint256 votes,) = side.depositVotes(id);
        assertEq(votes, THRESHOLD - 2);
        assertFalse(side.hasVotedDeposit(removed, id), "not a current validator");

        // the third vote cast is only the second that counts
        vm.prank(validatorAddrs[THRESHOLD - 1]);
        side.approveDeposits(_one(t));
        assertEq(wrapped.totalSupply(), 0);
        (votes,) = side.depositVotes(id);
        assertEq(votes, THRESHOLD - 1);
        vm.expectRevert(abi.encodeWithSelector(SideBridge.NotReady.selector, 0));
        side.executeDeposit(t);

        // one more current validator reaches the threshold
        vm.prank(validatorAddrs[THRESHOLD]);
        side.approveDeposits(_one(t));
        assertEq(wrapped.balanceOf(bob), AMOUNT);
        (uint256 counted, bool executed) = side.depositVotes(id);
        assertEq(counted, THRESHOLD);
        assertTrue(executed);
    }

    /// @dev A validator removed and added back keeps exactly the votes it cast for each content
    /// — never a vote for content it did not vote for (votes were once per nonce, and a
    /// returning key's old bit counted for other content).
    function test_approveDeposits_returningValidatorCountsOnlyItsOwnContent() public {
        Transfer memory t = _deposit(9, bob, AMOUNT);
        Transfer memory forged = _deposit(9, carol, AMOUNT * 1000);
        address returning = validatorAddrs[0];
        vm.prank(returning);
        side.approveDeposits(_one(t));
        side.removeValidator(returning);
        vm.prank(validatorAddrs[1]);
        side.approveDeposits(_one(forged));
        vm.prank(validatorAddrs[2]);
        side.approveDeposits(_one(forged));
        side.addValidator(returning, THRESHOLD);

        (uint256 forgedVotes,) = side.depositVotes(_depositId(forged));
        assertEq(forgedVotes, 2, "the returning key never voted for this content");
        (uint256 honestVotes,) = side.depositVotes(_depositId(t));
        assertEq(honestVotes, 1, "its own vote for t is still its own");
        vm.expectRevert(abi.encodeWithSelector(SideBridge.NotReady.selector, 9));
        side.executeDeposit(forged);
        assertEq(wrapped.totalSupply(), 0);
    }

    function test_approveDeposits_unmappedTokenStallsUntilExecuteDeposit() public {
        MockERC20 other = new MockERC20("Other", "OTH", 6);
        Transfer memory t = _deposit(0, bob, 5e6);
        t.token = address(other);
        _approve(t, THRESHOLD - 1);

        vm.expectEmit(true, true, true, true, address(side));
        emit SideBridge.DepositStalled(0, _depositId(t), address(other), SideBridge.Stall.TokenNotMapped);
        vm.prank(validatorAddrs[THRESHOLD - 1]);
        side.approveDeposits(_one(t));
        (uint256 votes, bool executed) = side.depositVotes(_depositId(t));
        assertEq(votes, THRESHOLD);
        assertFalse(executed);

        vm.expectRevert(abi.encodeWithSelector(SideBridge.TokenNotMapped.selector, address(other)));
        side.executeDeposit(t);

        // governance maps the token; anyone executes
        WrappedToken wOther = new WrappedToken("Wrapped Other", "wOTH", 6, address(side), address(other));
        opSide.mapToken(address(wOther), address(other));
        // mapped but inbound still closed: nothing mints
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.InboundDisabled.selector, address(other)));
        side.executeDeposit(t);
        side.setInboundLimits(address(other), OPEN_CAP, 1 days, OPEN_CAP, 1 days);
        vm.expectEmit(true, true, true, true, address(side));
        emit SideBridge.DepositExecuted(0, _depositId(t), bob, address(wOther), 5e6);
        vm.prank(carol);
        side.executeDeposit(t);
        assertEq(wOther.balanceOf(bob), 5e6);
        (, executed) = side.depositVotes(_depositId(t));
        assertTrue(executed);

        vm.expectRevert(abi.encodeWithSelector(SideBridge.NotReady.selector, 0));
        side.executeDeposit(t);
        assertEq(wOther.totalSupply(), 5e6);
    }

    function test_executeDeposit_belowThresholdOrOtherContentNotReady() public {
        Transfer memory t = _deposit(0, bob, AMOUNT);
        vm.expectRevert(abi.encodeWithSelector(SideBridge.NotReady.selector, 0));
        side.executeDeposit(t);
        _approve(t, THRESHOLD - 1);
        vm.expectRevert(abi.encodeWithSelector(SideBridge.NotReady.selector, 0));
        side.executeDeposit(t);
        assertEq(wrapped.totalSupply(), 0);
    }

    /// @dev Lowering the threshold does not void votes: the current validators' votes already cast
    /// suffice, and anyone mints with executeDeposit (NotReady before the change).
    function test_executeDeposit_mintsAfterThresholdLowered() public {
        side.setValidatorThreshold(4);
        Transfer memory t = _deposit(0, bob, AMOUNT);
        _approve(t, 3);
        vm.expectRevert(abi.encodeWithSelector(SideBridge.NotReady.selector, 0));
        side.executeDeposit(t);
        assertEq(wrapped.totalSupply(), 0);

        side.setValidatorThreshold(3);
        // other content for the same nonce is still not ready
        vm.expectRevert(abi.encodeWithSelector(SideBridge.NotReady.selector, 0));
        side.executeDeposit(_deposit(0, carol, AMOUNT));

        vm.expectEmit(true, true, true, true, address(side));
        emit SideBridge.DepositExecuted(0, _depositId(t), bob, address(wrapped), AMOUNT);
        vm.prank(carol);
        side.executeDeposit(t);
        assertEq(wrapped.balanceOf(bob), AMOUNT);
        (uint256 votes, bool executed) = side.depositVotes(_depositId(t));
        assertEq(votes, 3);
        assertTrue(executed);

        // exactly once: neither executeDeposit nor a late vote mints again
        vm.expectRevert(abi.encodeWithSelector(SideBridge.NotReady.selector, 0));
        side.executeDeposit(t);
        vm.prank(validatorAddrs[3]);
        side.approveDeposits(_one(t));
        assertFalse(side.hasVotedDeposit(validatorAddrs[3], _depositId(t)));
        assertEq(wrapped.totalSupply(), AMOUNT);
    }

    // ---------------------------------------------------------------- burn

    function test_burn_burnsAndEmitsBurnedWithMainChainId() public {
        _mintWrapped(alice, AMOUNT);
        Transfer memory w = _withdrawal(0, bob, AMOUNT);
        _onMain();
        bytes32 mainId = main.hashTransfer(w);
        assertEq(side.mainDomainSeparator(), main.domainSeparator());
        _onSide();
        assertEq(side.withdrawalId(w), mainId, "withdrawal id is the main bridge's release digest");

        vm.expectEmit(true, true, true, true, address(side));
        emit SideBridge.Burned(
            0, address(token), alice, bob, AMOUNT, 0, address(wrapped), mainId, mainChainId, address(main)
        );
        vm.prank(alice);
        uint64 nonce = side.burn(address(wrapped), AMOUNT, bob);

        assertEq(nonce, 0);
        assertEq(side.outboundNonce(), 1);
        assertEq(wrapped.balanceOf(alice), 0);
        assertEq(wrapped.totalSupply(), 0);
        assertTrue(side.isBurned(mainId));
        (uint256 signers, bool ready) = side.withdrawalSignatures(mainId);
        assertEq(signers, 0);
        assertFalse(ready);
        assertFalse(side.hasSignedWithdrawal(validatorAddrs[0], mainId));
    }

    /// A side chain paired with a one-route MainBridge cannot start a chained transfer: that
    /// bridge pays only withdrawals naming itself, so the burn would be lost.
    function test_burnTo_refusedUnlessTheMainBridgeIsAHub() public {
        _mintWrapped(alice, AMOUNT);
        _onSide();
        vm.prank(alice);
        vm.expectRevert(SideBridge.NotChained.selector);
        side.burnTo(address(wrapped), AMOUNT, 0xB1, makeAddr("sideB"), bob);
        assertEq(wrapped.balanceOf(alice), AMOUNT);
    }

    /// Paired with a hub, a burn names another side chain's bridge: the event and the id (under
    /// the hub's domain, which releases it) carry that destination, validators can sign it,
    /// and the destination bridge itself is refused as a recipient.
    function test_burnTo_namesAnotherSideChainUnderTheHubsDomain() public {
        _onSide();
        Operational op2 = new Operational(address(this), address(0), feeSide);
        SideBridge chained =
            new SideBridge(address(this), address(0), op2, mainChainId, address(main), true, validatorAddrs, THRESHOLD);
        op2.setBridge(address(chained));
        WrappedToken w2 = new WrappedToken("W", "W", 18, address(chained), address(token));
        op2.mapToken(address(w2), address(token));
        vm.prank(address(chained));
        w2.mint(alice, AMOUNT);
        address sideB = makeAddr("sideB");

        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.BridgeRecipient.selector, sideB));
        chained.burnTo(address(w2), AMOUNT, 0xB1, sideB, sideB);

        Transfer memory t = Transfer({
            srcChainId: SIDE_CHAIN_ID,
            srcBridge: address(chained),
            dstChainId: 0xB1,
            dstBridge: sideB,
            nonce: 0,
            token: address(token),
            sender: alice,
            recipient: bob,
            amount: AMOUNT
        });
        bytes32 id = chained.withdrawalId(t);
        _onMain();
        assertEq(id, main.hashTransfer(t), "the hub's domain, whatever the destination");
        _onSide();
        vm.expectEmit(true, true, true, true, address(chained));
        emit SideBridge.Burned(0, address(token), alice, bob, AMOUNT, 0, address(w2), id, 0xB1, sideB);
        vm.prank(alice);
        chained.burnTo(address(w2), AMOUNT, 0xB1, sideB, bob);
        assertTrue(chained.isBurned(id));
        assertEq(w2.totalSupply(), 0);
    }

    function test_burn_feeIsMintedToFeeRecipient() public {
        opSide.setFees(address(wrapped), 50, 1e18, 0); // 0.5% + 1 flat
        _mintWrapped(alice, 100e18);
        uint256 fee = 1e18 + 100e18 * 50 / 10_000;
        vm.prank(alice);
        side.burn(address(wrapped), 100e18, bob);
        assertEq(wrapped.balanceOf(alice), 0);
        assertEq(wrapped.balanceOf(feeSide), fee);
        assertEq(wrapped.totalSupply(), fee, "the fee stays wrapped");
    }

    function test_burn_rejectsZeroAmount() public {
        vm.prank(alice);
        vm.expectRevert(BridgeBase.ZeroAmount.selector);
        side.burn(address(wrapped), 0, bob);
    }

    function test_burn_rejectsZeroRecipient() public {
        _mintWrapped(alice, AMOUNT);
        vm.prank(alice);
        vm.expectRevert(BridgeBase.ZeroRecipient.selector);
        side.burn(address(wrapped), AMOUNT, address(0));
    }

    function test_burn_rejectsUnmappedToken() public {
        WrappedToken stray = new WrappedToken("Stray", "STR", 18, address(side), makeAddr("strayMain"));
        vm.prank(address(side));
        stray.mint(alice, AMOUNT);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Operational.TokenNotMapped.selector, address(stray)));
        side.burn(address(stray), AMOUNT, bob);
        assertEq(stray.balanceOf(alice), AMOUNT);
    }

    function test_burn_moreThanBalanceReverts() public {
        _mintWrapped(alice, AMOUNT);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, alice, AMOUNT, AMOUNT + 1)
        );
        side.burn(address(wrapped), AMOUNT + 1, bob);
        assertEq(side.outboundNonce(), 0);
    }

    // ---------------------------------------------------------------- submitSignatures

    function _burned(uint256 amount, address recipient) internal returns (Transfer memory w, bytes32 id) {
        _mintWrapped(alice, amount);
        uint64 nonce = side.outboundNonce();
        vm.prank(alice);
        side.burn(address(wrapped), amount, recipient);
        w = _withdrawal(nonce, recipient, amount);
        id = side.withdrawalId(w);
    }

    function test_submitSignatures_readyForRelayAtThreshold() public {
        (Transfer memory w, bytes32 id) = _burned(AMOUNT, bob);

        for (uint256 i; i < THRESHOLD - 1; ++i) {
            bytes memory sig = _sign(validatorKeys[i], id);
            vm.expectEmit(true, true, true, true, address(side));
            emit SideBridge.SignatureSubmitted(0, id, validatorAddrs[i], sig);
            vm.prank(validatorAddrs[i]);
            side.submitSignatures(_one(w), sig);
        }
        (uint256 signers, bool ready) = side.withdrawalSignatures(id);
        assertEq(signers, THRESHOLD - 1);
        for (uint256 i; i < N_VALIDATORS; ++i) {
            assertEq(side.hasSignedWithdrawal(validatorAddrs[i], id), i < THRESHOLD - 1);
        }
        assertFalse(ready);

        bytes memory last = _sign(validatorKeys[THRESHOLD - 1], id);
        vm.expectEmit(true, true, true, true, address(side));
        emit SideBridge.SignatureSubmitted(0, id, validatorAddrs[THRESHOLD - 1], last);
        vm.expectEmit(true, true, true, true, address(side));
        emit SideBridge.ReadyForRelay(0, id);
        vm.prank(validatorAddrs[THRESHOLD - 1]);
        side.submitSignatures(_one(w), last);
        (signers, ready) = side.withdrawalSignatures(id);
        assertEq(signers, THRESHOLD);
        assertTrue(ready);

        // one more signature is still published, but ReadyForRelay fires once
        vm.recordLogs();
        vm.prank(validatorAddrs[THRESHOLD]);
        side.submitSignatures(_one(w), _sign(validatorKeys[THRESHOLD], id));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(_countLogs(logs, address(side), SideBridge.SignatureSubmitted.selector), 1);
        assertEq(_countLogs(logs, address(side), SideBridge.ReadyForRelay.selector), 0);

        // a repeat by the same validator is a no-op
        vm.recordLogs();
        vm.prank(validatorAddrs[0]);
        side.submitSignatures(_one(w), _sign(validatorKeys[0], id));
        assertEq(vm.getRecordedLogs().length, 0);
    }

    function test_submitSignatures_batch() public {
        (Transfer memory w0, bytes32 id0) = _burned(AMOUNT, bob);
        (Transfer memory w1, bytes32 id1) = _burned(AMOUNT / 2, carol);
        Transfer[] memory ws = new Transfer[](2);
        ws[0] = w0;
        ws[1] = w1;
        for (uint256 i; i < THRESHOLD; ++i) {
            vm.prank(validatorAddrs[i]);
            side.submitSignatures(ws, bytes.concat(_sign(validatorKeys[i], id0), _sign(validatorKeys[i], id1)));
        }
        (uint256 signers0, bool ready0) = side.withdrawalSignatures(id0);
        (uint256 signers1, bool ready1) = side.withdrawalSignatures(id1);
        assertEq(signers0, THRESHOLD);
        assertEq(signers1, THRESHOLD);
        assertTrue(ready0 && ready1);
    }

    function test_submitSignatures_signatureByOtherThanSenderReverts() public {
        (Transfer memory w, bytes32 id) = _burned(AMOUNT, bob);
        // validator 0 relays validator 1's (valid) signature as its own
        vm.prank(validatorAddrs[0]);
        vm.expectRevert(abi.encodeWithSelector(Quorum.InvalidSignature.selector, 0));
        side.submitSignatures(_one(w), _sign(validatorKeys[1], id));

        // a garbage signature is refused with the same error
        vm.prank(validatorAddrs[0]);
        vm.expectRevert(abi.encodeWithSelector(Quorum.InvalidSignature.selector, 0));
        side.submitSignatures(_one(w), new bytes(65));

        (uint256 signers,) = side.withdrawalSignatures(id);
        assertEq(signers, 0);
        assertFalse(side.hasSignedWithdrawal(validatorAddrs[0], id));
    }

    function test_submitSignatures_unknownWithdrawalReverts() public {
        // nothing burned with nonce 3
        Transfer memory w = _withdrawal(3, bob, AMOUNT);
        bytes memory sig = _sign(validatorKeys[0], side.withdrawalId(w));
        vm.prank(validatorAddrs[0]);
        vm.expectRevert(abi.encodeWithSelector(SideBridge.UnknownWithdrawal.selector, 3));
        side.submitSignatures(_one(w), sig);

        // a burned nonce with different content
        (Transfer memory real,) = _burned(AMOUNT, bob);
        real.recipient = carol;
        sig = _sign(validatorKeys[0], side.withdrawalId(real));
        vm.prank(validatorAddrs[0]);
        vm.expectRevert(abi.encodeWithSelector(SideBridge.UnknownWithdrawal.selector, 0));
        side.submitSignatures(_one(real), sig);
    }

    function test_submitSignatures_malformedAndNonValidatorRevert() public {
        (Transfer memory w, bytes32 id) = _burned(AMOUNT, bob);
        bytes memory sig = _sign(validatorKeys[0], id);
        vm.prank(validatorAddrs[0]);
        vm.expectRevert(abi.encodeWithSelector(Quorum.MalformedSignatures.selector, 130));
        side.submitSignatures(_one(w), bytes.concat(sig, sig));

        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(Quorum.NotValidator.selector, outsider));
        side.submitSignatures(_one(w), _sign(outsiderKey, id));
    }

    /// @dev A set change does not reset signatures; a removed validator's signature stays
    /// published but no longer counts (MainBridge.release would refuse it too). ReadyForRelay is
    /// announced once, when the current signers first reach the threshold.
    function test_submitSignatures_removedValidatorSignatureStopsCounting() public {
        (Transfer memory w, bytes32 id) = _burned(AMOUNT, bob);
        for (uint256 i; i < THRESHOLD - 1; ++i) {
            vm.prank(validatorAddrs[i]);
            side.submitSignatures(_one(w), _sign(validatorKeys[i], id));
        }
        side.setValidatorThreshold(THRESHOLD); // same value, still a new set version
        assertEq(side.validatorSetVersion(), 2);
        (uint256 signers, bool ready) = side.withdrawalSignatures(id);
        assertEq(signers, THRESHOLD - 1, "a set change does not reset signatures");

        address removed = validatorAddrs[0];
        side.removeValidator(removed);
        (signers,) = side.withdrawalSignatures(id);
        assertEq(signers, THRESHOLD - 2);
        assertFalse(side.hasSignedWithdrawal(removed, id), "not a current validator");

        // the third signature published is only the second that counts: not ready
        vm.recordLogs();
        vm.prank(validatorAddrs[THRESHOLD - 1]);
        side.submitSignatures(_one(w), _sign(validatorKeys[THRESHOLD - 1], id));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(_countLogs(logs, address(side), SideBridge.SignatureSubmitted.selector), 1);
        assertEq(_countLogs(logs, address(side), SideBridge.ReadyForRelay.selector), 0);
        (signers, ready) = side.withdrawalSignatures(id);
        assertEq(signers, THRESHOLD - 1);
        assertFalse(ready);

        // the next current validator reaches the threshold
        vm.expectEmit(true, true, true, true, address(side));
        emit SideBridge.ReadyForRelay(0, id);
        vm.prank(validatorAddrs[THRESHOLD]);
        side.submitSignatures(_one(w), _sign(validatorKeys[THRESHOLD], id));
        (signers, ready) = side.withdrawalSignatures(id);
        assertEq(signers, THRESHOLD);
        assertTrue(ready);

        // a later removal lowers the count, but the announcement stays and is not repeated
        side.removeValidator(validatorAddrs[1]);
        (signers, ready) = side.withdrawalSignatures(id);
        assertEq(signers, THRESHOLD - 1);
        assertTrue(ready);
        vm.recordLogs();
        vm.prank(validatorAddrs[THRESHOLD + 1]);
        side.submitSignatures(_one(w), _sign(validatorKeys[THRESHOLD + 1], id));
        logs = vm.getRecordedLogs();
        assertEq(_countLogs(logs, address(side), SideBridge.SignatureSubmitted.selector), 1);
        assertEq(_countLogs(logs, address(side), SideBridge.ReadyForRelay.selector), 0);
        (signers, ready) = side.withdrawalSignatures(id);
        assertEq(signers, THRESHOLD);
        assertTrue(ready);
    }

    // ---------------------------------------------------------------- status views

    /// @dev One call answers for many deposits: votes for exactly each content, the asked-about
    /// validator's vote, execution, the nonce taken by other content, and the queue.
    function test_depositStatus_answersForABatch() public {
        side.setInboundLimits(address(token), OPEN_CAP, 1 days, AMOUNT, 1 hours);
        Transfer memory minted = _deposit(0, bob, AMOUNT);
        Transfer memory voted = _deposit(1, bob, AMOUNT);
        Transfer memory queued = _deposit(2, bob, AMOUNT + 1);
        Transfer memory displaced = _deposit(0, carol, AMOUNT); // other content at nonce 0
        _approve(minted, THRESHOLD);
        _approve(voted, 1);
        _approve(queued, THRESHOLD);
        bytes32[] memory ids = new bytes32[](4);
        uint64[] memory nonces = new uint64[](4);
        (ids[0], ids[1], ids[2], ids[3]) =
        (_depositId(minted), _depositId(voted), _depositId(queued), _depositId(displaced));
        (nonces[0], nonces[1], nonces[2], nonces[3]) = (0, 1, 2, 0);
        SideBridge.DepositStatus[] memory st = side.depositStatus(validatorAddrs[0], ids, nonces);
        assertEq(st[0].votes, THRESHOLD);
        assertTrue(st[0].voted && st[0].executed && st[0].nonceTaken);
        assertEq(st[0].eta, 0);
        assertEq(st[1].votes, 1);
        assertTrue(st[1].voted);
        assertFalse(st[1].executed || st[1].nonceTaken);
        assertTrue(st[2].executed && st[2].nonceTaken);
        assertEq(st[2].eta, block.timestamp + 1 hours);
        assertEq(st[3].votes, 0);
        assertFalse(st[3].voted || st[3].executed);
        assertTrue(st[3].nonceTaken, "another content took its nonce");
        st = side.depositStatus(validatorAddrs[4], ids, nonces);
        assertFalse(st[0].voted, "validator 4 did not vote");
        vm.expectRevert(SideBridge.LengthMismatch.selector);
        side.depositStatus(validatorAddrs[0], ids, new uint64[](3));
    }

    function test_withdrawalStatus_answersForABatch() public {
        (Transfer memory w, bytes32 id) = _burned(AMOUNT, bob);
        for (uint256 i; i < THRESHOLD; ++i) {
            vm.prank(validatorAddrs[i]);
            side.submitSignatures(_one(w), _sign(validatorKeys[i], id));
        }
        bytes32[] memory ids = new bytes32[](2);
        ids[0] = id;
        ids[1] = keccak256("never burned");
        SideBridge.WithdrawalStatus[] memory st = side.withdrawalStatus(validatorAddrs[1], ids);
        assertEq(st[0].signers, THRESHOLD);
        assertTrue(st[0].signed && st[0].ready && st[0].burned);
        assertFalse(st[1].burned || st[1].ready);
        assertEq(st[1].signers, 0);
        st = side.withdrawalStatus(validatorAddrs[4], ids);
        assertFalse(st[0].signed);
    }
}
