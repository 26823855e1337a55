//! What this validator must do next: a pure function of the stored transfers, what the chains
//! say about them now (gathered a batch at a time by [`super::facts`]) and both validator
//! views. No chain, clock or database in here: every rule has a unit test.

use std::collections::HashSet;

use alloy::primitives::{Address, B256};

use crate::domain::{Direction, TransferRecord, TransferState};

/// The current validator set as this relayer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatorView {
    pub me: Address,
    /// Ascending, as the contracts keep it.
    pub validators: Vec<Address>,
    pub threshold: usize,
}

impl ValidatorView {
    pub fn my_index(&self) -> Option<usize> {
        self.validators.iter().position(|v| *v == self.me)
    }

    /// How many turns after the assigned relayer this validator releases withdrawal `nonce`:
    /// 0 for the assigned one (a rotation over the sorted set), then 1, 2, … for the others,
    /// each acting one takeover period after the previous.
    pub fn release_turn(&self, nonce: u64) -> Option<u64> {
        let n = self.validators.len() as u64;
        let me = self.my_index()? as u64;
        Some((me + n - nonce % n) % n)
    }
}

/// A large transfer in the destination bridge's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFacts {
    /// Unix seconds from which anyone may execute it.
    pub eta: u64,
    pub held: bool,
    pub canceled: bool,
    pub executed: bool,
}

impl QueueFacts {
    /// Open (not held, canceled or executed) and past its ETA at `now`.
    fn executable(&self, now: i64) -> bool {
        !self.held && !self.canceled && !self.executed && now >= 0 && now as u64 >= self.eta
    }
}

/// On-chain facts about a deposit, all for its exact content (its id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepositFacts {
    /// Current validators who voted for exactly this content.
    pub votes: usize,
    pub voted_by_me: bool,
    /// This content was minted, or queued to be.
    pub executed: bool,
    /// The nonce was minted or queued — by this content, or by another (a forgery, which the
    /// audit reports; voting for this one is pointless then).
    pub nonce_taken: bool,
    /// Present when this content waits in the queue.
    pub queue: Option<QueueFacts>,
}

/// On-chain facts about a withdrawal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WithdrawalFacts {
    pub signed_by_me: bool,
    /// Current validators whose signature is published.
    pub current_signers: usize,
    /// The main bridge released (or queued) this nonce — this content, or another.
    pub processed: bool,
    /// Present when this content waits in the queue.
    pub queue: Option<QueueFacts>,
}

/// One thing to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Move the stored state forward.
    Mark { id: B256, state: TransferState },
    /// Vote for these deposits in one `approveDeposits`.
    Approve(Vec<TransferRecord>),
    /// Sign these withdrawals and publish them in one `submitSignatures`.
    Sign(Vec<TransferRecord>),
    /// Release these withdrawals with their published signatures, in one transaction.
    Release(Vec<TransferRecord>),
    /// Execute a queued transfer whose delay passed (`executeQueued` on its destination).
    ExecuteQueued(Box<TransferRecord>),
    /// Mint a deposit that has its votes but stalled (`executeDeposit`): its token was
    /// unmapped or the inbound cap used up when the last vote came.
    ExecuteDeposit(Box<TransferRecord>),
}

/// Both chains' validator sets: deposits are voted in and withdrawals signed by the side set,
/// withdrawals released under the main set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Views {
    pub side: ValidatorView,
    pub main: ValidatorView,
}

/// How the planner batches and hands over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Most transfers per transaction.
    pub batch_size: usize,
    /// After this long the next validator takes over a release (or a queued execution) the
    /// assigned one has not done.
    pub takeover_secs: u64,
}

/// Everything this validator must do now, final as returned: a validator acts only on the
/// chain whose set it is in, and a transfer with work in flight gets no new work (its state
/// may still be marked).
pub fn plan(
    views: &Views,
    deposits: &[(TransferRecord, DepositFacts)],
    withdrawals: &[(TransferRecord, WithdrawalFacts)],
    in_flight: &HashSet<B256>,
    settings: Settings,
    now: i64,
) -> Vec<Action> {
    let mut actions = plan_deposits(&views.side, deposits, settings, now);
    actions.extend(plan_withdrawals(views, withdrawals, settings, now));
    actions.retain_mut(|action| match action {
        Action::Mark { .. } => true,
        Action::ExecuteQueued(record) | Action::ExecuteDeposit(record) => {
            !in_flight.contains(&record.id)
        }
        Action::Approve(batch) | Action::Sign(batch) | Action::Release(batch) => {
            batch.retain(|r| !in_flight.contains(&r.id));
            !batch.is_empty()
        }
    });
    actions
}

