//! A validator key on a SoftHSM2 token, created the way an operator does it: `relayer keys
//! hsm-new` against a token in a temporary directory. The node that uses it gets the token's
//! configuration in its environment ([`HsmKey::env`]) and a `[key]` table with
//! `backend = "pkcs11"` ([`HsmKey::key_table`]).

use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use eyre::{WrapErr, ensure};
use sidebridge_relayer::signer::pkcs11::softhsm::{CONF_VAR, SoftHsm};
use tokio::process::Command;

use crate::relayers::relayer_binary;

const TOKEN: &str = "sidebridge";
const KEY: &str = "validator";

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
