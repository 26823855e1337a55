//! The `[fees]` table: what a token and the side chain's coin are worth in the main chain's
//! native coin, so the relayer can tell whether the fees holders pay cover what relaying costs
//! (`sidebridge_fee_coverage_ratio`, the SidebridgeFeesBelowCosts alert). Without prices
//! nothing is compared: fees are in tokens, gas in native coins.

use std::time::Duration;

use alloy::primitives::Address;
use toml::Value;

use super::{
    raw::{Errors, RawFees},
    validate::{address, ether, found, in_range},
};

/// Prices in main-chain native wei.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeePrices {
    /// One whole main-chain token, by token address.
    pub token_prices: Vec<(Address, u128)>,
    /// One whole side-chain native coin.
    pub side_native_price: u128,
    /// How often the coverage is computed.
    pub check_every: Duration,
}

impl Default for FeePrices {
    fn default() -> Self {
        Self {
            token_prices: Vec::new(),
            side_native_price: AT_PAR,
            check_every: Duration::from_secs(300),
        }
    }
}

/// One side-chain coin is taken to be worth one main-chain coin unless the file says otherwise.
const AT_PAR: u128 = 1_000_000_000_000_000_000;

pub(super) fn fees_config(raw: RawFees, errors: &mut Errors) -> Option<FeePrices> {
    let side = errors.optional(
        "fees.side_native_price",
        raw.side_native_price,
        AT_PAR,
        ether,
    );
    let every = errors.optional(
        "fees.check_every_secs",
        raw.check_every_secs,
        FeePrices::default().check_every.as_secs(),
        |v| in_range(v, 1..=86_400),
    );
    let mut token_prices = Vec::new();
    let mut ok = true;
    match raw.token_prices {
        None => {}
        Some(Value::Table(table)) => {
            for (token, price) in table {
                let path = format!("fees.token_prices.{token}");
                let token = errors.parse(&path, Value::String(token.clone()), address);
                let price = errors.parse(&path, price, ether);
                match (token, price) {
                    (Some(t), Some(p)) => token_prices.push((t, p)),
                    _ => ok = false,
                }
            }
        }
        Some(other) => {
            errors.push(
                "fees.token_prices",
                format!(
                    "expected a table of token address = price, found {}",
                    found(&other)
                ),
            );
            ok = false;
        }
    }
    ok.then_some(FeePrices {
        token_prices,
        side_native_price: side?,
        check_every: Duration::from_secs(every?),
    })
}

#[cfg(test)]
mod tests {
    use super::super::{Config, tests::VALID};

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn prices_are_exact_wei_and_mistakes_are_named() {
        let text = format!(
            "{VALID}\n[fees]\nside_native_price = \"0.1\"\n[fees.token_prices]\n\"0x00000000000000000000000000000000000000aa\" = \"0.0004\"\n"
        );
        let config = Config::from_toml_str(&text, &no_env).expect("valid");
        assert_eq!(config.fees.side_native_price, 100_000_000_000_000_000);
        assert_eq!(config.fees.token_prices.len(), 1);
        assert_eq!(config.fees.token_prices[0].1, 400_000_000_000_000);

        let bad = format!("{VALID}\n[fees.token_prices]\n\"DEMO\" = \"x\"\n");
        let err = Config::from_toml_str(&bad, &no_env)
            .expect_err("a symbol is not an address")
            .to_string();
        assert!(err.contains("fees.token_prices.DEMO"), "{err}");
    }
}
