//! The file's shape before validation: serde structs whose leaves are plain TOML values, the
//! bounds that catch typos and unit mix-ups, and the collector that records every problem with
//! its path.

use std::{
    collections::{BTreeMap, BTreeSet},
    ops::RangeInclusive,
};

use serde::{Deserialize, de::DeserializeOwned};
use toml::Value;

use super::{
    FieldError,
    validate::{found, suggest},
};

// Each struct denies unknown fields, and `Errors::section` takes out (and reports) every key
// not in the struct's list first, so all strays are named, not just the first; a list that
// drifted from its struct would fail the tests either way.

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) database_url: Option<Value>,
    pub(super) http_listen: Option<Value>,
    pub(super) key: Option<Value>,
    pub(super) chains: Option<Value>,
    pub(super) relay: Option<Value>,
    pub(super) ha: Option<Value>,
    pub(super) secrets: Option<Value>,
    pub(super) fees: Option<Value>,
}

pub(super) const CONFIG_KEYS: &[&str] = &[
    "database_url",
    "http_listen",
    "key",
    "chains",
    "relay",
    "ha",
    "secrets",
    "fees",
];

/// `[secrets]`: where the sealed secrets file and its master keys are.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSecrets {
    pub(super) file: Option<Value>,
    pub(super) master_keys: Option<Value>,
}

pub(super) const SECRETS_KEYS: &[&str] = &["file", "master_keys"];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawKey {
    pub(super) backend: Option<Value>,
    pub(super) keystore: Option<Value>,
    pub(super) password: Option<Value>,
    pub(super) module: Option<Value>,
    pub(super) token_label: Option<Value>,
    pub(super) key_label: Option<Value>,
    pub(super) pin: Option<Value>,
}

pub(super) const KEY_KEYS: &[&str] = &[
    "backend",
    "keystore",
    "password",
    // the PKCS#11 backend's
    "module",
    "token_label",
    "key_label",
    "pin",
];

/// The keystore backend's keys (the example config shows these).
pub(super) const KEYSTORE_KEYS: &[&str] = KEY_KEYS.split_at(3).0;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawChain {
    pub(super) rpc_url: Option<Value>,
    pub(super) chain_id: Option<Value>,
    pub(super) bridge: Option<Value>,
    pub(super) hub: Option<Value>,
    pub(super) governance: Option<Value>,
    pub(super) operational: Option<Value>,
    pub(super) confirmations: Option<Value>,
    pub(super) poll_interval_ms: Option<Value>,
    pub(super) max_fee_per_gas_gwei: Option<Value>,
    pub(super) start_block: Option<Value>,
    pub(super) fallback_rpc_urls: Option<Value>,
    pub(super) max_head_lag_blocks: Option<Value>,
    pub(super) min_balance_ether: Option<Value>,
}

pub(super) const CHAIN_KEYS: &[&str] = &[
    "rpc_url",
    "chain_id",
    "bridge",
    // the main chain's only: whether `bridge` is the hub of many side chains
    "hub",
    "governance",
    "operational",
    "confirmations",
    "poll_interval_ms",
    "start_block",
    "fallback_rpc_urls",
    "max_head_lag_blocks",
    // a relaying validator's only: the keyless reader's list ends before these
    "max_fee_per_gas_gwei",
    "min_balance_ether",
];

/// A keyless reader's chain table: no fee cap, no gas runway.
pub(super) const KEYLESS_CHAIN_KEYS: &[&str] = CHAIN_KEYS.split_at(CHAIN_KEYS.len() - 2).0;

/// The transfer index's file (`relayer index --config FILE`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIndex {
    pub(super) database_url: Option<Value>,
    pub(super) listen: Option<Value>,
    pub(super) log_range: Option<Value>,
    pub(super) rate_limit: Option<Value>,
    pub(super) chains: Option<Value>,
}

