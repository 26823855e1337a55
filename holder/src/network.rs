//! Where the bridge is: a deployment file (the JSON `bridgectl deploy --json` writes, which
//! `ops/devnet` keeps as `.devnet/deployment.json`) chosen by a preset name or a path, with RPC
//! URLs from the file or from flags. A holder names tokens by symbol (`DEMO`, `wDEMO`) or
//! address; everything else is read from the file or the chain.

use std::path::{Path, PathBuf};

use alloy::{
    primitives::Address,
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use eyre::{WrapErr, bail, eyre};
use serde::Deserialize;
use sidebridge_core::domain::Chain;

/// Confirmations assumed when the deployment file does not say how deep relayers wait.
pub(crate) const DEFAULT_CONFIRMATIONS: u64 = 12;

/// One chain as the deployment file describes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ChainInfo {
    pub(crate) chain_id: u64,
    /// Listed in the file; holders never talk to governance.
    #[allow(dead_code)]
    pub(crate) governance: Address,
    pub(crate) operational: Address,
    pub(crate) bridge: Address,
    /// JSON-RPC URL (flags override it).
    #[serde(default)]
    pub(crate) rpc_url: Option<String>,
    /// The block the bridge was deployed in: searches for events start there.
    #[serde(default)]
    pub(crate) start_block: u64,
    /// How deep relayers wait before they act on a source event.
    #[serde(default)]
    pub(crate) confirmations: Option<u64>,
}

/// A mapped token pair.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct TokenInfo {
    pub(crate) symbol: String,
    pub(crate) decimals: u8,
    pub(crate) main_token: Address,
    pub(crate) wrapped_token: Address,
}

/// The deployment file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Deployment {
    pub(crate) main: ChainInfo,
    pub(crate) side: ChainInfo,
    #[serde(default)]
    pub(crate) tokens: Vec<TokenInfo>,
    /// A transfer index serving this deployment, shown to holders.
    #[serde(default)]
    pub(crate) index_url: Option<String>,
}

impl Deployment {
    /// Reads and checks a deployment file.
    pub(crate) fn load(path: &Path) -> eyre::Result<Self> {
        let text = std::fs::read_to_string(path)
            .wrap_err_with(|| format!("reading the deployment file {}", path.display()))?;
        let d: Deployment = serde_json::from_str(&text)
            .wrap_err_with(|| format!("{} is not a Sidebridge deployment file", path.display()))?;
        if d.main.chain_id == d.side.chain_id {
            bail!(
                "{}: main and side have the same chain id {}",
                path.display(),
                d.main.chain_id
            );
        }
        Ok(d)
    }

    pub(crate) fn chain(&self, chain: Chain) -> &ChainInfo {
        match chain {
            Chain::Main => &self.main,
            Chain::Side => &self.side,
        }
    }

    pub(crate) fn confirmations(&self, chain: Chain) -> u64 {
        self.chain(chain)
            .confirmations
            .unwrap_or(DEFAULT_CONFIRMATIONS)
    }

    /// The token pair `name` is a side of: a symbol (`DEMO` or `wDEMO`, any case) or either
    /// address. `None` for a name the file does not list (an address may still be bridgeable:
    /// the chain decides).
    pub(crate) fn token(&self, name: &str) -> Option<&TokenInfo> {
        if let Ok(address) = name.parse::<Address>() {
            return self
                .tokens
                .iter()
                .find(|t| t.main_token == address || t.wrapped_token == address);
        }
        self.tokens.iter().find(|t| {
            t.symbol.eq_ignore_ascii_case(name)
                || format!("w{}", t.symbol).eq_ignore_ascii_case(name)
        })
    }

    /// The symbol a main-chain token goes by, or its address.
    pub(crate) fn symbol_of(&self, main_token: Address) -> String {
        self.tokens
            .iter()
            .find(|t| t.main_token == main_token)
            .map(|t| t.symbol.clone())
            .unwrap_or_else(|| main_token.to_string())
    }
}

/// A named network: where its deployment file is and the RPC URLs it falls back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Preset {
    pub(crate) deployment: PathBuf,
    pub(crate) main_rpc: Option<String>,
    pub(crate) side_rpc: Option<String>,
}

