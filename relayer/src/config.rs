//! The relayer's configuration: one TOML file (`relayer run --config FILE`), a few environment
//! overrides, and a validated [`Config`] the rest of the node trusts without re-checking.
//!
//! Parsing happens in two steps. First the text becomes raw serde structs (with
//! `deny_unknown_fields`) whose leaves are plain TOML values; stray keys are taken out and
//! reported before serde sees them, so an operator fixing a config hears about every mistake at
//! once rather than the first. Then validation turns each raw value into its real type and
//! records every problem with its path (`chains.side.confirmations: expected an integer, found
//! a string`), with a "did you mean" when an unknown key is close to a known one.
//!
//! Secrets never sit in the file in plain text: the keystore password is a reference
//! ([`SecretRef`]: `env:NAME` or `file:/path`), read only when the key is unlocked, and every
//! resolved secret is a [`SecretString`] that is wiped on drop and redacted in `Debug`. The
//! database URL may carry a password, so [`DatabaseUrl`] redacts it when shown and may itself
//! be given as a reference.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    net::SocketAddr,
    ops::{Deref, RangeInclusive},
    path::{Path, PathBuf},
    str::FromStr,
    time::Duration,
};

use alloy::{
    primitives::Address, signers::k256::elliptic_curve::zeroize::Zeroizing,
    transports::http::reqwest::Url,
};
use serde::{Deserialize, de::DeserializeOwned};
use toml::Value;

use crate::domain::Chain;

/// Overrides `database_url`.
pub const ENV_DATABASE_URL: &str = "SIDEBRIDGE_DATABASE_URL";
/// Overrides `http_listen`.
pub const ENV_HTTP_LISTEN: &str = "SIDEBRIDGE_HTTP_LISTEN";
/// Overrides `chains.main.rpc_url`.
pub const ENV_MAIN_RPC_URL: &str = "SIDEBRIDGE_MAIN_RPC_URL";
/// Overrides `chains.side.rpc_url`.
pub const ENV_SIDE_RPC_URL: &str = "SIDEBRIDGE_SIDE_RPC_URL";
/// Overrides `key.password`; a reference (`env:NAME` or `file:/path`), never the password.
pub const ENV_KEY_PASSWORD: &str = "SIDEBRIDGE_KEY_PASSWORD";

/// Where `/metrics` and the status API listen when the file says nothing.
pub const DEFAULT_HTTP_LISTEN: &str = "127.0.0.1:9100";

/// A validated relayer configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub database_url: DatabaseUrl,
    pub http_listen: SocketAddr,
    pub key: KeyConfig,
    pub main: ChainConfig,
    pub side: ChainConfig,
    pub relay: RelayConfig,
}

/// Where the validator key lives and how its password is found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyConfig {
    /// An encrypted Web3 Secret Storage file.
    pub keystore: PathBuf,
    /// `None`: ask on the terminal.
    pub password: Option<SecretRef>,
}

/// One chain of the route.
#[derive(Clone, PartialEq, Eq)]
pub struct ChainConfig {
    /// May embed a provider's API key: show [`ChainConfig::rpc_url_redacted`] instead.
    pub rpc_url: String,
    pub chain_id: u64,
    pub bridge: Address,
    pub governance: Address,
    pub operational: Address,
    /// Blocks an event must be buried under before the relayer acts on it.
    pub confirmations: u64,
    pub poll_interval: Duration,
    /// Fee cap in wei; the submitter never offers more per gas.
    pub max_fee_per_gas: u128,
    /// Where the watcher starts when the database has no cursor for this chain.
    pub start_block: u64,
}

impl ChainConfig {
    /// The RPC URL as safe to log: scheme, host and port; user info, path and query (where
    /// providers put API keys) become `…`.
    pub fn rpc_url_redacted(&self) -> String {
        redact_rpc_url(&self.rpc_url)
    }
}

impl fmt::Debug for ChainConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChainConfig")
            .field("rpc_url", &self.rpc_url_redacted())
            .field("chain_id", &self.chain_id)
            .field("bridge", &self.bridge)
            .field("governance", &self.governance)
            .field("operational", &self.operational)
            .field("confirmations", &self.confirmations)
            .field("poll_interval", &self.poll_interval)
            .field("max_fee_per_gas", &self.max_fee_per_gas)
            .field("start_block", &self.start_block)
            .finish()
    }
}

fn redact_rpc_url(url: &str) -> String {
    let Ok(parsed) = Url::parse(url) else {
        return "…".to_string();
    };
    let mut shown = format!("{}://{}", parsed.scheme(), parsed.host_str().unwrap_or(""));
    if let Some(port) = parsed.port() {
        shown.push_str(&format!(":{port}"));
    }
    let hidden = !parsed.username().is_empty()
        || parsed.password().is_some()
        || !matches!(parsed.path(), "" | "/")
        || parsed.query().is_some();
    if hidden {
        shown.push_str("/…");
    }
    shown
}

/// How the relayer batches, hands over and replaces its work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayConfig {
    /// Most transfers in one `approveDeposits` / `submitSignatures`.
    pub batch_size: usize,
    /// After this long another relayer takes over a release the assigned one has not done.
    pub release_takeover: Duration,
    /// An unmined transaction is replaced with a bumped fee after this long.
    pub tx_timeout: Duration,
    pub fee_bump_percent: u64,
    /// Most blocks in one `eth_getLogs`.
    pub log_range: u64,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            batch_size: 50,
            release_takeover: Duration::from_secs(60),
            tx_timeout: Duration::from_secs(30),
            fee_bump_percent: 20,
            log_range: 2_000,
        }
    }
}

