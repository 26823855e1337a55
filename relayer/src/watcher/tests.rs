//! The watcher against a fake chain: what it stores and when, what it reads, how it survives a
//! flaky node and where it refuses to go on.

use std::{sync::Arc, time::Duration};

use alloy::{
    primitives::{Address, B256, Bytes, U256},
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::SolEvent,
};
use sidebridge_contracts::{
    bindings::{MainBridge, SideBridge},
    transfer_digest,
};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use super::{ChainStatus, Route, UnconfirmedTail, WatchError, Watcher, fake::FakeEventSource};
use crate::{
    domain::{Chain, TransferState},
    rpc::{Classify, Disposition},
    store::{Store, testing::with_sqlite},
    testing::await_condition,
};

const ROUTE: Route = Route {
    main_chain_id: 1,
    side_chain_id: 100,
    main_bridge: Address::repeat_byte(0x11),
    side_bridge: Address::repeat_byte(0x22),
    hub: false,
};

fn watcher(
    chain: Chain,
    source: FakeEventSource,
    store: &Store,
    confirmations: u64,
    log_range: u64,
) -> (Watcher<FakeEventSource>, watch::Receiver<ChainStatus>) {
    let (status, status_rx) = watch::channel(ChainStatus::default());
    let watcher = Watcher {
        chain,
        source,
        store: store.clone(),
        route: ROUTE,
        confirmations,
        poll_interval: Duration::from_millis(10),
        log_range,
        start_block: 0,
        status,
        progress: Arc::new(Notify::new()),
        unconfirmed: (chain == Chain::Side).then(UnconfirmedTail::default),
    };
    (watcher, status_rx)
}

fn locked(nonce: u64, amount: u64) -> (MainBridge::Locked, B256) {
    let mut event = MainBridge::Locked {
        nonce,
        token: Address::repeat_byte(0xA0),
        sender: Address::repeat_byte(0xB0),
        recipient: Address::repeat_byte(0xC0),
        amount: U256::from(amount),
        fee: U256::from(7),
        dstChainId: U256::from(ROUTE.side_chain_id),
        transferId: B256::ZERO,
    };
    event.transferId = transfer_digest(&ROUTE.deposit_of(&event), ROUTE.side_bridge);
    let id = event.transferId;
    (event, id)
}

fn burned(nonce: u64) -> (SideBridge::Burned, B256) {
    let mut event = SideBridge::Burned {
        nonce,
        token: Address::repeat_byte(0xA0),
        sender: Address::repeat_byte(0xB0),
        recipient: Address::repeat_byte(0xC0),
        amount: U256::from(1_000),
        fee: U256::ZERO,
        wrapped: Address::repeat_byte(0xD0),
        transferId: B256::ZERO,
        dstChainId: U256::from(ROUTE.main_chain_id),
        dstBridge: ROUTE.main_bridge,
    };
    let transfer = ROUTE.withdrawal_of(&event);
    event.transferId = transfer_digest(&transfer, ROUTE.main_bridge);
    let id = event.transferId;
    (event, id)
}

/// Runs the watcher's loop until it reports a halt; checks it stays alive (not ready, waiting
/// for the operator) until shutdown and then exits cleanly. Returns the halt's reason.
async fn run_until_halted(
    w: Watcher<FakeEventSource>,
    status: &mut watch::Receiver<ChainStatus>,
) -> String {
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(w.run(shutdown.clone()));
    let halted = status
        .wait_for(|s| s.halted.is_some())
        .await
        .expect("status channel open")
        .halted
        .clone()
        .expect("halted");
    assert!(
        !task.is_finished(),
        "a halted watcher waits for the operator"
    );
    shutdown.cancel();
    task.await
        .expect("join")
        .expect("a halt is not an error exit");
    halted
}

async fn state(store: &Store, id: B256) -> Option<TransferState> {
    store.transfer(id).await.expect("read").map(|r| r.state)
}

