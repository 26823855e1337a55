//! The watcher's pure half: which logs a node's answer may hold (the bridge's own, not
//! removed, inside the range asked for) and what they mean, as a batch for the store. No I/O.
//!
//! Everything here is hostile input: a validator key can put any value in an
//! `approveDeposits` vote, and an RPC endpoint can put anything in any log. So every value is
//! checked against the route and against what the store can hold, and what fails is dropped
//! with a [`Rejected`] the watcher logs and counts — never an error that stops the task or
//! wedges its cursor. What [`decode`] returns always commits.

use alloy::{
    primitives::{Address, B256, U256},
    rpc::types::Log,
    sol_types::{SolEvent, SolStruct},
};
use sidebridge_contracts::{
    Transfer,
    bindings::{MainBridge, MainHub, SideBridge},
    route_id, transfer_domain,
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
    /// `main_bridge` is a hub serving many side chains, this route among them: its events
    /// name their route, and those of other routes are not this relayer's.
    pub hub: bool,
}

impl Route {
    /// The id of a transfer seen at its source, if it can be this route's: its source must be
    /// this route's end (a deposit for another side chain would make the destination revert
    /// the whole batch it is voted in), its destination the other end (or, for a withdrawal
    /// on a hub, any bridge: a chained transfer the hub forwards, or parks for a refund),
    /// its nonce one the store holds, and `event_id` the digest of its content under the
    /// domain of the bridge that settles it here (the side bridge for a deposit; the main
    /// bridge for any withdrawal, chained ones included). Else why not.
    pub fn check(
        &self,
        t: &Transfer,
        direction: Direction,
        event_id: B256,
    ) -> Result<B256, (Rejection, String)> {
        let main = (self.main_chain_id, self.main_bridge);
        let side = (self.side_chain_id, self.side_bridge);
        let ((src, src_bridge), (dst, dst_bridge), settles) = match direction {
            Direction::Deposit => (main, side, side),
            Direction::Withdrawal => (side, main, main),
        };
        // on a hub a withdrawal may name any destination: the hub pays it here, forwards it
        // or parks it for a refund (even a destination no route has), so none is lost
        let chained = self.hub && direction == Direction::Withdrawal;
        if t.srcChainId != U256::from(src) || !(chained || t.dstChainId == U256::from(dst)) {
            let detail = format!(
                "chain {} -> {}, the route is {src} -> {dst}",
                t.srcChainId, t.dstChainId
            );
            return Err((Rejection::ForeignRoute, detail));
        }
        if t.srcBridge != src_bridge || !(chained || t.dstBridge == dst_bridge) {
            let detail = format!(
                "bridge {} -> {}, the route is {src_bridge} -> {dst_bridge}",
                t.srcBridge, t.dstBridge
            );
            return Err((Rejection::ForeignRoute, detail));
        }
        if t.nonce > MAX_NONCE {
            return Err((Rejection::NonceOutOfRange, format!("nonce {}", t.nonce)));
        }
        let id = t.eip712_signing_hash(&transfer_domain(settles.0, settles.1));
        if id != event_id {
            let detail = format!("event id {event_id} is not its content's {id}");
            return Err((Rejection::IdMismatch, detail));
        }
        Ok(id)
    }

    /// This route's id on a hub: `keccak256(abi.encode(side chain id, side bridge))`.
    pub fn id(&self) -> B256 {
        route_id(self.side_chain_id, self.side_bridge)
    }

    /// The deposit a hub's `Locked` event to this route describes.
    pub fn hub_deposit_of(&self, event: &MainHub::Locked) -> Transfer {
        Transfer::from_hub_locked(
            event,
            self.main_chain_id,
            self.main_bridge,
            self.side_chain_id,
            self.side_bridge,
        )
    }

    /// The deposit a `Locked` event of this route's main bridge describes.
    pub fn deposit_of(&self, event: &MainBridge::Locked) -> Transfer {
        Transfer::from_locked(
            event,
            self.main_chain_id,
            self.main_bridge,
            self.side_bridge,
        )
    }

