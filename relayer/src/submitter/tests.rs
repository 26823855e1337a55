//! The submitter against an in-memory chain ([`FakeChain`]) and a real SQLite store: pipelined
//! nonces, replacement, freeing a stuck nonce, following attempts across a restart, and the
//! ledger charging exactly what mined.

use std::{sync::Arc, time::Duration};

use alloy::{
    primitives::{Address, B256, Bytes, U256},
    signers::local::PrivateKeySigner,
    sol_types::SolError,
};
use sidebridge_contracts::bindings::MainBridge;

use super::{
    fake::{FakeChain, GAS_USED, repeated},
    *,
};
use crate::store::Store;

#[derive(Debug, Default)]
struct Counts(Mutex<(u32, u32, u32, u32)>);

impl TxObserver for Counts {
    fn sent(&self, _: Chain, _: TxKind) {
        self.0.lock().expect("lock").0 += 1;
    }
    fn replaced(&self, _: Chain, _: TxKind) {
        self.0.lock().expect("lock").1 += 1;
    }
    fn failed(&self, _: Chain, _: TxKind) {
        self.0.lock().expect("lock").2 += 1;
    }
    fn mined(&self, _: Chain, _: TxKind, _: U256) {
        self.0.lock().expect("lock").3 += 1;
    }
}

const BASE_FEE: u128 = 1_000;
const CAP: u128 = 100_000;

struct Rig {
    chain: FakeChain,
    store: Store,
    key: PrivateKeySigner,
    observer: Arc<Counts>,
    _dir: tempfile::TempDir,
}

async fn rig() -> Rig {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("relayer.db");
    let store = Store::connect(path.to_str().expect("utf-8"))
        .await
        .expect("open SQLite");
    store.migrate().await.expect("migrate");
    Rig {
        chain: FakeChain::new(BASE_FEE),
        store,
        key: PrivateKeySigner::random(),
        observer: Arc::new(Counts::default()),
        _dir: dir,
    }
}

fn config(max_in_flight: usize, tx_timeout: Duration, cap: u128) -> SubmitConfig {
    SubmitConfig {
        chain: Chain::Main,
        chain_id: 31_337,
        max_fee_per_gas: cap,
        tx_timeout,
        fee_bump_percent: 20,
        max_in_flight,
        poll_interval: Duration::from_millis(10),
        drain_timeout: Duration::from_secs(5),
        confirmations: 3,
    }
}

impl Rig {
    fn submitter(&self, config: SubmitConfig) -> Submitter<FakeChain> {
        Submitter::new(
            config,
            self.chain.clone(),
            self.key.clone(),
            self.store.clone(),
            self.observer.clone(),
        )
    }
}

fn request(n: u8) -> TxRequest {
    TxRequest {
        kind: TxKind::Release,
        to: Address::repeat_byte(0xB0),
        input: Bytes::from(vec![n; 4]),
        transfers: vec![(B256::repeat_byte(n), Address::repeat_byte(0xAA))],
    }
}

fn queue(s: &mut Submitter<FakeChain>, requests: impl IntoIterator<Item = TxRequest>) {
    for r in requests {
        s.in_flight.add(r.transfers.iter().map(|(id, _)| *id));
        s.queue.push_back(r);
    }
}

async fn statuses(store: &Store) -> Vec<AttemptStatus> {
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT status FROM attempts ORDER BY sent_at, tx_hash")
            .fetch_all(store.pool())
            .await
            .expect("read attempts");
    rows.iter().map(|s| s.parse().expect("a status")).collect()
}

async fn status_of(store: &Store, hash: B256) -> AttemptStatus {
    let text: String = sqlx::query_scalar("SELECT status FROM attempts WHERE tx_hash = $1")
        .bind(alloy::hex::encode_prefixed(hash))
        .fetch_one(store.pool())
        .await
        .expect("read the attempt");
    text.parse().expect("a status")
}

#[tokio::test]
async fn consecutive_nonces_are_pipelined_and_each_is_charged_when_mined() {
    let r = rig().await;
    let mut s = r.submitter(config(8, Duration::from_secs(60), CAP));
    queue(&mut s, (1..=3).map(request));
    s.step().await.expect("step");
    assert_eq!(r.chain.pool_nonces(), vec![0, 1, 2], "three out at once");
    assert_eq!(s.in_flight.len(), 3);

    r.chain.mine();
    s.step().await.expect("step");
    assert!(s.pending.is_empty());
    assert!(s.in_flight.is_empty());
    let costs = r.store.cost_entries().await.expect("costs");
    assert_eq!(costs.len(), 3);
    let price = CAP.min(BASE_FEE + 1);
    for c in &costs {
        assert_eq!(c.cost_wei, U256::from(GAS_USED) * U256::from(price));
    }
    assert_eq!(statuses(&r.store).await, vec![AttemptStatus::Mined; 3]);
    assert_eq!(*r.observer.0.lock().expect("lock"), (3, 0, 0, 3));
}