#[tokio::test]
async fn a_lock_is_stored_only_once_confirmed() {
    with_sqlite(|store| async move {
        let source = FakeEventSource::new(ROUTE.main_bridge, 5);
        let (event, id) = locked(0, 1_000);
        source.emit(4, 0x44, event.encode_log_data());
        let (w, status) = watcher(Chain::Main, source, &store, 2, 100);

        assert!(w.step().await.expect("step"), "caught up to head - 2");
        assert_eq!(store.cursor(Chain::Main).await.expect("cursor"), Some(3));
        assert_eq!(
            state(&store, id).await,
            None,
            "block 4 has 1 confirmation of 2"
        );
        assert_eq!(status.borrow().head, 5);

        w.source.mine_to(6);
        assert!(w.step().await.expect("step"));
        assert_eq!(store.cursor(Chain::Main).await.expect("cursor"), Some(4));
        let record = store.transfer(id).await.expect("read").expect("stored");
        assert_eq!(record.state, TransferState::Observed);
        assert_eq!(record.transfer.amount, U256::from(1_000));
        assert_eq!(record.source_block, 4);
        assert_eq!(record.source_tx, B256::repeat_byte(0x44));
        let fees = store.fee_entries().await.expect("fees");
        assert_eq!(fees.len(), 1);
        assert_eq!(fees[0].amount, U256::from(7));
        assert_eq!(w.source.ranges(), vec![(0, 3), (4, 4)]);
    })
    .await;
}

#[tokio::test]
async fn reads_in_ranges_and_a_restart_resumes_after_the_cursor() {
    with_sqlite(|store| async move {
        let source = FakeEventSource::new(ROUTE.main_bridge, 29);
        let (first, first_id) = locked(0, 1);
        let (last, last_id) = locked(1, 2);
        source.emit(0, 0x01, first.encode_log_data());
        source.emit(29, 0x02, last.encode_log_data());
        let (w, _) = watcher(Chain::Main, source, &store, 0, 10);
        assert!(!w.step().await.expect("step 1"));
        assert!(!w.step().await.expect("step 2"));
        assert!(w.step().await.expect("step 3"));
        assert_eq!(w.source.ranges(), vec![(0, 9), (10, 19), (20, 29)]);
        assert_eq!(state(&store, first_id).await, Some(TransferState::Observed));
        assert_eq!(state(&store, last_id).await, Some(TransferState::Observed));

        // a new process on the same database reads only what it has not seen
        let source = FakeEventSource::new(ROUTE.main_bridge, 35);
        let (w, _) = watcher(Chain::Main, source, &store, 0, 10);
        assert!(w.step().await.expect("step after restart"));
        assert_eq!(w.source.ranges(), vec![(30, 35)]);
    })
    .await;
}

#[tokio::test]
async fn a_reorg_inside_the_confirmations_is_never_seen() {
    with_sqlite(|store| async move {
        let source = FakeEventSource::new(ROUTE.main_bridge, 10);
        // a lock at the tip that the reorg takes away, and the one that replaces it
        let (orphan, orphan_id) = locked(0, 1_000);
        source.emit(10, 0x0A, orphan.encode_log_data());
        let (w, _) = watcher(Chain::Main, source, &store, 2, 100);
        assert!(w.step().await.expect("step"));
        w.source.reorg_from(9);
        let (canonical, canonical_id) = locked(0, 5);
        w.source.emit(10, 0x0B, canonical.encode_log_data());
        w.source.mine_to(12);
        assert!(w.step().await.expect("step after the shallow reorg"));

        assert_eq!(state(&store, orphan_id).await, None);
        assert_eq!(
            state(&store, canonical_id).await,
            Some(TransferState::Observed)
        );
    })
    .await;
}

