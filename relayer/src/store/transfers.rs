//! Transfers and where they stand: the forward-only state machine (`Observed < Voted < Ready <
//! Completed`, moved by a compare-and-set in the `UPDATE` itself), the queries the planner and
//! the API read, and the withdrawal signatures validators published.

use std::collections::HashMap;

use alloy::primitives::{B256, hex};
use sidebridge_contracts::Transfer;
use sqlx::{Any, AnyConnection, Row, Transaction, any::AnyRow};

use super::{Store, StoreError, corrupt, int, read_parsed, read_text, read_u64};
use crate::domain::{Direction, PublishedSignature, TransferRecord, TransferState};

/// The condition that leaves out transfer `t` while it is parked at the time bound to
/// parameter `$now`.
fn not_parked(now: u8) -> String {
    format!("NOT EXISTS (SELECT 1 FROM tries p WHERE p.transfer_id = t.id AND p.next_at > ${now})")
}

const TRANSFER_COLUMNS: &str = "id, direction, src_chain_id, dst_chain_id, nonce, token, sender, \
     recipient, amount, fee, source_block, source_tx, state, created_at, updated_at, source_time, \
     source_hash, src_bridge, dst_bridge";

impl Store {
    pub async fn transfer(&self, id: B256) -> Result<Option<TransferRecord>, StoreError> {
        let sql = format!("SELECT {TRANSFER_COLUMNS} FROM transfers WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(hex::encode_prefixed(id))
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(read_transfer).transpose()
    }

    /// Transfers of one direction in one state, lowest nonce first.
    pub async fn transfers_in_state(
        &self,
        direction: Direction,
        state: TransferState,
        limit: u32,
    ) -> Result<Vec<TransferRecord>, StoreError> {
        let sql = format!(
            "SELECT {TRANSFER_COLUMNS} FROM transfers WHERE direction = $1 AND state = $2 \
             ORDER BY nonce, id LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(direction.as_str())
            .bind(state.as_str())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(read_transfer).collect()
    }

    /// Transfers of one direction not yet completed and not parked at `now` (see
    /// `tries.rs`), lowest nonce first.
    pub async fn unfinished_transfers(
        &self,
        direction: Direction,
        limit: u32,
        now: i64,
    ) -> Result<Vec<TransferRecord>, StoreError> {
        let sql = format!(
            "SELECT {TRANSFER_COLUMNS} FROM transfers t WHERE direction = $1 AND state <> $2 \
             AND {} ORDER BY nonce, id LIMIT $3",
            not_parked(4)
        );
        let rows = sqlx::query(&sql)
            .bind(direction.as_str())
            .bind(TransferState::Completed.as_str())
            .bind(i64::from(limit))
            .bind(now)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(read_transfer).collect()
    }

    /// The unfinished transfers of `direction` that may need this validator now, lowest nonce
    /// first: those it has not acted on (`observed`), withdrawals with enough signatures
    /// (`ready`), and any the destination queued (their delay may have passed). A transfer
    /// this validator voted for and that waits on the others is left out, so a backlog of
    /// those does not fill a round's window; [`Self::unfinished_transfers`] still sees them
    /// (the planner sweeps them now and then, for what a validator-set change may require).
    /// Transfers parked at `now` are left out, so they never hold up the ones behind them.
    pub async fn active_transfers(
        &self,
        direction: Direction,
        limit: u32,
        now: i64,
    ) -> Result<Vec<TransferRecord>, StoreError> {
        let sql = format!(
            "SELECT {TRANSFER_COLUMNS} FROM transfers t WHERE t.direction = $1 AND \
             (t.state IN ($2, $3) OR (t.state = $4 AND EXISTS (SELECT 1 FROM executions e \
              WHERE e.direction = t.direction AND e.nonce = t.nonce AND e.transfer_id = t.id \
              AND e.queued = 1))) AND {} \
             ORDER BY t.nonce, t.id LIMIT $5",
            not_parked(6)
        );
        let rows = sqlx::query(&sql)
            .bind(direction.as_str())
            .bind(TransferState::Observed.as_str())
            .bind(TransferState::Ready.as_str())
            .bind(TransferState::Voted.as_str())
            .bind(i64::from(limit))
            .bind(now)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(read_transfer).collect()
    }

    /// The most recently stored transfers of both directions, newest first.
    pub async fn recent_transfers(&self, limit: u32) -> Result<Vec<TransferRecord>, StoreError> {
        let sql = format!(
            "SELECT {TRANSFER_COLUMNS} FROM transfers \
             ORDER BY created_at DESC, source_block DESC, nonce DESC, id DESC LIMIT $1"
        );
        let rows = sqlx::query(&sql)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(read_transfer).collect()
    }

    /// Moves a transfer to `to` if that is forward from where it stands. Returns whether it
    /// moved: `false` for an unknown id, or one already at or past `to`.
    pub async fn set_state(
        &self,
        id: B256,
        to: TransferState,
        now: i64,
    ) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await?;
        advance(&mut conn, id, to, now, false).await
    }

    /// [`Self::set_state`] for many transfers in one transaction; returns how many moved.
    pub async fn set_states(
        &self,
        changes: &[(B256, TransferState)],
        now: i64,
    ) -> Result<usize, StoreError> {
        if changes.is_empty() {
            return Ok(0);
        }
        let mut tx = self.begin_write().await?;
        let mut moved = 0;
        for (id, to) in changes {
            moved += usize::from(advance(&mut tx, *id, *to, now, false).await?);
        }
        tx.commit().await?;
        Ok(moved)
    }

    /// How many transfers stand in each (direction, state); pairs with none are left out.
    pub async fn count_by_state(&self) -> Result<Vec<(Direction, TransferState, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT direction, state, COUNT(*) AS n FROM transfers \
             GROUP BY direction, state ORDER BY direction, state",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    read_parsed(r, "direction")?,
                    read_parsed(r, "state")?,
                    r.try_get::<i64, _>("n")?,
                ))
            })
            .collect()
    }

    /// Signatures published for many withdrawals, by transfer id: one query per 500 ids.
    pub async fn signatures_for(
        &self,
        transfer_ids: &[B256],
    ) -> Result<HashMap<B256, Vec<PublishedSignature>>, StoreError> {
        let mut out: HashMap<B256, Vec<PublishedSignature>> = HashMap::new();
        for chunk in transfer_ids.chunks(500) {
            let list = (1..=chunk.len())
                .map(|i| format!("${i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "SELECT transfer_id, validator, nonce, signature FROM signatures \
                 WHERE transfer_id IN ({list})"
            );
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(hex::encode_prefixed(id));
            }
            for row in query.fetch_all(&self.pool).await? {
                let signature = read_signature(&row)?;
                out.entry(signature.transfer_id)
                    .or_default()
                    .push(signature);
            }
        }
        for signatures in out.values_mut() {
            signatures
                .sort_by(|a, b| (a.validator, &a.signature).cmp(&(b.validator, &b.signature)));
        }
        Ok(out)
    }

    /// Signatures published for a withdrawal, as published (not checked: a release recovers
    /// each before using it), by ascending validator address (the order `MainBridge.release`
    /// wants them in); a validator may have several if a node lied about one.
    pub async fn signatures(
        &self,
        transfer_id: B256,
    ) -> Result<Vec<PublishedSignature>, StoreError> {
        let rows = sqlx::query(
            "SELECT transfer_id, validator, nonce, signature FROM signatures \
             WHERE transfer_id = $1 ORDER BY validator",
        )
        .bind(hex::encode_prefixed(transfer_id))
        .fetch_all(&self.pool)
        .await?;
        let mut signatures = rows
            .iter()
            .map(read_signature)
            .collect::<Result<Vec<_>, StoreError>>()?;
        // ORDER BY compares text under the server's collation; byte order is what counts
        signatures.sort_by(|a, b| (a.validator, &a.signature).cmp(&(b.validator, &b.signature)));
        Ok(signatures)
    }
}

