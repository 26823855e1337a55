//! `history`: an address's transfers every way, newest first, a page at a time, from the
//! chains alone. Source events are found by their sender; whether each landed is one filtered
//! query per chain for the destination events of all the page's ids. A chained transfer is one
//! row: its withdrawal from the first side chain, landed when the hub's deposit to the second
//! was executed there (that deposit, sent by the same address, is not listed again).

use std::collections::{BTreeSet, HashMap};

use alloy::{
    primitives::{Address, B256},
    providers::Provider,
    rpc::types::Filter,
    sol_types::SolEvent,
};
use eyre::WrapErr;
use sidebridge_contracts::bindings::SideBridge;
use sidebridge_core::domain::{Chain, Direction};

use crate::{
    chained,
    network::Net,
    track::{self, Located},
};

/// One row of a history page.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) transfer: Located,
    /// Which of the routes searched it was found on.
    pub(crate) route: usize,
    /// Where it ends: `main` or a side chain's name.
    pub(crate) to: String,
    /// The source block's timestamp.
    pub(crate) time: u64,
    pub(crate) destination_tx: Option<B256>,
    /// `landed`, `pending`, or for a chained transfer the hub parked, `parked` or `refunded`.
    pub(crate) state: &'static str,
}

/// A page of an address's history.
#[derive(Debug, Clone)]
pub(crate) struct Page {
    pub(crate) rows: Vec<Row>,
    pub(crate) page: usize,
    pub(crate) per_page: usize,
    pub(crate) total: usize,
}

/// Transfers `address` sent on `routes`, newest first, page `page` (1-based) of `per_page`.
pub(crate) async fn history(
    routes: &[Net],
    address: Address,
    page: usize,
    per_page: usize,
) -> eyre::Result<Page> {
    let mut all: Vec<(usize, Located)> = Vec::new();
    for (i, net) in routes.iter().enumerate() {
        // the main chain's deposits of a one-route bridge, or this route's on a hub
        for chain in [Chain::Main, Chain::Side] {
            let found = track::source_events(net, chain, Some(address), None).await?;
            all.extend(found.into_iter().map(|t| (i, t)));
        }
    }
    // second legs, by the withdrawal they continue; one whose first leg was not searched (its
    // route not named) stays a row of its own
    let firsts: std::collections::HashSet<B256> = all
        .iter()
        .filter(|(_, t)| t.parent.is_zero())
        .map(|(_, t)| t.id)
        .collect();
    let mut continued: HashMap<B256, (usize, Located)> = HashMap::new();
    all.retain(|(i, t)| {
        if t.parent.is_zero() || !firsts.contains(&t.parent) {
            return true;
        }
        continued.insert(t.parent, (*i, t.clone()));
        false
    });

    // newest first by the source block's time; the chains' clocks are comparable, ties by id
    let mut times: HashMap<(u64, u64), u64> = HashMap::new();
    for (i, t) in &all {
        let chain = t.direction.source();
        let key = (routes[*i].info(chain).chain_id, t.source_block);
        if let std::collections::hash_map::Entry::Vacant(e) = times.entry(key) {
            let block = routes[*i]
                .provider(chain)
                .get_block_by_number(key.1.into())
                .await
                .wrap_err("reading a block's time")?;
            e.insert(block.map(|b| b.header.timestamp).unwrap_or_default());
        }
    }
    let time_of = |(i, t): &(usize, Located)| {
        times[&(
            routes[*i].info(t.direction.source()).chain_id,
            t.source_block,
        )]
    };
    all.sort_by(|a, b| {
        (time_of(b), b.1.source_block, b.1.transfer.nonce, b.1.id).cmp(&(
            time_of(a),
            a.1.source_block,
            a.1.transfer.nonce,
            a.1.id,
        ))
    });
    let total = all.len();
    let page_rows: Vec<(usize, Located)> = all
        .into_iter()
        .skip(page.saturating_sub(1) * per_page)
        .take(per_page)
        .collect();

    // what each row lands as: itself, or for a chained one its second leg (the hub's deposit
    // to the destination route; a refund of a parked one goes back to the source instead)
    let landing: Vec<(usize, Located)> = page_rows
        .iter()
        .map(|(i, t)| {
            continued
                .get(&t.id)
                .filter(|(r, _)| goes_to(&routes[*r], t))
                .cloned()
                .unwrap_or((*i, t.clone()))
        })
        .collect();
    let mut landed: HashMap<B256, B256> = HashMap::new();
    for (i, net) in routes.iter().enumerate() {
        for (direction, chain) in [
            (Direction::Deposit, Chain::Side),
            (Direction::Withdrawal, Chain::Main),
        ] {
            let ids: Vec<B256> = landing
                .iter()
                .filter(|(r, t)| *r == i && t.direction == direction)
                .map(|(_, t)| t.id)
                .collect::<BTreeSet<B256>>()
                .into_iter()
                .collect();
            if ids.is_empty() {
                continue;
            }
            let from = net.info(chain).start_block;
            let p = net.provider(chain);
            let filter = match chain {
                Chain::Side => Filter::new()
                    .address(net.info(chain).bridge)
                    .event_signature(SideBridge::DepositExecuted::SIGNATURE_HASH)
                    .topic2(ids),
                Chain::Main => crate::main_end::released_filter(net, ids),
            };
            let head = p.get_block_number().await.wrap_err("eth_blockNumber")?;
            for log in track::logs(p, filter, from.min(head), head).await? {
                let id = match chain {
                    Chain::Side => log.topics().get(2).copied().filter(|_| !log.removed),
                    Chain::Main => crate::main_end::released(net, &log).map(|(_, id)| id),
                };
                if let (Some(id), Some(tx)) = (id, log.transaction_hash) {
                    landed.insert(id, tx);
                }
            }
        }
    }
    let mut rows = Vec::with_capacity(page_rows.len());
    for (row, (_, end)) in page_rows.into_iter().zip(landing) {
        let net = &routes[row.0];
        let chained = chained::is_chained(net, &row.1);
        let to = if chained {
            routes
                .iter()
                .find(|r| {
                    let side = r.info(Chain::Side);
                    side.bridge == row.1.transfer.dstBridge
                        && alloy::primitives::U256::from(side.chain_id) == row.1.transfer.dstChainId
                })
                .map(|r| r.deployment.side_name.clone())
                .unwrap_or_else(|| row.1.transfer.dstBridge.to_string())
        } else if row.1.direction == Direction::Deposit {
            net.deployment.side_name.clone()
        } else {
            "main".into()
        };
        // a chained row lands with its second leg, found only when that leg's route is searched
        let destination_tx = if end.id == row.1.id && chained {
            None
        } else {
            landed.get(&end.id).copied()
        };
        let state = match destination_tx {
            Some(_) => "landed",
            // no second leg: still on its way, or parked on the hub (and perhaps refunded)
            None if chained && end.id == row.1.id => chained::parked_state(net, row.1.id).await?,
            None => "pending",
        };
        rows.push(Row {
            time: time_of(&row),
            route: row.0,
            to,
            state,
            destination_tx,
            transfer: row.1,
        });
    }
    Ok(Page {
        rows,
        page,
        per_page,
        total,
    })
}

/// Whether `t`'s destination is `route`'s side chain.
fn goes_to(route: &Net, t: &Located) -> bool {
    let side = route.info(Chain::Side);
    side.bridge == t.transfer.dstBridge
        && alloy::primitives::U256::from(side.chain_id) == t.transfer.dstChainId
}
