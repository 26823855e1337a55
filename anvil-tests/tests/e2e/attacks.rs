//! The threat model's validator lines against real relayer processes: one malicious validator
//! pre-voting junk and voting junk on live deposits cannot freeze anything and makes honest
//! relayers send each vote once (and alarm); content minted that nobody locked raises the
//! forgery alarm and turns `/readyz` red; a fully compromised validator set draining main-chain
//! custody is stopped at the inbound cap, and a guardian holds what waits in the queue.

use std::time::Duration;

use alloy::{
    primitives::{Address, B256, U256},
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::SolEvent,
};
use eyre::{bail, ensure};
use serde_json::Value;
use sidebridge_anvil_tests::{
    MAIN_CHAIN_ID, SIDE_CHAIN_ID, System, SystemSpec, await_until,
    relayers::{NodeOptions, http_get, metric},
};
use sidebridge_contracts::{
    Transfer,
    bindings::{IERC20Metadata, MainBridge, SideBridge},
    pack_signatures, transfer_digest,
};
use sidebridge_relayer::{domain::TxKind, store::Store, watcher::decode_votes};

use crate::{
    governance::{Ctl, travel},
    relay::{Bridge, tokens},
};

/// A deposit of the demo token, as the attacker words it.
fn deposit(sys: &System, nonce: u64, who: Address, amount: U256) -> Transfer {
    Transfer {
        srcChainId: U256::from(MAIN_CHAIN_ID),
        srcBridge: sys.deployment.main.bridge,
        dstChainId: U256::from(SIDE_CHAIN_ID),
        dstBridge: sys.deployment.side.bridge,
        nonce,
        token: sys.main_token,
        sender: who,
        recipient: who,
        amount,
    }
}

/// `key` votes for `transfers` on the side chain; returns how many votes the bridge counted (a
/// vote for a nonce already minted is skipped without an event).
async fn vote(
    sys: &System,
    key: &PrivateKeySigner,
    transfers: Vec<Transfer>,
) -> eyre::Result<usize> {
    let receipt = SideBridge::new(sys.deployment.side.bridge, sys.side_as(key))
        .approveDeposits(transfers.into_iter().map(Into::into).collect())
        .send()
        .await?
        .get_receipt()
        .await?;
    ensure!(receipt.status(), "approveDeposits reverted");
    let counted = receipt
        .inner
        .logs()
        .iter()
        .filter_map(|log| log.log_decode::<SideBridge::DepositsApproved>().ok())
        .map(|ev| decode_votes(&ev.inner.data.votes).count())
        .sum();
    Ok(counted)
}

