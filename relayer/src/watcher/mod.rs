//! One watcher per chain: reads the bridge's events with ranged `eth_getLogs` from a persisted
//! cursor up to `head - confirmations`, and stores what it learned together with the new cursor
//! in one database transaction. Every log it keeps names the hash of the block the node serves
//! at that height (headers read in one batch); it remembers those hashes and the last block it
//! processed. If that block is no longer canonical, or gone because the chain got shorter, the
//! chain reorganised deeper than the confirmations and the watcher halts — marks itself not
//! ready and says so — rather than guess.

mod decode;
mod main_end;

use std::{future::Future, sync::Arc, time::Duration};

pub use decode::{MAX_NONCE, Rejected, Rejection, Route, decode, decode_votes, genuine};
pub use main_end::{MainSet, ReleaseView};

use alloy::{
    eips::BlockNumberOrTag,
    primitives::{Address, B256},
    providers::{DynProvider, Provider},
    rpc::{
        client::{BatchRequest, Waiter},
        types::{Filter, Log},
    },
    transports::{RpcError, TransportErrorKind},
};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use crate::{
    domain::{Chain, SeenBlock},
    rpc::{Classify, Disposition},
    stage::{Flow, Stage},
    store::{Store, StoreError},
};

/// Why a watcher step failed.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The node did not answer (the provider already retried).
    #[error("{call}: {source}")]
    Rpc {
        call: &'static str,
        #[source]
        source: RpcError<TransportErrorKind>,
    },
    #[error("block {0} is not available from the node")]
    MissingBlock(u64),
    #[error(
        "the node's answers disagree: a log of block {number} names block {log_hash}, the block's header is {header_hash}"
    )]
    Inconsistent {
        number: u64,
        log_hash: B256,
        header_hash: B256,
    },
    #[error(
        "reorg deeper than the confirmations: block {number} was {stored} when processed and is {canonical} now"
    )]
    Reorg {
        number: u64,
        stored: B256,
        canonical: B256,
    },
    #[error(
        "reorg to a shorter chain: block {number} was processed, and the node's chain now ends at block {head}"
    )]
    Shorter { number: u64, head: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Classify for WatchError {
    /// A reorg deeper than the confirmations needs an operator; the rest may pass.
    fn disposition(&self) -> Disposition {
        match self {
            // a reorg racing the reads, or a lying node: nothing is stored, the range is read
            // again; a node that keeps lying keeps the watcher where it is (lag alerts)
            WatchError::Rpc { .. }
            | WatchError::MissingBlock(_)
            | WatchError::Inconsistent { .. } => Disposition::Transient,
            WatchError::Reorg { .. } | WatchError::Shorter { .. } => Disposition::Halt,
            WatchError::Store(e) => e.disposition(),
        }
    }
}

/// Where the chain's events come from.
pub trait EventSource: Send + Sync {
    fn head(&self) -> impl Future<Output = Result<u64, WatchError>> + Send;
    /// Hash and timestamp of block `number`.
    fn block(&self, number: u64) -> impl Future<Output = Result<(B256, i64), WatchError>> + Send;
    /// Hash and timestamp of each of `numbers`, in order.
    fn blocks(
        &self,
        numbers: &[u64],
    ) -> impl Future<Output = Result<Vec<(B256, i64)>, WatchError>> + Send;
    /// The bridge's logs in `from..=to`.
    fn logs(&self, from: u64, to: u64)
    -> impl Future<Output = Result<Vec<Log>, WatchError>> + Send;
}

/// An [`EventSource`] over JSON-RPC, reading only the configured bridge's logs.
#[derive(Debug, Clone)]
pub struct RpcEventSource {
    pub provider: DynProvider,
    pub bridge: Address,
    /// Only logs whose first indexed topic is this: a hub route's relayer asks for its route's
    /// events alone (every hub event it follows names the route first), so another route's
    /// traffic costs it nothing.
    pub topic1: Option<B256>,
}

impl EventSource for RpcEventSource {
    async fn head(&self) -> Result<u64, WatchError> {
        self.provider
            .get_block_number()
            .await
            .map_err(|source| WatchError::Rpc {
                call: "eth_blockNumber",
                source,
            })
    }

    async fn block(&self, number: u64) -> Result<(B256, i64), WatchError> {
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .await
            .map_err(|source| WatchError::Rpc {
                call: "eth_getBlockByNumber",
                source,
            })?
            .ok_or(WatchError::MissingBlock(number))?;
        Ok((block.header.hash, saturating_time(block.header.timestamp)))
    }

    /// One JSON-RPC batch per [`HEADERS_PER_BATCH`] blocks: a range whose every block holds a
    /// bridge log costs one round trip, not one per block.
    async fn blocks(&self, numbers: &[u64]) -> Result<Vec<(B256, i64)>, WatchError> {
        let rpc = |source| WatchError::Rpc {
            call: "eth_getBlockByNumber",
            source,
        };
        let mut out = Vec::with_capacity(numbers.len());
        for chunk in numbers.chunks(HEADERS_PER_BATCH) {
            let mut batch = BatchRequest::new(self.provider.client());
            let mut waiters = Vec::with_capacity(chunk.len());
            for &number in chunk {
                let params = (BlockNumberOrTag::Number(number), false);
                let waiter: Waiter<Option<HeaderAnswer>> = batch
                    .add_call("eth_getBlockByNumber", &params)
                    .map_err(rpc)?;
                waiters.push((number, waiter));
            }
            batch.send().await.map_err(rpc)?;
            for (number, waiter) in waiters {
                let header = waiter.await.map_err(rpc)?;
                let header = header.ok_or(WatchError::MissingBlock(number))?;
                out.push((header.hash, saturating_time(header.timestamp)));
            }
        }
        Ok(out)
    }

    async fn logs(&self, from: u64, to: u64) -> Result<Vec<Log>, WatchError> {
        let mut filter = Filter::new()
            .address(self.bridge)
            .from_block(from)
            .to_block(to);
        if let Some(topic) = self.topic1 {
            filter = filter.topic1(topic);
        }
        self.provider
            .get_logs(&filter)
            .await
            .map_err(|source| WatchError::Rpc {
                call: "eth_getLogs",
                source,
            })
    }
}

/// Headers asked for in one JSON-RPC batch.
pub const HEADERS_PER_BATCH: usize = 100;

/// The node's head and the hash it serves at each of `numbers` (`None`: no such block), in
/// one JSON-RPC batch, so both answers come from the same endpoint at the same moment: what a
/// vote or a signature is checked against just before it is sent.
pub async fn head_and_hashes(
    provider: &DynProvider,
    numbers: &[u64],
) -> Result<(u64, Vec<Option<B256>>), RpcError<TransportErrorKind>> {
    #[derive(Debug, serde::Deserialize)]
    struct Hash {
        hash: B256,
    }
    let mut batch = BatchRequest::new(provider.client());
    let head: Waiter<alloy::primitives::U64> = batch.add_call("eth_blockNumber", &())?;
    let mut waiters = Vec::with_capacity(numbers.len());
    for &number in numbers {
        let params = (BlockNumberOrTag::Number(number), false);
        let waiter: Waiter<Option<Hash>> = batch.add_call("eth_getBlockByNumber", &params)?;
        waiters.push(waiter);
    }
    batch.send().await?;
    let head = head.await?.to::<u64>();
    let mut hashes = Vec::with_capacity(numbers.len());
    for waiter in waiters {
        hashes.push(waiter.await?.map(|h| h.hash));
    }
    Ok((head, hashes))
}

/// The two fields of an `eth_getBlockByNumber` answer the watcher uses.
#[derive(Debug, serde::Deserialize)]
struct HeaderAnswer {
    hash: B256,
    #[serde(with = "alloy::serde::quantity")]
    timestamp: u64,
}

/// What the watcher reports after every step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainStatus {
    pub head: u64,
    /// Last block processed.
    pub cursor: Option<u64>,
    /// Blocks between the cursor and the confirmed head.
    pub lag: u64,
    /// Set once the watcher halted; the reason.
    pub halted: Option<String>,
    /// Logs and entries dropped since start, by [`Rejection::ALL`] position.
    pub rejected: [u64; Rejection::ALL.len()],
}

