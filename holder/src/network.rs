//! Where the bridge is: a deployment file (the JSON `bridgectl deploy --json` writes, which
//! `ops/devnet` keeps as `.devnet/deployment.json`) chosen by a preset name or a path, with RPC
//! URLs from the file or from flags. A holder names tokens by symbol (`DEMO`, `wDEMO`) or
//! address, and, on a hub with many side chains, the side chains by name (`--to a`);
//! everything else is read from the file or the chain.
//!
//! A command works on one *route*: the main chain and one side chain ([`Deployment`], picked
//! from the file's [`Network`]). On a hub every route shares the main chain's providers.

use std::path::{Path, PathBuf};

use alloy::{
    primitives::{Address, B256},
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

/// One side chain of a hub deployment file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SideFile {
    name: String,
    route: B256,
    chain: ChainInfo,
    #[serde(default)]
    tokens: Vec<TokenInfo>,
}

/// The deployment file as written: one side chain (`side`, `tokens`) or a hub's many
/// (`"hub": true`, `sides`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct File {
    #[serde(default)]
    hub: bool,
    main: ChainInfo,
    #[serde(default)]
    side: Option<ChainInfo>,
    #[serde(default)]
    sides: Vec<SideFile>,
    #[serde(default)]
    tokens: Vec<TokenInfo>,
    #[serde(default)]
    index_url: Option<String>,
}

/// One side chain of the network: its name, its route on the hub (none on a one-route
/// deployment), its contracts and its wrapped tokens.
#[derive(Debug, Clone)]
pub(crate) struct Side {
    pub(crate) name: String,
    pub(crate) route: Option<B256>,
    pub(crate) chain: ChainInfo,
    pub(crate) tokens: Vec<TokenInfo>,
}

/// Everything a deployment file describes: the main chain and every side chain.
#[derive(Debug, Clone)]
pub(crate) struct Network {
    pub(crate) main: ChainInfo,
    pub(crate) hub: bool,
    pub(crate) sides: Vec<Side>,
    pub(crate) index_url: Option<String>,
}

/// The name a one-route deployment's side chain goes by.
pub(crate) const SIDE: &str = "side";

impl Network {
    /// Reads and checks a deployment file.
    pub(crate) fn load(path: &Path) -> eyre::Result<Self> {
        let text = std::fs::read_to_string(path)
            .wrap_err_with(|| format!("reading the deployment file {}", path.display()))?;
        Self::parse(&text)
            .wrap_err_with(|| format!("{} is not a Sidebridge deployment file", path.display()))
    }

    fn parse(text: &str) -> eyre::Result<Self> {
        let f: File = serde_json::from_str(text)?;
        let sides = match (f.hub, f.side) {
            (false, Some(chain)) if f.sides.is_empty() => vec![Side {
                name: SIDE.into(),
                route: None,
                chain,
                tokens: f.tokens,
            }],
            (true, None) if !f.sides.is_empty() && f.tokens.is_empty() => f
                .sides
                .into_iter()
                .map(|s| Side {
                    name: s.name,
                    route: Some(s.route),
                    chain: s.chain,
                    tokens: s.tokens,
                })
                .collect(),
            _ => bail!(
                "a deployment lists one \"side\" with its \"tokens\", or (\"hub\": true) its \"sides\""
            ),
        };
        let mut chain_ids = vec![f.main.chain_id];
        for (i, side) in sides.iter().enumerate() {
            if chain_ids.contains(&side.chain.chain_id) {
                bail!(
                    "side chain {} has chain id {}, as the main chain or another side chain",
                    side.name,
                    side.chain.chain_id
                );
            }
            chain_ids.push(side.chain.chain_id);
            // names are matched in any case: two that differ only in case are one name
            if side.name.eq_ignore_ascii_case("main")
                || sides[..i]
                    .iter()
                    .any(|s| s.name.eq_ignore_ascii_case(&side.name))
            {
                bail!("side chain name {:?} is \"main\" or used twice", side.name);
            }
            if let Some(route) = side.route {
                let expected =
                    sidebridge_contracts::route_id(side.chain.chain_id, side.chain.bridge);
                if route != expected {
                    bail!(
                        "side chain {}: route {route} is not its chain and bridge's ({expected})",
                        side.name
                    );
                }
            }
        }
        Ok(Self {
            main: f.main,
            hub: f.hub,
            sides,
            index_url: f.index_url,
        })
    }

