//! Two nodes per validator (`[ha]`): the validator whose votes every transfer needs runs two
//! `relayer run` processes with one key and one PostgreSQL database. One acts, the other stands
//! by; killing the active one with `kill -9` mid-flight (once per direction) hands over within
//! `takeover_secs`, and nothing is lost, paid twice or sent under a reused nonce.

use std::time::{Duration, Instant};

use alloy::signers::local::PrivateKeySigner;
use sidebridge_anvil_tests::{
    await_until,
    relayers::{Backend, NodeOptions, RelayerNode, http_get, metric, postgres_enabled},
    tcp_proxy::TcpProxy,
};

use crate::relay::{Bridge, tokens};

const TAKEOVER_SECS: u64 = 6;

/// Which of the running nodes acts: exactly one says `sidebridge_active 1`, every other
/// running one 0 and "standby" on /readyz.
async fn the_active_one(pair: &[RelayerNode]) -> eyre::Result<usize> {
    await_until(
        Duration::from_secs(30),
        "exactly one active node",
        || async {
            let mut active = Vec::new();
            for (i, node) in pair.iter().enumerate().filter(|(_, n)| n.is_running()) {
                let v = metric(node.http_port, "sidebridge_active").await;
                if v == 1.0 {
                    active.push(i);
                } else if v != 0.0 {
                    return Ok(None);
                }
            }
            Ok((active.len() == 1).then(|| active[0]))
        },
    )
    .await?;
    let mut active = None;
    for (i, node) in pair.iter().enumerate().filter(|(_, n)| n.is_running()) {
        if metric(node.http_port, "sidebridge_active").await == 1.0 {
            eyre::ensure!(active.is_none(), "two active nodes");
            active = Some(i);
        } else {
            let (code, body) = http_get(node.http_port, "/readyz").await;
            eyre::ensure!(
                code == 503 && body.contains("standby"),
                "standby /readyz: {code} {body}"
            );
        }
    }
    active.ok_or_else(|| eyre::eyre!("the active node went away"))
}

/// `kill -9` the active node; the other must act within the takeover time.
async fn kill_the_active(pair: &mut [RelayerNode]) -> eyre::Result<()> {
    let active = the_active_one(pair).await?;
    pair[active].kill().await?;
    let killed = Instant::now();
    let standby = 1 - active;
    let port = pair[standby].http_port;
    await_until(
        Duration::from_secs(TAKEOVER_SECS),
        "the standby to take over",
        || async { Ok((metric(port, "sidebridge_active").await == 1.0).then_some(())) },
    )
    .await
    .map_err(|e| e.wrap_err(pair[standby].log()))?;
    eprintln!("took over {:?} after the kill", killed.elapsed());
    Ok(())
}

