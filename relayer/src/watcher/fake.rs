//! A chain for the watcher's unit tests: blocks with hashes, logs placed in them, a head that
//! tests move, reorgs that replace blocks, and injected transient failures. Every `eth_getLogs`
//! range asked for is recorded so a test can check what the watcher read.

use std::{collections::VecDeque, sync::Mutex};

use alloy::{
    primitives::{Address, B256, LogData},
    rpc::types::Log,
    transports::TransportErrorKind,
};

use super::{EventSource, WatchError};

#[derive(Debug, Default)]
struct State {
    /// Hash of block `i` at index `i`; the head is the last.
    hashes: Vec<B256>,
    logs: Vec<Log>,
    /// `eth_getLogs` calls that fail before any answers.
    failures: VecDeque<&'static str>,
    ranges: Vec<(u64, u64)>,
    /// Logs a lying node adds to every `eth_getLogs` answer, whatever the range.
    forged: Vec<Log>,
    /// Bumped on every reorg so replaced blocks get new hashes.
    fork: u8,
    /// What `eth_blockNumber` answers instead of the head, as a lagging node would.
    stale_head: Option<u64>,
}

/// An [`EventSource`] the test drives.
#[derive(Debug)]
pub(super) struct FakeEventSource {
    pub(super) bridge: Address,
    state: Mutex<State>,
}

impl FakeEventSource {
    /// A chain of `head + 1` empty blocks (0..=head).
    pub(super) fn new(bridge: Address, head: u64) -> Self {
        let source = Self {
            bridge,
            state: Mutex::new(State::default()),
        };
        source.mine_to(head);
        source
    }

    fn hash(fork: u8, number: u64) -> B256 {
        let mut hash = B256::ZERO;
        hash[0] = fork;
        hash[24..].copy_from_slice(&number.to_be_bytes());
        hash
    }

    /// Adds empty blocks up to `head`.
    pub(super) fn mine_to(&self, head: u64) {
        let mut s = self.state.lock().expect("fake chain lock");
        let fork = s.fork;
        while (s.hashes.len() as u64) <= head {
            let n = s.hashes.len() as u64;
            s.hashes.push(Self::hash(fork, n));
        }
    }

    /// Places a bridge log in block `number` (which must exist), as transaction `tx`.
    pub(super) fn emit(&self, number: u64, tx: u8, data: LogData) {
        let mut s = self.state.lock().expect("fake chain lock");
        let block_hash = s.hashes[number as usize];
        let log_index = s.logs.len() as u64;
        s.logs.push(Log {
            inner: alloy::primitives::Log {
                address: self.bridge,
                data,
            },
            block_hash: Some(block_hash),
            block_number: Some(number),
            block_timestamp: None,
            transaction_hash: Some(B256::repeat_byte(tx)),
            transaction_index: Some(0),
            log_index: Some(log_index),
            removed: false,
        });
    }

    /// Makes the node add `log` to every `eth_getLogs` answer, as a lying node would.
    pub(super) fn forge(&self, log: Log) {
        self.state.lock().expect("fake chain lock").forged.push(log);
    }

    /// Replaces every block from `from` on with new ones (new hashes, no logs), keeping the
    /// head height: a reorg of depth `head - from + 1`.
    pub(super) fn reorg_from(&self, from: u64) {
        let mut s = self.state.lock().expect("fake chain lock");
        s.fork += 1;
        let fork = s.fork;
        for n in from..s.hashes.len() as u64 {
            s.hashes[n as usize] = Self::hash(fork, n);
        }
        s.logs.retain(|l| l.block_number.is_some_and(|b| b < from));
    }

    /// Drops every block above `head`, with its logs: a reorg to a shorter chain (what a
    /// snapshot revert does on a dev chain).
    pub(super) fn truncate(&self, head: u64) {
        let mut s = self.state.lock().expect("fake chain lock");
        s.fork += 1;
        s.hashes.truncate(head as usize + 1);
        s.logs.retain(|l| l.block_number.is_some_and(|b| b <= head));
    }

    /// Makes `eth_blockNumber` answer `head` (or the real head again for `None`), while the
    /// blocks stay served: a node behind a load balancer that lags.
    pub(super) fn answer_head(&self, head: Option<u64>) {
        self.state.lock().expect("fake chain lock").stale_head = head;
    }

    /// Stops adding forged logs.
    pub(super) fn stop_forging(&self) {
        self.state.lock().expect("fake chain lock").forged.clear();
    }

    /// The next `count` `eth_getLogs` calls fail as a dropped connection would.
    pub(super) fn fail_next_logs(&self, count: usize) {
        let mut s = self.state.lock().expect("fake chain lock");
        s.failures
            .extend(std::iter::repeat_n("connection reset by peer", count));
    }

    /// Every `eth_getLogs` range answered so far.
    pub(super) fn ranges(&self) -> Vec<(u64, u64)> {
        self.state.lock().expect("fake chain lock").ranges.clone()
    }

    pub(super) fn pending_failures(&self) -> usize {
        self.state.lock().expect("fake chain lock").failures.len()
    }
}

impl EventSource for FakeEventSource {
    async fn head(&self) -> Result<u64, WatchError> {
        let s = self.state.lock().expect("fake chain lock");
        Ok(s.stale_head.unwrap_or(s.hashes.len() as u64 - 1))
    }

    async fn block(&self, number: u64) -> Result<(B256, i64), WatchError> {
        let s = self.state.lock().expect("fake chain lock");
        let hash = *s
            .hashes
            .get(number as usize)
            .ok_or(WatchError::MissingBlock(number))?;
        Ok((hash, 1_700_000_000 + number as i64))
    }

    async fn blocks(&self, numbers: &[u64]) -> Result<Vec<(B256, i64)>, WatchError> {
        let mut out = Vec::with_capacity(numbers.len());
        for &number in numbers {
            out.push(self.block(number).await?);
        }
        Ok(out)
    }

    async fn logs(&self, from: u64, to: u64) -> Result<Vec<Log>, WatchError> {
        let mut s = self.state.lock().expect("fake chain lock");
        if let Some(reason) = s.failures.pop_front() {
            return Err(WatchError::Rpc {
                call: "eth_getLogs",
                source: TransportErrorKind::custom_str(reason),
            });
        }
        s.ranges.push((from, to));
        let mut answer: Vec<Log> = s
            .logs
            .iter()
            .filter(|l| l.block_number.is_some_and(|b| (from..=to).contains(&b)))
            .cloned()
            .collect();
        answer.extend(s.forged.iter().cloned());
        Ok(answer)
    }
}
