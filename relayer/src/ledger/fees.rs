//! `relayer costs --fees`: do the fees holders pay cover what relaying costs the validators?
//!
//! Per main-chain token and direction, over a window of days: the transfers, the fees the
//! bridge took at the source (in the token), and the gas this validator paid for them on each
//! chain (the ledger's exact amounts, each at the gas price of the day it was paid). Every
//! validator votes or signs every transfer, so the whole set pays about `validators` times what
//! this one pays; with a price for the token (in the main chain's native coin) and for the side
//! chain's native coin, that gives the **break-even fee**: the flat fee per transfer at which
//! fees pay for relaying. Pure: entries in, rows out.

use std::collections::{BTreeMap, BTreeSet};

use alloy::primitives::{Address, B256, U256};

use crate::{
    domain::{Chain, CostEntry, Direction, TxKind},
    store::FeeEntry,
};

/// The direction a transaction's gas served.
pub fn direction_of(kind: TxKind) -> Direction {
    match kind {
        TxKind::ApproveDeposits | TxKind::ExecuteQueuedMint | TxKind::ExecuteDeposit => {
            Direction::Deposit
        }
        TxKind::SubmitSignatures | TxKind::Release | TxKind::ExecuteQueuedRelease => {
            Direction::Withdrawal
        }
    }
}

/// Fees against relay costs for one token and direction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Transfers with a fee or a cost in the window.
    pub transfers: usize,
    /// Fees collected at the source, in the token's smallest units.
    pub fees: U256,
    /// Gas this validator paid, in each chain's native wei.
    pub cost_main_wei: U256,
    pub cost_side_wei: U256,
}

/// What a unit of value is worth, to compare fees (in tokens) with gas (in native coins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prices {
    /// Main-chain native wei one whole token is worth.
    pub token_in_main_wei: U256,
    /// The token's decimals.
    pub decimals: u8,
    /// Main-chain native wei one whole side-chain native coin (1e18 of its wei) is worth.
    pub side_native_in_main_wei: U256,
}

const WEI_PER_COIN: u64 = 1_000_000_000_000_000_000;

impl Coverage {
    /// What relaying one transfer costs the whole set, in main-chain native wei: this
    /// validator's average times `validators`, side-chain gas converted at `prices`. Rounded up.
    pub fn set_cost_per_transfer(&self, validators: u64, prices: &Prices) -> U256 {
        if self.transfers == 0 {
            return U256::ZERO;
        }
        let side_in_main = (self.cost_side_wei * prices.side_native_in_main_wei)
            .div_ceil(U256::from(WEI_PER_COIN));
        let own = self.cost_main_wei + side_in_main;
        (own * U256::from(validators)).div_ceil(U256::from(self.transfers))
    }

    /// The flat fee per transfer, in the token's smallest units, that pays the set's relay cost
    /// (rounded up); `None` without a token price.
    pub fn break_even_fee(&self, validators: u64, prices: &Prices) -> Option<U256> {
        if prices.token_in_main_wei.is_zero() {
            return None;
        }
        let scale = U256::from(10u64).pow(U256::from(prices.decimals));
        Some(
            (self.set_cost_per_transfer(validators, prices) * scale)
                .div_ceil(prices.token_in_main_wei),
        )
    }

    /// Fees collected per transfer, in the token's smallest units (rounded down).
    pub fn fee_per_transfer(&self) -> U256 {
        match self.transfers {
            0 => U256::ZERO,
            n => self.fees / U256::from(n),
        }
    }
}

