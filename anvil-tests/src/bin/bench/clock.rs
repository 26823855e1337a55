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
