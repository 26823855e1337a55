//! Fees and gas limits as pure functions: what a transaction offers first, what a replacement
//! of a slow one offers, and how much gas it may use. No chain in here; property tests pin the
//! rules a node enforces (a replacement raises both fee fields by at least 10%) and the cap an
//! operator sets (never offered above it, but to cancel a stuck nonce).

use crate::domain::TxKind;

/// EIP-1559 fees of one attempt, in wei per gas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fees {
    pub max_fee: u128,
    pub priority: u128,
}

/// Nodes refuse a replacement that raises either fee field by less than this many percent.
pub const MIN_REPLACEMENT_BUMP: u64 = 10;
/// The tip offered when the node suggests none.
pub const DEFAULT_TIP: u128 = 1_000_000_000;

/// What a chain's node says of gas prices now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeMarket {
    pub base_fee: u128,
    /// The tip the node suggests.
    pub tip: u128,
    /// The chain charges no gas ([`sidebridge_core::gas::charges_no_gas`]: a base fee of 0 and
    /// a node that prices gas at 0), as the platform's side chains.
    pub free: bool,
}

/// The first offer on `market`: nothing at all on a chain that charges no gas (whatever tip its
/// node suggests: a validator needs no coin there and its ledger charges 0), else [`initial`].
pub fn offer(market: FeeMarket, cap: u128) -> Option<Fees> {
    if market.free {
        return Some(Fees {
            max_fee: 0,
            priority: 0,
        });
    }
    initial(market.base_fee, market.tip, cap)
}

/// What replaces a zero offer that was not mined in time (the chain took it for free before,
/// or claims to): the paying offer at the node's prices, with a tip of at least 1 wei. A zero
/// offer cannot be bumped by a percentage, and one that stays unmined must not wedge its nonce.
pub fn after_free(market: FeeMarket, cap: u128) -> Option<Fees> {
    initial(market.base_fee, market.tip.max(1), cap)
}

/// The first offer on a chain that charges gas: twice the base fee plus the tip, within the
/// cap. `None` when the base fee alone is above the cap (nothing can be offered).
pub fn initial(base_fee: u128, tip: u128, cap: u128) -> Option<Fees> {
    if base_fee > cap {
        return None;
    }
    let priority = tip.min(cap - base_fee);
    let max_fee = base_fee.saturating_mul(2).saturating_add(priority).min(cap);
    Some(Fees { max_fee, priority })
}

/// A replacement's offer: both fields raised by `percent` (at least [`MIN_REPLACEMENT_BUMP`]),
/// the maximum fee held at `cap`. `None` when the cap leaves no room for a replacement a node
/// would accept.
pub fn bump(prev: Fees, percent: u64, cap: u128) -> Option<Fees> {
    let p = u128::from(percent.max(MIN_REPLACEMENT_BUMP));
    let least = |v: u128| {
        v.saturating_mul(100 + u128::from(MIN_REPLACEMENT_BUMP))
            .div_ceil(100)
    };
    let max_fee = prev.max_fee.saturating_mul(100 + p).div_ceil(100).min(cap);
    let priority = prev
        .priority
        .saturating_mul(100 + p)
        .div_ceil(100)
        .min(max_fee);
    (max_fee >= least(prev.max_fee) && priority >= least(prev.priority) && max_fee > prev.max_fee)
        .then_some(Fees { max_fee, priority })
}

/// The offer of a zero-value self-transfer that frees a nonce whose work is no longer needed:
/// a valid replacement of `prev` even above the cap (it costs 21,000 gas at most, and a stuck
/// nonce blocks every later transaction of the account).
pub fn cancel(prev: Fees, percent: u64) -> Fees {
    let p = u128::from(percent.max(MIN_REPLACEMENT_BUMP));
    let max_fee = prev.max_fee.saturating_mul(100 + p).div_ceil(100).max(1);
    let priority = prev
        .priority
        .saturating_mul(100 + p)
        .div_ceil(100)
        .min(max_fee);
    Fees { max_fee, priority }
}

/// What `MainBridge.releaseBatch` must have left before each withdrawal beyond what it uses:
/// `RELEASE_ENTRY_GAS` (500,000) and its 1/63 for the call, the 30,000 reserve, and a margin.
pub const BATCH_ENTRY_HEADROOM: u64 = 500_000 + 500_000 / 63 + 30_000 + 10_000;