/// Groups fees and costs at or after `since` (unix seconds) by (main-chain token, direction).
/// A fee is taken on the source chain: on main for a deposit, on side for a withdrawal. Costs
/// that served no transfer (zero id) are left out: they belong to no token.
pub fn coverage(
    costs: &[CostEntry],
    fees: &[FeeEntry],
    since: i64,
) -> BTreeMap<(Address, Direction), Coverage> {
    let mut rows: BTreeMap<(Address, Direction), Coverage> = BTreeMap::new();
    let mut seen: BTreeMap<(Address, Direction), BTreeSet<B256>> = BTreeMap::new();
    for f in fees.iter().filter(|f| f.timestamp >= since) {
        let direction = match f.chain {
            Chain::Main => Direction::Deposit,
            Chain::Side => Direction::Withdrawal,
        };
        let key = (f.token, direction);
        rows.entry(key).or_default().fees += f.amount;
        seen.entry(key).or_default().insert(f.transfer_id);
    }
    for c in costs
        .iter()
        .filter(|c| c.timestamp >= since && c.transfer_id != B256::ZERO)
    {
        let key = (c.token, direction_of(c.kind));
        let row = rows.entry(key).or_default();
        match c.chain {
            Chain::Main => row.cost_main_wei += c.cost_wei,
            Chain::Side => row.cost_side_wei += c.cost_wei,
        }
        seen.entry(key).or_default().insert(c.transfer_id);
    }
    for (key, ids) in seen {
        if let Some(row) = rows.get_mut(&key) {
            row.transfers = ids.len();
        }
    }
    rows
}

/// Fees over the whole set's relay cost per direction, both in main-chain wei, over the tokens
/// `priced` gives prices for; a direction with no priced cost has no ratio. 1.0 is break-even.
pub fn coverage_ratio(
    rows: &BTreeMap<(Address, Direction), Coverage>,
    validators: u64,
    priced: impl Fn(Address) -> Option<Prices>,
) -> BTreeMap<Direction, f64> {
    let mut sums: BTreeMap<Direction, (f64, f64)> = BTreeMap::new();
    for ((token, direction), row) in rows {
        let Some(p) = priced(*token) else { continue };
        let scale = U256::from(10u64).pow(U256::from(p.decimals));
        let fees = row.fees * p.token_in_main_wei / scale;
        let side_in_main =
            (row.cost_side_wei * p.side_native_in_main_wei) / U256::from(WEI_PER_COIN);
        let cost = (row.cost_main_wei + side_in_main) * U256::from(validators);
        let sum = sums.entry(*direction).or_default();
        sum.0 += f64::from(fees);
        sum.1 += f64::from(cost);
    }
    sums.into_iter()
        .filter(|(_, (_, cost))| *cost > 0.0)
        .map(|(d, (fees, cost))| (d, fees / cost))
        .collect()
}

#[cfg(test)]
mod tests {
    use alloy::primitives::address;
    use proptest::prelude::*;

    use super::*;

    const DEMO: Address = address!("0x00000000000000000000000000000000000000d3");

    fn id(n: u8) -> B256 {
        B256::repeat_byte(n)
    }

    fn cost(n: u8, kind: TxKind, wei: u64, t: i64) -> CostEntry {
        CostEntry {
            tx_hash: B256::repeat_byte(0xee),
            chain: kind.chain(),
            kind,
            transfer_id: id(n),
            token: DEMO,
            cost_wei: U256::from(wei),
            block: 1,
            timestamp: t,
        }
    }

    fn fee(n: u8, chain: Chain, amount: u64, t: i64) -> FeeEntry {
        FeeEntry {
            transfer_id: id(n),
            chain,
            token: DEMO,
            amount: U256::from(amount),
            timestamp: t,
        }
    }

    fn prices() -> Prices {
        Prices {
            // 1 DEMO = 0.001 ETH
            token_in_main_wei: U256::from(1_000_000_000_000_000u64),
            decimals: 18,
            // the side coin is worth a tenth of the main one
            side_native_in_main_wei: U256::from(100_000_000_000_000_000u64),
        }
    }

