//! The public transfer index's reads: every transfer with both legs (the source event's
//! transaction, block and time; the destination's mint or release, and its queueing if it was
//! large), where it stands for a holder, and filtered pages of them.
//!
//! Everything here is derived from what the watchers stored, nothing from when it was stored:
//! pages run newest first by source block time, then id, so an index rebuilt from the chains
//! into an empty database answers every query exactly as the original did. A page ends with a
//! cursor naming its last row's (time, id); the next page starts strictly after it, so rows
//! arriving meanwhile (always newer, at the head) neither repeat nor skip a row.

use std::{fmt, str::FromStr};

use alloy::primitives::{Address, B256, U256, hex};
use sqlx::{Row, any::AnyRow};

use super::{Store, StoreError, corrupt, read_parsed, read_u64};
use crate::domain::{Direction, TransferRecord, UnknownVariant};

/// Where a transfer stands, as a holder sees it. Derived on every read from the stored events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndexState {
    /// The source event is confirmed; no validator has acted on it yet.
    Confirmed,
    /// A deposit some validators voted for, below the threshold.
    Voting,
    /// A withdrawal some validators signed, below the threshold.
    Signing,
    /// A withdrawal whose signatures reached the threshold: anyone may release it now.
    Ready,
    /// Large: the destination holds it for its delay before paying out.
    Queued,
    /// Minted or released at the destination.
    Landed,
}

impl IndexState {
    pub const ALL: [IndexState; 6] = [
        IndexState::Confirmed,
        IndexState::Voting,
        IndexState::Signing,
        IndexState::Ready,
        IndexState::Queued,
        IndexState::Landed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IndexState::Confirmed => "confirmed",
            IndexState::Voting => "voting",
            IndexState::Signing => "signing",
            IndexState::Ready => "ready",
            IndexState::Queued => "queued",
            IndexState::Landed => "landed",
        }
    }
}

impl fmt::Display for IndexState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IndexState {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IndexState::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownVariant(s.to_string()))
    }
}

/// Which transfers a page holds; every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexFilter {
    pub id: Option<B256>,
    /// The source transaction, or a destination transaction (mint, release or queueing).
    pub tx: Option<B256>,
    /// Sender or recipient.
    pub address: Option<Address>,
    /// The main-chain token, in either direction.
    pub token: Option<Address>,
    pub state: Option<IndexState>,
    pub direction: Option<Direction>,
}

/// Where the next page starts: strictly after this (source time, id), newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageCursor {
    pub time: i64,
    pub id: B256,
}

impl fmt::Display for PageCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.time, self.id)
    }
}

impl FromStr for PageCursor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || "a cursor is the next_cursor of a previous page".to_string();
        let (time, id) = s.split_once('-').ok_or_else(bad)?;
        Ok(PageCursor {
            time: time.parse().map_err(|_| bad())?,
            id: id.parse().map_err(|_| bad())?,
        })
    }
}

/// A transaction of a transfer on one chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leg {
    pub tx_hash: B256,
    pub block: u64,
}

/// A transfer with both legs and its holder-facing state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedTransfer {
    /// As stored; its `state`, `created_at` and `updated_at` are the relayer's, not the index's.
    pub record: TransferRecord,
    pub state: IndexState,
    /// Distinct validators that voted (deposit) or published a signature (withdrawal).
    pub approvals: u64,
    /// The mint or release.
    pub destination: Option<Leg>,
    /// The destination transaction that queued it, when it was large.
    pub queued: Option<Leg>,
}

/// One page of transfers, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexPage {
    pub transfers: Vec<IndexedTransfer>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<PageCursor>,
}

/// A bound parameter of a built query.
pub(super) enum Arg {
    Text(String),
    Int(i64),
}

/// Each transfer with its legs, approvals and holder-facing state, as a table to filter.
const INDEXED: &str = "SELECT y.*, CASE \
     WHEN y.state = 'completed' THEN 'landed' \
     WHEN y.queue_tx IS NOT NULL THEN 'queued' \
     WHEN y.direction = 'withdrawal' AND y.state = 'ready' THEN 'ready' \
     WHEN y.approvals > 0 AND y.direction = 'deposit' THEN 'voting' \
     WHEN y.approvals > 0 THEN 'signing' \
     ELSE 'confirmed' END AS index_state FROM (\
     SELECT t.id, t.direction, t.src_chain_id, t.dst_chain_id, t.nonce, t.token, t.sender, \
     t.recipient, t.amount, t.fee, t.source_block, t.source_tx, t.state, t.created_at, \
     t.updated_at, t.source_time, t.source_hash, t.src_bridge, t.dst_bridge, \
     (SELECT MIN(e.tx_hash) FROM executions e WHERE e.transfer_id = t.id \
      AND e.direction = t.direction AND e.queued = 0) AS dst_tx, \
     (SELECT MIN(e.block) FROM executions e WHERE e.transfer_id = t.id \
      AND e.direction = t.direction AND e.queued = 0) AS dst_block, \
     (SELECT MIN(e.tx_hash) FROM executions e WHERE e.transfer_id = t.id \
      AND e.direction = t.direction AND e.queued = 1) AS queue_tx, \
     (SELECT MIN(e.block) FROM executions e WHERE e.transfer_id = t.id \
      AND e.direction = t.direction AND e.queued = 1) AS queue_block, \
     CASE WHEN t.direction = 'deposit' \
      THEN (SELECT COUNT(DISTINCT v.validator) FROM deposit_votes v WHERE v.transfer_id = t.id) \
      ELSE (SELECT COUNT(DISTINCT s.validator) FROM signatures s WHERE s.transfer_id = t.id) \
     END AS approvals \
     FROM transfers t) y";

