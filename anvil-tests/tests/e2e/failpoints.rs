//! Every relayer crashes (aborts, as `kill -9` would stop it) at one step of its work while
//! transfers are in flight, and starts again: nothing lost, nothing paid twice, no account nonce
//! settled twice, and each ledger still matches its account's balance to the wei. The points
//! are in `relayer/src/failpoint.rs`; a debug build arms one with `SIDEBRIDGE_FAILPOINT`.

use std::time::Duration;

use alloy::primitives::Address;
use sidebridge_anvil_tests::{await_until, relayers::NodeOptions};

use crate::relay::{Bridge, tokens};

/// What is sent while the relayers are armed.
enum Phase {
    Deposits(usize),
    Withdrawals(usize, Address),
}

/// Arms `point` on every node, sends `phase`, waits until every node crashed there, and starts
/// them again unarmed.
async fn crash_everyone_at(bridge: &mut Bridge, point: &str, phase: Phase) -> eyre::Result<()> {
    for node in &mut bridge.nodes {
        node.stop().await?;
        node.env = vec![("SIDEBRIDGE_FAILPOINT".into(), point.into())];
    }
    bridge.start_nodes().await?;
    match phase {
        Phase::Deposits(n) => bridge.deposit_many(n, tokens(1)).await?,
        Phase::Withdrawals(n, to) => bridge.withdraw_many(n, tokens(1), to).await?,
    }
    let said = format!("failpoint {point}: aborting");
    for node in &mut bridge.nodes {
        await_until(
            Duration::from_secs(60),
            "the relayer to crash at the point",
            || async { Ok(node.log().contains(&said).then_some(())) },
        )
        .await
        .map_err(|e| e.wrap_err(format!("log:\n{}", node.log())))?;
        node.kill().await?; // reaps what aborted
        node.env.clear();
    }
    bridge.start_nodes().await
}

async fn crash_at(point: &str, deposits_too: bool) -> eyre::Result<()> {
    let n = 50;
    let mut bridge = Bridge::start(3, 2, NodeOptions::default()).await?;
    let user = bridge.user.address();
    if deposits_too {
        crash_everyone_at(&mut bridge, point, Phase::Deposits(n)).await?;
    } else {
        bridge.start_nodes().await?;
        bridge.deposit_many(n, tokens(1)).await?;
    }
    bridge
        .await_wrapped(user, tokens(n as u64), Duration::from_secs(180))
        .await?;

    let recipient = Address::repeat_byte(0xF9);
    crash_everyone_at(&mut bridge, point, Phase::Withdrawals(n, recipient)).await?;
    bridge
        .await_main(recipient, tokens(n as u64), Duration::from_secs(180))
        .await?;

    bridge.assert_landed_once(n, n).await?;
    bridge
        .await_all_completed(2 * n as i64, Duration::from_secs(60))
        .await?;
    bridge.stop_all().await?;
    bridge.assert_settled_once_and_reconciled().await
}

/// Withdrawals signed, the transaction not queued yet: signed again after the restart (a
/// signature is deterministic, so the same one), published once.
#[tokio::test(flavor = "multi_thread")]
async fn crash_after_signing() -> eyre::Result<()> {
    crash_at("after_sign", false).await
}

/// The attempt is in the database, not yet broadcast: the restart broadcasts it.
#[tokio::test(flavor = "multi_thread")]
async fn crash_after_persisting_before_broadcast() -> eyre::Result<()> {
    crash_at("after_persist", true).await
}

/// The node has the transaction, nothing else is recorded: the restart follows it.
#[tokio::test(flavor = "multi_thread")]
async fn crash_after_broadcast() -> eyre::Result<()> {
    crash_at("after_broadcast", true).await
}

/// The receipt was read, not charged: the restart reads it again and charges it once.
#[tokio::test(flavor = "multi_thread")]
async fn crash_after_the_receipt_before_the_commit() -> eyre::Result<()> {
    crash_at("after_receipt", true).await
}