/// The watcher of one chain.
#[derive(Debug)]
pub struct Watcher<S> {
    pub chain: Chain,
    pub source: S,
    pub store: Store,
    pub route: Route,
    pub confirmations: u64,
    pub poll_interval: Duration,
    pub log_range: u64,
    /// First block to read when the database has no cursor.
    pub start_block: u64,
    pub status: watch::Sender<ChainStatus>,
    /// Woken after every step that stored something (a permit: the planner, its one waiter,
    /// sees it even if it was busy).
    pub progress: Arc<Notify>,
    /// Side chain only: also read the blocks above the confirmed head for withdrawal
    /// signatures (see [`Store::commit_unconfirmed_signatures`]), so a release need not wait
    /// for the signatures' own confirmations.
    pub unconfirmed: Option<UnconfirmedTail>,
}

/// How far the unconfirmed blocks were read: each block is read once there.
#[derive(Debug, Default)]
pub struct UnconfirmedTail {
    read_to: std::sync::atomic::AtomicU64,
}

/// The watcher as a [`Stage`]: a step reads the next range; a reorg deeper than the
/// confirmations halts it (reported in its status: not ready until an operator looks).
impl<S: EventSource + 'static> Stage for Watcher<S> {
    type Error = WatchError;

    fn name(&self) -> &'static str {
        match self.chain {
            Chain::Main => "watcher(main)",
            Chain::Side => "watcher(side)",
        }
    }

    async fn step(&mut self) -> Result<Flow, WatchError> {
        Ok(if Watcher::step(self).await? {
            Flow::Idle
        } else {
            Flow::More
        })
    }

    fn idle(&mut self) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(self.poll_interval)
    }

    fn halt(&mut self, reason: &str) {
        self.status
            .send_modify(|s| s.halted = Some(reason.to_string()));
    }
}

