//! From raw values to the validated [`Config`]: every setting parsed into its real type, every
//! problem recorded with its path, environment overrides applied.

use std::{net::SocketAddr, ops::RangeInclusive, str::FromStr, time::Duration};

use alloy::{primitives::Address, transports::http::reqwest::Url};
use toml::Value;

use super::{
    ChainConfig, Config, DEFAULT_HTTP_LISTEN, DEFAULT_MAX_HEAD_LAG, DEFAULT_MIN_BALANCE_WEI,
    DatabaseUrl, ENV_DATABASE_URL, ENV_HTTP_LISTEN, ENV_KEY_PASSWORD, ENV_MAIN_RPC_URL,
    ENV_SIDE_RPC_URL, FeePrices, HaConfig, RelayConfig, SecretRef,
    fees::fees_config,
    ha::ha_config,
    key::key_config,
    raw::*,
    secret::{SecretsTable, bind, bind_key, open_sealed_urls, secrets_table},
};
use crate::domain::Chain;

pub(super) fn validate(
    table: toml::Table,
    env: &dyn Fn(&str) -> Option<String>,
    errors: &mut Errors,
) -> Option<Config> {
    errors.note_datetimes("", &table);
    let raw: RawConfig = errors.section("", Value::Table(table), CONFIG_KEYS)?;

    let secrets = secrets_table(errors, raw.secrets);
    let database_url = database_setting(errors, env, raw.database_url, &secrets);
    let http_listen = listen_setting(errors, env, "http_listen", raw.http_listen);

    let key = match raw.key {
        None => {
            errors.push("key", "missing (a [key] table with keystore = \"/path\")");
            None
        }
        Some(v) => errors
            .section::<RawKey>("key", v, KEY_KEYS)
            .and_then(|raw| {
                let password = override_with(errors, env, "key.password", ENV_KEY_PASSWORD);
                let mut key = key_config(raw, password, errors)?;
                bind_key(&mut key, &secrets, errors);
                Some(key)
            }),
    };

    let (main, side) = chains_setting(errors, env, raw.chains, ChainRole::Relaying, &secrets);

    let relay = match raw.relay {
        None => Some(RelayConfig::default()),
        Some(v) => errors
            .section::<RawRelay>("relay", v, RELAY_KEYS)
            .and_then(|raw| relay_config(raw, errors)),
    };

    let ha = match raw.ha {
        None => Some(HaConfig::default()),
        Some(v) => errors
            .section::<RawHa>("ha", v, HA_KEYS)
            .and_then(|raw| ha_config(raw, database_url.as_ref(), errors)),
    };

    let fees = match raw.fees {
        None => Some(FeePrices::default()),
        Some(v) => errors
            .section::<RawFees>("fees", v, FEES_KEYS)
            .and_then(|raw| fees_config(raw, errors)),
    };

    Some(Config {
        fees: fees?,
        database_url: database_url?,
        http_listen: http_listen?,
        key: key?,
        main: main?,
        side: side?,
        relay: relay?,
        ha: ha?,
        source: None,
    })
}

/// The value of environment variable `var` (when set and not empty) in place of the file's
/// value at `path`; errors at that path then name the variable.
pub(super) fn override_with(
    errors: &mut Errors,
    env: &dyn Fn(&str) -> Option<String>,
    path: &str,
    var: &'static str,
) -> Option<Value> {
    env(var).filter(|v| !v.is_empty()).map(|v| {
        errors.from_env.insert(path.to_string(), var);
        errors.datetimes.remove(path);
        Value::String(v)
    })
}

/// `database_url`, required, overridden by [`ENV_DATABASE_URL`].
pub(super) fn database_setting(
    errors: &mut Errors,
    env: &dyn Fn(&str) -> Option<String>,
    raw: Option<Value>,
    secrets: &SecretsTable,
) -> Option<DatabaseUrl> {
    match override_with(errors, env, "database_url", ENV_DATABASE_URL).or(raw) {
        None => {
            errors.push(
                "database_url",
                format!("missing (set it here or in {ENV_DATABASE_URL})"),
            );
            None
        }
        Some(v) => errors.parse("database_url", v, |v| database(v, env, secrets)),
    }
}

/// An HTTP listen address at `path`, overridden by [`ENV_HTTP_LISTEN`]; loopback port 9100
/// when unset.
pub(super) fn listen_setting(
    errors: &mut Errors,
    env: &dyn Fn(&str) -> Option<String>,
    path: &str,
    raw: Option<Value>,
) -> Option<SocketAddr> {
    let value = override_with(errors, env, path, ENV_HTTP_LISTEN).or(raw);
    errors.optional(
        path,
        value,
        SocketAddr::from(([127, 0, 0, 1], 9100)),
        socket_addr,
    )
}