    /// The withdrawal a `Burned` event of this route's side bridge describes.
    pub fn withdrawal_of(&self, event: &SideBridge::Burned) -> Transfer {
        Transfer::from_burned(event, self.side_chain_id, self.side_bridge)
    }

    /// The route between two configured chains.
    pub fn between(main: &crate::config::ChainConfig, side: &crate::config::ChainConfig) -> Self {
        Self {
            main_chain_id: main.chain_id,
            side_chain_id: side.chain_id,
            main_bridge: main.bridge,
            side_bridge: side.bridge,
            hub: main.hub,
        }
    }
}

/// The largest nonce the store holds (a BIGINT). No bridge reaches it: its outbound nonce
/// counts up by one per lock or burn, and 2^63 of them would cost more gas than every chain
/// will ever have. A larger one is a validator's or a node's invention.
pub const MAX_NONCE: u64 = i64::MAX as u64;

/// Why a log (or one entry of it) was dropped. Labels a metric: a fixed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rejection {
    /// A nonce above [`MAX_NONCE`].
    NonceOutOfRange,
    /// A transfer for another route (chain ids that are not this route's).
    ForeignRoute,
    /// An event whose `transferId` is not the digest of its content under this route.
    IdMismatch,
    /// A bridge event whose data does not decode as that event.
    Undecodable,
    /// A signature that is not 65 bytes.
    BadSignatureLength,
}

impl Rejection {
    pub const ALL: [Rejection; 5] = [
        Rejection::NonceOutOfRange,
        Rejection::ForeignRoute,
        Rejection::IdMismatch,
        Rejection::Undecodable,
        Rejection::BadSignatureLength,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::NonceOutOfRange => "nonce_out_of_range",
            Rejection::ForeignRoute => "foreign_route",
            Rejection::IdMismatch => "id_mismatch",
            Rejection::Undecodable => "undecodable",
            Rejection::BadSignatureLength => "bad_signature_length",
        }
    }
}

/// One dropped log or entry: why, and where, for the operator's log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub reason: Rejection,
    pub event: &'static str,
    pub block: u64,
    pub tx_hash: B256,
    pub detail: String,
}

/// A forged execution at a nonce no bridge reaches is kept, saturated to [`MAX_NONCE`]: that is
/// past every source's next nonce, so the audit raises the forgery alarm for it (its id and
/// transaction are kept as they came). Dropping it would hide a forged mint.
fn execution_nonce(nonce: u64) -> u64 {
    nonce.min(MAX_NONCE)
}

