//! The audit's memory: what the destination bridges accepted (mints, releases, queued
//! transfers), the deposit votes every validator cast, and the alarms raised when either is not
//! the transfer this relayer saw at the source.
//!
//! The comparison runs in SQL, incrementally: an execution is compared once the transfer at its
//! nonce is known (then marked `audited`), a vote once the deposit at its nonce is known (then
//! deleted). Nothing is compared twice, so a round costs what arrived since the last one.

use alloy::primitives::{Address, B256, hex};
use sqlx::{Any, Transaction, any::AnyRow};

use super::{Backend, Store, StoreError, int, read_parsed, read_u64};
use crate::domain::{Alarm, AlarmKind, DepositVote, Direction, Execution};

const ALARM_COLUMNS: &str =
    "kind, direction, nonce, expected_id, seen_id, actor, tx_hash, raised_at";
const ZERO: &str = "0x0000000000000000000000000000000000000000000000000000000000000000";
const ZERO_ADDRESS: &str = "0x0000000000000000000000000000000000000000";

pub(super) async fn insert_executions(
    tx: &mut Transaction<'static, Any>,
    executions: &[Execution],
) -> Result<(), StoreError> {
    for e in executions {
        sqlx::query(
            "INSERT INTO executions (direction, nonce, transfer_id, queued, tx_hash, block, audited) \
             VALUES ($1, $2, $3, $4, $5, $6, 0) \
             ON CONFLICT (direction, nonce, transfer_id, queued) DO NOTHING",
        )
        .bind(e.direction.as_str())
        .bind(int("nonce", e.nonce)?)
        .bind(hex::encode_prefixed(e.transfer_id))
        .bind(i64::from(e.queued))
        .bind(hex::encode_prefixed(e.tx_hash))
        .bind(int("block number", e.block)?)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub(super) async fn insert_votes(
    tx: &mut Transaction<'static, Any>,
    votes: &[DepositVote],
) -> Result<(), StoreError> {
    for v in votes {
        sqlx::query(
            "INSERT INTO deposit_votes (nonce, transfer_id, validator, tx_hash) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (transfer_id, validator) DO NOTHING",
        )
        .bind(int("nonce", v.nonce)?)
        .bind(hex::encode_prefixed(v.transfer_id))
        .bind(hex::encode_prefixed(v.validator))
        .bind(hex::encode_prefixed(v.tx_hash))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

fn read_alarm(r: &AnyRow) -> Result<Alarm, StoreError> {
    Ok(Alarm {
        kind: read_parsed(r, "kind")?,
        direction: read_parsed(r, "direction")?,
        nonce: read_u64(r, "nonce")?,
        expected_id: read_parsed(r, "expected_id")?,
        seen_id: read_parsed(r, "seen_id")?,
        actor: read_parsed::<Address>(r, "actor")?,
        tx_hash: read_parsed(r, "tx_hash")?,
        raised_at: sqlx::Row::try_get::<i64, _>(r, "raised_at")?,
    })
}

impl Store {
    /// How many watch batches this process committed so far (a change means there may be
    /// something new to audit).
    pub fn watch_commits(&self) -> u64 {
        self.commits.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Directions with executions not compared yet because no transfer is known at their
    /// nonce: the caller reads those source bridges' outbound nonce for [`Store::audit`].
    pub async fn unaudited_directions(&self) -> Result<Vec<Direction>, StoreError> {
        let rows = sqlx::query("SELECT DISTINCT direction FROM executions WHERE audited = 0")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| read_parsed(r, "direction")).collect()
    }

    /// Compares what arrived since the last audit and returns the alarms newly raised:
    /// - a forgery for every execution whose content differs from the transfer seen at its
    ///   nonce, or whose nonce the source bridge has not reached (`outbound` gives the source's
    ///   next nonce per direction; a direction left out is not judged on that count);
    /// - a vote conflict for every deposit vote whose content differs from the deposit seen.
    ///
    /// One transaction that takes turns with the watchers' commits, so no execution or vote
    /// arriving meanwhile is marked compared without having been.
    pub async fn audit(
        &self,
        now: i64,
        outbound: &[(Direction, u64)],
    ) -> Result<Vec<Alarm>, StoreError> {
        let mut tx = self.begin_write().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("LOCK TABLE completions IN SHARE ROW EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await?;
        }
        let mut raised = Vec::new();

        let sql = format!(
            "INSERT INTO alarms ({ALARM_COLUMNS}, cleared_at) \
             SELECT CAST($1 AS TEXT), e.direction, e.nonce, t.id, e.transfer_id, CAST($2 AS TEXT), e.tx_hash, CAST($3 AS BIGINT), 0 \
             FROM executions e JOIN transfers t ON t.direction = e.direction AND t.nonce = e.nonce \
             WHERE e.audited = 0 AND t.id <> e.transfer_id \
             ON CONFLICT (kind, direction, nonce, seen_id, actor) DO NOTHING \
             RETURNING {ALARM_COLUMNS}"
        );
        let rows = sqlx::query(&sql)
            .bind(AlarmKind::Forgery.as_str())
            .bind(ZERO_ADDRESS)
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
        for row in &rows {
            raised.push(read_alarm(row)?);
        }

        for (direction, next_nonce) in outbound {
            let sql = format!(
                "INSERT INTO alarms ({ALARM_COLUMNS}, cleared_at) \
                 SELECT CAST($1 AS TEXT), e.direction, e.nonce, CAST($2 AS TEXT), e.transfer_id, \
                 CAST($3 AS TEXT), e.tx_hash, CAST($4 AS BIGINT), 0 \
                 FROM executions e \
                 WHERE e.audited = 0 AND e.direction = $5 AND e.nonce >= $6 AND NOT EXISTS \
                 (SELECT 1 FROM transfers t WHERE t.direction = e.direction AND t.nonce = e.nonce) \
                 ON CONFLICT (kind, direction, nonce, seen_id, actor) DO NOTHING \
                 RETURNING {ALARM_COLUMNS}"
            );
            let rows = sqlx::query(&sql)
                .bind(AlarmKind::Forgery.as_str())
                .bind(ZERO)
                .bind(ZERO_ADDRESS)
                .bind(now)
                .bind(direction.as_str())
                .bind(int("nonce", *next_nonce)?)
                .fetch_all(&mut *tx)
                .await?;
            for row in &rows {
                raised.push(read_alarm(row)?);
            }
            sqlx::query(
                "UPDATE executions SET audited = 1 \
                 WHERE audited = 0 AND direction = $1 AND nonce >= $2",
            )
            .bind(direction.as_str())
            .bind(int("nonce", *next_nonce)?)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "UPDATE executions SET audited = 1 WHERE audited = 0 AND EXISTS \
             (SELECT 1 FROM transfers t \
              WHERE t.direction = executions.direction AND t.nonce = executions.nonce)",
        )
        .execute(&mut *tx)
        .await?;

        let sql = format!(
            "INSERT INTO alarms ({ALARM_COLUMNS}, cleared_at) \
             SELECT CAST($1 AS TEXT), CAST($2 AS TEXT), v.nonce, t.id, v.transfer_id, v.validator, \
             v.tx_hash, CAST($3 AS BIGINT), 0 \
             FROM deposit_votes v JOIN transfers t ON t.direction = $2 AND t.nonce = v.nonce \
             WHERE t.id <> v.transfer_id \
             ON CONFLICT (kind, direction, nonce, seen_id, actor) DO NOTHING \
             RETURNING {ALARM_COLUMNS}"
        );
        let rows = sqlx::query(&sql)
            .bind(AlarmKind::VoteConflict.as_str())
            .bind(Direction::Deposit.as_str())
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
        for row in &rows {
            raised.push(read_alarm(row)?);
        }
        sqlx::query(
            "DELETE FROM deposit_votes WHERE EXISTS (SELECT 1 FROM transfers t \
             WHERE t.direction = $1 AND t.nonce = deposit_votes.nonce)",
        )
        .bind(Direction::Deposit.as_str())
        .execute(&mut *tx)
        .await?;

        tx.commit().await?;
        raised.sort_by_key(|a| (a.kind.as_str(), a.direction.as_str(), a.nonce));
        Ok(raised)
    }

    /// Alarms not cleared by an operator (or all of them), oldest first.
    pub async fn alarms(&self, include_cleared: bool) -> Result<Vec<Alarm>, StoreError> {
        let filter = if include_cleared {
            ""
        } else {
            "WHERE cleared_at = 0"
        };
        let sql = format!(
            "SELECT {ALARM_COLUMNS} FROM alarms {filter} ORDER BY raised_at, direction, nonce"
        );
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(read_alarm).collect()
    }

    /// How many alarms of each kind were ever raised, per direction.
    pub async fn alarm_totals(&self) -> Result<Vec<(AlarmKind, Direction, u64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, direction, COUNT(*) AS n FROM alarms GROUP BY kind, direction",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    read_parsed(r, "kind")?,
                    read_parsed(r, "direction")?,
                    read_u64(r, "n")?,
                ))
            })
            .collect()
    }

    /// Marks every open alarm cleared (the operator has looked); returns how many.
    pub async fn clear_alarms(&self, now: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("UPDATE alarms SET cleared_at = $1 WHERE cleared_at = 0")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Deposit votes kept for a later comparison (tests and `relayer status`).
    pub async fn pending_vote_count(&self) -> Result<u64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM deposit_votes")
            .fetch_one(&self.pool)
            .await?;
        read_u64(&row, "n")
    }
}

