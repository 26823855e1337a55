//! One submitter per chain: the only owner of this validator's account nonce there, and of its
//! queue of work. The planner enqueues a [`TxRequest`] and moves on; the submitter simulates
//! it, prices it ([`fees`]), writes the signed attempt to the database, broadcasts it and keeps
//! up to `max_in_flight` transactions out at once (consecutive nonces). It follows each until
//! one of its attempts is mined, charges `gasUsed × effectiveGasPrice` to the transfers it
//! served, replaces a slow one with a bumped fee, and — once the fee is at the cap and the work
//! is no longer needed — frees its nonce with a zero-value self-transfer.
//!
//! Everything it does is driven from the attempts table: after a restart the attempts still
//! pending are followed again (broadcast anew if the node forgot them) and charged when they
//! mine. Every wait observes cancellation; one chain's submitter never waits for the other's.

pub mod fees;
mod follow;
mod send;
mod sink;
mod task;

use std::{
    collections::{BTreeMap, HashMap, HashSet, VecDeque},
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use alloy::{
    network::{EthereumWallet, TransactionBuilder, TxSigner},
    primitives::{Address, B256, Bytes, U256},
    rpc::types::TransactionRequest,
    signers::Signature,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use self::send::decode_call;
pub use self::{
    fees::{Fees, MIN_REPLACEMENT_BUMP},
    sink::{Mined, RpcSink, SinkError, TxSink},
    task::SubmitterStage,
};
use crate::{
    domain::{Chain, CostEntry, TxKind, split_cost},
    rpc::{Classify, Disposition},
    store::{AttemptStatus, Store, StoreError, TxAttempt},
    watcher::unix_now,
};

/// A transaction the planner wants sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxRequest {
    pub kind: TxKind,
    pub to: Address,
    pub input: Bytes,
    /// The transfers it serves, with their token, for the cost ledger.
    pub transfers: Vec<(B256, Address)>,
}

/// Why a submitter step failed.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error("signing a transaction: {0}")]
    Sign(String),
    #[error("the {0} submitter stopped")]
    Stopped(Chain),
}

impl Classify for SubmitError {
    fn disposition(&self) -> Disposition {
        match self {
            SubmitError::Store(e) => e.disposition(),
            SubmitError::Sink(_) => Disposition::Transient,
            SubmitError::Sign(_) | SubmitError::Stopped(_) => Disposition::Fatal,
        }
    }
}

/// What the submitter tells the metrics.
pub trait TxObserver: Send + Sync {
    fn sent(&self, chain: Chain, kind: TxKind);
    fn replaced(&self, chain: Chain, kind: TxKind);
    fn failed(&self, chain: Chain, kind: TxKind);
    fn mined(&self, chain: Chain, kind: TxKind, cost_wei: U256);
}

/// Whether a request may be broadcast now. Checked for every queued request just before it is
/// sent, so work the planner queued while a chain was trusted is not sent after it stopped
/// being trusted (a reorg halt, a node that fell behind): the request is dropped and the
/// planner plans it again once the chain is ready.
pub trait SendGate: Send + Sync {
    /// `Some(why)` while requests of `kind` must not be sent.
    fn refuses(&self, kind: TxKind) -> Option<String>;
}

impl SendGate for crate::health::Readiness {
    fn refuses(&self, kind: TxKind) -> Option<String> {
        kind.source().and_then(|chain| self.trusted(chain).err())
    }
}

/// Settings of one chain's submitter.
#[derive(Debug, Clone)]
pub struct SubmitConfig {
    pub chain: Chain,
    pub chain_id: u64,
    pub max_fee_per_gas: u128,
    /// A transaction not mined after this long is replaced with a bumped fee.
    pub tx_timeout: Duration,
    pub fee_bump_percent: u64,
    /// Transactions out at once (consecutive nonces).
    pub max_in_flight: usize,
    /// How often receipts are looked for.
    pub poll_interval: Duration,
    /// On shutdown, how long transactions already out are followed so that what mines is
    /// charged before the process ends (queued work is not sent; the next run plans it again).
    pub drain_timeout: Duration,
    /// Blocks a mined transaction must be buried under before it is final; until then a
    /// reorg that drops it is noticed and the transaction sent again.
    pub confirmations: u64,
}

