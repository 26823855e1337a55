//! Where bridgectl finds the chains, the contracts and the member's key: flags first, then
//! environment variables, then the relayer's config file (`--config`). Only the bridge address
//! is needed per chain; its Operational contract and its governance are read from it.

use std::{
    io::{BufRead, IsTerminal, Write},
    path::PathBuf,
};

use alloy::{
    primitives::{Address, B256},
    providers::{DynProvider, Provider, ProviderBuilder},
    rpc::types::TransactionReceipt,
    signers::local::PrivateKeySigner,
};
use clap::{Args, ValueEnum};
use eyre::{WrapErr, bail, eyre};
use sidebridge_contracts::bindings::MainBridge;
use sidebridge_core::{
    config::{Config, SecretRef},
    domain::Chain,
    keys::{KeyError, keystore_address, load_signer, read_password},
};
use sidebridge_governance::{
    action::Contracts,
    revert::{Source, decode_revert},
};

/// Which chain(s) a command acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ChainSel {
    Main,
    Side,
    Both,
}

impl ChainSel {
    pub(crate) fn chains(self) -> Vec<Chain> {
        match self {
            ChainSel::Main => vec![Chain::Main],
            ChainSel::Side => vec![Chain::Side],
            ChainSel::Both => vec![Chain::Main, Chain::Side],
        }
    }
}

/// How to reach both chains.
#[derive(Debug, Clone, Args)]
pub(crate) struct ConnArgs {
    /// The relayer's TOML config: RPC URLs, chain ids and contract addresses come from its
    /// [chains.main] and [chains.side] unless given by flags.
    #[arg(long, env = "SIDEBRIDGE_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// JSON-RPC URL of the main chain.
    #[arg(long, env = "SIDEBRIDGE_MAIN_RPC_URL", global = true)]
    main_rpc: Option<String>,
    /// JSON-RPC URL of the side chain.
    #[arg(long, env = "SIDEBRIDGE_SIDE_RPC_URL", global = true)]
    side_rpc: Option<String>,
    /// MainBridge address (its Operational contract and governance are read from it).
    #[arg(long, env = "SIDEBRIDGE_MAIN_BRIDGE", global = true)]
    main_bridge: Option<Address>,
    /// SideBridge address (its Operational contract and governance are read from it).
    #[arg(long, env = "SIDEBRIDGE_SIDE_BRIDGE", global = true)]
    side_bridge: Option<Address>,
}

/// The member's (or guardian's) key.
#[derive(Debug, Clone, Args)]
pub(crate) struct WalletArgs {
    /// Encrypted Web3 keystore of the member or guardian (the relayer's format).
    #[arg(long, env = "SIDEBRIDGE_GOV_KEYSTORE", global = true)]
    keystore: Option<PathBuf>,
    /// Where the keystore password is: env:NAME or file:/path. Without it, the password is
    /// asked on the terminal.
    #[arg(long, env = "SIDEBRIDGE_GOV_PASSWORD", global = true)]
    password: Option<SecretRef>,
}

/// One chain's contracts behind a provider.
#[derive(Debug, Clone)]
pub(crate) struct GovChain {
    pub(crate) chain: Chain,
    pub(crate) chain_id: u64,
    pub(crate) provider: DynProvider,
    pub(crate) contracts: Contracts,
}

impl GovChain {
    /// Which of this chain's contracts `target` is, for reading its reverts.
    pub(crate) fn source_of(&self, target: Address) -> Source {
        if target == self.contracts.bridge {
            Source::Bridge
        } else if target == self.contracts.operational {
            Source::Operational
        } else {
            Source::Governance
        }
    }
}