impl Config {
    /// Reads and validates the file at `path`, with the process environment's overrides.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml_str(&text, &|name| std::env::var(name).ok()).map_err(|e| e.in_file(path))
    }

    /// Validates TOML text; `env` stands in for the process environment.
    pub fn from_toml_str(
        s: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let table: toml::Table = toml::from_str(s).map_err(|e| ConfigError::Syntax {
            file: None,
            message: e.to_string(),
        })?;
        let mut errors = Errors::default();
        let config = validate(table, env, &mut errors);
        match config {
            Some(config) if errors.found.is_empty() => Ok(config),
            _ => Err(ConfigError::Invalid {
                file: None,
                errors: errors.found,
            }),
        }
    }

    /// The settings of one chain.
    pub fn chain(&self, chain: Chain) -> &ChainConfig {
        match chain {
            Chain::Main => &self.main,
            Chain::Side => &self.side,
        }
    }
}

/// Why a configuration or a secret could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}invalid TOML: {message}", file_prefix(file))]
    Syntax {
        file: Option<PathBuf>,
        message: String,
    },
    #[error("{}", invalid_message(file, errors))]
    Invalid {
        file: Option<PathBuf>,
        errors: Vec<FieldError>,
    },
    #[error("environment variable {name} is not set")]
    EnvNotSet { name: String },
    #[error("environment variable {name} is not valid UTF-8")]
    EnvNotUnicode { name: String },
    #[error("cannot read secret file {}: {source}", path.display())]
    SecretFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("secret {reference} is empty")]
    EmptySecret { reference: String },
}

impl ConfigError {
    /// The per-field problems of an invalid configuration (empty for other errors).
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            ConfigError::Invalid { errors, .. } => errors,
            _ => &[],
        }
    }

    fn in_file(self, path: &Path) -> Self {
        match self {
            ConfigError::Syntax { message, .. } => ConfigError::Syntax {
                file: Some(path.to_path_buf()),
                message,
            },
            ConfigError::Invalid { errors, .. } => ConfigError::Invalid {
                file: Some(path.to_path_buf()),
                errors,
            },
            other => other,
        }
    }
}

fn file_prefix(file: &Option<PathBuf>) -> String {
    file.as_ref()
        .map(|f| format!("config file {}: ", f.display()))
        .unwrap_or_default()
}

fn invalid_message(file: &Option<PathBuf>, errors: &[FieldError]) -> String {
    let what = match file {
        Some(f) => format!("config file {}", f.display()),
        None => "config".to_string(),
    };
    let count = match errors.len() {
        1 => "1 error".to_string(),
        n => format!("{n} errors"),
    };
    let mut message = format!("{what} has {count}:");
    for e in errors {
        message.push_str("\n  ");
        message.push_str(&e.to_string());
    }
    message
}

/// One problem with one setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Dotted path of the setting, e.g. `chains.side.confirmations`, with the environment
    /// variable appended when the value came from one.
    pub path: String,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Where a secret is found: the config names the place, never the secret.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// `env:NAME`: the value of an environment variable.
    Env(String),
    /// `file:/path`: the contents of a file, trailing newlines removed.
    File(PathBuf),
}

/// A string that is neither `env:NAME` nor `file:/path`. It does not repeat the string, which
/// may well be the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a reference env:NAME or file:/path (never the secret itself)")]
pub struct InvalidSecretRef;

impl FromStr for SecretRef {
    type Err = InvalidSecretRef;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(name) = s.strip_prefix("env:") {
            let valid =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            return if valid {
                Ok(SecretRef::Env(name.to_string()))
            } else {
                Err(InvalidSecretRef)
            };
        }
        match s.strip_prefix("file:") {
            Some(path) if !path.is_empty() => Ok(SecretRef::File(PathBuf::from(path))),
            _ => Err(InvalidSecretRef),
        }
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(name) => write!(f, "env:{name}"),
            SecretRef::File(path) => write!(f, "file:{}", path.display()),
        }
    }
}

// The reference is not secret; showing it helps an operator find the right file.
impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretRef({self})")
    }
}

impl SecretRef {
    /// `env:NAME` or `file:/path`; the same as `str::parse`.
    pub fn parse(s: &str) -> Result<Self, InvalidSecretRef> {
        s.parse()
    }

    /// Reads the secret from the process environment or the file system.
    pub fn read(&self) -> Result<SecretString, ConfigError> {
        match self {
            SecretRef::Env(name) => match std::env::var(name) {
                Ok(value) => self.non_empty(value),
                Err(std::env::VarError::NotPresent) => {
                    Err(ConfigError::EnvNotSet { name: name.clone() })
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    Err(ConfigError::EnvNotUnicode { name: name.clone() })
                }
            },
            SecretRef::File(_) => self.read_with(&|_| None),
        }
    }

    /// Like [`SecretRef::read`], with `env` standing in for the process environment.
    pub fn read_with(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<SecretString, ConfigError> {
        match self {
            SecretRef::Env(name) => match env(name) {
                Some(value) => self.non_empty(value),
                None => Err(ConfigError::EnvNotSet { name: name.clone() }),
            },
            SecretRef::File(path) => {
                let mut text =
                    std::fs::read_to_string(path)
                        .map(Zeroizing::new)
                        .map_err(|source| ConfigError::SecretFile {
                            path: path.clone(),
                            source,
                        })?;
                let keep = text.trim_end_matches(['\n', '\r']).len();
                text.truncate(keep);
                if text.is_empty() {
                    return Err(ConfigError::EmptySecret {
                        reference: self.to_string(),
                    });
                }
                Ok(SecretString(text))
            }
        }
    }

    fn non_empty(&self, value: String) -> Result<SecretString, ConfigError> {
        let value = SecretString::from(value);
        if value.is_empty() {
            return Err(ConfigError::EmptySecret {
                reference: self.to_string(),
            });
        }
        Ok(value)
    }
}

/// A resolved secret: wiped from memory when dropped, `[redacted]` when debug-printed.
/// Dereferences to `&str` so it can be handed to functions that take one.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        SecretString(Zeroizing::new(value))
    }
}