/// Who reads a chain's settings: a relaying validator needs a fee cap and a gas runway, a
/// keyless reader (the transfer index) sends nothing and has neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ChainRole {
    Relaying,
    Keyless,
}

/// The `[chains.main]` and `[chains.side]` tables, RPC URLs overridden by the environment.
pub(super) fn chains_setting(
    errors: &mut Errors,
    env: &dyn Fn(&str) -> Option<String>,
    raw: Option<Value>,
    role: ChainRole,
    secrets: &SecretsTable,
) -> (Option<ChainConfig>, Option<ChainConfig>) {
    let Some(v) = raw else {
        errors.push("chains", "missing ([chains.main] and [chains.side] tables)");
        return (None, None);
    };
    let Some(mut chains) = errors.table("chains", v) else {
        return (None, None);
    };
    let keys = match role {
        ChainRole::Relaying => CHAIN_KEYS,
        ChainRole::Keyless => KEYLESS_CHAIN_KEYS,
    };
    let mut one = |errors: &mut Errors, chain: Chain, var: &'static str| {
        let path = format!("chains.{chain}");
        let Some(v) = chains.remove(chain.as_str()) else {
            errors.push(&path, format!("missing (a [{path}] table)"));
            return None;
        };
        let mut raw: RawChain = errors.section(&path, v, keys)?;
        if let Some(v) = override_with(errors, env, &format!("{path}.rpc_url"), var) {
            raw.rpc_url = Some(v);
        }
        open_sealed_urls(&path, &mut raw, secrets, errors);
        chain_config(&path, raw, errors, role)
    };
    let main = one(errors, Chain::Main, ENV_MAIN_RPC_URL);
    let side = one(errors, Chain::Side, ENV_SIDE_RPC_URL);
    for (name, _) in chains {
        errors.push(
            &format!("chains.{name}"),
            "unknown chain (expected main or side)",
        );
    }
    if side.as_ref().is_some_and(|s| s.hub) {
        errors.push(
            "chains.side.hub",
            "only the main chain's bridge can be a hub (leave it out here)",
        );
    }
    if let (Some(main), Some(side)) = (&main, &side)
        && main.chain_id == side.chain_id
    {
        errors.push(
            "chains.side.chain_id",
            "must differ from chains.main.chain_id",
        );
    }
    (main, side)
}

pub(super) fn chain_config(
    path: &str,
    raw: RawChain,
    errors: &mut Errors,
    role: ChainRole,
) -> Option<ChainConfig> {
    let at = |key: &str| format!("{path}.{key}");
    let rpc_url = errors.required(&at("rpc_url"), raw.rpc_url, rpc_url);
    let chain_id = errors.required(&at("chain_id"), raw.chain_id, |v| in_range(v, 1..=u64::MAX));
    let bridge = errors.required(&at("bridge"), raw.bridge, address);
    let hub = errors.optional(&at("hub"), raw.hub, false, boolean);
    let governance = errors.required(&at("governance"), raw.governance, address);
    let operational = errors.required(&at("operational"), raw.operational, address);
    let confirmations = errors.required(&at("confirmations"), raw.confirmations, |v| {
        in_range(v, CONFIRMATIONS)
    });
    let poll_interval_ms =
        errors.optional(&at("poll_interval_ms"), raw.poll_interval_ms, 1_000, |v| {
            in_range(v, POLL_INTERVAL_MS)
        });
    // a keyless reader's key list leaves both out, so they are never set for it
    let max_fee_per_gas = match role {
        ChainRole::Relaying => {
            errors.required(&at("max_fee_per_gas_gwei"), raw.max_fee_per_gas_gwei, gwei)
        }
        ChainRole::Keyless => Some(0),
    };
    let start_block = errors.optional(&at("start_block"), raw.start_block, 0, |v| {
        in_range(v, 0..=u64::MAX)
    });
    let min_balance = match role {
        ChainRole::Relaying => errors.optional(
            &at("min_balance_ether"),
            raw.min_balance_ether,
            DEFAULT_MIN_BALANCE_WEI,
            ether,
        ),
        ChainRole::Keyless => Some(0),
    };
    let fallback_rpc_urls = errors.optional(
        &at("fallback_rpc_urls"),
        raw.fallback_rpc_urls,
        Vec::new(),
        rpc_urls,
    );
    let max_head_lag = errors.optional(
        &at("max_head_lag_blocks"),
        raw.max_head_lag_blocks,
        DEFAULT_MAX_HEAD_LAG,
        |v| in_range(v, 1..=10_000),
    );
    Some(ChainConfig {
        fallback_rpc_urls: fallback_rpc_urls?,
        max_head_lag: max_head_lag?,
        rpc_url: rpc_url?,
        chain_id: chain_id?,
        bridge: bridge?,
        hub: hub?,
        governance: governance?,
        operational: operational?,
        confirmations: confirmations?,
        poll_interval: Duration::from_millis(poll_interval_ms?),
        max_fee_per_gas: max_fee_per_gas?,
        start_block: start_block?,
        min_balance: min_balance?,
    })
}

