//! The stage contract: one loop judges every failure by its disposition, names the stage that
//! failed, never cancels a step halfway and lets the stage finish what it has out on a stop.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::*;

/// What one scripted step does.
#[derive(Debug, Clone, Copy)]
enum Step {
    Ok(Flow),
    Fail(Disposition),
    Panic,
    /// Takes this long, then succeeds (idle).
    Slow(Duration),
}

#[derive(Debug, thiserror::Error)]
#[error("scripted {0:?} failure")]
struct Scripted(Disposition);

impl Classify for Scripted {
    fn disposition(&self) -> Disposition {
        self.0
    }
}

/// A stage that plays `script` and then idles with nothing to do; every call is logged.
struct Script {
    name: &'static str,
    script: VecDeque<Step>,
    log: Arc<Mutex<Vec<String>>>,
}

fn script(name: &'static str, steps: &[Step]) -> (Script, Arc<Mutex<Vec<String>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let stage = Script {
        name,
        script: steps.iter().copied().collect(),
        log: log.clone(),
    };
    (stage, log)
}

impl Script {
    fn note(&self, what: String) {
        self.log.lock().expect("log").push(what);
    }
}

impl Stage for Script {
    type Error = Scripted;

    fn name(&self) -> &'static str {
        self.name
    }

    async fn step(&mut self) -> Result<Flow, Scripted> {
        let next = self.script.pop_front().unwrap_or(Step::Ok(Flow::Idle));
        self.note(format!("step {next:?}"));
        match next {
            Step::Ok(flow) => Ok(flow),
            Step::Fail(disposition) => Err(Scripted(disposition)),
            Step::Panic => panic!("scripted panic in {}", self.name),
            Step::Slow(took) => {
                tokio::time::sleep(took).await;
                self.note("slow step finished".into());
                Ok(Flow::Idle)
            }
        }
    }

    fn idle(&mut self) -> impl std::future::Future<Output = ()> + Send {
        tokio::time::sleep(Duration::from_millis(1))
    }

    fn halt(&mut self, reason: &str) {
        self.note(format!("halt: {reason}"));
    }

    async fn stop(&mut self) {
        self.note("stop".into());
    }
}

fn entries(log: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
    log.lock().expect("log").clone()
}

/// Waits until the log holds `n` entries (the stage is a task of its own).
async fn until_logged(log: &Arc<Mutex<Vec<String>>>, n: usize) {
    for _ in 0..2_000 {
        if log.lock().expect("log").len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("the stage never logged {n} entries: {:?}", entries(log));
}

#[tokio::test]
async fn transient_failures_are_counted_and_tried_again_until_the_stop() {
    let metrics = StageMetrics::default();
    let (stage, log) = script(
        "flaky",
        &[
            Step::Fail(Disposition::Transient),
            Step::Fail(Disposition::Transient),
            Step::Ok(Flow::More),
        ],
    );
    let token = CancellationToken::new();
    let task = tokio::spawn(run(stage, token.clone(), metrics.clone()));
    until_logged(&log, 5).await;
    assert!(
        !task.is_finished(),
        "a transient failure never ends a stage"
    );
    token.cancel();
    task.await.expect("join").expect("a stop is not an error");
    assert_eq!(metrics.failures("flaky", Disposition::Transient), 2);
    assert_eq!(metrics.failures("flaky", Disposition::Fatal), 0);
    let log = entries(&log);
    assert_eq!(log.last().map(String::as_str), Some("stop"), "{log:?}");
}

#[tokio::test]
async fn a_fatal_failure_ends_the_stage_with_its_reason_and_nothing_after_it() {
    let metrics = StageMetrics::default();
    let (stage, log) = script(
        "doomed",
        &[Step::Ok(Flow::More), Step::Fail(Disposition::Fatal)],
    );
    let token = CancellationToken::new();
    let err = run(stage, token.clone(), metrics.clone())
        .await
        .expect_err("fatal ends the stage");
    assert!(err.contains("scripted Fatal failure"), "{err}");
    assert_eq!(metrics.failures("doomed", Disposition::Fatal), 1);
    assert_eq!(
        entries(&log).len(),
        2,
        "no step, halt or stop after a fatal failure"
    );
}

#[tokio::test]
async fn a_halt_is_reported_once_and_the_stage_acts_on_nothing_until_the_stop() {
    let metrics = StageMetrics::default();
    let (stage, log) = script(
        "reorged",
        &[Step::Fail(Disposition::Halt), Step::Ok(Flow::More)],
    );
    let token = CancellationToken::new();
    let task = tokio::spawn(run(stage, token.clone(), metrics.clone()));
    until_logged(&log, 2).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        !task.is_finished(),
        "a halted stage stays up (its status is served)"
    );
    assert_eq!(
        entries(&log),
        ["step Fail(Halt)", "halt: scripted Halt failure"],
        "no step after a halt"
    );
    token.cancel();
    task.await
        .expect("join")
        .expect("a halt is not an error exit");
    assert_eq!(metrics.failures("reorged", Disposition::Halt), 1);
}