impl<S: EventSource> Watcher<S> {
    /// Runs until cancelled (see [`crate::stage::run`]); an error only for what the process
    /// should not survive. A reorg halt keeps the task alive (not ready, reporting) until
    /// shutdown.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), String>
    where
        S: 'static,
    {
        crate::stage::run(self, shutdown, Default::default()).await
    }

    /// Processes the next range of confirmed blocks. Returns whether it is caught up.
    pub async fn step(&self) -> Result<bool, WatchError> {
        let head = self.source.head().await?;
        let safe = head.saturating_sub(self.confirmations);
        let cursor = self.store.cursor(self.chain).await?;
        if let Some(c) = cursor {
            self.check_canonical(c, head).await?;
        }
        let next = cursor.map_or(self.start_block, |c| c + 1);
        if next > safe {
            self.report(head, cursor, 0);
            self.read_unconfirmed(safe, head).await?;
            return Ok(true);
        }
        let to = safe.min(next + self.log_range.max(1) - 1);
        let mut logs = genuine(
            self.chain,
            &self.route,
            self.source.logs(next, to).await?,
            next,
            to,
        );
        let blocks = self.headers(&mut logs, to).await?;
        let timestamp = blocks.last().map_or(0, |b| b.2);
        let (mut batch, rejected) = decode(self.chain, &self.route, &logs, timestamp, unix_now());
        self.rejected(&rejected);
        batch.to_block = to;
        batch.blocks = blocks
            .into_iter()
            .map(|(number, hash, _)| SeenBlock { number, hash })
            .collect();
        let stored = batch.new_transfers.len() + batch.completed.len() + batch.signatures.len();
        self.store.commit_watch(&batch).await?;
        if stored > 0 {
            tracing::debug!(target: "watcher", chain = %self.chain, from = next, to, events = stored, "stored events");
        }
        self.report(head, Some(to), safe - to);
        self.progress.notify_one();
        if to == safe {
            self.read_unconfirmed(safe, head).await?;
        }
        Ok(to == safe)
    }

    /// Takes the withdrawal signatures and readiness from blocks `safe + 1..=head`, nothing
    /// else: a lock, burn or mint there is read only once confirmed. An attacker who can
    /// reorganise those blocks gains nothing: a signature is recovered to its validator before
    /// a release uses it and authorises exactly the (confirmed) burn it signs, whichever
    /// transaction carried it.
    async fn read_unconfirmed(&self, safe: u64, head: u64) -> Result<(), WatchError> {
        use std::sync::atomic::Ordering;
        let Some(tail) = &self.unconfirmed else {
            return Ok(());
        };
        // each block once: one the node replaces later is read when confirmed
        let from = (safe.max(tail.read_to.load(Ordering::Relaxed)) + 1)
            .max(head.saturating_sub(self.log_range.max(1) - 1));
        if from > head {
            return Ok(());
        }
        let logs = genuine(
            self.chain,
            &self.route,
            self.source.logs(from, head).await?,
            from,
            head,
        );
        let (batch, rejected) = decode(self.chain, &self.route, &logs, 0, unix_now());
        self.rejected(&rejected);
        self.store
            .commit_unconfirmed_signatures(&batch.signatures, &batch.ready)
            .await?;
        tail.read_to.store(head, Ordering::Relaxed);
        if !batch.signatures.is_empty() || !batch.ready.is_empty() {
            tracing::debug!(target: "watcher", chain = %self.chain, from, to = head,
                signatures = batch.signatures.len(), ready = batch.ready.len(), "stored unconfirmed signatures");
            self.progress.notify_one();
        }
        Ok(())
    }

