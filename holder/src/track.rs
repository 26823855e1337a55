//! Following one transfer from the chains alone: find it by its source transaction, its
//! destination transaction or its id; read where it is (source confirmations, validator votes
//! or signatures against the threshold, a queue for large transfers, the destination
//! transaction); and poll until it lands. Nothing here needs a relayer or an index: every fact
//! comes from the bridges' events and views.

use std::{
    io::{IsTerminal, Write},
    time::{Duration, Instant},
};

use alloy::{
    primitives::{Address, B256, U256},
    providers::{DynProvider, Provider},
    rpc::types::{Filter, Log},
    sol_types::SolEvent,
};
use eyre::WrapErr;
use sidebridge_contracts::{
    Transfer,
    bindings::{MainBridge, SideBridge},
};
use sidebridge_core::domain::{Chain, Direction};

use crate::{network::Net, refusal::Refusal};

/// Blocks per `eth_getLogs` request: public nodes refuse much wider ranges.
const LOG_RANGE: u64 = 10_000;

/// A transfer as its source event describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Located {
    pub(crate) direction: Direction,
    pub(crate) transfer: Transfer,
    pub(crate) id: B256,
    pub(crate) fee: U256,
    /// The wrapped token (withdrawals; deposits get it from the deployment).
    pub(crate) wrapped: Option<Address>,
    /// A hub's deposit that continues a chained withdrawal (or refunds a parked one): that
    /// withdrawal's id. Zero otherwise.
    pub(crate) parent: B256,
    pub(crate) source_tx: B256,
    pub(crate) source_block: u64,
}

/// Where a located transfer is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Progress {
    pub(crate) confirmations: u64,
    pub(crate) confirmations_needed: u64,
    /// Votes (deposits) or published signatures (withdrawals) of validators.
    pub(crate) approvals: u64,
    pub(crate) threshold: u64,
    /// A withdrawal's signatures reached the threshold: anyone may release it (`claim`).
    pub(crate) ready: bool,
    /// Large transfers wait in the destination bridge's queue until `eta` (unix seconds).
    pub(crate) queue: Option<Queue>,
    pub(crate) destination_tx: Option<B256>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Queue {
    pub(crate) eta: u64,
    pub(crate) held: bool,
    pub(crate) canceled: bool,
}

/// The step a transfer is at, for people and for `--json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    Confirming,
    Approving,
    /// Signatures complete, the release not sent yet.
    Releasable,
    Queued,
    Held,
    Canceled,
    Landed,
}

impl Stage {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Stage::Confirming => "confirming",
            Stage::Approving => "approving",
            Stage::Releasable => "releasable",
            Stage::Queued => "queued",
            Stage::Held => "held",
            Stage::Canceled => "canceled",
            Stage::Landed => "landed",
        }
    }
}

impl Progress {
    pub(crate) fn stage(&self) -> Stage {
        if self.destination_tx.is_some() {
            return Stage::Landed;
        }
        if let Some(q) = self.queue {
            return if q.canceled {
                Stage::Canceled
            } else if q.held {
                Stage::Held
            } else {
                Stage::Queued
            };
        }
        if self.ready {
            return Stage::Releasable;
        }
        if self.confirmations < self.confirmations_needed {
            return Stage::Confirming;
        }
        Stage::Approving
    }

    /// One line for people: where it is and what it waits for.
    pub(crate) fn describe(&self, direction: Direction) -> String {
        let confirmations = format!(
            "source confirmations {}/{}",
            self.confirmations.min(self.confirmations_needed),
            self.confirmations_needed
        );
        let what = match direction {
            Direction::Deposit => "validator votes",
            Direction::Withdrawal => "validator signatures",
        };
        // more than the threshold may have signed: the display counts toward it
        let approvals = format!(
            "{what} {}/{}",
            self.approvals.min(self.threshold),
            self.threshold
        );
        match self.stage() {
            Stage::Confirming | Stage::Approving => format!("{confirmations}, {approvals}"),
            Stage::Releasable => format!(
                "{approvals}: signed, waiting for a relayer to release it (or `claim` it yourself)"
            ),
            Stage::Queued => format!(
                "{approvals}: large transfer, queued at the destination until unix time {}",
                self.queue.map(|q| q.eta).unwrap_or_default()
            ),
            Stage::Held => "held by a guardian at the destination: governance decides".into(),
            Stage::Canceled => "canceled by governance at the destination".into(),
            Stage::Landed => format!(
                "landed in {}",
                self.destination_tx
                    .map(|t| t.to_string())
                    .unwrap_or_default()
            ),
        }
    }
}

