//! One contract for every long-running task of a process: watchers, planner, auditor,
//! submitters, the health monitor, the endpoint head checks, the fee ledger and the index's
//! overview are each a named [`Stage`], and [`run`] is the one loop that drives them.
//!
//! A stage does one unit of work per [`Stage::step`] and says whether more is waiting; between
//! steps it waits in [`Stage::idle`] (its pace, or what wakes it). The loop alone judges a
//! failed step by its [`Disposition`], never by its text:
//!
//! - **transient**: logged with the stage's name, counted
//!   (`sidebridge_stage_failures_total{stage,disposition="transient"}`), and the stage idles
//!   before it tries again; a recovery after failures is logged once;
//! - **halt**: logged once, counted, reported by the stage ([`Stage::halt`], which makes its
//!   chain not ready), and the stage then does nothing until shutdown;
//! - **fatal**: logged, counted, and the stage ends with the error: the supervisor stops the
//!   process (non-zero exit), since nothing will change without an operator.
//!
//! A panic inside a stage is caught and ends it as fatal under its own name, so the operator
//! reads which stage died instead of an anonymous join error. Cancellation is checked before
//! every step and raced with every wait, never with a step: a step (a database transaction, a
//! broadcast) runs to its end or not at all. A stop lets the stage finish what it has out
//! ([`Stage::stop`]: a submitter follows its transactions). Aborting the task set is the hard
//! stop: a node that lost its HA lease drops every stage at its next await, mid-step included.

use std::{future::Future, panic::AssertUnwindSafe, task::Poll, time::Duration};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family},
    registry::Registry,
};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::rpc::{Classify, Disposition, describe};

/// How long in-flight work may take after a stop signal.
pub const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(20);

/// The named tasks of a process, each critical: one that ends stops the process.
pub(crate) type Tasks = JoinSet<(&'static str, Result<(), String>)>;

/// The stages of a relayer node, whose failure series exist from its start.
pub const RELAYER_STAGES: &[&str] = &[
    "watcher(main)",
    "watcher(side)",
    "status(main)",
    "status(side)",
    "auditor",
    "planner",
    "submitter(main)",
    "submitter(side)",
    "health monitor",
];

/// The stages of a transfer index.
pub const INDEX_STAGES: &[&str] = &[
    "watcher(main)",
    "watcher(side)",
    "status(main)",
    "status(side)",
    "overview",
];

/// What a step found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// More work is waiting: step again at once.
    More,
    /// Nothing more for now: wait in [`Stage::idle`].
    Idle,
    /// The stage has nothing more to do, ever (its input closed).
    Done,
}

/// A long-running part of a process, driven by [`run`].
pub trait Stage: Send + 'static {
    type Error: Classify + std::error::Error + Send + 'static;

    /// The stage's name in logs, metrics and the error that stops the process. A fixed set
    /// (`watcher(main)`, `planner`, …), so it is a bounded metric label.
    fn name(&self) -> &'static str;

    /// Waits until the stage may start (cancellation wins the race). Default: at once.
    fn begin(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// One unit of work.
    fn step(&mut self) -> impl Future<Output = Result<Flow, Self::Error>> + Send;

    /// Waits for the next reason to step: its pace, or a wake-up.
    fn idle(&mut self) -> impl Future<Output = ()> + Send;

    /// Reports a halt (the stage acts on nothing more until an operator looks).
    fn halt(&mut self, _reason: &str) {}

    /// Finishes what is out after a stop signal, within the shutdown deadline.
    fn stop(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

/// Failed steps by stage and disposition: `sidebridge_stage_failures_total`.
#[derive(Debug, Clone, Default)]
pub struct StageMetrics {
    failures: Family<StageLabels, Counter>,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabels {
    stage: &'static str,
    disposition: &'static str,
}

impl StageMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "stage_failures",
            "Failed steps of a long-running stage (watcher, planner, submitter, …) by how the failure was judged: transient (tried again), halt (acts on nothing until an operator looks), fatal (the process stops)",
            self.failures.clone(),
        );
    }

    /// Creates `stage`'s series at zero, so alerts see it before its first failure.
    pub fn precreate(&self, stage: &'static str) {
        for disposition in [
            Disposition::Transient,
            Disposition::Halt,
            Disposition::Fatal,
        ] {
            let _ = self.failures.get_or_create(&labels(stage, disposition));
        }
    }

    /// Failures of `stage` judged `disposition` so far.
    pub fn failures(&self, stage: &'static str, disposition: Disposition) -> u64 {
        self.failures
            .get_or_create(&labels(stage, disposition))
            .get()
    }

    fn failed(&self, stage: &'static str, disposition: Disposition) {
        self.failures
            .get_or_create(&labels(stage, disposition))
            .inc();
    }
}

