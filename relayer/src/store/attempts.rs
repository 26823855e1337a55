//! Every transaction this relayer signed, written before it is broadcast, and what became of
//! it: the submitter's memory across restarts.

use std::{fmt, str::FromStr};

use alloy::primitives::{Address, B256, hex};
use sqlx::Row;

use super::{Store, StoreError, corrupt, int, read_parsed, read_text, read_u64};
use crate::domain::{Chain, TxKind, UnknownVariant};

/// One signed transaction, recorded before it is broadcast so that a crash never forgets a
/// nonce in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxAttempt {
    pub tx_hash: B256,
    pub chain: Chain,
    pub account: Address,
    pub account_nonce: u64,
    pub kind: TxKind,
    /// The transfers the call serves, in call order.
    pub transfer_ids: Vec<B256>,
    pub max_fee_per_gas: u128,
    pub max_priority_fee_per_gas: u128,
    /// Unix seconds.
    pub sent_at: i64,
    pub status: AttemptStatus,
    /// The signed transaction (EIP-2718 encoding), to broadcast again after a restart.
    pub raw: Vec<u8>,
}

/// What became of a transaction attempt. Persisted as text; variants are only ever added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttemptStatus {
    /// Signed and (about to be) broadcast; not mined yet.
    Pending,
    /// Mined successfully.
    Mined,
    /// Mined but reverted.
    Failed,
    /// Another transaction with the same account nonce was mined.
    Replaced,
    /// Never made it into a block and never will (refused by the node, or lost).
    Dropped,
}

impl AttemptStatus {
    pub const ALL: [AttemptStatus; 5] = [
        AttemptStatus::Pending,
        AttemptStatus::Mined,
        AttemptStatus::Failed,
        AttemptStatus::Replaced,
        AttemptStatus::Dropped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AttemptStatus::Pending => "pending",
            AttemptStatus::Mined => "mined",
            AttemptStatus::Failed => "failed",
            AttemptStatus::Replaced => "replaced",
            AttemptStatus::Dropped => "dropped",
        }
    }
}

impl fmt::Display for AttemptStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AttemptStatus {
    type Err = UnknownVariant;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AttemptStatus::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownVariant(s.to_string()))
    }
}

impl Store {
    /// Records a signed transaction; call before broadcasting it. Recording the same hash again
    /// (the identical transaction, rebroadcast) only resets its status.
    pub async fn record_attempt(&self, a: &TxAttempt) -> Result<(), StoreError> {
        let tx_hash = hex::encode_prefixed(a.tx_hash);
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO attempts (tx_hash, chain, account, account_nonce, kind, max_fee_per_gas, \
             max_priority_fee_per_gas, sent_at, status, raw_tx) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (tx_hash) DO UPDATE SET status = excluded.status",
        )
        .bind(tx_hash.clone())
        .bind(a.chain.as_str())
        .bind(hex::encode_prefixed(a.account))
        .bind(int("account nonce", a.account_nonce)?)
        .bind(a.kind.as_str())
        .bind(a.max_fee_per_gas.to_string())
        .bind(a.max_priority_fee_per_gas.to_string())
        .bind(a.sent_at)
        .bind(a.status.as_str())
        .bind(hex::encode_prefixed(&a.raw))
        .execute(&mut *tx)
        .await?;
        for (ordinal, id) in a.transfer_ids.iter().enumerate() {
            sqlx::query(
                "INSERT INTO attempt_transfers (tx_hash, ordinal, transfer_id) VALUES ($1, $2, $3) \
                 ON CONFLICT (tx_hash, ordinal) DO NOTHING",
            )
            .bind(tx_hash.clone())
            .bind(int("ordinal", ordinal as u64)?)
            .bind(hex::encode_prefixed(id))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Sets what became of an attempt. Any status may follow any other: a mined transaction
    /// can be reorged out and be pending again.
    pub async fn set_attempt_status(
        &self,
        tx_hash: B256,
        status: AttemptStatus,
    ) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE attempts SET status = $1 WHERE tx_hash = $2")
            .bind(status.as_str())
            .bind(hex::encode_prefixed(tx_hash))
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::UnknownAttempt(tx_hash));
        }
        Ok(())
    }

    /// Account nonces with more than one attempt recorded as mined or failed: `(chain, account,
    /// nonce, count)`. A chain mines one transaction per nonce, so anything here means the
    /// books hold a transaction twice; every test that crashes a relayer checks it is empty.
    pub async fn nonces_settled_twice(
        &self,
    ) -> Result<Vec<(String, String, i64, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT chain, account, account_nonce, COUNT(*) AS n FROM attempts \
             WHERE status IN ('mined', 'failed') GROUP BY chain, account, account_nonce \
             HAVING COUNT(*) > 1",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Pending attempts on `chain`, by account nonce, then by when they were sent.
    pub async fn open_attempts(&self, chain: Chain) -> Result<Vec<TxAttempt>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ATTEMPT_COLUMNS}, 0 AS block \
             FROM attempts a LEFT JOIN attempt_transfers t ON t.tx_hash = a.tx_hash \
             WHERE a.chain = $1 AND a.status = $2 \
             ORDER BY a.account_nonce, a.sent_at, a.tx_hash, t.ordinal"
        ))
        .bind(chain.as_str())
        .bind(AttemptStatus::Pending.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(group_attempts(&rows)?.into_iter().map(|(a, _)| a).collect())
    }

    /// Attempts on `chain` charged as mined (or mined and reverted) in block `from` or later,
    /// with that block, by account nonce: what a submitter watches until it is final, so that
    /// a reorg after a restart is still noticed.
    pub async fn unfinal_attempts(
        &self,
        chain: Chain,
        from: u64,
    ) -> Result<Vec<(TxAttempt, u64)>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {ATTEMPT_COLUMNS}, c.block FROM attempts a \
             JOIN (SELECT tx_hash, MIN(block) AS block FROM costs GROUP BY tx_hash) c \
               ON c.tx_hash = a.tx_hash \
             LEFT JOIN attempt_transfers t ON t.tx_hash = a.tx_hash \
             WHERE a.chain = $1 AND a.status IN ($2, $3) AND c.block >= $4 \
             ORDER BY a.account_nonce, a.sent_at, a.tx_hash, t.ordinal"
        ))
        .bind(chain.as_str())
        .bind(AttemptStatus::Mined.as_str())
        .bind(AttemptStatus::Failed.as_str())
        .bind(int("block number", from.min(i64::MAX as u64))?)
        .fetch_all(&self.pool)
        .await?;
        group_attempts(&rows)
    }

    /// How many attempts are in each (chain, status); pairs with none are left out.
    pub async fn attempt_counts(&self) -> Result<Vec<(Chain, AttemptStatus, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT chain, status, COUNT(*) AS n FROM attempts \
             GROUP BY chain, status ORDER BY chain, status",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    read_parsed(r, "chain")?,
                    read_parsed(r, "status")?,
                    r.try_get::<i64, _>("n")?,
                ))
            })
            .collect()
    }
}

