// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Vm} from "./utils/ForgeStd.sol";

import {BatchRelease} from "../src/BatchRelease.sol";
import {HubState} from "../src/HubState.sol";
import {Transfer} from "../src/Transfer.sol";

import {HubTestBase} from "./HubBase.t.sol";

/// @notice The hub's `releaseBatch` and `releaseStatus`, as relayers use them and as an
/// attacker would abuse them: each entry stands alone, each is paid from its own route's book,
/// and one that fails (a forgery, a replay, an empty book, another route's signatures) is
/// skipped, not paid and not marked processed.
contract HubBatchTest is HubTestBase {
    uint256 internal constant A = 0;
    uint256 internal constant B = 1;
    bytes32 internal constant SKIPPED = keccak256("ReleaseSkipped(bytes32,uint64,bytes32,bytes)");

    function _batch(Transfer[] memory ts, bytes[] memory sigs) internal returns (uint256 released, Vm.Log[] memory) {
        vm.recordLogs();
        released = hub.releaseBatch(ts, sigs);
        return (released, vm.getRecordedLogs());
    }

    function test_batchPaysEachFromItsRouteAndSkipsWhatFails() public {
        _lock(alice, A, 100 ether);
        _lock(alice, B, 30 ether);
        Transfer[] memory ts = new Transfer[](5);
        bytes[] memory sigs = new bytes[](5);
        ts[0] = _home(A, 0, bob, 60 ether);
        sigs[0] = _sigs(A, ts[0]);
        // B's book holds 30: 31 is short, and B's signatures cannot reach A's book
        ts[1] = _home(B, 0, bob, 31 ether);
        sigs[1] = _sigs(B, ts[1]);
        // A's keys signing as B: not B's validators
        ts[2] = _home(B, 1, bob, 10 ether);
        sigs[2] = _sigsBy(keys[A], ts[2]);
        // the first entry again, in the same batch: a replay
        ts[3] = ts[0];
        sigs[3] = sigs[0];
        ts[4] = _home(B, 2, alice, 30 ether);
        sigs[4] = _sigs(B, ts[4]);

        uint256 bobBefore = token.balanceOf(bob);
        uint256 aliceBefore = token.balanceOf(alice);
        (uint256 released, Vm.Log[] memory logs) = _batch(ts, sigs);
        assertEq(released, 2);
        assertEq(token.balanceOf(bob) - bobBefore, 60 ether);
        assertEq(token.balanceOf(alice) - aliceBefore, 30 ether);
        assertEq(_custody(A), 40 ether);
        assertEq(_custody(B), 0);

        bytes4[3] memory expected = [HubState.CustodyShort.selector, bytes4(0), HubState.AlreadyProcessed.selector];
        uint256 skips;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(hub) || logs[i].topics[0] != SKIPPED) continue;
            bytes memory reason = abi.decode(logs[i].data, (bytes));
            uint256 entry = skips == 0 ? 1 : skips == 1 ? 2 : 3;
            assertEq(logs[i].topics[1], entry == 3 ? routes[A] : routes[B], "skip names the claimed route");
            assertEq(logs[i].topics[3], hub.hashTransfer(ts[entry]));
            if (entry == 2) {
                assertEq(reason.length, 4 + 32, "NotValidator carries the signer");
            } else {
                assertEq(bytes4(reason), expected[skips]);
            }
            ++skips;
        }
        assertEq(skips, 3);

        // the skipped entries stay open: B's nonce 0 and 1 unprocessed, A's 0 processed once
        bytes32[] memory ids = new bytes32[](2);
        uint64[] memory nonces = new uint64[](2);
        ids[0] = hub.hashTransfer(ts[1]);
        ids[1] = hub.hashTransfer(ts[4]);
        nonces[0] = 0;
        nonces[1] = 2;
        BatchRelease.ReleaseStatus[] memory status = hub.releaseStatus(routes[B], ids, nonces);
        assertFalse(status[0].processed);
        assertTrue(status[1].processed);
        // route A's nonce 0 is not route B's
        nonces[0] = 0;
        assertTrue(hub.releaseStatus(routes[A], ids, nonces)[0].processed);
        assertFalse(hub.isProcessed(routes[B], 1));
    }

    function test_batchStatusShowsTheRoutesQueueAndQueuedEventNamesTheRoute() public {
        _lock(alice, A, 100 ether);
        govern.setInboundLimits(routes[A], address(token), 100 ether, 1 days, 10 ether, 1 hours);
        Transfer[] memory ts = new Transfer[](1);
        bytes[] memory sigs = new bytes[](1);
        ts[0] = _home(A, 0, bob, 50 ether);
        sigs[0] = _sigs(A, ts[0]);
        bytes32 id = hub.hashTransfer(ts[0]);
        vm.expectEmit(address(hub));
        emit HubState.RouteTransferQueued(routes[A], 0, id, block.timestamp + 1 hours);
        (uint256 released,) = _batch(ts, sigs);
        assertEq(released, 1);
        bytes32[] memory ids = new bytes32[](1);
        uint64[] memory nonces = new uint64[](1);
        ids[0] = id;
        BatchRelease.ReleaseStatus[] memory status = hub.releaseStatus(routes[A], ids, nonces);
        assertTrue(status[0].processed);
        assertEq(status[0].eta, block.timestamp + 1 hours);
        assertFalse(status[0].executed);
        assertEq(_custody(A), 100 ether, "queued, not yet paid");
    }

    function test_pausedHubSkipsEveryEntryAndEntryIsBatchOnly() public {
        _lock(alice, A, 100 ether);
        Transfer[] memory ts = new Transfer[](1);
        bytes[] memory sigs = new bytes[](1);
        ts[0] = _home(A, 0, bob, 10 ether);
        sigs[0] = _sigs(A, ts[0]);

        // called directly (a token hook, anyone), the batch entry pays nothing
        vm.expectRevert(BatchRelease.OnlyBatch.selector);
        hub.releaseInBatch(ts[0], sigs[0]);

        vm.prank(guardian);
        op.pause();
        (uint256 released,) = _batch(ts, sigs);
        assertEq(released, 0);
        assertFalse(hub.isProcessed(routes[A], 0));
        assertEq(_custody(A), 100 ether);

        vm.expectRevert(BatchRelease.LengthMismatch.selector);
        hub.releaseBatch(ts, new bytes[](2));
    }
}