/// `eth_getLogs` over `[from, to]` in ranges a public node accepts.
pub(crate) async fn logs(
    p: &DynProvider,
    filter: Filter,
    from: u64,
    to: u64,
) -> eyre::Result<Vec<Log>> {
    let mut out = Vec::new();
    let mut start = from;
    while start <= to {
        let end = to.min(start.saturating_add(LOG_RANGE - 1));
        let f = filter.clone().from_block(start).to_block(end);
        out.extend(p.get_logs(&f).await.wrap_err("eth_getLogs")?);
        start = end + 1;
    }
    Ok(out)
}

/// The transfer a source event (`Locked` on main, `Burned` on side) describes.
pub(crate) fn from_source_log(net: &Net, chain: Chain, log: &Log) -> Option<Located> {
    match chain {
        Chain::Main => located_from_locked(net, log),
        Chain::Side => located_from_burned(net, log),
    }
}

fn located_from_locked(net: &Net, log: &Log) -> Option<Located> {
    let lock = crate::main_end::locked(net, log)?;
    Some(Located {
        direction: Direction::Deposit,
        transfer: lock.transfer,
        id: lock.id,
        fee: lock.fee,
        wrapped: None,
        parent: lock.parent,
        source_tx: log.transaction_hash?,
        source_block: log.block_number?,
    })
}

fn located_from_burned(net: &Net, log: &Log) -> Option<Located> {
    let ev = SideBridge::Burned::decode_log_data(log.data()).ok()?;
    Some(Located {
        direction: Direction::Withdrawal,
        transfer: Transfer::from_burned(
            &ev,
            net.info(Chain::Side).chain_id,
            net.info(Chain::Side).bridge,
        ),
        id: ev.transferId,
        fee: ev.fee,
        wrapped: Some(ev.wrapped),
        parent: B256::ZERO,
        source_tx: log.transaction_hash?,
        source_block: log.block_number?,
    })
}

/// Source events (`Locked` on main, `Burned` on side) of the route, optionally by sender.
pub(crate) async fn source_events(
    net: &Net,
    chain: Chain,
    sender: Option<Address>,
    nonce: Option<u64>,
) -> eyre::Result<Vec<Located>> {
    let info = net.info(chain);
    let p = net.provider(chain);
    let mut filter = match chain {
        Chain::Main => crate::main_end::locked_filter(net, nonce),
        Chain::Side => {
            let f = Filter::new()
                .address(info.bridge)
                .event_signature(SideBridge::Burned::SIGNATURE_HASH);
            match nonce {
                Some(n) => f.topic1(B256::from(U256::from(n))),
                None => f,
            }
        }
    };
    // a one-route bridge and the side bridge index the sender; the hub does not (checked below)
    if let Some(s) = sender
        && (chain == Chain::Side || net.deployment.route.is_none())
    {
        filter = filter.topic3(s.into_word());
    }
    let head = p.get_block_number().await.wrap_err("eth_blockNumber")?;
    let found = logs(p, filter, info.start_block, head).await?;
    Ok(found
        .iter()
        .filter(|l| !l.removed)
        .filter_map(|l| from_source_log(net, chain, l))
        .filter(|t| sender.is_none_or(|s| t.transfer.sender == s))
        .collect())
}

