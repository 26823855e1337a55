//! The planner's loop. Each round: read the transfers that may need this validator from the
//! store (all unfinished ones on a periodic sweep), ask the chains
//! about all of them in a few batched calls ([`FactsSource`]), decide ([`plan`]), and hand the
//! resulting transactions to each chain's submitter, which queue them and return at once. It
//! runs as a [`Stage`]: woken by the watchers' progress and by work a submitter freed, with a
//! timer as the safety net.

use std::{collections::HashMap, sync::Arc, time::Duration};

use alloy::primitives::{B256, Bytes};
use tokio::sync::Notify;

use super::{
    decide::{Action, Settings, WithdrawalFacts, plan, release_due},
    encode,
    facts::{FactsError, FactsSource},
};
use crate::{
    domain::{Chain, Direction, PublishedSignature, TransferRecord, TxKind},
    health::Readiness,
    metrics::Metrics,
    rpc::{Classify, Disposition},
    signer::{SignError, ValidatorSigner},
    stage::{Flow, Stage},
    store::{Store, StoreError},
    submitter::{SubmitError, SubmitterHandle},
    watcher::{Route, unix_now},
};

/// Why a planning round failed.
#[derive(Debug, thiserror::Error)]
pub enum RoundError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Facts(#[from] FactsError),
    #[error(transparent)]
    Submit(#[from] SubmitError),
    #[error(transparent)]
    Sign(#[from] SignError),
}

impl Classify for RoundError {
    fn disposition(&self) -> Disposition {
        match self {
            RoundError::Store(e) => e.disposition(),
            RoundError::Facts(e) => e.disposition(),
            RoundError::Submit(e) => e.disposition(),
            RoundError::Sign(e) if e.is_retryable() => Disposition::Transient,
            RoundError::Sign(_) => Disposition::Fatal,
        }
    }
}

/// When a round reads every unfinished transfer instead of the active ones
/// ([`Store::active_transfers`]): the first round, then once per period. Transfers this
/// validator voted for wait on the others and need nothing from it, unless the validator set
/// changed under them (a count that reaches the threshold without a new signature is never
/// announced); the sweep finds those.
#[derive(Debug)]
pub struct Sweep {
    every: Duration,
    last: std::sync::Mutex<Option<tokio::time::Instant>>,
}

impl Sweep {
    pub fn every(every: Duration) -> Self {
        Self {
            every,
            last: std::sync::Mutex::new(None),
        }
    }

    /// Whether this round sweeps (and if so, the next one a period later).
    fn due(&self) -> bool {
        let now = tokio::time::Instant::now();
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_some_and(|at| now.duration_since(at) < self.every) {
            return false;
        }
        *last = Some(now);
        true
    }
}

/// How often the transfer counts are read for the metrics (a count over the whole table).
pub const METRICS_EVERY: Duration = Duration::from_secs(1);

/// The planning stage of one node.
#[derive(Debug)]
pub struct Planner<F> {
    pub facts: F,
    pub store: Store,
    pub main_tx: SubmitterHandle,
    pub side_tx: SubmitterHandle,
    pub signer: ValidatorSigner,
    pub route: Route,
    pub settings: Settings,
    /// Most transfers of each direction one round considers, lowest nonce first.
    pub per_round: u32,
    pub sweep: Sweep,
    /// When the transfer counts are read for the metrics (a count over the whole table).
    pub metrics_every: Sweep,
    /// Signatures already recovered (see [`encode::assemble`]).
    pub verified: encode::SignatureCache,
    /// The safety net between wake-ups (watcher progress, work freed by a submitter): what
    /// only time changes (a takeover turn, a queue's ETA) is seen within this.
    pub poll: Duration,
    pub progress: Arc<Notify>,
    pub readiness: Arc<Readiness>,
    pub metrics: Arc<Metrics>,
    /// Confirmations each source chain needs before a vote or signature: `(main, side)`.
    pub confirmations: (u64, u64),
}

/// The planner as a [`Stage`]: it begins once both submitters have taken back what a previous
/// run left pending, and a step is one round, skipped while a chain is halted.
impl<F: FactsSource + 'static> Stage for Planner<F> {
    type Error = RoundError;

    fn name(&self) -> &'static str {
        "planner"
    }

    async fn begin(&mut self) {
        // what a previous run left pending is in flight before the first round plans anything
        self.main_tx.in_flight().resumed().await;
        self.side_tx.in_flight().resumed().await;
    }

    async fn step(&mut self) -> Result<Flow, RoundError> {
        if self.readiness.any_halted() {
            return Ok(Flow::Idle); // a deep reorg: act on nothing until an operator looks
        }
        let round = self.round().await;
        if let Ok(calls) = round {
            self.metrics.planner_round(calls);
        }
        // the counts stay fresh while rounds fail (that is when an operator looks at them)
        if self.metrics_every.due() {
            self.refresh_metrics().await;
        }
        round.map(|_| Flow::Idle)
    }

    async fn idle(&mut self) {
        tokio::select! {
            biased;
            _ = self.progress.notified() => {}
            _ = self.main_tx.in_flight().freed() => {}
            _ = self.side_tx.in_flight().freed() => {}
            _ = tokio::time::sleep(self.poll) => {}
        }
    }
}

