//! Parking: how often this relayer acted on a transfer without it moving on, and when it may
//! act again. The first [`FREE_TRIES`] tries of one kind of action are free (a release can lose
//! a race, a node can drop a transaction); each later one waits twice as long as the one
//! before, from [`FIRST_PAUSE`] up to [`LONGEST_PAUSE`]. A parked transfer is left out of the
//! planner's window (see `transfers.rs`), so a thousand transfers that can never land take no
//! room from the ones behind them. The row goes when the transfer completes.

use alloy::primitives::{B256, hex};

use super::{Store, StoreError};
use crate::domain::TxKind;

/// Tries of one kind before the pauses start.
pub const FREE_TRIES: i64 = 2;
/// The pause after the first try beyond the free ones, in seconds.
pub const FIRST_PAUSE: i64 = 30;
/// The longest pause, in seconds.
pub const LONGEST_PAUSE: i64 = 3_600;

/// When a transfer tried `count` times may be tried again.
pub fn next_try(count: i64, now: i64) -> i64 {
    if count <= FREE_TRIES {
        return now;
    }
    let doublings = (count - FREE_TRIES - 1).min(20) as u32;
    now + FIRST_PAUSE
        .saturating_mul(1 << doublings)
        .min(LONGEST_PAUSE)
}

impl Store {
    /// Counts one more try of `kind` for each transfer (a try of another kind starts the count
    /// again) and sets when each may be tried next. Returns the transfers that are parked now,
    /// with their count and pause in seconds.
    pub async fn record_tries(
        &self,
        tries: &[(B256, TxKind)],
        reason: &str,
        now: i64,
    ) -> Result<Vec<(B256, i64, i64)>, StoreError> {
        if tries.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin_write().await?;
        let mut parked = Vec::new();
        for (id, kind) in tries {
            let key = hex::encode_prefixed(id);
            let before: Option<(String, i64)> =
                sqlx::query_as("SELECT kind, count FROM tries WHERE transfer_id = $1")
                    .bind(&key)
                    .fetch_optional(&mut *tx)
                    .await?;
            let count = match before {
                Some((k, n)) if k == kind.as_str() => n + 1,
                _ => 1,
            };
            let next_at = next_try(count, now);
            sqlx::query(
                "INSERT INTO tries (transfer_id, kind, count, next_at, reason) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (transfer_id) DO UPDATE SET \
                 kind = excluded.kind, count = excluded.count, next_at = excluded.next_at, \
                 reason = excluded.reason",
            )
            .bind(&key)
            .bind(kind.as_str())
            .bind(count)
            .bind(next_at)
            .bind(reason)
            .execute(&mut *tx)
            .await?;
            if next_at > now {
                parked.push((*id, count, next_at - now));
            }
        }
        tx.commit().await?;
        Ok(parked)
    }

    /// Unfinished transfers parked at `now`, by direction: `(deposits, withdrawals)`.
    pub async fn parked_counts(&self, now: i64) -> Result<(i64, i64), StoreError> {
        let rows = sqlx::query(
            "SELECT t.direction, COUNT(*) AS n FROM tries p JOIN transfers t ON t.id = p.transfer_id \
             WHERE p.next_at > $1 AND t.state <> 'completed' GROUP BY t.direction",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        let mut counts = (0, 0);
        for row in &rows {
            let direction: String = sqlx::Row::try_get(row, "direction")?;
            let n: i64 = sqlx::Row::try_get(row, "n")?;
            match direction.as_str() {
                "deposit" => counts.0 = n,
                _ => counts.1 = n,
            }
        }
        Ok(counts)
    }

    /// How often a transfer was tried and when it may be tried next: `(kind, count, next_at)`.
    pub async fn tries_of(&self, id: B256) -> Result<Option<(String, i64, i64)>, StoreError> {
        Ok(
            sqlx::query_as("SELECT kind, count, next_at FROM tries WHERE transfer_id = $1")
                .bind(hex::encode_prefixed(id))
                .fetch_optional(&self.pool)
                .await?,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::*;

    #[test]
    fn two_free_tries_then_pauses_that_double_up_to_an_hour() {
        assert_eq!(next_try(1, 100), 100);
        assert_eq!(next_try(2, 100), 100);
        assert_eq!(next_try(3, 100), 130);
        assert_eq!(next_try(4, 100), 160);
        assert_eq!(next_try(5, 100), 220);
        assert_eq!(next_try(10, 100), 100 + 3_600);
        assert_eq!(next_try(i64::MAX, 100), 100 + 3_600);
    }

    async fn tries_are_counted_by_kind_and_parked_transfers_leave_the_window(store: Store) {
        let mut burns = batch(Chain::Side, 10);
        for n in 0..4u8 {
            burns
                .new_transfers
                .push(record(n, Direction::Withdrawal, u64::from(n)));
        }
        store.commit_watch(&burns).await.expect("commit");
        let window = |now| {
            let store = store.clone();
            async move {
                store
                    .active_transfers(Direction::Withdrawal, 2, now)
                    .await
                    .expect("window")
                    .iter()
                    .map(|r| r.nonce())
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(window(1_000).await, vec![0, 1]);

        // nonces 0 and 1 keep failing: two free tries, then parked
        let failing = [(id(0), TxKind::Release), (id(1), TxKind::Release)];
        for _ in 0..2 {
            let parked = store
                .record_tries(&failing, "skipped", 1_000)
                .await
                .expect("try");
            assert!(parked.is_empty());
        }
        assert_eq!(window(1_000).await, vec![0, 1]);
        let parked = store
            .record_tries(&failing, "skipped", 1_000)
            .await
            .expect("try");
        assert_eq!(parked, vec![(id(0), 3, 30), (id(1), 3, 30)]);
        // the two behind them get the window; the parked come back when their pause ends
        assert_eq!(window(1_000).await, vec![2, 3]);
        assert_eq!(store.parked_counts(1_000).await.expect("counts"), (0, 2));
        assert_eq!(window(1_030).await, vec![0, 1]);
        assert_eq!(
            store.tries_of(id(0)).await.expect("tries"),
            Some(("release".to_string(), 3, 1_030))
        );

        // another kind of action starts the count again
        store
            .record_tries(&[(id(0), TxKind::ExecuteQueuedRelease)], "queued", 1_030)
            .await
            .expect("try");
        assert_eq!(
            store.tries_of(id(0)).await.expect("tries").map(|t| t.1),
            Some(1)
        );

        // completion removes the row
        let mut done = batch(Chain::Main, 20);
        done.completed.push(id(1));
        store.commit_watch(&done).await.expect("commit");
        assert_eq!(store.tries_of(id(1)).await.expect("tries"), None);
        assert_eq!(store.parked_counts(1_030).await.expect("counts"), (0, 0));
        assert_eq!(state_of(&store, 1).await, Some(TransferState::Completed));
    }

    on_both_backends!(tries_are_counted_by_kind_and_parked_transfers_leave_the_window);
}