/// The transfers queued or in flight on one chain, for the planner: it plans nothing for them
/// until their transaction is settled. Shared between the handle and the task; the planner can
/// wait for work to be freed ([`Self::freed`]).
#[derive(Debug, Clone, Default)]
pub struct InFlight {
    ids: Arc<Mutex<HashMap<B256, usize>>>,
    freed: Arc<tokio::sync::Notify>,
    /// Set once the submitter has taken back what a previous run left pending.
    resumed: Arc<(std::sync::atomic::AtomicBool, tokio::sync::Notify)>,
}

impl InFlight {
    fn set_resumed(&self) {
        self.resumed
            .0
            .store(true, std::sync::atomic::Ordering::Release);
        self.resumed.1.notify_waiters();
    }

    /// Returns once the submitter has taken back the attempts a previous run left pending
    /// (they are in the set from then on): a planner that plans before would sign and send
    /// again what is already out.
    pub async fn resumed(&self) {
        use std::sync::atomic::Ordering;
        loop {
            let notified = self.resumed.1.notified();
            if self.resumed.0.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }

    fn add(&self, ids: impl IntoIterator<Item = B256>) {
        let mut map = self.ids.lock().unwrap_or_else(PoisonError::into_inner);
        for id in ids {
            *map.entry(id).or_default() += 1;
        }
    }

    fn remove(&self, ids: impl IntoIterator<Item = B256>) {
        let mut map = self.ids.lock().unwrap_or_else(PoisonError::into_inner);
        let mut freed = false;
        for id in ids {
            if let Some(n) = map.get_mut(&id) {
                *n -= 1;
                if *n == 0 {
                    map.remove(&id);
                    freed = true;
                }
            }
        }
        if freed {
            // a permit: a planner busy with a round sees it when it next waits
            self.freed.notify_one();
        }
    }

    /// Returns once some transfer left the set (at once if one did since the last call).
    pub async fn freed(&self) {
        self.freed.notified().await;
    }

    /// Every transfer with work queued or in flight.
    pub fn snapshot(&self) -> HashSet<B256> {
        self.ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .copied()
            .collect()
    }

    pub fn len(&self) -> usize {
        self.ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Hands requests to a running submitter.
#[derive(Debug, Clone)]
pub struct SubmitterHandle {
    chain: Chain,
    jobs: mpsc::Sender<TxRequest>,
    in_flight: InFlight,
}

impl SubmitterHandle {
    /// Queues a request and returns at once (waiting only while the bounded queue is full).
    pub async fn enqueue(&self, request: TxRequest) -> Result<(), SubmitError> {
        let ids: Vec<B256> = request.transfers.iter().map(|(id, _)| *id).collect();
        self.in_flight.add(ids.iter().copied());
        if self.jobs.send(request).await.is_err() {
            self.in_flight.remove(ids);
            return Err(SubmitError::Stopped(self.chain));
        }
        Ok(())
    }

    pub fn in_flight(&self) -> &InFlight {
        &self.in_flight
    }
}

/// One nonce's transaction, with every attempt sent for it.
#[derive(Debug, Clone)]
struct Pending {
    kind: TxKind,
    to: Address,
    input: Bytes,
    gas_limit: u64,
    transfers: Vec<(B256, Address)>,
    /// Hashes and fees, oldest first; the last is the current offer.
    attempts: Vec<(B256, Fees, Vec<u8>)>,
    last_sent: Instant,
    /// Replaced by a zero-value self-transfer: the work was no longer needed.
    canceled: bool,
    /// Warned that it sits at the fee cap.
    warned: bool,
}

/// The submitter of one chain over any [`TxSink`].
pub struct Submitter<S> {
    config: SubmitConfig,
    sink: S,
    wallet: EthereumWallet,
    account: Address,
    store: Store,
    observer: Arc<dyn TxObserver>,
    in_flight: InFlight,
    queue: VecDeque<TxRequest>,
    pending: BTreeMap<u64, Pending>,
    /// Mined and charged, not yet `confirmations` deep: watched for a reorg that drops them.
    settled: BTreeMap<u64, (Pending, Mined)>,
    next_nonce: Option<u64>,
    gate: Option<Arc<dyn SendGate>>,
}

impl<S> std::fmt::Debug for Submitter<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Submitter")
            .field("chain", &self.config.chain)
            .field("account", &self.account)
            .field("queued", &self.queue.len())
            .field("pending", &self.pending.len())
            .field("next_nonce", &self.next_nonce)
            .finish_non_exhaustive()
    }
}

/// Requests waiting in the channel before the planner has to wait.
const QUEUE_CAPACITY: usize = 256;

impl<S: TxSink + 'static> Submitter<S> {
    pub fn new(
        config: SubmitConfig,
        sink: S,
        key: impl TxSigner<Signature> + Send + Sync + 'static,
        store: Store,
        observer: Arc<dyn TxObserver>,
    ) -> Self {
        Self {
            config,
            sink,
            account: key.address(),
            wallet: EthereumWallet::from(key),
            store,
            observer,
            in_flight: InFlight::default(),
            queue: VecDeque::new(),
            pending: BTreeMap::new(),
            settled: BTreeMap::new(),
            next_nonce: None,
            gate: None,
        }
    }

