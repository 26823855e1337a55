//! Sending: new work is simulated, priced, signed, recorded and broadcast at the next nonce;
//! an attempt is always in the database before the network sees it.

use alloy::{
    consensus::{Transaction as _, TxEnvelope},
    eips::eip2718::{Decodable2718, Encodable2718},
    network::NetworkTransactionBuilder,
    primitives::TxKind as CallKind,
    sol_types::SolInterface,
};
use sidebridge_contracts::bindings::{MainBridge, MainHub, SideBridge};

use super::*;

impl<S: TxSink + 'static> Submitter<S> {
    pub(super) async fn send_new(&mut self, request: &TxRequest) -> Result<(), SubmitError> {
        let chain = self.config.chain;
        let call = TransactionRequest::default()
            .with_from(self.account)
            .with_to(request.to)
            .with_input(request.input.clone());
        let estimate = match self.sink.estimate(&call).await {
            Ok(gas) => gas,
            Err(SinkError::Revert(data)) => {
                let reason = describe_revert(chain, &data);
                if reason.already_done {
                    tracing::debug!(target: "submitter", %chain, kind = %request.kind, reason = %reason.text, "already done; not sent");
                } else {
                    tracing::warn!(target: "submitter", %chain, kind = %request.kind, reason = %reason.text, "the call would revert; not sent");
                }
                self.in_flight
                    .remove(request.transfers.iter().map(|(id, _)| *id));
                return Ok(());
            }
            Err(SinkError::InsufficientFunds) => {
                tracing::error!(target: "submitter", %chain, account = %self.account, "ALERT: insufficient funds for gas; sending paused until the account is topped up");
                return Err(SinkError::InsufficientFunds.into());
            }
            Err(e) => return Err(e.into()),
        };
        let market = self.sink.fee_market().await?;
        let Some(offer) = fees::offer(market, self.config.max_fee_per_gas) else {
            tracing::warn!(target: "submitter", %chain, base_fee = market.base_fee, cap = self.config.max_fee_per_gas,
                "the base fee is above the fee cap; waiting");
            return Err(SinkError::Underpriced.into());
        };
        let nonce = match self.next_nonce {
            Some(n) => n,
            None => {
                let chain_next = self.sink.nonce(self.account, true).await?;
                let ours = self.pending.keys().next_back().map_or(0, |n| n + 1);
                chain_next.max(ours)
            }
        };
        let pending = Pending {
            kind: request.kind,
            to: request.to,
            input: request.input.clone(),
            gas_limit: fees::gas_limit(request.kind, estimate, request.transfers.len()),
            transfers: request.transfers.clone(),
            attempts: Vec::new(),
            last_sent: Instant::now(),
            canceled: false,
            warned: false,
        };
        self.pending.insert(nonce, pending);
        self.next_nonce = Some(nonce + 1);
        match self.send_attempt(nonce, offer, false).await {
            Ok(()) => {
                self.observer.sent(chain, request.kind);
                Ok(())
            }
            Err(SubmitError::Sink(SinkError::NonceTooLow)) => {
                // the chain moved past our view of the nonce: forget the attempt and resync
                self.drop_nonce(nonce).await?;
                self.next_nonce = None;
                Err(SinkError::NonceTooLow.into())
            }
            Err(SubmitError::Sink(SinkError::InsufficientFunds)) => {
                self.drop_nonce(nonce).await?;
                self.next_nonce = None;
                tracing::error!(target: "submitter", %chain, account = %self.account, "ALERT: insufficient funds for gas; sending paused until the account is topped up");
                Err(SinkError::InsufficientFunds.into())
            }
            // persisted but maybe not broadcast: following it sends it again
            Err(SubmitError::Sink(e)) => {
                tracing::warn!(target: "submitter", %chain, nonce, error = %e, "broadcast failed; it is sent again while followed");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Signs, persists and broadcasts an attempt for `nonce` at `offer`: the pending call, or
    /// (with `cancel`) a zero-value transfer to ourselves.
    pub(super) async fn send_attempt(
        &mut self,
        nonce: u64,
        offer: Fees,
        cancel: bool,
    ) -> Result<(), SubmitError> {
        let chain = self.config.chain;
        let Some(p) = self.pending.get(&nonce) else {
            return Ok(());
        };
        let tx = if cancel {
            TransactionRequest::default()
                .with_to(self.account)
                .with_value(U256::ZERO)
                .with_gas_limit(21_000)
        } else {
            TransactionRequest::default()
                .with_to(p.to)
                .with_input(p.input.clone())
                .with_gas_limit(p.gas_limit)
        }
        .with_from(self.account)
        .with_nonce(nonce)
        .with_chain_id(self.config.chain_id)
        .with_max_fee_per_gas(offer.max_fee)
        .with_max_priority_fee_per_gas(offer.priority);
        let envelope: TxEnvelope = tx
            .build(&self.wallet)
            .await
            .map_err(|e| SubmitError::Sign(e.to_string()))?;
        let tx_hash = *envelope.tx_hash();
        let raw = envelope.encoded_2718();
        let kind = p.kind;
        let transfer_ids = p.transfers.iter().map(|(id, _)| *id).collect();
        // persist before broadcasting: a crash never forgets a nonce in flight
        self.store
            .record_attempt(&TxAttempt {
                tx_hash,
                chain,
                account: self.account,
                account_nonce: nonce,
                kind,
                transfer_ids,
                max_fee_per_gas: offer.max_fee,
                max_priority_fee_per_gas: offer.priority,
                sent_at: unix_now(),
                status: AttemptStatus::Pending,
                raw: raw.clone(),
            })
            .await?;
        if let Some(p) = self.pending.get_mut(&nonce) {
            p.attempts.push((tx_hash, offer, raw.clone()));
            p.last_sent = Instant::now();
            p.canceled |= cancel;
        }
        tracing::info!(target: "submitter", %chain, %kind, %tx_hash, nonce, max_fee = offer.max_fee, cancel, "sending");
        crate::failpoint::hit("after_persist");
        self.sink.send_raw(&raw).await?;
        crate::failpoint::hit("after_broadcast");
        Ok(())
    }

    /// Marks every attempt of `nonce` dropped and forgets it.
    pub(super) async fn drop_nonce(&mut self, nonce: u64) -> Result<(), SubmitError> {
        if let Some(p) = self.pending.remove(&nonce) {
            for (hash, _, _) in &p.attempts {
                self.store
                    .set_attempt_status(*hash, AttemptStatus::Dropped)
                    .await?;
            }
            self.in_flight.remove(p.transfers.iter().map(|(id, _)| *id));
        }
        Ok(())
    }
}

/// The call a signed transaction makes.
pub(super) struct DecodedCall {
    pub(super) to: Address,
    pub(super) input: Bytes,
    pub(super) gas_limit: u64,
}

pub(super) fn decode_call(raw: &[u8]) -> Option<DecodedCall> {
    let envelope = TxEnvelope::decode_2718(&mut &raw[..]).ok()?;
    let to = match envelope.kind() {
        CallKind::Call(to) => to,
        CallKind::Create => return None,
    };
    Some(DecodedCall {
        to,
        input: envelope.input().clone(),
        gas_limit: envelope.gas_limit(),
    })
}

/// A revert in words, and whether it means the work was already done (by us or another
/// relayer), which is success without spending gas.
struct Revert {
    text: String,
    already_done: bool,
}

fn describe_revert(chain: Chain, data: &[u8]) -> Revert {
    let (text, already_done) = match chain {
        Chain::Main => match MainBridge::MainBridgeErrors::abi_decode(data) {
            Ok(e) => {
                let done = matches!(
                    e,
                    MainBridge::MainBridgeErrors::AlreadyProcessed(_)
                        | MainBridge::MainBridgeErrors::QueueClosed(_)
                );
                (format!("{e:?}"), done)
            }
            // a hub's (its errors name the route; the selectors differ from the bridge's)
            Err(_) => match MainHub::MainHubErrors::abi_decode(data) {
                Ok(e) => {
                    let done = matches!(
                        e,
                        MainHub::MainHubErrors::AlreadyProcessed(_)
                            | MainHub::MainHubErrors::QueueClosed(_)
                    );
                    (format!("{e:?}"), done)
                }
                Err(_) => (format!("revert 0x{}", alloy::hex::encode(data)), false),
            },
        },
        Chain::Side => match SideBridge::SideBridgeErrors::abi_decode(data) {
            Ok(e) => {
                let done = matches!(e, SideBridge::SideBridgeErrors::QueueClosed(_));
                (format!("{e:?}"), done)
            }
            Err(_) => (format!("revert 0x{}", alloy::hex::encode(data)), false),
        },
    };
    Revert { text, already_done }
}
