//! The audit: every mint, release and queued transfer a destination bridge accepts is compared
//! with the transfer this relayer saw at the source for that nonce, and every deposit vote any
//! validator casts with the deposit seen. The bridges bind votes to full 256-bit ids, so a
//! mismatch at the destination means a threshold of validator keys (or a broken contract)
//! produced it: a forgery alarm is logged with both ids, counted
//! (`sidebridge_forgery_alarms_total`) and turns `/readyz` red until an operator clears it
//! (`relayer alarms --clear`). A conflicting vote is a warning
//! (`sidebridge_vote_conflicts_total`): one validator below the threshold cannot mint with it,
//! but its operator should be asked why.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use sidebridge_contracts::bindings::SideBridge;

use crate::{
    domain::{Alarm, AlarmKind, Direction},
    handles::Handles,
    stage::{Flow, Stage},
    store::{StoreError, describe_id},
};

/// Compares what the chains accepted with what this relayer saw.
#[derive(Debug)]
pub struct Auditor {
    pub handles: Handles,
    /// The store's watch-commit count when the last complete round ran (`u64::MAX`: none yet).
    pub audited_through: AtomicU64,
}

impl Auditor {
    pub fn new(handles: Handles) -> Self {
        Auditor {
            handles,
            audited_through: AtomicU64::new(u64::MAX),
        }
    }
}

/// How often the auditor looks for new watch batches (a look that finds none costs nothing).
pub const AUDIT_EVERY: Duration = Duration::from_millis(500);

/// The auditor as a [`Stage`] of its own, paced by [`AUDIT_EVERY`]: it runs even while a chain
/// is halted (it only reads what was confirmed), and a slow round delays no vote.
impl Stage for Auditor {
    type Error = StoreError;

    fn name(&self) -> &'static str {
        "auditor"
    }

    async fn step(&mut self) -> Result<Flow, StoreError> {
        self.round(crate::watcher::unix_now()).await?;
        Ok(Flow::Idle)
    }

    fn idle(&mut self) -> impl std::future::Future<Output = ()> + Send {
        tokio::time::sleep(AUDIT_EVERY)
    }
}

impl Auditor {
    /// Restores the counters and readiness from the alarms already in the database.
    pub async fn restore(&self) -> Result<(), StoreError> {
        for (kind, direction, n) in self.handles.store.alarm_totals().await? {
            match kind {
                AlarmKind::Forgery => self.handles.metrics.forgery_alarms(direction, n),
                AlarmKind::VoteConflict => self.handles.metrics.vote_conflicts(n),
            }
        }
        self.refresh_readiness().await
    }

    /// One comparison of everything that arrived since the last one; nothing to do (not even a
    /// database write) when no watch batch was committed since the last complete round. An RPC
    /// failure reading a source's outbound nonce only postpones judging executions at unknown
    /// nonces (the round then counts as incomplete and runs again).
    pub async fn round(&self, now: i64) -> Result<Vec<Alarm>, StoreError> {
        let commits = self.handles.store.watch_commits();
        if self.audited_through.load(Ordering::Acquire) == commits {
            // an operator may have cleared the open alarms from another process
            if self.handles.readiness.alarm().is_some() {
                self.refresh_readiness().await?;
            }
            return Ok(Vec::new());
        }
        let mut outbound = Vec::new();
        let mut complete = true;
        for direction in self.handles.store.unaudited_directions().await? {
            match self.source_next_nonce(direction).await {
                Ok(next) => outbound.push((direction, next)),
                Err(reason) => {
                    complete = false;
                    tracing::warn!(target: "audit", %direction, %reason, "cannot read the source bridge's next nonce; judging later")
                }
            }
        }
        let raised = self.handles.store.audit(now, &outbound).await?;
        if complete {
            self.audited_through.store(commits, Ordering::Release);
        }
        for alarm in &raised {
            report(alarm);
            match alarm.kind {
                AlarmKind::Forgery => self.handles.metrics.forgery_alarms(alarm.direction, 1),
                AlarmKind::VoteConflict => self.handles.metrics.vote_conflicts(1),
            }
        }
        self.refresh_readiness().await?;
        Ok(raised)
    }

    async fn refresh_readiness(&self) -> Result<(), StoreError> {
        let open: Vec<Alarm> = self
            .handles
            .store
            .alarms(false)
            .await?
            .into_iter()
            .filter(|a| a.kind == AlarmKind::Forgery)
            .collect();
        self.handles.readiness.set_alarm(open.first().map(|first| {
            format!(
                "{} open forgery alarm(s); first: {} nonce {} accepted {}, expected {}",
                open.len(),
                first.direction,
                first.nonce,
                first.seen_id,
                describe_id(first.expected_id)
            )
        }));
        Ok(())
    }

    /// The nonce the source bridge of `direction` will give its next outbound transfer.
    async fn source_next_nonce(&self, direction: Direction) -> Result<u64, String> {
        match direction {
            Direction::Deposit => self
                .handles
                .route
                .main_outbound_nonce(&self.handles.main)
                .await
                .map_err(|e| e.to_string()),
            Direction::Withdrawal => {
                SideBridge::new(self.handles.route.side_bridge, &self.handles.side)
                    .outboundNonce()
                    .call()
                    .await
                    .map_err(|e| e.to_string())
            }
        }
    }
}

fn report(alarm: &Alarm) {
    match alarm.kind {
        AlarmKind::Forgery => tracing::error!(target: "audit",
            direction = %alarm.direction, nonce = alarm.nonce,
            accepted_id = %alarm.seen_id, expected_id = %describe_id(alarm.expected_id),
            tx_hash = %alarm.tx_hash,
            "FORGERY: the destination bridge accepted content that is not the transfer seen at the source; hold it (queued) or pause, and rotate the validator keys"),
        AlarmKind::VoteConflict => tracing::warn!(target: "audit",
            validator = %alarm.actor, nonce = alarm.nonce,
            voted_id = %alarm.seen_id, expected_id = %describe_id(alarm.expected_id),
            tx_hash = %alarm.tx_hash,
            "conflicting vote: a validator voted for deposit content that was not locked"),
    }
}
