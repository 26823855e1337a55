//! The cost ledger's books: gas paid per transaction, charged to the transfers it served, and
//! the fees the bridges took from holders; both reconcile to the wei.

use alloy::primitives::{Address, B256, U256, hex};
use sqlx::{Any, Row, Transaction};

use super::{Store, StoreError, int, read_parsed, read_u64};
use crate::domain::{Chain, CostEntry};

/// A fee the bridge took from a holder at the source chain, in the token's smallest units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeEntry {
    pub transfer_id: B256,
    pub chain: Chain,
    pub token: Address,
    pub amount: U256,
    /// Unix seconds of the block.
    pub timestamp: i64,
}

impl Store {
    /// Records what transactions cost, in one transaction. An entry already stored for the same
    /// (transaction, transfer) is left alone, so settling a receipt twice charges it once.
    pub async fn record_costs(&self, entries: &[CostEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        for (ordinal, e) in entries.iter().enumerate() {
            sqlx::query(
                "INSERT INTO costs (tx_hash, transfer_id, ordinal, chain, kind, token, cost_wei, \
                 block, block_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (tx_hash, transfer_id) DO NOTHING",
            )
            .bind(hex::encode_prefixed(e.tx_hash))
            .bind(hex::encode_prefixed(e.transfer_id))
            .bind(int("ordinal", ordinal as u64)?)
            .bind(e.chain.as_str())
            .bind(e.kind.as_str())
            .bind(hex::encode_prefixed(e.token))
            .bind(e.cost_wei.to_string())
            .bind(int("block number", e.block)?)
            .bind(e.timestamp)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Withdraws what a transaction was charged (a reorg dropped it); returns the entries removed.
    pub async fn remove_costs(&self, tx_hash: B256) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM costs WHERE tx_hash = $1")
            .bind(hex::encode_prefixed(tx_hash))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Everything this relayer paid for gas on `chain`, to the wei.
    pub async fn total_cost(&self, chain: Chain) -> Result<U256, StoreError> {
        let rows = sqlx::query("SELECT cost_wei FROM costs WHERE chain = $1")
            .bind(chain.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().try_fold(U256::ZERO, |sum, r| {
            let cost: U256 = read_parsed(r, "cost_wei")?;
            sum.checked_add(cost).ok_or_else(|| StoreError::Corrupt {
                column: "cost_wei",
                value: cost.to_string(),
                reason: "the total overflows 256 bits".into(),
            })
        })
    }

    /// Every cost entry, oldest block first; the parts of one transaction in recorded order.
    pub async fn cost_entries(&self) -> Result<Vec<CostEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT tx_hash, chain, kind, transfer_id, token, cost_wei, block, block_time \
             FROM costs ORDER BY block_time, chain, block, tx_hash, ordinal",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CostEntry {
                    tx_hash: read_parsed(r, "tx_hash")?,
                    chain: read_parsed(r, "chain")?,
                    kind: read_parsed(r, "kind")?,
                    transfer_id: read_parsed(r, "transfer_id")?,
                    token: read_parsed(r, "token")?,
                    cost_wei: read_parsed(r, "cost_wei")?,
                    block: read_u64(r, "block")?,
                    timestamp: r.try_get::<i64, _>("block_time")?,
                })
            })
            .collect()
    }

    /// Records fees collected, in one transaction; a fee already stored for the same transfer
    /// and chain is left alone. The watcher's fees arrive through [`Store::commit_watch`].
    pub async fn record_fees(&self, fees: &[FeeEntry]) -> Result<(), StoreError> {
        if fees.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        insert_fees(&mut tx, fees).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every fee collected, oldest first.
    pub async fn fee_entries(&self) -> Result<Vec<FeeEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT transfer_id, chain, token, amount, block_time FROM fees \
             ORDER BY block_time, chain, transfer_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(FeeEntry {
                    transfer_id: read_parsed(r, "transfer_id")?,
                    chain: read_parsed(r, "chain")?,
                    token: read_parsed(r, "token")?,
                    amount: read_parsed(r, "amount")?,
                    timestamp: r.try_get::<i64, _>("block_time")?,
                })
            })
            .collect()
    }
}

pub(super) async fn insert_fees(
    tx: &mut Transaction<'static, Any>,
    fees: &[FeeEntry],
) -> Result<(), StoreError> {
    for fee in fees {
        sqlx::query(
            "INSERT INTO fees (transfer_id, chain, token, amount, block_time) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (transfer_id, chain) DO NOTHING",
        )
        .bind(hex::encode_prefixed(fee.transfer_id))
        .bind(fee.chain.as_str())
        .bind(hex::encode_prefixed(fee.token))
        .bind(fee.amount.to_string())
        .bind(fee.timestamp)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::*;

    async fn costs_are_recorded_once_and_add_up_exactly(store: Store) {
        let total = U256::from(u128::MAX) + U256::from(12_345); // far above 2^64
        let parts = crate::domain::split_cost(total, 3);
        let entries: Vec<CostEntry> = parts
            .iter()
            .zip([id(5), id(2), id(8)])
            .map(|(wei, transfer_id)| CostEntry {
                tx_hash: B256::repeat_byte(0x42),
                chain: Chain::Side,
                kind: TxKind::ApproveDeposits,
                transfer_id,
                token: Address::repeat_byte(0xAB),
                cost_wei: *wei,
                block: 77,
                timestamp: 1_700_000_000,
            })
            .collect();
        let release = CostEntry {
            tx_hash: B256::repeat_byte(0x43),
            chain: Chain::Main,
            kind: TxKind::Release,
            transfer_id: B256::ZERO,
            token: Address::ZERO,
            cost_wei: U256::from(u64::MAX) * U256::from(2),
            block: 12,
            timestamp: 1_700_000_100,
        };
        store.record_costs(&entries).await.expect("record");
        store.record_costs(&entries).await.expect("record twice");
        store
            .record_costs(std::slice::from_ref(&release))
            .await
            .expect("record release");
        store.record_costs(&[]).await.expect("nothing to record");

        assert_eq!(store.total_cost(Chain::Side).await.expect("total"), total);
        assert_eq!(
            store.total_cost(Chain::Main).await.expect("total"),
            release.cost_wei
        );
        let mut expected = entries;
        expected.push(release);
        assert_eq!(store.cost_entries().await.expect("entries"), expected);
    }

    async fn fees_are_recorded_once(store: Store) {
        let fees = vec![fee(2, Chain::Side), fee(1, Chain::Main)];
        store.record_fees(&fees).await.expect("record");
        store.record_fees(&fees).await.expect("record twice");
        let mut b = batch(Chain::Main, 3);
        b.fees = vec![fee(1, Chain::Main), fee(3, Chain::Main)];
        store.commit_watch(&b).await.expect("commit");
        assert_eq!(
            store.fee_entries().await.expect("fees"),
            vec![
                fee(1, Chain::Main),
                fee(2, Chain::Side),
                fee(3, Chain::Main)
            ]
        );
    }

    on_both_backends!(
        costs_are_recorded_once_and_add_up_exactly,
        fees_are_recorded_once,
    );
}