#[tokio::test]
async fn no_more_than_max_in_flight_are_out_at_once() {
    let r = rig().await;
    let mut s = r.submitter(config(2, Duration::from_secs(60), CAP));
    queue(&mut s, (1..=3).map(request));
    s.step().await.expect("step");
    assert_eq!(r.chain.pool_nonces(), vec![0, 1]);
    assert_eq!(s.queue.len(), 1);
    r.chain.mine();
    s.step().await.expect("step");
    assert_eq!(
        r.chain.pool_nonces(),
        vec![2],
        "the third goes out as room frees"
    );
}

#[tokio::test]
async fn a_slow_transaction_is_replaced_and_only_the_mined_one_is_charged() {
    let r = rig().await;
    let mut s = r.submitter(config(8, Duration::ZERO, CAP));
    queue(&mut s, [request(1)]);
    s.step().await.expect("send");
    s.step().await.expect("replace");
    let broadcasts = r.chain.broadcasts();
    assert_eq!(broadcasts.len(), 2, "one replacement");
    assert!(repeated(&broadcasts).is_empty());
    let replacement = broadcasts[1];
    assert_eq!(r.chain.mine(), vec![replacement], "the bumped offer mines");
    s.step().await.expect("settle");
    assert_eq!(
        status_of(&r.store, broadcasts[0]).await,
        AttemptStatus::Replaced
    );
    assert_eq!(status_of(&r.store, replacement).await, AttemptStatus::Mined);
    let costs = r.store.cost_entries().await.expect("costs");
    assert_eq!(costs.len(), 1);
    assert_eq!(costs[0].tx_hash, replacement);
    assert_eq!(r.observer.0.lock().expect("lock").1, 1);
}

#[tokio::test]
async fn at_the_cap_a_nonce_whose_work_is_done_is_freed_with_a_self_transfer() {
    let r = rig().await;
    // the first offer is already at the cap: no replacement a node would take
    let cap = 2 * BASE_FEE + 1;
    let mut s = r.submitter(config(8, Duration::ZERO, cap));
    queue(&mut s, [request(1)]);
    s.step().await.expect("send");
    // another relayer released it meanwhile: the call now reverts
    r.chain.set_revert(Some(
        MainBridge::AlreadyProcessed { nonce: 1 }
            .abi_encode()
            .into(),
    ));
    s.step().await.expect("cancel");
    assert_eq!(r.chain.broadcasts().len(), 2);
    r.chain.mine();
    assert_eq!(
        r.chain.mined_recipients(),
        vec![r.key.address()],
        "a self-transfer mined"
    );
    s.step().await.expect("settle");
    assert!(s.pending.is_empty());
    assert!(s.in_flight.is_empty());
    let costs = r.store.cost_entries().await.expect("costs");
    assert_eq!(costs.len(), 1, "the freeing transaction is charged too");
    // the next request takes the next nonce
    r.chain.set_revert(None);
    queue(&mut s, [request(2)]);
    s.step().await.expect("send");
    assert_eq!(r.chain.pool_nonces(), vec![1]);
}

#[tokio::test]
async fn an_attempt_pending_at_a_restart_is_followed_and_charged() {
    let r = rig().await;
    let mut first = r.submitter(config(8, Duration::from_secs(60), CAP));
    queue(&mut first, [request(1), request(2)]);
    first.step().await.expect("send");
    drop(first); // killed with two transactions out

    let mut second = r.submitter(config(8, Duration::from_secs(60), CAP));
    second.resume().await.expect("resume");
    assert_eq!(second.pending.len(), 2);
    assert_eq!(second.in_flight.len(), 2, "the planner sees them in flight");
    r.chain.mine();
    second.step().await.expect("settle");
    assert!(second.pending.is_empty());
    assert_eq!(r.store.cost_entries().await.expect("costs").len(), 2);
    assert_eq!(statuses(&r.store).await, vec![AttemptStatus::Mined; 2]);
    // and new work continues after them, never reusing a nonce
    queue(&mut second, [request(3)]);
    second.step().await.expect("send");
    assert_eq!(r.chain.pool_nonces(), vec![2]);
}

