//! What the chains say about the transfers a round plans for, a batch at a time: one
//! `bridgeState` per chain for both validator views, one `depositStatus` for every pending
//! deposit, one `withdrawalStatus` and one `releaseStatus` for every pending withdrawal. A
//! round's RPC calls depend on how many batches it reads, never on how many transfers they
//! hold (up to [`MAX_PER_CALL`] per call; a round reads at most as many as the store hands it).

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use alloy::{
    primitives::{Address, B256},
    providers::DynProvider,
};
use sidebridge_contracts::bindings::SideBridge;

use super::decide::{DepositFacts, QueueFacts, ValidatorView, Views};
use crate::{
    domain::{Chain, TransferRecord},
    rpc::{Classify, Disposition},
    watcher::Route,
};

/// Most transfers asked about in one call: the status views read a few storage slots per
/// transfer, far inside any node's `eth_call` gas limit at this size.
pub const MAX_PER_CALL: usize = 500;

/// A withdrawal's facts as the chains state them (the published signatures come from the
/// store).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainWithdrawalFacts {
    pub signed_by_me: bool,
    pub processed: bool,
    pub queue: Option<QueueFacts>,
}

/// A read that failed.
#[derive(Debug, thiserror::Error)]
#[error("{chain} chain: reading {call}: {source}")]
pub struct FactsError {
    pub chain: Chain,
    pub call: &'static str,
    #[source]
    pub source: alloy::contract::Error,
}

impl Classify for FactsError {
    /// The provider already retried transient failures; whatever is left may still pass next
    /// round (a node catching up, a load balancer switching).
    fn disposition(&self) -> Disposition {
        Disposition::Transient
    }
}

/// Where the planner's facts come from.
pub trait FactsSource: Send + Sync {
    /// Both validator sets, as `me` sees them.
    fn views(&self, me: Address) -> impl Future<Output = Result<Views, FactsError>> + Send;
    /// One entry per record, in order.
    fn deposits(
        &self,
        me: Address,
        records: &[TransferRecord],
    ) -> impl Future<Output = Result<Vec<DepositFacts>, FactsError>> + Send;
    /// One entry per record, in order.
    fn withdrawals(
        &self,
        me: Address,
        records: &[TransferRecord],
    ) -> impl Future<Output = Result<Vec<ChainWithdrawalFacts>, FactsError>> + Send;
    /// `chain`'s head and the hash of each of `blocks` there now, from one endpoint.
    fn source_blocks(
        &self,
        chain: Chain,
        blocks: &[u64],
    ) -> impl Future<Output = Result<(u64, Vec<Option<B256>>), FactsError>> + Send;
    /// Calls made so far (for the metrics).
    fn rpc_calls(&self) -> u64 {
        0
    }
}

/// [`FactsSource`] over JSON-RPC, counting its calls.
#[derive(Debug, Clone)]
pub struct RpcFacts {
    pub main: DynProvider,
    pub side: DynProvider,
    pub route: Route,
    pub calls: Arc<AtomicU64>,
}

impl RpcFacts {
    pub fn new(main: DynProvider, side: DynProvider, route: Route) -> Self {
        Self {
            main,
            side,
            route,
            calls: Arc::default(),
        }
    }

    fn count(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }
}

fn queue(eta: u64, held: bool, canceled: bool, executed: bool) -> Option<QueueFacts> {
    (eta != 0).then_some(QueueFacts {
        eta,
        held,
        canceled,
        executed,
    })
}

impl FactsSource for RpcFacts {
    fn rpc_calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    async fn source_blocks(
        &self,
        chain: Chain,
        blocks: &[u64],
    ) -> Result<(u64, Vec<Option<B256>>), FactsError> {
        let provider = match chain {
            Chain::Main => &self.main,
            Chain::Side => &self.side,
        };
        self.count();
        crate::watcher::head_and_hashes(provider, blocks)
            .await
            .map_err(|e| FactsError {
                chain,
                call: "eth_getBlockByNumber",
                source: alloy::contract::Error::TransportError(e),
            })
    }

    async fn views(&self, me: Address) -> Result<Views, FactsError> {
        let err = |chain, source| FactsError {
            chain,
            call: "bridgeState",
            source,
        };
        self.count();
        let side = SideBridge::new(self.route.side_bridge, &self.side)
            .bridgeState()
            .call()
            .await
            .map_err(|e| err(Chain::Side, e))?;
        self.count();
        let main = self
            .route
            .main_set(&self.main)
            .await
            .map_err(|e| err(Chain::Main, e))?;
        Ok(Views {
            side: ValidatorView {
                me,
                validators: side.set,
                threshold: side.threshold.saturating_to(),
            },
            main: ValidatorView {
                me,
                validators: main.validators,
                threshold: main.threshold,
            },
        })
    }

    async fn deposits(
        &self,
        me: Address,
        records: &[TransferRecord],
    ) -> Result<Vec<DepositFacts>, FactsError> {
        let bridge = SideBridge::new(self.route.side_bridge, &self.side);
        let mut out = Vec::with_capacity(records.len());
        for chunk in records.chunks(MAX_PER_CALL) {
            let ids: Vec<B256> = chunk.iter().map(|r| r.id).collect();
            let nonces: Vec<u64> = chunk.iter().map(|r| r.nonce()).collect();
            self.count();
            let status = bridge
                .depositStatus(me, ids, nonces)
                .call()
                .await
                .map_err(|source| FactsError {
                    chain: Chain::Side,
                    call: "depositStatus",
                    source,
                })?;
            out.extend(status.into_iter().map(|s| DepositFacts {
                votes: usize::from(s.votes),
                voted_by_me: s.voted,
                executed: s.executed,
                nonce_taken: s.nonceTaken,
                queue: queue(s.eta, s.held, s.canceled, s.queueExecuted),
            }));
        }
        Ok(out)
    }

    async fn withdrawals(
        &self,
        me: Address,
        records: &[TransferRecord],
    ) -> Result<Vec<ChainWithdrawalFacts>, FactsError> {
        let side = SideBridge::new(self.route.side_bridge, &self.side);
        let mut out = Vec::with_capacity(records.len());
        for chunk in records.chunks(MAX_PER_CALL) {
            let ids: Vec<B256> = chunk.iter().map(|r| r.id).collect();
            let nonces: Vec<u64> = chunk.iter().map(|r| r.nonce()).collect();
            self.count();
            let signed = side
                .withdrawalStatus(me, ids.clone())
                .call()
                .await
                .map_err(|source| FactsError {
                    chain: Chain::Side,
                    call: "withdrawalStatus",
                    source,
                })?;
            self.count();
            let released = self
                .route
                .main_release_status(&self.main, ids, nonces)
                .await
                .map_err(|source| FactsError {
                    chain: Chain::Main,
                    call: "releaseStatus",
                    source,
                })?;
            out.extend(
                signed
                    .into_iter()
                    .zip(released)
                    .map(|(s, r)| ChainWithdrawalFacts {
                        signed_by_me: s.signed,
                        processed: r.processed,
                        queue: queue(r.eta, r.held, r.canceled, r.executed),
                    }),
            );
        }
        Ok(out)
    }
}
