// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {BridgeTestBase} from "../Base.t.sol";
import {BridgeHandler} from "./BridgeHandler.sol";

/// @notice Over random sequences of lock / deposit approval and mint / burn / signed release
/// (plus replays and time passing), the main-chain custody always backs the wrapped supply.
contract BridgeInvariantTest is BridgeTestBase {
    BridgeHandler internal handler;

    function setUp() public override {
        super.setUp();
        opMain.setFees(address(token), 25, 1000, 0);
        opSide.setFees(address(wrapped), 10, 1000, 0);

        address[] memory actors = new address[](4);
        actors[0] = alice;
        actors[1] = bob;
        actors[2] = carol;
        actors[3] = feeSide; // the side-chain fee recipient spends its fees too
        handler = new BridgeHandler(main, side, wrapped, token, SIDE_CHAIN_ID, validatorKeys, actors);

        bytes4[] memory selectors = new bytes4[](7);
        selectors[0] = BridgeHandler.lock.selector;
        selectors[1] = BridgeHandler.approveAndMint.selector;
        selectors[2] = BridgeHandler.burn.selector;
        selectors[3] = BridgeHandler.release.selector;
        selectors[4] = BridgeHandler.replayRelease.selector;
        selectors[5] = BridgeHandler.revoteMinted.selector;
        selectors[6] = BridgeHandler.warp.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// @notice The headline property: what MainBridge holds covers every wrapped token
    /// outstanding, the fees minted to the side fee recipient included.
    function invariant_custodyCoversWrappedSupply() public view {
        assertGe(token.balanceOf(address(main)), wrapped.totalSupply());
    }

    /// @notice Exact accounting: custody = wrapped supply + deposits not yet minted + withdrawals
    /// not yet released.
    function invariant_custodyEqualsSupplyPlusInFlight() public view {
        assertEq(
            token.balanceOf(address(main)),
            wrapped.totalSupply() + handler.ghostPendingDeposits() + handler.ghostPendingWithdrawals()
        );
        assertEq(token.balanceOf(address(main)), handler.ghostLocked() - handler.ghostReleased());
    }

    function invariant_noReplayNoDoubleMint() public view {
        assertFalse(handler.ghostReplaySucceeded(), "a released withdrawal was paid twice");
        assertFalse(handler.ghostDoubleMint(), "a deposit was minted twice");
    }

    function invariant_noncesMatchTransfers() public view {
        assertEq(main.outboundNonce(), handler.depositCount());
        assertEq(side.outboundNonce(), handler.withdrawalCount());
    }
}