    /// Checks every queued request against `gate` just before it is sent.
    pub fn with_gate(mut self, gate: Arc<dyn SendGate>) -> Self {
        self.gate = Some(gate);
        self
    }

    /// The submitter as a [`crate::stage::Stage`] for the caller's supervisor to own, with
    /// its handle. The stage stops when cancelled, after following what is out for at most
    /// [`SubmitConfig::drain_timeout`] (what is still pending then is persisted: a restart
    /// follows it), when every handle is dropped, or with an error that needs an operator.
    ///
    /// Not spawned here on purpose: whoever aborts the task set (a node that lost its HA lease)
    /// must abort the submitter itself, at its next await, even inside a slow RPC call. A
    /// submitter spawned on its own behind a wrapper task outlived the wrapper's abort and
    /// could broadcast after the standby took over.
    pub fn task(self) -> (SubmitterHandle, SubmitterStage<S>) {
        let (jobs, rx) = mpsc::channel(QUEUE_CAPACITY);
        let handle = SubmitterHandle {
            chain: self.config.chain,
            jobs,
            in_flight: self.in_flight.clone(),
        };
        (handle, SubmitterStage::new(self, rx))
    }

    /// [`Self::task`], spawned (tests and tools that own no supervisor).
    pub fn spawn(
        self,
        shutdown: CancellationToken,
    ) -> (SubmitterHandle, tokio::task::JoinHandle<Result<(), String>>) {
        let (handle, stage) = self.task();
        let run = crate::stage::run(stage, shutdown, Default::default());
        (handle, tokio::spawn(run))
    }

    /// Takes back what a previous run left pending: every open attempt is followed again.
    pub async fn resume(&mut self) -> Result<(), SubmitError> {
        // first, so that a failure here (retried) has added nothing to the in-flight set
        self.resume_unfinal().await?;
        let open = self.store.open_attempts(self.config.chain).await?;
        let mut by_nonce: BTreeMap<u64, Vec<TxAttempt>> = BTreeMap::new();
        for attempt in open {
            if attempt.account == self.account {
                by_nonce
                    .entry(attempt.account_nonce)
                    .or_default()
                    .push(attempt);
            }
        }
        // checked at once: they may have mined, or need broadcasting again
        let long_ago = Instant::now()
            .checked_sub(self.config.tx_timeout)
            .unwrap_or_else(Instant::now);
        for (nonce, attempts) in by_nonce {
            if let Some(pending) = self.pending_of(nonce, &attempts, long_ago).await? {
                self.in_flight
                    .add(pending.transfers.iter().map(|(id, _)| *id));
                self.pending.insert(nonce, pending);
            }
        }
        if !self.pending.is_empty() {
            tracing::info!(target: "submitter", chain = %self.config.chain, pending = self.pending.len(),
                "following transactions a previous run left pending");
        }
        Ok(())
    }