impl<F: FactsSource> Planner<F> {
    async fn refresh_metrics(&self) {
        if let Ok(counts) = self.store.count_by_state().await {
            self.metrics.set_transfer_counts(&counts);
        }
        if let Ok((deposits, withdrawals)) = self.store.parked_counts(unix_now()).await {
            self.metrics.set_parked(deposits, withdrawals);
        }
    }

    /// One round; returns the RPC calls it made.
    pub async fn round(&self) -> Result<u64, RoundError> {
        let calls_before = self.facts.rpc_calls();
        let now = unix_now();
        let me = self.signer.address();
        let sweep = self.sweep.due();
        let (deposits, withdrawals) = if sweep {
            (
                self.store
                    .unfinished_transfers(Direction::Deposit, self.per_round, now)
                    .await?,
                self.store
                    .unfinished_transfers(Direction::Withdrawal, self.per_round, now)
                    .await?,
            )
        } else {
            (
                self.store
                    .active_transfers(Direction::Deposit, self.per_round, now)
                    .await?,
                self.store
                    .active_transfers(Direction::Withdrawal, self.per_round, now)
                    .await?,
            )
        };
        // transfers with work queued or in flight get none now: no need to ask about them
        let mut in_flight = self.main_tx.in_flight().snapshot();
        in_flight.extend(self.side_tx.in_flight().snapshot());
        let (deposits, withdrawals): (Vec<_>, Vec<_>) = (
            deposits
                .into_iter()
                .filter(|r| !in_flight.contains(&r.id))
                .collect(),
            withdrawals
                .into_iter()
                .filter(|r| !in_flight.contains(&r.id))
                .collect(),
        );
        if deposits.is_empty() && withdrawals.is_empty() {
            return Ok(0);
        }
        let views = self.facts.views(me).await?;
        let deposit_facts = if deposits.is_empty() {
            Vec::new()
        } else {
            self.facts.deposits(me, &deposits).await?
        };
        let chain_facts = if withdrawals.is_empty() {
            Vec::new()
        } else {
            self.facts.withdrawals(me, &withdrawals).await?
        };
        // the published signatures matter only where this validator may release now (the
        // sweep reads them all, for counts a validator-set change may have completed)
        let ids: Vec<B256> = withdrawals
            .iter()
            .filter(|r| sweep || release_due(&views.main, r, self.settings, now))
            .map(|r| r.id)
            .collect();
        let published = self.store.signatures_for(&ids).await?;
        let withdrawal_facts: Vec<WithdrawalFacts> = chain_facts
            .into_iter()
            .zip(&withdrawals)
            .map(|(f, r)| {
                // distinct current validators with a published record (checked when used)
                let current_signers = published.get(&r.id).map_or(0, |sigs| {
                    sigs.iter()
                        .map(|s| s.validator)
                        .filter(|v| views.main.validators.contains(v))
                        .collect::<std::collections::HashSet<_>>()
                        .len()
                });
                WithdrawalFacts {
                    signed_by_me: f.signed_by_me,
                    current_signers,
                    processed: f.processed,
                    queue: f.queue,
                }
            })
            .collect();
        let deposits: Vec<_> = deposits.into_iter().zip(deposit_facts).collect();
        let withdrawals: Vec<_> = withdrawals.into_iter().zip(withdrawal_facts).collect();
        let actions = plan(
            &views,
            &deposits,
            &withdrawals,
            &in_flight,
            self.settings,
            now,
        );
        tracing::debug!(target: "planner", deposits = deposits.len(), withdrawals = withdrawals.len(),
            in_flight = in_flight.len(), actions = actions.len(), "round planned");
        let (marks, work): (Vec<_>, Vec<_>) = actions
            .into_iter()
            .partition(|a| matches!(a, Action::Mark { .. }));
        let marks: Vec<_> = marks
            .into_iter()
            .filter_map(|a| match a {
                Action::Mark { id, state } => Some((id, state)),
                _ => None,
            })
            .collect();
        self.store.set_states(&marks, now).await?;
        for action in work {
            self.act(action, &views.main, &published, now).await?;
        }
        Ok(self.facts.rpc_calls() - calls_before)
    }

