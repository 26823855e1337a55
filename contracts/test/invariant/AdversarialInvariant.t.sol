// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {BridgeTestBase} from "../Base.t.sol";
import {AdversarialHandler} from "./AdversarialHandler.sol";

/// @notice The threat model's validator lines as invariants: with threshold - 1 validator keys
/// (and every retired key) in the attacker's hands, votes and signatures for arbitrary content,
/// pre-votes for future nonces, front-run threshold votes and validator rotation in between,
/// nothing is minted or released that was not locked or burned, nothing twice, and custody
/// always backs the wrapped supply. Large transfers take the queue, so it is covered too.
contract AdversarialInvariantTest is BridgeTestBase {
    AdversarialHandler internal handler;

    function setUp() public override {
        super.setUp();
        opMain.setFees(address(token), 25, 1000, 0);
        opSide.setFees(address(wrapped), 10, 1000, 0);
        // about half of the locks (1e6..1e27) are large and wait a day
        main.setInboundLimits(address(token), OPEN_CAP, 1 days, 5e26, 1 days);
        side.setInboundLimits(address(token), OPEN_CAP, 1 days, 5e26, 1 days);

        // validators 0..THRESHOLD-2 are the attacker's; the rest are honest (enough to act alone)
        uint256[] memory malicious = new uint256[](THRESHOLD - 1);
        uint256[] memory honest = new uint256[](N_VALIDATORS - THRESHOLD + 1);
        for (uint256 i; i < N_VALIDATORS; ++i) {
            if (i < THRESHOLD - 1) malicious[i] = validatorKeys[i];
            else honest[i + 1 - THRESHOLD] = validatorKeys[i];
        }
        address[] memory actors = new address[](4);
        actors[0] = alice;
        actors[1] = bob;
        actors[2] = carol;
        actors[3] = feeSide;
        handler =
            new AdversarialHandler(main, side, wrapped, token, address(this), SIDE_CHAIN_ID, honest, malicious, actors);

        bytes4[] memory selectors = new bytes4[](14);
        selectors[0] = AdversarialHandler.lock.selector;
        selectors[1] = AdversarialHandler.honestVote.selector;
        selectors[2] = AdversarialHandler.burn.selector;
        selectors[3] = AdversarialHandler.honestSign.selector;
        selectors[4] = AdversarialHandler.release.selector;
        selectors[5] = AdversarialHandler.executeQueued.selector;
        selectors[6] = AdversarialHandler.rotate.selector;
        selectors[7] = AdversarialHandler.warp.selector;
        selectors[8] = AdversarialHandler.maliciousVote.selector;
        selectors[9] = AdversarialHandler.frontRun.selector;
        selectors[10] = AdversarialHandler.maliciousSign.selector;
        selectors[11] = AdversarialHandler.forgedRelease.selector;
        selectors[12] = AdversarialHandler.honestVote.selector; // honest voting twice as often
        selectors[13] = AdversarialHandler.releaseBatch.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// @notice Every mint (or queued mint) is the content of the `Locked` transfer at its nonce.
    function invariant_everyMintIsALockedTransfer() public view {
        assertFalse(handler.ghostForgedMint(), "minted content that was never locked");
    }

    /// @notice Every release (or queued release) is the content of the `Burned` one.
    function invariant_everyReleaseIsABurnedTransfer() public view {
        assertFalse(handler.ghostForgedRelease(), "released content that was never burned");
    }

    function invariant_noNonceTwice() public view {
        assertFalse(handler.ghostDoubleMint(), "a deposit nonce minted twice");
        assertFalse(handler.ghostDoubleRelease(), "a withdrawal nonce released twice");
    }

    function invariant_custodyCoversWrappedSupply() public view {
        assertGe(token.balanceOf(address(main)), wrapped.totalSupply());
        assertEq(
            token.balanceOf(address(main)),
            wrapped.totalSupply() + handler.ghostPendingDeposits() + handler.ghostPendingWithdrawals()
        );
        assertEq(token.balanceOf(address(main)), handler.ghostLocked() - handler.ghostReleased());
    }

    function invariant_attackerGetsNothing() public view {
        assertEq(wrapped.balanceOf(handler.attacker()), 0);
        assertEq(token.balanceOf(handler.attacker()), 0);
    }
}
