//! Why the CLI will not send a transfer, decided before anything is signed: the same rules the
//! contracts apply (`Operational.onOutbound`, the bridge's pause), read from the chain and
//! checked here so that a holder gets the reason in words, in the token's decimals, instead of a
//! reverted transaction that cost gas. Each refusal has its own exit code for scripts.
//!
//! The contracts stay the authority: a check here that passes and then fails on-chain (the window
//! filled in between) is a revert the CLI reports as such, never a loss.

use alloy::primitives::{Address, U256};
use sidebridge_core::{amount::format_amount, domain::Chain};

/// Exit codes other than refusals.
pub(crate) mod exit {
    /// The transfer landed (or the command did what it was asked).
    pub(crate) const OK: u8 = 0;
    /// Anything else went wrong: an RPC that does not answer, a reverted transaction, bad input.
    pub(crate) const ERROR: u8 = 1;
    /// The command line itself was wrong (clap's own code).
    pub(crate) const USAGE: u8 = 2;
    /// The transfer was sent but had not landed when `--timeout` ran out; it is still on its way.
    pub(crate) const PENDING: u8 = 3;
    /// A chained transfer the hub parked (its destination refused it when it arrived): it
    /// waits there for `forward` or its sender's `refund`.
    pub(crate) const PARKED: u8 = 4;
}

/// An amount with the token it is counted in, shown in the token's decimals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Amount {
    pub(crate) value: U256,
    pub(crate) decimals: u8,
    pub(crate) symbol: String,
}

impl std::fmt::Display for Amount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}",
            format_amount(self.value, self.decimals),
            self.symbol
        )
    }
}

/// A transfer the CLI will not send (or a claim it will not make), and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    #[error("below the minimum: {amount} is less than the {minimum} this token may bridge")]
    BelowMinimum { amount: Amount, minimum: Amount },
    #[error("above the maximum: {amount} is more than the {maximum} one transfer may carry")]
    AboveMaximum { amount: Amount, maximum: Amount },
    #[error("the window cap is full: {available} may leave now{}", frees_text(*frees_in_secs))]
    WindowCapFull {
        available: Amount,
        /// Seconds until the whole amount fits; `None` when it never fits (above the cap itself).
        frees_in_secs: Option<u64>,
    },
    #[error("the {chain} bridge is paused: nothing can be sent until governance unpauses it")]
    Paused { chain: Chain },
    #[error("{token} is not mapped for bridging on the {chain} chain")]
    Unmapped { token: Address, chain: Chain },
    #[error("insufficient balance: {need} needed, the wallet holds {have}")]
    InsufficientBalance { have: Amount, need: Amount },
    #[error(
        "insufficient gas: about {} ETH of gas needed on the {chain} chain, the wallet holds {}",
        format_amount(*need_wei, 18),
        format_amount(*have_wei, 18)
    )]
    InsufficientGas {
        chain: Chain,
        have_wei: U256,
        need_wei: U256,
    },
    #[error(
        "not ready to claim: {have} of the {need} validator signatures needed are published ({} missing)",
        need - have
    )]
    NotReady { have: usize, need: usize },
    #[error("already released{}", tx.map(|t| format!(" in {t}")).unwrap_or_default())]
    AlreadyReleased { tx: Option<alloy::primitives::B256> },
    #[error("{0}")]
    NotFound(String),
    #[error(
        "side chain {to} would not take it now ({why}): sent, it would wait on the main chain's hub"
    )]
    DestinationRefuses { to: String, why: String },
}

fn frees_text(secs: Option<u64>) -> String {
    match secs {
        Some(s) => format!("; the amount fits in about {}", human_duration(s)),
        None => "; the amount is larger than the whole window cap and never fits".to_string(),
    }
}

/// "1 h 5 min", "42 s".
pub(crate) fn human_duration(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min {} s", secs / 60, secs % 60),
        _ => format!("{} h {} min", secs / 3600, (secs % 3600) / 60),
    }
}