/// Waits until `series` on `port` reaches at least `at_least`.
async fn await_metric(port: u16, series: &str, at_least: f64) -> eyre::Result<f64> {
    await_until(Duration::from_secs(60), series, || async {
        let value = metric(port, series).await;
        Ok((value >= at_least).then_some(value))
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malicious_validator_neither_freezes_deposits_nor_makes_honest_relayers_resend()
-> eyre::Result<()> {
    let mut bridge = Bridge::start(4, 3, NodeOptions::default()).await?;
    let sys = &bridge.sys;
    let malicious = sys.validators[0].clone();
    let attacker = PrivateKeySigner::random().address();
    let n = 10u64;

    // before anything is locked, the malicious key pre-votes junk for the next nonces
    let early = vote(
        sys,
        &malicious,
        (0..n)
            .map(|i| deposit(sys, i, attacker, tokens(1_000)))
            .collect(),
    )
    .await?;
    ensure!(
        early == n as usize,
        "{early} of {n} early junk votes counted"
    );
    // the three honest relayers run; the malicious validator runs none
    for node in bridge.nodes.iter_mut().skip(1) {
        node.start().await?;
    }
    bridge.deposit_many(n as usize, tokens(1)).await?;
    // and junk again on the live nonces, racing the honest votes (a nonce minted first is
    // skipped by the bridge and is no conflict)
    let racing = vote(
        &bridge.sys,
        &malicious,
        (0..n)
            .map(|i| deposit(&bridge.sys, i, attacker, tokens(2)))
            .collect(),
    )
    .await?;

    let user = bridge.user.address();
    bridge
        .await_wrapped(user, tokens(n), Duration::from_secs(180))
        .await?;
    bridge.assert_landed_once(n as usize, 0).await?;
    assert_eq!(bridge.wrapped_balance(attacker).await?, U256::ZERO);

    for node in bridge.nodes.iter().skip(1) {
        // every junk vote the bridge counted is seen as a conflict
        await_metric(
            node.http_port,
            "sidebridge_vote_conflicts_total",
            (early + racing) as f64,
        )
        .await
        .map_err(|e| e.wrap_err(node.log()))?;
        // and no honest vote was sent twice: one approveDeposits per deposit at most
        let store = Store::connect(&node.database_url).await?;
        let mut votes_per_transfer = std::collections::HashMap::<B256, usize>::new();
        for entry in store.cost_entries().await? {
            if entry.kind == TxKind::ApproveDeposits {
                *votes_per_transfer.entry(entry.transfer_id).or_default() += 1;
            }
        }
        ensure!(
            votes_per_transfer.values().all(|&v| v == 1),
            "a vote was sent more than once: {votes_per_transfer:?}"
        );
        assert_eq!(
            metric(
                node.http_port,
                "sidebridge_forgery_alarms_total{direction=\"deposit\"}"
            )
            .await,
            0.0
        );
    }
    bridge.nodes.remove(0);
    bridge.stop_all().await?;
    Ok(())
}

/// The critical finding as reproduced: one validator key votes for nonce 2^63 and 2^64 − 1.
/// Before, every honest relayer died on the vote ("does not fit in a database integer") and
/// again at each restart, and so did the index. Now each drops the two votes with an alarm,
/// keeps running and relays what is locked after them; the index keeps indexing.
#[tokio::test(flavor = "multi_thread")]
async fn a_vote_for_nonce_2_63_stops_no_relayer_and_no_index() -> eyre::Result<()> {
    let mut bridge = Bridge::start(4, 3, NodeOptions::default()).await?;
    let dir = tempfile::tempdir()?;
    let mut index = sidebridge_anvil_tests::index::IndexNode::prepare(
        &bridge.sys,
        &dir.path().join("index"),
        sidebridge_anvil_tests::relayers::Backend::Sqlite,
        1,
    )
    .await?;
    index.start().await?;
    for node in bridge.nodes.iter_mut().skip(1) {
        node.start().await?;
    }
    let malicious = bridge.sys.validators[0].clone();
    let attacker = PrivateKeySigner::random().address();
    let counted = vote(
        &bridge.sys,
        &malicious,
        [1u64 << 63, u64::MAX]
            .into_iter()
            .map(|nonce| deposit(&bridge.sys, nonce, attacker, tokens(5)))
            .collect(),
    )
    .await?;
    ensure!(counted == 2, "the bridge counted {counted} of the 2 votes");

    let series =
        "sidebridge_chain_data_rejected_total{chain=\"side\",reason=\"nonce_out_of_range\"}";
    for node in bridge.nodes.iter().skip(1) {
        await_metric(node.http_port, series, 2.0)
            .await
            .map_err(|e| e.wrap_err(node.log()))?;
    }
    // what is locked after the votes lands, through the same relayers
    let user = bridge.user.address();
    bridge.deposit_many(2, tokens(1)).await?;
    bridge
        .await_wrapped(user, tokens(2), Duration::from_secs(120))
        .await?;
    for node in bridge.nodes.iter_mut().skip(1) {
        ensure!(node.is_running(), "a relayer exited:\n{}", node.log());
        ensure!(
            !node.log().contains("stopped unexpectedly"),
            "{}",
            node.log()
        );
        // and a restart reads the same block again without dying on it
        node.stop().await?;
        node.start().await?;
        ensure!(
            node.is_running(),
            "a restarted relayer exited:\n{}",
            node.log()
        );
    }
    let side_head = {
        use alloy::providers::Provider;
        bridge
            .sys
            .side_as(&bridge.sys.holder)
            .get_block_number()
            .await?
    };
    await_until(
        Duration::from_secs(60),
        "the index past the votes",
        || async {
            let (_, side) = index.indexed_to().await?;
            Ok((side >= Some(side_head.saturating_sub(1))).then_some(()))
        },
    )
    .await
    .map_err(|e| e.wrap_err(index.log()))?;
    ensure!(
        !index.log().contains("stopped unexpectedly"),
        "{}",
        index.log()
    );
    bridge.nodes.remove(0);
    bridge.stop_all().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn content_nobody_locked_raises_the_forgery_alarm_and_turns_readyz_red() -> eyre::Result<()> {
    let mut bridge = Bridge::start(3, 2, NodeOptions::default()).await?;
    let sys = &bridge.sys;
    let thief = PrivateKeySigner::random().address();

    // a real deposit at nonce 0; before any relayer runs, two stolen validator keys mint other
    // content at that nonce, and content at a nonce never locked
    bridge.deposit_many(1, tokens(5)).await?;
    for key in &sys.validators[..2] {
        vote(
            sys,
            key,
            vec![
                deposit(sys, 0, thief, tokens(5)),
                deposit(sys, 7, thief, tokens(9)),
            ],
        )
        .await?;
    }
    assert_eq!(bridge.wrapped_balance(thief).await?, tokens(14));

    let mut node = bridge.nodes.remove(0);
    node.start().await?;
    await_metric(
        node.http_port,
        "sidebridge_forgery_alarms_total{direction=\"deposit\"}",
        2.0,
    )
    .await
    .map_err(|e| e.wrap_err(node.log()))?;
    let (code, body) = http_get(node.http_port, "/readyz").await;
    assert_eq!(code, 503, "{body}");
    let readyz: Value = serde_json::from_str(&body)?;
    assert!(
        readyz["alarm"]
            .as_str()
            .is_some_and(|a| a.contains("2 open forgery alarm(s)")),
        "{readyz}"
    );
    ensure!(
        node.log().contains("FORGERY"),
        "the alarm is logged:\n{}",
        node.log()
    );

    // the operator reads both ids, and the honest deposit is not marked completed
    let out = tokio::process::Command::new(sidebridge_anvil_tests::binaries::relayer_binary()?)
        .args(["alarms", "--json", "--config"])
        .arg(&node.config_path)
        .output()
        .await?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let alarms: Value = serde_json::from_slice(&out.stdout)?;
    let alarms = alarms.as_array().cloned().unwrap_or_default();
    let count = |kind: &str| alarms.iter().filter(|a| a["kind"] == kind).count();
    // two forged executions, and the two stolen keys' votes at the live nonce
    assert_eq!(count("forgery"), 2, "{alarms:?}");
    assert_eq!(count("vote_conflict"), 2, "{alarms:?}");
    let honest = deposit(sys, 0, sys.holder.address(), tokens(5));
    let honest = Transfer {
        recipient: bridge.user.address(),
        ..honest
    };
    let honest_id = transfer_digest(&honest, sys.deployment.side.bridge);
    let forged_id = transfer_digest(
        &deposit(sys, 0, thief, tokens(5)),
        sys.deployment.side.bridge,
    );
    let at_zero = alarms
        .iter()
        .find(|a| a["nonce"] == 0 && a["kind"] == "forgery")
        .ok_or_else(|| eyre::eyre!("no alarm at nonce 0: {alarms:?}"))?;
    assert_eq!(at_zero["kind"], "forgery");
    assert_eq!(at_zero["expectedId"], honest_id.to_string());
    assert_eq!(at_zero["seenId"], forged_id.to_string());
    let store = Store::connect(&node.database_url).await?;
    let record = store
        .transfer(honest_id)
        .await?
        .ok_or_else(|| eyre::eyre!("the honest deposit is stored"))?;
    assert_ne!(
        record.state,
        sidebridge_relayer::domain::TransferState::Completed
    );

    // cleared by the operator, readiness comes back
    let out = tokio::process::Command::new(sidebridge_anvil_tests::binaries::relayer_binary()?)
        .args(["alarms", "--clear", "--config"])
        .arg(&node.config_path)
        .output()
        .await?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    await_until(Duration::from_secs(30), "readyz to turn green", || async {
        Ok((http_get(node.http_port, "/readyz").await.0 == 200).then_some(()))
    })
    .await
    .map_err(|e| e.wrap_err(node.log()))?;
    let code = node.stop().await?;
    ensure!(code == Some(0), "exit {code:?}\n{}", node.log());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_compromised_validator_set_is_stopped_at_the_inbound_cap() -> eyre::Result<()> {
    let spec = SystemSpec {
        validators: 3,
        validator_threshold: 2,
        inbound_cap: 1_000,
        large_amount: 400,
        large_delay: 3_600,
        ..SystemSpec::default()
    };
    let mut bridge = Bridge::start_spec(spec, NodeOptions::default()).await?;
    // 5,000 DEMO in custody (the deposits wait: no relayer votes them in)
    bridge.deposit_many(5, tokens(1_000)).await?;
    let sys = &bridge.sys;
    let main = sys.main_as(&sys.holder);
    let main_bridge = MainBridge::new(sys.deployment.main.bridge, &main);
    let custody = System::balance(&main, sys.main_token, sys.deployment.main.bridge).await?;
    assert_eq!(custody, tokens(5_000));
    let thief = PrivateKeySigner::random().address();

    // every validator key is stolen: releases to the thief, as many as it likes
    let release = |nonce: u64, amount: U256| {
        let t = Transfer {
            srcChainId: U256::from(SIDE_CHAIN_ID),
            srcBridge: sys.deployment.side.bridge,
            dstChainId: U256::from(MAIN_CHAIN_ID),
            dstBridge: sys.deployment.main.bridge,
            nonce,
            token: sys.main_token,
            sender: thief,
            recipient: thief,
            amount,
        };
        let digest = transfer_digest(&t, sys.deployment.main.bridge);
        let signatures = sys
            .validators
            .iter()
            .map(|k| Ok((k.address(), k.sign_hash_sync(&digest)?)))
            .collect::<eyre::Result<Vec<_>>>();
        (t, digest, signatures.map(pack_signatures))
    };
    let mut refused = 0;
    for nonce in 0..10 {
        let (t, _, sigs) = release(nonce, tokens(400));
        let call = main_bridge.release(t.into(), sigs?);
        match call.call().await {
            Ok(_) => {
                let receipt = call.send().await?.get_receipt().await?;
                ensure!(receipt.status(), "release reverted");
            }
            Err(e) => {
                let data = e.as_revert_data().ok_or_else(|| eyre::eyre!("{e}"))?;
                let decoded = sidebridge_governance::revert::decode_revert(
                    &data,
                    sidebridge_governance::revert::Source::Bridge,
                );
                ensure!(
                    decoded.as_ref().is_some_and(|d| d.name == "RateLimited"),
                    "{decoded:?}"
                );
                refused += 1;
            }
        }
    }
    let stolen = System::balance(&main, sys.main_token, thief).await?;
    assert_eq!(stolen, tokens(800), "two 400s fit the 1,000 cap");
    assert_eq!(refused, 8);

    // the rest of custody in one transfer: queued, not paid
    let (big, big_id, sigs) = release(100, custody - stolen);
    let receipt = main_bridge
        .release(big.clone().into(), sigs?)
        .send()
        .await?
        .get_receipt()
        .await?;
    ensure!(receipt.status(), "queuing reverted");
    ensure!(
        receipt
            .inner
            .logs()
            .iter()
            .any(|l| l.topic0() == Some(&MainBridge::TransferQueued::SIGNATURE_HASH)),
        "the large release was not queued"
    );
    assert_eq!(System::balance(&main, sys.main_token, thief).await?, stolen);

    // a validator's relayer sees releases of nothing that was burned: forgery alarms
    let mut node = bridge.nodes.remove(0);
    node.start().await?;
    await_metric(
        node.http_port,
        "sidebridge_forgery_alarms_total{direction=\"withdrawal\"}",
        3.0,
    )
    .await
    .map_err(|e| e.wrap_err(node.log()))?;

    // a guardian acts at once: holds the queued one and pauses
    let ctl = Ctl::new(sys)?;
    let id = big_id.to_string();
    ctl.ok(Some(&sys.guardian), &["hold", &id, "--chain", "main"])
        .await?;
    ctl.ok(Some(&sys.guardian), &["pause", "--chain", "main"])
        .await?;
    travel(sys, 2 * 3_600).await?;
    let err = main_bridge
        .executeQueued(big.clone().into())
        .call()
        .await
        .expect_err("paused and held");
    ensure!(err.as_revert_data().is_some(), "{err}");
    let q = main_bridge.queuedTransfer(big_id).call().await?;
    assert!(q.held);
    assert_eq!(
        System::balance(&main, sys.main_token, thief).await?,
        tokens(800)
    );
    assert_eq!(
        IERC20Metadata::new(sys.main_token, &main)
            .balanceOf(sys.deployment.main.bridge)
            .call()
            .await?,
        tokens(4_200)
    );
    if node.stop().await? != Some(0) {
        bail!("node exit\n{}", node.log());
    }
    Ok(())
}