fn labels(stage: &'static str, disposition: Disposition) -> StageLabels {
    StageLabels {
        stage,
        disposition: match disposition {
            Disposition::Transient => "transient",
            Disposition::Halt => "halt",
            Disposition::Fatal => "fatal",
        },
    }
}

/// Runs `stage` until `shutdown` is cancelled or it is done (either way [`Stage::stop`] then
/// `Ok`), or a step fails fatally or panics (`Err`, the one-line reason). See the module's
/// text.
pub async fn run<S: Stage>(
    mut stage: S,
    shutdown: CancellationToken,
    metrics: StageMetrics,
) -> Result<(), String> {
    let name = stage.name();
    metrics.precreate(name);
    tokio::select! {
        biased;
        _ = shutdown.cancelled() => return Ok(()),
        _ = stage.begin() => {}
    }
    let mut failing = 0u64;
    loop {
        if shutdown.is_cancelled() {
            stage.stop().await;
            return Ok(());
        }
        let flow = match catch_panic(stage.step()).await {
            Err(panic) => {
                metrics.failed(name, Disposition::Fatal);
                tracing::error!(target: "stage", stage = name, panic = %panic, "stage panicked: stopping the process");
                return Err(format!("panicked: {panic}"));
            }
            Ok(Ok(flow)) => {
                if failing > 0 {
                    tracing::info!(target: "stage", stage = name, failures = failing, "stage recovered");
                    failing = 0;
                }
                flow
            }
            Ok(Err(err)) => {
                let disposition = err.disposition();
                metrics.failed(name, disposition);
                let reason = describe(&err);
                match disposition {
                    Disposition::Transient => {
                        failing += 1;
                        tracing::warn!(target: "stage", stage = name, error = %reason, failures = failing, "step failed; trying again");
                        Flow::Idle
                    }
                    Disposition::Halt => {
                        tracing::error!(target: "stage", stage = name, error = %reason,
                            "HALTED: this stage acts on nothing until an operator intervenes");
                        stage.halt(&reason);
                        shutdown.cancelled().await;
                        return Ok(());
                    }
                    Disposition::Fatal => {
                        tracing::error!(target: "stage", stage = name, error = %reason, "stage failed: stopping the process");
                        return Err(reason);
                    }
                }
            }
        };
        match flow {
            Flow::Done => {
                stage.stop().await;
                return Ok(());
            }
            Flow::More => {}
            Flow::Idle => tokio::select! {
                biased;
                _ = shutdown.cancelled() => {}
                _ = stage.idle() => {}
            },
        }
    }
}

/// Spawns `stage` into `tasks` under its name ([`run`]).
pub(crate) fn spawn<S: Stage>(
    tasks: &mut Tasks,
    stage: S,
    shutdown: CancellationToken,
    metrics: &StageMetrics,
) {
    let name = stage.name();
    let metrics = metrics.clone();
    tasks.spawn(async move { (name, run(stage, shutdown, metrics).await) });
}

/// Polls `future` to its end; a panic inside it is returned as its message instead of
/// unwinding through the task.
async fn catch_panic<F: Future>(future: F) -> Result<F::Output, String> {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(|cx| {
        match std::panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(out)) => Poll::Ready(Ok(out)),
            Err(payload) => Poll::Ready(Err(payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic without a message".into()))),
        }
    })
    .await
}

/// An error that is always transient: for stages whose every failure may pass (a read the
/// next round repeats).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Passing(pub String);

impl Classify for Passing {
    fn disposition(&self) -> Disposition {
        Disposition::Transient
    }
}

#[cfg(test)]
#[path = "stage_tests.rs"]
mod tests;
