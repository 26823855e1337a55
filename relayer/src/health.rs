//! Whether the node can be relied on, chain by chain, and the task that keeps watching what the
//! pipeline itself does not see: an RPC endpoint that keeps failing, a key that is not (or no
//! longer) a validator, an account whose gas runs low.
//!
//! A chain is ready when every check on it passes:
//!
//! | check | not ready when |
//! | --- | --- |
//! | watcher | it has not reported yet, lags more than [`MAX_READY_LAG`] blocks, or halted on a reorg |
//! | rpc | every request to the endpoint failed for longer than `relay.rpc_failure_secs` |
//! | validator | the key is not in the chain's current validator set |
//! | gas | the account holds less than the chain's `min_balance_ether` |
//!
//! `/readyz` answers 503 naming each failing check, `sidebridge_ready{chain}` is 0, and the
//! alert rules in `ops/alerts/` fire on the metrics behind each check.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use alloy::{
    primitives::{Address, U256},
    providers::{DynProvider, Provider},
};
use sidebridge_contracts::bindings::SideBridge;

use crate::{
    domain::Chain,
    metrics::Metrics,
    rpc::RpcHealth,
    stage::{Flow, Passing, Stage},
    watcher::{ChainStatus, Rejection, Route},
};

/// A watcher further behind its confirmed head than this is not ready.
pub const MAX_READY_LAG: u64 = 64;

/// How often the monitor reads balances and the validator sets.
pub const MONITOR_EVERY: Duration = Duration::from_secs(5);

/// One of the things a chain's readiness depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Check {
    Rpc,
    Validator,
    Gas,
}

impl Check {
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Rpc => "rpc",
            Check::Validator => "validator",
            Check::Gas => "gas",
        }
    }
}

/// Whether each chain can be relied on, as last reported. A chain whose watcher has not
/// reported yet is not ready.
#[derive(Debug, Default)]
pub struct Readiness {
    chains: Mutex<BTreeMap<Chain, ChainState>>,
    /// Set while a forgery alarm is open: the bridge accepted content nobody locked or burned.
    alarm: Mutex<Option<String>>,
}

#[derive(Debug, Default, Clone)]
struct ChainState {
    /// The watcher's last report: ready or not, and why; `None` before the first.
    watcher: Option<(bool, String)>,
    halted: bool,
    /// The other checks that fail now, and why.
    failing: BTreeMap<Check, String>,
}

/// One chain's readiness and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReadiness {
    pub ready: bool,
    /// The watcher stopped on a reorg deeper than its confirmations; only an operator clears it.
    pub halted: bool,
    pub reason: String,
}

impl Readiness {
    /// Records a watcher's latest state: ready or not, and why. Clears a halt.
    pub fn set_ready(&self, chain: Chain, ready: bool, reason: &str) {
        let mut chains = self.lock();
        let state = chains.entry(chain).or_default();
        state.watcher = Some((ready, reason.to_string()));
        state.halted = false;
    }

    /// Records that a chain's watcher halted on a deep reorg: not ready, and the node must act
    /// on nothing ([`Readiness::any_halted`]) until an operator has looked.
    pub fn set_halted(&self, chain: Chain, reason: &str) {
        let mut chains = self.lock();
        let state = chains.entry(chain).or_default();
        state.watcher = Some((false, reason.to_string()));
        state.halted = true;
    }

    /// Records one check of a chain: `Some(why)` while it fails, `None` once it passes. Logs
    /// when a check starts failing and when it passes again, once each (not at every look).
    pub fn set_check(&self, chain: Chain, check: Check, failing: Option<String>) {
        let mut chains = self.lock();
        let state = chains.entry(chain).or_default();
        match failing {
            Some(why) => {
                if !state.failing.contains_key(&check) {
                    tracing::warn!(target: "health", %chain, check = check.as_str(), reason = %why, "not ready");
                }
                state.failing.insert(check, why);
            }
            None => {
                if state.failing.remove(&check).is_some() {
                    tracing::info!(target: "health", %chain, check = check.as_str(), "passes again");
                }
            }
        }
    }

    /// Turns readiness red (or green again with `None`) for an open forgery alarm.
    pub fn set_alarm(&self, alarm: Option<String>) {
        *self.alarm.lock().unwrap_or_else(PoisonError::into_inner) = alarm;
    }