    async fn act(
        &self,
        action: Action,
        main_view: &super::decide::ValidatorView,
        published: &HashMap<B256, Vec<PublishedSignature>>,
        now: i64,
    ) -> Result<(), RoundError> {
        let (kind, records): (TxKind, Vec<&TransferRecord>) = match &action {
            Action::Mark { id, state } => {
                self.store.set_states(&[(*id, *state)], now).await?;
                return Ok(());
            }
            Action::Approve(batch) => (TxKind::ApproveDeposits, batch.iter().collect()),
            Action::Sign(batch) => (TxKind::SubmitSignatures, batch.iter().collect()),
            Action::Release(batch) => (TxKind::Release, batch.iter().collect()),
            Action::ExecuteQueued(record) => (
                match record.direction {
                    Direction::Deposit => TxKind::ExecuteQueuedMint,
                    Direction::Withdrawal => TxKind::ExecuteQueuedRelease,
                },
                vec![record.as_ref()],
            ),
            Action::ExecuteDeposit(record) => (TxKind::ExecuteDeposit, vec![record.as_ref()]),
        };
        if let Some(source) = kind.source()
            && let Err(why) = self.readiness.trusted(source)
        {
            tracing::debug!(target: "planner", %kind, transfers = records.len(), reason = %why,
                "not acting: the source chain is not ready");
            return Ok(());
        }
        self.note_tries(kind, &records, now).await?;
        let action = match action {
            Action::Approve(batch) => {
                Action::Approve(self.still_canonical(Chain::Main, batch).await?)
            }
            Action::Sign(batch) => Action::Sign(self.still_canonical(Chain::Side, batch).await?),
            Action::Release(batch) => {
                Action::Release(self.still_canonical(Chain::Side, batch).await?)
            }
            other => other,
        };
        match action {
            Action::Approve(batch) | Action::Sign(batch) | Action::Release(batch)
                if batch.is_empty() => {}
            Action::Mark { .. } => {}
            Action::Approve(batch) => {
                self.side_tx
                    .enqueue(encode::approve(&self.route, &batch))
                    .await?;
            }
            Action::Sign(batch) => {
                // the key signs only ids that are their stored content's, under the main
                // bridge's domain: a row changed in the database is never signed
                let batch: Vec<TransferRecord> = batch
                    .into_iter()
                    .filter(
                        |r| match self.route.check(&r.transfer, Direction::Withdrawal, r.id) {
                            Ok(_) => true,
                            Err((_, detail)) => {
                                tracing::error!(target: "planner", id = %r.id, %detail,
                                "a stored withdrawal is not its id's content: not signed");
                                false
                            }
                        },
                    )
                    .collect();
                if batch.is_empty() {
                    return Ok(());
                }
                let request = encode::sign(&self.route, &self.signer, &batch).await?;
                crate::failpoint::hit("after_sign");
                self.side_tx.enqueue(request).await?;
            }
            Action::Release(batch) => {
                let ready: Vec<(TransferRecord, Bytes)> = batch
                    .into_iter()
                    .filter_map(|r| {
                        let sigs =
                            encode::assemble(published.get(&r.id)?, main_view, &self.verified)?;
                        Some((r, sigs))
                    })
                    .collect();
                if let Some(request) = encode::release(&self.route, &ready) {
                    self.main_tx.enqueue(request).await?;
                }
            }
            Action::ExecuteQueued(record) => {
                let request = encode::execute_queued(&self.route, &record);
                let handle = match record.direction {
                    Direction::Deposit => &self.side_tx,
                    Direction::Withdrawal => &self.main_tx,
                };
                handle.enqueue(request).await?;
            }
            Action::ExecuteDeposit(record) => {
                let request = encode::execute_deposit(&self.route, &record);
                self.side_tx.enqueue(request).await?;
            }
        }
        Ok(())
    }