/// The forward-only compare-and-set behind every state change: the row moves to `to` only if
/// it stands at a state before `to`, checked by the `UPDATE` itself so concurrent writers
/// cannot interleave a read and a write. With `if_completed`, it moves only if the id is
/// among the recorded completions. Returns whether the row moved.
pub(super) async fn advance(
    conn: &mut AnyConnection,
    id: B256,
    to: TransferState,
    now: i64,
    if_completed: bool,
) -> Result<bool, StoreError> {
    let earlier: Vec<&'static str> = TransferState::ALL
        .into_iter()
        .filter(|s| *s < to)
        .map(TransferState::as_str)
        .collect();
    if earlier.is_empty() {
        return Ok(false);
    }
    let list = (0..earlier.len())
        .map(|i| format!("${}", i + 4))
        .collect::<Vec<_>>()
        .join(", ");
    let mut sql = format!(
        "UPDATE transfers SET state = $1, updated_at = $2 WHERE id = $3 AND state IN ({list})"
    );
    if if_completed {
        sql.push_str(" AND EXISTS (SELECT 1 FROM completions WHERE transfer_id = $3)");
    }
    let mut query = sqlx::query(&sql)
        .bind(to.as_str())
        .bind(now)
        .bind(hex::encode_prefixed(id));
    for state in earlier {
        query = query.bind(state);
    }
    let done = query.execute(&mut *conn).await?;
    Ok(done.rows_affected() > 0)
}

