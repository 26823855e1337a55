//! What the node exports to Prometheus: one registry, one struct ([`Metrics`]), every series
//! created at zero at start so dashboards and `increase()` alerts see it before the first event.
//! Labels are bounded by construction (chain, kind, direction, state); a transfer id or a
//! transaction hash is never a label. Served by [`crate::http`] at `/metrics`.

use std::{fmt, sync::atomic::AtomicU64};

use alloy::primitives::U256;
use prometheus_client::{
    encoding::prometheus_text,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};

mod labels;
mod wei;

pub use self::labels::{RPC_METHODS, RpcErrors, RpcLabels};
use self::{labels::*, wei::WeiTotal};
use crate::domain::{Chain, Direction, TransferState, TxKind};

type F64Gauge = Gauge<f64, AtomicU64>;

/// Everything the node exports to Prometheus, in one registry. All names start with
/// `sidebridge_`:
///
/// | metric | type | labels |
/// | --- | --- | --- |
/// | `transfers` | gauge | direction, state |
/// | `chain_head_block`, `chain_cursor_block`, `chain_lag_blocks` | gauge | chain |
/// | `tx_sent_total`, `tx_failed_total`, `tx_replaced_total` | counter | chain, kind |
/// | `gas_spent_wei_total` | counter | chain, kind |
/// | `account_balance_wei` | gauge | chain |
/// | `reorg_halts_total` | counter | chain |
/// | `chain_data_rejected_total` | counter (logs a watcher dropped as not this route's) | chain, reason |
/// | `ready` | gauge (0/1) | chain |
/// | `active` | gauge (1 acting, 0 standby: `[ha]`) | |
/// | `rpc_errors_total` | counter | chain, method |
/// | `stage_failures_total` | counter (failed steps of a long-running stage) | stage, disposition |
/// | `rpc_failing_seconds` | gauge (0 while the endpoint answers) | chain |
/// | `validator` | gauge (1 while the key is in the current set) | chain |
/// | `gas_runway_wei` | gauge (the configured least balance) | chain |
/// | `transfers_parked` | gauge | direction |
/// | `fee_coverage_ratio` | gauge (fees / relay costs over a day; NaN without prices) | direction |
/// | `forgery_alarms_total` | counter | direction |
/// | `vote_conflicts_total` | counter | |
/// | `planner_rounds_total`, `planner_rpc_calls_total` | counter | |
/// | `planner_round_rpc_calls`, `planner_round_rpc_calls_max` | gauge (last round, largest) | |
///
/// The two alarm counters start at what the database holds, so a restart does not hide them.
///
/// Gas is summed exactly, in wei, as a 256-bit integer and exported as the nearest `f64`:
/// the export is off by at most one part in 2^53 of the total and never drifts, since it is
/// rounded once per scrape rather than per transaction. (A `u64` wei counter would overflow
/// at 18.4 ETH; a gwei one would drop the sub-gwei remainder of every receipt.) The cost
/// ledger, not this metric, is the book that reconciles to the wei.
pub struct Metrics {
    registry: Registry,
    transfers: Family<TransferLabels, Gauge>,
    head_block: Family<ChainLabels, Gauge>,
    cursor_block: Family<ChainLabels, Gauge>,
    lag_blocks: Family<ChainLabels, Gauge>,
    tx_sent: Family<ChainKindLabels, Counter>,
    tx_failed: Family<ChainKindLabels, Counter>,
    tx_replaced: Family<ChainKindLabels, Counter>,
    gas_spent: Family<ChainKindLabels, WeiTotal>,
    balance: Family<ChainLabels, F64Gauge>,
    reorg_halts: Family<ChainLabels, Counter>,
    rejected: Family<ChainReasonLabels, Counter>,
    ready: Family<ChainLabels, Gauge>,
    active: Gauge,
    rpc_errors: RpcErrors,
    rpc_endpoints: crate::rpc::EndpointMetrics,
    stages: crate::stage::StageMetrics,
    rpc_failing: Family<ChainLabels, F64Gauge>,
    validator: Family<ChainLabels, Gauge>,
    gas_runway: Family<ChainLabels, F64Gauge>,
    parked: Family<DirectionLabels, Gauge>,
    fee_coverage: Family<DirectionLabels, F64Gauge>,
    forgery_alarms: Family<DirectionLabels, Counter>,
    vote_conflicts: Counter,
    planner_rounds: Counter,
    planner_rpc_calls: Counter,
    planner_round_rpc_calls: Gauge,
    planner_round_rpc_calls_max: Gauge,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn saturating_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Metrics {
    /// Registers every metric and creates every series at zero, so that dashboards and
    /// `increase()` alerts see them before the first event.
    pub fn new() -> Self {
        Self::with_series(true)
    }

    /// The metrics of a keyless reader (the transfer index): the same families, but only the
    /// watchers' and the RPC's series exist. A validator's series (membership, balance and
    /// runway, transactions, transfers by state) are left absent rather than zero, so that an
    /// index scraped by the same Prometheus raises no validator alert.
    pub fn keyless() -> Self {
        Self::with_series(false)
    }

    fn with_series(relaying: bool) -> Self {
        let mut registry = Registry::with_prefix("sidebridge");
        let metrics = Metrics {
            transfers: Family::default(),
            head_block: Family::default(),
            cursor_block: Family::default(),
            lag_blocks: Family::default(),
            tx_sent: Family::default(),
            tx_failed: Family::default(),
            tx_replaced: Family::default(),
            gas_spent: Family::default(),
            balance: Family::default(),
            reorg_halts: Family::default(),
            rejected: Family::default(),
            ready: Family::default(),
            active: Gauge::default(),
            rpc_errors: Family::default(),
            rpc_endpoints: crate::rpc::EndpointMetrics::default(),
            stages: crate::stage::StageMetrics::default(),
            rpc_failing: Family::default(),
            validator: Family::default(),
            gas_runway: Family::default(),
            parked: Family::default(),
            fee_coverage: Family::default(),
            forgery_alarms: Family::default(),
            vote_conflicts: Counter::default(),
            planner_rounds: Counter::default(),
            planner_rpc_calls: Counter::default(),
            planner_round_rpc_calls: Gauge::default(),
            planner_round_rpc_calls_max: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register(
            "transfers",
            "Transfers this relayer tracks, by direction and state",
            metrics.transfers.clone(),
        );
        registry.register(
            "chain_head_block",
            "Latest block number the chain's node reported",
            metrics.head_block.clone(),
        );
        registry.register(
            "chain_cursor_block",
            "Last block the watcher processed",
            metrics.cursor_block.clone(),
        );
        registry.register(
            "chain_lag_blocks",
            "Blocks between the watcher's cursor and the confirmed head",
            metrics.lag_blocks.clone(),
        );
        registry.register(
            "tx_sent",
            "Transactions broadcast, by chain and kind",
            metrics.tx_sent.clone(),
        );
        registry.register(
            "tx_failed",
            "Transactions that reverted or were rejected, by chain and kind",
            metrics.tx_failed.clone(),
        );
        registry.register(
            "tx_replaced",
            "Stuck transactions replaced with a higher fee, by chain and kind",
            metrics.tx_replaced.clone(),
        );
        registry.register(
            "gas_spent_wei",
            "Gas paid (gasUsed x effectiveGasPrice) in wei, summed exactly, exported as f64",
            metrics.gas_spent.clone(),
        );
        registry.register(
            "account_balance_wei",
            "The validator account's native balance in wei (as f64)",
            metrics.balance.clone(),
        );
        registry.register(
            "reorg_halts",
            "Times a watcher halted on a reorg deeper than its confirmations",
            metrics.reorg_halts.clone(),
        );
        registry.register(
            "chain_data_rejected",
            "Bridge logs (or entries of one) a watcher dropped: a nonce no bridge reaches, another route's chain ids, an id that is not its content's, undecodable data",
            metrics.rejected.clone(),
        );
        registry.register(
            "ready",
            "1 when the chain's watcher is caught up and not halted",
            metrics.ready.clone(),
        );
        registry.register(
            "rpc_errors",
            "RPC requests that failed (transport error, HTTP error, rate limit), each try counted, by chain and method",
            metrics.rpc_errors.clone(),
        );
        metrics.rpc_endpoints.register(&mut registry);
        metrics.stages.register(&mut registry);
        registry.register(
            "rpc_failing_seconds",
            "Seconds since the chain's RPC endpoint last answered, while every request fails; 0 otherwise",
            metrics.rpc_failing.clone(),
        );
        registry.register(
            "validator",
            "1 while the relayer's key is in the chain's current validator set",
            metrics.validator.clone(),
        );
        registry.register(
            "gas_runway_wei",
            "The least balance (wei, as f64) the account must hold for the chain to be ready",
            metrics.gas_runway.clone(),
        );
        registry.register(
            "fee_coverage_ratio",
            "Fees collected over the last day against what relaying those transfers cost the whole validator set (this relayer's gas times the set's size), both valued in the main chain's coin at the configured [fees] prices; 1 is break-even, NaN without prices or costs",
            metrics.fee_coverage.clone(),
        );
        registry.register(
            "transfers_parked",
            "Unfinished transfers parked after acting on them again and again without landing, by direction",
            metrics.parked.clone(),
        );
        registry.register(
            "forgery_alarms",
            "Mints, releases or queued transfers whose content is not the transfer seen at the source",
            metrics.forgery_alarms.clone(),
        );
        registry.register(
            "vote_conflicts",
            "Deposit votes by any validator for content other than the deposit seen at the source",
            metrics.vote_conflicts.clone(),
        );
        registry.register(
            "planner_rounds",
            "Planning rounds that had work to look at",
            metrics.planner_rounds.clone(),
        );
        registry.register(
            "planner_rpc_calls",
            "RPC calls made by planning rounds",
            metrics.planner_rpc_calls.clone(),
        );
        registry.register(
            "planner_round_rpc_calls",
            "RPC calls the last planning round made (batched: independent of how many transfers)",
            metrics.planner_round_rpc_calls.clone(),
        );
        registry.register(
            "planner_round_rpc_calls_max",
            "Most RPC calls one planning round made since the start",
            metrics.planner_round_rpc_calls_max.clone(),
        );
        for chain in Chain::ALL {
            let c = chain_labels(chain);
            let _ = metrics.head_block.get_or_create(&c);
            let _ = metrics.cursor_block.get_or_create(&c);
            let _ = metrics.lag_blocks.get_or_create(&c);
            let _ = metrics.reorg_halts.get_or_create(&c);
            for reason in crate::watcher::Rejection::ALL {
                let _ = metrics.rejected.get_or_create(&ChainReasonLabels {
                    chain: chain.as_str(),
                    reason: reason.as_str(),
                });
            }
            let _ = metrics.ready.get_or_create(&c);
            let _ = metrics.rpc_failing.get_or_create(&c);
            metrics.rpc_endpoints.precreate(chain);
            for method in RPC_METHODS {
                let _ = metrics.rpc_errors.get_or_create(&RpcLabels {
                    chain: chain.as_str(),
                    method: method.to_string(),
                });
            }
        }
        let stages = if relaying {
            crate::stage::RELAYER_STAGES
        } else {
            crate::stage::INDEX_STAGES
        };
        for stage in stages {
            metrics.stages.precreate(stage);
        }
        if !relaying {
            return Metrics {
                registry,
                ..metrics
            };
        }
        // a validator's only: the index never acts for one
        registry.register(
            "active",
            "1 while this node acts for its validator, 0 while it is the standby of two ([ha])",
            metrics.active.clone(),
        );
        for direction in [Direction::Deposit, Direction::Withdrawal] {
            let d = direction_labels(direction);
            let _ = metrics.forgery_alarms.get_or_create(&d);
            let _ = metrics.parked.get_or_create(&d);
            metrics.fee_coverage.get_or_create(&d).set(f64::NAN);
        }

        for direction in [Direction::Deposit, Direction::Withdrawal] {
            for state in TransferState::ALL {
                let _ = metrics.transfers.get_or_create(&TransferLabels {
                    direction: direction.as_str(),
                    state: state.as_str(),
                });
            }
        }
        for chain in Chain::ALL {
            let c = chain_labels(chain);
            let _ = metrics.balance.get_or_create(&c);
            let _ = metrics.validator.get_or_create(&c);
            let _ = metrics.gas_runway.get_or_create(&c);
        }
        for kind in TxKind::ALL {
            let ck = chain_kind(kind.chain(), kind);
            let _ = metrics.tx_sent.get_or_create(&ck);
            let _ = metrics.tx_failed.get_or_create(&ck);
            let _ = metrics.tx_replaced.get_or_create(&ck);
            let _ = metrics.gas_spent.get_or_create(&ck);
        }
        Metrics {
            registry,
            ..metrics
        }
    }

    /// Sets the transfer gauges from the store's counts; combinations absent from `counts`
    /// are set to zero.
    pub fn set_transfer_counts(&self, counts: &[(Direction, TransferState, i64)]) {
        for direction in [Direction::Deposit, Direction::Withdrawal] {
            for state in TransferState::ALL {
                let n = counts
                    .iter()
                    .filter(|(d, s, _)| *d == direction && *s == state)
                    .map(|(_, _, n)| *n)
                    .sum::<i64>();
                self.transfers
                    .get_or_create(&TransferLabels {
                        direction: direction.as_str(),
                        state: state.as_str(),
                    })
                    .set(n);
            }
        }
    }

    /// A watcher's progress: the node's head, the last processed block and the gap between
    /// the cursor and the confirmed head.
    pub fn set_chain_progress(&self, chain: Chain, head: u64, cursor: u64, lag: u64) {
        let c = chain_labels(chain);
        self.head_block.get_or_create(&c).set(saturating_i64(head));
        self.cursor_block
            .get_or_create(&c)
            .set(saturating_i64(cursor));
        self.lag_blocks.get_or_create(&c).set(saturating_i64(lag));
    }

    pub fn tx_sent(&self, chain: Chain, kind: TxKind) {
        self.tx_sent.get_or_create(&chain_kind(chain, kind)).inc();
    }

    pub fn tx_failed(&self, chain: Chain, kind: TxKind) {
        self.tx_failed.get_or_create(&chain_kind(chain, kind)).inc();
    }

    pub fn tx_replaced(&self, chain: Chain, kind: TxKind) {
        self.tx_replaced
            .get_or_create(&chain_kind(chain, kind))
            .inc();
    }

    /// Adds a mined transaction's cost (`gasUsed × effectiveGasPrice`).
    pub fn gas_spent(&self, chain: Chain, kind: TxKind, cost_wei: U256) {
        self.gas_spent
            .get_or_create(&chain_kind(chain, kind))
            .add(cost_wei);
    }

    /// The exact gas total behind `gas_spent_wei_total`.
    pub fn gas_spent_wei(&self, chain: Chain, kind: TxKind) -> U256 {
        self.gas_spent.get_or_create(&chain_kind(chain, kind)).get()
    }

    pub fn set_balance(&self, chain: Chain, balance_wei: U256) {
        set_gauge(&self.balance, &chain_labels(chain), f64::from(balance_wei));
    }

    /// A planning round finished having made `calls` RPC calls (0: it had nothing to do).
    pub fn planner_round(&self, calls: u64) {
        if calls > 0 {
            let calls = saturating_i64(calls);
            self.planner_rounds.inc();
            self.planner_rpc_calls.inc_by(calls as u64);
            self.planner_round_rpc_calls.set(calls);
            if calls > self.planner_round_rpc_calls_max.get() {
                self.planner_round_rpc_calls_max.set(calls);
            }
        }
    }

    /// Counts `n` logs (or entries) the watcher of `chain` dropped for `reason`.
    pub fn chain_data_rejected(&self, chain: Chain, reason: &'static str, n: u64) {
        let labels = ChainReasonLabels {
            chain: chain.as_str(),
            reason,
        };
        self.rejected.get_or_create(&labels).inc_by(n);
    }

    pub fn reorg_halt(&self, chain: Chain) {
        self.reorg_halts.get_or_create(&chain_labels(chain)).inc();
    }

    /// Counts `n` newly raised forgery alarms.
    pub fn forgery_alarms(&self, direction: Direction, n: u64) {
        self.forgery_alarms
            .get_or_create(&direction_labels(direction))
            .inc_by(n);
    }

    /// Counts `n` newly seen conflicting votes.
    pub fn vote_conflicts(&self, n: u64) {
        self.vote_conflicts.inc_by(n);
    }

    /// The `rpc_errors_total` family, for the chains' [`crate::rpc::RpcHealth`].
    pub fn rpc_errors(&self) -> RpcErrors {
        self.rpc_errors.clone()
    }

    /// The per-endpoint series, for each chain's [`crate::rpc::Failover`].
    pub fn rpc_endpoints(&self) -> crate::rpc::EndpointMetrics {
        self.rpc_endpoints.clone()
    }

    /// The stages' failure counters ([`crate::stage`]).
    pub fn stages(&self) -> &crate::stage::StageMetrics {
        &self.stages
    }

    /// How long every request to `chain`'s endpoint has failed (0 while it answers).
    pub fn set_rpc_failing(&self, chain: Chain, seconds: f64) {
        set_gauge(&self.rpc_failing, &chain_labels(chain), seconds);
    }

    /// Whether the key is in `chain`'s current validator set.
    pub fn set_validator(&self, chain: Chain, member: bool) {
        set_gauge(&self.validator, &chain_labels(chain), i64::from(member));
    }

    /// Transfers parked now, by direction.
    pub fn set_parked(&self, deposits: i64, withdrawals: i64) {
        for (direction, n) in [
            (Direction::Deposit, deposits),
            (Direction::Withdrawal, withdrawals),
        ] {
            set_gauge(&self.parked, &direction_labels(direction), n);
        }
    }

    /// Fees over relay costs in `direction` (NaN: nothing to compare).
    pub fn set_fee_coverage(&self, direction: Direction, ratio: f64) {
        set_gauge(&self.fee_coverage, &direction_labels(direction), ratio);
    }

    /// The configured least balance on `chain`.
    pub fn set_gas_runway(&self, chain: Chain, wei: U256) {
        set_gauge(&self.gas_runway, &chain_labels(chain), f64::from(wei));
    }

    /// Set from [`crate::health::Readiness`] on every scrape; callable directly too.
    pub fn set_ready(&self, chain: Chain, ready: bool) {
        set_gauge(&self.ready, &chain_labels(chain), i64::from(ready));
    }

    /// Whether this node acts (1) or is one validator's standby (0); a node without `[ha]`
    /// always acts.
    pub fn set_active(&self, active: bool) {
        self.active.set(i64::from(active));
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> Result<String, fmt::Error> {
        let mut out = String::new();
        prometheus_text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

impl crate::submitter::TxObserver for Metrics {
    fn sent(&self, chain: Chain, kind: TxKind) {
        self.tx_sent(chain, kind);
    }
    fn replaced(&self, chain: Chain, kind: TxKind) {
        self.tx_replaced(chain, kind);
    }
    fn failed(&self, chain: Chain, kind: TxKind) {
        self.tx_failed(chain, kind);
    }
    fn mined(&self, chain: Chain, kind: TxKind, cost_wei: U256) {
        self.gas_spent(chain, kind, cost_wei);
    }
}

#[cfg(test)]
mod tests;
