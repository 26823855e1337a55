// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/// @notice The inbound limits of one token on one route: a rolling cap on what arrives (a token
/// bucket refilled continuously) and a delay for large transfers. Shared by the bridges and the
/// hub, which keeps one per route and token.
///
/// The cap bounds what arrives, queued or not: every payout (now, or from the queue later) is
/// charged when it pays, so over any span of t seconds at most `cap + t × cap / window` arrives.
/// A stolen validator set's best strategy is to sign transfers to itself and execute each the
/// moment it may: it gets the bucket, and large transfers only wait longer for it (giving
/// guardians the delay to hold them).
library Inbound {
    /// @notice Shortest and longest wait governance may give large inbound transfers.
    uint256 internal constant MIN_DELAY = 1 minutes;
    uint256 internal constant MAX_DELAY = 30 days;

    struct Limit {
        // slot 0: the bucket, written by every inbound transfer
        uint112 available;
        uint32 updatedAt;
        uint32 delay; // seconds a transfer above `large` waits
        // slot 1: settings, read-only on the hot path
        uint112 cap; // most that arrives per `window` (refilled continuously); 0: inbound off
        uint112 large; // transfers above this wait `delay`, then use the bucket
        uint32 window;
    }

    /// @notice What happens to an inbound transfer that a threshold of validators approved.
    enum Inflow {
        Now, // pay out now; the bucket was charged
        Delayed, // above the large-transfer size: queued for `delay`, charged when it executes
        RateLimited, // the bucket holds less than the amount: try again later
        Disabled // governance has not opened (or has closed) inbound for this token
    }

    error InvalidInboundLimits();

    /// @dev Charges an inbound transfer of `amount`. Writes the bucket only when the transfer
    /// passes now. Returns what to do and what the bucket held. A transfer above the large size
    /// is not charged here but when it executes (`waited`), against the limits as they are
    /// then. Charging at queue time instead would let a stolen set's queued forgeries (held by
    /// guardians, canceled by governance) keep the capacity honest transfers need for as long
    /// as they wait, and limits changed during the delay (closed inbound, a lower cap) would
    /// need checking at execution anyway; charging at both would count twice.
    function charge(Limit storage s, uint256 amount, bool waited) internal returns (Inflow, uint256 available) {
        Limit memory l = s;
        if (l.cap == 0) return (Inflow.Disabled, 0);
        if (!waited && amount > l.large) return (Inflow.Delayed, 0);
        available = refilled(l);
        if (amount > available) return (Inflow.RateLimited, available);
        s.available = uint112(available - amount);
        s.updatedAt = uint32(block.timestamp);
        return (Inflow.Now, available);
    }

    /// @dev Opens, retunes or closes (`cap` 0) the limits. Only the first opening fills the
    /// bucket; afterwards it keeps what it held (never more than the new cap), so re-setting,
    /// or closing and reopening, is no way to refill it.
    function set(Limit storage s, uint256 cap, uint256 window, uint256 large, uint256 delay) internal {
        if (cap != 0) {
            if (
                cap > type(uint112).max || window == 0 || window > type(uint32).max || large == 0 || large > cap
                    || delay < MIN_DELAY || delay > MAX_DELAY
            ) revert InvalidInboundLimits();
        } else if (window != 0 || large != 0 || delay != 0) {
            revert InvalidInboundLimits();
        }
        // closing keeps what the bucket held, so closing and reopening refills nothing
        uint256 held = heldInBucket(s);
        uint256 kept = cap == 0 ? Math.min(held, type(uint112).max) : Math.min(held, cap);
        s.available = uint112(kept);
        s.updatedAt = uint32(block.timestamp);
        s.delay = uint32(delay);
        s.cap = uint112(cap);
        s.large = uint112(large);
        s.window = uint32(window);
    }

    /// @dev What can arrive now without waiting (0 when inbound is off).
    function availableNow(Limit memory l) internal view returns (uint256) {
        return l.cap == 0 ? 0 : refilled(l);
    }

    /// @dev What the bucket holds for the purpose of re-setting limits: everything (max) for a
    /// token never opened, else what it held, refilled to now while it was open.
    function heldInBucket(Limit memory l) private view returns (uint256) {
        if (l.updatedAt == 0) return type(uint256).max;
        return l.cap == 0 ? l.available : refilled(l);
    }

    /// @dev The bucket refilled to now: `cap / window` per second, never above `cap`.
    function refilled(Limit memory l) internal view returns (uint256) {
        // elapsed < 2^32 and cap < 2^112: the product cannot overflow. A chain's clock never
        // runs back, but a simulation's block may be stamped before the latest write: no refill
        uint256 elapsed = block.timestamp > l.updatedAt ? block.timestamp - l.updatedAt : 0;
        uint256 refill = elapsed * l.cap / l.window;
        return Math.min(l.cap, uint256(l.available) + refill);
    }
}