    pub(crate) fn names(&self) -> String {
        self.sides
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The route to side chain `name` (`None`: the only one there is).
    pub(crate) fn route(&self, name: Option<&str>) -> eyre::Result<Deployment> {
        let side = match name {
            Some(name) => self
                .sides
                .iter()
                .find(|s| s.name.eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    eyre!(
                        "unknown chain {name:?}: this network has main and {}",
                        self.names()
                    )
                })?,
            None if self.sides.len() == 1 => &self.sides[0],
            None => bail!(
                "this network has many side chains ({}): name one with --from or --to",
                self.names()
            ),
        };
        Ok(Deployment {
            main: self.main.clone(),
            side: side.chain.clone(),
            side_name: side.name.clone(),
            route: side.route,
            tokens: side.tokens.clone(),
            index_url: self.index_url.clone(),
        })
    }
}

/// One route: the main chain and one side chain, with the side chain's tokens.
#[derive(Debug, Clone)]
pub(crate) struct Deployment {
    pub(crate) main: ChainInfo,
    pub(crate) side: ChainInfo,
    pub(crate) side_name: String,
    /// The side chain's route on the main chain's hub; `None` with a one-route `MainBridge`.
    pub(crate) route: Option<B256>,
    pub(crate) tokens: Vec<TokenInfo>,
    /// A transfer index serving this deployment, shown to holders.
    pub(crate) index_url: Option<String>,
}