/// An id for alarm messages: the zero id means no transfer exists at the nonce.
pub fn describe_id(id: B256) -> String {
    if id.is_zero() {
        "none (nonce never used at the source)".to_string()
    } else {
        id.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::*;

    /// Executions are compared with the transfer at their nonce whichever arrives first;
    /// matching ones raise nothing, a different content raises one forgery, once.
    async fn audit_compares_executions_with_the_transfer_at_their_nonce(store: Store) {
        let mut side = batch(Chain::Side, 10);
        side.executions = vec![
            execution(Direction::Deposit, 0, 1, false), // honest
            execution(Direction::Deposit, 1, 9, false), // forged: transfer 2 was locked at 1
            execution(Direction::Deposit, 2, 3, true),  // honest, queued
        ];
        store.commit_watch(&side).await.expect("commit side");
        // nothing known at the source yet: nothing judged
        assert!(store.audit(100, &[]).await.expect("audit").is_empty());
        assert_eq!(
            store.unaudited_directions().await.expect("dirs"),
            vec![Direction::Deposit]
        );

        let mut main = batch(Chain::Main, 20);
        main.new_transfers = vec![
            record(1, Direction::Deposit, 0),
            record(2, Direction::Deposit, 1),
            record(3, Direction::Deposit, 2),
        ];
        store.commit_watch(&main).await.expect("commit main");
        let raised = store.audit(200, &[]).await.expect("audit");
        assert_eq!(raised.len(), 1, "{raised:?}");
        let alarm = &raised[0];
        assert_eq!(alarm.kind, AlarmKind::Forgery);
        assert_eq!((alarm.direction, alarm.nonce), (Direction::Deposit, 1));
        assert_eq!((alarm.expected_id, alarm.seen_id), (id(2), id(9)));
        assert_eq!(alarm.tx_hash, B256::repeat_byte(0x79));
        assert_eq!(alarm.raised_at, 200);
        assert!(store.unaudited_directions().await.expect("dirs").is_empty());

        // the same event seen again (a re-read range) raises nothing new
        store.commit_watch(&side).await.expect("commit again");
        assert!(store.audit(300, &[]).await.expect("audit").is_empty());
        assert_eq!(store.alarms(false).await.expect("alarms").len(), 1);
        assert_eq!(
            store.alarm_totals().await.expect("totals"),
            vec![(AlarmKind::Forgery, Direction::Deposit, 1)]
        );
    }

    /// An execution at a nonce the source bridge has not reached is a forgery at once; one at
    /// a nonce the source has reached but this relayer has not seen yet waits.
    async fn audit_flags_executions_beyond_the_source_nonce(store: Store) {
        let mut main = batch(Chain::Main, 10);
        main.executions = vec![
            execution(Direction::Withdrawal, 3, 4, false),
            execution(Direction::Withdrawal, 7, 5, false),
        ];
        store.commit_watch(&main).await.expect("commit");
        let raised = store
            .audit(100, &[(Direction::Withdrawal, 5)])
            .await
            .expect("audit");
        assert_eq!(raised.len(), 1, "{raised:?}");
        assert_eq!(raised[0].nonce, 7);
        assert_eq!(raised[0].expected_id, B256::ZERO);
        assert_eq!(raised[0].seen_id, id(5));
        // nonce 3 is below the source's next nonce: it waits for its Burned
        assert_eq!(
            store.unaudited_directions().await.expect("dirs"),
            vec![Direction::Withdrawal]
        );
        let mut side = batch(Chain::Side, 30);
        side.new_transfers.push(record(4, Direction::Withdrawal, 3));
        store.commit_watch(&side).await.expect("commit");
        assert!(store.audit(200, &[]).await.expect("audit").is_empty());
        assert!(store.unaudited_directions().await.expect("dirs").is_empty());
    }

    /// Each validator's vote for other content than the deposit seen is one conflict; matching
    /// votes are dropped once compared.
    async fn audit_raises_one_conflict_per_validator_and_content(store: Store) {
        let mut side = batch(Chain::Side, 10);
        side.votes = vec![
            vote(0, 1, 0xA1),
            vote(0, 8, 0xA2), // junk at a live nonce
            vote(5, 9, 0xA2), // a pre-vote for a future nonce
            vote(0, 1, 0xA3),
        ];
        store.commit_watch(&side).await.expect("commit");
        assert_eq!(store.pending_vote_count().await.expect("count"), 4);
        let mut main = batch(Chain::Main, 20);
        main.new_transfers = vec![record(1, Direction::Deposit, 0)];
        store.commit_watch(&main).await.expect("commit");
        let raised = store.audit(100, &[]).await.expect("audit");
        assert_eq!(raised.len(), 1, "{raised:?}");
        assert_eq!(raised[0].kind, AlarmKind::VoteConflict);
        assert_eq!(raised[0].actor, Address::repeat_byte(0xA2));
        assert_eq!((raised[0].expected_id, raised[0].seen_id), (id(1), id(8)));
        assert_eq!(
            store.pending_vote_count().await.expect("count"),
            1,
            "the pre-vote waits"
        );

        // the future nonce is used by honest content: the pre-vote is a conflict too
        let mut main = batch(Chain::Main, 21);
        main.new_transfers = vec![record(2, Direction::Deposit, 5)];
        store.commit_watch(&main).await.expect("commit");
        let raised = store.audit(200, &[]).await.expect("audit");
        assert_eq!(raised.len(), 1);
        assert_eq!((raised[0].nonce, raised[0].seen_id), (5, id(9)));
        assert_eq!(store.pending_vote_count().await.expect("count"), 0);
        // conflicts are open until cleared, forgeries none
        assert_eq!(store.alarms(false).await.expect("alarms").len(), 2);
        assert_eq!(store.clear_alarms(300).await.expect("clear"), 2);
        assert!(store.alarms(false).await.expect("alarms").is_empty());
        assert_eq!(store.alarms(true).await.expect("alarms").len(), 2);
    }

    on_both_backends!(
        audit_compares_executions_with_the_transfer_at_their_nonce,
        audit_flags_executions_beyond_the_source_nonce,
        audit_raises_one_conflict_per_validator_and_content,
    );
}