#[tokio::test]
async fn a_transaction_the_node_forgot_is_sent_again() {
    let r = rig().await;
    let mut s = r.submitter(config(8, Duration::ZERO, CAP));
    queue(&mut s, [request(1)]);
    s.step().await.expect("send");
    let sent = r.chain.broadcasts();
    r.chain.forget_pool();
    s.step().await.expect("resend");
    let again = r.chain.broadcasts();
    assert_eq!(again.len(), 2);
    assert_eq!(again[1], sent[0], "the same signed transaction");
    r.chain.mine();
    s.step().await.expect("settle");
    assert_eq!(statuses(&r.store).await, vec![AttemptStatus::Mined]);
}

#[tokio::test]
async fn a_call_that_would_revert_is_not_sent() {
    let r = rig().await;
    let mut s = r.submitter(config(8, Duration::from_secs(60), CAP));
    r.chain.set_revert(Some(
        MainBridge::AlreadyProcessed { nonce: 1 }
            .abi_encode()
            .into(),
    ));
    queue(&mut s, [request(1)]);
    s.step().await.expect("step");
    assert!(r.chain.broadcasts().is_empty());
    assert!(s.in_flight.is_empty(), "the planner may plan it again");
    assert!(statuses(&r.store).await.is_empty());
}

#[tokio::test]
async fn the_task_takes_work_without_making_the_caller_wait_for_mining() {
    let r = rig().await;
    let s = r.submitter(config(8, Duration::from_secs(60), CAP));
    let shutdown = CancellationToken::new();
    let (handle, task) = s.spawn(shutdown.clone());
    for n in 1..=5 {
        // nothing is mined: every enqueue still returns at once
        tokio::time::timeout(Duration::from_secs(5), handle.enqueue(request(n)))
            .await
            .expect("enqueue does not wait for mining")
            .expect("enqueued");
    }
    assert_eq!(handle.in_flight().len(), 5);
    let chain = r.chain.clone();
    crate::testing::await_condition(Duration::from_secs(10), || chain.pool_nonces().len() == 5)
        .await
        .expect("all five sent");
    r.chain.mine();
    let in_flight = handle.in_flight().clone();
    crate::testing::await_condition(Duration::from_secs(10), || in_flight.is_empty())
        .await
        .expect("all five settled");
    shutdown.cancel();
    task.await.expect("join").expect("clean stop");
}

/// Spawns `s`, hands it `n` requests and waits until all are broadcast.
async fn spawn_with_sent(
    r: &Rig,
    s: Submitter<FakeChain>,
    n: u8,
) -> (
    CancellationToken,
    tokio::task::JoinHandle<Result<(), String>>,
) {
    let shutdown = CancellationToken::new();
    let (handle, task) = s.spawn(shutdown.clone());
    for i in 1..=n {
        handle.enqueue(request(i)).await.expect("enqueued");
    }
    let chain = r.chain.clone();
    crate::testing::await_condition(Duration::from_secs(10), || {
        chain.pool_nonces().len() == usize::from(n)
    })
    .await
    .expect("all sent");
    (shutdown, task)
}

#[tokio::test]
async fn a_stop_waits_for_what_is_out_to_mine_and_charges_it() {
    let r = rig().await;
    let s = r.submitter(config(8, Duration::from_secs(60), CAP));
    let (shutdown, task) = spawn_with_sent(&r, s, 3).await;
    // SIGTERM arrives while three transactions are in the pool; they mine a moment later
    shutdown.cancel();
    let chain = r.chain.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        chain.mine();
    });
    task.await.expect("join").expect("clean stop");
    let costs = r.store.cost_entries().await.expect("costs");
    assert_eq!(costs.len(), 3, "what mined while stopping is in the ledger");
    assert_eq!(statuses(&r.store).await, vec![AttemptStatus::Mined; 3]);
}

#[tokio::test]
async fn a_stop_gives_up_at_the_drain_timeout_and_leaves_the_attempts_to_the_next_run() {
    let r = rig().await;
    let mut cfg = config(8, Duration::from_secs(60), CAP);
    cfg.drain_timeout = Duration::from_millis(200);
    let s = r.submitter(cfg.clone());
    let (shutdown, task) = spawn_with_sent(&r, s, 2).await;
    shutdown.cancel();
    task.await.expect("join").expect("clean stop");
    assert_eq!(statuses(&r.store).await, vec![AttemptStatus::Pending; 2]);
    assert!(r.store.cost_entries().await.expect("costs").is_empty());

    // they mine while nothing runs; the next run follows and charges them
    r.chain.mine();
    let mut next = r.submitter(cfg);
    next.resume().await.expect("resume");
    next.step().await.expect("settle");
    assert_eq!(statuses(&r.store).await, vec![AttemptStatus::Mined; 2]);
    assert_eq!(r.store.cost_entries().await.expect("costs").len(), 2);
}

