//! A submitter as a [`Stage`]: it begins by taking back what a previous run left pending, then
//! each step follows what is out and sends queued work; between steps it waits for new work or
//! its poll interval. On a stop it follows what is out (the drain); when every handle is gone
//! (the planner ended) it has nothing more to do.

use tokio::sync::mpsc;

use super::{SubmitError, Submitter, TxRequest, TxSink};
use crate::stage::{Flow, Stage};

/// One chain's submitter and the queue its handles feed.
#[derive(Debug)]
pub struct SubmitterStage<S> {
    submitter: Submitter<S>,
    jobs: mpsc::Receiver<TxRequest>,
    /// Whether the attempts of a previous run were taken back (nothing is sent before).
    resumed: bool,
    /// Every handle is gone: no work will ever come again.
    closed: bool,
}

impl<S: TxSink + 'static> SubmitterStage<S> {
    pub(super) fn new(submitter: Submitter<S>, jobs: mpsc::Receiver<TxRequest>) -> Self {
        Self {
            submitter,
            jobs,
            resumed: false,
            closed: false,
        }
    }

    fn take_queued(&mut self) {
        while let Ok(request) = self.jobs.try_recv() {
            self.submitter.queue.push_back(request);
        }
    }
}

impl<S: TxSink + 'static> Stage for SubmitterStage<S> {
    type Error = SubmitError;

    fn name(&self) -> &'static str {
        match self.submitter.config.chain {
            crate::domain::Chain::Main => "submitter(main)",
            crate::domain::Chain::Side => "submitter(side)",
        }
    }

    async fn step(&mut self) -> Result<Flow, SubmitError> {
        if self.closed {
            return Ok(Flow::Done);
        }
        if !self.resumed {
            self.submitter.resume().await?;
            self.resumed = true;
            self.submitter.in_flight.set_resumed();
        }
        self.take_queued();
        self.submitter.step().await?;
        Ok(Flow::Idle)
    }

    async fn idle(&mut self) {
        tokio::select! {
            biased;
            job = self.jobs.recv() => match job {
                Some(request) => self.submitter.queue.push_back(request),
                None => self.closed = true,
            },
            _ = tokio::time::sleep(self.submitter.config.poll_interval) => {}
        }
        self.take_queued();
    }

    async fn stop(&mut self) {
        self.submitter.drain().await;
    }
}