    #[test]
    fn fees_and_costs_meet_by_token_and_direction_within_the_window() {
        let costs = [
            cost(1, TxKind::ApproveDeposits, 60_000, 100),
            cost(2, TxKind::ApproveDeposits, 40_000, 100),
            cost(3, TxKind::SubmitSignatures, 20_000, 100),
            cost(3, TxKind::Release, 90_000, 100),
            cost(4, TxKind::ApproveDeposits, 999_999, 10), // before the window
        ];
        let fees = [
            fee(1, Chain::Main, 5, 100),
            fee(2, Chain::Main, 5, 100),
            fee(3, Chain::Side, 7, 100),
            fee(4, Chain::Main, 1_000, 10),
        ];
        let rows = coverage(&costs, &fees, 50);
        let deposits = &rows[&(DEMO, Direction::Deposit)];
        assert_eq!(deposits.transfers, 2);
        assert_eq!(deposits.fees, U256::from(10u64));
        assert_eq!(deposits.cost_side_wei, U256::from(100_000u64));
        assert_eq!(deposits.cost_main_wei, U256::ZERO);
        let withdrawals = &rows[&(DEMO, Direction::Withdrawal)];
        assert_eq!(withdrawals.transfers, 1);
        assert_eq!(withdrawals.cost_main_wei, U256::from(90_000u64));
        assert_eq!(withdrawals.cost_side_wei, U256::from(20_000u64));

        // deposits: 100,000 side wei over 2 transfers, 3 validators, side coin at 0.1:
        // 15,000 main wei each; at 1 DEMO = 10^15 main wei that is 15,000 x 10^18 / 10^15
        // smallest DEMO units
        assert_eq!(
            deposits.set_cost_per_transfer(3, &prices()),
            U256::from(15_000u64)
        );
        assert_eq!(
            deposits.break_even_fee(3, &prices()),
            Some(U256::from(15_000_000u64))
        );
        // withdrawals: (90,000 + 2,000) x 3
        assert_eq!(
            withdrawals.set_cost_per_transfer(3, &prices()),
            U256::from(276_000u64)
        );
        let no_price = Prices {
            token_in_main_wei: U256::ZERO,
            ..prices()
        };
        assert_eq!(withdrawals.break_even_fee(3, &no_price), None);
    }

    #[test]
    fn the_ratio_values_fees_and_the_sets_costs_in_main_chain_wei() {
        let costs = [
            cost(1, TxKind::ApproveDeposits, 1_000_000, 100),
            cost(2, TxKind::Release, 2_000_000, 100),
        ];
        // 1 DEMO = 10^15 main wei; 0.001 DEMO of fee = 10^12 main wei
        let fees = [
            fee(1, Chain::Main, 1_000_000_000_000_000, 100),
            fee(2, Chain::Side, 12_000_000_000_000_000, 100),
        ];
        let rows = coverage(&costs, &fees, 0);
        let ratio = coverage_ratio(&rows, 2, |t| (t == DEMO).then(prices));
        // deposit: 10^12 of fees against 1e6 side wei at 0.1 = 1e5, twice
        assert_eq!(ratio[&Direction::Deposit], 1e12 / 2e5);
        // withdrawal: 1.2e13 against 2e6 main wei, twice
        assert_eq!(ratio[&Direction::Withdrawal], 1.2e13 / 4e6);
        assert!(coverage_ratio(&rows, 2, |_| None).is_empty());
    }

    proptest! {
        /// The break-even fee, collected on every transfer, pays at least the set's cost and
        /// less than one smallest unit per transfer more.
        #[test]
        fn the_break_even_fee_covers_the_cost_and_barely_more(
            main in 0u64..10_000_000_000_000,
            side in 0u64..10_000_000_000_000,
            transfers in 1usize..500,
            validators in 1u64..32,
            price in 1u64..10_000_000_000_000_000_000,
        ) {
            let c = Coverage { transfers, fees: U256::ZERO, cost_main_wei: U256::from(main), cost_side_wei: U256::from(side) };
            let p = Prices { token_in_main_wei: U256::from(price), decimals: 18, side_native_in_main_wei: U256::from(WEI_PER_COIN) };
            let fee = c.break_even_fee(validators, &p).expect("priced");
            let scale = U256::from(WEI_PER_COIN);
            let paid = fee * U256::from(transfers) * U256::from(price);
            let cost = (U256::from(main) + U256::from(side)) * U256::from(validators) * scale;
            prop_assert!(paid >= cost);
        }
    }
}