impl Refusal {
    /// The process exit code: one per kind of refusal, none shared with [`exit`].
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Refusal::BelowMinimum { .. } => 10,
            Refusal::AboveMaximum { .. } => 11,
            Refusal::WindowCapFull { .. } => 12,
            Refusal::Paused { .. } => 13,
            Refusal::Unmapped { .. } => 14,
            Refusal::InsufficientBalance { .. } => 15,
            Refusal::InsufficientGas { .. } => 16,
            Refusal::NotReady { .. } => 17,
            Refusal::AlreadyReleased { .. } => 18,
            Refusal::NotFound(_) => 19,
            Refusal::DestinationRefuses { .. } => 20,
        }
    }

    /// A stable name for `--json`.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Refusal::BelowMinimum { .. } => "below_minimum",
            Refusal::AboveMaximum { .. } => "above_maximum",
            Refusal::WindowCapFull { .. } => "window_cap_full",
            Refusal::Paused { .. } => "paused",
            Refusal::Unmapped { .. } => "unmapped_token",
            Refusal::InsufficientBalance { .. } => "insufficient_balance",
            Refusal::InsufficientGas { .. } => "insufficient_gas",
            Refusal::NotReady { .. } => "not_ready",
            Refusal::AlreadyReleased { .. } => "already_released",
            Refusal::NotFound(_) => "not_found",
            Refusal::DestinationRefuses { .. } => "destination_refuses",
        }
    }
}

/// A token's outbound rules as `Operational.tokenConfig` holds them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Limits {
    /// The counterpart on the other chain; zero when unmapped.
    pub(crate) remote: Address,
    pub(crate) min_amount: U256,
    /// Zero: no maximum.
    pub(crate) max_amount: U256,
    /// Zero: no rolling cap.
    pub(crate) window_cap: U256,
    /// Seconds for the cap to refill completely.
    pub(crate) window_secs: u64,
}

/// What the chain says about an outbound transfer before it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OutboundFacts {
    pub(crate) chain: Chain,
    pub(crate) token: Address,
    pub(crate) symbol: String,
    pub(crate) decimals: u8,
    pub(crate) paused: bool,
    pub(crate) limits: Limits,
    /// `Operational.availableCapacity`: what may leave now under the rolling cap.
    pub(crate) available: U256,
    /// The wallet's balance of the token.
    pub(crate) balance: U256,
}

impl OutboundFacts {
    fn amount(&self, value: U256) -> Amount {
        Amount {
            value,
            decimals: self.decimals,
            symbol: self.symbol.clone(),
        }
    }

    /// Refuses `amount` for the first rule it breaks, in the order the contracts check them
    /// (mapping, pause, minimum, maximum, window), then the wallet's balance.
    #[allow(
        clippy::result_large_err,
        reason = "one refusal per command: its size costs nothing"
    )]
    pub(crate) fn check(&self, amount: U256) -> Result<(), Refusal> {
        if self.limits.remote == Address::ZERO {
            return Err(Refusal::Unmapped {
                token: self.token,
                chain: self.chain,
            });
        }
        if self.paused {
            return Err(Refusal::Paused { chain: self.chain });
        }
        let l = &self.limits;
        if amount < l.min_amount {
            return Err(Refusal::BelowMinimum {
                amount: self.amount(amount),
                minimum: self.amount(l.min_amount),
            });
        }
        if !l.max_amount.is_zero() && amount > l.max_amount {
            return Err(Refusal::AboveMaximum {
                amount: self.amount(amount),
                maximum: self.amount(l.max_amount),
            });
        }
        if !l.window_cap.is_zero() && amount > self.available {
            return Err(Refusal::WindowCapFull {
                available: self.amount(self.available),
                frees_in_secs: frees_in(amount, self.available, l.window_cap, l.window_secs),
            });
        }
        if amount > self.balance {
            return Err(Refusal::InsufficientBalance {
                have: self.amount(self.balance),
                need: self.amount(amount),
            });
        }
        Ok(())
    }
}

/// Seconds until `amount` fits in a bucket holding `available` that refills `cap` per
/// `window_secs` (linearly, as `Operational._available` computes): `None` when it never fits.
pub(crate) fn frees_in(amount: U256, available: U256, cap: U256, window_secs: u64) -> Option<u64> {
    if amount > cap || cap.is_zero() {
        return None;
    }
    let missing = amount.saturating_sub(available);
    // ceil(missing * window / cap): the contract rounds the refill down, so round the wait up
    let numerator = missing.checked_mul(U256::from(window_secs))?;
    let secs = numerator.div_ceil(cap);
    Some(secs.saturating_to())
}

#[cfg(test)]
mod tests {
    use alloy::primitives::address;
    use proptest::prelude::*;

    use super::*;

    const TOKEN: Address = address!("0x00000000000000000000000000000000000000aa");

    fn facts() -> OutboundFacts {
        OutboundFacts {
            chain: Chain::Main,
            token: TOKEN,
            symbol: "DEMO".into(),
            decimals: 18,
            paused: false,
            limits: Limits {
                remote: address!("0x00000000000000000000000000000000000000bb"),
                min_amount: U256::from(10u64).pow(U256::from(18)),
                max_amount: U256::from(1_000u64) * U256::from(10u64).pow(U256::from(18)),
                window_cap: U256::from(5_000u64) * U256::from(10u64).pow(U256::from(18)),
                window_secs: 86_400,
            },
            available: U256::from(100u64) * U256::from(10u64).pow(U256::from(18)),
            balance: U256::from(500u64) * U256::from(10u64).pow(U256::from(18)),
        }
    }