pub(super) fn relay_config(raw: RawRelay, errors: &mut Errors) -> Option<RelayConfig> {
    let d = RelayConfig::default();
    let batch_size = errors.optional(
        "relay.batch_size",
        raw.batch_size,
        d.batch_size as u64,
        |v| in_range(v, BATCH_SIZE),
    );
    let release_takeover = errors.optional(
        "relay.release_takeover_secs",
        raw.release_takeover_secs,
        d.release_takeover.as_secs(),
        |v| in_range(v, RELEASE_TAKEOVER_SECS),
    );
    let tx_timeout = errors.optional(
        "relay.tx_timeout_secs",
        raw.tx_timeout_secs,
        d.tx_timeout.as_secs(),
        |v| in_range(v, TX_TIMEOUT_SECS),
    );
    let fee_bump_percent = errors.optional(
        "relay.fee_bump_percent",
        raw.fee_bump_percent,
        d.fee_bump_percent,
        |v| in_range(v, FEE_BUMP_PERCENT),
    );
    let log_range = errors.optional("relay.log_range", raw.log_range, d.log_range, |v| {
        in_range(v, LOG_RANGE)
    });
    let max_in_flight = errors.optional(
        "relay.max_in_flight",
        raw.max_in_flight,
        d.max_in_flight as u64,
        |v| in_range(v, MAX_IN_FLIGHT),
    );
    let rpc_failure = errors.optional(
        "relay.rpc_failure_secs",
        raw.rpc_failure_secs,
        d.rpc_failure.as_secs(),
        |v| in_range(v, RPC_FAILURE_SECS),
    );
    let transfers_per_round = errors.optional(
        "relay.transfers_per_round",
        raw.transfers_per_round,
        u64::from(d.transfers_per_round),
        |v| in_range(v, TRANSFERS_PER_ROUND),
    );
    Some(RelayConfig {
        batch_size: usize::try_from(batch_size?).ok()?,
        release_takeover: Duration::from_secs(release_takeover?),
        tx_timeout: Duration::from_secs(tx_timeout?),
        fee_bump_percent: fee_bump_percent?,
        log_range: log_range?,
        max_in_flight: usize::try_from(max_in_flight?).ok()?,
        rpc_failure: Duration::from_secs(rpc_failure?),
        transfers_per_round: u32::try_from(transfers_per_round?).ok()?,
    })
}

// ---------------------------------------------------------------------------------------------
// Leaf parsers: a TOML value in, the real type or a message (without the path) out.

pub(super) fn found(v: &Value) -> String {
    let t = v.type_str();
    let article = if t.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {t}")
}

pub(super) fn string(v: Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s),
        other => Err(format!("expected a string, found {}", found(&other))),
    }
}

pub(super) fn integer(v: Value) -> Result<u64, String> {
    match v {
        Value::Integer(i) => u64::try_from(i).map_err(|_| "must not be negative".to_string()),
        other => Err(format!("expected an integer, found {}", found(&other))),
    }
}

pub(super) fn in_range(v: Value, range: RangeInclusive<u64>) -> Result<u64, String> {
    let n = integer(v)?;
    if range.contains(&n) {
        return Ok(n);
    }
    Err(match (*range.start(), *range.end()) {
        (lo, u64::MAX) => format!("must be at least {lo}"),
        (lo, hi) => format!("must be between {lo} and {hi}"),
    })
}

pub(super) fn boolean(v: Value) -> Result<bool, String> {
    match v {
        Value::Boolean(b) => Ok(b),
        other => Err(format!("expected true or false, found {}", found(&other))),
    }
}