#[tokio::test]
async fn a_panic_ends_the_stage_as_fatal_under_its_name() {
    let metrics = StageMetrics::default();
    let (stage, _) = script("brittle", &[Step::Panic]);
    let mut tasks: Tasks = JoinSet::new();
    let token = CancellationToken::new();
    spawn(&mut tasks, stage, token.clone(), &metrics);
    let (name, result) = tasks
        .join_next()
        .await
        .expect("one task")
        .expect("no JoinError");
    assert_eq!(name, "brittle", "the supervisor reads which stage died");
    let err = result.expect_err("a panic is fatal");
    assert!(err.contains("scripted panic in brittle"), "{err}");
    assert_eq!(metrics.failures("brittle", Disposition::Fatal), 1);
}

#[tokio::test]
async fn a_stop_never_cuts_a_step_in_half_and_lets_the_stage_finish_what_is_out() {
    let (stage, log) = script("careful", &[Step::Slow(Duration::from_millis(200))]);
    let token = CancellationToken::new();
    let task = tokio::spawn(run(stage, token.clone(), StageMetrics::default()));
    until_logged(&log, 1).await;
    token.cancel(); // inside the slow step
    task.await.expect("join").expect("a stop is not an error");
    assert_eq!(
        entries(&log),
        ["step Slow(200ms)", "slow step finished", "stop"],
        "the step ran to its end, no step followed the stop, and the stage drained"
    );
}

#[tokio::test]
async fn a_stage_with_nothing_more_to_do_returns_and_one_cancelled_before_it_begins_never_steps() {
    let (stage, log) = script("finite", &[Step::Ok(Flow::Done)]);
    run(stage, CancellationToken::new(), StageMetrics::default())
        .await
        .expect("done");
    assert_eq!(
        entries(&log),
        ["step Ok(Done)", "stop"],
        "done, it still finishes what is out"
    );

    let (stage, log) = script("late", &[]);
    let token = CancellationToken::new();
    token.cancel();
    run(stage, token, StageMetrics::default())
        .await
        .expect("stopped");
    assert!(entries(&log).is_empty(), "{:?}", entries(&log));
}

/// The node's supervisor over stages: one dying fatally stops the others (each finishing what
/// it has out) and the process reports which one died and why.
#[tokio::test]
async fn one_stage_dying_stops_the_others_and_names_itself() {
    let metrics = StageMetrics::default();
    let mut tasks: Tasks = JoinSet::new();
    let (work, shutdown) = (CancellationToken::new(), CancellationToken::new());
    let (healthy, healthy_log) = script("healthy", &[]);
    spawn(&mut tasks, healthy, work.clone(), &metrics);
    let (doomed, _) = script(
        "doomed",
        &[Step::Ok(Flow::Idle), Step::Fail(Disposition::Fatal)],
    );
    spawn(&mut tasks, doomed, work.clone(), &metrics);
    let err = crate::node::supervise(tasks, work.clone(), shutdown.clone(), "test")
        .await
        .expect_err("a fatal stage ends the process");
    let text = err.to_string();
    assert!(text.contains("task doomed stopped unexpectedly"), "{text}");
    assert!(text.contains("scripted Fatal failure"), "{text}");
    assert!(work.is_cancelled() && shutdown.is_cancelled());
    let log = entries(&healthy_log);
    assert_eq!(log.last().map(String::as_str), Some("stop"), "{log:?}");
}
