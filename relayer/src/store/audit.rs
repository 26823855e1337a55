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
