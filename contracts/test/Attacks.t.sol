// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {BridgeTestBase} from "./Base.t.sol";
import {Vm} from "./utils/ForgeStd.sol";

import {BridgeBase} from "../src/BridgeBase.sol";
import {MainBridge} from "../src/MainBridge.sol";
import {SideBridge} from "../src/SideBridge.sol";
import {WrappedToken} from "../src/WrappedToken.sol";
import {Transfer} from "../src/Transfer.sol";

import {MockERC20} from "./mocks/MockERC20.sol";
import {SilentToken, SilentWrapped} from "./mocks/SilentToken.sol";

/// @notice The review's findings, each tried the way an attacker would. Every test here passed
/// for the attacker on the contracts before full binding (votes tied to 78 bits of the digest,
/// first content wins, no inbound limit, no balance check, bridges accepted as recipients).
/// Findings 3, 5 and 6 live with their contracts: `GovernanceTest.test_gov_noProposalMovesControlToAnEoa`,
/// the floors in `GovernanceTest` and `ValidatorsTest`, `OperationalTest.test_fees_flatFeeCannotTakeMoreThanTheCap`;
/// finding 4 in `InboundLimitsTest`.
contract AttacksTest is BridgeTestBase {
    uint256 internal constant AMOUNT = 40e18;

    address internal attacker = makeAddr("attacker");

    function setUp() public override {
        super.setUp();
        _onSide();
    }

    // ---------------------------------------------------------------- finding 1: forged mint

    /// @dev The depositor's honest-looking deposit h is stalled at the threshold (its token is
    /// mapped on main, not yet on side). Before, votes were bound to 78 bits of the digest: the
    /// depositor grinds (birthday search, ~2^39 hashes) a content f — a mapped token, any amount,
    /// itself as recipient — sharing those bits, and anyone's `executeDeposit(f)` minted f. Now a
    /// vote counts only for the full 256-bit digest it was cast for: f has no votes at all.
    function test_attack1_stalledDepositCannotBeExecutedAsOtherContent() public {
        MockERC20 fresh = new MockERC20("Fresh", "FRS", 18);
        Transfer memory h = _deposit(0, bob, 1e18);
        h.token = address(fresh);
        _approve(h, THRESHOLD); // stalls: not mapped on side
        (uint256 votes, bool executed) = side.depositVotes(_depositId(h));
        assertEq(votes, THRESHOLD);
        assertFalse(executed);

        Transfer memory f = _deposit(0, attacker, 1_000_000e18);
        vm.prank(attacker);
        vm.expectRevert(abi.encodeWithSelector(SideBridge.NotReady.selector, 0));
        side.executeDeposit(f);
        assertEq(wrapped.balanceOf(attacker), 0);

        // the honest content still mints, exactly once, once its token is mapped
        WrappedToken wFresh = new WrappedToken("Wrapped Fresh", "wFRS", 18, address(side), address(fresh));
        opSide.mapToken(address(wFresh), address(fresh));
        side.setInboundLimits(address(fresh), OPEN_CAP, 1 days, OPEN_CAP, 1 days);
        side.executeDeposit(h);
        assertEq(wFresh.balanceOf(bob), 1e18);
        vm.expectRevert(abi.encodeWithSelector(SideBridge.NotReady.selector, 0));
        side.executeDeposit(f);
        assertEq(wrapped.totalSupply(), 0);
    }

    /// @dev The same forgery by one malicious validator casting the threshold vote: it votes f
    /// (same nonce) instead of h. Its vote counts for f alone; h's two honest votes stay h's; the
    /// next honest vote mints h.
    function test_attack1_maliciousThresholdVoterCannotSubstituteContent() public {
        Transfer memory h = _deposit(3, bob, AMOUNT);
        Transfer memory f = _deposit(3, attacker, AMOUNT * 1000);
        _approve(h, THRESHOLD - 1);
        address malicious = validatorAddrs[THRESHOLD - 1];
        vm.prank(malicious);
        side.approveDeposits(_one(f));
        assertEq(wrapped.totalSupply(), 0);
        (uint256 fVotes,) = side.depositVotes(_depositId(f));
        assertEq(fVotes, 1);
        vm.expectRevert(abi.encodeWithSelector(SideBridge.NotReady.selector, 3));
        side.executeDeposit(f);

        vm.prank(validatorAddrs[THRESHOLD]);
        side.approveDeposits(_one(h));
        assertEq(wrapped.balanceOf(bob), AMOUNT);
        assertEq(wrapped.balanceOf(attacker), 0);
        assertEq(wrapped.totalSupply(), AMOUNT);
    }

    /// @dev Whatever content f the attacker picks for h's nonce, threshold-1 honest votes for h
    /// plus every vote the attacker controls (one validator) never make f mintable.
    function testFuzz_attack1_votesForOneContentNeverCountForAnother(
        address recipient,
        uint256 amount,
        address forgedToken,
        address sender
    ) public {
        Transfer memory h = _deposit(11, bob, AMOUNT);
        Transfer memory f = Transfer({
            srcChainId: mainChainId,
            srcBridge: address(main),
            dstChainId: SIDE_CHAIN_ID,
            dstBridge: address(side),
            nonce: 11,
            token: forgedToken,
            sender: sender,
            recipient: recipient,
            amount: amount
        });
        vm.assume(_depositId(f) != _depositId(h));
        _approve(h, THRESHOLD - 1);
        vm.prank(validatorAddrs[N_VALIDATORS - 1]);
        side.approveDeposits(_one(f));
        (uint256 fVotes,) = side.depositVotes(_depositId(f));
        assertEq(fVotes, 1);
        vm.expectRevert(abi.encodeWithSelector(SideBridge.NotReady.selector, 11));
        side.executeDeposit(f);
        assertEq(wrapped.totalSupply(), 0);
    }

    // ---------------------------------------------------------------- finding 2: one validator freezes

    /// @dev One hot key below the threshold votes junk for today's and the next 50 nonces in one
    /// batch. Before, the first content voted for a nonce won while any current validator backed
    /// it: every honest vote bounced (`VoteConflict`) and nothing minted until governance removed
    /// the key. Now junk is a record of its own: every honest deposit mints on the threshold
    /// vote, and each honest vote is counted the first time it is sent.
    function test_attack2_junkPreVotesDoNotFreezeDeposits() public {
        uint256 n = 50;
        Transfer[] memory junk = new Transfer[](n);
        Transfer[] memory honest = new Transfer[](n);
        for (uint64 i; i < n; ++i) {
            junk[i] = _deposit(i, attacker, 1);
            honest[i] = _deposit(i, bob, AMOUNT + i);
        }
        vm.prank(validatorAddrs[0]);
        side.approveDeposits(junk);

        for (uint256 v = 1; v <= THRESHOLD; ++v) {
            vm.recordLogs();
            vm.prank(validatorAddrs[v]);
            side.approveDeposits(honest);
            Vm.Log[] memory logs = vm.getRecordedLogs();
            for (uint256 i; i < logs.length; ++i) {
                if (logs[i].topics[0] == SideBridge.DepositsApproved.selector) {
                    assertEq(abi.decode(logs[i].data, (bytes)).length, n * 40, "every honest vote counted");
                }
            }
            for (uint256 i; i < n; ++i) {
                assertTrue(side.hasVotedDeposit(validatorAddrs[v], _depositId(honest[i])), "nothing to resend");
            }
        }
        for (uint64 i; i < n; ++i) {
            (, bool executed) = side.depositVotes(_depositId(honest[i]));
            assertTrue(executed);
            (uint256 junkVotes, bool junkExecuted) = side.depositVotes(_depositId(junk[i]));
            assertEq(junkVotes, 1);
            assertFalse(junkExecuted);
        }
        assertEq(wrapped.balanceOf(attacker), 0);
        assertEq(wrapped.balanceOf(bob), n * AMOUNT + n * (n - 1) / 2);
    }

    /// @dev The junk voter goes first on a live nonce and again last: still one mint, of h.
    function test_attack2_junkVoteFirstAndLastOnLiveNonce() public {
        Transfer memory h = _deposit(0, bob, AMOUNT);
        vm.startPrank(validatorAddrs[0]);
        side.approveDeposits(_one(_deposit(0, attacker, 1)));
        side.approveDeposits(_one(_deposit(0, attacker, 2)));
        vm.stopPrank();
        _approveFrom(h, 1, THRESHOLD + 1);
        vm.prank(validatorAddrs[0]);
        side.approveDeposits(_one(_deposit(0, attacker, 3)));
        assertEq(wrapped.balanceOf(bob), AMOUNT);
        assertEq(wrapped.totalSupply(), AMOUNT);
    }

    // ---------------------------------------------------------------- finding 7: silent tokens, bridge recipients

    /// @dev A mapped token whose `transfer` succeeds and moves nothing: before, the withdrawal
    /// was marked processed and `Released` emitted with nothing paid (and the nonce burned).
    /// Now the recipient's balance must grow by the amount, or the release reverts whole.
    function test_attack7_silentTokenReleaseReverts() public {
        _onMain();
        SilentToken silent = new SilentToken();
        main.setInboundLimits(address(silent), OPEN_CAP, 1 days, OPEN_CAP, 1 days);
        silent.mint(address(main), 100e18);
        silent.setSilent(true);
        Transfer memory t = _withdrawal(0, bob, 10e18);
        t.token = address(silent);
        bytes memory sigs = _signRelease(t, THRESHOLD);
        vm.recordLogs();
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.BalanceMismatch.selector, bob, 10e18, 0));
        main.release(t, sigs);
        assertEq(_countLogs(vm.getRecordedLogs(), address(main), MainBridge.Released.selector), 0);
        assertFalse(main.isProcessed(0), "the withdrawal can still be paid once the token pays");

        silent.setSilent(false);
        main.release(t, sigs);
        assertEq(silent.balanceOf(bob), 10e18);
    }

    /// @dev The same for a mint: a "wrapped token" mapped by mistake whose mint does nothing.
    function test_attack7_silentMintReverts() public {
        MockERC20 other = new MockERC20("Other", "OTH", 18);
        SilentWrapped silent = new SilentWrapped(address(side));
        opSide.mapToken(address(silent), address(other));
        side.setInboundLimits(address(other), OPEN_CAP, 1 days, OPEN_CAP, 1 days);
        Transfer memory t = _deposit(0, bob, 5e18);
        t.token = address(other);
        _approve(t, THRESHOLD - 1);
        vm.prank(validatorAddrs[THRESHOLD - 1]);
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.BalanceMismatch.selector, bob, 5e18, 0));
        side.approveDeposits(_one(t));
        assertFalse(side.isDepositDone(0));
    }

    /// @dev A lock or burn naming a bridge as recipient would strand the tokens: refused.
    function test_attack7_lockAndBurnRefuseBridgeRecipients() public {
        _onMain();
        token.mint(alice, 10e18);
        vm.startPrank(alice);
        token.approve(address(main), 10e18);
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.BridgeRecipient.selector, address(side)));
        main.lock(address(token), 1e18, address(side));
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.BridgeRecipient.selector, address(main)));
        main.lock(address(token), 1e18, address(main));
        vm.stopPrank();

        _onSide();
        _mintWrapped(alice, 10e18);
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.BridgeRecipient.selector, address(main)));
        side.burn(address(wrapped), 1e18, address(main));
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.BridgeRecipient.selector, address(side)));
        side.burn(address(wrapped), 1e18, address(side));
        vm.stopPrank();
        assertEq(token.balanceOf(alice), 10e18);
        assertEq(wrapped.balanceOf(alice), 10e18);
        assertEq(main.outboundNonce(), 0);
        assertEq(side.outboundNonce(), 0);
    }

    /// @dev Validators `from` up to (not including) `to` vote for `t`.
    function _approveFrom(Transfer memory t, uint256 from, uint256 to) internal {
        for (uint256 i = from; i < to; ++i) {
            vm.prank(validatorAddrs[i]);
            side.approveDeposits(_one(t));
        }
    }
}
