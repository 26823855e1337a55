//! When each block of a chain arrived, as a poller saw it: the common clock both chains'
//! latencies are measured on (block timestamps have a resolution of one second).

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use alloy::providers::{Provider, ProviderBuilder};
use tokio::{task::JoinHandle, time::Instant};

/// How often the head is asked for: the resolution of every latency in the report.
pub(crate) const RESOLUTION: Duration = Duration::from_millis(10);

type Arrivals = Arc<Mutex<BTreeMap<u64, Instant>>>;

/// Records the arrival of every block from its start on; stops when dropped.
#[derive(Debug)]
pub(crate) struct BlockClock {
    arrivals: Arrivals,
    task: JoinHandle<()>,
}

impl BlockClock {
    pub(crate) async fn start(url: alloy::transports::http::reqwest::Url) -> eyre::Result<Self> {
        let provider = ProviderBuilder::new().connect_http(url);
        let first = provider.get_block_number().await?;
        let arrivals: Arrivals = Arc::new(Mutex::new(BTreeMap::from([(first, Instant::now())])));
        let shared = arrivals.clone();
        let task = tokio::spawn(async move {
            let mut last = first;
            loop {
                tokio::time::sleep(RESOLUTION).await;
                let Ok(head) = provider.get_block_number().await else {
                    continue;
                };
                if head > last {
                    let now = Instant::now();
                    let mut map = shared.lock().unwrap_or_else(PoisonError::into_inner);
                    for n in last + 1..=head {
                        map.insert(n, now);
                    }
                    last = head;
                }
            }
        });
        Ok(Self { arrivals, task })
    }

    /// When block `number` was first seen.
    pub(crate) fn arrival(&self, number: u64) -> Option<Instant> {
        self.lock().get(&number).copied()
    }

    /// The newest block seen.
    pub(crate) fn head(&self) -> u64 {
        self.lock().keys().next_back().copied().unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Instant>> {
        self.arrivals.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for BlockClock {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Each transfer's latency (ms) from its source block's arrival to its destination block's,
/// matched by nonce (`sources` and `destinations` map nonces to blocks), and when the last one
/// landed (`started` when none did). All `n` must match, or it says how many did.
pub(crate) fn latencies(
    started: Instant,
    (src_clock, sources): (&BlockClock, &std::collections::HashMap<u64, u64>),
    (dst_clock, destinations): (&BlockClock, &std::collections::HashMap<u64, u64>),
    n: usize,
) -> eyre::Result<(Vec<f64>, Instant)> {
    let mut latencies = Vec::with_capacity(n);
    let mut last = started;
    for (nonce, dst_block) in destinations {
        let (Some(src), Some(dst)) = (
            sources.get(nonce).and_then(|b| src_clock.arrival(*b)),
            dst_clock.arrival(*dst_block),
        ) else {
            continue;
        };
        last = last.max(dst);
        latencies.push(dst.saturating_duration_since(src).as_secs_f64() * 1e3);
    }
    eyre::ensure!(
        latencies.len() == n,
        "matched {} of {n} transfers to their source",
        latencies.len()
    );
    Ok((latencies, last))
}
