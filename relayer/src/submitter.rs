//! One submitter per chain: the only owner of this validator's account nonce there. It prices
//! transactions with EIP-1559 fees under the configured cap, writes every attempt to the
//! database before broadcasting it, replaces a transaction not mined in time with a bumped fee,
//! and charges every mined transaction's `gasUsed × effectiveGasPrice` to the transfers it
//! served. A simulation that reverts with "already processed" is success without spending gas.

use std::{sync::Arc, time::Duration};

use alloy::{
    consensus::TxEnvelope,
    eips::{BlockNumberOrTag, eip2718::Encodable2718},
    network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder},
    primitives::{Address, B256, Bytes, U256},
    providers::{DynProvider, Provider},
    rpc::types::{TransactionReceipt, TransactionRequest},
    signers::local::PrivateKeySigner,
    sol_types::SolInterface,
    transports::{RpcError, TransportErrorKind},
};
use backon::Retryable;
use sidebridge_contracts::bindings::{MainBridge, SideBridge};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::{
    domain::{Chain, CostEntry, TxKind, split_cost},
    retry::{is_transient, rpc_backoff},
    store::{AttemptStatus, Store, StoreError, TxAttempt},
    watcher::unix_now,
};

/// A transaction the planner wants sent.
#[derive(Debug, Clone)]
pub struct TxRequest {
    pub kind: TxKind,
    pub to: Address,
    pub input: Bytes,
    /// The transfers it serves, with their token, for the cost ledger.
    pub transfers: Vec<(B256, Address)>,
}

/// How a request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxOutcome {
    /// Mined; `success` is false for a revert (its gas is still charged).
    Mined { tx_hash: B256, success: bool },
    /// The simulation says the work is already done: nothing was sent.
    AlreadyDone,
    /// The simulation reverted for another reason: nothing was sent.
    Rejected(String),
}

/// Why a request could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("rpc: {0}")]
    Rpc(String),
    #[error("insufficient funds on {chain} for {account}: top the account up")]
    InsufficientFunds { chain: Chain, account: Address },
    #[error("base fee {base_fee} wei is above the fee cap {cap} wei on {chain}")]
    FeeCapTooLow {
        chain: Chain,
        base_fee: u128,
        cap: u128,
    },
    #[error("signing: {0}")]
    Sign(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the submitter stopped")]
    Stopped,
}

impl SubmitError {
    pub fn is_retryable(&self) -> bool {
        match self {
            SubmitError::Rpc(_)
            | SubmitError::InsufficientFunds { .. }
            | SubmitError::FeeCapTooLow { .. } => true,
            SubmitError::Store(e) => e.is_retryable(),
            SubmitError::Sign(_) | SubmitError::Stopped => false,
        }
    }
}

/// What the submitter tells the metrics.
pub trait TxObserver: Send + Sync {
    fn sent(&self, chain: Chain, kind: TxKind);
    fn replaced(&self, chain: Chain, kind: TxKind);
    fn failed(&self, chain: Chain, kind: TxKind);
    fn mined(&self, chain: Chain, kind: TxKind, cost_wei: U256);
}

/// Settings of one chain's submitter.
#[derive(Debug, Clone)]
pub struct SubmitConfig {
    pub chain: Chain,
    pub chain_id: u64,
    pub max_fee_per_gas: u128,
    pub tx_timeout: Duration,
    pub fee_bump_percent: u64,
}

/// The submitter of one chain.
pub struct Submitter {
    config: SubmitConfig,
    provider: DynProvider,
    wallet: EthereumWallet,
    account: Address,
    store: Store,
    observer: Arc<dyn TxObserver>,
    nonce: Option<u64>,
}

impl std::fmt::Debug for Submitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Submitter")
            .field("chain", &self.config.chain)
            .field("account", &self.account)
            .field("nonce", &self.nonce)
            .finish_non_exhaustive()
    }
}

type Job = (TxRequest, oneshot::Sender<Result<TxOutcome, SubmitError>>);

/// Sends requests to a running submitter.
#[derive(Debug, Clone)]
pub struct SubmitterHandle {
    jobs: mpsc::Sender<Job>,
}

