//! `relayer`: the daemon a validator runs, and its operator commands.

mod fee_report;

use std::{path::PathBuf, process::ExitCode};

use alloy::primitives::{Address, U256};
use clap::{Parser, Subcommand, ValueEnum};
use eyre::WrapErr;
use sidebridge_relayer::{
    config::{Config, IndexConfig, KeyConfig, Pkcs11Config, SecretRef},
    domain::Chain,
    index, keys,
    ledger::{CostFormat, CostGrouping, group_costs, render},
    node, secrets,
    signer::{
        self, ValidatorSigner,
        pkcs11::{HsmError, Pkcs11Signer},
    },
    store::Store,
};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Parser)]
#[command(name = "relayer", version, about = "Sidebridge validator relayer")]
struct Cli {
    /// Log format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "SIDEBRIDGE_LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the relayer.
    Run {
        #[arg(long, env = "SIDEBRIDGE_CONFIG")]
        config: PathBuf,
    },
    /// Run the keyless transfer index: the watchers into a database of its own, and a public
    /// read-only API and status page. Needs no key.
    Index {
        #[arg(long, env = "SIDEBRIDGE_INDEX_CONFIG")]
        config: PathBuf,
    },
    /// Cursor per chain, transfers by state, account balances.
    Status {
        #[arg(long, env = "SIDEBRIDGE_CONFIG")]
        config: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Gas spent and fees collected, from the cost ledger.
    Costs {
        #[arg(long, env = "SIDEBRIDGE_CONFIG")]
        config: PathBuf,
        #[arg(long, value_enum, default_value_t = By::Chain)]
        by: By,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Fees collected against relay costs per token and direction, and the break-even fee
        /// (reads token facts and the validator set from the chains).
        #[arg(long)]
        fees: bool,
        /// With --fees: how many days back.
        #[arg(long, default_value_t = 1)]
        days: u64,
        /// With --fees: a token's price in the main chain's native coin, TOKEN=PRICE
        /// (repeatable), e.g. 0x5FbD…=0.0004. Without it there is no break-even fee.
        #[arg(long = "price", value_parser = fee_report::parse_price)]
        prices: Vec<(Address, String)>,
        /// With --fees: one side-chain native coin in main-chain native coins.
        #[arg(long, default_value = "1")]
        side_native_price: String,
    },
    /// Manage the validator key: a keystore (Web3 Secret Storage, as `cast wallet` and geth
    /// use) or a key on a PKCS#11 token (an HSM).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Secrets at rest: seal database URLs, RPC URLs, passwords and PINs under a master key
    /// (`sealed:NAME` in the config), rotate master keys, list versions.
    Secrets {
        #[command(subcommand)]
        command: secrets::SecretsCommand,
    },
    /// Database maintenance.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Forgery alarms and vote conflicts the audit raised (open ones unless --all).
    Alarms {
        #[arg(long, env = "SIDEBRIDGE_CONFIG")]
        config: PathBuf,
        /// Include alarms already cleared.
        #[arg(long)]
        all: bool,
        /// Mark every open alarm cleared (after investigating): `/readyz` turns green again.
        #[arg(long, conflicts_with = "all")]
        clear: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create a new key in an encrypted keystore file.
    New {
        /// Keystore file to create.
        path: PathBuf,
        /// Password reference: env:NAME or file:/path (else prompted).
        #[arg(long, env = "SIDEBRIDGE_KEY_PASSWORD")]
        password: Option<String>,
    },
    /// Encrypt an existing private key (read from a reference, never from the command line).
    Import {
        path: PathBuf,
        /// The private key: env:NAME or file:/path.
        #[arg(long)]
        private_key: String,
        #[arg(long, env = "SIDEBRIDGE_KEY_PASSWORD")]
        password: Option<String>,
    },
    /// Print a keystore's address.
    Address { path: PathBuf },
    /// Generate a secp256k1 key on a PKCS#11 token (its private half never leaves the token)
    /// and print its address.
    HsmNew(HsmArgs),
    /// Put an existing private key on a PKCS#11 token (stored sensitive, not extractable) and
    /// print its address; retire every other copy of the key afterwards.
    HsmImport {
        #[command(flatten)]
        hsm: HsmArgs,
        /// Where the hex private key is: env:NAME or file:/path (never the key itself).
        #[arg(long)]
        private_key: String,
    },
    /// Print the address of a key on a PKCS#11 token.
    HsmAddress(HsmArgs),
}

/// A key on a PKCS#11 token: the same settings as a `[key]` table with `backend = "pkcs11"`.
#[derive(Debug, clap::Args)]
struct HsmArgs {
    /// The token vendor's PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so.
    #[arg(long, env = "SIDEBRIDGE_HSM_MODULE")]
    module: PathBuf,
    #[arg(long, env = "SIDEBRIDGE_HSM_TOKEN_LABEL")]
    token_label: String,
    #[arg(long, env = "SIDEBRIDGE_HSM_KEY_LABEL")]
    key_label: String,
    /// The user PIN: env:NAME or file:/path (never the PIN itself).
    #[arg(long, env = "SIDEBRIDGE_HSM_PIN")]
    pin: String,
}

impl HsmArgs {
    fn config(self) -> eyre::Result<Pkcs11Config> {
        Ok(Pkcs11Config {
            module: self.module,
            token_label: self.token_label,
            key_label: self.key_label,
            pin: SecretRef::parse(&self.pin).wrap_err("--pin")?,
        })
    }
}

#[derive(Debug, Subcommand)]
enum DbCommand {
    /// Apply the database migrations.
    Migrate {
        #[arg(long, env = "SIDEBRIDGE_CONFIG")]
        config: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum By {
    Transfer,
    Token,
    Chain,
    Day,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Csv,
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("relayer: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!(
                "relayer: {}",
                sidebridge_core::one_line(err.chain().map(|e| e.to_string()))
            );
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // colour only for a person at a terminal: a log file or journal gets plain text
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn password_ref(reference: Option<&str>) -> eyre::Result<Option<SecretRef>> {
    reference
        .map(SecretRef::parse)
        .transpose()
        .map_err(Into::into)
}

async fn run(command: Command) -> eyre::Result<()> {
    match command {
        Command::Run { config } => {
            // signals first: a stop during start-up (keystore decryption takes a moment) is clean
            let shutdown = CancellationToken::new();
            install_stop_signals(shutdown.clone())?;
            let config = Config::load(&config)?;
            let signer = unlock(config.key.clone()).await?;
            if shutdown.is_cancelled() {
                return Ok(());
            }
            node::run(config, signer, shutdown).await?;
            Ok(())
        }
        Command::Index { config } => {
            let shutdown = CancellationToken::new();
            install_stop_signals(shutdown.clone())?;
            index::run(IndexConfig::load(&config)?, shutdown).await?;
            Ok(())
        }
        Command::Status { config, json } => status(&Config::load(&config)?, json).await,
        Command::Costs {
            config,
            by,
            format,
            fees,
            days,
            prices,
            side_native_price,
        } => {
            let config = Config::load(&config)?;
            if fees {
                let args = fee_report::FeeArgs {
                    days,
                    prices,
                    side_native_price,
                    json: matches!(format, Format::Json),
                };
                return fee_report::report(&config, args).await;
            }
            let store = Store::connect(config.database_url.expose()).await?;
            let entries = store.cost_entries().await?;
            let fees = store.fee_entries().await?;
            let by = match by {
                By::Transfer => CostGrouping::Transfer,
                By::Token => CostGrouping::Token,
                By::Chain => CostGrouping::Chain,
                By::Day => CostGrouping::Day,
            };
            let format = match format {
                Format::Table => CostFormat::Table,
                Format::Csv => CostFormat::Csv,
                Format::Json => CostFormat::Json,
            };
            print!("{}", render(&group_costs(&entries, &fees, by), format));
            Ok(())
        }
        Command::Keys { command } => match command {
            KeysCommand::New { path, password } => {
                let password =
                    keys::read_password(password_ref(password.as_deref())?.as_ref(), true)?;
                let address = keys::new_keystore(&path, &password)?;
                println!("{address}");
                eprintln!("created {}", path.display());
                Ok(())
            }
            KeysCommand::Import {
                path,
                private_key,
                password,
            } => {
                let key = SecretRef::parse(&private_key)?.read()?;
                let password =
                    keys::read_password(password_ref(password.as_deref())?.as_ref(), true)?;
                let address = keys::import_keystore(&path, key.trim(), &password)?;
                println!("{address}");
                eprintln!("created {}", path.display());
                Ok(())
            }
            KeysCommand::Address { path } => {
                println!("{}", keys::keystore_address(&path)?);
                Ok(())
            }
            KeysCommand::HsmNew(hsm) => {
                let config = hsm.config()?;
                let (token, key) = (config.token_label.clone(), config.key_label.clone());
                let address = blocking(move || signer::pkcs11::generate_key(&config)).await?;
                println!("{address}");
                eprintln!("created key \"{key}\" on token \"{token}\"");
                Ok(())
            }
            KeysCommand::HsmImport { hsm, private_key } => {
                let config = hsm.config()?;
                let secret = SecretRef::parse(&private_key)
                    .wrap_err("--private-key")?
                    .read()?;
                let hex = secret.expose().trim().trim_start_matches("0x");
                let mut bytes = [0u8; 32];
                alloy::hex::decode_to_slice(hex, &mut bytes)
                    .map_err(|_| signer::pkcs11::HsmError::NotAKey)?;
                let (token, key) = (config.token_label.clone(), config.key_label.clone());
                let address = blocking(move || signer::pkcs11::import_key(&config, &bytes)).await?;
                println!("{address}");
                eprintln!("imported key \"{key}\" onto token \"{token}\"");
                Ok(())
            }
            KeysCommand::HsmAddress(hsm) => {
                let config = hsm.config()?;
                let key = blocking(move || Pkcs11Signer::open(&config)).await?;
                println!("{}", key.address());
                Ok(())
            }
        },
        Command::Alarms {
            config,
            all,
            clear,
            json,
        } => alarms(&Config::load(&config)?, all, clear, json).await,
        Command::Secrets { command } => Ok(secrets::run(command)?),
        Command::Db {
            command: DbCommand::Migrate { config },
        } => {
            let config = Config::load(&config)?;
            let store = Store::connect(config.database_url.expose()).await?;
            store.migrate().await?;
            eprintln!("database is up to date ({})", store.backend());
            Ok(())
        }
    }
}

/// The validator key the config names, unlocked.
async fn unlock(key: KeyConfig) -> eyre::Result<ValidatorSigner> {
    match key {
        KeyConfig::Keystore { keystore, password } => {
            let password = keys::read_password(password.as_ref(), false)?;
            // key derivation is deliberately slow: keep it off the async workers
            let key = tokio::task::spawn_blocking(move || keys::load_signer(&keystore, &password))
                .await
                .wrap_err("decrypting the keystore")??;
            Ok(ValidatorSigner::new(key))
        }
        KeyConfig::Pkcs11(config) => {
            Ok(blocking(move || Pkcs11Signer::open(&config)).await?.into())
        }
    }
}

/// The address of the configured key without asking for a keystore password (a keystore
/// records it); a token is logged in to with its configured PIN.
async fn validator_address(key: &KeyConfig) -> Option<Address> {
    match key {
        KeyConfig::Keystore { keystore, .. } => keys::keystore_address(keystore).ok(),
        KeyConfig::Pkcs11(config) => {
            let config = config.clone();
            let key = blocking(move || Pkcs11Signer::open(&config)).await;
            key.ok().map(|key| key.address())
        }
    }
}

/// A PKCS#11 call, off the async workers.
async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, HsmError> + Send + 'static,
) -> eyre::Result<T> {
    let result = tokio::task::spawn_blocking(call)
        .await
        .wrap_err("the HSM task ended early")?;
    Ok(result?)
}

/// Registers SIGINT/SIGTERM now (so a signal during start-up is not lost) and cancels
/// `shutdown` on the first one.
fn install_stop_signals(shutdown: CancellationToken) -> eyre::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term =
            signal(SignalKind::terminate()).wrap_err("installing the SIGTERM handler")?;
        let mut int = signal(SignalKind::interrupt()).wrap_err("installing the SIGINT handler")?;
        tokio::spawn(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            tracing::info!(target: "node", "stop requested; finishing work in flight");
            shutdown.cancel();
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        shutdown.cancel();
    });
    Ok(())
}

async fn alarms(config: &Config, all: bool, clear: bool, json: bool) -> eyre::Result<()> {
    let store = Store::connect(config.database_url.expose()).await?;
    store.migrate().await?;
    if clear {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let n = store.clear_alarms(now).await?;
        eprintln!("cleared {n} alarm(s); a running relayer turns ready within one poll interval");
        return Ok(());
    }
    let alarms = store.alarms(all).await?;
    if json {
        let value: Vec<_> = alarms
            .iter()
            .map(|a| {
                serde_json::json!({
                    "kind": a.kind.as_str(),
                    "direction": a.direction.as_str(),
                    "nonce": a.nonce,
                    "expectedId": a.expected_id,
                    "seenId": a.seen_id,
                    "validator": (!a.actor.is_zero()).then_some(a.actor),
                    "txHash": a.tx_hash,
                    "raisedAt": a.raised_at,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    if alarms.is_empty() {
        eprintln!("no {}alarms", if all { "" } else { "open " });
        return Ok(());
    }
    println!(
        "{:<14} {:<10} {:>8}  {:<66}  {:<66}  VALIDATOR",
        "KIND", "DIRECTION", "NONCE", "SEEN ID", "EXPECTED ID"
    );
    for a in &alarms {
        println!(
            "{:<14} {:<10} {:>8}  {:<66}  {:<66}  {}",
            a.kind.as_str(),
            a.direction.as_str(),
            a.nonce,
            a.seen_id,
            sidebridge_relayer::store::describe_id(a.expected_id),
            if a.actor.is_zero() {
                "-".to_string()
            } else {
                a.actor.to_string()
            }
        );
    }
    Ok(())
}

async fn status(config: &Config, json: bool) -> eyre::Result<()> {
    let store = Store::connect(config.database_url.expose()).await?;
    let counts = store.count_by_state().await?;
    let keystore_address = validator_address(&config.key).await;
    let mut chains = Vec::new();
    for chain in Chain::ALL {
        let cfg = config.chain(chain);
        let cursor = store.cursor(chain).await?;
        let rpc = std::sync::Arc::new(sidebridge_relayer::rpc::RpcHealth::new(
            chain,
            Default::default(),
        ));
        let provider = node::connect_chain(chain, cfg, rpc, Default::default())
            .await
            .map(|(p, _)| p);
        let (head, balance) = match (&provider, keystore_address) {
            (Ok(p), Some(address)) => {
                use alloy::providers::Provider;
                (
                    p.get_block_number().await.ok(),
                    p.get_balance(address).await.ok(),
                )
            }
            (Ok(p), None) => {
                use alloy::providers::Provider;
                (p.get_block_number().await.ok(), None)
            }
            _ => (None, None),
        };
        chains.push((
            chain,
            cursor,
            head,
            balance,
            provider.err().map(|e| e.to_string()),
        ));
    }
    if json {
        let value = serde_json::json!({
            "validator": keystore_address,
            "chains": chains.iter().map(|(chain, cursor, head, balance, error)| serde_json::json!({
                "chain": chain.as_str(),
                "cursor": cursor,
                "head": head,
                "balanceWei": balance.map(|b: U256| b.to_string()),
                "error": error,
            })).collect::<Vec<_>>(),
            "transfers": counts.iter().map(|(d, s, n)| serde_json::json!({
                "direction": d.as_str(), "state": s.as_str(), "count": n,
            })).collect::<Vec<_>>(),
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&value).wrap_err("rendering status")?
        );
        return Ok(());
    }
    if let Some(address) = keystore_address {
        println!("validator {address}");
    }
    println!(
        "{:<6} {:>10} {:>10} {:>26}",
        "CHAIN", "CURSOR", "HEAD", "BALANCE (wei)"
    );
    for (chain, cursor, head, balance, error) in &chains {
        let show = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        println!(
            "{:<6} {:>10} {:>10} {:>26}{}",
            chain.as_str(),
            show(cursor.map(|c| c.to_string())),
            show(head.map(|h| h.to_string())),
            show(balance.map(|b| b.to_string())),
            error
                .as_ref()
                .map(|e| format!("  ({e})"))
                .unwrap_or_default()
        );
    }
    println!();
    println!("{:<11} {:<10} {:>7}", "DIRECTION", "STATE", "COUNT");
    for (direction, state, count) in &counts {
        println!(
            "{:<11} {:<10} {:>7}",
            direction.as_str(),
            state.as_str(),
            count
        );
    }
    Ok(())
}