/// Inserts a transfer unless its id is stored. Returns whether it was inserted.
pub(super) async fn insert_transfer(
    tx: &mut Transaction<'static, Any>,
    r: &TransferRecord,
) -> Result<bool, StoreError> {
    let t = &r.transfer;
    let sql = format!(
        "INSERT INTO transfers ({TRANSFER_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) \
         ON CONFLICT (id) DO NOTHING"
    );
    let done = sqlx::query(&sql)
        .bind(hex::encode_prefixed(r.id))
        .bind(r.direction.as_str())
        .bind(t.srcChainId.to_string())
        .bind(t.dstChainId.to_string())
        .bind(int("nonce", t.nonce)?)
        .bind(hex::encode_prefixed(t.token))
        .bind(hex::encode_prefixed(t.sender))
        .bind(hex::encode_prefixed(t.recipient))
        .bind(t.amount.to_string())
        .bind(r.fee.to_string())
        .bind(int("block number", r.source_block)?)
        .bind(hex::encode_prefixed(r.source_tx))
        .bind(r.state.as_str())
        .bind(r.created_at)
        .bind(r.updated_at)
        .bind(r.source_time)
        .bind(if r.source_hash.is_zero() {
            String::new()
        } else {
            hex::encode_prefixed(r.source_hash)
        })
        .bind(hex::encode_prefixed(t.srcBridge))
        .bind(hex::encode_prefixed(t.dstBridge))
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) fn read_transfer(r: &AnyRow) -> Result<TransferRecord, StoreError> {
    Ok(TransferRecord {
        id: read_parsed(r, "id")?,
        direction: read_parsed(r, "direction")?,
        transfer: Transfer {
            srcChainId: read_parsed(r, "src_chain_id")?,
            srcBridge: read_parsed(r, "src_bridge")?,
            dstChainId: read_parsed(r, "dst_chain_id")?,
            dstBridge: read_parsed(r, "dst_bridge")?,
            nonce: read_u64(r, "nonce")?,
            token: read_parsed(r, "token")?,
            sender: read_parsed(r, "sender")?,
            recipient: read_parsed(r, "recipient")?,
            amount: read_parsed(r, "amount")?,
        },
        fee: read_parsed(r, "fee")?,
        source_block: read_u64(r, "source_block")?,
        source_tx: read_parsed(r, "source_tx")?,
        source_hash: match read_text(r, "source_hash")?.as_str() {
            "" => B256::ZERO,
            _ => read_parsed(r, "source_hash")?,
        },
        source_time: r.try_get::<i64, _>("source_time")?,
        state: read_parsed(r, "state")?,
        created_at: r.try_get::<i64, _>("created_at")?,
        updated_at: r.try_get::<i64, _>("updated_at")?,
    })
}

fn read_signature(r: &AnyRow) -> Result<PublishedSignature, StoreError> {
    let text = read_text(r, "signature")?;
    let signature = hex::decode(&text).map_err(|e| corrupt("signature", &text, e))?;
    Ok(PublishedSignature {
        transfer_id: read_parsed(r, "transfer_id")?,
        nonce: read_u64(r, "nonce")?,
        validator: read_parsed(r, "validator")?,
        signature,
    })
}

#[cfg(test)]
mod tests {
    use crate::store::testing::*;

    async fn ready_moves_withdrawals_forward_only(store: Store) {
        let mut b = batch(Chain::Side, 1);
        b.new_transfers = vec![
            record(1, Direction::Withdrawal, 1),
            record(2, Direction::Withdrawal, 2),
        ];
        store.commit_watch(&b).await.expect("commit");
        store
            .set_state(id(2), TransferState::Completed, 9)
            .await
            .expect("complete");

        let mut b = batch(Chain::Side, 2);
        b.ready = vec![id(1), id(2), id(3)];
        store.commit_watch(&b).await.expect("commit ready");
        assert_eq!(state_of(&store, 1).await, Some(TransferState::Ready));
        assert_eq!(state_of(&store, 2).await, Some(TransferState::Completed));
        assert_eq!(state_of(&store, 3).await, None);
        let ready = store
            .transfers_in_state(Direction::Withdrawal, TransferState::Ready, 10)
            .await
            .expect("ready");
        assert_eq!(ready.iter().map(|r| r.id).collect::<Vec<_>>(), [id(1)]);
    }