    /// The records whose source block is canonical and confirmed now: the source node serves
    /// at that height the hash the watcher read there, and its head is at least the chain's
    /// confirmations above it (head and hashes in one batch, from one endpoint). A record that
    /// fails is left for a later round: the chain reorganised (its watcher halts on it) or the
    /// node answering now lags. Records stored before the hash was kept are checked for depth.
    async fn still_canonical(
        &self,
        chain: Chain,
        batch: Vec<TransferRecord>,
    ) -> Result<Vec<TransferRecord>, RoundError> {
        let mut blocks: Vec<u64> = batch.iter().map(|r| r.source_block).collect();
        blocks.sort_unstable();
        blocks.dedup();
        let (head, hashes) = self.facts.source_blocks(chain, &blocks).await?;
        let confirmations = match chain {
            Chain::Main => self.confirmations.0,
            Chain::Side => self.confirmations.1,
        };
        let (keep, drop): (Vec<_>, Vec<_>) = batch.into_iter().partition(|r| {
            let i = blocks.binary_search(&r.source_block).expect("listed");
            let same = r.source_hash.is_zero() || hashes[i] == Some(r.source_hash);
            same && head.saturating_sub(r.source_block) >= confirmations
        });
        for r in &drop {
            let i = blocks.binary_search(&r.source_block).expect("listed");
            tracing::warn!(target: "planner", %chain, transfer_id = %r.id, block = r.source_block,
                seen = %r.source_hash, now = ?hashes[i], head,
                "not acting: the source block is not canonical and confirmed on the node now");
        }
        Ok(keep)
    }

    /// Counts this try for each transfer; those acted on again and again without moving on
    /// (a release their token refuses, a deposit whose token is still unmapped) are parked
    /// with a growing pause and leave the window (see `store::tries`).
    async fn note_tries(
        &self,
        kind: TxKind,
        records: &[&TransferRecord],
        now: i64,
    ) -> Result<(), RoundError> {
        let tries: Vec<(B256, TxKind)> = records.iter().map(|r| (r.id, kind)).collect();
        let reason = format!("{kind} sent again: the last one did not move it on");
        let parked = self.store.record_tries(&tries, &reason, now).await?;
        if let (Some(first), n) = (parked.first(), parked.len()) {
            tracing::warn!(target: "planner", %kind, transfers = n, first = %first.0, tries = first.1,
                pause_secs = first.2, "parked: acted on again and again without landing; tried again after the pause");
        }
        Ok(())
    }
}
