// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {BridgeTestBase} from "./Base.t.sol";

import {AuthorityGovernance} from "../src/AuthorityGovernance.sol";
import {BridgeBase} from "../src/BridgeBase.sol";
import {Operational} from "../src/Operational.sol";

/// @notice Who can veto what, as the two attackers of the threat model play it: two stolen
/// keys (a member and a guardian) who would shield each other from removal and cancel every
/// proposal for good, and a captured quorum that would strip every honest canceller at once.
/// Four members, threshold 3; guardians `guardian` and `guardian2`.
contract GovernanceVetoTest is BridgeTestBase {
    uint256 internal constant DELAY = 2 days;
    uint256 internal constant MIN_DELAY = 1 hours;
    uint256 internal constant GOV_THRESHOLD = 3;

    AuthorityGovernance internal gov;
    address[] internal members;
    address internal attacker = makeAddr("attacker");

    function setUp() public override {
        super.setUp();
        (, members) = _makeValidators(4, 0x7000);
        gov = new AuthorityGovernance(members, GOV_THRESHOLD, DELAY, MIN_DELAY, address(this));
        _deploy(address(gov), address(this));
        main.finishSetup();
        side.finishSetup();
        opMain.finishSetup();
        opSide.finishSetup();
        gov.bindOperational(opMain);
    }

    /// @dev `by[0]` proposes, the others vote: queued with the threshold reached.
    function _queueBy(address[3] memory by, address target, bytes memory data) internal returns (bytes32 id) {
        vm.prank(by[0]);
        id = gov.propose(target, data);
        for (uint256 i = 1; i < 3; ++i) {
            vm.prank(by[i]);
            gov.vote(id);
        }
    }

    function _cancelReverts(address by, bytes32 id, bytes memory err) internal {
        vm.prank(by);
        vm.expectRevert(err);
        gov.cancel(id);
    }

    // ---------------------------------------------------------------- two stolen keys

    /// @dev Finding 3: rogue member M and rogue guardian G used to cancel each other's removal
    /// (and every other proposal) forever. A removal of a canceller can now be canceled by its
    /// proposer alone: both go, one delay apart, and the governance they vetoed works again.
    function test_attack3_rogueMemberAndGuardianCannotShieldEachOther() public {
        address rogueM = members[3];
        address rogueG = guardian2;
        address[3] memory honest = [members[0], members[1], members[2]];
        uint256 t0 = block.timestamp;

        bytes32 removeM = _queueBy(honest, address(gov), abi.encodeCall(AuthorityGovernance.removeMember, (rogueM)));
        bytes32 removeG = _queueBy(
            [honest[1], honest[0], honest[2]], address(opMain), abi.encodeCall(Operational.removeGuardian, (rogueG))
        );
        bytes memory rotation = abi.encodeCall(BridgeBase.rotateValidator, (validatorAddrs[0], bob));
        bytes32 rotate = _queueBy(honest, address(main), rotation);

        // their best moves: cancel each other's removal, their own, and everything else
        _cancelReverts(
            rogueG, removeM, abi.encodeWithSelector(AuthorityGovernance.RemovalNotCancelable.selector, removeM, rogueG)
        );
        _cancelReverts(
            rogueM, removeG, abi.encodeWithSelector(AuthorityGovernance.RemovalNotCancelable.selector, removeG, rogueM)
        );
        _cancelReverts(
            rogueM, removeM, abi.encodeWithSelector(AuthorityGovernance.CannotCancelOwnRemoval.selector, rogueM)
        );
        _cancelReverts(
            rogueG, removeG, abi.encodeWithSelector(AuthorityGovernance.CannotCancelOwnRemoval.selector, rogueG)
        );
        vm.prank(rogueM);
        gov.cancel(rotate); // an ordinary proposal: any single key still cancels it
        assertEq(uint8(gov.state(rotate)), uint8(AuthorityGovernance.State.Canceled));

        skip(DELAY);
        gov.execute(removeM);
        assertFalse(gov.isMember(rogueM));
        // one canceller removal per delay: the second waits one more
        vm.expectRevert(
            abi.encodeWithSelector(AuthorityGovernance.RemovalTooSoon.selector, removeG, block.timestamp + DELAY)
        );
        gov.execute(removeG);
        // G still vetoes ordinary proposals while it remains
        rotate = _queueBy(honest, address(main), rotation);
        vm.prank(rogueG);
        gov.cancel(rotate);

        skip(DELAY);
        gov.execute(removeG);
        assertFalse(opMain.isGuardian(rogueG));

        // nobody left can cancel the rotation, and it executes
        rotate = _queueBy(honest, address(main), rotation);
        _cancelReverts(rogueM, rotate, abi.encodeWithSelector(AuthorityGovernance.NotCanceller.selector, rogueM));
        _cancelReverts(rogueG, rotate, abi.encodeWithSelector(AuthorityGovernance.NotCanceller.selector, rogueG));
        skip(DELAY);
        gov.execute(rotate);
        assertTrue(main.isValidator(bob));
        assertFalse(main.isValidator(validatorAddrs[0]));
        assertEq(block.timestamp - t0, 3 * DELAY, "their veto lasted two delays");
    }

    // ---------------------------------------------------------------- a captured quorum

    /// @dev Finding 3, the other side: a captured quorum (three of four members) faces k = 3
    /// honest cancellers (member 3, both guardians); a guardian paused the bridge. Its best
    /// strategy: propose every canceller removal at once (only a proposer cancels those),
    /// execute each as soon as it may, and keep an unpause (its real goal) queued. One
    /// canceller removal per delay, and every other proposal canceled by any remaining honest
    /// key, keep it from unpausing before (k + 1) delays.
    function test_attack3_capturedQuorumNeedsKPlusOneDelaysToStripEveryCanceller() public {
        address[3] memory quorum = [members[0], members[1], members[2]];
        address[3] memory cancellers = [guardian, guardian2, members[3]];
        uint256 k = cancellers.length;
        vm.prank(guardian);
        opMain.pause();
        uint256 t0 = block.timestamp;

        bytes32[] memory removals = new bytes32[](3);
        removals[0] = _queueBy(quorum, address(opMain), abi.encodeCall(Operational.removeGuardian, (guardian)));
        removals[1] = _queueBy(quorum, address(opMain), abi.encodeCall(Operational.removeGuardian, (guardian2)));
        removals[2] = _queueBy(quorum, address(gov), abi.encodeCall(AuthorityGovernance.removeMember, (members[3])));
        bytes32 ordinary = _queueBy(quorum, address(main), abi.encodeCall(BridgeBase.addValidator, (attacker, 4)));
        bytes memory unpauseCall = abi.encodeCall(Operational.unpause, ());
        bytes32 unpause = _queueBy(quorum, address(opMain), unpauseCall);

        // the honest keys cannot cancel the removals, but any one of them cancels the rest
        _cancelReverts(
            guardian2,
            removals[0],
            abi.encodeWithSelector(AuthorityGovernance.RemovalNotCancelable.selector, removals[0], guardian2)
        );
        _cancelReverts(
            members[3],
            removals[1],
            abi.encodeWithSelector(AuthorityGovernance.RemovalNotCancelable.selector, removals[1], members[3])
        );
        vm.startPrank(guardian);
        gov.cancel(ordinary);
        gov.cancel(unpause);
        vm.stopPrank();

        // hour by hour: the quorum executes what it can and re-proposes the unpause whenever it
        // was canceled; then every honest key still in place cancels what it can
        uint256 executedRemovals;
        uint256 lastRemovalAt;
        while (main.paused() && block.timestamp < t0 + 10 * DELAY) {
            for (uint256 i; i < removals.length; ++i) {
                if (gov.state(removals[i]) != AuthorityGovernance.State.Ready) continue;
                try gov.execute(removals[i]) {
                    ++executedRemovals;
                    assertGe(block.timestamp, lastRemovalAt + DELAY, "one canceller removal per delay");
                    lastRemovalAt = block.timestamp;
                } catch {}
            }
            if (gov.state(unpause) == AuthorityGovernance.State.Canceled) {
                unpause = _queueBy(quorum, address(opMain), unpauseCall);
            }
            try gov.execute(unpause) {} catch {}
            for (uint256 i; i < k; ++i) {
                vm.prank(cancellers[i]);
                try gov.cancel(unpause) {} catch {}
            }
            skip(1 hours);
        }

        assertFalse(main.paused(), "the quorum wins in the end");
        assertEq(executedRemovals, k);
        assertEq(opMain.guardians().length, 0);
        assertFalse(gov.isMember(members[3]));
        uint256 elapsed = block.timestamp - 1 hours - t0;
        assertGe(elapsed, (k + 1) * DELAY, "(k + 1) delays at least");
        assertLe(elapsed, (k + 1) * DELAY + 1 hours, "and the bound is tight");
    }
}