const ATTEMPT_COLUMNS: &str = "a.tx_hash, a.chain, a.account, a.account_nonce, a.kind, \
     a.max_fee_per_gas, a.max_priority_fee_per_gas, a.sent_at, a.status, a.raw_tx, t.transfer_id";

/// Attempts from rows of [`ATTEMPT_COLUMNS`] and a `block`, one row per transfer served (rows
/// of one attempt adjacent), each with its block.
fn group_attempts(rows: &[sqlx::any::AnyRow]) -> Result<Vec<(TxAttempt, u64)>, StoreError> {
    let mut attempts: Vec<(TxAttempt, u64)> = Vec::new();
    for row in rows {
        let tx_hash: B256 = read_parsed(row, "tx_hash")?;
        let transfer_id = row
            .try_get::<Option<String>, _>("transfer_id")?
            .map(|t| t.parse::<B256>().map_err(|e| corrupt("transfer_id", &t, e)))
            .transpose()?;
        // rows of one attempt are adjacent: the order ends with tx_hash, ordinal
        let same = attempts.last().is_some_and(|(a, _)| a.tx_hash == tx_hash);
        if !same {
            let attempt = TxAttempt {
                tx_hash,
                chain: read_parsed(row, "chain")?,
                account: read_parsed(row, "account")?,
                account_nonce: read_u64(row, "account_nonce")?,
                kind: read_parsed(row, "kind")?,
                transfer_ids: Vec::new(),
                max_fee_per_gas: read_parsed(row, "max_fee_per_gas")?,
                max_priority_fee_per_gas: read_parsed(row, "max_priority_fee_per_gas")?,
                sent_at: row.try_get::<i64, _>("sent_at")?,
                status: read_parsed(row, "status")?,
                raw: {
                    let text = read_text(row, "raw_tx")?;
                    hex::decode(&text).map_err(|e| corrupt("raw_tx", &text, e))?
                },
            };
            attempts.push((attempt, read_u64(row, "block")?));
        }
        if let (Some(id), Some((attempt, _))) = (transfer_id, attempts.last_mut()) {
            attempt.transfer_ids.push(id);
        }
    }
    Ok(attempts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{rpc::Classify, store::testing::*};

    async fn attempts_round_trip(store: Store) {
        let attempt = |n: u8, chain: Chain, nonce: u64, sent_at: i64, ids: Vec<B256>| TxAttempt {
            tx_hash: B256::repeat_byte(n),
            chain,
            account: Address::repeat_byte(0x77),
            account_nonce: nonce,
            kind: TxKind::ApproveDeposits,
            transfer_ids: ids,
            max_fee_per_gas: u128::MAX - u128::from(n),
            max_priority_fee_per_gas: 1_000_000_000,
            sent_at,
            status: AttemptStatus::Pending,
            raw: vec![n, 0xab, 0xcd],
        };
        let first = attempt(1, Chain::Side, 5, 100, vec![id(9), id(3), id(7)]);
        let bumped = attempt(2, Chain::Side, 5, 160, vec![id(9), id(3), id(7)]);
        let earlier_nonce = attempt(3, Chain::Side, 4, 200, Vec::new());
        let other_chain = TxAttempt {
            kind: TxKind::Release,
            ..attempt(4, Chain::Main, 1, 50, vec![id(1)])
        };
        for a in [&bumped, &first, &earlier_nonce, &other_chain] {
            store.record_attempt(a).await.expect("record");
        }

        let open = store.open_attempts(Chain::Side).await.expect("open");
        assert_eq!(
            open,
            vec![earlier_nonce.clone(), first.clone(), bumped.clone()]
        );
        assert_eq!(
            store.open_attempts(Chain::Main).await.expect("open"),
            vec![other_chain.clone()]
        );

        store
            .set_attempt_status(bumped.tx_hash, AttemptStatus::Mined)
            .await
            .expect("mined");
        store
            .set_attempt_status(first.tx_hash, AttemptStatus::Replaced)
            .await
            .expect("replaced");
        store
            .set_attempt_status(other_chain.tx_hash, AttemptStatus::Failed)
            .await
            .expect("failed");
        assert_eq!(
            store.open_attempts(Chain::Side).await.expect("open"),
            vec![earlier_nonce.clone()]
        );

        // the identical transaction recorded again before a rebroadcast: pending once more,
        // its transfers not doubled
        store.record_attempt(&first).await.expect("record again");
        let open = store.open_attempts(Chain::Side).await.expect("open");
        assert_eq!(open, vec![earlier_nonce, first]);

        let counts = store.attempt_counts().await.expect("counts");
        assert_eq!(
            counts,
            vec![
                (Chain::Main, AttemptStatus::Failed, 1),
                (Chain::Side, AttemptStatus::Mined, 1),
                (Chain::Side, AttemptStatus::Pending, 2),
            ]
        );

        let err = store
            .set_attempt_status(B256::repeat_byte(0xEE), AttemptStatus::Dropped)
            .await
            .expect_err("unknown attempt");
        assert!(matches!(err, StoreError::UnknownAttempt(_)));
        assert!(!err.is_transient());
    }

    /// What mined at or above a block, with the block its charge names; what is deeper, or
    /// still pending, or of the other chain, is not listed.
    async fn unfinal_attempts_are_those_mined_at_or_above_a_block(store: Store) {
        let attempt = |n: u8, nonce: u64, status| TxAttempt {
            tx_hash: B256::repeat_byte(n),
            chain: Chain::Main,
            account: Address::repeat_byte(0x77),
            account_nonce: nonce,
            kind: TxKind::Release,
            transfer_ids: vec![id(n), id(n + 100)],
            max_fee_per_gas: 10,
            max_priority_fee_per_gas: 1,
            sent_at: 100,
            status,
            raw: vec![n],
        };
        let charge = |n: u8, block: u64| {
            [0u8, 100].map(|k| crate::domain::CostEntry {
                tx_hash: B256::repeat_byte(n),
                chain: Chain::Main,
                kind: TxKind::Release,
                transfer_id: id(n + k),
                token: Address::ZERO,
                cost_wei: U256::from(7),
                block,
                timestamp: 1,
            })
        };
        let deep = attempt(1, 1, AttemptStatus::Mined);
        let recent = attempt(2, 2, AttemptStatus::Mined);
        let reverted = attempt(3, 3, AttemptStatus::Failed);
        let pending = attempt(4, 4, AttemptStatus::Pending);
        for (a, block) in [(&deep, 10), (&recent, 20), (&reverted, 21)] {
            store.record_attempt(a).await.expect("record");
            store
                .set_attempt_status(a.tx_hash, a.status)
                .await
                .expect("status");
            store
                .record_costs(&charge(a.account_nonce as u8, block))
                .await
                .expect("costs");
        }
        store.record_attempt(&pending).await.expect("record");
        let unfinal = store
            .unfinal_attempts(Chain::Main, 20)
            .await
            .expect("unfinal");
        assert_eq!(unfinal, vec![(recent, 20), (reverted, 21)]);
        assert!(
            store
                .unfinal_attempts(Chain::Side, 0)
                .await
                .expect("unfinal")
                .is_empty()
        );
    }

    on_both_backends!(
        attempts_round_trip,
        unfinal_attempts_are_those_mined_at_or_above_a_block,
    );

    #[test]
    fn attempt_statuses_round_trip_through_text() {
        for s in AttemptStatus::ALL {
            assert_eq!(s.as_str().parse::<AttemptStatus>(), Ok(s));
        }
        assert!("bogus".parse::<AttemptStatus>().is_err());
    }
}
