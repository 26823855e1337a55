//! The transfer index as a real process (`relayer index`): its config, its own database, a
//! start that waits until it serves (it binds port 0 and reports the address it got in
//! `index.http-addr` beside its database), JSON reads of its API, and its status page as
//! headless Chromium renders it.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use eyre::{WrapErr, bail, eyre};
use tokio::process::{Child, Command};

use crate::{
    System,
    binaries::relayer_binary,
    relayers::{Backend, TestDatabase, http_get},
};

/// A keyless index of a [`System`].
#[derive(Debug)]
pub struct IndexNode {
    pub dir: PathBuf,
    pub config_path: PathBuf,
    /// The port it bound; 0 before it started.
    pub port: u16,
    child: Option<Child>,
    _database: Option<TestDatabase>,
}

impl IndexNode {
    /// Writes the config of an index of `system` under `dir` (its database there too, or a
    /// fresh PostgreSQL database).
    pub async fn prepare(
        system: &System,
        dir: &Path,
        backend: Backend,
        confirmations: u64,
    ) -> eyre::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(TestDatabase::create().await?),
        };
        let database_url = match &database {
            None => format!("sqlite://{}", dir.join("index.db").display()),
            Some(db) => db.url.clone(),
        };
        let d = &system.deployment;
        let chain = |name: &str, url: String, c: &sidebridge_contracts::ChainDeployment| {
            format!(
                "[chains.{name}]\nrpc_url = \"{url}\"\nchain_id = {}\nbridge = \"{}\"\n\
                 governance = \"{}\"\noperational = \"{}\"\nconfirmations = {confirmations}\n\
                 poll_interval_ms = 200\n",
                c.chain_id, c.bridge, c.governance, c.operational,
            )
        };
        let config = format!(
            "database_url = \"{database_url}\"\nlisten = \"127.0.0.1:0\"\nlog_range = 500\n\n\
             [rate_limit]\nper_second = 1000\nburst = 5000\n\n{}\n{}",
            chain("main", system.main.endpoint(), &d.main),
            chain("side", system.side.endpoint(), &d.side),
        );
        let config_path = dir.join("index.toml");
        std::fs::write(&config_path, config)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            config_path,
            port: 0,
            child: None,
            _database: database,
        })
    }

    /// Starts `relayer index` (log in `index.log`) and waits until it serves `/healthz`.
    pub async fn start(&mut self) -> eyre::Result<()> {
        let addr_file = self.dir.join("index.http-addr");
        match std::fs::remove_file(&addr_file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("index.log"))?;
        let child = Command::new(relayer_binary()?)
            .arg("index")
            .arg("--config")
            .arg(&self.config_path)
            .env("RUST_LOG", "info,sqlx=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .wrap_err("starting relayer index")?;
        let child = self.child.insert(child);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while tokio::time::Instant::now() < deadline {
            let reported = std::fs::read_to_string(&addr_file)
                .ok()
                .and_then(|text| text.trim().parse::<std::net::SocketAddr>().ok());
            if let Some(addr) = reported
                && http_get(addr.port(), "/healthz").await.0 == 200
            {
                self.port = addr.port();
                return Ok(());
            }
            if let Some(status) = child.try_wait()? {
                self.child = None;
                bail!(
                    "relayer index exited during start-up ({status}):\n{}",
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("relayer index did not serve within 60 s:\n{}", self.log())
    }

    /// The status page's address.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// `GET path`: the status code and the JSON body.
    pub async fn get(&self, path: &str) -> eyre::Result<(u16, serde_json::Value)> {
        let (status, body) = http_get(self.port, path).await;
        let json = serde_json::from_str(&body)
            .wrap_err_with(|| format!("GET {path} answered {status} with no JSON: {body}"))?;
        Ok((status, json))
    }

    /// Every transfer a query selects, following `next_cursor` `limit` at a time.
    pub async fn all_pages(&self, query: &str, limit: u32) -> eyre::Result<Vec<serde_json::Value>> {
        let sep = if query.is_empty() { "" } else { "&" };
        let mut path = format!("/api/transfers?limit={limit}{sep}{query}");
        let mut out = Vec::new();
        loop {
            let (status, body) = self.get(&path).await?;
            if status != 200 {
                bail!("GET {path}: {status} {body}");
            }
            let page = body["transfers"]
                .as_array()
                .ok_or_else(|| eyre!("GET {path}: no transfers list"))?;
            if page.len() > limit as usize {
                bail!("GET {path}: {} rows, limit {limit}", page.len());
            }
            out.extend(page.iter().cloned());
            match body["next_cursor"].as_str() {
                Some(cursor) => {
                    path = format!("/api/transfers?limit={limit}{sep}{query}&cursor={cursor}")
                }
                None => return Ok(out),
            }
        }
    }

    /// The block each chain's watcher has processed (`None` before its first range).
    pub async fn indexed_to(&self) -> eyre::Result<(Option<u64>, Option<u64>)> {
        let (_, overview) = self.get("/api/overview").await?;
        let chain = |name: &str| overview["chains"][name]["indexedTo"].as_u64();
        Ok((chain("main"), chain("side")))
    }

    /// The index's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("index.log")).unwrap_or_default()
    }
}

/// Debian's headless Chromium, if installed (`ops/setup` installs it).
pub fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser"]
        .into_iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join(name))
                    .find(|path| path.is_file())
            })
        })
}

/// Runs headless Chromium on `url` with `args` (its scripts run for a few seconds of virtual
/// time first), and returns what it printed.
pub async fn run_chromium(url: &str, args: &[&str]) -> eyre::Result<String> {
    let binary = chromium().ok_or_else(|| eyre!("chromium is not installed (run ops/setup)"))?;
    let profile = tempfile::tempdir()?;
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        Command::new(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--virtual-time-budget=4000",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(args)
            .arg(url)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .wrap_err("chromium did not finish within 60 s")??;
    if !output.status.success() {
        bail!(
            "chromium failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The table row of transfer `id` in a rendered status page, if it is there.
pub fn transfer_row<'a>(dom: &'a str, id: &str) -> Option<&'a str> {
    let start = dom.find(&format!("data-transfer-id=\"{id}\""))?;
    let end = dom[start..].find("</tr>")?;
    Some(&dom[start..start + end])
}

/// The workspace's `target/` directory (or `CARGO_TARGET_DIR`).
pub fn target_dir() -> PathBuf {
    std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
}