    /// One nonce's transaction rebuilt from its recorded attempts (oldest first), or `None`
    /// when the latest was recorded before raw transactions were kept.
    async fn pending_of(
        &self,
        nonce: u64,
        attempts: &[TxAttempt],
        last_sent: Instant,
    ) -> Result<Option<Pending>, SubmitError> {
        let Some(latest) = attempts.last() else {
            return Ok(None);
        };
        let Some(call) = decode_call(&latest.raw) else {
            // recorded before raw transactions were kept: only its receipt can settle it
            tracing::warn!(target: "submitter", chain = %self.config.chain, nonce, tx_hash = %latest.tx_hash,
                "an earlier attempt cannot be broadcast again; following its receipt only");
            return Ok(None);
        };
        let transfers = self.tokens_of(&latest.transfer_ids).await?;
        Ok(Some(Pending {
            kind: latest.kind,
            to: call.to,
            input: call.input,
            gas_limit: call.gas_limit,
            transfers,
            attempts: attempts
                .iter()
                .map(|a| {
                    let fees = Fees {
                        max_fee: a.max_fee_per_gas,
                        priority: a.max_priority_fee_per_gas,
                    };
                    (a.tx_hash, fees, a.raw.clone())
                })
                .collect(),
            last_sent,
            canceled: call.to == self.account,
            warned: false,
        }))
    }

    /// Takes back what a previous run saw mined but not yet `confirmations` deep, so that a
    /// reorg dropping it after the restart is noticed as it would have been before: it is
    /// watched again, and sent again if dropped. Its charge stands as recorded; one that
    /// landed elsewhere meanwhile is charged again where it landed once final.
    async fn resume_unfinal(&mut self) -> Result<(), SubmitError> {
        let head = self.sink.head().await?;
        let from = (head + 1).saturating_sub(self.config.confirmations.max(1));
        let unfinal = self.store.unfinal_attempts(self.config.chain, from).await?;
        for (attempt, block) in unfinal {
            if attempt.account != self.account {
                continue;
            }
            let nonce = attempt.account_nonce;
            let Some(pending) = self
                .pending_of(nonce, std::slice::from_ref(&attempt), Instant::now())
                .await?
            else {
                continue;
            };
            let recorded = Mined {
                tx_hash: attempt.tx_hash,
                success: attempt.status == AttemptStatus::Mined,
                gas_used: 0,
                effective_gas_price: 0,
                block,
            };
            let charged = match self.sink.receipt(attempt.tx_hash).await? {
                Some(now) if now.block == block => now,
                _ => recorded,
            };
            self.settled.insert(nonce, (pending, charged));
        }
        if !self.settled.is_empty() {
            tracing::info!(target: "submitter", chain = %self.config.chain, unfinal = self.settled.len(),
                "watching transactions a previous run saw mined until they are final");
        }
        Ok(())
    }

    /// Follows what is out until it settled or the drain timeout passed; sends nothing new.
    async fn drain(&mut self) {
        let chain = self.config.chain;
        let deadline = tokio::time::Instant::now() + self.config.drain_timeout;
        while !self.pending.is_empty() && tokio::time::Instant::now() < deadline {
            if let Err(e) = self.follow().await {
                tracing::warn!(target: "submitter", %chain, error = %e, "following while stopping failed; retrying");
            }
            if self.pending.is_empty() {
                break;
            }
            tokio::time::sleep(self.config.poll_interval).await;
        }
        if !self.pending.is_empty() {
            tracing::warn!(target: "submitter", %chain, pending = self.pending.len(),
                "stopping with transactions still out; the next run follows and charges them");
        }
    }

    /// Follows what is out, then sends queued work while there is room.
    pub async fn step(&mut self) -> Result<(), SubmitError> {
        self.follow().await?;
        while self.pending.len() < self.config.max_in_flight.max(1) {
            let Some(request) = self.queue.pop_front() else {
                break;
            };
            if let Some(why) = self.gate.as_ref().and_then(|g| g.refuses(request.kind)) {
                tracing::warn!(target: "submitter", chain = %self.config.chain, kind = %request.kind,
                    transfers = request.transfers.len(), reason = %why,
                    "not sent: its source chain is not ready; planned again once it is");
                self.in_flight
                    .remove(request.transfers.iter().map(|(id, _)| *id));
                continue;
            }
            if let Err(e) = self.send_new(&request).await {
                // not sent: it stays first in line
                self.queue.push_front(request);
                return Err(e);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;
