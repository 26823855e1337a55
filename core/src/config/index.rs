//! The transfer index's configuration (`relayer index --config FILE`): where its own database
//! is, where it listens, how hard one client may call it, and the two chains it reads. It holds
//! no key and sends nothing, so a chain table has no fee cap and no gas runway; everything else
//! is read, checked and reported (every problem with its path) as the relayer's file is.

use std::{net::SocketAddr, path::Path};

use toml::Value;

use super::{
    ChainConfig, ConfigError, DatabaseUrl, RelayConfig, load_file, parse_toml,
    raw::{
        Errors, INDEX_KEYS, LOG_RANGE, RATE_BURST, RATE_CLIENTS, RATE_LIMIT_KEYS, RATE_PER_SECOND,
        RawIndex, RawRateLimit,
    },
    secret::SecretsTable,
    validate::{ChainRole, chains_setting, database_setting, in_range, listen_setting},
};

/// A validated index configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexConfig {
    pub database_url: DatabaseUrl,
    /// Where the public API and the status page listen (port 0: any free port, reported).
    pub listen: SocketAddr,
    /// Most blocks in one `eth_getLogs`.
    pub log_range: u64,
    pub rate_limit: RateLimit,
    /// `max_fee_per_gas` and `min_balance` are 0: the index sends nothing.
    pub main: ChainConfig,
    pub side: ChainConfig,
    /// The file it was read from, if any.
    pub source: Option<std::path::PathBuf>,
}

/// Requests one client address may make: a bucket of `burst` tokens refilled at `per_second`;
/// at most `clients` addresses are remembered at once (bounded memory under a flood of
/// addresses: past that, the newcomers share one bucket).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_second: u64,
    pub burst: u64,
    pub clients: u64,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            per_second: 10,
            burst: 40,
            clients: 100_000,
        }
    }
}

impl IndexConfig {
    /// Reads and validates the file at `path`, with the process environment's overrides
    /// (`SIDEBRIDGE_DATABASE_URL`, `SIDEBRIDGE_HTTP_LISTEN`, `SIDEBRIDGE_{MAIN,SIDE}_RPC_URL`).
    pub fn load(path: &Path) -> Result<IndexConfig, ConfigError> {
        load_file(path, Self::from_toml_str, |c| &mut c.source)
    }

