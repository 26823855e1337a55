//! The relayer behind a fault proxy: a dead endpoint, a lying one, one that lags, goes
//! backwards, answers garbage or rate-limits. Readiness says so; nothing is lost, doubled or
//! voted for that the chain did not hold.

use std::time::Duration;

use alloy::{
    primitives::{Address, B256, U256},
    providers::Provider,
    rpc::types::Filter,
    sol_types::SolEvent,
};
use serde_json::json;
use sidebridge_anvil_tests::{
    await_until,
    proxy::Fault,
    relayers::{self, NodeOptions, RelayerNode, http_get},
};
use sidebridge_contracts::{
    Transfer,
    bindings::{MainBridge, SideBridge},
    transfer_digest,
};
use sidebridge_relayer::{store::Store, watcher::decode_votes};

use crate::relay::{Bridge, tokens};

fn proxied() -> NodeOptions {
    NodeOptions {
        proxied: true,
        rpc_failure_secs: 2,
        ..NodeOptions::default()
    }
}

fn proxies(
    node: &RelayerNode,
) -> &(
    sidebridge_anvil_tests::proxy::FaultProxy,
    sidebridge_anvil_tests::proxy::FaultProxy,
) {
    node.proxies.as_ref().expect("the node is proxied")
}

async fn await_ready(node: &RelayerNode, ready: bool, timeout: Duration) -> eyre::Result<String> {
    let want = if ready { 200 } else { 503 };
    await_until(timeout, "readiness to change", || async {
        let (code, body) = http_get(node.http_port, "/readyz").await;
        Ok((code == want).then_some(body))
    })
    .await
}

