//! Relayer nodes as real processes: each validator gets its own encrypted keystore, password
//! file, database (SQLite file or a fresh PostgreSQL database) and config, and runs
//! `relayer run`. Nodes can be stopped gracefully, killed hard and restarted on the same state.
//! A node's key may instead be on a SoftHSM2 token ([`RelayerNode::prepare_on_hsm`]).

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use alloy::{primitives::Address, signers::local::PrivateKeySigner};
use eyre::{WrapErr, bail, eyre};
use tokio::process::{Child, Command};

use crate::{System, binaries::relayer_binary, hsm::HsmKey, proxy::FaultProxy};

/// Which database the nodes use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests create their databases on.
pub fn postgres_base_url() -> String {
    std::env::var("SIDEBRIDGE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// Whether PostgreSQL tests run: `ops/test` sets `SIDEBRIDGE_SKIP_POSTGRES` (outside CI only)
/// when no server answers.
pub fn postgres_enabled() -> bool {
    if std::env::var_os("SIDEBRIDGE_SKIP_POSTGRES").is_some() {
        eprintln!("PostgreSQL not available: skipping this PostgreSQL test");
        return false;
    }
    true
}

/// A PostgreSQL database created for one test, dropped (with its connections) when this is.
#[derive(Debug)]
pub struct TestDatabase {
    pub url: String,
    name: String,
    base: String,
}

impl TestDatabase {
    /// Creates a fresh database on [`postgres_base_url`].
    pub async fn create() -> eyre::Result<Self> {
        use sqlx::{Connection, Executor};
        let base = postgres_base_url();
        let mut conn = sqlx::PgConnection::connect(&base)
            .await
            .wrap_err_with(|| format!("PostgreSQL not reachable at {base}"))?;
        let name = format!("sb_e2e_{:016x}", rand_u64());
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .wrap_err("creating a test database")?;
        let _ = conn.close().await;
        let (prefix, _) = base
            .rsplit_once('/')
            .ok_or_else(|| eyre!("database URL without a database name: {base}"))?;
        Ok(Self {
            url: format!("{prefix}/{name}"),
            name,
            base,
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop cannot await, and the test's runtime may be the one dropping us: a thread with
        // its own runtime does the work and is joined, so the database is gone when drop returns
        let (base, name) = (self.base.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                use sqlx::{Connection, Executor};
                let mut conn = sqlx::PgConnection::connect(&base).await?;
                conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await?;
                conn.close().await?;
                eyre::Ok(())
            })
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.finish()
}

/// Settings every node of a test shares.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    pub backend: Backend,
    pub confirmations: u64,
    pub batch_size: usize,
    pub takeover_secs: u64,
    pub poll_interval_ms: u64,
    pub max_in_flight: usize,
    /// Put a [`FaultProxy`] in front of each chain for each node ([`RelayerNode::proxies`]).
    pub proxied: bool,
    /// With [`NodeOptions::proxied`]: the chain's own endpoint as `fallback_rpc_urls`, behind
    /// the proxy as the primary.
    pub fallback_direct: bool,
    /// `[fees]`: the demo token's price in the main chain's coin, compared every second.
    pub token_price: Option<&'static str>,
    /// `relay.rpc_failure_secs`.
    pub rpc_failure_secs: u64,
    /// `chains.*.min_balance_ether`, as written in TOML.
    pub min_balance_ether: &'static str,
    /// `relay.transfers_per_round`.
    pub transfers_per_round: u32,
    /// `[ha] enabled = true` with this `takeover_secs`: two nodes per validator
    /// ([`RelayerNode::twin`]); PostgreSQL only.
    pub ha_takeover_secs: Option<u64>,
}

impl Default for NodeOptions {
    fn default() -> Self {
        Self {
            backend: Backend::Sqlite,
            confirmations: 2,
            batch_size: 50,
            takeover_secs: 3,
            poll_interval_ms: 200,
            max_in_flight: 8,
            proxied: false,
            fallback_direct: false,
            token_price: None,
            rpc_failure_secs: 30,
            min_balance_ether: "0.1",
            transfers_per_round: 2_000,
            ha_takeover_secs: None,
        }
    }
}

/// One validator's relayer.
#[derive(Debug)]
pub struct RelayerNode {
    /// The validator address the node signs for.
    pub address: Address,
    pub dir: PathBuf,
    pub config_path: PathBuf,
    pub database_url: String,
    /// The port the running node bound (it binds port 0 and reports it); 0 before the first
    /// start.
    pub http_port: u16,
    /// The node's own fault proxies in front of the main and side chain, when
    /// [`NodeOptions::proxied`].
    pub proxies: Option<(FaultProxy, FaultProxy)>,
    /// Extra environment of the next start, e.g. `SIDEBRIDGE_FAILPOINT`.
    pub env: Vec<(String, String)>,
    child: Option<Child>,
    /// Dropped after `Drop` below killed the node.
    _database: Option<TestDatabase>,
}

/// What a node serves: its two chains' endpoints and contracts.
#[derive(Debug, Clone)]
pub struct NodeTarget {
    pub main_url: String,
    pub side_url: String,
    pub main: sidebridge_contracts::ChainDeployment,
    pub side: sidebridge_contracts::ChainDeployment,
    /// `main.bridge` is a hub and the node serves the route of `side`.
    pub hub: bool,
    pub main_token: Address,
}

impl NodeTarget {
    /// The one route of a [`System`].
    pub fn of(system: &System) -> Self {
        Self {
            main_url: system.main.endpoint(),
            side_url: system.side.endpoint(),
            main: system.deployment.main,
            side: system.deployment.side,
            hub: false,
            main_token: system.main_token,
        }
    }
}

impl RelayerNode {
    /// Writes the keystore, password and config of `key` under `dir`.
    pub async fn prepare(
        system: &System,
        key: &PrivateKeySigner,
        dir: &Path,
        options: &NodeOptions,
    ) -> eyre::Result<Self> {
        Self::prepare_for(&NodeTarget::of(system), key, dir, options).await
    }

    /// [`RelayerNode::prepare`] for what `target` names (e.g. one route of a hub).
    pub async fn prepare_for(
        target: &NodeTarget,
        key: &PrivateKeySigner,
        dir: &Path,
        options: &NodeOptions,
    ) -> eyre::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let keystore = dir.join("validator.json");
        let password_file = dir.join("password");
        crate::write_secret(&password_file, "correct horse battery staple\n")?;
        if !keystore.exists() {
            sidebridge_relayer::keys::import_keystore_with(
                &keystore,
                &alloy::hex::encode(key.to_bytes()),
                "correct horse battery staple",
                // a throwaway test key, unlocked at every start
                sidebridge_relayer::keys::KdfCost::Light,
            )?;
        }
        let table = format!(
            "keystore = \"{}\"\npassword = \"file:{}\"\n",
            keystore.display(),
            password_file.display()
        );
        Self::prepare_with(target, (key.address(), table), dir, options).await
    }

    /// Writes the config of a node whose key is on `hsm`'s token (`backend = "pkcs11"`) and
    /// whose database and main-chain RPC URLs are sealed under a master key on that token
    /// ([`HsmKey::seal_node_secrets`]); the node starts with the token's SoftHSM2
    /// configuration in its environment.
    pub async fn prepare_on_hsm(
        system: &System,
        hsm: &HsmKey,
        dir: &Path,
        options: &NodeOptions,
    ) -> eyre::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut node = Self::prepare_with(
            &NodeTarget::of(system),
            (hsm.address, hsm.key_table()),
            dir,
            options,
        )
        .await?;
        hsm.seal_node_secrets(&node.config_path).await?;
        node.env.push(hsm.env());
        Ok(node)
    }

    /// Writes the config under `dir` of the validator `address` whose `[key]` table is
    /// `key_table`.
    async fn prepare_with(
        target: &NodeTarget,
        (address, key_table): (Address, String),
        dir: &Path,
        options: &NodeOptions,
    ) -> eyre::Result<Self> {
        let database = match options.backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(TestDatabase::create().await?),
        };
        let database_url = match &database {
            None => format!("sqlite://{}", dir.join("relayer.db").display()),
            Some(db) => db.url.clone(),
        };
        let proxies = if options.proxied {
            Some((
                FaultProxy::start(&target.main_url).await?,
                FaultProxy::start(&target.side_url).await?,
            ))
        } else {
            None
        };
        let (main_url, side_url) = match &proxies {
            Some((main, side)) => (main.url().to_string(), side.url().to_string()),
            None => (target.main_url.clone(), target.side_url.clone()),
        };
        let chain = |name: &str, url: String, c: &sidebridge_contracts::ChainDeployment| {
            let direct = match name {
                "main" => target.main_url.clone(),
                _ => target.side_url.clone(),
            };
            let fallback = if options.fallback_direct {
                format!("fallback_rpc_urls = [\"{direct}\"]\n")
            } else {
                String::new()
            };
            format!(
                r#"[chains.{name}]
rpc_url = "{url}"
{fallback}chain_id = {chain_id}
bridge = "{bridge}"
{hub}governance = "{governance}"
operational = "{operational}"
confirmations = {confirmations}
poll_interval_ms = {poll}
max_fee_per_gas_gwei = 500
start_block = 0
min_balance_ether = {min_balance}
"#,
                chain_id = c.chain_id,
                bridge = c.bridge,
                hub = if name == "main" && target.hub {
                    "hub = true\n"
                } else {
                    ""
                },
                governance = c.governance,
                operational = c.operational,
                confirmations = options.confirmations,
                poll = options.poll_interval_ms,
                min_balance = options.min_balance_ether,
            )
        };
        let config = format!(
            r#"database_url = "{database_url}"
http_listen = "127.0.0.1:0"

[key]
{key_table}
{main}
{side}
[relay]
batch_size = {batch}
release_takeover_secs = {takeover}
tx_timeout_secs = 20
fee_bump_percent = 20
log_range = 500
max_in_flight = {in_flight}
rpc_failure_secs = {rpc_failure}
transfers_per_round = {per_round}
{ha}{fees}"#,
            main = chain("main", main_url, &target.main),
            side = chain("side", side_url, &target.side),
            rpc_failure = options.rpc_failure_secs,
            per_round = options.transfers_per_round,
            batch = options.batch_size,
            takeover = options.takeover_secs,
            in_flight = options.max_in_flight,
            ha = match options.ha_takeover_secs {
                Some(secs) => format!("\n[ha]\nenabled = true\ntakeover_secs = {secs}\n"),
                None => String::new(),
            },
            fees = match options.token_price {
                Some(price) => format!(
                    "\n[fees]\ncheck_every_secs = 1\n[fees.token_prices]\n\"{}\" = \"{price}\"\n",
                    target.main_token
                ),
                None => String::new(),
            },
        );
        let config_path = dir.join("relayer.toml");
        std::fs::write(&config_path, config)?;
        Ok(Self {
            address,
            dir: dir.to_path_buf(),
            config_path,
            database_url,
            http_port: 0,
            proxies,
            env: Vec::new(),
            child: None,
            _database: database,
        })
    }

    /// A second node of the same validator under `dir`: the same key, config and database, its
    /// own HTTP port (port 0, reported in its own directory) and log. The database stays
    /// this node's to drop.
    pub fn twin(&self, dir: &Path) -> eyre::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let config_path = dir.join("relayer.toml");
        std::fs::copy(&self.config_path, &config_path)?;
        Ok(Self {
            address: self.address,
            dir: dir.to_path_buf(),
            config_path,
            database_url: self.database_url.clone(),
            http_port: 0,
            proxies: None,
            env: self.env.clone(),
            child: None,
            _database: None,
        })
    }

    /// Starts `relayer run` (logs to `relayer.log` beside the config) and waits until it
    /// serves HTTP (its database is migrated and its chains checked by then). The node binds
    /// port 0 and writes the address it got to `relayer.http-addr`; that is where we look.
    pub async fn start(&mut self) -> eyre::Result<()> {
        self.spawn()?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while tokio::time::Instant::now() < deadline {
            if self.http_port == 0 {
                self.http_port = self.reported_port().unwrap_or(0);
            }
            if self.http_port != 0 && http_get(self.http_port, "/healthz").await.0 == 200 {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                self.child = None;
                bail!("relayer exited during start-up ({status}):\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("relayer did not serve HTTP within 60 s:\n{}", self.log())
    }

    /// The port in the address file the running node wrote.
    fn reported_port(&self) -> Option<u16> {
        let text = std::fs::read_to_string(self.dir.join("relayer.http-addr")).ok()?;
        let addr: std::net::SocketAddr = text.trim().parse().ok()?;
        Some(addr.port())
    }

    /// Starts `relayer run` without waiting for it (its port is known once [`Self::start`]
    /// or [`Self::wait_http`] saw its address file).
    pub fn spawn(&mut self) -> eyre::Result<()> {
        if self.child.is_some() {
            bail!("node {} already runs", self.address);
        }
        // a previous run's address must not be mistaken for this one's
        match std::fs::remove_file(self.dir.join("relayer.http-addr")) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
        self.http_port = 0;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("relayer.log"))?;
        let child = Command::new(relayer_binary()?)
            .arg("run")
            .arg("--config")
            .arg(&self.config_path)
            // SIDEBRIDGE_RELAYER_LOG overrides the filter, e.g. to see a stage's debug lines
            .env(
                "RUST_LOG",
                std::env::var("SIDEBRIDGE_RELAYER_LOG").unwrap_or_else(|_| "info,sqlx=warn".into()),
            )
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .wrap_err("starting relayer")?;
        self.child = Some(child);
        Ok(())
    }

    /// The process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(|c| c.id())
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// How the process ended, if it ended on its own (not by [`Self::kill`] or [`Self::stop`]);
    /// `None` while it runs or when it was not started.
    pub fn exited(&mut self) -> eyre::Result<Option<std::process::ExitStatus>> {
        let Some(child) = self.child.as_mut() else {
            return Ok(None);
        };
        let status = child.try_wait()?;
        if status.is_some() {
            self.child = None;
        }
        Ok(status)
    }

    /// SIGKILL: no chance to finish anything.
    pub async fn kill(&mut self) -> eyre::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill().await?;
        }
        Ok(())
    }

    /// SIGTERM, then waits for a clean exit; returns the exit code.
    pub async fn stop(&mut self) -> eyre::Result<Option<i32>> {
        let Some(mut child) = self.child.take() else {
            return Ok(None);
        };
        if let Some(pid) = child.id() {
            let _ = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
        }
        let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .wrap_err("relayer did not exit within 30 s of SIGTERM")??;
        Ok(status.code())
    }

    /// The node's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("relayer.log")).unwrap_or_default()
    }
}

impl Drop for RelayerNode {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
        }
    }
}

/// `GET path` on a local port: the status code (0 when nothing answers) and the body.
pub async fn http_get(port: u16, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return (0, String::new());
    };
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return (0, String::new());
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response).await;
    let code = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}

/// The value of one series (name and labels, as exposed) in the `/metrics` of the node at
/// `port`; NaN when absent.
pub async fn metric(port: u16, series: &str) -> f64 {
    let (_, body) = http_get(port, "/metrics").await;
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(f64::NAN)
}