/// A reorg drops two mined, charged transactions (the account's nonce goes back) while a third
/// waits behind them: their charges are withdrawn, the same signed transactions go out again
/// under the same nonces, the one behind them is not stuck behind a gap, and once everything
/// is mined again each is charged once.
#[tokio::test]
async fn a_mined_transaction_a_reorg_drops_is_sent_again_and_charged_once() {
    let r = rig().await;
    let mut s = r.submitter(config(8, Duration::from_secs(60), CAP));
    queue(&mut s, [request(1), request(2)]);
    s.step().await.expect("send");
    let first = r.chain.mine();
    s.step().await.expect("settle");
    assert_eq!(r.store.cost_entries().await.expect("costs").len(), 2);
    assert!(s.in_flight.is_empty());

    queue(&mut s, [request(3)]);
    s.step().await.expect("send the third");
    r.chain.reorg_out(1);
    s.step().await.expect("notice the reorg");
    assert!(
        r.store.cost_entries().await.expect("costs").is_empty(),
        "charges withdrawn"
    );
    for hash in &first {
        assert_eq!(status_of(&r.store, *hash).await, AttemptStatus::Pending);
    }
    assert_eq!(s.in_flight.len(), 3, "the planner leaves them alone again");
    assert_eq!(
        r.chain.pool_nonces(),
        vec![0, 1, 2],
        "the same nonces, no gap"
    );

    let again = r.chain.mine();
    assert_eq!(&again[..2], &first[..], "the same signed transactions");
    s.step().await.expect("settle");
    let costs = r.store.cost_entries().await.expect("costs");
    assert_eq!(costs.len(), 3, "each charged once");
    assert!(repeated(&costs.iter().map(|c| c.tx_hash).collect::<Vec<_>>()).is_empty());

    // buried under the confirmations: final, and nothing more is read for them
    r.chain.mine_empty(3);
    s.step().await.expect("finalize");
    assert!(s.settled.is_empty());
    assert_eq!(r.store.cost_entries().await.expect("costs").len(), 3);
}

/// Killed with two transactions out, a relayer starts again: the planner, which waits for
/// `resumed`, finds both in flight from its first round, so it plans nothing for them again.
#[tokio::test]
async fn after_a_restart_what_is_out_is_in_flight_before_the_planner_may_plan() {
    let r = rig().await;
    let mut first = r.submitter(config(8, Duration::from_secs(60), CAP));
    queue(&mut first, [request(1), request(2)]);
    first.step().await.expect("send");
    drop(first); // killed

    let second = r.submitter(config(8, Duration::from_secs(60), CAP));
    let shutdown = CancellationToken::new();
    let (handle, task) = second.spawn(shutdown.clone());
    tokio::time::timeout(Duration::from_secs(5), handle.in_flight().resumed())
        .await
        .expect("resumed");
    assert_eq!(handle.in_flight().len(), 2);
    let snapshot = handle.in_flight().snapshot();
    assert!(snapshot.contains(&B256::repeat_byte(1)) && snapshot.contains(&B256::repeat_byte(2)));
    shutdown.cancel();
    task.await.expect("join").expect("clean stop");
    // followed (and, checked at once after a restart, bumped) under their own nonces: no
    // work went out again under a new one
    assert_eq!(r.chain.pool_nonces(), vec![0, 1]);
}

/// The finding as reproduced: votes queued while the main chain was trusted, then the main
/// chain reorganised below what was processed (its watcher halted) while the account had no
/// gas. Once the gate says the source is not trusted, nothing queued is broadcast, and the
/// transfers are freed for the planner to plan again when the chain is ready.
#[tokio::test]
async fn nothing_queued_is_sent_while_its_source_chain_is_not_ready() {
    let r = rig().await;
    let readiness = Arc::new(crate::health::Readiness::default());
    readiness.set_ready(Chain::Main, true, "caught up");
    readiness.set_ready(Chain::Side, true, "caught up");
    let mut s = r
        .submitter(config(8, Duration::from_secs(60), CAP))
        .with_gate(readiness.clone());
    let vote = |n: u8| TxRequest {
        kind: TxKind::ApproveDeposits,
        ..request(n)
    };
    let execution = |n: u8| TxRequest {
        kind: TxKind::ExecuteQueuedMint,
        ..request(n)
    };
    queue(&mut s, [vote(1), vote(2), execution(3)]);
    readiness.set_halted(Chain::Main, "reorg to a shorter chain");
    s.step().await.expect("step");
    assert_eq!(
        r.chain.pool_nonces(),
        vec![0],
        "only the execution, which carries no judgement of the main chain, went out"
    );
    assert!(s.queue.is_empty());
    assert_eq!(s.in_flight.snapshot(), [B256::repeat_byte(3)].into());

    // a signature for a burn is held while the side chain's node lags or lies
    readiness.set_ready(
        Chain::Side,
        false,
        "the node's head 3 is below block 9 already processed",
    );
    queue(
        &mut s,
        [TxRequest {
            kind: TxKind::SubmitSignatures,
            ..request(4)
        }],
    );
    s.step().await.expect("step");
    assert_eq!(r.chain.pool_nonces(), vec![0]);
    assert!(!s.in_flight.snapshot().contains(&B256::repeat_byte(4)));
}