impl Deployment {
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

/// Where the RPC URLs come from when the deployment file has none: flags, then the preset.
#[derive(Debug, Clone)]
pub(crate) struct Endpoints {
    pub(crate) preset: Preset,
    pub(crate) main_rpc: Option<String>,
    /// Applies to the one side chain a command names (or the only one).
    pub(crate) side_rpc: Option<String>,
}

/// A provider for `url` (signing with `wallet` when given), checked to serve `chain_id`.
async fn open(
    url: &str,
    wallet: Option<&PrivateKeySigner>,
    what: &str,
    chain_id: u64,
) -> eyre::Result<DynProvider> {
    let builder = ProviderBuilder::new();
    let provider = match wallet {
        Some(key) => builder
            .wallet(key.clone())
            .connect(url)
            .await
            .map(|p| p.erased()),
        None => builder.connect(url).await.map(|p| p.erased()),
    }
    .wrap_err_with(|| format!("connecting to the {what} chain at {url}"))?;
    let id = provider
        .get_chain_id()
        .await
        .wrap_err_with(|| format!("the {what} chain's RPC at {url} does not answer"))?;
    if id != chain_id {
        bail!(
            "wrong chain: {url} serves chain id {id}, the deployment's {what} chain is {chain_id}"
        );
    }
    Ok(provider)
}

/// The main chain, connected and checked.
pub(crate) async fn connect_main(
    network: &Network,
    endpoints: &Endpoints,
    wallet: Option<&PrivateKeySigner>,
) -> eyre::Result<DynProvider> {
    let url = endpoints
        .main_rpc
        .clone()
        .or_else(|| network.main.rpc_url.clone())
        .or_else(|| endpoints.preset.main_rpc.clone())
        .ok_or_else(|| {
            eyre!("no RPC URL for the main chain: pass --main-rpc or put rpcUrl in the deployment file")
        })?;
    open(&url, wallet, "main", network.main.chain_id).await
}

/// One route: the main chain's provider and its side chain, connected and checked to serve
/// the chain id the deployment names. `--side-rpc` applies when `one_side` (the command names
/// one side chain).
pub(crate) async fn connect(
    deployment: Deployment,
    main: DynProvider,
    endpoints: &Endpoints,
    one_side: bool,
    wallet: Option<&PrivateKeySigner>,
) -> eyre::Result<Net> {
    let flag = endpoints.side_rpc.clone().filter(|_| one_side);
    let fallback = endpoints
        .preset
        .side_rpc
        .clone()
        .filter(|_| deployment.route.is_none());
    let name = deployment.side_name.clone();
    let url = flag
        .or_else(|| deployment.side.rpc_url.clone())
        .or(fallback)
        .ok_or_else(|| {
            eyre!("no RPC URL for side chain {name}: pass --side-rpc or put rpcUrl in the deployment file")
        })?;
    let what = if deployment.route.is_some() {
        format!("side chain {name}")
    } else {
        "side".to_string()
    };
    let side = open(&url, wallet, &what, deployment.side.chain_id).await?;
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
        let d = Network::parse(FILE)
            .expect("valid file")
            .route(None)
            .expect("the one side");
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
        let err = Network::parse(&bad).expect_err("an unknown field");
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

    fn hub_file(route_b: &str) -> String {
        let route = |id: u64, bridge: &str| {
            sidebridge_contracts::route_id(id, bridge.parse().expect("address")).to_string()
        };
        let a = route(100, "0x00000000000000000000000000000000000000a3");
        let b = if route_b.is_empty() {
            route(200, "0x00000000000000000000000000000000000000b3")
        } else {
            route_b.to_string()
        };
        format!(
            r#"{{"hub": true,
          "main": {{"chainId": 1, "governance": "0x0000000000000000000000000000000000000001",
                   "operational": "0x0000000000000000000000000000000000000002",
                   "bridge": "0x0000000000000000000000000000000000000003"}},
          "sides": [
            {{"name": "alpha", "route": "{a}",
             "chain": {{"chainId": 100, "governance": "0x00000000000000000000000000000000000000a1",
                       "operational": "0x00000000000000000000000000000000000000a2",
                       "bridge": "0x00000000000000000000000000000000000000a3"}}}},
            {{"name": "beta", "route": "{b}",
             "chain": {{"chainId": 200, "governance": "0x00000000000000000000000000000000000000b1",
                       "operational": "0x00000000000000000000000000000000000000b2",
                       "bridge": "0x00000000000000000000000000000000000000b3"}}}}
          ]}}"#
        )
    }

    #[test]
    fn a_hub_file_names_each_side_chain_and_a_command_picks_one() {
        let n = Network::parse(&hub_file("")).expect("valid hub file");
        assert!(n.hub);
        let beta = n.route(Some("BETA")).expect("by name, any case");
        assert_eq!(beta.side.chain_id, 200);
        assert_eq!(beta.side_name, "beta");
        assert!(beta.route.is_some());
        let err = n.route(None).expect_err("which one?").to_string();
        assert!(err.contains("alpha, beta"), "{err}");
        let err = n.route(Some("gamma")).expect_err("unknown").to_string();
        assert!(err.contains("unknown chain \"gamma\""), "{err}");
    }

    /// A route id that is not its chain's and bridge's would point every hub query at another
    /// route's books: refused on load.
    #[test]
    fn a_hub_file_whose_route_is_not_its_bridge_is_refused() {
        let other = format!("{}", B256::repeat_byte(7));
        let err = Network::parse(&hub_file(&other)).expect_err("forged route");
        assert!(
            err.to_string().contains("is not its chain and bridge's"),
            "{err}"
        );
        let mixed = FILE.replacen('{', r#"{"hub": true, "#, 1);
        let err = Network::parse(&mixed).expect_err("hub without sides");
        assert!(err.to_string().contains("one \"side\""), "{err}");
    }
}
