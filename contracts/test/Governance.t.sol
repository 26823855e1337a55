// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {BridgeTestBase} from "./Base.t.sol";

import {AuthorityGovernance} from "../src/AuthorityGovernance.sol";
import {BridgeBase} from "../src/BridgeBase.sol";
import {Operational} from "../src/Operational.sol";
import {Transfer} from "../src/Transfer.sol";

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @notice AuthorityGovernance: membership rules, the proposal lifecycle (vote, timelock,
/// expiry, cancel), replay protection across chains, and governance owning the bridge and its
/// Operational contract.
contract GovernanceTest is BridgeTestBase {
    uint256 internal constant DELAY = 2 days;
    uint256 internal constant GOV_THRESHOLD = 2;

    AuthorityGovernance internal gov;
    uint256[] internal memberKeys;
    address[] internal members;

    function setUp() public override {
        super.setUp();
        (memberKeys, members) = _makeValidators(3, 0x6000);
        gov = new AuthorityGovernance(members, GOV_THRESHOLD, DELAY);
        main.transferOwnership(address(gov));
        opMain.transferOwnership(address(gov));
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
        new AuthorityGovernance(members, 0, DELAY);
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.InvalidThreshold.selector, 4, 3));
        new AuthorityGovernance(members, 4, DELAY);
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.DelayTooLong.selector, 30 days + 1));
        new AuthorityGovernance(members, 2, 30 days + 1);
    }

    function test_gov_rejectsDuplicateZeroAndSelfMember() public {
        address[] memory dup = new address[](3);
        dup[0] = members[0];
        dup[1] = members[1];
        dup[2] = members[0];
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.MemberExists.selector, members[0]));
        new AuthorityGovernance(dup, 2, DELAY);

        dup[2] = address(0);
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.InvalidMember.selector, address(0)));
        new AuthorityGovernance(dup, 2, DELAY);

        address predicted = vm.computeCreateAddress(address(this), vm.getNonce(address(this)));
        dup[2] = predicted;
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.InvalidMember.selector, predicted));
        new AuthorityGovernance(dup, 2, DELAY);

        // and through proposals on a live council
        bytes32 id = _queue(address(gov), abi.encodeCall(AuthorityGovernance.addMember, (members[2])));
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.MemberExists.selector, members[2]));
        gov.execute(id);
        id = _queue(address(gov), abi.encodeCall(AuthorityGovernance.addMember, (address(0))));
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.InvalidMember.selector, address(0)));
        gov.execute(id);
        id = _queue(address(gov), abi.encodeCall(AuthorityGovernance.addMember, (address(gov))));
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.InvalidMember.selector, address(gov)));
        gov.execute(id);
        assertEq(gov.members().length, 3);
    }

    function test_gov_removingMemberBelowThresholdReverts() public {
        AuthorityGovernance strict = new AuthorityGovernance(members, 3, DELAY);
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
        bytes32 id = _propose(address(main), abi.encodeCall(BridgeBase.setValidatorThreshold, (2)));
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
        gov.propose(address(main), abi.encodeCall(BridgeBase.setValidatorThreshold, (2)));

        bytes32 id = _propose(address(main), abi.encodeCall(BridgeBase.setValidatorThreshold, (2)));
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
        bytes32 id = _propose(address(main), abi.encodeCall(BridgeBase.setValidatorThreshold, (2)));
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
        bytes memory data = abi.encodeCall(BridgeBase.setValidatorThreshold, (2));
        bytes32 id = _propose(address(main), data);
        bytes memory sig = _sign(memberKeys[1], gov.voteDigest(id));
        bytes32 mainDigest = gov.voteDigest(id);

        _onSide();
        AuthorityGovernance sideGov = new AuthorityGovernance(members, GOV_THRESHOLD, DELAY);
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
        bytes32 id = _propose(address(main), abi.encodeCall(BridgeBase.setValidatorThreshold, (2)));
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
        assertEq(main.validatorThreshold(), 2);
        assertEq(uint8(gov.state(id)), uint8(AuthorityGovernance.State.Executed));

        vm.expectRevert(_notReady(id, AuthorityGovernance.State.Executed, eta));
        gov.execute(id);
    }

    function test_gov_executeAfterExpiryReverts() public {
        bytes32 id = _queue(address(main), abi.encodeCall(BridgeBase.setValidatorThreshold, (2)));
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

    function test_gov_cancelOnlyProposerAndCancelledCannotExecute() public {
        bytes32 id = _queue(address(main), abi.encodeCall(BridgeBase.setValidatorThreshold, (2)));
        (,,,, uint64 eta,,) = gov.getProposal(id);

        vm.prank(members[1]);
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.NotProposer.selector, members[1]));
        gov.cancel(id);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.NotProposer.selector, alice));
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
        bytes32 id = _queue(address(main), abi.encodeCall(BridgeBase.setValidatorThreshold, (2)));
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
        gov.addMember(newcomer);
        vm.expectRevert(AuthorityGovernance.OnlySelf.selector);
        gov.removeMember(members[0]);
        vm.expectRevert(AuthorityGovernance.OnlySelf.selector);
        gov.setThreshold(1);
        vm.expectRevert(AuthorityGovernance.OnlySelf.selector);
        gov.setDelay(0);

        bytes32 add = _propose(address(gov), abi.encodeCall(AuthorityGovernance.addMember, (newcomer)));
        vm.prank(members[1]);
        gov.vote(add);
        vm.expectRevert(_notReady(add, AuthorityGovernance.State.Queued, block.timestamp + DELAY));
        gov.execute(add);
        assertFalse(gov.isMember(newcomer));
        skip(DELAY);
        gov.execute(add);
        assertTrue(gov.isMember(newcomer));

        // the delay itself changes only after waiting out the current delay
        bytes32 shorten = _queue(address(gov), abi.encodeCall(AuthorityGovernance.setDelay, (1 hours)));
        gov.execute(shorten);
        assertEq(gov.delay(), 1 hours);
        bytes32 raise = _queue(address(gov), abi.encodeCall(AuthorityGovernance.setThreshold, (4)));
        gov.execute(raise);
        assertEq(gov.threshold(), 4);

        bytes32 tooLong = _propose(address(gov), abi.encodeCall(AuthorityGovernance.setDelay, (31 days)));
        for (uint256 i = 1; i < 3; ++i) {
            vm.prank(members[i]);
            gov.vote(tooLong);
        }
        vm.prank(newcomer);
        gov.vote(tooLong);
        skip(1 hours);
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.DelayTooLong.selector, 31 days));
        gov.execute(tooLong);
    }

    // ---------------------------------------------------------------- governance owns the bridge

    function test_gov_drivesBridgeValidatorSetAndOperational() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        main.addValidator(outsider);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        opMain.setFees(address(token), 10, 0, 0);

        bytes32 id = _queue(address(main), abi.encodeCall(BridgeBase.addValidator, (outsider)));
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
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.InvalidThreshold.selector, N_VALIDATORS + 1, N_VALIDATORS));
        gov.execute(id);
    }

    function test_gov_guardianPausesGovernanceUnpauses() public {
        vm.prank(guardian);
        opMain.pause();
        assertTrue(main.paused());

        vm.prank(guardian);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, guardian));
        opMain.unpause();
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        opMain.unpause(); // the former owner no longer can

        bytes32 id = _queue(address(opMain), abi.encodeCall(Operational.unpause, ()));
        gov.execute(id);
        assertFalse(main.paused());

        // and the released bridge works again
        token.mint(address(main), 1e18);
        Transfer memory w = _withdrawal(0, bob, 1e18);
        main.release(w, _signRelease(w, THRESHOLD));
        assertEq(token.balanceOf(bob), 1e18);
    }
}
