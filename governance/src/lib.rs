//! The pure core of `bridgectl`: governance actions encoded to and decoded from calldata. No
//! provider, no I/O. Token amounts and contract reverts in words are shared with the holder CLI
//! and live in `sidebridge-core`.

pub mod action;
pub mod route_action;
pub use sidebridge_core::{amount, revert};

use sidebridge_contracts::{ChainDeployment, Deployment, HubDeployment, TokenDeployment};

/// The deployment file `bridgectl deploy --json` writes, which the holder CLI
/// (`sidebridge --network FILE`) and operators read: each chain's contracts, its RPC URL, the
/// block searches for the bridge's events start at and, when known, how many confirmations the
/// relayers wait for; and the mapped tokens.
pub fn deployment_file(
    d: &Deployment,
    rpc_urls: [&str; 2],
    start_blocks: [u64; 2],
    confirmations: Option<u64>,
) -> serde_json::Value {
    serde_json::json!({
        "main": chain_json(&d.main, rpc_urls[0], start_blocks[0], confirmations),
        "side": chain_json(&d.side, rpc_urls[1], start_blocks[1], confirmations),
        "tokens": tokens_json(&d.tokens),
    })
}

/// One side chain of a hub deployment as [`hub_deployment_file`] lists it.
#[derive(Debug, Clone, Copy)]
pub struct SideFile<'a> {
    /// The name holders give it (`sidebridge --to NAME`).
    pub name: &'a str,
    pub rpc_url: &'a str,
    pub start_block: u64,
}

/// The deployment file of a hub with many side chains: `"hub": true`, the main chain (the
/// hub's address as its bridge) and per side chain its name, contracts, route id and wrapped
/// tokens. The holder CLI picks a side chain by name.
pub fn hub_deployment_file(
    d: &HubDeployment,
    main: (&str, u64),
    sides: &[SideFile<'_>],
    confirmations: Option<u64>,
) -> serde_json::Value {
    let routes: Vec<serde_json::Value> = d
        .routes
        .iter()
        .zip(sides)
        .map(|(r, s)| {
            serde_json::json!({
                "name": s.name,
                "route": r.id,
                "chain": chain_json(&r.side, s.rpc_url, s.start_block, confirmations),
                "tokens": tokens_json(&r.tokens),
            })
        })
        .collect();
    serde_json::json!({
        "hub": true,
        "main": chain_json(&d.main, main.0, main.1, confirmations),
        "sides": routes,
    })
}

fn chain_json(
    c: &ChainDeployment,
    rpc_url: &str,
    start_block: u64,
    confirmations: Option<u64>,
) -> serde_json::Value {
    let mut v = serde_json::json!({
        "chainId": c.chain_id,
        "governance": c.governance,
        "operational": c.operational,
        "bridge": c.bridge,
        "rpcUrl": rpc_url,
        "startBlock": start_block,
    });
    if let Some(n) = confirmations {
        v["confirmations"] = n.into();
    }
    v
}

fn tokens_json(tokens: &[TokenDeployment]) -> Vec<serde_json::Value> {
    tokens
        .iter()
        .map(|t| {
            serde_json::json!({
                "symbol": t.symbol,
                "decimals": t.decimals,
                "mainToken": t.main_token,
                "wrappedToken": t.wrapped_token,
            })
        })
        .collect()
}