impl ConnArgs {
    /// Connects to the chains in `sel`, signing with `signer` when given.
    pub(crate) async fn connect(
        &self,
        sel: ChainSel,
        signer: Option<&PrivateKeySigner>,
    ) -> eyre::Result<Vec<GovChain>> {
        let config = match &self.config {
            Some(path) => Some(Config::load(path).wrap_err("reading --config")?),
            None => None,
        };
        let mut out = Vec::new();
        for chain in sel.chains() {
            let from_config = config.as_ref().map(|c| c.chain(chain));
            let (rpc, bridge) = match chain {
                Chain::Main => (&self.main_rpc, self.main_bridge),
                Chain::Side => (&self.side_rpc, self.side_bridge),
            };
            let rpc = rpc
                .clone()
                .or_else(|| from_config.map(|c| c.rpc_url.clone()))
                .ok_or_else(|| {
                    eyre!("no RPC URL for the {chain} chain: pass --{chain}-rpc or --config")
                })?;
            let bridge = bridge.or(from_config.map(|c| c.bridge)).ok_or_else(|| {
                eyre!("no bridge address for the {chain} chain: pass --{chain}-bridge or --config")
            })?;
            let builder = ProviderBuilder::new();
            let provider = match signer {
                Some(key) => builder
                    .wallet(key.clone())
                    .connect(&rpc)
                    .await
                    .map(|p| p.erased()),
                None => builder.connect(&rpc).await.map(|p| p.erased()),
            }
            .wrap_err_with(|| format!("connecting to the {chain} chain"))?;
            let chain_id = provider
                .get_chain_id()
                .await
                .wrap_err_with(|| format!("the {chain} chain's RPC does not answer"))?;
            if let Some(c) = from_config
                && c.chain_id != chain_id
            {
                bail!(
                    "wrong chain: the {chain} chain's RPC serves chain id {chain_id}, but the \
                     config expects {}",
                    c.chain_id
                );
            }
            if provider.get_code_at(bridge).await?.is_empty() {
                bail!(
                    "wrong chain: no contract at {bridge} on the {chain} chain (chain id \
                     {chain_id}); is the RPC URL or bridge address of the other chain?"
                );
            }
            let b = MainBridge::new(bridge, &provider);
            let governance =
                match from_config {
                    Some(c) => c.governance,
                    None => b.governance().call().await.wrap_err_with(|| {
                        format!("{bridge} on the {chain} chain is not a bridge")
                    })?,
                };
            let operational =
                match from_config {
                    Some(c) => c.operational,
                    None => b.operational().call().await.wrap_err_with(|| {
                        format!("{bridge} on the {chain} chain is not a bridge")
                    })?,
                };
            out.push(GovChain {
                chain,
                chain_id,
                provider,
                contracts: Contracts {
                    governance,
                    bridge,
                    operational,
                },
            });
        }
        if out.len() == 2 && out[0].chain_id == out[1].chain_id {
            bail!(
                "wrong chain: main and side RPCs both serve chain id {}",
                out[0].chain_id
            );
        }
        Ok(out)
    }
}

impl WalletArgs {
    /// Unlocks the keystore. The password comes from `--password` or the terminal, never from
    /// the command line itself.
    pub(crate) async fn signer(&self) -> eyre::Result<PrivateKeySigner> {
        let path = self.keystore.clone().ok_or_else(|| {
            eyre!("no key: pass --keystore FILE (or set SIDEBRIDGE_GOV_KEYSTORE)")
        })?;
        if let Ok(address) = keystore_address(&path) {
            eprintln!("unlocking keystore of {address}");
        }
        let password = match read_password(self.password.as_ref(), false) {
            Err(KeyError::NoPassword) => bail!(
                "no keystore password: pass --password env:NAME or file:/path (or set \
                 SIDEBRIDGE_GOV_PASSWORD), or run on a terminal to be asked"
            ),
            other => other?,
        };
        tokio::task::spawn_blocking(move || load_signer(&path, password.expose()))
            .await
            .wrap_err("unlocking the keystore")?
            .map_err(Into::into)
    }
}

/// Asks the person at the terminal to confirm `what`; `--yes` answers for scripts. Without a
/// terminal and without `--yes` nothing is signed.
pub(crate) fn confirm(what: &str, yes: bool) -> eyre::Result<()> {
    if yes {
        return Ok(());
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        bail!(
            "refusing to {what} without confirmation: stdin is not a terminal (pass --yes to \
             confirm in scripts)"
        );
    }
    eprint!("{what}? [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    if matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
        Ok(())
    } else {
        bail!("not confirmed: nothing was sent")
    }
}

/// Turns a failed call into a sentence naming the contract's custom error.
pub(crate) fn explain(context: &str, source: Source, err: alloy::contract::Error) -> eyre::Report {
    if let Some(data) = err.as_revert_data() {
        return match decode_revert(&data, source) {
            Some(e) => eyre!("{context}: reverted with {}: {}", e.name, e.detail),
            None => eyre!("{context}: reverted with unknown data {data}"),
        };
    }
    eyre!("{context}: {err}")
}

/// Waits for a sent transaction and requires success.
pub(crate) async fn mined(
    what: &str,
    pending: alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
) -> eyre::Result<TransactionReceipt> {
    let hash: B256 = *pending.tx_hash();
    eprintln!("{what}: sent {hash}, waiting for the receipt");
    let receipt = pending
        .get_receipt()
        .await
        .wrap_err_with(|| format!("{what}: waiting for {hash}"))?;
    if !receipt.status() {
        bail!("{what}: transaction {hash} reverted");
    }
    Ok(receipt)
}

/// The latest block's timestamp: the chain's clock, which is what ETAs are measured against.
pub(crate) async fn chain_time(provider: &DynProvider) -> eyre::Result<u64> {
    let block = provider
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await?
        .ok_or_else(|| eyre!("the chain has no latest block"))?;
    Ok(block.header.timestamp)
}
