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
//! be given as a reference. A reference may also be `sealed:NAME`: an entry of the sealed
//! secrets file the `[secrets]` table names, encrypted under versioned master keys
//! ([`SealedFile`]).

mod fees;
mod ha;
mod index;
mod key;
mod raw;
mod sealed;
mod secret;
mod validate;

use std::{
    fmt,
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use alloy::{primitives::Address, transports::http::reqwest::Url};

pub use self::fees::FeePrices;
pub use self::ha::HaConfig;
pub use self::index::{IndexConfig, RateLimit};
pub use self::key::{KeyConfig, Pkcs11Config};
pub use self::sealed::{
    InvalidMasterKeyRef, InvalidPkcs11Uri, MasterKey, MasterKeyRef, Pkcs11Uri, SealedError,
    SealedFile, SecretVersion, SecretsConfig,
};
pub use self::secret::{DatabaseUrl, InvalidSecretRef, SealedRef, SecretRef, SecretString};
use self::{raw::Errors, validate::validate};
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
    /// Two nodes per validator (`[ha]`).
    pub ha: HaConfig,
    /// Prices to compare fees with relay costs (`[fees]`); empty: nothing is compared.
    pub fees: FeePrices,
    /// The file it was read from, if any.
    pub source: Option<PathBuf>,
}

/// One chain of the route.
#[derive(Clone, PartialEq, Eq)]
pub struct ChainConfig {
    /// May embed a provider's API key: show [`ChainConfig::rpc_url_redacted`] instead.
    pub rpc_url: String,
    pub chain_id: u64,
    pub bridge: Address,
    /// The main chain's `bridge` is a `MainHub` serving many side chains: a relayer acts for
    /// the route of its side chain (that chain's id and bridge). Never set on a side chain.
    pub hub: bool,
    pub governance: Address,
    pub operational: Address,
    /// Blocks an event must be buried under before the relayer acts on it.
    pub confirmations: u64,
    pub poll_interval: Duration,
    /// Fee cap in wei; the submitter never offers more per gas.
    pub max_fee_per_gas: u128,
    /// Where the watcher starts when the database has no cursor for this chain.
    pub start_block: u64,
    /// The gas runway: below this balance (wei) the chain is not ready.
    pub min_balance: u128,
    /// Endpoints tried after `rpc_url`, in order, when it fails or lags (may embed API keys).
    pub fallback_rpc_urls: Vec<String>,
    /// An endpoint whose head is more than this many blocks behind the best endpoint's is
    /// used only when no other answers.
    pub max_head_lag: u64,
}

/// `max_head_lag_blocks` when not set.
pub const DEFAULT_MAX_HEAD_LAG: u64 = 5;

/// The runway when a chain's `min_balance_ether` is not set: 0.1 ether.
pub const DEFAULT_MIN_BALANCE_WEI: u128 = 100_000_000_000_000_000;

impl ChainConfig {
    /// The RPC URL as safe to log: scheme, host and port; user info, path and query (where
    /// providers put API keys) become `…`.
    pub fn rpc_url_redacted(&self) -> String {
        redact_rpc_url(&self.rpc_url)
    }

    /// Every endpoint, the primary first.
    pub fn rpc_urls(&self) -> Vec<String> {
        std::iter::once(self.rpc_url.clone())
            .chain(self.fallback_rpc_urls.iter().cloned())
            .collect()
    }

    /// Endpoint `i` of [`ChainConfig::rpc_urls`], as safe to log.
    pub fn rpc_url_redacted_at(&self, i: usize) -> String {
        self.rpc_urls()
            .get(i)
            .map(|u| redact_rpc_url(u))
            .unwrap_or_default()
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
            .field("min_balance", &self.min_balance)
            .field(
                "fallback_rpc_urls",
                &self
                    .fallback_rpc_urls
                    .iter()
                    .map(|u| redact_rpc_url(u))
                    .collect::<Vec<_>>(),
            )
            .field("max_head_lag", &self.max_head_lag)
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
    /// Transactions a submitter keeps out at once on each chain (consecutive nonces).
    pub max_in_flight: usize,
    /// A chain whose RPC requests all failed for this long is not ready.
    pub rpc_failure: Duration,
    /// Transfers of each direction one planning round considers, lowest nonce first (parked
    /// ones left out). A transfer stays in the window from its confirmation until this
    /// validator's transaction for it mines (about one block), so this bounds the rate at
    /// about this many per block per direction.
    pub transfers_per_round: u32,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            batch_size: 50,
            release_takeover: Duration::from_secs(60),
            tx_timeout: Duration::from_secs(30),
            fee_bump_percent: 20,
            log_range: 2_000,
            max_in_flight: 8,
            rpc_failure: Duration::from_secs(30),
            transfers_per_round: 2_000,
        }
    }
}

impl Config {
    /// Reads and validates the file at `path`, with the process environment's overrides.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        load_file(path, Self::from_toml_str, |c| &mut c.source)
    }

    /// Validates TOML text; `env` stands in for the process environment.
    pub fn from_toml_str(
        s: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        parse_toml(s, env, validate)
    }

    /// The settings of one chain.
    pub fn chain(&self, chain: Chain) -> &ChainConfig {
        match chain {
            Chain::Main => &self.main,
            Chain::Side => &self.side,
        }
    }
}

/// The process environment, or a stand-in for it: a variable's value by name.
type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Reads the file at `path` and parses it with `parse` under the process environment, and
/// records the path in the field `source` points at; errors name the file.
fn load_file<T>(
    path: &Path,
    parse: fn(&str, Env<'_>) -> Result<T, ConfigError>,
    source: fn(&mut T) -> &mut Option<PathBuf>,
) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut config = parse(&text, &|name| std::env::var(name).ok()).map_err(|e| e.in_file(path))?;
    *source(&mut config) = Some(path.to_path_buf());
    Ok(config)
}

/// TOML text validated by `validate`, every problem collected.
fn parse_toml<T>(
    s: &str,
    env: Env<'_>,
    validate: fn(toml::Table, Env<'_>, &mut Errors) -> Option<T>,
) -> Result<T, ConfigError> {
    let table: toml::Table = toml::from_str(s).map_err(|e| ConfigError::Syntax {
        file: None,
        message: e.to_string(),
    })?;
    let mut errors = Errors::default();
    match validate(table, env, &mut errors) {
        Some(value) if errors.found.is_empty() => Ok(value),
        _ => Err(ConfigError::Invalid {
            file: None,
            errors: errors.found,
        }),
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
    #[error(
        "secret file {} is readable or writable by other users (mode {mode:o}); refusing to use it: chmod 600 it",
        path.display()
    )]
    SecretFileExposed { path: PathBuf, mode: u32 },
    #[error("secret {reference} is empty")]
    EmptySecret { reference: String },
    #[error("sealed:{name}: no [secrets] table says where the sealed file and master keys are")]
    SealedUnbound { name: String },
    #[error(transparent)]
    Sealed(#[from] SealedError),
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

/// The permission bits of `path` when group or others may read or write it (a secret there is
/// no longer the owner's alone); `None` when only the owner may, or where the platform has no
/// such bits. A missing file is `None`: reading it reports that.
pub(crate) fn exposed_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o066 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

#[cfg(test)]
mod tests;
