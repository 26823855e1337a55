//! A validator key on a SoftHSM2 token, created the way an operator does it: `relayer keys
//! hsm-new` against a token in a temporary directory. The node that uses it gets the token's
//! configuration in its environment ([`HsmKey::env`]) and a `[key]` table with
//! `backend = "pkcs11"` ([`HsmKey::key_table`]). Its database URL and main-chain RPC URL are
//! sealed under a master key on the same token ([`HsmKey::seal_node_secrets`]), the way an
//! operator keeps credentials off the disk in clear.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
};

use alloy::primitives::Address;
use eyre::{WrapErr, ensure};
use sidebridge_core::hsm::softhsm::{CONF_VAR, SoftHsm};
use tokio::{io::AsyncWriteExt, process::Command};

use crate::binaries::relayer_binary;

const TOKEN: &str = "sidebridge";
const KEY: &str = "validator";
/// The label of the sealed secrets' master key (AES-256) on the token.
const MASTER: &str = "secrets-master";

/// A key generated on a fresh token.
#[derive(Debug, Clone)]
pub struct HsmKey {
    pub softhsm: SoftHsm,
    pub pin_file: PathBuf,
    pub address: Address,
}

impl HsmKey {
    /// Initialises a token under `dir` and generates the key on it; `None` (after printing
    /// SKIPPED) when SoftHSM2 is not installed, except under CI where that fails.
    pub async fn create(dir: &Path, test: &str) -> eyre::Result<Option<Self>> {
        let Some(module) = SoftHsm::installed_or_skip(test) else {
            return Ok(None);
        };
        let pin_file = dir.join("hsm-pin");
        crate::write_secret(&pin_file, "246810\n")?;
        let softhsm = SoftHsm::create(dir, module, TOKEN, "246810")?;
        let mut key = Self {
            softhsm,
            pin_file,
            address: Address::ZERO,
        };
        key.address = key.keys("hsm-new").await?;
        let again = key.keys("hsm-address").await?;
        ensure!(
            again == key.address,
            "hsm-address {again} differs from hsm-new {}",
            key.address
        );
        Ok(Some(key))
    }

    /// Runs `relayer keys <command>` for this key and parses the address it prints.
    async fn keys(&self, command: &str) -> eyre::Result<Address> {
        let output = Command::new(relayer_binary()?)
            .args(["keys", command, "--token-label", TOKEN, "--key-label", KEY])
            .arg("--module")
            .arg(&self.softhsm.module)
            .arg("--pin")
            .arg(format!("file:{}", self.pin_file.display()))
            .env(CONF_VAR, &self.softhsm.conf)
            .output()
            .await
            .wrap_err("running relayer keys")?;
        ensure!(
            output.status.success(),
            "relayer keys {command}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .wrap_err("the address relayer keys printed")
    }

    /// Makes a master key on the token (`relayer secrets new-master-key pkcs11:…`), seals the
    /// node's database URL and main-chain RPC URL under it (`relayer secrets seal`, values on
    /// standard input) into `secrets.sealed` beside the config, and rewrites the config to
    /// name them `sealed:db` and `sealed:main_rpc` with a `[secrets]` table naming the token's
    /// key by URI. The config then holds neither URL.
    pub async fn seal_node_secrets(&self, config_path: &Path) -> eyre::Result<()> {
        let text = std::fs::read_to_string(config_path)?;
        let value_of = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{key} = \"")))
                .and_then(|rest| rest.strip_suffix('"'))
                .map(str::to_string)
                .ok_or_else(|| eyre::eyre!("no {key} in {}", config_path.display()))
        };
        let (database_url, main_rpc) = (value_of("database_url")?, value_of("rpc_url")?);
        let master = self.master_uri();
        self.secrets(&["new-master-key", &master], "").await?;
        let file = config_path.with_file_name("secrets.sealed");
        let file = file.display().to_string();
        for (name, value) in [("db", &database_url), ("main_rpc", &main_rpc)] {
            let args = ["seal", "--file", &file, "--master-key", &master, name];
            self.secrets(&args, value).await?;
        }
        let sealed =
            text.replacen(&database_url, "sealed:db", 1)
                .replacen(&main_rpc, "sealed:main_rpc", 1);
        let secrets = format!("\n[secrets]\nfile = \"{file}\"\nmaster_keys = [\"{master}\"]\n");
        std::fs::write(config_path, sealed + &secrets)?;
        Ok(())
    }

    /// The master key's PKCS#11 URI.
    fn master_uri(&self) -> String {
        format!(
            "pkcs11:token={TOKEN};object={MASTER}?module-path={}&pin-source=file:{}",
            self.softhsm.module.display(),
            self.pin_file.display()
        )
    }

    /// Runs `relayer secrets <args>` against this token with `stdin` as its input.
    async fn secrets(&self, args: &[&str], stdin: &str) -> eyre::Result<()> {
        let mut child = Command::new(relayer_binary()?)
            .arg("secrets")
            .args(args)
            .env(CONF_VAR, &self.softhsm.conf)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .wrap_err("running relayer secrets")?;
        let mut input = child.stdin.take().expect("piped");
        input.write_all(stdin.as_bytes()).await?;
        drop(input);
        let output = child.wait_with_output().await?;
        ensure!(
            output.status.success(),
            "relayer secrets {}: {}",
            args[0],
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(())
    }

    /// The `[key]` table of a node signing with this key.
    pub fn key_table(&self) -> String {
        format!(
            "backend = \"pkcs11\"\nmodule = \"{}\"\ntoken_label = \"{TOKEN}\"\n\
             key_label = \"{KEY}\"\npin = \"file:{}\"\n",
            self.softhsm.module.display(),
            self.pin_file.display()
        )
    }

    /// The environment that points SoftHSM2 at this token.
    pub fn env(&self) -> (String, String) {
        (
            CONF_VAR.to_string(),
            self.softhsm.conf.display().to_string(),
        )
    }
}