    /// Validates TOML text; `env` stands in for the process environment.
    pub fn from_toml_str(
        s: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<IndexConfig, ConfigError> {
        parse_toml(s, env, validate_index)
    }

    /// The settings of one chain.
    pub fn chain(&self, chain: crate::domain::Chain) -> &ChainConfig {
        match chain {
            crate::domain::Chain::Main => &self.main,
            crate::domain::Chain::Side => &self.side,
        }
    }
}

fn validate_index(
    table: toml::Table,
    env: &dyn Fn(&str) -> Option<String>,
    errors: &mut Errors,
) -> Option<IndexConfig> {
    errors.note_datetimes("", &table);
    let raw: RawIndex = errors.section("", Value::Table(table), INDEX_KEYS)?;
    let database_url = database_setting(errors, env, raw.database_url, &SecretsTable::Absent);
    let listen = listen_setting(errors, env, "listen", raw.listen);
    let log_range = errors.optional(
        "log_range",
        raw.log_range,
        RelayConfig::default().log_range,
        |v| in_range(v, LOG_RANGE),
    );
    let rate_limit = match raw.rate_limit {
        None => Some(RateLimit::default()),
        Some(v) => errors
            .section::<RawRateLimit>("rate_limit", v, RATE_LIMIT_KEYS)
            .and_then(|raw| rate_limit(raw, errors)),
    };
    let (main, side) = chains_setting(
        errors,
        env,
        raw.chains,
        ChainRole::Keyless,
        &SecretsTable::Absent,
    );
    Some(IndexConfig {
        database_url: database_url?,
        listen: listen?,
        log_range: log_range?,
        rate_limit: rate_limit?,
        main: main?,
        side: side?,
        source: None,
    })
}

fn rate_limit(raw: RawRateLimit, errors: &mut Errors) -> Option<RateLimit> {
    let d = RateLimit::default();
    let per_second = errors.optional("rate_limit.per_second", raw.per_second, d.per_second, |v| {
        in_range(v, RATE_PER_SECOND)
    });
    let burst = errors.optional("rate_limit.burst", raw.burst, d.burst, |v| {
        in_range(v, RATE_BURST)
    });
    let clients = errors.optional("rate_limit.clients", raw.clients, d.clients, |v| {
        in_range(v, RATE_CLIENTS)
    });
    Some(RateLimit {
        per_second: per_second?,
        burst: burst?,
        clients: clients?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = r#"
database_url = "sqlite:///var/lib/sidebridge/index.db"
listen = "0.0.0.0:8080"

[rate_limit]
per_second = 5

[chains.main]
rpc_url = "http://127.0.0.1:8545"
chain_id = 31337
bridge = "0x1111111111111111111111111111111111111111"
governance = "0x2222222222222222222222222222222222222222"
operational = "0x3333333333333333333333333333333333333333"
confirmations = 12

[chains.side]
rpc_url = "http://127.0.0.1:8546"
chain_id = 31338
bridge = "0x4444444444444444444444444444444444444444"
governance = "0x5555555555555555555555555555555555555555"
operational = "0x6666666666666666666666666666666666666666"
confirmations = 2
poll_interval_ms = 500
start_block = 7
"#;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn a_valid_file_parses_with_defaults() {
        let c = IndexConfig::from_toml_str(VALID, &no_env).expect("valid");
        assert_eq!(c.listen, "0.0.0.0:8080".parse().expect("addr"));
        assert_eq!(c.log_range, RelayConfig::default().log_range);
        assert_eq!(
            c.rate_limit,
            RateLimit {
                per_second: 5,
                ..RateLimit::default()
            }
        );
        assert_eq!(c.main.confirmations, 12);
        assert_eq!(c.side.start_block, 7);
        assert_eq!(c.side.poll_interval.as_millis(), 500);
        assert_eq!((c.main.max_fee_per_gas, c.main.min_balance), (0, 0));
    }

    #[test]
    fn every_problem_is_named_by_its_path() {
        let text = VALID
            .replace("confirmations = 2", "confirmations = \"2\"")
            .replace("per_second = 5", "per_second = 0\nburts = 3")
            .replace("listen = ", "max_fee_per_gas_gwei = 1\nlisten = ")
            + "\n[chains.main2]\n";
        let err = IndexConfig::from_toml_str(&text, &no_env).expect_err("invalid");
        let paths: Vec<_> = err.field_errors().iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "max_fee_per_gas_gwei",
                "rate_limit.burts",
                "rate_limit.per_second",
                "chains.side.confirmations",
                "chains.main2",
            ],
            "{err}"
        );
        assert!(err.to_string().contains("did you mean `burst`?"), "{err}");
    }

    #[test]
    fn relaying_keys_are_refused_in_a_chain_table() {
        let text = VALID.replace(
            "confirmations = 12",
            "confirmations = 12\nmax_fee_per_gas_gwei = 3\nmin_balance_ether = 1",
        );
        let err = IndexConfig::from_toml_str(&text, &no_env).expect_err("a keyless index");
        let paths: Vec<_> = err.field_errors().iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "chains.main.max_fee_per_gas_gwei",
                "chains.main.min_balance_ether"
            ]
        );
    }

    #[test]
    fn the_example_file_is_valid() {
        let text = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../ops/config/index.example.toml"
        ));
        let c = IndexConfig::from_toml_str(text, &no_env).expect("the example parses");
        assert_eq!(c.rate_limit, RateLimit::default());
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let env = |name: &str| match name {
            "SIDEBRIDGE_HTTP_LISTEN" => Some("127.0.0.1:0".to_string()),
            "SIDEBRIDGE_DATABASE_URL" => Some("postgres://u:secret@h/db".to_string()),
            _ => None,
        };
        let c = IndexConfig::from_toml_str(VALID, &env).expect("valid");
        assert_eq!(c.listen.port(), 0);
        assert!(!format!("{c:?}").contains("secret"));
    }
}