    async fn set_state_never_moves_backwards(store: Store) {
        let mut b = batch(Chain::Main, 1);
        b.new_transfers = vec![record(1, Direction::Deposit, 1)];
        store.commit_watch(&b).await.expect("commit");
        let moved = |to, now| {
            let store = store.clone();
            async move { store.set_state(id(1), to, now).await.expect("set_state") }
        };

        assert!(!moved(TransferState::Observed, 10).await, "not forward");
        assert!(moved(TransferState::Voted, 11).await);
        assert!(!moved(TransferState::Voted, 12).await, "already there");
        assert!(!moved(TransferState::Observed, 13).await);
        let r = store.transfer(id(1)).await.expect("read").expect("stored");
        assert_eq!((r.state, r.updated_at), (TransferState::Voted, 11));
        assert!(moved(TransferState::Completed, 14).await, "may skip states");
        for s in TransferState::ALL {
            assert!(!moved(s, 15).await, "nothing after completed ({s})");
        }
        let r = store.transfer(id(1)).await.expect("read").expect("stored");
        assert_eq!((r.state, r.updated_at), (TransferState::Completed, 14));
        assert!(
            !store
                .set_state(id(9), TransferState::Voted, 1)
                .await
                .expect("unknown id"),
        );
    }

    async fn racing_state_changes_end_at_the_furthest(store: Store) {
        let mut b = batch(Chain::Side, 1);
        b.new_transfers = (1..=4)
            .map(|n| record(n, Direction::Withdrawal, u64::from(n)))
            .collect();
        store.commit_watch(&b).await.expect("commit");
        let mut tasks = Vec::new();
        for n in 1..=4u8 {
            for to in TransferState::ALL.into_iter().rev() {
                let store = store.clone();
                tasks.push(tokio::spawn(async move {
                    store.set_state(id(n), to, 1).await.expect("set_state")
                }));
            }
        }
        let mut moves = 0;
        for task in tasks {
            moves += usize::from(task.await.expect("task"));
        }
        assert!(moves >= 4);
        for n in 1..=4 {
            assert_eq!(state_of(&store, n).await, Some(TransferState::Completed));
        }
    }

    async fn each_distinct_signature_is_stored_once(store: Store) {
        let sig = |validator: u8, byte: u8| PublishedSignature {
            transfer_id: id(1),
            nonce: 3,
            validator: Address::repeat_byte(validator),
            signature: vec![byte; 65],
        };
        let mut b = batch(Chain::Side, 1);
        b.signatures = vec![sig(0x22, 1), sig(0x11, 2), sig(0x22, 1)];
        store.commit_watch(&b).await.expect("commit");
        // a second record under 0x11's name (a lying node's, say) does not replace the first,
        // nor does the first keep it out: which one is genuine is decided when one is used
        let mut b = batch(Chain::Side, 2);
        b.signatures = vec![sig(0x11, 4), sig(0x11, 2)];
        store.commit_watch(&b).await.expect("commit again");

        let stored = store.signatures(id(1)).await.expect("signatures");
        assert_eq!(
            stored,
            vec![sig(0x11, 2), sig(0x11, 4), sig(0x22, 1)],
            "by validator, then bytes"
        );
        let many = store.signatures_for(&[id(1), id(2)]).await.expect("many");
        assert_eq!(many.get(&id(1)), Some(&stored));
        assert!(!many.contains_key(&id(2)));
        assert!(store.signatures(id(2)).await.expect("none").is_empty());
    }