/// A block timestamp for an `i64` column; a node's absurd one saturates.
fn timestamp(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

/// Decodes one chain's bridge logs into a batch (without cursor and blocks), and what it
/// dropped. Pure.
///
/// A `SignatureSubmitted` is taken as published, unchecked: recovering every validator's
/// signature in every relayer would cost each of them a recovery per signature (four per
/// withdrawal, the largest share of a relayer's CPU under load); the relayer that releases
/// recovers the few it uses (see `planner::encode::assemble`). A forged record stored here can
/// neither be used nor keep the genuine one out (signatures are stored by content).
pub fn decode(
    chain: Chain,
    route: &Route,
    logs: &[Log],
    block_time: i64,
    now: i64,
) -> (WatchBatch, Vec<Rejected>) {
    let mut batch = WatchBatch::empty(chain, 0);
    let mut rejected = Vec::new();
    for log in logs {
        let (Some(block), Some(tx)) = (log.block_number, log.transaction_hash) else {
            continue; // pending logs carry no position; never stored
        };
        let ts = log.block_timestamp.map_or(block_time, timestamp);
        let Some(topic) = log.topic0() else { continue };
        let mut reject = |reason, event, detail: String| {
            rejected.push(Rejected {
                reason,
                event,
                block,
                tx_hash: tx,
                detail,
            })
        };
        let execution = |direction, nonce, transfer_id, queued| Execution {
            direction,
            nonce: execution_nonce(nonce),
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
                source_hash: log.block_hash.unwrap_or_default(),
                source_time: ts,
                state: TransferState::Observed,
                created_at: now,
                updated_at: now,
            });
        };
        match (chain, *topic) {
            (Chain::Main, _) if route.hub => match decode_hub(route, log, topic) {
                HubLog::Deposit(t, id, fee) => record(Direction::Deposit, *t, id, fee),
                HubLog::Execution(nonce, id, queued) => {
                    if !queued {
                        batch.completed.push(id);
                    }
                    let e = execution(Direction::Withdrawal, nonce, id, queued);
                    batch.executions.push(e);
                }
                HubLog::Rejected(reason, event, detail) => reject(reason, event, detail),
                HubLog::Other => {}
            },
            (Chain::Main, MainBridge::Locked::SIGNATURE_HASH) => {
                let Ok(ev) = MainBridge::Locked::decode_log_data(log.data()) else {
                    reject(Rejection::Undecodable, "Locked", String::new());
                    continue;
                };
                let t = route.deposit_of(&ev);
                match route.check(&t, Direction::Deposit, ev.transferId) {
                    Ok(id) => record(Direction::Deposit, t, id, ev.fee),
                    Err((reason, detail)) => reject(reason, "Locked", detail),
                }
            }
            (Chain::Main, MainBridge::Released::SIGNATURE_HASH) => {
                let Ok(ev) = MainBridge::Released::decode_log_data(log.data()) else {
                    reject(Rejection::Undecodable, "Released", String::new());
                    continue;
                };
                batch.completed.push(ev.transferId);
                let e = execution(Direction::Withdrawal, ev.nonce, ev.transferId, false);
                batch.executions.push(e);
            }
            (Chain::Main, MainBridge::TransferQueued::SIGNATURE_HASH) => {
                let Ok(ev) = MainBridge::TransferQueued::decode_log_data(log.data()) else {
                    reject(Rejection::Undecodable, "TransferQueued", String::new());
                    continue;
                };
                let e = execution(Direction::Withdrawal, ev.nonce, ev.transferId, true);
                batch.executions.push(e);
            }
            (Chain::Side, SideBridge::Burned::SIGNATURE_HASH) => {
                let Ok(ev) = SideBridge::Burned::decode_log_data(log.data()) else {
                    reject(Rejection::Undecodable, "Burned", String::new());
                    continue;
                };
                let t = route.withdrawal_of(&ev);
                match route.check(&t, Direction::Withdrawal, ev.transferId) {
                    Ok(id) => record(Direction::Withdrawal, t, id, ev.fee),
                    Err((reason, detail)) => reject(reason, "Burned", detail),
                }
            }
            (Chain::Side, SideBridge::DepositExecuted::SIGNATURE_HASH) => {
                let Ok(ev) = SideBridge::DepositExecuted::decode_log_data(log.data()) else {
                    reject(Rejection::Undecodable, "DepositExecuted", String::new());
                    continue;
                };
                batch.completed.push(ev.transferId);
                let e = execution(Direction::Deposit, ev.nonce, ev.transferId, false);
                batch.executions.push(e);
            }
            (Chain::Side, SideBridge::TransferQueued::SIGNATURE_HASH) => {
                let Ok(ev) = SideBridge::TransferQueued::decode_log_data(log.data()) else {
                    reject(Rejection::Undecodable, "TransferQueued", String::new());
                    continue;
                };
                let e = execution(Direction::Deposit, ev.nonce, ev.transferId, true);
                batch.executions.push(e);
            }
            (Chain::Side, SideBridge::DepositsApproved::SIGNATURE_HASH) => {
                let Ok(ev) = SideBridge::DepositsApproved::decode_log_data(log.data()) else {
                    reject(Rejection::Undecodable, "DepositsApproved", String::new());
                    continue;
                };
                for (nonce, transfer_id) in decode_votes(&ev.votes) {
                    if nonce > MAX_NONCE {
                        reject(
                            Rejection::NonceOutOfRange,
                            "DepositsApproved",
                            format!("validator {} voted at nonce {nonce}", ev.validator),
                        );
                        continue;
                    }
                    batch.votes.push(DepositVote {
                        nonce,
                        transfer_id,
                        validator: ev.validator,
                        tx_hash: tx,
                    });
                }
            }
            (Chain::Side, SideBridge::SignatureSubmitted::SIGNATURE_HASH) => {
                // kept as published; recovered by the relayer that uses it (see `decode`)
                let Ok(ev) = SideBridge::SignatureSubmitted::decode_log_data(log.data()) else {
                    reject(Rejection::Undecodable, "SignatureSubmitted", String::new());
                    continue;
                };
                if ev.signature.len() != 65 {
                    let detail = format!("{} bytes", ev.signature.len());
                    reject(Rejection::BadSignatureLength, "SignatureSubmitted", detail);
                    continue;
                }
                if ev.nonce > MAX_NONCE {
                    let detail = format!("nonce {}", ev.nonce);
                    reject(Rejection::NonceOutOfRange, "SignatureSubmitted", detail);
                    continue;
                }
                batch.signatures.push(PublishedSignature {
                    transfer_id: ev.transferId,
                    nonce: ev.nonce,
                    validator: ev.validator,
                    signature: ev.signature.to_vec(),
                });
            }
            (Chain::Side, SideBridge::ReadyForRelay::SIGNATURE_HASH) => {
                let Ok(ev) = SideBridge::ReadyForRelay::decode_log_data(log.data()) else {
                    reject(Rejection::Undecodable, "ReadyForRelay", String::new());
                    continue;
                };
                batch.ready.push(ev.transferId);
            }
            _ => {}
        }
    }
    (batch, rejected)
}