impl Deref for SecretString {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString([redacted])")
    }
}

/// The store's URL (`sqlite:...` or `postgres://...`). Shown with its password replaced by
/// `***`; [`DatabaseUrl::expose`] gives the real one to the driver.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(SecretString);

impl DatabaseUrl {
    /// Accepts `sqlite:` and `postgres://` / `postgresql://` URLs.
    pub fn new(url: impl Into<String>) -> Result<Self, String> {
        let url = SecretString::from(url.into());
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("sqlite:")
            || lower.starts_with("postgres://")
            || lower.starts_with("postgresql://")
        {
            Ok(DatabaseUrl(url))
        } else {
            Err("must be a sqlite: or postgres:// URL".to_string())
        }
    }

    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// The URL with the password, if any, replaced by `***`.
    pub fn redacted(&self) -> String {
        redact_url_password(self.expose())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({:?})", self.redacted())
    }
}

fn redact_url_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    // the password is percent-encoded, so the last '@' ends the user info
    let Some(at) = authority.rfind('@') else {
        return url.to_string();
    };
    let Some(colon) = authority[..at].find(':') else {
        return url.to_string();
    };
    format!(
        "{}{}:***{}",
        &url[..scheme_end],
        &authority[..colon],
        &rest[at..]
    )
}

// ---------------------------------------------------------------------------------------------
// Raw layer: what serde reads. Leaves stay TOML values so validation can name every bad one.
// Each struct denies unknown fields, and `Errors::section` takes out (and reports) every key
// not in the struct's list first, so all strays are named, not just the first; a list that
// drifted from its struct would fail the tests either way.

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    database_url: Option<Value>,
    http_listen: Option<Value>,
    key: Option<Value>,
    chains: Option<Value>,
    relay: Option<Value>,
}

const CONFIG_KEYS: &[&str] = &["database_url", "http_listen", "key", "chains", "relay"];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKey {
    keystore: Option<Value>,
    password: Option<Value>,
}

const KEY_KEYS: &[&str] = &["keystore", "password"];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChain {
    rpc_url: Option<Value>,
    chain_id: Option<Value>,
    bridge: Option<Value>,
    governance: Option<Value>,
    operational: Option<Value>,
    confirmations: Option<Value>,
    poll_interval_ms: Option<Value>,
    max_fee_per_gas_gwei: Option<Value>,
    start_block: Option<Value>,
}