/// `devnet` is the local network `ops/devnet` runs (its files in `$DEVNET_DIR`, by default
/// `.devnet` in the current directory); anything else is the path of a deployment file.
pub(crate) fn preset(network: &str) -> Preset {
    if network == "devnet" {
        let dir = std::env::var_os("DEVNET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(".devnet"));
        return Preset {
            deployment: dir.join("deployment.json"),
            main_rpc: Some("http://127.0.0.1:8545".into()),
            side_rpc: Some("http://127.0.0.1:8546".into()),
        };
    }
    Preset {
        deployment: PathBuf::from(network),
        main_rpc: None,
        side_rpc: None,
    }
}

/// Both chains, connected and checked to be the chains the deployment names.
#[derive(Debug, Clone)]
pub(crate) struct Net {
    pub(crate) deployment: Deployment,
    pub(crate) main: DynProvider,
    pub(crate) side: DynProvider,
}

impl Net {
    pub(crate) fn provider(&self, chain: Chain) -> &DynProvider {
        match chain {
            Chain::Main => &self.main,
            Chain::Side => &self.side,
        }
    }

    pub(crate) fn info(&self, chain: Chain) -> &ChainInfo {
        self.deployment.chain(chain)
    }
}

/// Connects to both chains (signing with `wallet` when given) and checks each serves the chain
/// id the deployment names.
pub(crate) async fn connect(
    deployment: Deployment,
    preset: &Preset,
    rpc_flags: [Option<String>; 2],
    wallet: Option<&PrivateKeySigner>,
) -> eyre::Result<Net> {
    let [main_flag, side_flag] = rpc_flags;
    let mut providers = Vec::with_capacity(2);
    for (chain, flag, fallback) in [
        (Chain::Main, main_flag, &preset.main_rpc),
        (Chain::Side, side_flag, &preset.side_rpc),
    ] {
        let info = deployment.chain(chain);
        let url = flag
            .or_else(|| info.rpc_url.clone())
            .or_else(|| fallback.clone())
            .ok_or_else(|| {
                eyre!(
                    "no RPC URL for the {chain} chain: pass --{chain}-rpc or put rpcUrl in the deployment file"
                )
            })?;
        let builder = ProviderBuilder::new();
        let provider = match wallet {
            Some(key) => builder
                .wallet(key.clone())
                .connect(&url)
                .await
                .map(|p| p.erased()),
            None => builder.connect(&url).await.map(|p| p.erased()),
        }
        .wrap_err_with(|| format!("connecting to the {chain} chain at {url}"))?;
        let id = provider
            .get_chain_id()
            .await
            .wrap_err_with(|| format!("the {chain} chain's RPC at {url} does not answer"))?;
        if id != info.chain_id {
            bail!(
                "wrong chain: {url} serves chain id {id}, the deployment's {chain} chain is {}",
                info.chain_id
            );
        }
        providers.push(provider);
    }
    let side = providers.pop().expect("two providers were pushed");
    let main = providers.pop().expect("two providers were pushed");
    Ok(Net {
        deployment,
        main,
        side,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"{
      "main": {"chainId": 31337, "governance": "0x0000000000000000000000000000000000000001",
               "operational": "0x0000000000000000000000000000000000000002",
               "bridge": "0x0000000000000000000000000000000000000003",
               "rpcUrl": "http://127.0.0.1:8545", "startBlock": 4, "confirmations": 2},
      "side": {"chainId": 31338, "governance": "0x0000000000000000000000000000000000000011",
               "operational": "0x0000000000000000000000000000000000000012",
               "bridge": "0x0000000000000000000000000000000000000013"},
      "tokens": [{"symbol": "DEMO", "decimals": 18,
                  "mainToken": "0x00000000000000000000000000000000000000aa",
                  "wrappedToken": "0x00000000000000000000000000000000000000bb"}]
    }"#;

    #[test]
    fn tokens_are_found_by_symbol_wrapped_symbol_or_address() {
        let d: Deployment = serde_json::from_str(FILE).expect("valid file");
        assert_eq!(d.token("demo").map(|t| t.decimals), Some(18));
        assert_eq!(d.token("wDEMO").map(|t| t.symbol.as_str()), Some("DEMO"));
        assert!(
            d.token("0x00000000000000000000000000000000000000bb")
                .is_some()
        );
        assert!(d.token("USDC").is_none());
        assert_eq!(d.confirmations(Chain::Main), 2);
        assert_eq!(d.confirmations(Chain::Side), DEFAULT_CONFIRMATIONS);
    }

    #[test]
    fn an_unknown_field_is_an_error_naming_it() {
        let bad = FILE.replace("\"startBlock\"", "\"startblock\"");
        let err = serde_json::from_str::<Deployment>(&bad).expect_err("an unknown field");
        assert!(err.to_string().contains("startblock"), "{err}");
    }

    #[test]
    fn devnet_is_a_preset_and_anything_else_a_path() {
        assert_eq!(
            preset("devnet").main_rpc.as_deref(),
            Some("http://127.0.0.1:8545")
        );
        assert_eq!(
            preset("/etc/net.json").deployment,
            PathBuf::from("/etc/net.json")
        );
    }
}
