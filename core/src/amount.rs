//! Token amounts as people write and read them: "1.5" with the token's decimals, never raw
//! base units. Parsing is exact (no floats): a digit beyond the token's precision is an error,
//! not a rounding.

use alloy::primitives::U256;

/// Why an amount could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("{0:?} is not a decimal amount (expected digits, optionally one '.')")]
    Malformed(String),
    #[error("{input:?} has more than {decimals} decimal places")]
    TooPrecise { input: String, decimals: u8 },
    #[error("{0:?} is too large")]
    Overflow(String),
}

/// Parses "1.5" into base units of a token with `decimals` decimals.
pub fn parse_amount(input: &str, decimals: u8) -> Result<U256, AmountError> {
    let s = input.trim().replace('_', "");
    let malformed = || AmountError::Malformed(input.to_string());
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s.as_str(), ""),
    };
    if whole.is_empty() && frac.is_empty() {
        return Err(malformed());
    }
    if !whole.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return Err(malformed());
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > usize::from(decimals) {
        return Err(AmountError::TooPrecise {
            input: input.to_string(),
            decimals,
        });
    }
    let overflow = || AmountError::Overflow(input.to_string());
    let scale = U256::from(10u64)
        .checked_pow(U256::from(decimals))
        .ok_or_else(overflow)?;
    let whole = if whole.is_empty() {
        U256::ZERO
    } else {
        U256::from_str_radix(whole, 10).map_err(|_| overflow())?
    };
    let frac_units = if frac.is_empty() {
        U256::ZERO
    } else {
        let padded = format!("{frac:0<width$}", width = usize::from(decimals));
        U256::from_str_radix(&padded, 10).map_err(|_| overflow())?
    };
    whole
        .checked_mul(scale)
        .and_then(|w| w.checked_add(frac_units))
        .ok_or_else(overflow)
}

/// Formats base units as a decimal with no trailing zeros: 1500000000000000000 → "1.5".
pub fn format_amount(amount: U256, decimals: u8) -> String {
    let digits = amount.to_string();
    let d = usize::from(decimals);
    if d == 0 {
        return digits;
    }
    let padded = format!("{digits:0>width$}", width = d + 1);
    let (whole, frac) = padded.split_at(padded.len() - d);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        whole.to_string()
    } else {
        format!("{whole}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn e18(n: u64) -> U256 {
        U256::from(n) * U256::from(10u64).pow(U256::from(18))
    }

    #[test]
    fn parses_people_amounts() {
        assert_eq!(parse_amount("1.5", 18), Ok(e18(15) / U256::from(10)));
        assert_eq!(parse_amount("100", 18), Ok(e18(100)));
        assert_eq!(parse_amount("0.000001", 6), Ok(U256::from(1)));
        assert_eq!(parse_amount(".5", 1), Ok(U256::from(5)));
        assert_eq!(parse_amount("2.", 0), Ok(U256::from(2)));
        assert_eq!(parse_amount("1.50", 1), Ok(U256::from(15)));
        assert_eq!(parse_amount("1_000", 0), Ok(U256::from(1000)));
    }

    #[test]
    fn refuses_what_it_cannot_represent() {
        assert!(matches!(
            parse_amount("0.0000001", 6),
            Err(AmountError::TooPrecise { .. })
        ));
        for bad in ["", ".", "-1", "1e18", "0x10", "1.2.3", "abc"] {
            assert!(
                matches!(parse_amount(bad, 18), Err(AmountError::Malformed(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            parse_amount(&"9".repeat(80), 18),
            Err(AmountError::Overflow(_))
        ));
    }

    #[test]
    fn formats_with_decimals() {
        assert_eq!(format_amount(e18(15) / U256::from(10), 18), "1.5");
        assert_eq!(format_amount(e18(100), 18), "100");
        assert_eq!(format_amount(U256::from(1), 6), "0.000001");
        assert_eq!(format_amount(U256::ZERO, 18), "0");
        assert_eq!(format_amount(U256::from(42), 0), "42");
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(raw in any::<u128>(), decimals in 0u8..=30) {
            let amount = U256::from(raw);
            prop_assert_eq!(parse_amount(&format_amount(amount, decimals), decimals), Ok(amount));
        }
    }
}
