//! The watcher's pure half: which logs a node's answer may hold (the bridge's own, not
//! removed, inside the range asked for) and what they mean, as a batch for the store. No I/O.

use alloy::{
    primitives::{Address, B256},
    rpc::types::Log,
    sol_types::SolEvent,
};
use sidebridge_contracts::{
    Transfer,
    bindings::{MainBridge, SideBridge},
    transfer_digest,
};

use crate::{
    domain::{
        Chain, DepositVote, Direction, Execution, PublishedSignature, TransferRecord, TransferState,
    },
    store::{FeeEntry, WatchBatch},
};

/// What the decoder needs to turn logs into transfers.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub main_chain_id: u64,
    pub side_chain_id: u64,
    pub main_bridge: Address,
    pub side_bridge: Address,
}

impl Route {
    /// The route between two configured chains.
    pub fn between(main: &crate::config::ChainConfig, side: &crate::config::ChainConfig) -> Self {
        Self {
            main_chain_id: main.chain_id,
            side_chain_id: side.chain_id,
            main_bridge: main.bridge,
            side_bridge: side.bridge,
        }
    }
}

/// Decodes one chain's bridge logs into a batch (without cursor and blocks). Pure.
///
/// A `SignatureSubmitted` is taken as published, unchecked: recovering every validator's
/// signature in every relayer would cost each of them a recovery per signature (four per
/// withdrawal, the largest share of a relayer's CPU under load); the relayer that releases
/// recovers the few it uses (see `planner::encode::assemble`). A forged record stored here can
/// neither be used nor keep the genuine one out (signatures are stored by content).
pub fn decode(chain: Chain, route: &Route, logs: &[Log], timestamp: i64, now: i64) -> WatchBatch {
    let mut batch = WatchBatch::empty(chain, 0);
    for log in logs {
        let (Some(block), Some(tx)) = (log.block_number, log.transaction_hash) else {
            continue; // pending logs carry no position; never stored
        };
        let ts = log.block_timestamp.map(|t| t as i64).unwrap_or(timestamp);
        let Some(topic) = log.topic0() else { continue };
        let execution = |direction, nonce, transfer_id, queued| Execution {
            direction,
            nonce,
            transfer_id,
            queued,
            tx_hash: tx,
            block,
        };
        let mut record = |direction, transfer: Transfer, id, fee| {
            batch.fees.push(FeeEntry {
                transfer_id: id,
                chain,
                token: transfer.token,
                amount: fee,
                timestamp: ts,
            });
            batch.new_transfers.push(TransferRecord {
                id,
                direction,
                transfer,
                fee,
                source_block: block,
                source_tx: tx,
                source_time: ts,
                state: TransferState::Observed,
                created_at: now,
                updated_at: now,
            });
        };
        match (chain, *topic) {
            (Chain::Main, MainBridge::Locked::SIGNATURE_HASH) => {
                if let Ok(ev) = MainBridge::Locked::decode_log_data(log.data()) {
                    let t = Transfer::from_locked(&ev, route.main_chain_id);
                    let id = transfer_digest(&t, route.side_bridge);
                    if id != ev.transferId {
                        tracing::error!(target: "watcher", %chain, nonce = ev.nonce, event_id = %ev.transferId, computed_id = %id,
                            "Locked event id does not match its content; not a bridge this relayer is configured for");
                        continue;
                    }
                    record(Direction::Deposit, t, id, ev.fee);
                }
            }
            (Chain::Main, MainBridge::Released::SIGNATURE_HASH) => {
                if let Ok(ev) = MainBridge::Released::decode_log_data(log.data()) {
                    batch.completed.push(ev.transferId);
                    let e = execution(Direction::Withdrawal, ev.nonce, ev.transferId, false);
                    batch.executions.push(e);
                }
            }
            (Chain::Main, MainBridge::TransferQueued::SIGNATURE_HASH) => {
                if let Ok(ev) = MainBridge::TransferQueued::decode_log_data(log.data()) {
                    let e = execution(Direction::Withdrawal, ev.nonce, ev.transferId, true);
                    batch.executions.push(e);
                }
            }
            (Chain::Side, SideBridge::Burned::SIGNATURE_HASH) => {
                if let Ok(ev) = SideBridge::Burned::decode_log_data(log.data()) {
                    let t = Transfer::from_burned(&ev, route.side_chain_id, route.main_chain_id);
                    let id = transfer_digest(&t, route.main_bridge);
                    if id != ev.transferId {
                        tracing::error!(target: "watcher", %chain, nonce = ev.nonce, event_id = %ev.transferId, computed_id = %id,
                            "Burned event id does not match its content; not a bridge this relayer is configured for");
                        continue;
                    }
                    record(Direction::Withdrawal, t, id, ev.fee);
                }
            }
            (Chain::Side, SideBridge::DepositExecuted::SIGNATURE_HASH) => {
                if let Ok(ev) = SideBridge::DepositExecuted::decode_log_data(log.data()) {
                    batch.completed.push(ev.transferId);
                    let e = execution(Direction::Deposit, ev.nonce, ev.transferId, false);
                    batch.executions.push(e);
                }
            }
            (Chain::Side, SideBridge::TransferQueued::SIGNATURE_HASH) => {
                if let Ok(ev) = SideBridge::TransferQueued::decode_log_data(log.data()) {
                    let e = execution(Direction::Deposit, ev.nonce, ev.transferId, true);
                    batch.executions.push(e);
                }
            }
            (Chain::Side, SideBridge::DepositsApproved::SIGNATURE_HASH) => {
                if let Ok(ev) = SideBridge::DepositsApproved::decode_log_data(log.data()) {
                    for (nonce, transfer_id) in decode_votes(&ev.votes) {
                        batch.votes.push(DepositVote {
                            nonce,
                            transfer_id,
                            validator: ev.validator,
                            tx_hash: tx,
                        });
                    }
                }
            }
            (Chain::Side, SideBridge::SignatureSubmitted::SIGNATURE_HASH) => {
                // kept as published; recovered by the relayer that uses it (see `decode`)
                if let Ok(ev) = SideBridge::SignatureSubmitted::decode_log_data(log.data())
                    && ev.signature.len() == 65
                {
                    batch.signatures.push(PublishedSignature {
                        transfer_id: ev.transferId,
                        nonce: ev.nonce,
                        validator: ev.validator,
                        signature: ev.signature.to_vec(),
                    });
                }
            }
            (Chain::Side, SideBridge::ReadyForRelay::SIGNATURE_HASH) => {
                if let Ok(ev) = SideBridge::ReadyForRelay::decode_log_data(log.data()) {
                    batch.ready.push(ev.transferId);
                }
            }
            _ => {}
        }
    }
    batch
}

