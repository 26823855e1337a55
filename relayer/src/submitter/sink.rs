//! What a submitter needs of its chain, as a capability ([`TxSink`]), and its JSON-RPC
//! implementation. The node's answers that carry meaning only in their text ("insufficient
//! funds", "nonce too low", "already known") are read here, at the edge, and nowhere else;
//! beyond this file they are typed ([`SinkError`]).

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use alloy::{
    eips::BlockNumberOrTag,
    primitives::{Address, B256, Bytes},
    providers::{DynProvider, Provider},
    rpc::types::{
        TransactionRequest,
        simulate::{SimBlock, SimulatePayload},
    },
    transports::{RpcError, TransportErrorKind},
};

use crate::rpc::{Classify, Disposition, is_transient};

/// A transaction found in a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mined {
    pub tx_hash: B256,
    pub success: bool,
    pub gas_used: u64,
    pub effective_gas_price: u128,
    pub block: u64,
}

/// Why the chain refused or could not answer.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The call reverts; the data is its custom error.
    #[error("the call reverts")]
    Revert(Bytes),
    #[error("insufficient funds for gas")]
    InsufficientFunds,
    /// The nonce was already used by a mined transaction.
    #[error("nonce already used")]
    NonceTooLow,
    /// A replacement offered too little over the transaction it replaces.
    #[error("replacement underpriced")]
    Underpriced,
    #[error(transparent)]
    Rpc(RpcError<TransportErrorKind>),
}

impl Classify for SinkError {
    fn disposition(&self) -> Disposition {
        match self {
            SinkError::Rpc(e) if is_transient(e) => Disposition::Transient,
            // an unfunded account waits for a top-up; the rest concerns one transaction
            _ => Disposition::Transient,
        }
    }
}

/// The chain, as a submitter sees it.
pub trait TxSink: Send + Sync {
    /// Gas the call needs, or why it reverts.
    fn estimate(
        &self,
        tx: &TransactionRequest,
    ) -> impl Future<Output = Result<u64, SinkError>> + Send;
    /// The latest base fee and the node's suggested tip.
    fn fee_market(&self) -> impl Future<Output = Result<super::fees::FeeMarket, SinkError>> + Send;
    /// The account's next nonce: counting mined transactions only, or pending ones too.
    fn nonce(
        &self,
        account: Address,
        pending: bool,
    ) -> impl Future<Output = Result<u64, SinkError>> + Send;
    /// Broadcasts a signed transaction; one the node already has is not an error.
    fn send_raw(&self, raw: &[u8]) -> impl Future<Output = Result<(), SinkError>> + Send;
    fn receipt(&self, hash: B256) -> impl Future<Output = Result<Option<Mined>, SinkError>> + Send;
    /// Whether the node has the transaction at all (in its pool or in a block).
    fn knows(&self, hash: B256) -> impl Future<Output = Result<bool, SinkError>> + Send;
    /// The chain's latest block number.
    fn head(&self) -> impl Future<Output = Result<u64, SinkError>> + Send;
    /// Unix seconds of a block.
    fn block_time(&self, block: u64) -> impl Future<Output = Result<i64, SinkError>> + Send;
}

/// A [`TxSink`] over JSON-RPC.
#[derive(Debug, Clone)]
pub struct RpcSink {
    provider: DynProvider,
    /// Set once the node said it has no `eth_simulateV1`: estimates use `eth_estimateGas`.
    no_simulate: Arc<AtomicBool>,
}

