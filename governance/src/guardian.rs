//! What a guardian does at once, with no proposal and no timelock: `pause` a bridge (or one
//! route of a hub), and
//! `hold` a queued (large) transfer so that it cannot execute until governance lifts the hold
//! or cancels it. Neither asks for confirmation: in an incident, seconds count. Both are
//! simulated first, so a key that is not a guardian gets the contract's reason, not a bill.

use alloy::{primitives::B256, signers::local::PrivateKeySigner};
use eyre::bail;
use serde_json::json;
use sidebridge_contracts::bindings::{MainBridge, MainHubAdmin};
use sidebridge_governance::revert::Source;

use crate::client::{GovChain, explain, mined};

async fn require_guardian(c: &GovChain, key: &PrivateKeySigner, what: &str) -> eyre::Result<()> {
    let me = key.address();
    let op = c.operational();
    if !op.isGuardian(me).call().await? && op.governance().call().await? != me {
        bail!(
            "not a guardian: {me} may not {what} on the {} chain",
            c.chain
        );
    }
    Ok(())
}

/// A guardian pauses at once.
pub(crate) async fn pause(
    chains: &[GovChain],
    key: &PrivateKeySigner,
    json: bool,
) -> eyre::Result<()> {
    let me = key.address();
    for c in chains {
        require_guardian(c, key, "pause").await?;
    }
    let mut out = Vec::new();
    for c in chains {
        let op = c.operational();
        let context = format!("pausing the {} chain", c.chain);
        if op.paused().call().await? {
            eprintln!("the {} chain's bridge is already paused", c.chain);
        } else {
            op.pause()
                .from(me)
                .call()
                .await
                .map_err(|e| explain(&context, Source::Operational, e))?;
            let pending = op
                .pause()
                .from(me)
                .send()
                .await
                .map_err(|e| explain(&context, Source::Operational, e))?;
            mined(&format!("pause on {}", c.chain), pending).await?;
        }
        out.push(c.chain.as_str());
    }
    if json {
        println!("{}", json!({ "paused": out }));
    } else {
        for chain in out {
            println!("{chain:<5} paused");
        }
    }
    Ok(())
}

/// A guardian pauses one route of the main chain's hub at once: nothing is released from it,
/// locked to it or forwarded from what was parked from it; the other routes run on.
pub(crate) async fn pause_route(
    c: &GovChain,
    key: &PrivateKeySigner,
    route: B256,
    json: bool,
) -> eyre::Result<()> {
    require_guardian(c, key, "pause routes").await?;
    let admin = MainHubAdmin::new(c.contracts.bridge, &c.provider);
    let context = format!("pausing route {route}");
    let state = admin
        .route(route)
        .call()
        .await
        .map_err(|e| explain(&context, Source::Bridge, e))?;
    if state.isPaused {
        eprintln!("route {route} is already paused");
    } else {
        let call = admin.pauseRoute(route).from(key.address());
        call.call()
            .await
            .map_err(|e| explain(&context, Source::Bridge, e))?;
        let pending = call
            .send()
            .await
            .map_err(|e| explain(&context, Source::Bridge, e))?;
        mined(&format!("pause route {route}"), pending).await?;
    }
    if json {
        println!("{}", json!({ "pausedRoute": route }));
    } else {
        println!("main  route {route} paused (governance unpauses it)");
    }
    Ok(())
}

/// A guardian holds a queued transfer on one chain's bridge at once.
pub(crate) async fn hold(
    c: &GovChain,
    key: &PrivateKeySigner,
    id: B256,
    json: bool,
) -> eyre::Result<()> {
    require_guardian(c, key, "hold transfers").await?;
    let bridge = MainBridge::new(c.contracts.bridge, &c.provider);
    let q = bridge.queuedTransfer(id).call().await?;
    if q.eta.is_zero() {
        bail!(
            "not queued: transfer {id} is not in the {} chain's queue",
            c.chain
        );
    }
    if q.held {
        eprintln!("transfer {id} is already held on the {} chain", c.chain);
    } else {
        let context = format!("holding {id} on the {} chain", c.chain);
        let call = bridge.holdTransfer(id).from(key.address());
        call.call()
            .await
            .map_err(|e| explain(&context, Source::Bridge, e))?;
        let pending = call
            .send()
            .await
            .map_err(|e| explain(&context, Source::Bridge, e))?;
        mined(&format!("hold on {}", c.chain), pending).await?;
    }
    if json {
        println!("{}", json!({ "held": id, "chain": c.chain.as_str() }));
    } else {
        println!(
            "{:<5} {id}  held (governance lifts the hold or cancels)",
            c.chain.as_str()
        );
    }
    Ok(())
}