pub(super) fn address(v: Value) -> Result<Address, String> {
    let s = string(v)?;
    let hex = s.strip_prefix("0x").unwrap_or(&s);
    let address = Address::from_str(&s).map_err(|_| "not an address".to_string())?;
    let mixed_case =
        hex.chars().any(|c| c.is_ascii_uppercase()) && hex.chars().any(|c| c.is_ascii_lowercase());
    if mixed_case && Address::parse_checksummed(&s, None).is_err() {
        return Err("not an address: bad EIP-55 checksum".to_string());
    }
    if address.is_zero() {
        return Err("must not be the zero address".to_string());
    }
    Ok(address)
}

pub(super) fn rpc_url(v: Value) -> Result<String, String> {
    let s = string(v)?;
    let url = Url::parse(&s).map_err(|e| format!("not a URL: {e}"))?;
    match url.scheme() {
        "http" | "https" => Ok(s),
        other => Err(format!(
            "unsupported scheme {other}:// (expected http:// or https://)"
        )),
    }
}

/// A list of RPC URLs, each checked as `rpc_url` is; the first bad one is named by position.
pub(super) fn rpc_urls(v: Value) -> Result<Vec<String>, String> {
    let Value::Array(items) = v else {
        return Err("expected a list of URLs, e.g. [\"https://…\"]".into());
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| rpc_url(item).map_err(|e| format!("[{i}]: {e}")))
        .collect()
}

pub(super) fn socket_addr(v: Value) -> Result<SocketAddr, String> {
    string(v)?
        .parse()
        .map_err(|_| format!("not a socket address (ip:port, e.g. {DEFAULT_HTTP_LISTEN})"))
}

pub(super) fn database(
    v: Value,
    env: &dyn Fn(&str) -> Option<String>,
    secrets: &SecretsTable,
) -> Result<DatabaseUrl, String> {
    let s = string(v)?;
    let url = if ["env:", "file:", "sealed:"]
        .iter()
        .any(|p| s.starts_with(p))
    {
        let mut reference = s.parse::<SecretRef>().map_err(|e| e.to_string())?;
        bind(&mut reference, secrets)?;
        let resolved = match &reference {
            SecretRef::Env(name) => reference.read_with(&|_| env(name)),
            SecretRef::File(_) | SecretRef::Sealed(_) => reference.read_with(env),
        };
        resolved.map_err(|e| e.to_string())?.expose().to_string()
    } else {
        s
    };
    DatabaseUrl::new(url)
}

/// A fee in gwei, as an integer, a float or a decimal string, to exact wei.
pub(super) fn gwei(v: Value) -> Result<u128, String> {
    let text = match v {
        Value::Integer(i) => i.to_string(),
        // Display prints the shortest decimal that reads back as the same float
        Value::Float(f) if f.is_finite() => f.to_string(),
        Value::String(s) => s,
        other => return Err(format!("expected a number, found {}", found(&other))),
    };
    let wei = decimal_gwei_to_wei(&text)?;
    if wei == 0 {
        return Err("must be greater than 0".to_string());
    }
    if wei > MAX_FEE_GWEI * WEI_PER_GWEI {
        return Err(format!(
            "must be at most {MAX_FEE_GWEI} gwei (the unit is gwei, not wei)"
        ));
    }
    Ok(wei)
}

/// A balance in ether, as an integer, a float or a decimal string, to exact wei; 0 allowed.
pub(super) fn ether(v: Value) -> Result<u128, String> {
    let text = match v {
        Value::Integer(i) => i.to_string(),
        Value::Float(f) if f.is_finite() => f.to_string(),
        Value::String(s) => s,
        other => return Err(format!("expected a number, found {}", found(&other))),
    };
    let bad = || format!("not a decimal number of ether: {text:?}");
    if text.starts_with('-') {
        return Err("must not be negative".to_string());
    }
    let (whole, frac) = text.split_once('.').unwrap_or((&text, ""));
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || !digits(whole) || !digits(frac) {
        return Err(bad());
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > 18 {
        return Err("more precise than 1 wei (at most 18 decimal places)".to_string());
    }
    let too_big =
        || format!("must be at most {MAX_MIN_BALANCE_ETHER} ether (the unit is ether, not wei)");
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| too_big())?
    };
    if whole > MAX_MIN_BALANCE_ETHER {
        return Err(too_big());
    }
    let frac_wei: u128 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<18}").parse().map_err(|_| bad())?
    };
    Ok(whole * WEI_PER_ETHER + frac_wei)
}