impl SubmitterHandle {
    pub async fn submit(&self, request: TxRequest) -> Result<TxOutcome, SubmitError> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send((request, reply))
            .await
            .map_err(|_| SubmitError::Stopped)?;
        answer.await.map_err(|_| SubmitError::Stopped)?
    }
}

impl Submitter {
    pub fn new(
        config: SubmitConfig,
        provider: DynProvider,
        key: PrivateKeySigner,
        store: Store,
        observer: Arc<dyn TxObserver>,
    ) -> Self {
        Self {
            config,
            provider,
            account: key.address(),
            wallet: EthereumWallet::from(key),
            store,
            observer,
            nonce: None,
        }
    }

    /// Starts the submitter task; it ends when cancelled or when every handle is dropped.
    pub fn spawn(
        mut self,
        shutdown: CancellationToken,
    ) -> (SubmitterHandle, tokio::task::JoinHandle<()>) {
        let (jobs, mut queue) = mpsc::channel::<Job>(16);
        let task = tokio::spawn(async move {
            if let Err(err) = self.reconcile().await {
                tracing::warn!(target: "submitter", chain = %self.config.chain, error = %err, "reconciling earlier attempts failed");
            }
            loop {
                let job = tokio::select! {
                    _ = shutdown.cancelled() => break,
                    job = queue.recv() => job,
                };
                let Some((request, reply)) = job else { break };
                // a request in flight is finished even during shutdown: its attempt is persisted
                let result = self.submit(&request).await;
                if let Err(err) = &result {
                    if matches!(err, SubmitError::InsufficientFunds { .. }) {
                        tracing::error!(target: "submitter", chain = %self.config.chain, account = %self.account, "ALERT: insufficient funds; submissions paused until the account is topped up");
                    }
                    self.nonce = None;
                }
                let _ = reply.send(result);
            }
        });
        (SubmitterHandle { jobs }, task)
    }

    /// Settles attempts a previous run left open: charges the mined ones, closes the rest.
    pub async fn reconcile(&mut self) -> Result<(), SubmitError> {
        let open = self.store.open_attempts(self.config.chain).await?;
        if open.is_empty() {
            return Ok(());
        }
        let mined_nonce = self
            .provider
            .get_transaction_count(self.account)
            .await
            .map_err(rpc)?;
        for attempt in open {
            match self.receipt(attempt.tx_hash).await? {
                Some(receipt) => {
                    let transfers = self.tokens_of(&attempt.transfer_ids).await?;
                    self.settle(attempt.kind, &transfers, &receipt).await?;
                }
                None if attempt.account_nonce < mined_nonce => {
                    self.store
                        .set_attempt_status(attempt.tx_hash, AttemptStatus::Replaced)
                        .await?;
                }
                None => {
                    // never reached the node (crash between persist and broadcast) or still
                    // queued: the nonce is re-read from the chain, so it cannot be reused twice
                    self.store
                        .set_attempt_status(attempt.tx_hash, AttemptStatus::Dropped)
                        .await?;
                }
            }
        }
        Ok(())
    }