impl RpcSink {
    pub fn new(provider: DynProvider) -> Self {
        Self {
            provider,
            no_simulate: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The gas one execution of `tx` consumed before refunds (what its gas limit must cover,
    /// with the margin [`super::fees::gas_limit`] adds), or its revert data; `None` when the
    /// node has no `eth_simulateV1`. One execution where `eth_estimateGas` runs a binary
    /// search of them: a batch of 200 releases checks 600 signatures per execution.
    async fn simulate(&self, tx: &TransactionRequest) -> Result<Option<u64>, SinkError> {
        let payload = SimulatePayload {
            block_state_calls: vec![SimBlock {
                calls: vec![tx.clone()],
                ..SimBlock::default()
            }],
            ..SimulatePayload::default()
        };
        let blocks = match self.provider.simulate(&payload).await {
            Ok(blocks) => blocks,
            Err(e) if unsupported(&e) => {
                tracing::info!(target: "submitter", error = %e, "the node has no eth_simulateV1; estimating gas with eth_estimateGas");
                self.no_simulate.store(true, Ordering::Relaxed);
                return Ok(None);
            }
            Err(e) => return Err(refusal(e)),
        };
        let call = blocks
            .first()
            .and_then(|b| b.calls.first())
            .ok_or_else(|| SinkError::Rpc(TransportErrorKind::custom_str("empty simulation")))?;
        if call.status {
            return Ok(Some(call.max_used_gas.unwrap_or(call.gas_used)));
        }
        let data = call
            .error
            .as_ref()
            .and_then(|e| e.data.clone())
            .unwrap_or_else(|| call.return_data.clone());
        Err(SinkError::Revert(data))
    }
}

/// Whether a node's answer means it does not know the method.
fn unsupported(err: &RpcError<TransportErrorKind>) -> bool {
    err.as_error_resp().is_some_and(|r| {
        let message = r.message.to_lowercase();
        r.code == -32601 || message.contains("not supported") || message.contains("not found")
    })
}

/// Reads a node's refusal of a transaction. Nodes say these only in words; geth, reth and anvil
/// agree on these phrases.
fn refusal(err: RpcError<TransportErrorKind>) -> SinkError {
    if let Some(data) = err.as_error_resp().and_then(|e| e.as_revert_data()) {
        return SinkError::Revert(data);
    }
    if let Some(resp) = err.as_error_resp() {
        let message = resp.message.to_lowercase();
        if message.contains("insufficient funds") {
            return SinkError::InsufficientFunds;
        }
        if message.contains("nonce too low") {
            return SinkError::NonceTooLow;
        }
        if message.contains("underpriced") {
            return SinkError::Underpriced;
        }
    }
    SinkError::Rpc(err)
}

impl TxSink for RpcSink {
    async fn estimate(&self, tx: &TransactionRequest) -> Result<u64, SinkError> {
        if !self.no_simulate.load(Ordering::Relaxed)
            && let Some(gas) = self.simulate(tx).await?
        {
            return Ok(gas);
        }
        self.provider
            .estimate_gas(tx.clone())
            .await
            .map_err(refusal)
    }

    async fn fee_market(&self) -> Result<super::fees::FeeMarket, SinkError> {
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .map_err(SinkError::Rpc)?
            .ok_or_else(|| SinkError::Rpc(TransportErrorKind::custom_str("no latest block")))?;
        let base_fee = block.header.base_fee_per_gas;
        let free = base_fee == Some(0)
            && sidebridge_core::gas::charges_no_gas(&self.provider)
                .await
                .map_err(SinkError::Rpc)?;
        let tip = self
            .provider
            .get_max_priority_fee_per_gas()
            .await
            .unwrap_or(super::fees::DEFAULT_TIP);
        Ok(super::fees::FeeMarket {
            base_fee: u128::from(base_fee.unwrap_or_default()),
            tip,
            free,
        })
    }

    async fn nonce(&self, account: Address, pending: bool) -> Result<u64, SinkError> {
        let call = self.provider.get_transaction_count(account);
        if pending {
            call.pending().await
        } else {
            call.latest().await
        }
        .map_err(SinkError::Rpc)
    }

    async fn send_raw(&self, raw: &[u8]) -> Result<(), SinkError> {
        match self.provider.send_raw_transaction(raw).await {
            Ok(_) => Ok(()),
            Err(e) => {
                let known = e
                    .as_error_resp()
                    .is_some_and(|r| r.message.to_lowercase().contains("already known"));
                if known { Ok(()) } else { Err(refusal(e)) }
            }
        }
    }

    async fn receipt(&self, hash: B256) -> Result<Option<Mined>, SinkError> {
        let receipt = self
            .provider
            .get_transaction_receipt(hash)
            .await
            .map_err(SinkError::Rpc)?;
        Ok(receipt.map(|r| Mined {
            tx_hash: r.transaction_hash,
            success: r.status(),
            gas_used: r.gas_used,
            effective_gas_price: r.effective_gas_price,
            block: r.block_number.unwrap_or_default(),
        }))
    }

    async fn knows(&self, hash: B256) -> Result<bool, SinkError> {
        Ok(self
            .provider
            .get_transaction_by_hash(hash)
            .await
            .map_err(SinkError::Rpc)?
            .is_some())
    }

    async fn head(&self) -> Result<u64, SinkError> {
        self.provider
            .get_block_number()
            .await
            .map_err(SinkError::Rpc)
    }

    async fn block_time(&self, block: u64) -> Result<i64, SinkError> {
        let b = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(block))
            .await
            .map_err(SinkError::Rpc)?
            .ok_or_else(|| SinkError::Rpc(TransportErrorKind::custom_str("block not found")))?;
        Ok(b.header.timestamp as i64)
    }
}
