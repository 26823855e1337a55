// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Transfer} from "../src/Transfer.sol";

import {MainSetup} from "./MainSetup.sol";

/// @notice (b) The inbound cap (BridgeBase's bucket, what MainBridge and SideBridge pay out):
/// over any span of `dt` seconds at most `cap + dt × cap / window` arrives, paid now or after
/// the queue. (Operational's outbound bucket is the same arithmetic through `Math.mulDiv`, and
/// its fee check runs `mulDiv` on the symbolic amount: 800 paths and three minutes for three
/// transfers, too slow for every ops/test, so it is left to the forge fuzz tests.)
///
/// Amounts are symbolic; the times follow one of a few concrete schedules (chosen
/// symbolically), because a symbolic clock puts a 256-bit division (the refill) in every
/// solver query and no check then ends in minutes. The schedules cover all at once, a queued
/// transfer executed the second its delay ends, and partial refills at odd seconds; the cap and
/// window are not multiples of each other, so the refill rounds.
contract InboundBucketCheck is MainSetup {
    uint256 internal constant CAP = 1000e18 + 1;
    uint256 internal constant WINDOW = 997;
    uint256 internal constant LARGE = 400e18;
    uint256 internal constant DELAY = 100;
    uint256 internal constant STEPS = 3;

    /// @dev What passed at each step, and when.
    uint256[STEPS] internal paid;
    uint256[STEPS] internal at;

    function setUp() public {
        _setUpMain(CAP, WINDOW, LARGE, DELAY, 1e40); // custody, as if locked earlier
    }

    /// Three steps: a release of a new withdrawal of a symbolic amount (paid now, or queued
    /// when above `LARGE`), then two steps that each release another or execute the one
    /// released a step earlier (charged to the bucket when it pays).
    function check_inboundPaysAtMostCapPlusRefill(uint8 schedule) public {
        Transfer memory previous;
        for (uint256 i; i < STEPS; ++i) {
            _tick(schedule, i);
            uint256 before = token.balanceOf(address(main));
            if (i == 0 || svm.createBool("release")) {
                Transfer memory t = _withdrawal(uint64(i), svm.createUint(96, "amount"));
                try main.release(t, _quorum(main.hashTransfer(t), "sig")) {} catch {}
                previous = t;
            } else {
                try main.executeQueued(previous) {} catch {}
            }
            paid[i] = before - token.balanceOf(address(main));
        }
        _assertWithinBucket();
    }

    /// A release, then governance re-sets the same limits (or closes and reopens inbound), then
    /// two more releases: re-setting is no way to refill the bucket.
    function check_resettingLimitsRefillsNothing(uint8 schedule, bool closeFirst) public {
        for (uint256 i; i < STEPS; ++i) {
            _tick(schedule, i);
            if (i == 1) {
                if (closeFirst) main.setInboundLimits(address(token), 0, 0, 0, 0);
                main.setInboundLimits(address(token), CAP, WINDOW, LARGE, DELAY);
            }
            uint256 before = token.balanceOf(address(main));
            Transfer memory t = _withdrawal(uint64(i), svm.createUint(96, "amount"));
            try main.release(t, _quorum(main.hashTransfer(t), "sig")) {} catch {}
            paid[i] = before - token.balanceOf(address(main));
        }
        _assertWithinBucket();
    }

    /// @dev Moves the clock to step `i` of `schedule` and records the time.
    function _tick(uint8 schedule, uint256 i) internal {
        vm.assume(schedule < 3);
        uint256 wait;
        if (schedule == 1) {
            wait = i == 1 ? DELAY : i; // a queued transfer executes the second its delay ends
        } else if (schedule == 2) {
            wait = i == 0 ? 5 : i == 1 ? WINDOW / 2 + 7 : DELAY + 3; // partial refills
        } // schedule 0: everything at once
        vm.warp(block.timestamp + wait);
        at[i] = block.timestamp;
    }

    /// @dev For every span of steps i..j: what passed ≤ cap + (at[j] - at[i]) × cap / window.
    function _assertWithinBucket() internal view {
        for (uint256 i; i < STEPS; ++i) {
            uint256 sum;
            for (uint256 j = i; j < STEPS; ++j) {
                sum += paid[j];
                assert(sum <= CAP + (at[j] - at[i]) * CAP / WINDOW);
            }
        }
    }

    function _withdrawal(uint64 nonce, uint256 amount) internal view returns (Transfer memory) {
        return Transfer({
            srcChainId: SIDE_CHAIN_ID,
            srcBridge: SIDE_BRIDGE,
            dstChainId: block.chainid,
            dstBridge: address(main),
            nonce: nonce,
            token: address(token),
            sender: address(0xA11CE),
            recipient: address(0xB0B),
            amount: amount
        });
    }
}
