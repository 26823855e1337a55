// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Vm} from "./utils/ForgeStd.sol";
import {BridgeTestBase} from "./Base.t.sol";

import {BatchRelease} from "../src/BatchRelease.sol";
import {MainBridge} from "../src/MainBridge.sol";
import {Transfer} from "../src/Transfer.sol";

import {GasBurnerRecipient, HookToken, ReturnBombRecipient} from "./mocks/HookToken.sol";

/// @notice `releaseBatch` against a recipient with hooks (through a token that calls it on
/// transfer): it reverts with a huge blob, or burns all the gas it is given. The other
/// withdrawals of the batch are paid at every gas limit, the hostile one is skipped with at
/// most 256 bytes of its reason and can be released later.
contract ReleaseBatchHooksTest is BridgeTestBase {
    uint256 internal constant AMOUNT = 100e18;
    bytes32 internal constant SKIPPED = keccak256("ReleaseSkipped(uint64,bytes32,bytes)");

    HookToken internal hook;
    uint64 internal nextNonce;

    function setUp() public override {
        super.setUp();
        hook = new HookToken();
        main.setInboundLimits(address(hook), OPEN_CAP, 1 days, OPEN_CAP, 1 days);
        hook.mint(address(main), 1_000_000e18); // custody, as if locked earlier
    }

    /// @dev Three withdrawals of the hook token: to bob, to `hostile`, to carol.
    function _batch(address hostile) internal returns (Transfer[] memory ts, bytes[] memory sigs) {
        ts = new Transfer[](3);
        sigs = new bytes[](3);
        address[3] memory to = [bob, hostile, carol];
        for (uint256 i; i < 3; ++i) {
            ts[i] = _withdrawal(nextNonce++, to[i], AMOUNT);
            ts[i].token = address(hook);
            sigs[i] = _signRelease(ts[i], THRESHOLD);
        }
    }

    /// @dev Runs the batch with `gas` and checks: entries 1 and 3 paid, entry 2 skipped (one
    /// `ReleaseSkipped`, unprocessed); returns the skipped entry's reason.
    function _runAndCheck(address hostile, uint256 gas) internal returns (bytes memory reason) {
        (Transfer[] memory ts, bytes[] memory sigs) = _batch(hostile);
        uint256 bobBefore = hook.balanceOf(bob);
        uint256 carolBefore = hook.balanceOf(carol);
        vm.recordLogs();
        vm.prank(carol); // any relayer
        uint256 released = main.releaseBatch{gas: gas}(ts, sigs);
        Vm.Log[] memory logs = vm.getRecordedLogs();

        assertEq(released, 2, "the two honest withdrawals are released");
        assertEq(hook.balanceOf(bob) - bobBefore, AMOUNT, "entry 1 paid");
        assertEq(hook.balanceOf(carol) - carolBefore, AMOUNT, "entry 3 paid");
        assertEq(hook.balanceOf(hostile), 0);
        assertTrue(main.isProcessed(ts[0].nonce) && main.isProcessed(ts[2].nonce));
        assertFalse(main.isProcessed(ts[1].nonce), "the hostile entry stays unprocessed");
        assertEq(_countLogs(logs, address(main), SKIPPED), 1);
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(main) || logs[i].topics[0] != SKIPPED) continue;
            assertEq(uint256(logs[i].topics[1]), ts[1].nonce);
            assertEq(logs[i].topics[2], main.hashTransfer(ts[1]));
            reason = abi.decode(logs[i].data, (bytes));
        }
        assertLe(reason.length, 256, "the reason is a bounded prefix");
    }

    /// @dev The attacker withdraws to a contract whose hook reverts with as large a blob as 30%
    /// of its gas builds (megabytes at a 30M limit). The batch used to copy the whole blob in
    /// its outer frame, which holds 1/64 of the gas: it ran out, undoing the paid entries,
    /// at any gas limit. Now it keeps the first 256 bytes.
    function test_attack_releaseBatch_returnBombRecipientCannotUndoTheBatch() public {
        ReturnBombRecipient bomb = new ReturnBombRecipient(30);
        uint256[3] memory limits = [uint256(3_000_000), 10_000_000, 30_000_000];
        for (uint256 i; i < limits.length; ++i) {
            bytes memory reason = _runAndCheck(address(bomb), limits[i]);
            assertEq(reason.length, 256, "truncated to 256 bytes");
            assertEq(bytes4(reason), ReturnBombRecipient.Bomb.selector, "the selector survives");
        }
        // the skipped withdrawal is not lost: once the recipient stops, it is released alone
        Transfer memory skipped = _withdrawal(1, address(bomb), AMOUNT);
        skipped.token = address(hook);
        vm.etch(address(bomb), hex"00"); // its hook now returns at once
        main.release(skipped, _signRelease(skipped, THRESHOLD));
        assertEq(hook.balanceOf(address(bomb)), AMOUNT);
    }

    /// @dev The attacker's other move: a hook that burns all the gas it is given. Each entry's
    /// frame is capped at `RELEASE_ENTRY_GAS`, so the entries after it get theirs (before, the
    /// batch kept 1/64 of what was left, too little for the next entry at a 3M limit).
    function test_attack_releaseBatch_gasBurningRecipientCannotStarveTheRest() public {
        GasBurnerRecipient burner = new GasBurnerRecipient();
        uint256[3] memory limits = [uint256(3_000_000), 10_000_000, 30_000_000];
        for (uint256 i; i < limits.length; ++i) {
            uint256 before = gasleft();
            bytes memory reason = _runAndCheck(address(burner), limits[i]);
            assertEq(reason.length, 0, "out of gas leaves no reason");
            // what the hostile entry cost the relayer is bounded by its budget, not the limit
            assertLt(before - gasleft(), main.RELEASE_ENTRY_GAS() + 1_000_000);
        }
    }

    /// @dev A gas limit too small to give the next entry its whole budget reverts the batch,
    /// instead of letting an honest entry fail for lack of gas and be skipped: so a gas
    /// estimate (the smallest limit that succeeds) always covers every entry's budget.
    function test_releaseBatch_tooLittleGasForAnEntryBudgetRevertsWhole() public {
        (Transfer[] memory ts, bytes[] memory sigs) = _batch(alice);
        vm.expectRevert(abi.encodeWithSelector(BatchRelease.BatchGasTooLow.selector, 0));
        main.releaseBatch{gas: 400_000}(ts, sigs);
        assertFalse(main.isProcessed(ts[0].nonce));
        main.releaseBatch{gas: 3_000_000}(ts, sigs);
        assertEq(hook.balanceOf(alice), AMOUNT);
    }
}