    async fn transfers_are_listed_by_state_and_age(store: Store) {
        let mut b = batch(Chain::Main, 1);
        b.new_transfers = vec![
            record(3, Direction::Deposit, 30),
            record(1, Direction::Deposit, 10),
            record(2, Direction::Deposit, 20),
        ];
        store.commit_watch(&b).await.expect("commit");
        let mut b = batch(Chain::Side, 1);
        b.new_transfers = vec![record(4, Direction::Withdrawal, 1)];
        store.commit_watch(&b).await.expect("commit");
        store
            .set_state(id(2), TransferState::Voted, 1)
            .await
            .expect("vote");
        store
            .set_state(id(3), TransferState::Completed, 1)
            .await
            .expect("complete");

        let ids = |rs: Vec<TransferRecord>| rs.into_iter().map(|r| r.id).collect::<Vec<_>>();
        let observed = store
            .transfers_in_state(Direction::Deposit, TransferState::Observed, 10)
            .await
            .expect("observed");
        assert_eq!(ids(observed), [id(1)]);
        let unfinished = store
            .unfinished_transfers(Direction::Deposit, 10, 0)
            .await
            .expect("unfinished");
        assert_eq!(ids(unfinished), [id(1), id(2)], "by nonce");
        let limited = store
            .unfinished_transfers(Direction::Deposit, 1, 0)
            .await
            .expect("limited");
        assert_eq!(ids(limited), [id(1)]);
        let recent = store.recent_transfers(3).await.expect("recent");
        assert_eq!(ids(recent), [id(3), id(2), id(1)], "newest first");

        let counts = store.count_by_state().await.expect("counts");
        assert_eq!(
            counts,
            vec![
                (Direction::Deposit, TransferState::Completed, 1),
                (Direction::Deposit, TransferState::Observed, 1),
                (Direction::Deposit, TransferState::Voted, 1),
                (Direction::Withdrawal, TransferState::Observed, 1),
            ]
        );
    }

    async fn active_transfers_leave_out_what_waits_on_others(store: Store) {
        let mut b = batch(Chain::Side, 1);
        b.new_transfers = (1..=5)
            .map(|n| record(n, Direction::Withdrawal, u64::from(n)))
            .collect();
        b.new_transfers.push(record(6, Direction::Deposit, 6));
        b.new_transfers.push(record(7, Direction::Deposit, 7));
        b.new_transfers.push(record(8, Direction::Deposit, 8));
        // withdrawal 4 and deposit 7 wait in the destination queue
        b.executions = vec![
            execution(Direction::Withdrawal, 4, 4, true),
            execution(Direction::Deposit, 7, 7, true),
        ];
        store.commit_watch(&b).await.expect("commit");
        for (n, state) in [
            (2, TransferState::Voted),
            (3, TransferState::Ready),
            (4, TransferState::Voted),
            (5, TransferState::Completed),
            (6, TransferState::Voted),
            (7, TransferState::Voted),
        ] {
            store.set_state(id(n), state, 1).await.expect("set_state");
        }
        let ids = |rs: Vec<TransferRecord>| rs.into_iter().map(|r| r.id).collect::<Vec<_>>();
        let withdrawals = store
            .active_transfers(Direction::Withdrawal, 10, 0)
            .await
            .expect("active withdrawals");
        assert_eq!(ids(withdrawals), [id(1), id(3), id(4)]);
        let deposits = store
            .active_transfers(Direction::Deposit, 10, 0)
            .await
            .expect("active deposits");
        assert_eq!(ids(deposits), [id(7), id(8)]);
        let limited = store
            .active_transfers(Direction::Withdrawal, 2, 0)
            .await
            .expect("limited");
        assert_eq!(ids(limited), [id(1), id(3)], "lowest nonces first");
    }

    async fn set_states_moves_many_at_once_forward_only(store: Store) {
        let mut b = batch(Chain::Main, 1);
        b.new_transfers = (1..=3)
            .map(|n| record(n, Direction::Deposit, u64::from(n)))
            .collect();
        store.commit_watch(&b).await.expect("commit");
        store
            .set_state(id(3), TransferState::Completed, 1)
            .await
            .expect("complete");
        let moved = store
            .set_states(
                &[
                    (id(1), TransferState::Voted),
                    (id(2), TransferState::Voted),
                    (id(3), TransferState::Voted),
                    (id(9), TransferState::Voted),
                ],
                5,
            )
            .await
            .expect("set_states");
        assert_eq!(moved, 2, "not the completed one, not an unknown id");
        assert_eq!(state_of(&store, 1).await, Some(TransferState::Voted));
        assert_eq!(state_of(&store, 2).await, Some(TransferState::Voted));
        assert_eq!(state_of(&store, 3).await, Some(TransferState::Completed));
    }

    on_both_backends!(
        set_states_moves_many_at_once_forward_only,
        active_transfers_leave_out_what_waits_on_others,
        ready_moves_withdrawals_forward_only,
        set_state_never_moves_backwards,
        racing_state_changes_end_at_the_furthest,
        each_distinct_signature_is_stored_once,
        transfers_are_listed_by_state_and_age,
    );
}