#[tokio::test]
async fn a_reorg_deeper_than_the_confirmations_halts_and_stores_nothing_more() {
    with_sqlite(|store| async move {
        let source = FakeEventSource::new(ROUTE.main_bridge, 10);
        let (w, mut status) = watcher(Chain::Main, source, &store, 2, 100);
        assert!(w.step().await.expect("step"));
        assert_eq!(store.cursor(Chain::Main).await.expect("cursor"), Some(8));

        // the processed block 8 is replaced: the lock the attacker's fork holds must not land
        w.source.reorg_from(7);
        let (event, id) = locked(0, 1_000_000);
        w.source.emit(8, 0x08, event.encode_log_data());
        w.source.mine_to(20);
        let err = w.step().await.expect_err("a deep reorg is an error");
        assert!(matches!(err, WatchError::Reorg { number: 8, .. }), "{err}");
        assert_eq!(err.disposition(), Disposition::Halt);

        // the loop halts: reports it, stays alive (not ready) until shutdown, stores nothing
        let halted = run_until_halted(w, &mut status).await;
        assert!(
            halted.contains("reorg deeper than the confirmations"),
            "{halted}"
        );
        assert_eq!(state(&store, id).await, None);
        assert_eq!(store.cursor(Chain::Main).await.expect("cursor"), Some(8));
    })
    .await;
}

#[tokio::test]
async fn a_flaky_node_is_retried_by_the_loop_without_losing_a_block() {
    with_sqlite(|store| async move {
        let source = FakeEventSource::new(ROUTE.main_bridge, 40);
        let mut ids = Vec::new();
        for n in 0..40u64 {
            let (event, id) = locked(n, n + 1);
            source.emit(n, n as u8, event.encode_log_data());
            ids.push(id);
        }
        source.fail_next_logs(3);
        let (w, status) = watcher(Chain::Main, source, &store, 0, 7);
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(w.run(shutdown.clone()));
        await_condition(Duration::from_secs(20), || {
            status.borrow().cursor == Some(40)
        })
        .await
        .expect("the watcher catches up despite the failures");
        shutdown.cancel();
        task.await.expect("join").expect("clean exit");
        for id in ids {
            assert_eq!(state(&store, id).await, Some(TransferState::Observed));
        }
    })
    .await;
}

#[tokio::test]
async fn a_transient_error_classifies_as_transient() {
    let source = FakeEventSource::new(ROUTE.main_bridge, 1);
    source.fail_next_logs(1);
    let err = crate::watcher::EventSource::logs(&source, 0, 1)
        .await
        .expect_err("injected failure");
    assert_eq!(err.disposition(), Disposition::Transient);
    assert_eq!(source.pending_failures(), 0);
}

#[tokio::test]
async fn a_forged_signature_event_cannot_keep_the_genuine_one_out() {
    with_sqlite(|store| async move {
        let source = FakeEventSource::new(ROUTE.side_bridge, 3);
        let (burn, id) = burned(0);
        source.emit(1, 0x01, burn.encode_log_data());
        let validator = PrivateKeySigner::random();
        let stranger = PrivateKeySigner::random();
        let sig = |key: &PrivateKeySigner| {
            Bytes::from(key.sign_hash_sync(&id).expect("sign").as_bytes().to_vec())
        };
        // a node lying about the event: the stranger's signature under the validator's name,
        // shown before the validator's own
        let forged = SideBridge::SignatureSubmitted {
            nonce: 0,
            transferId: id,
            validator: validator.address(),
            signature: sig(&stranger),
        };
        let genuine = SideBridge::SignatureSubmitted {
            nonce: 0,
            transferId: id,
            validator: validator.address(),
            signature: sig(&validator),
        };
        let truncated = SideBridge::SignatureSubmitted {
            nonce: 0,
            transferId: id,
            validator: stranger.address(),
            signature: Bytes::from(vec![1u8; 64]),
        };
        source.emit(2, 0x02, forged.encode_log_data());
        source.emit(2, 0x03, genuine.encode_log_data());
        source.emit(2, 0x04, truncated.encode_log_data());
        let (w, _) = watcher(Chain::Side, source, &store, 0, 100);
        assert!(w.step().await.expect("step"));

        assert_eq!(state(&store, id).await, Some(TransferState::Observed));
        // both kept (a release recovers each and uses only the genuine one: see
        // planner::encode::tests::a_forged_signature_is_passed_over_for_the_genuine_one);
        // what is not a signature at all is not kept
        let stored = store.signatures(id).await.expect("signatures");
        assert_eq!(stored.len(), 2);
        assert!(stored.iter().all(|s| s.validator == validator.address()));
        assert!(
            stored
                .iter()
                .any(|s| s.signature == genuine.signature.to_vec())
        );
    })
    .await;
}

