//! Reorgs: one shallower than the confirmations changes nothing; a deeper one halts the watcher.

use std::time::Duration;

use alloy::{
    providers::{Provider, ProviderBuilder},
    sol_types::SolEvent,
};
use sidebridge_anvil_tests::{
    await_until,
    relayers::{Backend, NodeOptions, http_get},
};
use sidebridge_contracts::bindings::SideBridge;

use crate::relay::{Bridge, tokens};

/// Replaces the last `depth` blocks with empty ones.
async fn reorg(provider: &impl Provider, depth: u64) -> eyre::Result<()> {
    provider
        .raw_request::<_, serde_json::Value>(
            "anvil_reorg".into(),
            (depth, serde_json::Value::Array(vec![])),
        )
        .await?;
    Ok(())
}

/// Waits until every relayer of `bridge` is halted (`/readyz` 503 with `halted`), its reason
/// containing `reason`, and its log saying so.
async fn await_every_halt(bridge: &Bridge, reason: &str) -> eyre::Result<()> {
    for node in &bridge.nodes {
        let port = node.http_port;
        let body = await_until(Duration::from_secs(30), "the relayer to halt", || async {
            let (code, body) = http_get(port, "/readyz").await;
            Ok((code == 503 && body.contains("\"halted\":true")).then_some(body))
        })
        .await?;
        assert!(body.contains(reason), "{body}");
        assert!(node.log().contains("HALTED"), "{}", node.log());
    }
    Ok(())
}

async fn http_status(port: u16, path: &str) -> u16 {
    http_get(port, path).await.0
}

#[tokio::test(flavor = "multi_thread")]
async fn shallow_reorg_changes_nothing_deep_reorg_halts() -> eyre::Result<()> {
    let mut bridge = Bridge::start(
        3,
        2,
        NodeOptions {
            backend: Backend::Sqlite,
            confirmations: 4,
            ..NodeOptions::default()
        },
    )
    .await?;
    bridge.start_nodes().await?;
    let port = bridge.nodes[0].http_port;
    await_until(Duration::from_secs(60), "the node to be ready", || async {
        Ok((http_status(port, "/readyz").await == 200).then_some(()))
    })
    .await?;

    bridge.deposit_landed(2, tokens(1), tokens(2)).await?;

    // shallower than the confirmations: the relayers never processed those blocks
    let main = ProviderBuilder::new().connect_http(bridge.sys.main.endpoint_url());
    reorg(&main, 2).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(http_status(port, "/readyz").await, 200);
    bridge.deposit_landed(2, tokens(1), tokens(4)).await?;

    // deeper than the confirmations: processed blocks vanish, the watcher halts
    tokio::time::sleep(Duration::from_secs(3)).await;
    reorg(&main, 12).await?;
    await_until(Duration::from_secs(30), "readiness to drop", || async {
        Ok((http_status(port, "/readyz").await == 503).then_some(()))
    })
    .await?;
    assert_eq!(http_status(port, "/healthz").await, 200);
    assert!(
        bridge.nodes[0].log().contains("HALTED"),
        "{}",
        bridge.nodes[0].log()
    );
    Ok(())
}

/// The main chain is reverted below every relayer's cursor (a snapshot taken before two
/// deposits): the blocks they processed are gone, and a new lock takes nonce 0 again with other
/// content. Every relayer halts, says why, and votes for nothing of the new chain.
#[tokio::test(flavor = "multi_thread")]
async fn a_reorg_to_a_shorter_chain_halts_every_relayer() -> eyre::Result<()> {
    let mut bridge = Bridge::start(3, 2, NodeOptions::default()).await?;
    let main = ProviderBuilder::new().connect_http(bridge.sys.main.endpoint_url());
    let snapshot: alloy::primitives::U256 = main
        .raw_request("evm_snapshot".into(), serde_json::Value::Array(vec![]))
        .await?;
    bridge.start_nodes().await?;
    let user = bridge.user.address();
    bridge.deposit_landed(2, tokens(1), tokens(2)).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let votes_before = bridge
        .count_events(false, SideBridge::DepositsApproved::SIGNATURE_HASH)
        .await?;

    let reverted: bool = main.raw_request("evm_revert".into(), (snapshot,)).await?;
    assert!(reverted);
    bridge.deposit_many(1, tokens(5)).await?;
    await_every_halt(&bridge, "reorg").await?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(bridge.wrapped_balance(user).await?, tokens(2));
    let votes_after = bridge
        .count_events(false, SideBridge::DepositsApproved::SIGNATURE_HASH)
        .await?;
    assert_eq!(votes_after, votes_before, "a halted relayer voted");
    Ok(())
}

