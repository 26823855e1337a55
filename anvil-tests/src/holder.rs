//! The holder CLI (`sidebridge`) as a test runs it: a deployment file for a [`System`], the
//! holder's key in a file by reference, and each run's exit code, stdout and stderr.

use std::path::{Path, PathBuf};

use alloy::signers::local::PrivateKeySigner;
use eyre::WrapErr;

use sidebridge_governance::{SideFile, deployment_file, hub_deployment_file};

use crate::{System, binaries::workspace_binary, hub::HubSystem, write_secret};

/// What one run of the CLI gave.
#[derive(Debug, Clone)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stdout as JSON (the run used `--json`).
    pub fn json(&self) -> eyre::Result<serde_json::Value> {
        serde_json::from_str(&self.stdout).wrap_err_with(|| {
            format!(
                "stdout is not JSON (exit {}): {}\nstderr: {}",
                self.code, self.stdout, self.stderr
            )
        })
    }
}

/// The CLI pointed at a system, with one holder's key.
#[derive(Debug, Clone)]
pub struct HolderCli {
    pub binary: PathBuf,
    pub deployment: PathBuf,
    pub key_file: PathBuf,
}

impl HolderCli {
    /// Writes `dir/deployment.json` (as `bridgectl deploy --json` writes it, with the relayers'
    /// `confirmations`) and `dir/<address>.key` for `key`.
    pub fn new(
        sys: &System,
        dir: &Path,
        key: &PrivateKeySigner,
        confirmations: u64,
    ) -> eyre::Result<Self> {
        let file = deployment_file(
            &sys.deployment,
            [&sys.main.endpoint(), &sys.side.endpoint()],
            [0, 0],
            Some(confirmations),
        );
        Self::write(dir, &file, key)
    }

    /// The CLI for a hub's system: `dir/deployment.json` names side chain `i` `names[i]`.
    pub fn for_hub(
        sys: &HubSystem,
        dir: &Path,
        key: &PrivateKeySigner,
        confirmations: u64,
        names: &[&str],
    ) -> eyre::Result<Self> {
        let urls: Vec<String> = sys.sides.iter().map(|s| s.endpoint()).collect();
        let sides: Vec<SideFile<'_>> = names
            .iter()
            .zip(&urls)
            .map(|(name, url)| SideFile {
                name,
                rpc_url: url,
                start_block: 0,
            })
            .collect();
        let file = hub_deployment_file(
            &sys.deployment,
            (&sys.main.endpoint(), 0),
            &sides,
            Some(confirmations),
        );
        Self::write(dir, &file, key)
    }

    /// The CLI with `file` as `dir/deployment.json` and `key`'s file.
    fn write(dir: &Path, file: &serde_json::Value, key: &PrivateKeySigner) -> eyre::Result<Self> {
        let deployment = dir.join("deployment.json");
        std::fs::write(&deployment, serde_json::to_string_pretty(file)?)?;
        let cli = Self {
            binary: workspace_binary("sidebridge", "sidebridge-holder")?,
            deployment,
            key_file: PathBuf::new(),
        };
        cli.with_key(dir, key)
    }

    /// The same CLI with another holder's key.
    pub fn with_key(&self, dir: &Path, key: &PrivateKeySigner) -> eyre::Result<Self> {
        let key_file = dir.join(format!("{}.key", key.address()));
        write_secret(&key_file, &hex_key(key))?;
        Ok(Self {
            key_file,
            ..self.clone()
        })
    }

    /// Runs `sidebridge ARGS` with no terminal; never reads stdin.
    pub async fn run(&self, args: &[&str]) -> eyre::Result<Run> {
        let out = tokio::process::Command::new(&self.binary)
            .arg("--network")
            .arg(&self.deployment)
            .arg("--private-key")
            .arg(format!("file:{}", self.key_file.display()))
            .args(args)
            .stdin(std::process::Stdio::null())
            .env_remove("SIDEBRIDGE_NETWORK")
            .output()
            .await
            .wrap_err("running sidebridge")?;
        Ok(Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

fn hex_key(key: &PrivateKeySigner) -> String {
    format!("0x{}", alloy::hex::encode(key.to_bytes()))
}
