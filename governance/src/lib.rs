//! The pure core of `bridgectl`: governance actions encoded to and decoded from calldata. No
//! provider, no I/O. Token amounts and contract reverts in words are shared with the holder CLI
//! and live in `sidebridge-core`.

pub mod action;
pub mod route_action;
pub use sidebridge_core::{amount, revert};

use sidebridge_contracts::{ChainDeployment, Deployment};

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
    let chain = |c: &ChainDeployment, i: usize| {
        let mut v = serde_json::json!({
            "chainId": c.chain_id,
            "governance": c.governance,
            "operational": c.operational,
            "bridge": c.bridge,
            "rpcUrl": rpc_urls[i],
            "startBlock": start_blocks[i],
        });
        if let Some(n) = confirmations {
            v["confirmations"] = n.into();
        }
        v
    };
    serde_json::json!({
        "main": chain(&d.main, 0),
        "side": chain(&d.side, 1),
        "tokens": d.tokens.iter().map(|t| serde_json::json!({
            "symbol": t.symbol,
            "decimals": t.decimals,
            "mainToken": t.main_token,
            "wrappedToken": t.wrapped_token,
        })).collect::<Vec<_>>(),
    })
}
