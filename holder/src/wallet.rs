//! The holder's key: an encrypted Web3 keystore (password from `env:`/`file:` or the terminal)
//! or a raw private key by reference (`env:NAME`, `file:PATH`). A key is never taken from the
//! command line itself, where it would land in shell history and process listings.

use std::path::PathBuf;

use alloy::signers::local::PrivateKeySigner;
use clap::Args;
use eyre::{WrapErr, bail, eyre};
use sidebridge_core::{
    config::SecretRef,
    keys::{KeyError, load_signer, read_password},
};

#[derive(Debug, Clone, Args)]
pub(crate) struct WalletArgs {
    /// Encrypted Web3 keystore (the format `cast wallet` and geth write).
    #[arg(long, env = "SIDEBRIDGE_KEYSTORE", global = true)]
    keystore: Option<PathBuf>,
    /// Where the keystore password is: env:NAME or file:PATH (asked on the terminal without it).
    #[arg(long, env = "SIDEBRIDGE_PASSWORD", global = true)]
    password: Option<SecretRef>,
    /// Where a raw private key is: env:NAME or file:PATH (hex, 0x optional). Never the key itself.
    #[arg(
        long,
        env = "SIDEBRIDGE_PRIVATE_KEY",
        global = true,
        conflicts_with = "keystore"
    )]
    private_key: Option<SecretRef>,
}

impl WalletArgs {
    /// Unlocks the key the flags name.
    pub(crate) async fn signer(&self) -> eyre::Result<PrivateKeySigner> {
        if let Some(reference) = &self.private_key {
            let secret = reference
                .read()
                .map_err(|e| eyre!("--private-key {reference}: {e}"))?;
            return secret
                .expose()
                .trim()
                .parse::<PrivateKeySigner>()
                .map_err(|_| eyre!("--private-key {reference}: not a 32-byte hex private key"));
        }
        let Some(path) = self.keystore.clone() else {
            bail!(
                "no wallet: pass --keystore FILE (with --password env:NAME|file:PATH) or \
                 --private-key env:NAME|file:PATH"
            );
        };
        let password = match read_password(self.password.as_ref(), false) {
            Err(KeyError::NoPassword) => bail!(
                "no keystore password: pass --password env:NAME or file:PATH, or run on a \
                 terminal to be asked"
            ),
            other => other?,
        };
        tokio::task::spawn_blocking(move || load_signer(&path, password.expose()))
            .await
            .wrap_err("unlocking the keystore")?
            .map_err(Into::into)
    }
}