#[tokio::test]
async fn a_burn_whose_id_does_not_match_its_content_is_ignored() {
    with_sqlite(|store| async move {
        let source = FakeEventSource::new(ROUTE.side_bridge, 2);
        let (mut burn, honest_id) = burned(0);
        // an event claiming an id for other content (another bridge, or a lying node)
        burn.amount = U256::from(1_000_000);
        source.emit(1, 0x01, burn.encode_log_data());
        let (w, _) = watcher(Chain::Side, source, &store, 0, 100);
        assert!(w.step().await.expect("step"));
        assert_eq!(state(&store, honest_id).await, None);
        let recomputed = transfer_digest(&ROUTE.withdrawal_of(&burn), ROUTE.main_bridge);
        assert_eq!(state(&store, recomputed).await, None);
        assert_eq!(store.cursor(Chain::Side).await.expect("cursor"), Some(2));
    })
    .await;
}

/// A lock whose event names another id than its content hashes to (a bridge deployed for
/// another side bridge, or a lying node) is not stored under either id.
#[tokio::test]
async fn a_lock_whose_id_does_not_match_its_content_is_ignored() {
    with_sqlite(|store| async move {
        let source = FakeEventSource::new(ROUTE.main_bridge, 2);
        let (mut lock, honest_id) = locked(0, 1_000);
        lock.amount = U256::from(1_000_000);
        source.emit(1, 0x01, lock.encode_log_data());
        let (w, _) = watcher(Chain::Main, source, &store, 0, 100);
        assert!(w.step().await.expect("step"));
        assert_eq!(state(&store, honest_id).await, None);
        let recomputed = transfer_digest(&ROUTE.deposit_of(&lock), ROUTE.side_bridge);
        assert_eq!(state(&store, recomputed).await, None);
        assert_eq!(store.cursor(Chain::Main).await.expect("cursor"), Some(2));
    })
    .await;
}

#[tokio::test]
async fn unconfirmed_blocks_give_signatures_and_readiness_and_nothing_else() {
    with_sqlite(|store| async move {
        let source = FakeEventSource::new(ROUTE.side_bridge, 8);
        let (burn, id) = burned(0);
        source.emit(5, 0x05, burn.encode_log_data());
        let (w, _) = watcher(Chain::Side, source, &store, 3, 100);
        assert!(w.step().await.expect("the burn is confirmed"));
        assert_eq!(store.cursor(Chain::Side).await.expect("cursor"), Some(5));
        w.source.mine_to(10);

        // above the confirmed head: a validator's signature and the announcement, a burn
        // that is not confirmed yet, and a signature under a name that did not make it
        let validator = PrivateKeySigner::random();
        let stranger = PrivateKeySigner::random();
        let sign = |key: &PrivateKeySigner| {
            Bytes::from(key.sign_hash_sync(&id).expect("sign").as_bytes().to_vec())
        };
        let genuine = SideBridge::SignatureSubmitted {
            nonce: 0,
            transferId: id,
            validator: validator.address(),
            signature: sign(&validator),
        };
        let forged = SideBridge::SignatureSubmitted {
            nonce: 0,
            transferId: id,
            validator: Address::repeat_byte(0x99),
            signature: sign(&stranger),
        };
        let (young_burn, young_id) = burned(1);
        w.source.emit(9, 0x09, genuine.encode_log_data());
        w.source.emit(9, 0x0A, forged.encode_log_data());
        w.source.emit(
            10,
            0x0B,
            SideBridge::ReadyForRelay {
                nonce: 0,
                transferId: id,
            }
            .encode_log_data(),
        );
        w.source.emit(10, 0x0C, young_burn.encode_log_data());
        w.source.mine_to(11);
        assert!(w.step().await.expect("step"));

        let stored = store.signatures(id).await.expect("signatures");
        assert_eq!(stored.len(), 2, "both records, checked when one is used");
        assert!(stored.iter().any(|s| s.validator == validator.address()));
        assert_eq!(state(&store, id).await, Some(TransferState::Ready));
        assert_eq!(
            state(&store, young_id).await,
            None,
            "a burn waits for its confirmations"
        );
        assert_eq!(store.cursor(Chain::Side).await.expect("cursor"), Some(8));

        // the node takes the unconfirmed blocks back: what was stored stays true (the signature
        // still authorises exactly that confirmed burn); nothing new is invented
        w.source.reorg_from(9);
        w.source.mine_to(12);
        assert!(w.step().await.expect("a reorg above the cursor is no halt"));
        assert_eq!(store.signatures(id).await.expect("signatures").len(), 2);
        assert_eq!(state(&store, young_id).await, None);
    })
    .await;
}