pub(super) fn decimal_gwei_to_wei(text: &str) -> Result<u128, String> {
    let bad = || format!("not a decimal number of gwei: {text:?}");
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() && frac.is_empty() {
        return Err(bad());
    }
    if !whole.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return Err(if whole.starts_with('-') {
            "must be greater than 0".to_string()
        } else {
            bad()
        });
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > 9 {
        return Err("more precise than 1 wei (at most 9 decimal places)".to_string());
    }
    let too_big = || format!("must be at most {MAX_FEE_GWEI} gwei (the unit is gwei, not wei)");
    let whole: u128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| too_big())?
    };
    let frac_wei: u128 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().map_err(|_| bad())?
    };
    whole
        .checked_mul(WEI_PER_GWEI)
        .and_then(|w| w.checked_add(frac_wei))
        .ok_or_else(too_big)
}

/// The known key closest to a misspelt one, if it is close enough to be what was meant.
pub(super) fn suggest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    //! The leaf parsers of amounts: exact to the wei, and refusals that name the unit; and
    //! which chain may name a hub.

    use super::*;
    use crate::config::tests::{errors_of, no_env, with};

    #[test]
    fn only_the_main_chain_has_a_hub() {
        let (main, side) = (
            "0x5FbDB2315678afecb367f032d93F642f64180aa3",
            "0x".to_string() + &"1".repeat(40),
        );
        let hub = |section, bridge: &str, v| {
            with(
                section,
                "bridge",
                &format!("bridge = \"{bridge}\"\nhub = {v}"),
            )
        };
        let c = Config::from_toml_str(&hub("[chains.main]", main, "true"), &no_env).expect("valid");
        assert!(c.main.hub && !c.side.hub);
        let wrong = [
            hub("[chains.side]", &side, "true"),
            hub("[chains.main]", main, "\"yes\""),
        ];
        assert_eq!(
            errors_of(&wrong[0]),
            ["chains.side.hub: only the main chain's bridge can be a hub (leave it out here)"]
        );
        assert_eq!(
            errors_of(&wrong[1]),
            ["chains.main.hub: expected true or false, found a string"]
        );
    }

    #[test]
    fn fallback_rpc_urls_are_checked_one_by_one() {
        let list = |items: &[&str]| {
            Value::Array(items.iter().map(|s| Value::String((*s).into())).collect())
        };
        assert_eq!(
            rpc_urls(list(&["https://a.example", "http://b.example:8545"])),
            Ok(vec![
                "https://a.example".to_string(),
                "http://b.example:8545".to_string()
            ])
        );
        let err = rpc_urls(list(&["https://a.example", "ws://b.example"])).expect_err("ws");
        assert!(err.starts_with("[1]: unsupported scheme ws://"), "{err}");
        assert!(rpc_urls(Value::String("https://a.example".into())).is_err());
    }

    #[test]
    fn fee_caps_are_exact_gwei() {
        let wei = |s: &str| gwei(s.parse::<Value>().unwrap_or(Value::String(s.into())));
        assert_eq!(gwei(Value::Integer(200)), Ok(200 * WEI_PER_GWEI));
        assert_eq!(gwei(Value::Float(1.5)), Ok(1_500_000_000));
        assert_eq!(gwei(Value::Float(0.1)), Ok(100_000_000));
        assert_eq!(gwei(Value::String("0.000000001".into())), Ok(1));
        assert_eq!(gwei(Value::String("2.".into())), Ok(2 * WEI_PER_GWEI));
        assert_eq!(
            gwei(Value::String("0.0000000001".into())),
            Err("more precise than 1 wei (at most 9 decimal places)".to_string())
        );
        assert_eq!(
            gwei(Value::Integer(0)),
            Err("must be greater than 0".into())
        );
        assert_eq!(
            gwei(Value::Integer(-3)),
            Err("must be greater than 0".into())
        );
        assert!(gwei(Value::Integer(100_001)).is_err());
        assert!(wei("abc").is_err());
        assert_eq!(
            gwei(Value::Boolean(true)),
            Err("expected a number, found a boolean".into())
        );
    }

    #[test]
    fn the_gas_runway_is_exact_ether() {
        assert_eq!(ether(Value::Integer(0)), Ok(0));
        assert_eq!(ether(Value::Float(0.05)), Ok(50_000_000_000_000_000));
        assert_eq!(
            ether(Value::String("1.000000000000000001".into())),
            Ok(WEI_PER_ETHER + 1)
        );
        assert_eq!(
            ether(Value::String("0.0000000000000000001".into())),
            Err("more precise than 1 wei (at most 18 decimal places)".to_string())
        );
        assert_eq!(
            ether(Value::Integer(-1)),
            Err("must not be negative".into())
        );
        assert!(ether(Value::Integer(1_000_001)).is_err());
        assert!(ether(Value::String("1e18".into())).is_err());
    }
}