/// The logs of an `eth_getLogs` answer for blocks `from..=to` that the bridge of `chain` can
/// have emitted there: from the bridge's address, not marked `removed`, inside the range. A
/// lying or broken node that adds others (a look-alike contract's `Locked`, a log of a block
/// it reorganised away, one from another range) gets nothing stored; each is logged.
pub fn genuine(chain: Chain, route: &Route, logs: Vec<Log>, from: u64, to: u64) -> Vec<Log> {
    let bridge = match chain {
        Chain::Main => route.main_bridge,
        Chain::Side => route.side_bridge,
    };
    logs.into_iter()
        .filter(|log| {
            let refused = if log.address() != bridge {
                "not from the bridge"
            } else if log.removed {
                "marked removed"
            } else if !log.block_number.is_some_and(|b| (from..=to).contains(&b)) {
                "outside the requested blocks"
            } else {
                return true;
            };
            tracing::warn!(target: "watcher", %chain, address = %log.address(), block = ?log.block_number,
                tx_hash = ?log.transaction_hash, reason = refused, "the node answered a log the bridge did not emit there; ignored");
            false
        })
        .collect()
}

/// The `(nonce, transfer id)` pairs of a `DepositsApproved.votes` field: 40 bytes each, an
/// 8-byte big-endian nonce then the 32-byte id. A trailing partial entry is ignored.
pub fn decode_votes(votes: &[u8]) -> impl Iterator<Item = (u64, B256)> + '_ {
    votes.chunks_exact(40).map(|entry| {
        let (nonce, id) = entry.split_at(8);
        let nonce = u64::from_be_bytes(nonce.try_into().expect("chunks of 40 split at 8"));
        (nonce, B256::from_slice(id))
    })
}