#[tokio::test]
async fn logs_a_lying_node_adds_are_never_stored() {
    with_sqlite(|store| async move {
        let source = FakeEventSource::new(ROUTE.main_bridge, 10);
        let (genuine, genuine_id) = locked(0, 1_000);
        source.emit(2, 0x20, genuine.encode_log_data());
        // what a lying node adds to its answers: the same event from a look-alike contract,
        // one marked removed (a block it reorganised away), one claiming a block never asked for
        let forged = |nonce: u64, address: Address, block: u64, removed: bool| {
            let (event, id) = locked(nonce, 9_999);
            let log = alloy::rpc::types::Log {
                inner: alloy::primitives::Log {
                    address,
                    data: event.encode_log_data(),
                },
                block_hash: Some(B256::repeat_byte(0xEE)),
                block_number: Some(block),
                block_timestamp: None,
                transaction_hash: Some(B256::repeat_byte(0xEE)),
                transaction_index: Some(0),
                log_index: Some(0),
                removed,
            };
            (log, id)
        };
        let mut forged_ids = Vec::new();
        for (log, id) in [
            forged(1, Address::repeat_byte(0x99), 3, false),
            forged(2, ROUTE.main_bridge, 3, true),
            forged(3, ROUTE.main_bridge, 500, false),
        ] {
            source.forge(log);
            forged_ids.push(id);
        }
        let (w, _status) = watcher(Chain::Main, source, &store, 2, 100);
        assert!(w.step().await.expect("step"));

        assert_eq!(
            state(&store, genuine_id).await,
            Some(TransferState::Observed)
        );
        for id in forged_ids {
            assert_eq!(state(&store, id).await, None, "a forged lock was stored");
        }
        assert_eq!(store.fee_entries().await.expect("fees").len(), 1);
    })
    .await;
}