/// What one hub log means to the relayer of one route.
enum HubLog {
    /// A deposit to this route: its transfer, id and fee.
    Deposit(Box<Transfer>, B256, U256),
    /// A withdrawal from this route paid (or queued, `true`): nonce and id.
    Execution(u64, B256, bool),
    Rejected(Rejection, &'static str, String),
    /// Another route's, or an event the relayer does not follow.
    Other,
}

/// One hub log for `route`. Every hub event the relayer follows names its route; another
/// route's is that route's relayers' business (not hostile), so it is passed over, not counted.
fn decode_hub(route: &Route, log: &Log, topic: &B256) -> HubLog {
    let mine = route.id();
    match *topic {
        MainHub::Locked::SIGNATURE_HASH => {
            let Ok(ev) = MainHub::Locked::decode_log_data(log.data()) else {
                return HubLog::Rejected(Rejection::Undecodable, "Locked", String::new());
            };
            if ev.route != mine {
                return HubLog::Other;
            }
            let t = route.hub_deposit_of(&ev);
            match route.check(&t, Direction::Deposit, ev.transferId) {
                Ok(id) => HubLog::Deposit(Box::new(t), id, ev.fee),
                Err((reason, detail)) => HubLog::Rejected(reason, "Locked", detail),
            }
        }
        MainHub::Released::SIGNATURE_HASH => match MainHub::Released::decode_log_data(log.data()) {
            Ok(ev) if ev.route == mine => HubLog::Execution(ev.nonce, ev.transferId, false),
            Ok(_) => HubLog::Other,
            Err(_) => HubLog::Rejected(Rejection::Undecodable, "Released", String::new()),
        },
        MainHub::RouteTransferQueued::SIGNATURE_HASH => {
            match MainHub::RouteTransferQueued::decode_log_data(log.data()) {
                Ok(ev) if ev.route == mine => HubLog::Execution(ev.nonce, ev.transferId, true),
                Ok(_) => HubLog::Other,
                Err(_) => {
                    HubLog::Rejected(Rejection::Undecodable, "RouteTransferQueued", String::new())
                }
            }
        }
        _ => HubLog::Other,
    }
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