    /// The open forgery alarm, if any.
    pub fn alarm(&self) -> Option<String> {
        self.alarm
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// True when every chain is ready and no forgery alarm is open.
    pub fn is_ready(&self) -> bool {
        Chain::ALL.iter().all(|c| self.chain(*c).ready) && self.alarm().is_none()
    }

    /// Whether what `chain` says may be acted on now: its watcher reported caught up (not
    /// halted, not behind, its node's head not below what was processed) and its RPC is not
    /// failing. The gas and validator checks are left out: they concern sending there, not
    /// the truth of what was read there. `Err` says why not.
    pub fn trusted(&self, chain: Chain) -> Result<(), String> {
        let state = self.lock().get(&chain).cloned().unwrap_or_default();
        match (&state.watcher, state.failing.get(&Check::Rpc)) {
            (Some((true, _)), None) if !state.halted => Ok(()),
            (_, Some(rpc)) => Err(format!("{chain}: {rpc}")),
            (Some((_, why)), None) => Err(format!("{chain}: {why}")),
            (None, None) => Err(format!("{chain}: waiting for the watcher's first report")),
        }
    }

    /// True when any chain's watcher halted on a reorg.
    pub fn any_halted(&self) -> bool {
        self.lock().values().any(|r| r.halted)
    }

    /// One chain's state: ready only when its watcher reported ready and no check fails; the
    /// reason names every failing check, once each.
    pub fn chain(&self, chain: Chain) -> ChainReadiness {
        let state = self.lock().get(&chain).cloned().unwrap_or_default();
        let (watcher_ready, watcher_reason) = state
            .watcher
            .unwrap_or_else(|| (false, "waiting for the watcher's first report".to_string()));
        let mut reasons = Vec::new();
        if !watcher_ready {
            reasons.push(watcher_reason.clone());
        }
        reasons.extend(state.failing.values().cloned());
        let ready = watcher_ready && state.failing.is_empty();
        ChainReadiness {
            ready,
            halted: state.halted,
            reason: if ready {
                watcher_reason
            } else {
                reasons.join("; ")
            },
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<Chain, ChainState>> {
        // every writer leaves the map whole at each step, so a panicking one cannot tear it
        self.chains.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What the monitor watches on one chain.
#[derive(Debug, Clone)]
pub struct Watched {
    pub chain: Chain,
    pub provider: DynProvider,
    /// The route this relayer serves: which bridge, and on a hub which route's set.
    pub route: Route,
    pub rpc: Arc<RpcHealth>,
    /// Below this balance (wei) the chain is not ready.
    pub min_balance: U256,
}

/// Every [`MONITOR_EVERY`] (or `rpc_failure`, if shorter), and on each chain: the RPC
/// endpoint's failure time against `rpc_failure`, the account's balance against the runway,
/// and whether `account` is in the current validator set. A [`Stage`] that never fails: a read
/// that fails leaves its check as it was.
#[derive(Debug)]
pub struct Monitor {
    pub account: Address,
    pub chains: Vec<Watched>,
    pub rpc_failure: Duration,
    pub metrics: Arc<Metrics>,
    pub readiness: Arc<Readiness>,
}

impl Stage for Monitor {
    type Error = Passing;

    fn name(&self) -> &'static str {
        "health monitor"
    }

    async fn step(&mut self) -> Result<Flow, Passing> {
        for w in &self.chains {
            check_chain(
                self.account,
                w,
                self.rpc_failure,
                &self.metrics,
                &self.readiness,
            )
            .await;
        }
        Ok(Flow::Idle)
    }

    fn idle(&mut self) -> impl std::future::Future<Output = ()> + Send {
        tokio::time::sleep(MONITOR_EVERY.min(self.rpc_failure))
    }
}

async fn check_chain(
    account: Address,
    w: &Watched,
    rpc_failure: Duration,
    metrics: &Metrics,
    readiness: &Readiness,
) {
    // reads that fail leave their check as it was: the rpc check speaks for the endpoint
    if let Ok(balance) = w.provider.get_balance(account).await {
        metrics.set_balance(w.chain, balance);
        // a chain that charges no gas (the submitter offers none there): no runway to keep,
        // and the runway alert must not fire for an account that holds none; a read that
        // fails checks the runway as configured
        let free = sidebridge_core::gas::charges_no_gas(&w.provider)
            .await
            .unwrap_or(false);
        let runway = if free { U256::ZERO } else { w.min_balance };
        metrics.set_gas_runway(w.chain, runway);
        let low = (balance < runway).then(|| {
            format!(
                "gas: the account holds {}, below the runway of {} (chains.{}.min_balance_ether)",
                ether(balance),
                ether(w.min_balance),
                w.chain
            )
        });
        readiness.set_check(w.chain, Check::Gas, low);
    }
    let member = match w.chain {
        Chain::Main => w.route.main_is_validator(&w.provider, account).await,
        Chain::Side => {
            SideBridge::new(w.route.side_bridge, &w.provider)
                .isValidator(account)
                .call()
                .await
        }
    };
    if let Ok(member) = member {
        metrics.set_validator(w.chain, member);
        let not = (!member).then(|| {
            format!("validator: {account} is not in the current validator set; it acts on nothing here until governance adds it")
        });
        readiness.set_check(w.chain, Check::Validator, not);
    }
    let failing = w.rpc.failing_for();
    metrics.set_rpc_failing(w.chain, failing.as_ref().map_or(0.0, |f| f.0.as_secs_f64()));
    let down = failing
        .filter(|(since, _)| *since >= rpc_failure)
        .map(|(since, error)| {
            format!(
                "rpc: every request failed for {} s (limit {} s); last error: {error}",
                since.as_secs(),
                rpc_failure.as_secs()
            )
        });
    readiness.set_check(w.chain, Check::Rpc, down);
}

/// `wei` in ether, to six decimals, for messages.
pub fn ether(wei: U256) -> String {
    let micro = wei / U256::from(1_000_000_000_000u64);
    let whole = micro / U256::from(1_000_000u64);
    let frac = micro % U256::from(1_000_000u64);
    format!("{whole}.{frac:06} ether")
}

/// Turns a watcher's status into metrics (head, cursor, lag, dropped logs, halts) and the
/// chain's readiness, on every change. A [`Stage`]; once its watcher is gone it waits for the
/// stop.
pub(crate) struct StatusReport {
    chain: Chain,
    updates: tokio::sync::watch::Receiver<ChainStatus>,
    metrics: Arc<Metrics>,
    readiness: Arc<Readiness>,
    halted: bool,
    rejected: [u64; Rejection::ALL.len()],
}

impl StatusReport {
    pub(crate) fn new(
        chain: Chain,
        updates: tokio::sync::watch::Receiver<ChainStatus>,
        metrics: Arc<Metrics>,
        readiness: Arc<Readiness>,
    ) -> Self {
        Self {
            chain,
            updates,
            metrics,
            readiness,
            halted: false,
            rejected: [0; Rejection::ALL.len()],
        }
    }
}

impl Stage for StatusReport {
    type Error = Passing;

    fn name(&self) -> &'static str {
        match self.chain {
            Chain::Main => "status(main)",
            Chain::Side => "status(side)",
        }
    }

    /// Nothing is reported before the watcher's first report: the default status (head 0,
    /// lag 0) would read as "caught up" and trust a chain nothing was read from yet.
    async fn begin(&mut self) {
        self.idle().await;
    }

    async fn step(&mut self) -> Result<Flow, Passing> {
        let s = self.updates.borrow_and_update().clone();
        let (chain, metrics, readiness) = (self.chain, &self.metrics, &self.readiness);
        metrics.set_chain_progress(chain, s.head, s.cursor.unwrap_or_default(), s.lag);
        for (i, reason) in Rejection::ALL.into_iter().enumerate() {
            let new = s.rejected[i].saturating_sub(self.rejected[i]);
            if new > 0 {
                metrics.chain_data_rejected(chain, reason.as_str(), new);
            }
        }
        self.rejected = s.rejected;
        match &s.halted {
            Some(reason) => {
                if !self.halted {
                    metrics.reorg_halt(chain);
                    self.halted = true;
                }
                readiness.set_halted(chain, reason);
            }
            None if s.cursor.is_some_and(|c| s.head < c) => readiness.set_ready(
                chain,
                false,
                &format!(
                    "the node's head {} is below block {} already processed: it lags or lies",
                    s.head,
                    s.cursor.unwrap_or_default()
                ),
            ),
            None if s.lag > MAX_READY_LAG => {
                readiness.set_ready(chain, false, &format!("{} blocks behind", s.lag))
            }
            None => readiness.set_ready(chain, true, "caught up"),
        }
        Ok(Flow::Idle)
    }

    async fn idle(&mut self) {
        if self.updates.changed().await.is_err() {
            // the watcher is gone (the process is stopping): nothing more will change
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_is_ready_only_when_every_check_passes_and_the_reason_names_each_failure() {
        let r = Readiness::default();
        let c = r.chain(Chain::Main);
        assert!(!c.ready);
        assert_eq!(c.reason, "waiting for the watcher's first report");

        r.set_ready(Chain::Main, true, "caught up");
        assert!(r.chain(Chain::Main).ready);
        assert_eq!(r.chain(Chain::Main).reason, "caught up");

        r.set_check(Chain::Main, Check::Gas, Some("gas: low".into()));
        r.set_check(Chain::Main, Check::Rpc, Some("rpc: down".into()));
        let c = r.chain(Chain::Main);
        assert!(!c.ready);
        assert_eq!(c.reason, "rpc: down; gas: low");
        assert!(!c.halted);

        r.set_check(Chain::Main, Check::Rpc, None);
        r.set_check(Chain::Main, Check::Gas, None);
        assert!(r.chain(Chain::Main).ready);

        r.set_halted(Chain::Main, "reorg to a shorter chain");
        r.set_check(Chain::Main, Check::Validator, Some("validator: no".into()));
        let c = r.chain(Chain::Main);
        assert!(!c.ready && c.halted);
        assert_eq!(c.reason, "reorg to a shorter chain; validator: no");
        assert!(r.any_halted());
        assert!(!r.is_ready());
    }

    /// The status report trusts nothing before the watcher's first report: the default
    /// status (head 0, lag 0) must not read as "caught up" (the report's first step once ran
    /// on it, and a chain nothing was read from yet was trusted).
    #[tokio::test]
    async fn nothing_is_trusted_before_the_watchers_first_report() {
        let (status, updates) = tokio::sync::watch::channel(ChainStatus::default());
        let readiness = Arc::new(Readiness::default());
        let report = StatusReport::new(
            Chain::Side,
            updates,
            Arc::new(Metrics::default()),
            readiness.clone(),
        );
        let token = tokio_util::sync::CancellationToken::new();
        let task = tokio::spawn(crate::stage::run(report, token.clone(), Default::default()));
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(
            readiness.trusted(Chain::Side),
            Err("side: waiting for the watcher's first report".into())
        );

        status.send_replace(ChainStatus {
            head: 10,
            cursor: Some(8),
            ..ChainStatus::default()
        });
        for _ in 0..100 {
            if readiness.trusted(Chain::Side).is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(readiness.trusted(Chain::Side), Ok(()));
        token.cancel();
        task.await.expect("join").expect("stopped");
    }

    /// What a chain says may be acted on only while its watcher is caught up and its RPC
    /// answers; low gas or a key outside the set concern sending there, not the truth of it.
    #[test]
    fn a_chain_is_trusted_only_while_its_watcher_is_caught_up_and_its_rpc_answers() {
        let r = Readiness::default();
        assert!(r.trusted(Chain::Main).is_err(), "no report yet");
        r.set_ready(Chain::Main, true, "caught up");
        assert_eq!(r.trusted(Chain::Main), Ok(()));
        r.set_check(Chain::Main, Check::Gas, Some("gas: low".into()));
        r.set_check(Chain::Main, Check::Validator, Some("validator: no".into()));
        assert_eq!(
            r.trusted(Chain::Main),
            Ok(()),
            "sending concerns, not trust"
        );
        r.set_check(Chain::Main, Check::Rpc, Some("rpc: down".into()));
        assert_eq!(r.trusted(Chain::Main), Err("main: rpc: down".into()));
        r.set_check(Chain::Main, Check::Rpc, None);
        r.set_ready(
            Chain::Main,
            false,
            "the node's head 3 is below block 9 already processed",
        );
        assert!(
            r.trusted(Chain::Main)
                .is_err_and(|e| e.contains("below block 9"))
        );
        r.set_halted(Chain::Main, "reorg to a shorter chain");
        assert!(
            r.trusted(Chain::Main)
                .is_err_and(|e| e.contains("shorter chain"))
        );
        assert_eq!(
            r.trusted(Chain::Side),
            Err("side: waiting for the watcher's first report".into())
        );
    }

    #[test]
    fn ether_prints_six_decimals() {
        assert_eq!(ether(U256::ZERO), "0.000000 ether");
        assert_eq!(
            ether(U256::from(1_500_000_000_000_000_000u128)),
            "1.500000 ether"
        );
        assert_eq!(ether(U256::from(100_000_000_000_000u64)), "0.000100 ether");
    }
}