/// The value of one series in a node's `/metrics`.
async fn metric(node: &RelayerNode, series: &str) -> f64 {
    relayers::metric(node.http_port, series).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_rpc_makes_the_node_not_ready_and_an_answering_one_ready_again() -> eyre::Result<()>
{
    let mut bridge = Bridge::start(3, 2, proxied()).await?;
    bridge.start_nodes().await?;
    let node = &bridge.nodes[0];
    await_ready(node, true, Duration::from_secs(60)).await?;

    proxies(node).1.set(None, Fault::Drop);
    let body = await_ready(node, false, Duration::from_secs(30)).await?;
    assert!(
        body.contains("side: rpc: every request failed for"),
        "{body}"
    );
    let errors = metric(
        node,
        "sidebridge_rpc_errors_total{chain=\"side\",method=\"eth_blockNumber\"}",
    )
    .await;
    assert!(errors > 0.0, "{errors}");
    assert!(metric(node, "sidebridge_rpc_failing_seconds{chain=\"side\"}").await >= 2.0);
    assert_eq!(metric(node, "sidebridge_ready{chain=\"side\"}").await, 0.0);
    assert_eq!(metric(node, "sidebridge_ready{chain=\"main\"}").await, 1.0);

    // the two others carry the bridge meanwhile
    let user = bridge.user.address();
    bridge.deposit_many(2, tokens(1)).await?;
    bridge
        .await_wrapped(user, tokens(2), Duration::from_secs(60))
        .await?;

    proxies(&bridge.nodes[0]).1.clear();
    await_ready(&bridge.nodes[0], true, Duration::from_secs(30)).await?;
    assert_eq!(
        metric(
            &bridge.nodes[0],
            "sidebridge_rpc_failing_seconds{chain=\"side\"}"
        )
        .await,
        0.0
    );
    bridge.assert_landed_once(2, 0).await?;
    bridge.stop_all().await?;
    bridge.assert_ledgers_reconcile().await
}

/// A `Locked` log of the bridge's shape, as a lying node would add it to its answers.
fn forged_lock(
    bridge: &Bridge,
    nonce: u64,
    address: Address,
    block_hash: B256,
    removed: bool,
) -> (serde_json::Value, B256) {
    let mut event = MainBridge::Locked {
        nonce,
        token: bridge.sys.main_token,
        sender: Address::repeat_byte(0xA7),
        recipient: Address::repeat_byte(0xA7),
        amount: tokens(1_000),
        fee: U256::ZERO,
        dstChainId: U256::from(bridge.sys.deployment.side.chain_id),
        transferId: B256::ZERO,
    };
    let id = transfer_digest(
        &Transfer::from_locked(
            &event,
            bridge.sys.deployment.main.chain_id,
            bridge.sys.deployment.main.bridge,
            bridge.sys.deployment.side.bridge,
        ),
        bridge.sys.deployment.side.bridge,
    );
    // a consistent forgery: the id matches the content, as the genuine bridge would emit it
    event.transferId = id;
    let data = event.encode_log_data();
    let log = json!({
        "address": address,
        "topics": data.topics(),
        "data": data.data,
        "blockNumber": "0x0",
        "blockHash": block_hash,
        "transactionHash": B256::repeat_byte(0xA7),
        "transactionIndex": "0x0",
        "logIndex": "0x0",
        "removed": removed,
    });
    (log, id)
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_a_lying_rpc_adds_are_never_voted_for() -> eyre::Result<()> {
    let mut bridge = Bridge::start(3, 2, proxied()).await?;
    let main_bridge = bridge.sys.deployment.main.bridge;
    let (foreign, foreign_id) =
        forged_lock(&bridge, 5, Address::repeat_byte(0x99), B256::ZERO, false);
    let (removed, removed_id) = forged_lock(&bridge, 6, main_bridge, B256::ZERO, true);
    let (fork, fork_id) = forged_lock(&bridge, 7, main_bridge, B256::repeat_byte(0xF0), false);
    for node in &bridge.nodes {
        let main = &proxies(node).0;
        // first a few answers with a log of another fork (the watcher reads them again),
        // then for good a look-alike contract's log and one marked removed
        main.set_times(Some("eth_getLogs"), Fault::ForgeLogs(vec![fork.clone()]), 5);
        main.set(
            Some("eth_getLogs"),
            Fault::ForgeLogs(vec![foreign.clone(), removed.clone()]),
        );
    }
    bridge.start_nodes().await?;
    let user = bridge.user.address();
    bridge.deposit_many(2, tokens(1)).await?;
    bridge
        .await_wrapped(user, tokens(2), Duration::from_secs(90))
        .await?;
    // a few more rounds with the lies in every answer
    tokio::time::sleep(Duration::from_secs(3)).await;

    let forged = [foreign_id, removed_id, fork_id];
    let side = bridge.sys.side_as(&bridge.user);
    let votes = side
        .get_logs(
            &Filter::new()
                .address(bridge.sys.deployment.side.bridge)
                .from_block(0)
                .event_signature(SideBridge::DepositsApproved::SIGNATURE_HASH),
        )
        .await?;
    let mut counted = 0;
    for log in &votes {
        let ev = SideBridge::DepositsApproved::decode_log_data(log.data())?;
        for (_, id) in decode_votes(&ev.votes) {
            assert!(
                !forged.contains(&id),
                "a relayer voted for a forged lock {id}"
            );
            counted += 1;
        }
    }
    assert!(
        counted >= 4,
        "the genuine deposits got their votes: {counted}"
    );
    assert_eq!(
        bridge.wrapped_balance(Address::repeat_byte(0xA7)).await?,
        U256::ZERO
    );
    for node in &bridge.nodes {
        let store = Store::connect(&node.database_url).await?;
        for id in forged {
            assert!(store.transfer(id).await?.is_none(), "forged {id} stored");
        }
        let log = node.log();
        assert!(log.contains("the node's answers disagree"), "{log}");
        assert!(
            log.contains("not from the bridge") && log.contains("marked removed"),
            "{log}"
        );
        assert!(!log.contains("HALTED"), "{log}");
    }
    bridge.assert_landed_once(2, 0).await?;
    bridge.stop_all().await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lagging_head_garbage_and_rate_limits_lose_nothing() -> eyre::Result<()> {
    let mut bridge = Bridge::start(3, 2, proxied()).await?;
    // a node refuses to start against an endpoint that fails (one line, exit 1): the faults
    // begin once they run
    bridge.start_nodes().await?;
    let (n0, n1, n2) = (&bridge.nodes[0], &bridge.nodes[1], &bridge.nodes[2]);
    // a head far behind (below the cursor, once there is one), and going back and forth
    proxies(n0)
        .0
        .set(Some("eth_blockNumber"), Fault::HeadBehind(1_000));
    proxies(n1)
        .0
        .set_times(Some("eth_getLogs"), Fault::Garbage, 20);
    proxies(n1).1.set_times(None, Fault::Status(502), 20);
    proxies(n2).1.set_times(None, Fault::RateLimit, 40);
    proxies(n2)
        .0
        .set(None, Fault::Delay(Duration::from_millis(150)));
    let body = await_ready(n0, false, Duration::from_secs(30)).await?;
    assert!(
        body.contains("main: the node's head 0 is below block"),
        "{body}"
    );
    let user = bridge.user.address();
    bridge.deposit_many(3, tokens(1)).await?;
    bridge
        .await_wrapped(user, tokens(3), Duration::from_secs(90))
        .await?;
    let recipient = Address::repeat_byte(0x5E);
    bridge.withdraw_many(2, tokens(1), recipient).await?;
    bridge
        .await_main(recipient, tokens(2), Duration::from_secs(90))
        .await?;

    // node 0 saw the lagging head and got on once it answered truly
    proxies(&bridge.nodes[0]).0.clear();
    proxies(&bridge.nodes[2]).0.clear();
    for node in &bridge.nodes {
        await_ready(node, true, Duration::from_secs(30)).await?;
        assert!(!node.log().contains("HALTED"), "{}", node.log());
    }
    assert!(proxies(&bridge.nodes[1]).0.faulted("eth_getLogs") >= 20);
    assert!(
        metric(
            &bridge.nodes[2],
            "sidebridge_rpc_errors_total{chain=\"side\",method=\"eth_blockNumber\"}"
        )
        .await
            > 0.0
    );
    bridge.assert_landed_once(3, 2).await?;
    bridge.stop_all().await?;
    bridge.assert_ledgers_reconcile().await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_outside_the_set_or_short_of_gas_is_not_ready() -> eyre::Result<()> {
    let options = NodeOptions {
        min_balance_ether: "1000",
        ..NodeOptions::default()
    };
    let mut bridge = Bridge::start(2, 2, options.clone()).await?;
    bridge.start_nodes().await?;
    // each validator holds 100 ether on both chains, below the 1,000 ether runway
    let port = bridge.nodes[0].http_port;
    let body = await_until(Duration::from_secs(60), "the gas check", || async {
        let (code, body) = http_get(port, "/readyz").await;
        Ok((code == 503 && body.contains("gas: ")).then_some(body))
    })
    .await?;
    assert!(
        body.contains("gas: the account holds 100.000000 ether, below the runway of 1000.000000 ether (chains.main.min_balance_ether)"),
        "{body}"
    );
    assert_eq!(
        metric(&bridge.nodes[0], "sidebridge_validator{chain=\"side\"}").await,
        1.0
    );

    // a relayer whose key governance never added
    let dir = tempfile::tempdir()?;
    let stranger = sidebridge_anvil_tests::dev_key(&bridge.sys.side, 8);
    let mut node =
        RelayerNode::prepare(&bridge.sys, &stranger, dir.path(), &NodeOptions::default()).await?;
    node.start().await?;
    // not ready from the start (no watcher report yet); then the monitor names the key
    let port = node.http_port;
    let body = await_until(
        Duration::from_secs(60),
        "the validator check on both chains",
        || async {
            let (code, body) = http_get(port, "/readyz").await;
            Ok((code == 503 && body.matches("validator: ").count() >= 2).then_some(body))
        },
    )
    .await?;
    for chain in ["main", "side"] {
        assert!(
            body.contains(&format!(
                "{chain}: validator: {} is not in the current validator set",
                stranger.address()
            )),
            "{body}"
        );
        assert_eq!(
            metric(&node, &format!("sidebridge_validator{{chain=\"{chain}\"}}")).await,
            0.0
        );
    }
    // the log says so once per chain, at start, not at every look
    let log = node.log();
    assert_eq!(log.matches("not ready").count(), 2, "{log}");
    assert!(
        log.contains("check=\"validator\"") || log.contains("check=validator"),
        "{log}"
    );
    // the summary names the cause once per chain, not repeated
    let reason = serde_json::from_str::<serde_json::Value>(&body)?["reason"].to_string();
    assert_eq!(
        reason
            .matches("is not in the current validator set")
            .count(),
        2,
        "{reason}"
    );
    assert_eq!(node.stop().await?, Some(0));
    bridge.stop_all().await
}

/// Every relayer's primary RPC (a proxy) dies on both chains after start; each has the
/// chain's node itself as a fallback: transfers land both ways, the chains stay ready, and the
/// dead endpoint's failures are counted under its position.
#[tokio::test(flavor = "multi_thread")]
async fn a_dead_primary_rpc_fails_over_to_the_fallback_and_nothing_waits() -> eyre::Result<()> {
    let options = NodeOptions {
        fallback_direct: true,
        ..proxied()
    };
    let mut bridge = Bridge::start(3, 2, options).await?;
    bridge.start_nodes().await?;
    for node in &bridge.nodes {
        await_ready(node, true, Duration::from_secs(60)).await?;
        let (main, side) = proxies(node);
        main.set(None, Fault::Drop);
        side.set(None, Fault::Drop);
    }
    bridge.deposit_landed(3, tokens(10), tokens(30)).await?;
    let recipient = Address::repeat_byte(0x5a);
    bridge.withdraw_many(2, tokens(5), recipient).await?;
    bridge
        .await_main(recipient, tokens(10), Duration::from_secs(90))
        .await?;
    for node in &bridge.nodes {
        for chain in ["main", "side"] {
            let dead = metric(
                node,
                &format!(
                    "sidebridge_rpc_endpoint_errors_total{{chain=\"{chain}\",endpoint=\"0\"}}"
                ),
            )
            .await;
            assert!(dead > 0.0, "{chain}: {dead}");
            let fallback = metric(
                node,
                &format!(
                    "sidebridge_rpc_endpoint_requests_total{{chain=\"{chain}\",endpoint=\"1\"}}"
                ),
            )
            .await;
            assert!(fallback > 0.0, "{chain}: {fallback}");
            assert_eq!(
                metric(node, &format!("sidebridge_ready{{chain=\"{chain}\"}}")).await,
                1.0
            );
        }
    }
    bridge.assert_landed_once(3, 2).await?;
    bridge.stop_all().await?;
    bridge.assert_ledgers_reconcile().await
}