/// A log with the bridge's address, in range, not removed, but naming a block hash the node's
/// own header at that height does not have: a fork's log (or a lie). The whole range waits
/// until the node's answers agree; the genuine log of the range is not lost meanwhile.
#[tokio::test]
async fn a_log_of_another_fork_stores_nothing_until_the_node_agrees() {
    with_sqlite(|store| async move {
        let source = FakeEventSource::new(ROUTE.main_bridge, 10);
        let (genuine, genuine_id) = locked(0, 1_000);
        source.emit(2, 0x20, genuine.encode_log_data());
        let (event, forged_id) = locked(1, 9_999);
        source.forge(alloy::rpc::types::Log {
            inner: alloy::primitives::Log {
                address: ROUTE.main_bridge,
                data: event.encode_log_data(),
            },
            block_hash: Some(B256::repeat_byte(0xEE)),
            block_number: Some(3),
            block_timestamp: None,
            transaction_hash: Some(B256::repeat_byte(0xEE)),
            transaction_index: Some(0),
            log_index: Some(7),
            removed: false,
        });
        let (w, _status) = watcher(Chain::Main, source, &store, 2, 100);

        let err = w.step().await.expect_err("the answers disagree");
        assert!(
            matches!(err, WatchError::Inconsistent { number: 3, .. }),
            "{err}"
        );
        assert_eq!(err.disposition(), Disposition::Transient);
        assert_eq!(store.cursor(Chain::Main).await.expect("cursor"), None);
        assert_eq!(state(&store, genuine_id).await, None);

        w.source.stop_forging();
        assert!(w.step().await.expect("step"));
        assert_eq!(store.cursor(Chain::Main).await.expect("cursor"), Some(8));
        assert_eq!(
            state(&store, genuine_id).await,
            Some(TransferState::Observed)
        );
        assert_eq!(state(&store, forged_id).await, None);
        // the block holding the log is remembered with the hash the log named
        let seen = store.seen_blocks(Chain::Main, 2, 2).await.expect("seen");
        assert_eq!(seen.len(), 1, "{seen:?}");
        // and the fee carries that block's own timestamp, not the range end's
        let fees = store.fee_entries().await.expect("fees");
        assert_eq!(fees[0].timestamp, 1_700_000_002);
    })
    .await;
}

/// The chain is reverted below the processed cursor and a different lock takes the same
/// nonce: the watcher halts instead of reading on, and stores nothing of the new chain.
#[tokio::test]
async fn a_reorg_to_a_shorter_chain_halts() {
    with_sqlite(|store| async move {
        let source = FakeEventSource::new(ROUTE.main_bridge, 10);
        let (first, first_id) = locked(0, 1_000);
        source.emit(4, 0x04, first.encode_log_data());
        let (w, mut status) = watcher(Chain::Main, source, &store, 2, 100);
        assert!(w.step().await.expect("step"));
        assert_eq!(store.cursor(Chain::Main).await.expect("cursor"), Some(8));
        assert_eq!(state(&store, first_id).await, Some(TransferState::Observed));

        w.source.truncate(3);
        w.source.mine_to(5);
        let (replacement, replacement_id) = locked(0, 5_000_000);
        w.source.emit(4, 0x44, replacement.encode_log_data());
        let err = w.step().await.expect_err("block 8 is gone");
        assert!(
            matches!(err, WatchError::Shorter { number: 8, head: 5 }),
            "{err}"
        );
        assert_eq!(err.disposition(), Disposition::Halt);

        let halted = run_until_halted(w, &mut status).await;
        assert!(halted.contains("shorter chain"), "{halted}");
        assert_eq!(state(&store, replacement_id).await, None);
        assert_eq!(store.cursor(Chain::Main).await.expect("cursor"), Some(8));
    })
    .await;
}

/// A node whose head answer lags below the cursor but still serves the processed block is
/// behind, not reorganised: no halt, nothing read, and the watcher goes on once it catches up.
#[tokio::test]
async fn a_lagging_head_below_the_cursor_is_not_a_halt() {
    with_sqlite(|store| async move {
        let source = FakeEventSource::new(ROUTE.main_bridge, 10);
        let (w, _status) = watcher(Chain::Main, source, &store, 2, 100);
        assert!(w.step().await.expect("step"));
        w.source.answer_head(Some(4));
        assert!(w.step().await.expect("a lagging node is no reorg"));
        assert_eq!(store.cursor(Chain::Main).await.expect("cursor"), Some(8));
        w.source.answer_head(None);
        w.source.mine_to(12);
        assert!(w.step().await.expect("step"));
        assert_eq!(store.cursor(Chain::Main).await.expect("cursor"), Some(10));
    })
    .await;
}