/// The SQL of one index page and its arguments, in order.
pub(super) fn page_query(
    filter: &IndexFilter,
    after: Option<PageCursor>,
    limit: u32,
) -> (String, Vec<Arg>) {
    let mut args = Vec::new();
    let mut conditions = Vec::new();
    let mut arg = |value: Arg| {
        args.push(value);
        format!("${}", args.len())
    };
    if let Some(id) = filter.id {
        conditions.push(format!(
            "x.id = {}",
            arg(Arg::Text(hex::encode_prefixed(id)))
        ));
    }
    if let Some(tx) = filter.tx {
        let p = arg(Arg::Text(hex::encode_prefixed(tx)));
        // the ids first, each from its own index (source_tx, executions by tx), then
        // the rows by primary key: an OR across the two tables scanned every transfer
        conditions.push(format!(
            "x.id IN (SELECT s.id FROM transfers s WHERE s.source_tx = {p} \
             UNION SELECT e.transfer_id FROM executions e WHERE e.tx_hash = {p})"
        ));
    }
    if let Some(address) = filter.address {
        let p = arg(Arg::Text(hex::encode_prefixed(address)));
        conditions.push(format!("(x.sender = {p} OR x.recipient = {p})"));
    }
    if let Some(token) = filter.token {
        let p = arg(Arg::Text(hex::encode_prefixed(token)));
        conditions.push(format!("x.token = {p}"));
    }
    if let Some(state) = filter.state {
        let p = arg(Arg::Text(state.as_str().into()));
        conditions.push(format!("x.index_state = {p}"));
    }
    if let Some(direction) = filter.direction {
        let p = arg(Arg::Text(direction.as_str().into()));
        conditions.push(format!("x.direction = {p}"));
    }
    if let Some(cursor) = after {
        let time = arg(Arg::Int(cursor.time));
        let id = arg(Arg::Text(hex::encode_prefixed(cursor.id)));
        conditions.push(format!(
            "(x.source_time < {time} OR (x.source_time = {time} AND x.id < {id}))"
        ));
    }
    // one more than asked: whether a next page exists, without a second query
    let limit_param = arg(Arg::Int(i64::from(limit) + 1));
    let filter_sql = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    let sql = format!(
        "SELECT * FROM ({INDEXED}) x {filter_sql} \
         ORDER BY x.source_time DESC, x.id DESC LIMIT {limit_param}"
    );
    (sql, args)
}

impl Store {
    /// Up to `limit` transfers matching `filter`, newest first, starting after `after`.
    pub async fn index_page(
        &self,
        filter: &IndexFilter,
        after: Option<PageCursor>,
        limit: u32,
    ) -> Result<IndexPage, StoreError> {
        let (sql, args) = page_query(filter, after, limit);
        let mut query = sqlx::query(&sql);
        for value in args {
            query = match value {
                Arg::Text(text) => query.bind(text),
                Arg::Int(n) => query.bind(n),
            };
        }
        let rows = query.fetch_all(&self.pool).await?;
        let mut transfers = rows
            .iter()
            .map(read_indexed)
            .collect::<Result<Vec<_>, _>>()?;
        let next = if transfers.len() > limit as usize {
            transfers.truncate(limit as usize);
            transfers.last().map(|t| PageCursor {
                time: t.record.source_time,
                id: t.record.id,
            })
        } else {
            None
        };
        Ok(IndexPage { transfers, next })
    }

    /// One transfer with both legs, `None` if unknown.
    pub async fn indexed_transfer(&self, id: B256) -> Result<Option<IndexedTransfer>, StoreError> {
        let filter = IndexFilter {
            id: Some(id),
            ..IndexFilter::default()
        };
        Ok(self.index_page(&filter, None, 1).await?.transfers.pop())
    }

    /// Fees the bridges took from holders, summed per main-chain token (both directions),
    /// ascending by token. Summed in Rust: amounts are decimal text, beyond SQL's integers.
    pub async fn fees_by_token(&self) -> Result<Vec<(Address, U256)>, StoreError> {
        let mut sums: std::collections::BTreeMap<Address, U256> = Default::default();
        for fee in self.fee_entries().await? {
            let sum = sums.entry(fee.token).or_default();
            *sum = sum
                .checked_add(fee.amount)
                .ok_or_else(|| corrupt("amount", &fee.amount.to_string(), "sum overflows"))?;
        }
        Ok(sums.into_iter().collect())
    }
}

fn read_leg(r: &AnyRow, tx: &'static str, block: &'static str) -> Result<Option<Leg>, StoreError> {
    let Some(hash) = r.try_get::<Option<String>, _>(tx)? else {
        return Ok(None);
    };
    let block_number = r.try_get::<Option<i64>, _>(block)?.unwrap_or_default();
    Ok(Some(Leg {
        tx_hash: hash.parse().map_err(|e| corrupt(tx, &hash, e))?,
        block: u64::try_from(block_number).map_err(|e| corrupt(block, &hash, e))?,
    }))
}

fn read_indexed(r: &AnyRow) -> Result<IndexedTransfer, StoreError> {
    let record = super::transfers::read_transfer(r)?;
    Ok(IndexedTransfer {
        state: read_parsed(r, "index_state")?,
        approvals: read_u64(r, "approvals")?,
        destination: read_leg(r, "dst_tx", "dst_block")?,
        queued: read_leg(r, "queue_tx", "queue_block")?,
        record,
    })
}

#[cfg(test)]
#[path = "index_tests.rs"]
mod tests;