pub(super) const INDEX_KEYS: &[&str] = &[
    "database_url",
    "listen",
    "log_range",
    "rate_limit",
    "chains",
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRateLimit {
    pub(super) per_second: Option<Value>,
    pub(super) burst: Option<Value>,
    pub(super) clients: Option<Value>,
}

pub(super) const RATE_LIMIT_KEYS: &[&str] = &["per_second", "burst", "clients"];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRelay {
    pub(super) batch_size: Option<Value>,
    pub(super) release_takeover_secs: Option<Value>,
    pub(super) tx_timeout_secs: Option<Value>,
    pub(super) fee_bump_percent: Option<Value>,
    pub(super) log_range: Option<Value>,
    pub(super) max_in_flight: Option<Value>,
    pub(super) rpc_failure_secs: Option<Value>,
    pub(super) transfers_per_round: Option<Value>,
}

pub(super) const RELAY_KEYS: &[&str] = &[
    "batch_size",
    "release_takeover_secs",
    "tx_timeout_secs",
    "fee_bump_percent",
    "log_range",
    "max_in_flight",
    "rpc_failure_secs",
    "transfers_per_round",
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHa {
    pub(super) enabled: Option<Value>,
    pub(super) takeover_secs: Option<Value>,
}

pub(super) const HA_KEYS: &[&str] = &["enabled", "takeover_secs"];

/// `[fees]`: prices to compare fees with relay costs.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFees {
    pub(super) token_prices: Option<Value>,
    pub(super) side_native_price: Option<Value>,
    pub(super) check_every_secs: Option<Value>,
}

pub(super) const FEES_KEYS: &[&str] = &["token_prices", "side_native_price", "check_every_secs"];

// Bounds that catch typos and unit mix-ups, not policy.
pub(super) const BATCH_SIZE: RangeInclusive<u64> = 1..=200;
pub(super) const CONFIRMATIONS: RangeInclusive<u64> = 0..=10_000;
pub(super) const POLL_INTERVAL_MS: RangeInclusive<u64> = 10..=600_000;
pub(super) const RELEASE_TAKEOVER_SECS: RangeInclusive<u64> = 1..=86_400;
pub(super) const TX_TIMEOUT_SECS: RangeInclusive<u64> = 1..=3_600;
// nodes refuse a replacement that raises the fee by less than 10%
pub(super) const FEE_BUMP_PERCENT: RangeInclusive<u64> = 10..=1_000;
pub(super) const LOG_RANGE: RangeInclusive<u64> = 1..=100_000;
pub(super) const MAX_IN_FLIGHT: RangeInclusive<u64> = 1..=64;
// a quarter of it is the lease's check interval, which must be at least a second
pub(super) const HA_TAKEOVER_SECS: RangeInclusive<u64> = 4..=3_600;
pub(super) const RPC_FAILURE_SECS: RangeInclusive<u64> = 1..=86_400;
pub(super) const TRANSFERS_PER_ROUND: RangeInclusive<u64> = 10..=100_000;
pub(super) const RATE_PER_SECOND: RangeInclusive<u64> = 1..=10_000;
pub(super) const RATE_BURST: RangeInclusive<u64> = 1..=100_000;
pub(super) const RATE_CLIENTS: RangeInclusive<u64> = 16..=10_000_000;
pub(super) const MAX_MIN_BALANCE_ETHER: u128 = 1_000_000;
pub(super) const WEI_PER_ETHER: u128 = 1_000_000_000_000_000_000;
pub(super) const MAX_FEE_GWEI: u128 = 100_000;
pub(super) const WEI_PER_GWEI: u128 = 1_000_000_000;

/// Every problem found so far, and which paths got their value from the environment.
#[derive(Default)]
pub(super) struct Errors {
    pub(super) found: Vec<FieldError>,
    /// Paths whose value came from an environment variable, and which.
    pub(super) from_env: BTreeMap<String, &'static str>,
    /// Paths holding a TOML datetime. Serde hands datetimes over as strings, so they are
    /// noted before it sees them; no setting takes one.
    pub(super) datetimes: BTreeSet<String>,
}

impl Errors {
    /// Records a problem; only the first for any one path counts.
    pub(super) fn push(&mut self, path: &str, message: impl Into<String>) {
        let path = match self.from_env.get(path) {
            Some(var) => format!("{path} (from {var})"),
            None => path.to_string(),
        };
        if self.found.iter().any(|e| e.path == path) {
            return;
        }
        self.found.push(FieldError {
            path,
            message: message.into(),
        });
    }

    /// A required setting: missing is an error.
    pub(super) fn required<T>(
        &mut self,
        path: &str,
        value: Option<Value>,
        parse: impl FnOnce(Value) -> Result<T, String>,
    ) -> Option<T> {
        match value {
            None => {
                self.push(path, "missing");
                None
            }
            Some(v) => self.parse(path, v, parse),
        }
    }

    /// An optional setting: missing takes the default.
    pub(super) fn optional<T>(
        &mut self,
        path: &str,
        value: Option<Value>,
        default: T,
        parse: impl FnOnce(Value) -> Result<T, String>,
    ) -> Option<T> {
        match value {
            None => Some(default),
            Some(v) => self.parse(path, v, parse),
        }
    }

    pub(super) fn parse<T>(
        &mut self,
        path: &str,
        value: Value,
        parse: impl FnOnce(Value) -> Result<T, String>,
    ) -> Option<T> {
        if self.datetimes.contains(path) {
            self.push(
                path,
                "unexpected datetime (no setting takes one; quote it if it is a string)",
            );
            return None;
        }
        match parse(value) {
            Ok(v) => Some(v),
            Err(message) => {
                self.push(path, message);
                None
            }
        }
    }

    pub(super) fn note_datetimes(&mut self, prefix: &str, table: &toml::Table) {
        for (key, value) in table {
            match value {
                Value::Datetime(_) => {
                    self.datetimes.insert(join(prefix, key));
                }
                Value::Table(inner) => self.note_datetimes(&join(prefix, key), inner),
                _ => {}
            }
        }
    }

    /// A table, or an error naming what was found instead.
    pub(super) fn table(&mut self, path: &str, value: Value) -> Option<toml::Table> {
        match value {
            Value::Table(table) => Some(table),
            other => {
                self.push(path, format!("expected a table, found {}", found(&other)));
                None
            }
        }
    }

    /// A sub-table read into its raw struct: keys not in `known` are reported and dropped,
    /// the rest deserialized.
    pub(super) fn section<T: DeserializeOwned>(
        &mut self,
        path: &str,
        value: Value,
        known: &[&str],
    ) -> Option<T> {
        let mut table = self.table(path, value)?;
        let unknown: Vec<String> = table
            .keys()
            .filter(|k| !known.contains(&k.as_str()))
            .cloned()
            .collect();
        for key in unknown {
            table.remove(&key);
            let message = match suggest(&key, known) {
                Some(close) => format!("unknown key (did you mean `{close}`?)"),
                None => "unknown key".to_string(),
            };
            self.push(&join(path, &key), message);
        }
        match T::deserialize(Value::Table(table)) {
            Ok(raw) => Some(raw),
            Err(e) => {
                self.push(path, e.to_string());
                None
            }
        }
    }
}

pub(super) fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}