/// The HA finding: a node that loses its lease aborts its task set, and its submitter must
/// stop with it even inside a slow broadcast. (A submitter spawned on its own behind a wrapper
/// task outlived the wrapper's abort and broadcast once the node answered, after the standby
/// had taken over.) The attempt was persisted before the broadcast, so the node that takes
/// over sends it, under the same nonce, once.
#[tokio::test]
async fn a_submitter_aborted_inside_a_slow_broadcast_sends_nothing_afterwards() {
    let r = rig().await;
    let (entered, _release) = r.chain.hold_broadcasts();
    let old = r.submitter(config(8, Duration::from_secs(60), CAP));
    let shutdown = CancellationToken::new();
    // spawned as the node does: a stage in the active task set
    let (handle, stage) = old.task();
    let mut active: crate::stage::Tasks = tokio::task::JoinSet::new();
    crate::stage::spawn(&mut active, stage, shutdown.clone(), &Default::default());
    let broadcasting = entered.notified();
    handle.enqueue(request(1)).await.expect("enqueued");
    tokio::time::timeout(Duration::from_secs(10), broadcasting)
        .await
        .expect("the submitter is inside the broadcast");

    // the lease is lost: the node aborts its task set
    active.abort_all();
    while active.join_next().await.is_some() {}
    // the node answers the slow call now; the old submitter is gone and sends nothing
    r.chain.answer_broadcasts();
    tokio::task::yield_now().await;
    assert!(r.chain.broadcasts().is_empty(), "nothing left the old node");

    // the standby takes over: the persisted attempt goes out once, under its nonce
    let mut standby = r.submitter(config(8, Duration::from_secs(60), CAP));
    standby.resume().await.expect("resume");
    standby.step().await.expect("step");
    assert_eq!(r.chain.pool_nonces(), vec![0]);
    assert_eq!(r.chain.broadcasts().len(), 1);
    r.chain.mine();
    standby.step().await.expect("step");
    assert_eq!(r.store.cost_entries().await.expect("costs").len(), 1);
}

/// Mined and charged, then the relayer restarts before the transaction is final, and a reorg
/// drops it: the new run watches what the old one saw mined (it is persisted) and sends it
/// again, charged once. Before, a restart forgot it and the transfers stayed "done" with
/// their transaction gone.
#[tokio::test]
async fn a_reorg_after_a_restart_still_finds_what_mined_before_it() {
    let r = rig().await;
    let mut old = r.submitter(config(8, Duration::from_secs(60), CAP));
    queue(&mut old, [request(1)]);
    old.step().await.expect("send");
    let first = r.chain.mine();
    old.step().await.expect("settle");
    assert_eq!(r.store.cost_entries().await.expect("costs").len(), 1);
    drop(old); // restarted before the transaction is 3 blocks deep

    let mut new = r.submitter(config(8, Duration::from_secs(60), CAP));
    new.resume().await.expect("resume");
    assert_eq!(new.settled.len(), 1, "watched until final");
    r.chain.reorg_out(1);
    new.step().await.expect("notice the reorg");
    assert!(r.store.cost_entries().await.expect("costs").is_empty());
    assert_eq!(status_of(&r.store, first[0]).await, AttemptStatus::Pending);
    assert_eq!(r.chain.pool_nonces(), vec![0], "sent again under its nonce");
    let again = r.chain.mine();
    assert_eq!(again, first, "the same signed transaction");
    new.step().await.expect("settle");
    assert_eq!(r.store.cost_entries().await.expect("costs").len(), 1);

    // once final, a restart has nothing to watch
    r.chain.mine_empty(3);
    new.step().await.expect("finalize");
    drop(new);
    let mut last = r.submitter(config(8, Duration::from_secs(60), CAP));
    last.resume().await.expect("resume");
    assert!(last.settled.is_empty());
}
