//! Validators stopping, coming back, and every relayer crashing mid-flight.

use std::time::Duration;

use alloy::{signers::local::PrivateKeySigner, sol_types::SolEvent};
use sidebridge_anvil_tests::relayers::{Backend, NodeOptions};
use sidebridge_contracts::bindings::SideBridge;

use crate::relay::{Bridge, tokens};

async fn one_down_then_two_down(backend: Backend) -> eyre::Result<()> {
    let mut bridge = Bridge::start(
        4,
        3,
        NodeOptions {
            backend,
            ..NodeOptions::default()
        },
    )
    .await?;
    bridge.start_nodes().await?;
    let user = bridge.user.address();

    // one of four stopped: threshold 3 is still met
    assert_eq!(bridge.nodes[0].stop().await?, Some(0));
    bridge.deposit_many(5, tokens(1)).await?;
    bridge
        .await_wrapped(user, tokens(5), Duration::from_secs(120))
        .await?;
    let recipient = PrivateKeySigner::random().address();
    bridge.withdraw_many(5, tokens(1), recipient).await?;
    bridge
        .await_main(recipient, tokens(5), Duration::from_secs(120))
        .await?;

    // two stopped: nothing can land
    assert_eq!(bridge.nodes[1].stop().await?, Some(0));
    bridge.deposit_many(3, tokens(1)).await?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(bridge.wrapped_balance(user).await?, tokens(0));

    // one returns: the waiting deposits land, once
    bridge.nodes[1].start().await?;
    bridge
        .await_wrapped(user, tokens(3), Duration::from_secs(120))
        .await?;
    assert_eq!(
        bridge
            .count_events(false, SideBridge::DepositExecuted::SIGNATURE_HASH)
            .await?,
        8
    );
    bridge.nodes[0].start().await?;
    bridge
        .await_all_completed(13, Duration::from_secs(60))
        .await?;
    bridge.stop_all().await?;
    bridge.assert_ledgers_reconcile().await
}

#[tokio::test(flavor = "multi_thread")]
async fn stopped_validators_sqlite() -> eyre::Result<()> {
    one_down_then_two_down(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread")]
async fn stopped_validators_postgres() -> eyre::Result<()> {
    if !sidebridge_anvil_tests::relayers::postgres_enabled() {
        return Ok(());
    }
    one_down_then_two_down(Backend::Postgres).await
}

async fn killed_mid_flight(backend: Backend) -> eyre::Result<()> {
    let mut bridge = Bridge::start(
        4,
        3,
        NodeOptions {
            backend,
            ..NodeOptions::default()
        },
    )
    .await?;
    bridge.start_nodes().await?;
    let user = bridge.user.address();
    let n = 30;

    // pull the plug on every relayer at once while transfers stream in and are being relayed
    let pids: Vec<u32> = bridge.nodes.iter().filter_map(|node| node.pid()).collect();
    let (deposited, ()) = tokio::join!(bridge.deposit_many(n, tokens(1)), kill_after(&pids, 700));
    deposited?;
    for node in &mut bridge.nodes {
        node.kill().await?;
    }
    bridge.start_nodes().await?;
    bridge
        .await_wrapped(user, tokens(n as u64), Duration::from_secs(180))
        .await?;

    let recipient = PrivateKeySigner::random().address();
    let pids: Vec<u32> = bridge.nodes.iter().filter_map(|node| node.pid()).collect();
    let (withdrawn, ()) = tokio::join!(
        bridge.withdraw_many(n, tokens(1), recipient),
        kill_after(&pids, 1_200)
    );
    withdrawn?;
    for node in &mut bridge.nodes {
        node.kill().await?;
    }
    bridge.start_nodes().await?;
    bridge
        .await_main(recipient, tokens(n as u64), Duration::from_secs(240))
        .await?;

    // nothing lost, nothing paid twice
    bridge.assert_landed_once(n, n).await?;
    assert_eq!(bridge.main_balance(recipient).await?, tokens(n as u64));
    bridge
        .await_all_completed(2 * n as i64, Duration::from_secs(60))
        .await?;
    bridge.stop_all().await?;
    bridge.assert_ledgers_reconcile().await
}

/// SIGKILL to every pid after `millis`.
async fn kill_after(pids: &[u32], millis: u64) {
    tokio::time::sleep(Duration::from_millis(millis)).await;
    for pid in pids {
        let _ = std::process::Command::new("kill")
            .arg("-KILL")
            .arg(pid.to_string())
            .status();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_relayer_killed_and_restarted_sqlite() -> eyre::Result<()> {
    killed_mid_flight(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread")]
async fn every_relayer_killed_and_restarted_postgres() -> eyre::Result<()> {
    if !sidebridge_anvil_tests::relayers::postgres_enabled() {
        return Ok(());
    }
    killed_mid_flight(Backend::Postgres).await
}
