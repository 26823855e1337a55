//! `history`: an address's transfers both ways, newest first, a page at a time, from the
//! chains alone. Source events are found by their indexed sender; whether each landed is one
//! filtered query per chain for the destination events of all the page's ids.

use std::collections::{BTreeSet, HashMap};

use alloy::{
    primitives::{Address, B256},
    providers::Provider,
    rpc::types::Filter,
    sol_types::SolEvent,
};
use eyre::WrapErr;
use sidebridge_contracts::bindings::{MainBridge, SideBridge};
use sidebridge_core::domain::{Chain, Direction};

use crate::{
    network::Net,
    track::{self, Located},
};

/// One row of a history page.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) transfer: Located,
    /// The source block's timestamp.
    pub(crate) time: u64,
    pub(crate) destination_tx: Option<B256>,
}

/// A page of an address's history.
#[derive(Debug, Clone)]
pub(crate) struct Page {
    pub(crate) rows: Vec<Row>,
    pub(crate) page: usize,
    pub(crate) per_page: usize,
    pub(crate) total: usize,
}

/// Transfers `address` sent, newest first, page `page` (1-based) of `per_page`.
pub(crate) async fn history(
    net: &Net,
    address: Address,
    page: usize,
    per_page: usize,
) -> eyre::Result<Page> {
    let mut all = track::source_events(net, Chain::Main, Some(address), None).await?;
    all.extend(track::source_events(net, Chain::Side, Some(address), None).await?);

    // newest first by the source block's time; the chains' clocks are comparable, ties by id
    let mut times: HashMap<(Chain, u64), u64> = HashMap::new();
    for t in &all {
        let key = (t.direction.source(), t.source_block);
        if let std::collections::hash_map::Entry::Vacant(e) = times.entry(key) {
            let block = net
                .provider(key.0)
                .get_block_by_number(key.1.into())
                .await
                .wrap_err("reading a block's time")?;
            e.insert(block.map(|b| b.header.timestamp).unwrap_or_default());
        }
    }
    let time_of = |t: &Located| times[&(t.direction.source(), t.source_block)];
    all.sort_by(|a, b| {
        (time_of(b), b.source_block, b.transfer.nonce, b.id).cmp(&(
            time_of(a),
            a.source_block,
            a.transfer.nonce,
            a.id,
        ))
    });
    let total = all.len();
    let rows: Vec<Located> = all
        .into_iter()
        .skip(page.saturating_sub(1) * per_page)
        .take(per_page)
        .collect();

    let mut landed: HashMap<B256, B256> = HashMap::new();
    for (direction, chain, signature) in [
        (
            Direction::Deposit,
            Chain::Side,
            SideBridge::DepositExecuted::SIGNATURE_HASH,
        ),
        (
            Direction::Withdrawal,
            Chain::Main,
            MainBridge::Released::SIGNATURE_HASH,
        ),
    ] {
        let ids: BTreeSet<B256> = rows
            .iter()
            .filter(|t| t.direction == direction)
            .map(|t| t.id)
            .collect();
        if ids.is_empty() {
            continue;
        }
        let from = net.info(chain).start_block;
        let p = net.provider(chain);
        let filter = Filter::new()
            .address(net.info(chain).bridge)
            .event_signature(signature)
            .topic2(ids.into_iter().collect::<Vec<_>>());
        let head = p.get_block_number().await.wrap_err("eth_blockNumber")?;
        for log in track::logs(p, filter, from.min(head), head).await? {
            if let (Some(id), Some(tx)) = (log.topics().get(2), log.transaction_hash)
                && !log.removed
            {
                landed.insert(*id, tx);
            }
        }
    }
    let rows = rows
        .into_iter()
        .map(|t| Row {
            time: time_of(&t),
            destination_tx: landed.get(&t.id).copied(),
            transfer: t,
        })
        .collect();
    Ok(Page {
        rows,
        page,
        per_page,
        total,
    })
}
