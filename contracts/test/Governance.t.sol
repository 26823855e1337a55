// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {BridgeTestBase} from "./Base.t.sol";

import {AuthorityGovernance} from "../src/AuthorityGovernance.sol";
import {BridgeBase} from "../src/BridgeBase.sol";
import {Operational} from "../src/Operational.sol";
import {MainBridge} from "../src/MainBridge.sol";
import {Governed} from "../src/Governed.sol";
import {Transfer} from "../src/Transfer.sol";
import {Quorum} from "../src/Quorum.sol";

/// @notice AuthorityGovernance: membership rules, the proposal lifecycle (vote, timelock,
/// expiry, cancel), replay protection across chains, and governance owning the bridge and its
/// Operational contract.
contract GovernanceTest is BridgeTestBase {
    uint256 internal constant DELAY = 2 days;
    uint256 internal constant MIN_DELAY = 1 hours;
    uint256 internal constant GOV_THRESHOLD = 2;

    AuthorityGovernance internal gov;
    uint256[] internal memberKeys;
    address[] internal members;

    function setUp() public override {
        super.setUp();
        (memberKeys, members) = _makeValidators(3, 0x6000);
        gov = new AuthorityGovernance(members, GOV_THRESHOLD, DELAY, MIN_DELAY, address(this));
        // the system again, governed by `gov`, configured with this contract as the setup key
        _deploy(address(gov), address(this));
        main.finishSetup();
        side.finishSetup();
        opMain.finishSetup();
        opSide.finishSetup();
        gov.bindOperational(opMain);
    }

    function _newGov(uint256 threshold_) internal returns (AuthorityGovernance) {
        return new AuthorityGovernance(members, threshold_, DELAY, MIN_DELAY, address(0));
    }

    function _propose(address target, bytes memory data) internal returns (bytes32 id) {
        vm.prank(members[0]);
        id = gov.propose(target, data);
    }

    /// @dev Proposes, reaches the threshold and waits out the delay; returns the ready proposal.
    function _queue(address target, bytes memory data) internal returns (bytes32 id) {
        id = _propose(target, data);
        vm.prank(members[1]);
        gov.vote(id);
        skip(DELAY);
        assertEq(uint8(gov.state(id)), uint8(AuthorityGovernance.State.Ready));
    }

    function _notReady(bytes32 id, AuthorityGovernance.State s, uint256 eta) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(AuthorityGovernance.NotReady.selector, id, s, eta);
    }

    // ---------------------------------------------------------------- construction and members

    function test_gov_constructorRejectsThresholdZeroOrAboveMembers() public {
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.InvalidThreshold.selector, 0, 3));
        _newGov(0);
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.InvalidThreshold.selector, 4, 3));
        _newGov(4);
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.DelayTooLong.selector, 30 days + 1));
        new AuthorityGovernance(members, 2, 30 days + 1, MIN_DELAY, address(0));
    }

    function test_gov_rejectsDuplicateZeroAndSelfMember() public {
        address[] memory dup = new address[](3);
        dup[0] = members[0];
        dup[1] = members[1];
        dup[2] = members[0];
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.MemberExists.selector, members[0]));
        new AuthorityGovernance(dup, 2, DELAY, MIN_DELAY, address(0));

        dup[2] = address(0);
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.InvalidMember.selector, address(0)));
        new AuthorityGovernance(dup, 2, DELAY, MIN_DELAY, address(0));

        address predicted = vm.computeCreateAddress(address(this), vm.getNonce(address(this)));
        dup[2] = predicted;
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.InvalidMember.selector, predicted));
        new AuthorityGovernance(dup, 2, DELAY, MIN_DELAY, address(0));

        // and through proposals on a live council
        bytes32 id = _queue(address(gov), abi.encodeCall(AuthorityGovernance.addMember, (members[2], 3)));
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.MemberExists.selector, members[2]));
        gov.execute(id);
        id = _queue(address(gov), abi.encodeCall(AuthorityGovernance.addMember, (address(0), 3)));
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.InvalidMember.selector, address(0)));
        gov.execute(id);
        id = _queue(address(gov), abi.encodeCall(AuthorityGovernance.addMember, (address(gov), 3)));
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.InvalidMember.selector, address(gov)));
        gov.execute(id);
        assertEq(gov.members().length, 3);
    }

    function test_gov_removingMemberBelowThresholdReverts() public {
        AuthorityGovernance strict = _newGov(3);
        vm.prank(members[0]);
        bytes32 id = strict.propose(address(strict), abi.encodeCall(AuthorityGovernance.removeMember, (members[2])));
        vm.prank(members[1]);
        strict.vote(id);
        vm.prank(members[2]);
        strict.vote(id);
        skip(DELAY);
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.InvalidThreshold.selector, 3, 2));
        strict.execute(id);
        assertTrue(strict.isMember(members[2]));
        assertEq(uint8(strict.state(id)), uint8(AuthorityGovernance.State.Ready), "a failed execution is undone");

        // with threshold 2 of 3 the same removal goes through
        id = _queue(address(gov), abi.encodeCall(AuthorityGovernance.removeMember, (members[2])));
        vm.expectEmit(true, true, true, true, address(gov));
        emit AuthorityGovernance.MemberRemoved(members[2]);
        gov.execute(id);
        assertFalse(gov.isMember(members[2]));
        assertEq(gov.members().length, 2);
    }

    // ---------------------------------------------------------------- voting

    function test_gov_doubleVoteReverts() public {
        bytes32 id = _propose(address(main), abi.encodeCall(BridgeBase.setValidatorThreshold, (4)));
        // the proposer already voted by proposing
        vm.prank(members[0]);
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.AlreadyVoted.selector, id, members[0]));
        gov.vote(id);

        vm.prank(members[1]);
        gov.vote(id);
        vm.prank(members[1]);
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.AlreadyVoted.selector, id, members[1]));
        gov.vote(id);

        // a signature vote from someone who already voted on-chain
        bytes memory sig = _sign(memberKeys[1], gov.voteDigest(id));
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.AlreadyVoted.selector, id, members[1]));
        gov.voteBySig(id, sig);
        assertEq(gov.currentVotes(id), 2);
    }

    function test_gov_nonMemberCannotProposeOrVote() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.NotMember.selector, alice));
        gov.propose(address(main), abi.encodeCall(BridgeBase.setValidatorThreshold, (4)));

        bytes32 id = _propose(address(main), abi.encodeCall(BridgeBase.setValidatorThreshold, (4)));
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.NotMember.selector, alice));
        gov.vote(id);

        bytes memory sig = _sign(outsiderKey, gov.voteDigest(id));
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.NotMember.selector, outsider));
        gov.voteBySig(id, sig);

        vm.expectRevert(AuthorityGovernance.InvalidVoteSignature.selector);
        gov.voteBySig(id, new bytes(65));
        assertEq(gov.currentVotes(id), 1);
    }

    function test_gov_voteBySigCountsAndQueues() public {
        bytes32 id = _propose(address(main), abi.encodeCall(BridgeBase.setValidatorThreshold, (4)));
        bytes memory sig = _sign(memberKeys[2], gov.voteDigest(id));
        vm.expectEmit(true, true, true, true, address(gov));
        emit AuthorityGovernance.ProposalQueued(id, block.timestamp + DELAY);
        vm.prank(alice); // anyone relays
        gov.voteBySig(id, sig);
        assertTrue(gov.hasVoted(id, members[2]));
        assertEq(uint8(gov.state(id)), uint8(AuthorityGovernance.State.Queued));
    }

    function test_gov_voteOnUnknownProposalReverts() public {
        bytes32 id = keccak256("nothing");
        vm.prank(members[0]);
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.UnknownProposal.selector, id));
        gov.vote(id);
    }

    // ---------------------------------------------------------------- proposal replay across chains

    /// @dev The same council runs another governance contract on the side chain. A proposal made
    /// on the main chain is unknown there, the same call proposed there gets another id, and a
    /// vote signature made for one does not count on the other.
    function test_gov_proposalReplayOnOtherChain() public {
        bytes memory data = abi.encodeCall(BridgeBase.setValidatorThreshold, (4));
        bytes32 id = _propose(address(main), data);
        bytes memory sig = _sign(memberKeys[1], gov.voteDigest(id));
        bytes32 mainDigest = gov.voteDigest(id);

        _onSide();
        AuthorityGovernance sideGov = _newGov(GOV_THRESHOLD);
        assertEq(uint8(sideGov.state(id)), uint8(AuthorityGovernance.State.Unknown));
        vm.prank(members[1]);
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.UnknownProposal.selector, id));
        sideGov.vote(id);

        // the same call with the same nonce (0) is a different proposal there
        vm.prank(members[0]);
        bytes32 sideId = sideGov.propose(address(main), data);
        assertTrue(sideId != id);
        assertEq(sideGov.proposalCount(), 1);
        assertEq(gov.proposalCount(), 1);

        // the main-chain vote signature recovers to a stranger on the side-chain contract
        address recovered = _recoverAt(sig, 0, sideGov.voteDigest(sideId));
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.NotMember.selector, recovered));
        sideGov.voteBySig(sideId, sig);
        recovered = _recoverAt(sig, 0, sideGov.voteDigest(id));
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.NotMember.selector, recovered));
        sideGov.voteBySig(id, sig);

        // even the original contract, seen from another chain id (a fork), refuses it
        assertTrue(gov.voteDigest(id) != mainDigest);
        assertTrue(gov.proposalId(0, address(main), data) != id);
        recovered = _recoverAt(sig, 0, gov.voteDigest(id));
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.NotMember.selector, recovered));
        gov.voteBySig(id, sig);

        // back on its own chain it counts
        _onMain();
        gov.voteBySig(id, sig);
        assertEq(gov.currentVotes(id), 2);
        assertEq(sideGov.currentVotes(sideId), 1);
    }

    // ---------------------------------------------------------------- timelock and expiry

    function test_gov_executeBeforeEtaReverts() public {
        bytes32 id = _propose(address(main), abi.encodeCall(BridgeBase.setValidatorThreshold, (4)));
        vm.expectRevert(_notReady(id, AuthorityGovernance.State.Voting, 0));
        gov.execute(id);

        vm.prank(members[1]);
        gov.vote(id);
        uint256 eta = block.timestamp + DELAY;
        (,,,, uint64 storedEta,,) = gov.getProposal(id);
        assertEq(storedEta, eta);

        vm.expectRevert(_notReady(id, AuthorityGovernance.State.Queued, eta));
        gov.execute(id);
        skip(DELAY - 1);
        vm.expectRevert(_notReady(id, AuthorityGovernance.State.Queued, eta));
        gov.execute(id);
        assertEq(main.validatorThreshold(), THRESHOLD);

        skip(1);
        vm.expectEmit(true, true, true, true, address(gov));
        emit AuthorityGovernance.ProposalExecuted(id);
        gov.execute(id);
        assertEq(main.validatorThreshold(), 4);
        assertEq(uint8(gov.state(id)), uint8(AuthorityGovernance.State.Executed));

        vm.expectRevert(_notReady(id, AuthorityGovernance.State.Executed, eta));
        gov.execute(id);
    }

    function test_gov_executeAfterExpiryReverts() public {
        bytes32 id = _queue(address(main), abi.encodeCall(BridgeBase.setValidatorThreshold, (4)));
        (,,,, uint64 eta,,) = gov.getProposal(id);
        skip(gov.GRACE_PERIOD()); // exactly at eta + grace: still executable window's last second
        assertEq(uint8(gov.state(id)), uint8(AuthorityGovernance.State.Ready));
        skip(1);
        assertEq(uint8(gov.state(id)), uint8(AuthorityGovernance.State.Expired));
        vm.expectRevert(_notReady(id, AuthorityGovernance.State.Expired, eta));
        gov.execute(id);
        assertEq(main.validatorThreshold(), THRESHOLD);

        // a proposal that never reaches the threshold expires after the voting period
        bytes32 stale = _propose(address(main), abi.encodeCall(BridgeBase.setValidatorThreshold, (1)));
        skip(gov.VOTING_PERIOD() + 1);
        vm.prank(members[1]);
        vm.expectRevert(
            abi.encodeWithSelector(AuthorityGovernance.NotVoting.selector, stale, AuthorityGovernance.State.Expired)
        );
        gov.vote(stale);
    }

    function test_gov_cancelAndCancelledCannotExecute() public {
        bytes32 id = _queue(address(main), abi.encodeCall(BridgeBase.setValidatorThreshold, (4)));
        (,,,, uint64 eta,,) = gov.getProposal(id);

        // strangers (and validators) cannot cancel
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.NotCanceller.selector, alice));
        gov.cancel(id);
        vm.prank(validatorAddrs[0]);
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.NotCanceller.selector, validatorAddrs[0]));
        gov.cancel(id);

        vm.expectEmit(true, true, true, true, address(gov));
        emit AuthorityGovernance.ProposalCanceled(id);
        vm.prank(members[0]);
        gov.cancel(id);
        assertEq(uint8(gov.state(id)), uint8(AuthorityGovernance.State.Canceled));

        vm.expectRevert(_notReady(id, AuthorityGovernance.State.Canceled, eta));
        gov.execute(id);
        vm.prank(members[0]);
        vm.expectRevert(
            abi.encodeWithSelector(AuthorityGovernance.NotVoting.selector, id, AuthorityGovernance.State.Canceled)
        );
        gov.cancel(id);
        vm.prank(members[2]);
        vm.expectRevert(
            abi.encodeWithSelector(AuthorityGovernance.NotVoting.selector, id, AuthorityGovernance.State.Canceled)
        );
        gov.vote(id);
        assertEq(main.validatorThreshold(), THRESHOLD);

        bytes32 unknown = keccak256("unknown");
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.UnknownProposal.selector, unknown));
        gov.cancel(unknown);
    }

    function test_gov_removedMembersVotesNoLongerCount() public {
        bytes32 id = _queue(address(main), abi.encodeCall(BridgeBase.setValidatorThreshold, (4)));
        // members[1], who voted for `id`, is removed before it executes
        bytes32 removal = _propose(address(gov), abi.encodeCall(AuthorityGovernance.removeMember, (members[1])));
        vm.prank(members[2]);
        gov.vote(removal);
        skip(DELAY);
        gov.execute(removal);
        assertEq(gov.currentVotes(id), 1);
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.ThresholdNotMet.selector, id, 1, 2));
        gov.execute(id);
    }

    // ---------------------------------------------------------------- self-administration

    function test_gov_changesToGovernanceGoThroughTimelock() public {
        address newcomer = makeAddr("newcomer");
        vm.prank(members[0]);
        vm.expectRevert(AuthorityGovernance.OnlySelf.selector);
        gov.addMember(newcomer, 3);
        vm.expectRevert(AuthorityGovernance.OnlySelf.selector);
        gov.removeMember(members[0]);
        vm.expectRevert(AuthorityGovernance.OnlySelf.selector);
        gov.setThreshold(1);
        vm.expectRevert(AuthorityGovernance.OnlySelf.selector);
        gov.setDelay(0);

        bytes32 add = _propose(address(gov), abi.encodeCall(AuthorityGovernance.addMember, (newcomer, 3)));
        vm.prank(members[1]);
        gov.vote(add);
        vm.expectRevert(_notReady(add, AuthorityGovernance.State.Queued, block.timestamp + DELAY));
        gov.execute(add);
        assertFalse(gov.isMember(newcomer));
        skip(DELAY);
        gov.execute(add);
        assertTrue(gov.isMember(newcomer));
        assertEq(gov.threshold(), 3);

        // the delay itself changes only after waiting out the current delay
        bytes32 shorten = _propose(address(gov), abi.encodeCall(AuthorityGovernance.setDelay, (1 hours)));
        for (uint256 i = 1; i < 3; ++i) {
            vm.prank(members[i]);
            gov.vote(shorten);
        }
        skip(DELAY);
        gov.execute(shorten);
        assertEq(gov.delay(), 1 hours);

        bytes32 tooLong = _propose(address(gov), abi.encodeCall(AuthorityGovernance.setDelay, (31 days)));
        for (uint256 i = 1; i < 3; ++i) {
            vm.prank(members[i]);
            gov.vote(tooLong);
        }
        skip(1 hours);
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.DelayTooLong.selector, 31 days));
        gov.execute(tooLong);
    }

    // ---------------------------------------------------------------- governance owns the bridge

    function test_gov_drivesBridgeValidatorSetAndOperational() public {
        // the setup key is gone for good
        vm.expectRevert(abi.encodeWithSelector(Governed.NotGovernance.selector, address(this)));
        main.addValidator(outsider, 4);
        vm.expectRevert(abi.encodeWithSelector(Governed.NotGovernance.selector, address(this)));
        opMain.setFees(address(token), 10, 0, 0);
        assertEq(main.setupKey(), address(0));
        vm.expectRevert(abi.encodeWithSelector(Governed.NotSetupKey.selector, address(this)));
        main.finishSetup();

        bytes32 id = _queue(address(main), abi.encodeCall(BridgeBase.addValidator, (outsider, 4)));
        gov.execute(id);
        assertTrue(main.isValidator(outsider));
        assertEq(main.validatorSetVersion(), 2);

        id = _queue(address(opMain), abi.encodeCall(Operational.setFees, (address(token), 10, 0, 0)));
        gov.execute(id);
        assertEq(opMain.tokenConfig(address(token)).feeBps, 10);

        // a bridge rule is still enforced when governance asks: removing below the threshold
        id = _queue(address(main), abi.encodeCall(BridgeBase.setValidatorThreshold, (N_VALIDATORS + 1)));
        gov.execute(id);
        id = _queue(address(main), abi.encodeCall(BridgeBase.removeValidator, (outsider)));
        vm.expectRevert(abi.encodeWithSelector(Quorum.InvalidThreshold.selector, N_VALIDATORS + 1, N_VALIDATORS));
        gov.execute(id);
    }

    function test_gov_guardianPausesGovernanceUnpauses() public {
        vm.prank(guardian);
        opMain.pause();
        assertTrue(main.paused());

        vm.prank(guardian);
        vm.expectRevert(abi.encodeWithSelector(Governed.NotGovernance.selector, guardian));
        opMain.unpause();
        vm.expectRevert(abi.encodeWithSelector(Governed.NotGovernance.selector, address(this)));
        opMain.unpause(); // the former setup key cannot

        bytes32 id = _queue(address(opMain), abi.encodeCall(Operational.unpause, ()));
        gov.execute(id);
        assertFalse(main.paused());

        // and the released bridge works again
        token.mint(address(main), 1e18);
        Transfer memory w = _withdrawal(0, bob, 1e18);
        main.release(w, _signRelease(w, THRESHOLD));
        assertEq(token.balanceOf(bob), 1e18);
    }

    // ---------------------------------------------------------------- floors (finding 5)

    /// @dev A captured quorum used to set the delay to 0 and then act in the same block. The
    /// floor fixed at deployment holds: setDelay below it reverts, whatever the votes.
    function test_gov_delayCannotGoBelowTheFloor() public {
        assertEq(gov.minDelay(), MIN_DELAY);
        bytes32 zero = _queue(address(gov), abi.encodeCall(AuthorityGovernance.setDelay, (0)));
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.DelayTooShort.selector, 0, MIN_DELAY));
        gov.execute(zero);
        bytes32 under = _queue(address(gov), abi.encodeCall(AuthorityGovernance.setDelay, (MIN_DELAY - 1)));
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.DelayTooShort.selector, MIN_DELAY - 1, MIN_DELAY));
        gov.execute(under);
        assertEq(gov.delay(), DELAY);

        // and no deployment gets a floor under a minute, or a delay under its floor
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.DelayTooShort.selector, 59, 60));
        new AuthorityGovernance(members, 2, DELAY, 59, address(0));
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.DelayTooShort.selector, 0, MIN_DELAY));
        new AuthorityGovernance(members, 2, 0, MIN_DELAY, address(0));
    }

    /// @dev A 1-of-n (or half) member threshold lets one key (or one camp) govern alone: it is
    /// refused at construction, by setThreshold, and when members are added.
    function test_gov_memberThresholdMustBeStrictMajority() public {
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.InvalidThreshold.selector, 1, 3));
        _newGov(1);
        bytes32 one = _queue(address(gov), abi.encodeCall(AuthorityGovernance.setThreshold, (1)));
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.InvalidThreshold.selector, 1, 3));
        gov.execute(one);
        // 2 of 4 is half, not a majority: adding a member needs the threshold raised with it
        bytes32 add = _queue(address(gov), abi.encodeCall(AuthorityGovernance.addMember, (alice, 2)));
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.InvalidThreshold.selector, 2, 4));
        gov.execute(add);
        assertFalse(gov.isMember(alice));
        assertEq(gov.threshold(), GOV_THRESHOLD);
    }

    // ---------------------------------------------------------------- cancel (finding 5)

    /// @dev A captured quorum queues a malicious proposal; one honest guardian (or member who
    /// did not propose it) cancels it during the timelock.
    function test_gov_guardianOrAnyMemberCancelsAQueuedProposal() public {
        bytes memory evil = abi.encodeCall(BridgeBase.addValidator, (outsider, 4));
        bytes32 id = _queue(address(main), evil);
        vm.prank(guardian);
        gov.cancel(id);
        assertEq(uint8(gov.state(id)), uint8(AuthorityGovernance.State.Canceled));

        id = _queue(address(main), evil);
        vm.prank(members[2]); // neither proposed nor voted
        gov.cancel(id);
        vm.expectRevert(_notReady(id, AuthorityGovernance.State.Canceled, block.timestamp));
        gov.execute(id);
        assertFalse(main.isValidator(outsider));

        // a removed guardian has lost the right (and nobody but its proposer cancels its removal)
        id = _queue(address(main), evil);
        opMain.isGuardian(guardian2);
        bytes32 removal = _queue(address(opMain), abi.encodeCall(Operational.removeGuardian, (guardian2)));
        vm.prank(guardian);
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.RemovalNotCancelable.selector, removal, guardian));
        gov.cancel(removal);
        gov.execute(removal);
        vm.prank(guardian2);
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.NotCanceller.selector, guardian2));
        gov.cancel(id);
    }

    /// @dev A stolen member or guardian key would veto its own removal forever; it cannot. Nor
    /// can any other member or guardian (a second stolen key shielding the first): only the
    /// proposer cancels a removal. A rotation stays cancelable by anyone but its subject.
    function test_gov_nobodyCancelsTheirOwnRemoval() public {
        bytes32 memberOut = _queue(address(gov), abi.encodeCall(AuthorityGovernance.removeMember, (members[2])));
        vm.prank(members[2]);
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.CannotCancelOwnRemoval.selector, members[2]));
        gov.cancel(memberOut);
        bytes32 memberRotated =
            _queue(address(gov), abi.encodeCall(AuthorityGovernance.rotateMember, (members[2], alice)));
        vm.prank(members[2]);
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.CannotCancelOwnRemoval.selector, members[2]));
        gov.cancel(memberRotated);
        bytes32 guardianOut = _queue(address(opMain), abi.encodeCall(Operational.removeGuardian, (guardian)));
        vm.prank(guardian);
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.CannotCancelOwnRemoval.selector, guardian));
        gov.cancel(guardianOut);

        // nor does anyone else but the proposer, and the removals go through
        vm.prank(members[1]);
        vm.expectRevert(
            abi.encodeWithSelector(AuthorityGovernance.RemovalNotCancelable.selector, memberOut, members[1])
        );
        gov.cancel(memberOut);
        vm.prank(guardian2);
        vm.expectRevert(
            abi.encodeWithSelector(AuthorityGovernance.RemovalNotCancelable.selector, guardianOut, guardian2)
        );
        gov.cancel(guardianOut);
        gov.execute(guardianOut);
        assertFalse(opMain.isGuardian(guardian));
        gov.execute(memberRotated);
        assertFalse(gov.isMember(members[2]));
        assertTrue(gov.isMember(alice));
        assertEq(gov.members().length, 3);
        // the proposer may withdraw its own removal proposal
        vm.prank(members[0]);
        gov.cancel(memberOut);
        assertEq(uint8(gov.state(memberOut)), uint8(AuthorityGovernance.State.Canceled));

        // others still cancel a rotation
        bytes32 rotation = _queue(address(gov), abi.encodeCall(AuthorityGovernance.rotateMember, (alice, bob)));
        vm.prank(guardian2);
        gov.cancel(rotation);
        assertEq(uint8(gov.state(rotation)), uint8(AuthorityGovernance.State.Canceled));
    }

    // ---------------------------------------------------------------- pause holds (finding 5)

    /// @dev While a guardian holds the bridge paused, a queued proposal that would add a key or
    /// change a setting waits; unpausing and taking keys away (validators, members, guardians,
    /// forged queued transfers) go through.
    function test_gov_pauseHoldsQueuedProposalsExceptKeyRemoval() public {
        bytes32 addKey = _queue(address(main), abi.encodeCall(BridgeBase.addValidator, (outsider, 4)));
        bytes32 fees = _queue(address(opMain), abi.encodeCall(Operational.setFees, (address(token), 10, 0, 0)));
        bytes32 rotate = _queue(address(main), abi.encodeCall(BridgeBase.rotateValidator, (validatorAddrs[0], bob)));
        bytes32 removeV = _queue(address(main), abi.encodeCall(BridgeBase.removeValidator, (validatorAddrs[1])));
        bytes32 removeM = _queue(address(gov), abi.encodeCall(AuthorityGovernance.removeMember, (members[2])));
        bytes32 removeG = _queue(address(opMain), abi.encodeCall(Operational.removeGuardian, (guardian2)));
        bytes32 unpause = _queue(address(opMain), abi.encodeCall(Operational.unpause, ()));

        vm.prank(guardian);
        opMain.pause();
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.HeldByPause.selector, addKey));
        gov.execute(addKey);
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.HeldByPause.selector, fees));
        gov.execute(fees);

        gov.execute(rotate);
        gov.execute(removeV);
        gov.execute(removeM);
        // one removal of a canceller per delay
        vm.expectRevert(
            abi.encodeWithSelector(AuthorityGovernance.RemovalTooSoon.selector, removeG, block.timestamp + DELAY)
        );
        gov.execute(removeG);
        skip(DELAY);
        gov.execute(removeG);
        assertTrue(main.isValidator(bob));
        assertFalse(main.isValidator(validatorAddrs[0]));
        assertFalse(main.isValidator(validatorAddrs[1]));
        assertFalse(gov.isMember(members[2]));
        assertFalse(opMain.isGuardian(guardian2));
        assertTrue(main.paused());

        gov.execute(unpause);
        assertFalse(main.paused());
        gov.execute(fees);
        assertEq(opMain.tokenConfig(address(token)).feeBps, 10);
        assertEq(uint8(gov.state(addKey)), uint8(AuthorityGovernance.State.Ready), "held, not lost");
    }

    // ---------------------------------------------------------------- ownership (finding 3)

    /// @dev The old contracts let one proposal call `transferOwnership(eoa)` on the bridge and on
    /// Operational: that key then changed validators, threshold and pause at once, with no
    /// timelock, and released all custody in one block. No such call exists any more: the
    /// proposal executes nothing and governance stays put.
    function test_gov_noProposalMovesControlToAnEoa() public {
        address attacker = makeAddr("attacker");
        bytes memory handOver = abi.encodeWithSignature("transferOwnership(address)", attacker);
        bytes32 onBridge = _queue(address(main), handOver);
        bytes32 onOps = _queue(address(opMain), handOver);
        vm.expectRevert();
        gov.execute(onBridge);
        vm.expectRevert();
        gov.execute(onOps);
        bytes32 renounce = _queue(address(main), abi.encodeWithSignature("renounceOwnership()"));
        vm.expectRevert();
        gov.execute(renounce);
        assertEq(main.governance(), address(gov));
        assertEq(opMain.governance(), address(gov));

        // the attacker has no power over either
        vm.startPrank(attacker);
        vm.expectRevert(abi.encodeWithSelector(Governed.NotGovernance.selector, attacker));
        main.addValidator(attacker, 4);
        vm.expectRevert(abi.encodeWithSelector(Governed.NotGovernance.selector, attacker));
        opMain.unpause();
        vm.stopPrank();
    }

    /// @dev The deployer binds Operational once; nobody else, and never again.
    function test_gov_operationalIsBoundOnce() public {
        assertEq(address(gov.operational()), address(opMain));
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.NotBinder.selector, address(this)));
        gov.bindOperational(opSide);
        AuthorityGovernance fresh = new AuthorityGovernance(members, 2, DELAY, MIN_DELAY, alice);
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.NotBinder.selector, address(this)));
        fresh.bindOperational(opMain);
        vm.prank(alice);
        fresh.bindOperational(opMain);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.NotBinder.selector, alice));
        fresh.bindOperational(opSide);
    }

    // ---------------------------------------------------------------- custody and guardians

    /// @dev A captured quorum cannot move custody by a direct call: the bridge pays out only
    /// through `release` / `executeQueued` (validator signatures, inbound limits), and a call
    /// governance makes to the token spends governance's own balance, not the bridge's.
    function test_gov_cannotMoveCustodyByADirectCall() public {
        token.mint(address(main), 1_000e18);
        address attacker = makeAddr("attacker");
        Transfer memory t = _withdrawal(0, attacker, 1_000e18);
        bytes32 noSigs = _queue(address(main), abi.encodeCall(MainBridge.release, (t, "")));
        vm.expectRevert(abi.encodeWithSelector(Quorum.MalformedSignatures.selector, 0));
        gov.execute(noSigs);
        bytes32 pull = _queue(
            address(token), abi.encodeWithSignature("transferFrom(address,address,uint256)", main, attacker, 1e18)
        );
        vm.expectRevert();
        gov.execute(pull);
        bytes32 push = _queue(address(token), abi.encodeWithSignature("transfer(address,uint256)", attacker, 1e18));
        vm.expectRevert();
        gov.execute(push);
        assertEq(token.balanceOf(address(main)), 1_000e18);
        assertEq(token.balanceOf(attacker), 0);
    }

    /// @dev A guardian pauses and holds, and nothing else: no setting, no unpause, no funds.
    function test_guardian_cannotChangeSettingsOrMoveFunds() public {
        bytes memory err = abi.encodeWithSelector(Governed.NotGovernance.selector, guardian);
        vm.startPrank(guardian);
        vm.expectRevert(err);
        opMain.setFees(address(token), 1000, 0, 0);
        vm.expectRevert(err);
        opMain.setFeeRecipient(guardian);
        vm.expectRevert(err);
        opMain.addGuardian(alice);
        vm.expectRevert(err);
        main.setInboundLimits(address(token), 1, 60, 1, 60);
        vm.expectRevert(err);
        main.addValidator(guardian, 4);
        vm.expectRevert(err);
        main.cancelTransfer(bytes32(0));
        opMain.pause();
        vm.expectRevert(err);
        opMain.unpause();
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.NotMember.selector, guardian));
        gov.propose(address(opMain), abi.encodeCall(Operational.unpause, ()));
        vm.stopPrank();
        assertTrue(main.paused());
    }
}
