//! What the watchers write: their cursors, the hashes of processed blocks (to notice a reorg
//! deeper than the confirmations), and everything learned from a block range, committed in one
//! transaction with the new cursor.

use alloy::primitives::{B256, hex};
use sqlx::any::AnyRow;

use super::{
    Backend, SEEN_BLOCKS_KEPT, Store, StoreError, audit,
    costs::insert_fees,
    int, read_parsed, read_u64,
    transfers::{advance, insert_transfer},
    unix_now,
};
use crate::domain::{
    Chain, DepositVote, Execution, PublishedSignature, SeenBlock, TransferRecord, TransferState,
};
use crate::store::FeeEntry;

/// What the watcher learned from the blocks after its cursor up to `to_block`, stored at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchBatch {
    pub chain: Chain,
    /// The new cursor: the last block fully processed.
    pub to_block: u64,
    /// Hashes of processed blocks to remember; the newest [`SEEN_BLOCKS_KEPT`] per chain stay.
    pub blocks: Vec<SeenBlock>,
    /// Inserted; ids already stored are left as they are.
    pub new_transfers: Vec<TransferRecord>,
    /// Ids minted or released at the destination. Also remembered for ids not stored yet: the
    /// other chain's watcher may be behind, and its insert then lands as `Completed`.
    pub completed: Vec<B256>,
    /// Duplicates (same transfer and validator) are ignored.
    pub signatures: Vec<PublishedSignature>,
    /// Withdrawal ids that reached the signature threshold (`ReadyForRelay`). Ids not stored
    /// are skipped: the event follows its `Burned` on the same chain, so the watcher has
    /// always inserted the transfer by then.
    pub ready: Vec<B256>,
    pub fees: Vec<FeeEntry>,
    /// Mints, releases and queued transfers at the destination, for the audit.
    pub executions: Vec<Execution>,
    /// Deposit votes cast by any validator, for the audit.
    pub votes: Vec<DepositVote>,
}

impl WatchBatch {
    /// A batch of `chain` up to `to_block` that holds nothing yet.
    pub fn empty(chain: Chain, to_block: u64) -> Self {
        Self {
            chain,
            to_block,
            blocks: Vec::new(),
            new_transfers: Vec::new(),
            completed: Vec::new(),
            signatures: Vec::new(),
            ready: Vec::new(),
            fees: Vec::new(),
            executions: Vec::new(),
            votes: Vec::new(),
        }
    }
}

impl Store {
    /// The last block of `chain` fully processed, if any.
    pub async fn cursor(&self, chain: Chain) -> Result<Option<u64>, StoreError> {
        let row = sqlx::query("SELECT block FROM cursors WHERE chain = $1")
            .bind(chain.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| read_u64(&r, "block")).transpose()
    }