/// A reorg on the destination, inside the confirmations, drops a mint and the votes that made
/// it after the relayers saw their receipts. The deposit goes back to work and lands once;
/// each relayer's transactions that vanished are sent again (same nonce, so nothing after them
/// waits on a gap) and charged once; the ledgers still match the balances to the wei.
#[tokio::test(flavor = "multi_thread")]
async fn a_mint_dropped_by_a_destination_reorg_lands_again_once() -> eyre::Result<()> {
    let confirmations = 8;
    let mut bridge = Bridge::start(
        3,
        2,
        NodeOptions {
            confirmations,
            ..NodeOptions::default()
        },
    )
    .await?;
    bridge.start_nodes().await?;
    let user = bridge.user.address();
    bridge.deposit_landed(1, tokens(1), tokens(1)).await?;

    // every relayer that voted has seen the receipt of its vote (and charged it) before the
    // reorg (the last may not vote: the deposit minted before its turn)
    for node in &bridge.nodes {
        if !node
            .log()
            .contains("sending chain=side kind=approve_deposits")
        {
            continue;
        }
        await_until(Duration::from_secs(10), "the vote's receipt", || async {
            Ok(node
                .log()
                .contains("mined chain=side kind=approve_deposits")
                .then_some(()))
        })
        .await?;
    }
    let side = ProviderBuilder::new().connect_http(bridge.sys.side.endpoint_url());
    let votes = side
        .get_logs(
            &alloy::rpc::types::Filter::new()
                .address(bridge.sys.deployment.side.bridge)
                .from_block(0)
                .event_signature(SideBridge::DepositsApproved::SIGNATURE_HASH),
        )
        .await?;
    let first_vote = votes
        .iter()
        .filter_map(|l| l.block_number)
        .min()
        .expect("voted");
    let depth = side.get_block_number().await? - first_vote + 1;
    assert!(
        depth < confirmations,
        "the votes are {depth} blocks deep already"
    );
    reorg(&side, depth).await?;
    assert_eq!(
        bridge.wrapped_balance(user).await?,
        tokens(0),
        "the reorg dropped the mint"
    );

    bridge
        .await_wrapped(user, tokens(1), Duration::from_secs(120))
        .await?;
    // confirmed, not halted, exactly one mint on the chain that stayed
    tokio::time::sleep(Duration::from_secs(4)).await;
    for node in &bridge.nodes {
        assert_eq!(
            http_status(node.http_port, "/readyz").await,
            200,
            "{}",
            node.log()
        );
    }
    bridge.assert_landed_once(1, 0).await?;
    let recipient = alloy::primitives::Address::repeat_byte(0x7E);
    bridge.withdraw_many(1, tokens(1), recipient).await?;
    bridge
        .await_main(recipient, tokens(1), Duration::from_secs(120))
        .await?;
    bridge.stop_all().await?;
    bridge.assert_ledgers_reconcile().await
}

/// After a deposit completed (its mint confirmed on the destination), the destination
/// reorganises deeper than the confirmations: what the relayers took as final is not, so every
/// one halts rather than guess, and says so.
#[tokio::test(flavor = "multi_thread")]
async fn a_deep_reorg_on_the_destination_after_completion_halts() -> eyre::Result<()> {
    let mut bridge = Bridge::start(3, 2, NodeOptions::default()).await?;
    bridge.start_nodes().await?;
    bridge.deposit_landed(1, tokens(1), tokens(1)).await?;
    bridge
        .await_all_completed(1, Duration::from_secs(60))
        .await?;

    let side = ProviderBuilder::new().connect_http(bridge.sys.side.endpoint_url());
    reorg(&side, 12).await?;
    await_every_halt(&bridge, "side: reorg").await
}