/// Gas limit from one execution's gas before refunds (or the node's estimate). Unused gas is
/// not charged, so the margin is generous: a deposit vote may become the minting one between
/// estimate and inclusion (another validator's vote landed first), which costs a mint per
/// transfer more; and `releaseBatch` starts each withdrawal only with its whole budget left
/// ([`BATCH_ENTRY_HEADROOM`]), which the measured use does not show.
pub fn gas_limit(kind: TxKind, estimate: u64, transfers: usize) -> u64 {
    match kind {
        // `releaseBatch` starts a withdrawal only with its whole budget left
        // (`RELEASE_ENTRY_GAS` and the reserve), else reverts whole: a limit at the measured
        // use plus a share would revert at the last withdrawals
        TxKind::Release if transfers > 1 => estimate
            .saturating_mul(13)
            .div_ceil(10)
            .saturating_add(BATCH_ENTRY_HEADROOM),
        TxKind::ApproveDeposits => estimate
            .saturating_mul(3)
            .div_ceil(2)
            .saturating_add(60_000u64.saturating_mul(transfers as u64)),
        _ => estimate
            .saturating_mul(13)
            .div_ceil(10)
            .saturating_add(10_000),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_first_offer_stays_under_the_cap() {
        assert_eq!(
            initial(10, 2, 100),
            Some(Fees {
                max_fee: 22,
                priority: 2
            })
        );
        assert_eq!(
            initial(60, 2, 100),
            Some(Fees {
                max_fee: 100,
                priority: 2
            })
        );
        assert_eq!(initial(99, 5, 100).map(|f| f.priority), Some(1));
        assert_eq!(initial(101, 1, 100), None);
    }

    /// A chain that charges no gas is offered none, even when its node suggests a tip (anvil
    /// with a zero base fee still suggests 1 gwei); a chain with a zero base fee whose node
    /// prices gas above 0 (it wants a tip) is offered the tip. A zero offer not mined in time
    /// is replaced by a paying one, never left to wedge its nonce (a percentage of 0 is 0).
    #[test]
    fn only_a_chain_that_charges_no_gas_is_offered_nothing() {
        let free = FeeMarket {
            base_fee: 0,
            tip: 1_000_000_000,
            free: true,
        };
        let zero = Fees {
            max_fee: 0,
            priority: 0,
        };
        assert_eq!(offer(free, 100_000_000_000), Some(zero));
        let wants_tip = FeeMarket {
            free: false,
            ..free
        };
        assert_eq!(
            offer(wants_tip, 100_000_000_000),
            Some(Fees {
                max_fee: 1_000_000_000,
                priority: 1_000_000_000
            })
        );
        assert_eq!(bump(zero, 20, 100_000_000_000), None);
        assert_eq!(
            after_free(free, 100_000_000_000),
            offer(wants_tip, 100_000_000_000)
        );
        let no_tip = FeeMarket { tip: 0, ..free };
        assert_eq!(after_free(no_tip, 100).map(|f| f.priority), Some(1));
    }

    #[test]
    fn a_replacement_at_the_cap_is_refused_but_a_cancel_is_not() {
        let at_cap = Fees {
            max_fee: 100,
            priority: 10,
        };
        assert_eq!(bump(at_cap, 20, 100), None);
        let c = cancel(at_cap, 20);
        assert_eq!(c.max_fee, 120);
        assert_eq!(c.priority, 12);
    }

    proptest! {
        /// Every replacement a node would accept, and never above the cap.
        #[test]
        fn bumps_are_valid_replacements_within_the_cap(
            max_fee in 1u128..1_000_000_000_000,
            tip_share in 0u128..=100,
            percent in 0u64..300,
            headroom in 0u128..2_000_000_000_000,
        ) {
            let prev = Fees { max_fee, priority: max_fee * tip_share / 100 };
            let cap = max_fee + headroom;
            if let Some(next) = bump(prev, percent, cap) {
                prop_assert!(next.max_fee <= cap);
                prop_assert!(next.max_fee * 100 >= prev.max_fee * 110);
                prop_assert!(next.priority * 100 >= prev.priority * 110);
                prop_assert!(next.priority <= next.max_fee);
            } else {
                // refused only when the cap leaves no room for +10%
                prop_assert!(cap * 100 < prev.max_fee * 110 || cap <= prev.max_fee);
            }
        }

        /// Repeated bumps reach the cap and stop there.
        #[test]
        fn bumping_converges_at_the_cap(base in 1u128..1_000_000_000, cap_mult in 2u128..50) {
            let cap = base * cap_mult;
            let mut fees = initial(base, base / 10, cap).expect("base below cap");
            let mut steps = 0;
            while let Some(next) = bump(fees, 20, cap) {
                prop_assert!(next.max_fee > fees.max_fee);
                fees = next;
                steps += 1;
                prop_assert!(steps < 100);
            }
            prop_assert!(fees.max_fee * 110 > cap * 100);
        }

        #[test]
        fn cancels_replace_whatever_they_follow(max_fee in 1u128..1_000_000_000_000, tip in 0u128..=100) {
            let prev = Fees { max_fee, priority: max_fee * tip / 100 };
            let c = cancel(prev, 10);
            prop_assert!(c.max_fee * 100 >= prev.max_fee * 110);
            prop_assert!(c.priority * 100 >= prev.priority * 110);
            prop_assert!(c.priority <= c.max_fee);
        }

        #[test]
        fn gas_limits_cover_the_estimate(estimate in 21_000u64..30_000_000, n in 0usize..200) {
            for kind in TxKind::ALL {
                prop_assert!(gas_limit(kind, estimate, n) > estimate);
            }
            if n > 1 {
                prop_assert!(
                    gas_limit(TxKind::Release, estimate, n) >= estimate + BATCH_ENTRY_HEADROOM
                );
            }
        }
    }
}