/// Two validators whose votes are both needed (nothing lands unless validator 0's pair acts),
/// validator 0 with two nodes on one PostgreSQL database (neither started): the bridge with
/// the other node, the pair, and the directory the twin lives in. `None` without PostgreSQL.
async fn validator_with_two_nodes()
-> eyre::Result<Option<(Bridge, Vec<RelayerNode>, tempfile::TempDir)>> {
    if !postgres_enabled() {
        return Ok(None);
    }
    let options = NodeOptions {
        backend: Backend::Postgres,
        ha_takeover_secs: Some(TAKEOVER_SECS),
        ..NodeOptions::default()
    };
    let mut bridge = Bridge::start(2, 2, options).await?;
    let dir = tempfile::tempdir()?;
    let twin = bridge.nodes[0].twin(&dir.path().join("v0-twin"))?;
    let pair = vec![bridge.nodes.remove(0), twin];
    Ok(Some((bridge, pair, dir)))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_standby_takes_over_from_a_killed_active_node() -> eyre::Result<()> {
    let Some((mut bridge, mut pair, _dir)) = validator_with_two_nodes().await? else {
        return Ok(());
    };
    for node in &mut pair {
        node.start().await?;
    }
    bridge.start_nodes().await?;
    the_active_one(&pair).await?;

    let n = 50;
    let half = n / 2;
    bridge.deposit_many(half, tokens(1)).await?;
    let (sent, killed) = tokio::join!(
        bridge.deposit_many(n - half, tokens(1)),
        kill_the_active(&mut pair)
    );
    sent?;
    killed?;
    bridge
        .await_user_minted(n, Duration::from_secs(180))
        .await?;

    // the killed one comes back as the standby; then the other is killed mid-withdrawals
    for node in &mut pair {
        if !node.is_running() {
            node.start().await?;
        }
    }
    the_active_one(&pair).await?;
    let recipient = PrivateKeySigner::random().address();
    bridge.withdraw_many(half, tokens(1), recipient).await?;
    let (sent, killed) = tokio::join!(
        bridge.withdraw_many(n - half, tokens(1), recipient),
        kill_the_active(&mut pair)
    );
    sent?;
    killed?;
    bridge
        .await_main(recipient, tokens(n as u64), Duration::from_secs(300))
        .await?;

    bridge.assert_landed_once(n, n).await?;
    let mut twin = pair.remove(1);
    bridge.nodes.insert(0, pair.remove(0));
    bridge
        .await_all_completed(2 * n as i64, Duration::from_secs(60))
        .await?;
    if twin.is_running() {
        let code = twin.stop().await?;
        eyre::ensure!(code == Some(0), "twin exited with {code:?}\n{}", twin.log());
    }
    if !bridge.nodes[0].is_running() {
        // killed last: started again so that stop_all sees a clean exit
        bridge.nodes[0].start().await?;
    }
    bridge.stop_all().await?;
    bridge.assert_settled_once_and_reconciled().await
}

/// The active node loses its database but keeps running (a partition, not a crash): it stops
/// acting (`sidebridge_active 0`) while the standby takes the lock and carries on; every
/// transfer lands once, no nonce is used twice, the ledgers reconcile.
#[tokio::test(flavor = "multi_thread")]
async fn an_active_node_cut_from_its_database_stops_and_the_standby_takes_over() -> eyre::Result<()>
{
    let Some((mut bridge, mut pair, _dir)) = validator_with_two_nodes().await? else {
        return Ok(());
    };

    // the first node reaches PostgreSQL through a proxy that can cut it off
    let url = pair[0].database_url.clone();
    let hostport = url
        .split('@')
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .ok_or_else(|| eyre::eyre!("no host in {url}"))?
        .to_string();
    let upstream: std::net::SocketAddr = tokio::net::lookup_host(&hostport)
        .await?
        .next()
        .ok_or_else(|| eyre::eyre!("{hostport} does not resolve"))?;
    let proxy = TcpProxy::start(upstream).await?;
    let config = std::fs::read_to_string(&pair[0].config_path)?
        .replace(&hostport, &proxy.addr().to_string());
    std::fs::write(&pair[0].config_path, config)?;

    pair[0].start().await?;
    assert_eq!(the_active_one(&pair[..1]).await?, 0);
    pair[1].start().await?;
    bridge.start_nodes().await?;
    assert_eq!(the_active_one(&pair).await?, 0, "the first keeps the lock");

    let n = 20;
    bridge.deposit_many(n / 2, tokens(1)).await?;
    proxy.cut();
    let cut = Instant::now();
    let port = pair[1].http_port;
    await_until(
        Duration::from_secs(TAKEOVER_SECS + 5),
        "the standby to take over",
        || async { Ok((metric(port, "sidebridge_active").await == 1.0).then_some(())) },
    )
    .await
    .map_err(|e| e.wrap_err(pair[1].log()))?;
    eprintln!("took over {:?} after the cut", cut.elapsed());
    // the cut node is alive and serving, and no longer acts
    assert!(pair[0].is_running());
    assert_eq!(metric(pair[0].http_port, "sidebridge_active").await, 0.0);

    bridge.deposit_many(n - n / 2, tokens(1)).await?;
    bridge
        .await_user_minted(n, Duration::from_secs(120))
        .await?;
    bridge.assert_landed_once(n, 0).await?;

    // back on the network it stays standby: the lock is taken
    proxy.restore();
    assert_eq!(the_active_one(&pair).await?, 1);
    let mut first = pair.remove(0);
    let code = first.stop().await?;
    eyre::ensure!(code == Some(0), "exited with {code:?}\n{}", first.log());
    bridge.nodes.insert(0, pair.remove(0));
    bridge.stop_all().await?;
    bridge.assert_settled_once_and_reconciled().await
}
