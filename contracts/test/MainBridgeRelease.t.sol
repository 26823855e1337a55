// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {BridgeTestBase} from "./Base.t.sol";

import {BridgeBase} from "../src/BridgeBase.sol";
import {BatchRelease} from "../src/BatchRelease.sol";
import {MainBridge} from "../src/MainBridge.sol";
import {SideBridge} from "../src/SideBridge.sol";
import {AuthorityGovernance} from "../src/AuthorityGovernance.sol";
import {Transfer} from "../src/Transfer.sol";
import {Quorum} from "../src/Quorum.sol";

/// @notice MainBridge.release: the signature checks (packed r||s||v, strictly ascending signers,
/// current validators only, threshold) and replay protection.
contract MainBridgeReleaseTest is BridgeTestBase {
    uint256 internal constant AMOUNT = 100e18;

    function setUp() public override {
        super.setUp();
        // custody backing the withdrawals (as if locked earlier)
        token.mint(address(main), 1_000_000e18);
    }

    function _expectReleaseRevert(Transfer memory t, bytes memory sigs, bytes memory err) internal {
        vm.expectRevert(err);
        main.release(t, sigs);
        assertFalse(main.isProcessed(t.nonce), "must not be processed");
        assertEq(token.balanceOf(t.recipient), 0, "recipient must not be paid");
    }

    // ---------------------------------------------------------------- happy path

    function test_release_paysRecipientWithThresholdSignatures() public {
        Transfer memory t = _withdrawal(7, bob, AMOUNT);
        bytes32 id = main.hashTransfer(t);
        assertEq(id, _typedDigest(block.chainid, address(main), t), "digest is EIP-712 over the main domain");
        bytes memory sigs = _signRelease(t, THRESHOLD);
        uint256 custody = token.balanceOf(address(main));

        vm.expectEmit(true, true, true, true, address(main));
        emit MainBridge.Released(7, id, bob, address(token), AMOUNT);
        vm.prank(carol); // anyone may relay
        main.release(t, sigs);

        assertEq(token.balanceOf(bob), AMOUNT);
        assertEq(token.balanceOf(address(main)), custody - AMOUNT);
        assertTrue(main.isProcessed(7));
        assertFalse(main.isProcessed(6));
        assertFalse(main.isProcessed(8));
    }

    // ---------------------------------------------------------------- malformed signatures

    function test_release_rejectsHighSSignature() public {
        Transfer memory t = _withdrawal(0, bob, AMOUNT);
        bytes32 digest = main.hashTransfer(t);
        uint256[] memory keys = _validatorKeys(THRESHOLD);
        // the malleable twin of the second signature: (r, n - s, v ^ 1) recovers the same signer
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(keys[1], digest);
        bytes32 highS = bytes32(SECP256K1_N - uint256(s));
        uint8 flippedV = v == 27 ? 28 : 27;
        assertEq(ecrecover(digest, flippedV, r, highS), validatorAddrs[1], "twin is a valid raw ecrecover");

        bytes memory sigs =
            bytes.concat(_sign(keys[0], digest), abi.encodePacked(r, highS, flippedV), _sign(keys[2], digest));
        _expectReleaseRevert(t, sigs, abi.encodeWithSelector(Quorum.InvalidSignature.selector, 1));
    }

    function test_release_rejectsBadV() public {
        Transfer memory t = _withdrawal(0, bob, AMOUNT);
        bytes32 digest = main.hashTransfer(t);
        uint256[] memory keys = _validatorKeys(THRESHOLD);
        (, bytes32 r, bytes32 s) = vm.sign(keys[2], digest);
        uint8[4] memory badVs = [uint8(0), 1, 29, 255];
        for (uint256 i; i < badVs.length; ++i) {
            bytes memory sigs =
                bytes.concat(_sign(keys[0], digest), _sign(keys[1], digest), abi.encodePacked(r, s, badVs[i]));
            _expectReleaseRevert(t, sigs, abi.encodeWithSelector(Quorum.InvalidSignature.selector, 2));
        }
    }

    function test_release_rejectsDuplicateSigner() public {
        Transfer memory t = _withdrawal(0, bob, AMOUNT);
        bytes32 digest = main.hashTransfer(t);
        uint256[] memory keys = new uint256[](3);
        keys[0] = validatorKeys[0];
        keys[1] = validatorKeys[0];
        keys[2] = validatorKeys[1];
        _expectReleaseRevert(
            t, _signInOrder(keys, digest), abi.encodeWithSelector(Quorum.SignersNotAscending.selector, 1)
        );
    }

    function test_release_rejectsUnsortedSigners() public {
        Transfer memory t = _withdrawal(0, bob, AMOUNT);
        bytes32 digest = main.hashTransfer(t);
        uint256[] memory keys = new uint256[](3);
        keys[0] = validatorKeys[0];
        keys[1] = validatorKeys[2]; // descending step here
        keys[2] = validatorKeys[1];
        _expectReleaseRevert(
            t, _signInOrder(keys, digest), abi.encodeWithSelector(Quorum.SignersNotAscending.selector, 2)
        );

        // fully descending: fails at the second signature already
        keys[0] = validatorKeys[2];
        keys[1] = validatorKeys[1];
        keys[2] = validatorKeys[0];
        _expectReleaseRevert(
            t, _signInOrder(keys, digest), abi.encodeWithSelector(Quorum.SignersNotAscending.selector, 1)
        );
    }

    function test_release_rejectsNonValidatorSigner() public {
        Transfer memory t = _withdrawal(0, bob, AMOUNT);
        uint256[] memory keys = _validatorKeys(THRESHOLD);
        keys[1] = outsiderKey; // sorted into place with the two genuine signers
        _expectReleaseRevert(
            t, _signSorted(keys, main.hashTransfer(t)), abi.encodeWithSelector(Quorum.NotValidator.selector, outsider)
        );
    }

    function test_release_rejectsRemovedValidatorSignature() public {
        Transfer memory t = _withdrawal(0, bob, AMOUNT);
        bytes memory sigs = _signRelease(t, THRESHOLD); // validators 0, 1, 2
        address removed = validatorAddrs[1];

        vm.expectEmit(true, true, true, true, address(main));
        emit BridgeBase.ValidatorRemoved(removed, 2);
        main.removeValidator(removed);
        assertFalse(main.isValidator(removed));

        _expectReleaseRevert(t, sigs, abi.encodeWithSelector(Quorum.NotValidator.selector, removed));
    }

    /// @dev k signatures by distinct random validators against a random threshold: fewer than the
    /// threshold revert with the exact count, the threshold or more release.
    function testFuzz_release_thresholdBoundary(uint256 threshold_, uint256 k, uint256 seed) public {
        threshold_ = bound(threshold_, N_VALIDATORS / 2 + 1, N_VALIDATORS);
        // concentrate k around the threshold
        k = bound(k, threshold_ > 2 ? threshold_ - 2 : 1, threshold_ + 2 > N_VALIDATORS ? N_VALIDATORS : threshold_ + 2);
        if (threshold_ != THRESHOLD) main.setValidatorThreshold(threshold_);

        // k distinct validators chosen by a seeded Fisher-Yates shuffle
        uint256[] memory pool = _copy(validatorKeys);
        for (uint256 i = pool.length - 1; i > 0; --i) {
            uint256 j = uint256(keccak256(abi.encode(seed, i))) % (i + 1);
            (pool[i], pool[j]) = (pool[j], pool[i]);
        }
        uint256[] memory keys = new uint256[](k);
        for (uint256 i; i < k; ++i) {
            keys[i] = pool[i];
        }

        // forge-lint: disable-next-line(unsafe-typecast)
        Transfer memory t = _withdrawal(uint64(seed % 1000), bob, AMOUNT);
        bytes memory sigs = _signSorted(keys, main.hashTransfer(t));
        if (k < threshold_) {
            _expectReleaseRevert(t, sigs, abi.encodeWithSelector(Quorum.InsufficientSignatures.selector, k, threshold_));
        } else {
            main.release(t, sigs);
            assertEq(token.balanceOf(bob), AMOUNT);
            assertTrue(main.isProcessed(t.nonce));
        }
    }

    // ---------------------------------------------------------------- wrong domain

    function test_release_rejectsSignatureForAnotherChainId() public {
        Transfer memory t = _withdrawal(0, bob, AMOUNT);
        // signed over the same bridge address and transfer but a domain with another chain id
        bytes32 foreign = _typedDigest(SIDE_CHAIN_ID, address(main), t);
        vm.chainId(SIDE_CHAIN_ID);
        assertEq(main.hashTransfer(t), foreign, "what the bridge would expect on that chain");
        _onMain();
        bytes memory sigs = _signSorted(_validatorKeys(THRESHOLD), foreign);

        address recovered = _recoverAt(sigs, 0, main.hashTransfer(t));
        assertTrue(recovered != validatorAddrs[0] && !main.isValidator(recovered));
        _expectReleaseRevert(t, sigs, abi.encodeWithSelector(Quorum.NotValidator.selector, recovered));
    }

    function test_release_rejectsSignatureForAnotherBridgeAddress() public {
        Transfer memory t = _withdrawal(0, bob, AMOUNT);
        address otherBridge = makeAddr("otherBridge");
        bytes memory sigs = _signSorted(_validatorKeys(THRESHOLD), _typedDigest(block.chainid, otherBridge, t));
        address recovered = _recoverAt(sigs, 0, main.hashTransfer(t));
        _expectReleaseRevert(t, sigs, abi.encodeWithSelector(Quorum.NotValidator.selector, recovered));
    }

    /// @dev A second MainBridge with the same validators, route and token on the same chain: a
    /// release signed for one is worthless on the other, and each pays once.
    function test_releaseSignature_replayedOnAnotherMainBridge() public {
        MainBridge other = _newMainBridge(validatorAddrs, THRESHOLD);
        other.setInboundLimits(address(token), OPEN_CAP, 1 days, OPEN_CAP, 1 days);
        token.mint(address(other), AMOUNT);
        Transfer memory t = _withdrawal(0, bob, AMOUNT);
        assertTrue(other.hashTransfer(t) != main.hashTransfer(t));

        bytes memory sigs = _signRelease(t, THRESHOLD);
        main.release(t, sigs);
        assertEq(token.balanceOf(bob), AMOUNT);

        // as signed, it names the first bridge as its destination
        other.setSideBridge(address(side));
        vm.expectRevert(abi.encodeWithSelector(BridgeBase.WrongBridges.selector, t.srcBridge, t.dstBridge));
        other.release(t, sigs);
        // re-aimed at the other bridge, the signatures are over other content
        Transfer memory aimed = _withdrawal(0, bob, AMOUNT);
        aimed.dstBridge = address(other);
        address recovered = _recoverAt(sigs, 0, other.hashTransfer(aimed));
        vm.expectRevert(abi.encodeWithSelector(Quorum.NotValidator.selector, recovered));
        other.release(aimed, sigs);
        assertFalse(other.isProcessed(0));
        assertEq(token.balanceOf(address(other)), AMOUNT);
        assertEq(token.balanceOf(bob), AMOUNT);
    }

    /// @dev A withdrawal signature submitted to the side bridge for a transfer it was not made
    /// for (another main bridge's domain, or another burned withdrawal) is refused.
    function test_releaseSignature_replayedOnSideBridge() public {
        MainBridge other = _newMainBridge(validatorAddrs, THRESHOLD);
        _onSide();
        _mintWrapped(alice, 2 * AMOUNT);
        vm.startPrank(alice);
        side.burn(address(wrapped), AMOUNT, bob);
        side.burn(address(wrapped), AMOUNT, carol);
        vm.stopPrank();
        Transfer memory t0 = _withdrawal(0, bob, AMOUNT);
        Transfer memory t1 = _withdrawal(1, carol, AMOUNT);

        // validator 0's release signature for t0 on the other MainBridge (its domain)
        _onMain();
        bytes memory foreign = _sign(validatorKeys[0], other.hashTransfer(t0));
        bytes memory genuine = _sign(validatorKeys[0], main.hashTransfer(t0));
        _onSide();

        vm.prank(validatorAddrs[0]);
        vm.expectRevert(abi.encodeWithSelector(Quorum.InvalidSignature.selector, 0));
        side.submitSignatures(_one(t0), foreign);

        // the genuine t0 signature replayed for withdrawal t1
        vm.prank(validatorAddrs[0]);
        vm.expectRevert(abi.encodeWithSelector(Quorum.InvalidSignature.selector, 0));
        side.submitSignatures(_one(t1), genuine);

        // the genuine signature with the transfer's content altered: not a burned withdrawal
        Transfer memory forged = _withdrawal(0, bob, AMOUNT * 2);
        vm.prank(validatorAddrs[0]);
        vm.expectRevert(abi.encodeWithSelector(SideBridge.UnknownWithdrawal.selector, 0));
        side.submitSignatures(_one(forged), genuine);

        (uint256 signers,) = side.withdrawalSignatures(side.withdrawalId(t0));
        assertEq(signers, 0);
        (signers,) = side.withdrawalSignatures(side.withdrawalId(t1));
        assertEq(signers, 0);

        // and it is accepted for the transfer it was made for
        vm.prank(validatorAddrs[0]);
        side.submitSignatures(_one(t0), genuine);
        (signers,) = side.withdrawalSignatures(side.withdrawalId(t0));
        assertEq(signers, 1);
    }

    /// @dev Validators sitting on the governance council too: their release signatures still do
    /// not count as votes (different EIP-712 domain and type), the recovered address is a stranger.
    function test_releaseSignature_replayedAsGovernanceVote() public {
        AuthorityGovernance gov = new AuthorityGovernance(validatorAddrs, THRESHOLD, 1 days, 1 days, address(0));
        vm.prank(validatorAddrs[0]);
        bytes32 proposal = gov.propose(address(main), abi.encodeCall(BridgeBase.setValidatorThreshold, (2)));

        Transfer memory t = _withdrawal(0, bob, AMOUNT);
        bytes32 transferId = main.hashTransfer(t);
        bytes memory sig = _sign(validatorKeys[1], transferId);

        address recovered = _recoverAt(sig, 0, gov.voteDigest(proposal));
        assertTrue(recovered != validatorAddrs[1]);
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.NotMember.selector, recovered));
        gov.voteBySig(proposal, sig);

        // also when the "proposal id" is the transfer id the validator signed
        recovered = _recoverAt(sig, 0, gov.voteDigest(transferId));
        vm.expectRevert(abi.encodeWithSelector(AuthorityGovernance.NotMember.selector, recovered));
        gov.voteBySig(transferId, sig);

        assertFalse(gov.hasVoted(proposal, validatorAddrs[1]));
        assertEq(gov.currentVotes(proposal), 1);

        // a genuine vote signature from the same key is accepted
        gov.voteBySig(proposal, _sign(validatorKeys[1], gov.voteDigest(proposal)));
        assertTrue(gov.hasVoted(proposal, validatorAddrs[1]));
    }

    // ---------------------------------------------------------------- replay and set changes

    function test_release_rejectsReplayedTransferId() public {
        Transfer memory t = _withdrawal(3, bob, AMOUNT);
        bytes memory sigs = _signRelease(t, THRESHOLD);
        main.release(t, sigs);

        vm.expectRevert(abi.encodeWithSelector(MainBridge.AlreadyProcessed.selector, 3));
        main.release(t, sigs);

        // a fresh, valid signature set for the same nonce with other content is refused too
        Transfer memory t2 = _withdrawal(3, carol, AMOUNT);
        bytes memory sigs2 = _signSorted(_validatorKeys(N_VALIDATORS), main.hashTransfer(t2));
        vm.expectRevert(abi.encodeWithSelector(MainBridge.AlreadyProcessed.selector, 3));
        main.release(t2, sigs2);

        assertEq(token.balanceOf(bob), AMOUNT);
        assertEq(token.balanceOf(carol), 0);
    }

    function test_release_signaturesFromBeforeValidatorSetChange() public {
        Transfer memory t = _withdrawal(0, bob, AMOUNT);
        bytes memory oldSigs = _signRelease(t, THRESHOLD); // validators 0, 1, 2 under set version 1
        assertEq(main.validatorSetVersion(), 1);

        address removed = validatorAddrs[0];
        main.removeValidator(removed);
        assertEq(main.validatorSetVersion(), 2, "removal bumps the set version");
        _expectReleaseRevert(t, oldSigs, abi.encodeWithSelector(Quorum.NotValidator.selector, removed));

        // raising the threshold makes a formerly sufficient set short
        main.setValidatorThreshold(4);
        assertEq(main.validatorSetVersion(), 3, "threshold change bumps the set version");
        uint256[] memory keys = new uint256[](3);
        keys[0] = validatorKeys[1];
        keys[1] = validatorKeys[2];
        keys[2] = validatorKeys[3];
        bytes memory three = _signSorted(keys, main.hashTransfer(t));
        _expectReleaseRevert(t, three, abi.encodeWithSelector(Quorum.InsufficientSignatures.selector, 3, 4));

        // the current set signs again
        uint256[] memory current = new uint256[](4);
        for (uint256 i; i < 4; ++i) {
            current[i] = validatorKeys[i + 1];
        }
        main.release(t, _signSorted(current, main.hashTransfer(t)));
        assertEq(token.balanceOf(bob), AMOUNT);
    }

    function test_release_rejectsEmptySignatures() public {
        _expectReleaseRevert(
            _withdrawal(0, bob, AMOUNT), "", abi.encodeWithSelector(Quorum.MalformedSignatures.selector, 0)
        );
    }

    function test_release_rejectsOversizedSignatures() public {
        Transfer memory t = _withdrawal(0, bob, AMOUNT);
        uint256[] memory keys = new uint256[](N_VALIDATORS + 1);
        for (uint256 i; i < N_VALIDATORS; ++i) {
            keys[i] = validatorKeys[i];
        }
        keys[N_VALIDATORS] = outsiderKey;
        _expectReleaseRevert(
            t,
            _signSorted(keys, main.hashTransfer(t)),
            abi.encodeWithSelector(Quorum.TooManySignatures.selector, N_VALIDATORS + 1, N_VALIDATORS)
        );
    }

    function test_release_rejectsMalformedSignatureLength() public {
        Transfer memory t = _withdrawal(0, bob, AMOUNT);
        bytes memory sigs = _signRelease(t, THRESHOLD);
        bytes memory longer = bytes.concat(sigs, hex"00");
        _expectReleaseRevert(t, longer, abi.encodeWithSelector(Quorum.MalformedSignatures.selector, sigs.length + 1));

        bytes memory shorter = new bytes(sigs.length - 1);
        for (uint256 i; i < shorter.length; ++i) {
            shorter[i] = sigs[i];
        }
        _expectReleaseRevert(t, shorter, abi.encodeWithSelector(Quorum.MalformedSignatures.selector, sigs.length - 1));
        _expectReleaseRevert(t, new bytes(64), abi.encodeWithSelector(Quorum.MalformedSignatures.selector, 64));
    }

    // ---------------------------------------------------------------- transfer checks

    function test_release_rejectsZeroRecipient() public {
        Transfer memory t = _withdrawal(0, address(0), AMOUNT);
        bytes memory sigs = _signRelease(t, THRESHOLD);
        vm.expectRevert(BridgeBase.ZeroRecipient.selector);
        main.release(t, sigs);
        assertFalse(main.isProcessed(0));
    }

    /// A withdrawal burned on another bridge of the side chain (an old or a rogue one), even
    /// signed by the validators, is not this route's: the message names its source bridge.
    function test_release_rejectsAnotherSourceBridge() public {
        Transfer memory t = _withdrawal(0, bob, AMOUNT);
        address rogue = makeAddr("rogueSideBridge");
        t.srcBridge = rogue;
        bytes memory sigs = _signRelease(t, THRESHOLD);
        _expectReleaseRevert(t, sigs, abi.encodeWithSelector(BridgeBase.WrongBridges.selector, rogue, address(main)));
    }

    function test_release_rejectsWrongRoute() public {
        Transfer memory t = _withdrawal(0, bob, AMOUNT);
        t.srcChainId = 1234;
        bytes memory sigs = _signRelease(t, THRESHOLD);
        _expectReleaseRevert(t, sigs, abi.encodeWithSelector(BridgeBase.WrongRoute.selector, 1234, block.chainid));

        // a deposit (main -> side) presented as a withdrawal
        t = _deposit(0, bob, AMOUNT);
        sigs = _signRelease(t, THRESHOLD);
        _expectReleaseRevert(
            t, sigs, abi.encodeWithSelector(BridgeBase.WrongRoute.selector, block.chainid, SIDE_CHAIN_ID)
        );
    }

    /// @dev Validators signing a release of a token governance never opened for inbound get
    /// nothing paid; once opened, a codeless "token" still reverts.
    function test_release_unopenedOrCodelessTokenReverts() public {
        Transfer memory t = _withdrawal(0, bob, AMOUNT);
        t.token = makeAddr("eoaToken");
        bytes memory sigs = _signRelease(t, THRESHOLD);
        _expectReleaseRevert(t, sigs, abi.encodeWithSelector(BridgeBase.InboundDisabled.selector, t.token));

        main.setInboundLimits(t.token, OPEN_CAP, 1 days, OPEN_CAP, 1 days);
        vm.expectRevert();
        main.release(t, sigs);
        assertFalse(main.isProcessed(0));
    }

    // ---------------------------------------------------------------- batches

    /// @dev A batch releases each transfer on its own signatures; one that would revert
    /// (replayed, under-signed, over the cap, a token that does not pay) is skipped with its
    /// reason and the others are paid.
    function test_releaseBatch_releasesEachAndSkipsTheFailures() public {
        Transfer[] memory ts = new Transfer[](4);
        bytes[] memory sigs = new bytes[](4);
        ts[0] = _withdrawal(0, bob, AMOUNT);
        ts[1] = _withdrawal(1, carol, AMOUNT);
        ts[2] = _withdrawal(2, alice, AMOUNT);
        ts[3] = ts[0]; // the same transfer again: already processed by then
        sigs[0] = _signRelease(ts[0], THRESHOLD);
        sigs[1] = _signRelease(ts[1], THRESHOLD - 1); // short
        sigs[2] = _signRelease(ts[2], THRESHOLD);
        sigs[3] = sigs[0];

        bytes32 id1 = main.hashTransfer(ts[1]);
        vm.expectEmit(true, true, true, true, address(main));
        emit MainBridge.ReleaseSkipped(
            1, id1, abi.encodeWithSelector(Quorum.InsufficientSignatures.selector, THRESHOLD - 1, THRESHOLD)
        );
        vm.expectEmit(true, true, true, true, address(main));
        emit MainBridge.ReleaseSkipped(
            0, main.hashTransfer(ts[0]), abi.encodeWithSelector(MainBridge.AlreadyProcessed.selector, 0)
        );
        vm.prank(carol); // anyone may relay
        uint256 released = main.releaseBatch(ts, sigs);
        assertEq(released, 2);
        assertEq(token.balanceOf(bob), AMOUNT);
        assertEq(token.balanceOf(alice), AMOUNT);
        assertEq(token.balanceOf(carol), 0);
        assertTrue(main.isProcessed(0) && main.isProcessed(2));
        assertFalse(main.isProcessed(1), "a skipped transfer can still be released");
        main.release(ts[1], _signRelease(ts[1], THRESHOLD));
        assertEq(token.balanceOf(carol), AMOUNT);

        vm.expectRevert(BatchRelease.LengthMismatch.selector);
        main.releaseBatch(ts, new bytes[](3));
    }

    /// @dev A batch's per-transfer entry point cannot be called from outside the batch, not
    /// even by a token hook while the batch runs.
    function test_releaseInBatch_onlyFromItsOwnBatch() public {
        Transfer memory t = _withdrawal(0, bob, AMOUNT);
        bytes memory sigs = _signRelease(t, THRESHOLD);
        vm.expectRevert(BatchRelease.OnlyBatch.selector);
        main.releaseInBatch(t, sigs);
        vm.prank(address(main)); // the bridge's address, but no batch holds the guard
        vm.expectRevert(BatchRelease.OnlyBatch.selector);
        main.releaseInBatch(t, sigs);
        assertFalse(main.isProcessed(0));
    }

    /// @dev The status view answers for many withdrawals at once, as the relayer asks.
    function test_releaseStatus_answersForABatch() public {
        main.setInboundLimits(address(token), OPEN_CAP, 1 days, 50e18, 1 hours);
        Transfer memory small = _withdrawal(0, bob, 10e18);
        Transfer memory large = _withdrawal(1, bob, AMOUNT);
        main.release(small, _signRelease(small, THRESHOLD));
        main.release(large, _signRelease(large, THRESHOLD));
        bytes32[] memory ids = new bytes32[](3);
        uint64[] memory nonces = new uint64[](3);
        ids[0] = main.hashTransfer(small);
        ids[1] = main.hashTransfer(large);
        ids[2] = keccak256("not released");
        (nonces[0], nonces[1], nonces[2]) = (0, 1, 2);
        BatchRelease.ReleaseStatus[] memory st = main.releaseStatus(ids, nonces);
        assertTrue(st[0].processed && st[0].eta == 0);
        assertTrue(st[1].processed);
        assertEq(st[1].eta, block.timestamp + 1 hours);
        assertFalse(st[1].held || st[1].canceled || st[1].executed);
        assertFalse(st[2].processed);
    }
}