    /// Remembered blocks of `chain` numbered `from..=to`, ascending.
    pub async fn seen_blocks(
        &self,
        chain: Chain,
        from: u64,
        to: u64,
    ) -> Result<Vec<SeenBlock>, StoreError> {
        let rows = sqlx::query(
            "SELECT number, hash FROM seen_blocks \
             WHERE chain = $1 AND number >= $2 AND number <= $3 ORDER BY number",
        )
        .bind(chain.as_str())
        // past i64::MAX there are no rows to find
        .bind(i64::try_from(from).unwrap_or(i64::MAX))
        .bind(i64::try_from(to).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(read_seen_block).collect()
    }

    /// The newest `limit` remembered blocks of `chain`, newest first.
    pub async fn latest_seen_blocks(
        &self,
        chain: Chain,
        limit: u32,
    ) -> Result<Vec<SeenBlock>, StoreError> {
        let rows = sqlx::query(
            "SELECT number, hash FROM seen_blocks WHERE chain = $1 ORDER BY number DESC LIMIT $2",
        )
        .bind(chain.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(read_seen_block).collect()
    }

    /// Stores everything the watcher learned from one block range, and the new cursor, in one
    /// transaction: after a crash the range is either entirely stored or read again.
    pub async fn commit_watch(&self, batch: &WatchBatch) -> Result<(), StoreError> {
        let now = unix_now();
        let chain = batch.chain.as_str();
        let mut tx = self.begin_write().await?;
        if self.backend == Backend::Postgres {
            // The two watchers commit concurrently, and one may insert a transfer while the
            // other records its completion. Under READ COMMITTED neither sees the other's
            // uncommitted row, and the completion would be lost; so watch commits take turns,
            // as they do on SQLite, whose writers always do. Readers are not blocked, and no
            // other writer takes this lock.
            sqlx::query("LOCK TABLE completions IN SHARE ROW EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await?;
        }

        sqlx::query(
            "INSERT INTO cursors (chain, block, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (chain) DO UPDATE SET block = excluded.block, updated_at = excluded.updated_at",
        )
        .bind(chain)
        .bind(int("cursor", batch.to_block)?)
        .bind(now)
        .execute(&mut *tx)
        .await?;

        for block in &batch.blocks {
            sqlx::query(
                "INSERT INTO seen_blocks (chain, number, hash) VALUES ($1, $2, $3) \
                 ON CONFLICT (chain, number) DO UPDATE SET hash = excluded.hash",
            )
            .bind(chain)
            .bind(int("block number", block.number)?)
            .bind(hex::encode_prefixed(block.hash))
            .execute(&mut *tx)
            .await?;
        }
        if !batch.blocks.is_empty() {
            // Keep the newest rows rather than a window of numbers: the watcher may remember
            // only some blocks of each range, and it needs enough of them to look back.
            sqlx::query(
                "DELETE FROM seen_blocks WHERE chain = $1 AND number < \
                 (SELECT number FROM seen_blocks WHERE chain = $1 \
                  ORDER BY number DESC LIMIT 1 OFFSET $2)",
            )
            .bind(chain)
            .bind(i64::from(SEEN_BLOCKS_KEPT) - 1)
            .execute(&mut *tx)
            .await?;
        }

        for id in &batch.completed {
            sqlx::query(
                "INSERT INTO completions (transfer_id, recorded_at) VALUES ($1, $2) \
                 ON CONFLICT (transfer_id) DO NOTHING",
            )
            .bind(hex::encode_prefixed(id))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }

        for record in &batch.new_transfers {
            let inserted = insert_transfer(&mut tx, record).await?;
            if inserted {
                // its completion may have been seen first, by the other chain's watcher
                advance(&mut tx, record.id, TransferState::Completed, now, true).await?;
            }
        }

        insert_signatures(&mut tx, &batch.signatures).await?;
        for id in &batch.ready {
            advance(&mut tx, *id, TransferState::Ready, now, false).await?;
        }
        for id in &batch.completed {
            advance(&mut tx, *id, TransferState::Completed, now, false).await?;
            sqlx::query("DELETE FROM tries WHERE transfer_id = $1")
                .bind(hex::encode_prefixed(id))
                .execute(&mut *tx)
                .await?;
        }

        insert_fees(&mut tx, &batch.fees).await?;
        audit::insert_executions(&mut tx, &batch.executions).await?;
        audit::insert_votes(&mut tx, &batch.votes).await?;

        tx.commit().await?;
        self.commits
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        Ok(())
    }
}

impl Store {
    /// Stores withdrawal signatures and readiness read above the cursor, before their blocks
    /// are confirmed; the cursor does not move. Safe to take early because a signature is
    /// checked against its validator before it gets here and stays valid whatever becomes of
    /// the transaction that published it (validators sign only confirmed burns), and `ready`
    /// only moves a stored withdrawal forward: the release still needs the signatures.
    pub async fn commit_unconfirmed_signatures(
        &self,
        signatures: &[PublishedSignature],
        ready: &[B256],
    ) -> Result<(), StoreError> {
        if signatures.is_empty() && ready.is_empty() {
            return Ok(());
        }
        let now = unix_now();
        let mut tx = self.begin_write().await?;
        insert_signatures(&mut tx, signatures).await?;
        for id in ready {
            advance(&mut tx, *id, TransferState::Ready, now, false).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

async fn insert_signatures(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    signatures: &[PublishedSignature],
) -> Result<(), StoreError> {
    for signature in signatures {
        sqlx::query(
            "INSERT INTO signatures (transfer_id, validator, nonce, signature) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (transfer_id, validator, signature) DO NOTHING",
        )
        .bind(hex::encode_prefixed(signature.transfer_id))
        .bind(hex::encode_prefixed(signature.validator))
        .bind(int("nonce", signature.nonce)?)
        .bind(hex::encode_prefixed(&signature.signature))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

fn read_seen_block(r: &AnyRow) -> Result<SeenBlock, StoreError> {
    Ok(SeenBlock {
        number: read_u64(r, "number")?,
        hash: read_parsed(r, "hash")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{rpc::Classify, store::testing::*};

    async fn commit_watch_stores_a_range_with_its_cursor(store: Store) {
        assert_eq!(store.cursor(Chain::Main).await.expect("cursor"), None);
        let mut b = batch(Chain::Main, 42);
        let (one, two) = (
            record(1, Direction::Deposit, 7),
            record(2, Direction::Deposit, 8),
        );
        b.new_transfers = vec![one.clone(), two.clone()];
        b.fees = vec![fee(1, Chain::Main), fee(2, Chain::Main)];
        store.commit_watch(&b).await.expect("commit");

        assert_eq!(store.cursor(Chain::Main).await.expect("cursor"), Some(42));
        assert_eq!(store.cursor(Chain::Side).await.expect("cursor"), None);
        assert_eq!(
            store.transfer(one.id).await.expect("read"),
            Some(one.clone())
        );
        assert_eq!(store.transfer(two.id).await.expect("read"), Some(two));
        assert_eq!(store.transfer(id(9)).await.expect("read"), None);
        assert_eq!(
            store.fee_entries().await.expect("fees"),
            vec![fee(1, Chain::Main), fee(2, Chain::Main)]
        );
        assert_eq!(
            store
                .seen_blocks(Chain::Main, 0, 100)
                .await
                .expect("blocks"),
            b.blocks
        );

        // the text on disk is what the schema promises: lowercase 0x-hex and decimal
        let row = sqlx::query("SELECT id, token, amount FROM transfers WHERE nonce = 7")
            .fetch_one(&store.pool)
            .await
            .expect("raw row");
        let token: String = row.try_get("token").expect("token");
        assert_eq!(token, format!("0x{}", "ab".repeat(20)));
        let stored_id: String = row.try_get("id").expect("id");
        assert_eq!(stored_id, format!("0x{}", "01".repeat(32)));
        let amount: String = row.try_get("amount").expect("amount");
        assert_eq!(amount, one.transfer.amount.to_string());

        let mut next = batch(Chain::Main, 50);
        next.blocks.clear();
        store
            .commit_watch(&next)
            .await
            .expect("commit without blocks");
        assert_eq!(store.cursor(Chain::Main).await.expect("cursor"), Some(50));
    }

    async fn a_failed_commit_leaves_nothing_behind(store: Store) {
        store
            .commit_watch(&batch(Chain::Side, 10))
            .await
            .expect("commit");
        let mut bad = batch(Chain::Side, 20);
        let mut unstorable = record(2, Direction::Withdrawal, 2);
        unstorable.source_block = u64::MAX;
        bad.new_transfers = vec![record(1, Direction::Withdrawal, 1), unstorable];
        bad.completed = vec![id(3)];
        let err = store
            .commit_watch(&bad)
            .await
            .expect_err("cannot store u64::MAX");
        assert!(matches!(err, StoreError::OutOfRange { .. }), "{err}");
        assert!(!err.is_transient());
        // the cursor was written first in that transaction, and rolled back with the rest
        assert_eq!(store.cursor(Chain::Side).await.expect("cursor"), Some(10));
        assert_eq!(state_of(&store, 1).await, None);
        // nor was the completion remembered
        let mut later = batch(Chain::Side, 20);
        later.new_transfers = vec![record(3, Direction::Withdrawal, 3)];
        store.commit_watch(&later).await.expect("commit");
        assert_eq!(state_of(&store, 3).await, Some(TransferState::Observed));
    }

    async fn duplicate_transfers_are_ignored(store: Store) {
        let original = record(1, Direction::Deposit, 1);
        let mut b = batch(Chain::Main, 1);
        b.new_transfers = vec![original.clone(), original.clone()];
        store.commit_watch(&b).await.expect("commit");
        assert!(
            store
                .set_state(original.id, TransferState::Voted, 5)
                .await
                .expect("set")
        );

        let mut again = original.clone();
        again.transfer.amount = U256::from(1);
        again.state = TransferState::Observed;
        let mut b = batch(Chain::Main, 2);
        b.new_transfers = vec![again];
        store
            .commit_watch(&b)
            .await
            .expect("commit the same id again");

        let stored = store
            .transfer(original.id)
            .await
            .expect("read")
            .expect("stored");
        assert_eq!(
            stored.state,
            TransferState::Voted,
            "not reset by a re-insert"
        );
        assert_eq!(stored.transfer.amount, original.transfer.amount);
        assert_eq!(store.recent_transfers(10).await.expect("recent").len(), 1);
    }

    async fn a_completion_seen_first_is_not_lost(store: Store) {
        // the side watcher saw DepositExecuted before the main watcher saw Locked
        let mut side = batch(Chain::Side, 100);
        side.completed = vec![id(1)];
        store.commit_watch(&side).await.expect("commit completion");
        assert_eq!(state_of(&store, 1).await, None);

        let mut main = batch(Chain::Main, 50);
        main.new_transfers = vec![
            record(1, Direction::Deposit, 1),
            record(2, Direction::Deposit, 2),
        ];
        store.commit_watch(&main).await.expect("commit transfers");
        assert_eq!(state_of(&store, 1).await, Some(TransferState::Completed));
        assert_eq!(state_of(&store, 2).await, Some(TransferState::Observed));

        // and a completion of a stored transfer applies at once
        let mut side = batch(Chain::Side, 101);
        side.completed = vec![id(2)];
        store.commit_watch(&side).await.expect("commit completion");
        assert_eq!(state_of(&store, 2).await, Some(TransferState::Completed));
        let deposits = store
            .unfinished_transfers(Direction::Deposit, 10, 0)
            .await
            .expect("unfinished");
        assert!(deposits.is_empty());
    }

    async fn completions_racing_their_transfer_are_not_lost(store: Store) {
        // the two watchers commit at the same moment: one the transfer, one its completion
        for round in 0..40u8 {
            let n = round + 1;
            let mut main = batch(Chain::Main, u64::from(n));
            main.new_transfers = vec![record(n, Direction::Deposit, u64::from(n))];
            let mut side = batch(Chain::Side, u64::from(n));
            side.completed = vec![id(n)];
            let (a, b) = (store.clone(), store.clone());
            let (x, y) = tokio::join!(
                tokio::spawn(async move { a.commit_watch(&main).await }),
                tokio::spawn(async move { b.commit_watch(&side).await }),
            );
            x.expect("task").expect("commit transfer");
            y.expect("task").expect("commit completion");
            assert_eq!(
                state_of(&store, n).await,
                Some(TransferState::Completed),
                "round {round}"
            );
        }
    }

    async fn old_seen_blocks_are_pruned(store: Store) {
        let kept = u64::from(SEEN_BLOCKS_KEPT);
        let hash = |n: u64| B256::from(U256::from(n));
        for start in [1u64, 101, 201] {
            let mut b = batch(Chain::Main, start + 99);
            b.blocks = (start..start + 100)
                .map(|number| SeenBlock {
                    number,
                    hash: hash(number),
                })
                .collect();
            store.commit_watch(&b).await.expect("commit");
        }
        store
            .commit_watch(&batch(Chain::Side, 7))
            .await
            .expect("commit side");

        let latest = store
            .latest_seen_blocks(Chain::Main, 1_000)
            .await
            .expect("latest");
        assert_eq!(latest.len() as u64, kept);
        assert_eq!(latest[0].number, 300);
        assert_eq!(latest[0].hash, hash(300));
        assert_eq!(latest.last().map(|b| b.number), Some(300 - kept + 1));
        assert!(latest.windows(2).all(|w| w[0].number > w[1].number));
        let oldest_kept = 300 - kept + 1;
        assert!(
            store
                .seen_blocks(Chain::Main, 0, oldest_kept - 1)
                .await
                .expect("pruned")
                .is_empty()
        );
        let window = store
            .seen_blocks(Chain::Main, oldest_kept, oldest_kept + 2)
            .await
            .expect("window");
        assert_eq!(
            window.iter().map(|b| b.number).collect::<Vec<_>>(),
            [oldest_kept, oldest_kept + 1, oldest_kept + 2]
        );
        assert_eq!(
            store
                .latest_seen_blocks(Chain::Side, 10)
                .await
                .expect("other chain untouched")
                .len(),
            1
        );
        assert_eq!(
            store
                .latest_seen_blocks(Chain::Main, 2)
                .await
                .expect("limit")
                .len(),
            2
        );
    }

    on_both_backends!(
        commit_watch_stores_a_range_with_its_cursor,
        a_failed_commit_leaves_nothing_behind,
        duplicate_transfers_are_ignored,
        a_completion_seen_first_is_not_lost,
        completions_racing_their_transfer_are_not_lost,
        old_seen_blocks_are_pruned,
    );
}