    async fn tokens_of(&self, ids: &[B256]) -> Result<Vec<(B256, Address)>, SubmitError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let token = self
                .store
                .transfer(*id)
                .await?
                .map(|r| r.token())
                .unwrap_or_default();
            out.push((*id, token));
        }
        Ok(out)
    }

    /// Simulates, prices, persists, broadcasts and follows one transaction until it is mined.
    pub async fn submit(&mut self, request: &TxRequest) -> Result<TxOutcome, SubmitError> {
        let chain = self.config.chain;
        let base = TransactionRequest::default()
            .with_from(self.account)
            .with_to(request.to)
            .with_input(request.input.clone());
        let estimate = match self.provider.estimate_gas(base.clone()).await {
            Ok(gas) => gas,
            Err(err) => return self.simulation_failed(request, err),
        };
        // unused gas is not charged: leave room for a vote that turns into the minting one
        let gas_limit = match request.kind {
            TxKind::ApproveDeposits => estimate * 3 / 2 + 60_000 * request.transfers.len() as u64,
            _ => estimate * 13 / 10 + 10_000,
        };
        let nonce = match self.nonce {
            Some(n) => n,
            None => (|| async {
                self.provider
                    .get_transaction_count(self.account)
                    .pending()
                    .await
            })
            .retry(rpc_backoff())
            .when(is_transient)
            .await
            .map_err(rpc)?,
        };
        let (mut max_fee, mut priority) = self.fees().await?;
        let mut hashes = Vec::new();
        loop {
            let tx = base
                .clone()
                .with_nonce(nonce)
                .with_chain_id(self.config.chain_id)
                .with_gas_limit(gas_limit)
                .with_max_fee_per_gas(max_fee)
                .with_max_priority_fee_per_gas(priority);
            let envelope: TxEnvelope = tx
                .build(&self.wallet)
                .await
                .map_err(|e| SubmitError::Sign(e.to_string()))?;
            let tx_hash = *envelope.tx_hash();
            self.store
                .record_attempt(&TxAttempt {
                    tx_hash,
                    chain,
                    account: self.account,
                    account_nonce: nonce,
                    kind: request.kind,
                    transfer_ids: request.transfers.iter().map(|(id, _)| *id).collect(),
                    max_fee_per_gas: max_fee,
                    max_priority_fee_per_gas: priority,
                    sent_at: unix_now(),
                    status: AttemptStatus::Pending,
                })
                .await?;
            match self
                .provider
                .send_raw_transaction(&envelope.encoded_2718())
                .await
            {
                Ok(_) => {
                    if hashes.is_empty() {
                        self.observer.sent(chain, request.kind);
                    } else {
                        self.observer.replaced(chain, request.kind);
                    }
                    tracing::info!(target: "submitter", %chain, kind = %request.kind, %tx_hash, nonce,
                        transfers = request.transfers.len(), max_fee, "sent");
                    hashes.push(tx_hash);
                }
                Err(err) => {
                    let message = err.to_string().to_lowercase();
                    self.store
                        .set_attempt_status(tx_hash, AttemptStatus::Dropped)
                        .await?;
                    if message.contains("insufficient funds") {
                        self.observer.failed(chain, request.kind);
                        return Err(SubmitError::InsufficientFunds {
                            chain,
                            account: self.account,
                        });
                    }
                    let nonce_used =
                        message.contains("nonce too low") || message.contains("already known");
                    if hashes.is_empty() && nonce_used {
                        // our view of the nonce is stale: resync and let the caller retry
                        self.nonce = None;
                        return Err(SubmitError::Rpc(format!(
                            "nonce {nonce} already used; resyncing"
                        )));
                    }
                    if hashes.is_empty() {
                        return Err(rpc(err));
                    }
                    // a replacement was refused: keep following what is already out there
                }
            }

            // follow every hash of this nonce until one is mined; bump the fee when it is slow
            loop {
                let deadline = tokio::time::Instant::now() + self.config.tx_timeout;
                while tokio::time::Instant::now() < deadline {
                    for hash in &hashes {
                        if let Some(receipt) = self.receipt(*hash).await? {
                            for other in hashes.iter().filter(|h| *h != hash) {
                                self.store
                                    .set_attempt_status(*other, AttemptStatus::Replaced)
                                    .await?;
                            }
                            self.nonce = Some(nonce + 1);
                            let success = receipt.status();
                            self.settle(request.kind, &request.transfers, &receipt)
                                .await?;
                            return Ok(TxOutcome::Mined {
                                tx_hash: *hash,
                                success,
                            });
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                // same nonce, bumped fee (at least +10% for the node to accept the replacement)
                let bump = self.config.fee_bump_percent.max(10) as u128;
                let bumped = (max_fee * (100 + bump) / 100).min(self.config.max_fee_per_gas);
                if bumped > max_fee {
                    priority = (priority * (100 + bump) / 100).min(bumped);
                    max_fee = bumped;
                    break;
                }
                tracing::warn!(target: "submitter", %chain, nonce, "transaction not mined and its fee is at the cap; waiting");
            }
        }
    }

    fn simulation_failed(
        &self,
        request: &TxRequest,
        err: RpcError<TransportErrorKind>,
    ) -> Result<TxOutcome, SubmitError> {
        let revert = err.as_error_resp().and_then(|e| e.as_revert_data());
        let Some(data) = revert else {
            let message = err.to_string();
            if message.to_lowercase().contains("insufficient funds") {
                return Err(SubmitError::InsufficientFunds {
                    chain: self.config.chain,
                    account: self.account,
                });
            }
            return Err(SubmitError::Rpc(message));
        };
        let reason = match request.kind.chain() {
            Chain::Main => match MainBridge::MainBridgeErrors::abi_decode(&data) {
                Ok(
                    MainBridge::MainBridgeErrors::AlreadyProcessed(_)
                    | MainBridge::MainBridgeErrors::QueueClosed(_),
                ) => {
                    return Ok(TxOutcome::AlreadyDone);
                }
                Ok(e) => format!("{e:?}"),
                Err(_) => format!("revert 0x{}", alloy::hex::encode(&data)),
            },
            Chain::Side => match SideBridge::SideBridgeErrors::abi_decode(&data) {
                Ok(SideBridge::SideBridgeErrors::QueueClosed(_)) => {
                    return Ok(TxOutcome::AlreadyDone);
                }
                Ok(e) => format!("{e:?}"),
                Err(_) => format!("revert 0x{}", alloy::hex::encode(&data)),
            },
        };
        tracing::warn!(target: "submitter", chain = %self.config.chain, kind = %request.kind, %reason, "simulation reverted; not sent");
        Ok(TxOutcome::Rejected(reason))
    }

    async fn receipt(&self, hash: B256) -> Result<Option<TransactionReceipt>, SubmitError> {
        (|| async { self.provider.get_transaction_receipt(hash).await })
            .retry(rpc_backoff())
            .when(is_transient)
            .await
            .map_err(rpc)
    }

    /// Charges a mined transaction to its transfers and closes its attempt.
    async fn settle(
        &self,
        kind: TxKind,
        transfers: &[(B256, Address)],
        receipt: &TransactionReceipt,
    ) -> Result<(), SubmitError> {
        let chain = self.config.chain;
        let cost = U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price);
        let block = receipt.block_number.unwrap_or_default();
        let timestamp = match self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(block))
            .await
        {
            Ok(Some(b)) => b.header.timestamp as i64,
            _ => unix_now(),
        };
        let parts: Vec<(B256, Address)> = if transfers.is_empty() {
            vec![(B256::ZERO, Address::ZERO)]
        } else {
            transfers.to_vec()
        };
        let entries: Vec<CostEntry> = split_cost(cost, parts.len())
            .into_iter()
            .zip(parts)
            .map(|(cost_wei, (transfer_id, token))| CostEntry {
                tx_hash: receipt.transaction_hash,
                chain,
                kind,
                transfer_id,
                token,
                cost_wei,
                block,
                timestamp,
            })
            .collect();
        self.store.record_costs(&entries).await?;
        let status = if receipt.status() {
            AttemptStatus::Mined
        } else {
            self.observer.failed(chain, kind);
            AttemptStatus::Failed
        };
        self.store
            .set_attempt_status(receipt.transaction_hash, status)
            .await?;
        self.observer.mined(chain, kind, cost);
        tracing::info!(target: "submitter", %chain, kind = %kind, tx_hash = %receipt.transaction_hash,
            gas_used = receipt.gas_used, cost_wei = %cost, success = receipt.status(), "mined");
        Ok(())
    }

    /// EIP-1559 fees: twice the base fee plus the suggested tip, never above the cap.
    async fn fees(&self) -> Result<(u128, u128), SubmitError> {
        let block = (|| async {
            self.provider
                .get_block_by_number(BlockNumberOrTag::Latest)
                .await
        })
        .retry(rpc_backoff())
        .when(is_transient)
        .await
        .map_err(rpc)?
        .ok_or_else(|| SubmitError::Rpc("no latest block".into()))?;
        let base_fee = u128::from(block.header.base_fee_per_gas.unwrap_or_default());
        let cap = self.config.max_fee_per_gas;
        if base_fee > cap {
            return Err(SubmitError::FeeCapTooLow {
                chain: self.config.chain,
                base_fee,
                cap,
            });
        }
        let tip = self
            .provider
            .get_max_priority_fee_per_gas()
            .await
            .unwrap_or(1_000_000_000)
            .min(cap - base_fee);
        Ok(((base_fee * 2 + tip).min(cap), tip))
    }
}

fn rpc(err: RpcError<TransportErrorKind>) -> SubmitError {
    SubmitError::Rpc(err.to_string())
}