    fn tokens(n: u64) -> U256 {
        U256::from(n) * U256::from(10u64).pow(U256::from(18))
    }

    #[test]
    fn each_rule_refuses_with_its_own_code_and_words() {
        let f = facts();
        assert_eq!(f.check(tokens(50)), Ok(()));

        let below = f.check(U256::from(1u64)).expect_err("refused");
        assert_eq!(below.exit_code(), 10);
        assert_eq!(
            below.to_string(),
            "below the minimum: 0.000000000000000001 DEMO is less than the 1 DEMO this token may bridge"
        );
        assert_eq!(f.check(tokens(1_001)).expect_err("refused").exit_code(), 11);

        let full = f.check(tokens(200)).expect_err("refused");
        assert_eq!(full.exit_code(), 12);
        // 100 missing of a 5,000-per-day bucket: 100/5000 of 86,400 s
        assert_eq!(
            full.to_string(),
            "the window cap is full: 100 DEMO may leave now; the amount fits in about 28 min 48 s"
        );

        let mut paused = facts();
        paused.paused = true;
        assert_eq!(
            paused.check(tokens(50)).expect_err("refused").exit_code(),
            13
        );

        let mut unmapped = facts();
        unmapped.limits.remote = Address::ZERO;
        assert_eq!(
            unmapped.check(tokens(50)).expect_err("refused").exit_code(),
            14
        );

        let mut poor = facts();
        poor.balance = tokens(20);
        let err = poor.check(tokens(50)).expect_err("refused");
        assert_eq!(err.exit_code(), 15);
        assert_eq!(
            err.to_string(),
            "insufficient balance: 50 DEMO needed, the wallet holds 20 DEMO"
        );
    }

    #[test]
    fn exit_codes_are_distinct_and_apart_from_the_others() {
        let all = [
            Refusal::BelowMinimum {
                amount: facts().amount(U256::ZERO),
                minimum: facts().amount(U256::ZERO),
            },
            Refusal::AboveMaximum {
                amount: facts().amount(U256::ZERO),
                maximum: facts().amount(U256::ZERO),
            },
            Refusal::WindowCapFull {
                available: facts().amount(U256::ZERO),
                frees_in_secs: None,
            },
            Refusal::Paused { chain: Chain::Side },
            Refusal::Unmapped {
                token: TOKEN,
                chain: Chain::Side,
            },
            Refusal::InsufficientBalance {
                have: facts().amount(U256::ZERO),
                need: facts().amount(U256::ZERO),
            },
            Refusal::InsufficientGas {
                chain: Chain::Side,
                have_wei: U256::ZERO,
                need_wei: U256::ZERO,
            },
            Refusal::NotReady { have: 1, need: 2 },
            Refusal::AlreadyReleased { tx: None },
            Refusal::NotFound(String::new()),
        ];
        let mut codes: Vec<u8> = all.iter().map(Refusal::exit_code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        for code in [exit::OK, exit::ERROR, exit::USAGE, exit::PENDING] {
            assert!(!codes.contains(&code));
        }
    }

    #[test]
    fn an_amount_above_the_whole_cap_never_fits() {
        assert_eq!(frees_in(tokens(6), tokens(1), tokens(5), 100), None);
        assert_eq!(frees_in(tokens(1), tokens(1), tokens(5), 100), Some(0));
    }

    proptest! {
        /// The wait is the shortest whole number of seconds after which the contract's refill
        /// (rounded down) covers the amount.
        #[test]
        fn the_wait_is_exactly_when_the_contract_lets_it_through(
            cap in 1u64..1_000_000_000,
            window in 1u64..1_000_000,
            available_frac in 0u64..=1000,
            amount_frac in 0u64..=1000,
        ) {
            let cap_u = U256::from(cap);
            let available = cap_u * U256::from(available_frac) / U256::from(1000u64);
            let amount = cap_u * U256::from(amount_frac) / U256::from(1000u64);
            let refill = |t: u64| (available + U256::from(t) * cap_u / U256::from(window)).min(cap_u);
            let wait = frees_in(amount, available, cap_u, window).expect("amount is within the cap");
            prop_assert!(refill(wait) >= amount);
            if wait > 0 {
                prop_assert!(refill(wait - 1) < amount);
            }
        }
    }
}