    /// The headers of `to` and of every block holding one of `logs`, ascending as
    /// `(number, hash, timestamp)`, read in one batch; each log must name the hash the node
    /// serves at its height, and gets that block's timestamp. A log of another fork (a reorg
    /// racing the two reads, or a node that lies in one answer) fails the step, so nothing of
    /// the range is stored and it is read again: dropping the log instead could drop a genuine
    /// transfer for good, since the cursor moves past it.
    async fn headers(
        &self,
        logs: &mut [Log],
        to: u64,
    ) -> Result<Vec<(u64, B256, i64)>, WatchError> {
        let mut numbers: Vec<u64> = logs.iter().filter_map(|l| l.block_number).collect();
        numbers.push(to);
        numbers.sort_unstable();
        numbers.dedup();
        let headers = self.source.blocks(&numbers).await?;
        for log in logs.iter_mut() {
            let Some(number) = log.block_number else {
                continue;
            };
            let (header_hash, timestamp) = headers[numbers.binary_search(&number).expect("listed")];
            if log.block_hash != Some(header_hash) {
                return Err(WatchError::Inconsistent {
                    number,
                    log_hash: log.block_hash.unwrap_or_default(),
                    header_hash,
                });
            }
            log.block_timestamp = Some(u64::try_from(timestamp).unwrap_or_default());
        }
        Ok(numbers
            .into_iter()
            .zip(headers)
            .map(|(n, (hash, ts))| (n, hash, ts))
            .collect())
    }

    /// Whether the last processed block is still the one the node serves at its height. A node
    /// whose head is below it may only be lagging (a stale head answer); if it does not serve
    /// the block either, the chain got shorter than what was confirmed: a halt.
    async fn check_canonical(&self, number: u64, head: u64) -> Result<(), WatchError> {
        let seen = self.store.seen_blocks(self.chain, number, number).await?;
        let Some(stored) = seen.first() else {
            return Ok(());
        };
        let canonical = match self.source.block(number).await {
            Ok((hash, _)) => hash,
            Err(WatchError::MissingBlock(_)) if head < number => {
                return Err(WatchError::Shorter { number, head });
            }
            Err(e) => return Err(e),
        };
        if canonical != stored.hash {
            return Err(WatchError::Reorg {
                number,
                stored: stored.hash,
                canonical,
            });
        }
        Ok(())
    }

    /// Says what the decoder dropped, each once (a range read again after a failed step is
    /// counted again: the alarm is "something is sending this", not an exact tally).
    fn rejected(&self, rejected: &[Rejected]) {
        if rejected.is_empty() {
            return;
        }
        for r in rejected {
            tracing::error!(target: "watcher", chain = %self.chain, reason = r.reason.as_str(), event = r.event,
                block = r.block, tx_hash = %r.tx_hash, detail = %r.detail,
                "dropped a bridge log that cannot be this route's; nothing was stored for it");
        }
        self.status.send_modify(|s| {
            for r in rejected {
                let i = Rejection::ALL
                    .iter()
                    .position(|x| *x == r.reason)
                    .expect("ALL lists every rejection");
                s.rejected[i] += 1;
            }
        });
    }

    fn report(&self, head: u64, cursor: Option<u64>, lag: u64) {
        self.status.send_modify(|s| {
            s.head = head;
            s.cursor = cursor;
            s.lag = lag;
        });
    }
}

/// A node's block timestamp for an `i64` column: an absurd one saturates rather than wraps.
fn saturating_time(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod decode_hub_tests;
#[cfg(test)]
mod decode_tests;
#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;