/// Plans deposits (main → side) under the side set. A deposit is completed only when its own
/// `DepositExecuted` is seen (the watcher marks it).
pub fn plan_deposits(
    view: &ValidatorView,
    deposits: &[(TransferRecord, DepositFacts)],
    settings: Settings,
    now: i64,
) -> Vec<Action> {
    let mut actions = Vec::new();
    let mut approve = Vec::new();
    let is_validator = view.my_index().is_some();
    for (record, facts) in deposits {
        debug_assert_eq!(record.direction, Direction::Deposit);
        if facts.executed {
            push_mark(&mut actions, record, TransferState::Voted);
            if let Some(queue) = facts.queue {
                push_execute_queued(&mut actions, view, record, queue, now, settings);
            }
        } else if facts.nonce_taken {
            // another content took this nonce: a vote would be skipped, the audit alarms
        } else if facts.votes >= view.threshold && view.threshold > 0 {
            // the votes are in but it did not mint: stalled. Executed by rotation (the
            // assigned validator first, the next after each takeover period); the call is
            // priced first, so while the cause lasts it reverts there and costs nothing,
            // and parking spaces the tries out.
            if facts.voted_by_me {
                push_mark(&mut actions, record, TransferState::Voted);
            }
            let since = if record.state == TransferState::Voted {
                record.updated_at
            } else {
                now
            };
            if is_validator && now >= due(view, record.nonce(), since, settings) {
                actions.push(Action::ExecuteDeposit(Box::new(record.clone())));
            }
        } else if facts.voted_by_me {
            push_mark(&mut actions, record, TransferState::Voted);
        } else if is_validator {
            approve.push(record.clone());
        }
    }
    for chunk in approve.chunks(settings.batch_size.max(1)) {
        actions.push(Action::Approve(chunk.to_vec()));
    }
    actions
}

/// Plans withdrawals (side → main): signed by side validators, released under the main set by
/// rotation, the next one taking over after the takeover period. A withdrawal is completed
/// only when its own `Released` is seen.
pub fn plan_withdrawals(
    views: &Views,
    withdrawals: &[(TransferRecord, WithdrawalFacts)],
    settings: Settings,
    now: i64,
) -> Vec<Action> {
    let mut actions = Vec::new();
    let mut sign = Vec::new();
    let mut release = Vec::new();
    let signs = views.side.my_index().is_some();
    let releases = views.main.my_index().is_some();
    for (record, facts) in withdrawals {
        debug_assert_eq!(record.direction, Direction::Withdrawal);
        if facts.processed {
            if let Some(queue) = facts.queue {
                push_execute_queued(&mut actions, &views.main, record, queue, now, settings);
            }
            continue;
        }
        if signs {
            if facts.signed_by_me {
                push_mark(&mut actions, record, TransferState::Voted);
            } else {
                sign.push(record.clone());
            }
        }
        if facts.current_signers >= views.main.threshold {
            push_mark(&mut actions, record, TransferState::Ready);
            let ready_since = if record.state == TransferState::Ready {
                record.updated_at
            } else {
                now
            };
            if releases && now >= due(&views.main, record.nonce(), ready_since, settings) {
                release.push(record.clone());
            }
        }
    }
    for chunk in sign.chunks(settings.batch_size.max(1)) {
        actions.push(Action::Sign(chunk.to_vec()));
    }
    for chunk in release.chunks(settings.batch_size.max(1)) {
        actions.push(Action::Release(chunk.to_vec()));
    }
    actions
}

/// Whether this validator may release `record` now: announced ready, and its turn came.
pub fn release_due(
    view: &ValidatorView,
    record: &TransferRecord,
    settings: Settings,
    now: i64,
) -> bool {
    record.state == TransferState::Ready
        && view.my_index().is_some()
        && now >= due(view, record.nonce(), record.updated_at, settings)
}

/// When this validator's turn for `nonce` comes: the assigned one at `since`, each next one a
/// takeover period later; never for a non-validator.
fn due(view: &ValidatorView, nonce: u64, since: i64, settings: Settings) -> i64 {
    let turn = view.release_turn(nonce).unwrap_or(u64::MAX);
    let wait = turn
        .saturating_mul(settings.takeover_secs)
        .min(i64::MAX as u64) as i64;
    since.saturating_add(wait)
}

fn push_execute_queued(
    actions: &mut Vec<Action>,
    view: &ValidatorView,
    record: &TransferRecord,
    queue: QueueFacts,
    now: i64,
    settings: Settings,
) {
    let eta = i64::try_from(queue.eta).unwrap_or(i64::MAX);
    if queue.executable(now) && now >= due(view, record.nonce(), eta, settings) {
        actions.push(Action::ExecuteQueued(Box::new(record.clone())));
    }
}

fn push_mark(actions: &mut Vec<Action>, record: &TransferRecord, state: TransferState) {
    if state > record.state {
        actions.push(Action::Mark {
            id: record.id,
            state,
        });
    }
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