/// Finds a transfer by a source or destination transaction hash, or by its id.
pub(crate) async fn locate(net: &Net, key: B256) -> eyre::Result<Result<Located, Refusal>> {
    for chain in [Chain::Main, Chain::Side] {
        let receipt = net
            .provider(chain)
            .get_transaction_receipt(key)
            .await
            .wrap_err_with(|| format!("looking {key} up on the {chain} chain"))?;
        let Some(receipt) = receipt else { continue };
        let bridge = net.info(chain).bridge;
        for log in receipt
            .inner
            .logs()
            .iter()
            .filter(|l| l.address() == bridge)
        {
            let found = match (chain, log.topic0().copied()) {
                (Chain::Side, Some(SideBridge::Burned::SIGNATURE_HASH)) => {
                    located_from_burned(net, log)
                }
                (Chain::Side, Some(SideBridge::DepositExecuted::SIGNATURE_HASH)) => {
                    // a destination transaction: topic 2 is the transfer id
                    if let Some(id) = log.topics().get(2) {
                        return locate_id(net, *id).await;
                    }
                    None
                }
                (Chain::Main, _) => {
                    if let Some((_, id)) = crate::main_end::released(net, log) {
                        return locate_id(net, id).await;
                    }
                    located_from_locked(net, log)
                }
                _ => None,
            };
            if let Some(l) = found {
                return Ok(Ok(l));
            }
        }
        return Ok(Err(Refusal::NotFound(format!(
            "transaction {key} on the {chain} chain holds no Sidebridge transfer"
        ))));
    }
    locate_id(net, key).await
}

/// Finds a transfer by id: through its destination event when it landed (the nonce is
/// indexed there, so the source event is one filtered query away), else by reading the source
/// events.
async fn locate_id(net: &Net, id: B256) -> eyre::Result<Result<Located, Refusal>> {
    let landed = [
        (Chain::Main, deposit_executed(net, id).await?),
        (Chain::Side, release_of(net, id).await?),
    ];
    for (src, log) in landed {
        if let Some((nonce, _)) = log {
            let found = source_events(net, src, None, Some(nonce)).await?;
            if let Some(l) = found.into_iter().find(|l| l.id == id) {
                return Ok(Ok(l));
            }
        }
    }
    for chain in [Chain::Main, Chain::Side] {
        let found = source_events(net, chain, None, None).await?;
        if let Some(l) = found.into_iter().find(|l| l.id == id) {
            return Ok(Ok(l));
        }
    }
    Ok(Err(Refusal::NotFound(format!(
        "{id} is neither a transaction nor a transfer id on either chain"
    ))))
}

/// The nonce and transaction of deposit `id`'s execution on the side chain, if it landed.
async fn deposit_executed(net: &Net, id: B256) -> eyre::Result<Option<(u64, B256)>> {
    let info = net.info(Chain::Side);
    let p = net.provider(Chain::Side);
    let filter = Filter::new()
        .address(info.bridge)
        .event_signature(SideBridge::DepositExecuted::SIGNATURE_HASH)
        .topic2(id);
    let head = p.get_block_number().await.wrap_err("eth_blockNumber")?;
    let found = logs(p, filter, info.start_block, head).await?;
    Ok(found.into_iter().find(|l| !l.removed).and_then(|l| {
        let nonce = U256::from_be_bytes(l.topics().get(1)?.0).saturating_to();
        Some((nonce, l.transaction_hash?))
    }))
}

/// The nonce and transaction of withdrawal `id`'s settlement on the main chain, if it was.
pub(crate) async fn release_of(net: &Net, id: B256) -> eyre::Result<Option<(u64, B256)>> {
    let info = net.info(Chain::Main);
    let p = net.provider(Chain::Main);
    let filter = crate::main_end::released_filter(net, vec![id]);
    let head = p.get_block_number().await.wrap_err("eth_blockNumber")?;
    let found = logs(p, filter, info.start_block, head).await?;
    Ok(found.iter().find_map(|l| {
        let (nonce, found) = crate::main_end::released(net, l)?;
        (found == id).then_some((nonce, l.transaction_hash?))
    }))
}