const CHAIN_KEYS: &[&str] = &[
    "rpc_url",
    "chain_id",
    "bridge",
    "governance",
    "operational",
    "confirmations",
    "poll_interval_ms",
    "max_fee_per_gas_gwei",
    "start_block",
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelay {
    batch_size: Option<Value>,
    release_takeover_secs: Option<Value>,
    tx_timeout_secs: Option<Value>,
    fee_bump_percent: Option<Value>,
    log_range: Option<Value>,
}

const RELAY_KEYS: &[&str] = &[
    "batch_size",
    "release_takeover_secs",
    "tx_timeout_secs",
    "fee_bump_percent",
    "log_range",
];

// Bounds that catch typos and unit mix-ups, not policy.
const BATCH_SIZE: RangeInclusive<u64> = 1..=200;
const CONFIRMATIONS: RangeInclusive<u64> = 0..=10_000;
const POLL_INTERVAL_MS: RangeInclusive<u64> = 10..=600_000;
const RELEASE_TAKEOVER_SECS: RangeInclusive<u64> = 1..=86_400;
const TX_TIMEOUT_SECS: RangeInclusive<u64> = 1..=3_600;
// nodes refuse a replacement that raises the fee by less than 10%
const FEE_BUMP_PERCENT: RangeInclusive<u64> = 10..=1_000;
const LOG_RANGE: RangeInclusive<u64> = 1..=100_000;
const MAX_FEE_GWEI: u128 = 100_000;
const WEI_PER_GWEI: u128 = 1_000_000_000;

/// Every problem found so far, and which paths got their value from the environment.
#[derive(Default)]
struct Errors {
    found: Vec<FieldError>,
    /// Paths whose value came from an environment variable, and which.
    from_env: BTreeMap<String, &'static str>,
    /// Paths holding a TOML datetime. Serde hands datetimes over as strings, so they are
    /// noted before it sees them; no setting takes one.
    datetimes: BTreeSet<String>,
}

impl Errors {
    /// Records a problem; only the first for any one path counts.
    fn push(&mut self, path: &str, message: impl Into<String>) {
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
    fn required<T>(
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
    fn optional<T>(
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

    fn parse<T>(
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

    fn note_datetimes(&mut self, prefix: &str, table: &toml::Table) {
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
    fn table(&mut self, path: &str, value: Value) -> Option<toml::Table> {
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
    fn section<T: DeserializeOwned>(
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

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn validate(
    table: toml::Table,
    env: &dyn Fn(&str) -> Option<String>,
    errors: &mut Errors,
) -> Option<Config> {
    let env_var = |name: &str| env(name).filter(|v| !v.is_empty());
    errors.note_datetimes("", &table);
    let raw: RawConfig = errors.section("", Value::Table(table), CONFIG_KEYS)?;

    let override_with = |errors: &mut Errors, path: &str, var: &'static str| {
        env_var(var).map(|v| {
            errors.from_env.insert(path.to_string(), var);
            errors.datetimes.remove(path);
            Value::String(v)
        })
    };

    let database_url = override_with(errors, "database_url", ENV_DATABASE_URL).or(raw.database_url);
    let database_url = match database_url {
        None => {
            errors.push(
                "database_url",
                format!("missing (set it here or in {ENV_DATABASE_URL})"),
            );
            None
        }
        Some(v) => errors.parse("database_url", v, |v| database(v, env)),
    };

    let http_listen = override_with(errors, "http_listen", ENV_HTTP_LISTEN).or(raw.http_listen);
    let http_listen = errors.optional(
        "http_listen",
        http_listen,
        SocketAddr::from(([127, 0, 0, 1], 9100)),
        socket_addr,
    );

    let key = match raw.key {
        None => {
            errors.push("key", "missing (a [key] table with keystore = \"/path\")");
            None
        }
        Some(v) => errors
            .section::<RawKey>("key", v, KEY_KEYS)
            .and_then(|mut raw| {
                if let Some(v) = override_with(errors, "key.password", ENV_KEY_PASSWORD) {
                    raw.password = Some(v);
                }
                key_config(raw, errors)
            }),
    };

    let (main, side) = match raw.chains {
        None => {
            errors.push("chains", "missing ([chains.main] and [chains.side] tables)");
            (None, None)
        }
        Some(v) => match errors.table("chains", v) {
            None => (None, None),
            Some(mut chains) => {
                let mut one = |errors: &mut Errors, chain: Chain, var: &'static str| {
                    let path = format!("chains.{chain}");
                    let Some(v) = chains.remove(chain.as_str()) else {
                        errors.push(&path, format!("missing (a [{path}] table)"));
                        return None;
                    };
                    let mut raw: RawChain = errors.section(&path, v, CHAIN_KEYS)?;
                    if let Some(v) = override_with(errors, &format!("{path}.rpc_url"), var) {
                        raw.rpc_url = Some(v);
                    }
                    chain_config(&path, raw, errors)
                };
                let main = one(errors, Chain::Main, ENV_MAIN_RPC_URL);
                let side = one(errors, Chain::Side, ENV_SIDE_RPC_URL);
                for (name, _) in chains {
                    errors.push(
                        &format!("chains.{name}"),
                        "unknown chain (expected main or side)",
                    );
                }
                (main, side)
            }
        },
    };
    if let (Some(main), Some(side)) = (&main, &side)
        && main.chain_id == side.chain_id
    {
        errors.push(
            "chains.side.chain_id",
            "must differ from chains.main.chain_id",
        );
    }

    let relay = match raw.relay {
        None => Some(RelayConfig::default()),
        Some(v) => errors
            .section::<RawRelay>("relay", v, RELAY_KEYS)
            .and_then(|raw| relay_config(raw, errors)),
    };

    Some(Config {
        database_url: database_url?,
        http_listen: http_listen?,
        key: key?,
        main: main?,
        side: side?,
        relay: relay?,
    })
}

fn key_config(raw: RawKey, errors: &mut Errors) -> Option<KeyConfig> {
    let keystore = errors.required("key.keystore", raw.keystore, |v| {
        let path = string(v)?;
        if path.is_empty() {
            return Err("must not be empty".to_string());
        }
        Ok(PathBuf::from(path))
    });
    let password = match raw.password {
        None => Some(None),
        Some(v) => errors.parse("key.password", v, |v| {
            string(v)?
                .parse::<SecretRef>()
                .map(Some)
                .map_err(|e| e.to_string())
        }),
    };
    Some(KeyConfig {
        keystore: keystore?,
        password: password?,
    })
}

fn chain_config(path: &str, raw: RawChain, errors: &mut Errors) -> Option<ChainConfig> {
    let at = |key: &str| format!("{path}.{key}");
    let rpc_url = errors.required(&at("rpc_url"), raw.rpc_url, rpc_url);
    let chain_id = errors.required(&at("chain_id"), raw.chain_id, |v| in_range(v, 1..=u64::MAX));
    let bridge = errors.required(&at("bridge"), raw.bridge, address);
    let governance = errors.required(&at("governance"), raw.governance, address);
    let operational = errors.required(&at("operational"), raw.operational, address);
    let confirmations = errors.required(&at("confirmations"), raw.confirmations, |v| {
        in_range(v, CONFIRMATIONS)
    });
    let poll_interval_ms =
        errors.optional(&at("poll_interval_ms"), raw.poll_interval_ms, 1_000, |v| {
            in_range(v, POLL_INTERVAL_MS)
        });
    let max_fee_per_gas =
        errors.required(&at("max_fee_per_gas_gwei"), raw.max_fee_per_gas_gwei, gwei);
    let start_block = errors.optional(&at("start_block"), raw.start_block, 0, |v| {
        in_range(v, 0..=u64::MAX)
    });
    Some(ChainConfig {
        rpc_url: rpc_url?,
        chain_id: chain_id?,
        bridge: bridge?,
        governance: governance?,
        operational: operational?,
        confirmations: confirmations?,
        poll_interval: Duration::from_millis(poll_interval_ms?),
        max_fee_per_gas: max_fee_per_gas?,
        start_block: start_block?,
    })
}

fn relay_config(raw: RawRelay, errors: &mut Errors) -> Option<RelayConfig> {
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
    Some(RelayConfig {
        batch_size: usize::try_from(batch_size?).ok()?,
        release_takeover: Duration::from_secs(release_takeover?),
        tx_timeout: Duration::from_secs(tx_timeout?),
        fee_bump_percent: fee_bump_percent?,
        log_range: log_range?,
    })
}

// ---------------------------------------------------------------------------------------------
// Leaf parsers: a TOML value in, the real type or a message (without the path) out.

fn found(v: &Value) -> String {
    let t = v.type_str();
    let article = if t.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {t}")
}

fn string(v: Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s),
        other => Err(format!("expected a string, found {}", found(&other))),
    }
}

fn integer(v: Value) -> Result<u64, String> {
    match v {
        Value::Integer(i) => u64::try_from(i).map_err(|_| "must not be negative".to_string()),
        other => Err(format!("expected an integer, found {}", found(&other))),
    }
}

fn in_range(v: Value, range: RangeInclusive<u64>) -> Result<u64, String> {
    let n = integer(v)?;
    if range.contains(&n) {
        return Ok(n);
    }
    Err(match (*range.start(), *range.end()) {
        (lo, u64::MAX) => format!("must be at least {lo}"),
        (lo, hi) => format!("must be between {lo} and {hi}"),
    })
}

fn address(v: Value) -> Result<Address, String> {
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

fn rpc_url(v: Value) -> Result<String, String> {
    let s = string(v)?;
    let url = Url::parse(&s).map_err(|e| format!("not a URL: {e}"))?;
    match url.scheme() {
        "http" | "https" => Ok(s),
        other => Err(format!(
            "unsupported scheme {other}:// (expected http:// or https://)"
        )),
    }
}

fn socket_addr(v: Value) -> Result<SocketAddr, String> {
    string(v)?
        .parse()
        .map_err(|_| format!("not a socket address (ip:port, e.g. {DEFAULT_HTTP_LISTEN})"))
}

fn database(v: Value, env: &dyn Fn(&str) -> Option<String>) -> Result<DatabaseUrl, String> {
    let s = string(v)?;
    let url = if s.starts_with("env:") || s.starts_with("file:") {
        let reference = s.parse::<SecretRef>().map_err(|e| e.to_string())?;
        let resolved = match &reference {
            SecretRef::Env(name) => reference.read_with(&|_| env(name)),
            SecretRef::File(_) => reference.read_with(env),
        };
        resolved.map_err(|e| e.to_string())?.expose().to_string()
    } else {
        s
    };
    DatabaseUrl::new(url)
}

/// A fee in gwei, as an integer, a float or a decimal string, to exact wei.
fn gwei(v: Value) -> Result<u128, String> {
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

fn decimal_gwei_to_wei(text: &str) -> Result<u128, String> {
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
fn suggest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
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
    use alloy::primitives::address;

    use super::*;

    const VALID: &str = r#"
database_url = "sqlite:///var/lib/sidebridge/relayer.db"
http_listen = "127.0.0.1:9100"

[key]
keystore = "/etc/sidebridge/validator.json"
password = "file:/etc/sidebridge/password"

[chains.main]
rpc_url = "http://127.0.0.1:8545"
chain_id = 31337
bridge = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
governance = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
operational = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"
confirmations = 2
poll_interval_ms = 500
max_fee_per_gas_gwei = 1.5
start_block = 100

[chains.side]
rpc_url = "https://side.example:8546/rpc"
chain_id = 31338
bridge = "0x1111111111111111111111111111111111111111"
governance = "0x2222222222222222222222222222222222222222"
operational = "0x3333333333333333333333333333333333333333"
confirmations = 0
max_fee_per_gas_gwei = 200

[relay]
batch_size = 20
fee_bump_percent = 25
"#;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn errors_of(toml: &str) -> Vec<String> {
        errors_with_env(toml, &no_env)
    }

    fn errors_with_env(toml: &str, env: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
        match Config::from_toml_str(toml, env) {
            Ok(c) => panic!("expected errors, got {c:?}"),
            Err(e) => e.field_errors().iter().map(|e| e.to_string()).collect(),
        }
    }

    /// VALID with one line replaced (matched by its key at the start of the line, in `section`).
    fn with(section: &str, key: &str, line: &str) -> String {
        let mut out = String::new();
        let mut current = "";
        let mut replaced = false;
        for l in VALID.lines() {
            if l.starts_with('[') {
                current = l;
            }
            if current == section && l.starts_with(&format!("{key} =")) && !replaced {
                replaced = true;
                out.push_str(line);
            } else {
                out.push_str(l);
            }
            out.push('\n');
        }
        assert!(replaced, "no {key} in {section}");
        out
    }

    #[test]
    fn valid_config_parses_with_defaults() {
        let c = Config::from_toml_str(VALID, &no_env).expect("valid");
        assert_eq!(
            c.database_url.expose(),
            "sqlite:///var/lib/sidebridge/relayer.db"
        );
        assert_eq!(c.http_listen, "127.0.0.1:9100".parse().expect("addr"));
        assert_eq!(
            c.key.password,
            Some(SecretRef::File("/etc/sidebridge/password".into()))
        );
        assert_eq!(c.main.chain_id, 31337);
        assert_eq!(
            c.main.bridge,
            address!("5FbDB2315678afecb367f032d93F642f64180aa3")
        );
        assert_eq!(c.main.poll_interval, Duration::from_millis(500));
        assert_eq!(c.main.max_fee_per_gas, 1_500_000_000);
        assert_eq!(c.main.start_block, 100);
        assert_eq!(c.side.poll_interval, Duration::from_secs(1));
        assert_eq!(c.side.max_fee_per_gas, 200 * WEI_PER_GWEI);
        assert_eq!(c.side.start_block, 0);
        assert_eq!(c.side.confirmations, 0);
        assert_eq!(c.relay.batch_size, 20);
        assert_eq!(c.relay.fee_bump_percent, 25);
        assert_eq!(c.relay.tx_timeout, Duration::from_secs(30));
        assert_eq!(c.relay.release_takeover, Duration::from_secs(60));
        assert_eq!(c.relay.log_range, 2_000);
        assert_eq!(c.chain(Chain::Side).chain_id, 31338);
    }

    #[test]
    fn example_file_parses() {
        let text = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../ops/config/relayer.example.toml"
        ));
        let c = Config::from_toml_str(text, &no_env).expect("the example is valid");
        assert!(c.database_url.expose().starts_with("postgres://"));
        assert!(!c.database_url.to_string().contains("change-me"));
        assert!(matches!(c.key.password, Some(SecretRef::File(_))));
        assert_ne!(c.main.chain_id, c.side.chain_id);
    }

    #[test]
    fn missing_relay_section_takes_defaults() {
        let text = VALID.replace("[relay]\nbatch_size = 20\nfee_bump_percent = 25\n", "");
        let c = Config::from_toml_str(&text, &no_env).expect("valid");
        assert_eq!(c.relay, RelayConfig::default());
        assert_eq!(c.relay.batch_size, 50);
    }

    #[test]
    fn type_errors_name_their_path() {
        let text = with("[chains.side]", "confirmations", "confirmations = \"2\"");
        assert_eq!(
            errors_of(&text),
            ["chains.side.confirmations: expected an integer, found a string"]
        );
        let text = with("[chains.main]", "chain_id", "chain_id = 1.5");
        assert_eq!(
            errors_of(&text),
            ["chains.main.chain_id: expected an integer, found a float"]
        );
        let text = with("[chains.main]", "start_block", "start_block = 1979-05-27");
        assert_eq!(
            errors_of(&text),
            [
                "chains.main.start_block: unexpected datetime (no setting takes one; quote it if it is a string)"
            ]
        );
        let text = with("[chains.main]", "confirmations", "confirmations = -1");
        assert_eq!(
            errors_of(&text),
            ["chains.main.confirmations: must not be negative"]
        );
    }

    #[test]
    fn bad_addresses_are_named() {
        let text = with("[chains.main]", "bridge", "bridge = \"0x1234\"");
        assert_eq!(errors_of(&text), ["chains.main.bridge: not an address"]);
        let text = with(
            "[chains.main]",
            "bridge",
            "bridge = \"0x5fbDB2315678afecb367f032d93F642f64180aa3\"",
        );
        assert_eq!(
            errors_of(&text),
            ["chains.main.bridge: not an address: bad EIP-55 checksum"]
        );
        let text = with(
            "[chains.side]",
            "operational",
            "operational = \"0x0000000000000000000000000000000000000000\"",
        );
        assert_eq!(
            errors_of(&text),
            ["chains.side.operational: must not be the zero address"]
        );
        // all lower case is fine: there is no checksum to check
        let text = with(
            "[chains.main]",
            "bridge",
            "bridge = \"0x5fbdb2315678afecb367f032d93f642f64180aa3\"",
        );
        assert!(Config::from_toml_str(&text, &no_env).is_ok());
    }

    #[test]
    fn ranges_are_enforced() {
        let text = with("[relay]", "batch_size", "batch_size = 0");
        assert_eq!(
            errors_of(&text),
            ["relay.batch_size: must be between 1 and 200"]
        );
        let text = with("[relay]", "batch_size", "batch_size = 201");
        assert_eq!(
            errors_of(&text),
            ["relay.batch_size: must be between 1 and 200"]
        );
        let text = with("[relay]", "fee_bump_percent", "fee_bump_percent = 5");
        assert_eq!(
            errors_of(&text),
            ["relay.fee_bump_percent: must be between 10 and 1000"]
        );
        let text = with("[chains.main]", "chain_id", "chain_id = 0");
        assert_eq!(
            errors_of(&text),
            ["chains.main.chain_id: must be at least 1"]
        );
        let text = with("[chains.main]", "poll_interval_ms", "poll_interval_ms = 1");
        assert_eq!(
            errors_of(&text),
            ["chains.main.poll_interval_ms: must be between 10 and 600000"]
        );
    }

    #[test]
    fn all_errors_are_reported_together() {
        let text = with("[chains.side]", "confirmations", "confirmations = \"2\"");
        let text = text.replace(
            "bridge = \"0x1111111111111111111111111111111111111111\"",
            "bridge = \"nope\"",
        );
        let text = text.replace("batch_size = 20", "batch_size = 500\nbatch_sise = 3");
        let text = text.replace(
            "http_listen = \"127.0.0.1:9100\"",
            "http_listen = \"localhost\"",
        );
        let errors = errors_of(&text);
        assert_eq!(
            errors,
            [
                "http_listen: not a socket address (ip:port, e.g. 127.0.0.1:9100)",
                "chains.side.bridge: not an address",
                "chains.side.confirmations: expected an integer, found a string",
                "relay.batch_sise: unknown key (did you mean `batch_size`?)",
                "relay.batch_size: must be between 1 and 200",
            ]
        );
        let message = Config::from_toml_str(&text, &no_env)
            .expect_err("invalid")
            .to_string();
        assert!(
            message.starts_with("config has 5 errors:\n  http_listen: "),
            "{message}"
        );
    }

    #[test]
    fn unknown_keys_anywhere_are_errors() {
        let text = format!("{VALID}\n[chains.main2]\nrpc_url = \"x\"\n")
            .replace("[key]\n", "[key]\nkeystor = 1\n")
            .replace(
                "confirmations = 2\n",
                "confirmations = 2\nconfirmation = 2\n",
            )
            .replace("database_url", "verbose = true\ndatabase_url");
        assert_eq!(
            errors_of(&text),
            [
                "verbose: unknown key",
                "key.keystor: unknown key (did you mean `keystore`?)",
                "chains.main.confirmation: unknown key (did you mean `confirmations`?)",
                "chains.main2: unknown chain (expected main or side)",
            ]
        );
    }

    #[test]
    fn missing_settings_are_named() {
        let text = with("[chains.main]", "confirmations", "")
            .replace(
                "database_url = \"sqlite:///var/lib/sidebridge/relayer.db\"",
                "",
            )
            .replace("keystore = \"/etc/sidebridge/validator.json\"", "");
        assert_eq!(
            errors_of(&text),
            [
                "database_url: missing (set it here or in SIDEBRIDGE_DATABASE_URL)",
                "key.keystore: missing",
                "chains.main.confirmations: missing",
            ]
        );
        assert_eq!(
            errors_of("database_url = \"sqlite::memory:\""),
            [
                "key: missing (a [key] table with keystore = \"/path\")",
                "chains: missing ([chains.main] and [chains.side] tables)",
            ]
        );
        let only_main = VALID.split("[chains.side]").next().expect("split");
        assert_eq!(
            errors_of(only_main),
            ["chains.side: missing (a [chains.side] table)"]
        );
        assert_eq!(
            errors_of(&VALID.replace("[relay]", "[relay.x]")),
            ["relay.x: unknown key"]
        );
    }

    #[test]
    fn sections_must_be_tables() {
        let text = VALID
            .replace("[relay]\nbatch_size = 20\nfee_bump_percent = 25\n", "")
            .replace("database_url", "relay = 5\ndatabase_url");
        assert_eq!(
            errors_of(&text),
            ["relay: expected a table, found an integer"]
        );
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
    fn rpc_urls_must_be_http() {
        let text = with(
            "[chains.main]",
            "rpc_url",
            "rpc_url = \"ws://127.0.0.1:8545\"",
        );
        assert_eq!(
            errors_of(&text),
            ["chains.main.rpc_url: unsupported scheme ws:// (expected http:// or https://)"]
        );
        let text = with("[chains.main]", "rpc_url", "rpc_url = \"127.0.0.1:8545\"");
        let errors = errors_of(&text);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("chains.main.rpc_url: "), "{errors:?}");
    }

    #[test]
    fn chain_ids_must_differ() {
        let text = with("[chains.side]", "chain_id", "chain_id = 31337");
        assert_eq!(
            errors_of(&text),
            ["chains.side.chain_id: must differ from chains.main.chain_id"]
        );
    }

    #[test]
    fn env_overrides_apply_before_validation() {
        let env = |name: &str| match name {
            ENV_DATABASE_URL => Some("postgres://relayer:hunter2@db:5432/sidebridge".to_string()),
            ENV_HTTP_LISTEN => Some("0.0.0.0:9200".to_string()),
            ENV_MAIN_RPC_URL => Some("https://main.example/rpc".to_string()),
            ENV_SIDE_RPC_URL => Some(String::new()), // empty counts as unset
            ENV_KEY_PASSWORD => Some("env:VALIDATOR_PASSWORD".to_string()),
            _ => None,
        };
        let c = Config::from_toml_str(VALID, &env).expect("valid");
        assert_eq!(
            c.database_url.expose(),
            "postgres://relayer:hunter2@db:5432/sidebridge"
        );
        assert_eq!(c.http_listen, "0.0.0.0:9200".parse().expect("addr"));
        assert_eq!(c.main.rpc_url, "https://main.example/rpc");
        assert_eq!(c.side.rpc_url, "https://side.example:8546/rpc");
        assert_eq!(
            c.key.password,
            Some(SecretRef::Env("VALIDATOR_PASSWORD".into()))
        );
    }

    #[test]
    fn env_override_errors_name_the_variable() {
        let env = |name: &str| match name {
            ENV_SIDE_RPC_URL => Some("ftp://x".to_string()),
            ENV_KEY_PASSWORD => Some("hunter2".to_string()),
            _ => None,
        };
        let errors = errors_with_env(VALID, &env);
        assert_eq!(
            errors,
            [
                "key.password (from SIDEBRIDGE_KEY_PASSWORD): expected a reference env:NAME or file:/path (never the secret itself)",
                "chains.side.rpc_url (from SIDEBRIDGE_SIDE_RPC_URL): unsupported scheme ftp:// (expected http:// or https://)",
            ]
        );
        assert!(!errors.concat().contains("hunter2"));
    }

    #[test]
    fn database_url_may_be_a_reference() {
        let text = VALID.replace("sqlite:///var/lib/sidebridge/relayer.db", "env:RELAYER_DB");
        let env =
            |name: &str| (name == "RELAYER_DB").then(|| "postgresql://u:p%40ss@h/db".to_string());
        let c = Config::from_toml_str(&text, &env).expect("valid");
        assert_eq!(c.database_url.expose(), "postgresql://u:p%40ss@h/db");
        assert_eq!(
            errors_of(&text),
            ["database_url: environment variable RELAYER_DB is not set"]
        );
        let text = VALID.replace("sqlite:///var/lib/sidebridge/relayer.db", "mysql://x");
        assert_eq!(
            errors_of(&text),
            ["database_url: must be a sqlite: or postgres:// URL"]
        );
    }

    #[test]
    fn password_must_be_a_reference_and_is_never_echoed() {
        let text = VALID.replace("file:/etc/sidebridge/password", "correct horse");
        let errors = errors_of(&text);
        assert_eq!(
            errors,
            ["key.password: expected a reference env:NAME or file:/path (never the secret itself)"]
        );
        let text = VALID.replace("file:/etc/sidebridge/password", "env:");
        assert_eq!(errors_of(&text).len(), 1);
    }

    #[test]
    fn database_password_is_redacted() {
        let url = DatabaseUrl::new(
            "postgres://relayer:s3cr%40t@db.internal:5432/sidebridge?sslmode=require",
        )
        .expect("valid");
        let shown = format!("{url} {url:?}");
        assert!(!shown.contains("s3cr"), "{shown}");
        assert_eq!(
            url.to_string(),
            "postgres://relayer:***@db.internal:5432/sidebridge?sslmode=require"
        );
        let plain = DatabaseUrl::new("sqlite://relayer.db").expect("valid");
        assert_eq!(plain.to_string(), "sqlite://relayer.db");
        let user_only = DatabaseUrl::new("postgres://relayer@db/x").expect("valid");
        assert_eq!(user_only.to_string(), "postgres://relayer@db/x");
        let c = Config::from_toml_str(
            &VALID.replace(
                "sqlite:///var/lib/sidebridge/relayer.db",
                "postgres://a:topsecret@h/d",
            ),
            &no_env,
        )
        .expect("valid");
        assert!(!format!("{c:?}").contains("topsecret"));
    }

    #[test]
    fn rpc_urls_are_redacted_when_shown() {
        let text = VALID.replace(
            "https://side.example:8546/rpc",
            "https://user:pw@eth.example.com/v3/0123456789abcdef?key=zz",
        );
        let c = Config::from_toml_str(&text, &no_env).expect("valid");
        assert_eq!(c.side.rpc_url_redacted(), "https://eth.example.com/…");
        assert_eq!(c.main.rpc_url_redacted(), "http://127.0.0.1:8545");
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("0123456789abcdef") && !shown.contains("pw@"),
            "{shown}"
        );
    }

    #[test]
    fn secret_refs_parse_and_read() {
        assert_eq!(
            "env:PW".parse::<SecretRef>(),
            Ok(SecretRef::Env("PW".into()))
        );
        assert_eq!(
            "file:/a/b".parse::<SecretRef>(),
            Ok(SecretRef::File("/a/b".into()))
        );
        for bad in ["", "env:", "file:", "pw", "env:A B", "ENV:X"] {
            assert_eq!(bad.parse::<SecretRef>(), Err(InvalidSecretRef), "{bad}");
        }

        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pw");
        std::fs::write(&path, "pass word\r\n\n").expect("write");
        let secret = SecretRef::File(path.clone()).read().expect("read");
        assert_eq!(secret.expose(), "pass word");
        assert_eq!(format!("{secret:?}"), "SecretString([redacted])");

        std::fs::write(&path, "\n").expect("write");
        let err = SecretRef::File(path.clone()).read().expect_err("empty");
        assert_eq!(
            err.to_string(),
            format!("secret file:{} is empty", path.display())
        );

        let missing = dir.path().join("nope");
        let err = SecretRef::File(missing.clone())
            .read()
            .expect_err("missing");
        assert!(
            err.to_string()
                .starts_with(&format!("cannot read secret file {}: ", missing.display())),
            "{err}"
        );

        let env = |name: &str| (name == "PW").then(|| "x".to_string());
        assert_eq!(
            SecretRef::Env("PW".into())
                .read_with(&env)
                .expect("set")
                .expose(),
            "x"
        );
        let err = SecretRef::Env("NOPE_NOT_SET_1234".into())
            .read()
            .expect_err("unset");
        assert_eq!(
            err.to_string(),
            "environment variable NOPE_NOT_SET_1234 is not set"
        );
    }

    #[test]
    fn load_names_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("relayer.toml");
        let err = Config::load(&missing).expect_err("missing");
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("cannot read config file {}: ", missing.display())),
            "{message}"
        );
        assert!(!message.contains('\n'));

        std::fs::write(&missing, "database_url = [").expect("write");
        let message = Config::load(&missing).expect_err("syntax").to_string();
        assert!(
            message.starts_with(&format!("config file {}: invalid TOML", missing.display())),
            "{message}"
        );

        std::fs::write(
            &missing,
            VALID.replace("chain_id = 31338", "chain_id = \"x\""),
        )
        .expect("write");
        let message = Config::load(&missing).expect_err("invalid").to_string();
        assert_eq!(
            message,
            format!(
                "config file {} has 1 error:\n  chains.side.chain_id: expected an integer, found a string",
                missing.display()
            )
        );
    }

    #[test]
    fn key_lists_match_the_raw_structs() {
        // every listed key is accepted by its struct (deny_unknown_fields would object)...
        let table = |keys: &[&str]| {
            Value::Table(
                keys.iter()
                    .map(|k| (k.to_string(), Value::Integer(1)))
                    .collect(),
            )
        };
        assert!(RawConfig::deserialize(table(CONFIG_KEYS)).is_ok());
        assert!(RawKey::deserialize(table(KEY_KEYS)).is_ok());
        assert!(RawChain::deserialize(table(CHAIN_KEYS)).is_ok());
        assert!(RawRelay::deserialize(table(RELAY_KEYS)).is_ok());
        // ...and every struct field is listed (the example sets them all)
        let text = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../ops/config/relayer.example.toml"
        ));
        let example: toml::Table = toml::from_str(text).expect("toml");
        let keys =
            |v: &Value| -> Vec<String> { v.as_table().expect("table").keys().cloned().collect() };
        assert_eq!(keys(&Value::Table(example.clone())), sorted(CONFIG_KEYS));
        assert_eq!(keys(&example["key"]), sorted(KEY_KEYS));
        assert_eq!(keys(&example["chains"]["main"]), sorted(CHAIN_KEYS));
        assert_eq!(keys(&example["chains"]["side"]), sorted(CHAIN_KEYS));
        assert_eq!(keys(&example["relay"]), sorted(RELAY_KEYS));
    }

    fn sorted(keys: &[&str]) -> Vec<String> {
        let mut keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        keys.sort();
        keys
    }

    #[test]
    fn suggestions_only_when_close() {
        assert_eq!(suggest("rpc_ur", CHAIN_KEYS), Some("rpc_url"));
        assert_eq!(
            suggest("max_fee_per_gas", CHAIN_KEYS),
            Some("max_fee_per_gas_gwei")
        );
        assert_eq!(suggest("colour", CHAIN_KEYS), None);
    }
}