/// Reads where `t` is now.
pub(crate) async fn progress(net: &Net, t: &Located) -> eyre::Result<Progress> {
    let src = t.direction.source();
    let dst = t.direction.destination();
    let head = net
        .provider(src)
        .get_block_number()
        .await
        .wrap_err("eth_blockNumber")?;
    let confirmations = head.saturating_sub(t.source_block) + 1;
    let side = SideBridge::new(net.info(Chain::Side).bridge, net.provider(Chain::Side));
    let main = MainBridge::new(net.info(Chain::Main).bridge, net.provider(Chain::Main));
    let (approvals, ready, threshold) = match t.direction {
        Direction::Deposit => {
            let v = side.depositVotes(t.id).call().await?;
            let threshold = side.validatorThreshold().call().await?;
            (v.votes, false, threshold)
        }
        Direction::Withdrawal => {
            let s = side.withdrawalSignatures(t.id).call().await?;
            let threshold = crate::main_end::state(net).await?.threshold;
            (s.signers, s.ready, U256::from(threshold))
        }
    };
    // the hub and the one-route bridge answer `queuedTransfer` alike
    let queued = match dst {
        Chain::Side => side.queuedTransfer(t.id).call().await?,
        Chain::Main => {
            let q = main.queuedTransfer(t.id).call().await?;
            SideBridge::queuedTransferReturn {
                eta: q.eta,
                held: q.held,
                canceled: q.canceled,
                executed: q.executed,
            }
        }
    };
    let queue = (!queued.eta.is_zero()).then(|| Queue {
        eta: queued.eta.saturating_to(),
        held: queued.held,
        canceled: queued.canceled,
    });
    let destination_tx = match dst {
        Chain::Side => deposit_executed(net, t.id).await?,
        Chain::Main => release_of(net, t.id).await?,
    }
    .map(|(_, tx)| tx);
    Ok(Progress {
        confirmations,
        confirmations_needed: net.deployment.confirmations(src),
        approvals: approvals.saturating_to(),
        threshold: threshold.saturating_to(),
        ready,
        queue,
        destination_tx,
    })
}

/// Polls until `t` lands or `timeout` passes, printing each new step to stderr (one line
/// rewritten in place on a terminal). Returns the last progress read.
pub(crate) async fn follow(
    net: &Net,
    t: &Located,
    timeout: Duration,
    show: bool,
) -> eyre::Result<Progress> {
    let deadline = Instant::now() + timeout;
    let tty = std::io::stderr().is_terminal();
    let mut last = String::new();
    loop {
        let p = progress(net, t).await?;
        let line = p.describe(t.direction);
        if show && line != last {
            if tty {
                eprint!("\r\x1b[2K  {line}");
                let _ = std::io::stderr().flush();
            } else {
                eprintln!("  {line}");
            }
            last = line;
        }
        let stop = matches!(p.stage(), Stage::Landed | Stage::Canceled | Stage::Held);
        if stop || Instant::now() >= deadline {
            if show && tty {
                eprintln!();
            }
            return Ok(p);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> Progress {
        Progress {
            confirmations: 1,
            confirmations_needed: 2,
            approvals: 0,
            threshold: 2,
            ..Progress::default()
        }
    }

    #[test]
    fn the_stage_follows_the_facts_in_order() {
        let mut x = p();
        assert_eq!(x.stage(), Stage::Confirming);
        assert_eq!(
            x.describe(Direction::Deposit),
            "source confirmations 1/2, validator votes 0/2"
        );
        x.confirmations = 5;
        x.approvals = 1;
        assert_eq!(x.stage(), Stage::Approving);
        assert_eq!(
            x.describe(Direction::Withdrawal),
            "source confirmations 2/2, validator signatures 1/2"
        );
        x.approvals = 2;
        x.ready = true;
        assert_eq!(x.stage(), Stage::Releasable);
        x.queue = Some(Queue {
            eta: 100,
            held: false,
            canceled: false,
        });
        assert_eq!(x.stage(), Stage::Queued);
        x.queue = Some(Queue {
            eta: 100,
            held: true,
            canceled: false,
        });
        assert_eq!(x.stage(), Stage::Held);
        x.destination_tx = Some(B256::repeat_byte(7));
        assert_eq!(x.stage(), Stage::Landed);
    }
}
