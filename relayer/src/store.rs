//! The relayer's memory: transfers and where they stand, watcher cursors, the hashes of processed
//! blocks, published signatures, every transaction attempt, and the cost ledger.
//!
//! One schema runs unchanged on SQLite (a file next to the binary: nothing to install) and on
//! PostgreSQL (production), through sqlx's `Any` driver. To keep the two backends telling the
//! same story the schema uses only TEXT and BIGINT: amounts are decimal text (a `U256` has no
//! native column type in SQLite, and the `Any` driver cannot carry PostgreSQL's NUMERIC), hashes
//! and addresses are lowercase `0x` hex, enums are their text names. Sums of money are therefore
//! computed in Rust with `U256`, never in SQL.
//!
//! Every change is one database transaction, so a crash at any point loses nothing and repeats
//! nothing: the watcher stores what it learned from a block range together with its new cursor;
//! a transfer's state only moves forward (`Observed < Voted < Ready < Completed`) through a
//! compare-and-set in the `UPDATE`'s `WHERE`, so two tasks racing on one transfer cannot undo
//! each other; a transaction attempt is written before it is broadcast.

use std::{fmt, path::Path, str::FromStr, sync::Arc, time::Duration};

use alloy::primitives::{Address, B256, U256, hex};
use sidebridge_contracts::Transfer;
use sqlx::{
    Any, AnyConnection, ConnectOptions, Connection, Executor, Row, Transaction,
    any::{AnyPoolOptions, AnyRow},
    migrate::{MigrateError, Migrator},
    sqlite::{SqliteConnectOptions, SqliteJournalMode},
};

use crate::domain::{
    Chain, CostEntry, DepositVote, Direction, Execution, PublishedSignature, SeenBlock,
    TransferRecord, TransferState, TxKind, UnknownVariant,
};

mod audit;

pub use audit::describe_id;

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// How many processed block hashes are kept per chain. Far deeper than any sane confirmation
/// depth, so a reorg below the confirmations is always noticed against a remembered hash.
pub const SEEN_BLOCKS_KEPT: u32 = 256;

/// How long a SQLite writer waits for another writer (the other watcher, the submitter) before
/// giving up with a retryable "database is locked".
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Connection budget. SQLite serialises writers anyway; a few readers run beside them in WAL.
const SQLITE_POOL_SIZE: u32 = 4;
const POSTGRES_POOL_SIZE: u32 = 8;
/// How long to wait for a connection, at startup and from the pool.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What went wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened at startup. `database` has any password redacted.
    #[error("cannot open database {database}: {reason}")]
    Connect {
        database: String,
        reason: String,
        retryable: bool,
    },
    #[error(
        "unsupported database URL {0}: expected postgres://, postgresql://, sqlite: or a file path"
    )]
    UnsupportedUrl(String),
    /// Not `#[from]`: the message already carries the cause, and a source would make error
    /// reports print it twice.
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(MigrateError),
    /// A value this version cannot read back: written by a newer version or by hand.
    #[error("stored {column} {value:?} is invalid: {reason}")]
    Corrupt {
        column: &'static str,
        value: String,
        reason: String,
    },
    /// A number too large for a BIGINT column (block numbers and nonces stay far below 2^63).
    #[error("{what} {value} does not fit in a database integer")]
    OutOfRange { what: &'static str, value: u64 },
    #[error("no transaction attempt {0} is recorded")]
    UnknownAttempt(B256),
}

impl StoreError {
    /// Whether trying again later can succeed: lost connections, timeouts and lock contention
    /// can; constraint violations, unreadable values and bad configuration cannot.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Connect { retryable, .. } => *retryable,
            StoreError::Database(e) => sqlx_retryable(e),
            StoreError::Migrate(
                MigrateError::Execute(e) | MigrateError::ExecuteMigration(e, _),
            ) => sqlx_retryable(e),
            StoreError::Migrate(_)
            | StoreError::UnsupportedUrl(_)
            | StoreError::Corrupt { .. }
            | StoreError::OutOfRange { .. }
            | StoreError::UnknownAttempt(_) => false,
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(e)
    }
}

impl From<MigrateError> for StoreError {
    fn from(e: MigrateError) -> Self {
        StoreError::Migrate(e)
    }
}

fn sqlx_retryable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                let code = pg.code();
                // connection exceptions, serialization failure, deadlock, too many connections,
                // server shutting down or restarting
                code.starts_with("08")
                    || matches!(
                        code,
                        "40001" | "40P01" | "53300" | "57P01" | "57P02" | "57P03"
                    )
            } else if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // SQLITE_BUSY and SQLITE_LOCKED with all their extended codes
                let code: i64 = db.code().and_then(|c| c.parse().ok()).unwrap_or(0);
                matches!(code & 0xff, 5 | 6)
            } else {
                false
            }
        }
        _ => false,
    }
}

/// Which database a URL names, before connecting.
enum Target {
    Postgres,
    Sqlite(Box<SqliteConnectOptions>),
}

impl Target {
    fn parse(url: &str) -> Result<Target, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Target::Postgres)
        } else if url.starts_with("sqlite:")
            && (url.contains(":memory:") || url.contains("mode=memory"))
        {
            Err(StoreError::Connect {
                database: url.to_string(),
                reason: "an in-memory database forgets everything at exit; give a file path".into(),
                retryable: false,
            })
        } else if url.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url)
                .map(|options| Target::Sqlite(Box::new(options)))
                .map_err(|e| StoreError::Connect {
                    database: url.to_string(),
                    reason: one_line(&e.to_string()),
                    retryable: false,
                })
        } else if url.contains("://") {
            Err(StoreError::UnsupportedUrl(redact_url(url)))
        } else {
            Ok(Target::Sqlite(Box::new(
                SqliteConnectOptions::new().filename(url),
            )))
        }
    }
}

/// The relayer's database. Cheap to clone: clones share one connection pool.
#[derive(Clone)]
pub struct Store {
    pool: sqlx::AnyPool,
    backend: Backend,
    /// The database's name for people: a file path, or the URL with its password redacted.
    name: Arc<str>,
    /// Watch batches committed through this process's clones: the audit skips a round when
    /// nothing arrived since its last one.
    commits: Arc<std::sync::atomic::AtomicU64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .field("database", &self.name)
            .finish_non_exhaustive()
    }
}

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

const TRANSFER_COLUMNS: &str = "id, direction, src_chain_id, dst_chain_id, nonce, token, sender, \
     recipient, amount, fee, source_block, source_tx, state, created_at, updated_at";

impl Store {
    /// Opens the database a URL names: `postgres://` or `postgresql://` for PostgreSQL;
    /// `sqlite:...` or a plain file path for a SQLite file, created if missing and switched to
    /// WAL so readers never wait for the writer. Does not migrate; see [`Store::migrate`].
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        match Target::parse(url)? {
            Target::Postgres => Self::connect_postgres(url).await,
            Target::Sqlite(options) => Self::connect_sqlite(*options).await,
        }
    }

    async fn connect_postgres(url: &str) -> Result<Store, StoreError> {
        let name = redact_url(url);
        // One direct attempt first: the pool silently retries a refused connection until its
        // timeout and then reports only "timed out", which hides what the operator must fix.
        let probe = tokio::time::timeout(CONNECT_TIMEOUT, AnyConnection::connect(url))
            .await
            .map_err(|_| StoreError::Connect {
                database: name.clone(),
                reason: format!("no answer within {}s", CONNECT_TIMEOUT.as_secs()),
                retryable: true,
            })?
            .map_err(|e| connect_error(&name, &e))?;
        // Closing politely is a courtesy to the server; the pool opens its own connections.
        let _ = probe.close().await;
        let pool = AnyPoolOptions::new()
            .max_connections(POSTGRES_POOL_SIZE)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect(url)
            .await
            .map_err(|e| connect_error(&name, &e))?;
        Ok(Store {
            pool,
            backend: Backend::Postgres,
            name: name.into(),
            commits: Arc::default(),
        })
    }

    async fn connect_sqlite(options: SqliteConnectOptions) -> Result<Store, StoreError> {
        let mut options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(SQLITE_BUSY_TIMEOUT);
        // An absolute path names the file unambiguously in messages and survives the round
        // trip through a URL, where a relative path's first segment would read as a host.
        if let Ok(absolute) = std::path::absolute(options.get_filename()) {
            options = options.filename(absolute);
        }
        let name = options.get_filename().display().to_string();
        let any_url = sqlite_url(options.get_filename()).ok_or_else(|| StoreError::Connect {
            database: name.clone(),
            reason: "the path is not valid UTF-8".into(),
            retryable: false,
        })?;
        // The `Any` pool is configured by URL, which cannot say "WAL"; but the journal mode is
        // stored in the file, so one native connection that sets it serves every later one.
        // It also creates the file and reports a bad path with SQLite's own words.
        let first = options
            .connect()
            .await
            .map_err(|e| connect_error(&name, &e))?;
        let _ = first.close().await;
        let busy_pragma = format!("PRAGMA busy_timeout = {}", SQLITE_BUSY_TIMEOUT.as_millis());
        let pool = AnyPoolOptions::new()
            .max_connections(SQLITE_POOL_SIZE)
            .acquire_timeout(CONNECT_TIMEOUT)
            .after_connect(move |conn, _meta| {
                let pragma = busy_pragma.clone();
                Box::pin(async move {
                    conn.execute(pragma.as_str()).await?;
                    Ok(())
                })
            })
            .connect(&any_url)
            .await
            .map_err(|e| connect_error(&name, &e))?;
        Ok(Store {
            pool,
            backend: Backend::Sqlite,
            name: name.into(),
            commits: Arc::default(),
        })
    }

    /// Brings the schema up to date. Applied migrations are skipped, so this is run at every
    /// start.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// The database's name for logs: a file path, or a URL with its password redacted.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Closes every connection; queries after this fail. For an orderly shutdown.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Starts a transaction that writes. SQLite's default deferred transaction takes the write
    /// lock only at its first write and fails at once, without waiting, if another connection
    /// wrote since its first read; `BEGIN IMMEDIATE` takes it up front, where the busy timeout
    /// applies.
    async fn begin_write(&self) -> Result<Transaction<'static, Any>, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    // ----- watcher cursor and canonical-block memory -----

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

        for signature in &batch.signatures {
            sqlx::query(
                "INSERT INTO signatures (transfer_id, validator, nonce, signature) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (transfer_id, validator) DO NOTHING",
            )
            .bind(hex::encode_prefixed(signature.transfer_id))
            .bind(hex::encode_prefixed(signature.validator))
            .bind(int("nonce", signature.nonce)?)
            .bind(hex::encode_prefixed(&signature.signature))
            .execute(&mut *tx)
            .await?;
        }

        for id in &batch.ready {
            advance(&mut tx, *id, TransferState::Ready, now, false).await?;
        }
        for id in &batch.completed {
            advance(&mut tx, *id, TransferState::Completed, now, false).await?;
        }

        insert_fees(&mut tx, &batch.fees).await?;
        audit::insert_executions(&mut tx, &batch.executions).await?;
        audit::insert_votes(&mut tx, &batch.votes).await?;

        tx.commit().await?;
        self.commits
            .fetch_add(1, std::sync::atomic::Ordering::Release);
        Ok(())
    }

    // ----- transfers -----

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

    /// Transfers of one direction not yet completed, lowest nonce first.
    pub async fn unfinished_transfers(
        &self,
        direction: Direction,
        limit: u32,
    ) -> Result<Vec<TransferRecord>, StoreError> {
        let sql = format!(
            "SELECT {TRANSFER_COLUMNS} FROM transfers WHERE direction = $1 AND state <> $2 \
             ORDER BY nonce, id LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(direction.as_str())
            .bind(TransferState::Completed.as_str())
            .bind(i64::from(limit))
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

    // ----- published withdrawal signatures -----

    /// Signatures published for a withdrawal, by ascending validator address (the order
    /// `MainBridge.release` wants them in).
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
            .map(|r| {
                let text = read_text(r, "signature")?;
                let signature = hex::decode(&text).map_err(|e| corrupt("signature", &text, e))?;
                Ok(PublishedSignature {
                    transfer_id: read_parsed(r, "transfer_id")?,
                    nonce: read_u64(r, "nonce")?,
                    validator: read_parsed(r, "validator")?,
                    signature,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // ORDER BY compares text under the server's collation; byte order is what counts
        signatures.sort_by_key(|s| s.validator);
        Ok(signatures)
    }

    // ----- transaction attempts -----

    /// Records a signed transaction; call before broadcasting it. Recording the same hash again
    /// (the identical transaction, rebroadcast) only resets its status.
    pub async fn record_attempt(&self, a: &TxAttempt) -> Result<(), StoreError> {
        let tx_hash = hex::encode_prefixed(a.tx_hash);
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO attempts (tx_hash, chain, account, account_nonce, kind, max_fee_per_gas, \
             max_priority_fee_per_gas, sent_at, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
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

    /// Pending attempts on `chain`, by account nonce, then by when they were sent.
    pub async fn open_attempts(&self, chain: Chain) -> Result<Vec<TxAttempt>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.tx_hash, a.chain, a.account, a.account_nonce, a.kind, a.max_fee_per_gas, \
             a.max_priority_fee_per_gas, a.sent_at, a.status, t.transfer_id \
             FROM attempts a LEFT JOIN attempt_transfers t ON t.tx_hash = a.tx_hash \
             WHERE a.chain = $1 AND a.status = $2 \
             ORDER BY a.account_nonce, a.sent_at, a.tx_hash, t.ordinal",
        )
        .bind(chain.as_str())
        .bind(AttemptStatus::Pending.as_str())
        .fetch_all(&self.pool)
        .await?;
        let mut attempts: Vec<TxAttempt> = Vec::new();
        for row in &rows {
            let tx_hash: B256 = read_parsed(row, "tx_hash")?;
            let transfer_id = row
                .try_get::<Option<String>, _>("transfer_id")?
                .map(|t| t.parse::<B256>().map_err(|e| corrupt("transfer_id", &t, e)))
                .transpose()?;
            // rows of one attempt are adjacent: the order ends with tx_hash, ordinal
            let same = attempts.last().is_some_and(|a| a.tx_hash == tx_hash);
            if !same {
                attempts.push(TxAttempt {
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
                });
            }
            if let (Some(id), Some(attempt)) = (transfer_id, attempts.last_mut()) {
                attempt.transfer_ids.push(id);
            }
        }
        Ok(attempts)
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

    // ----- cost ledger -----

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

/// The forward-only compare-and-set behind every state change: the row moves to `to` only if
/// it stands at a state before `to`, checked by the `UPDATE` itself so concurrent writers
/// cannot interleave a read and a write. With `if_completed`, it moves only if the id is
/// among the recorded completions. Returns whether the row moved.
async fn advance(
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
async fn insert_transfer(
    tx: &mut Transaction<'static, Any>,
    r: &TransferRecord,
) -> Result<bool, StoreError> {
    let t = &r.transfer;
    let sql = format!(
        "INSERT INTO transfers ({TRANSFER_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
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
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() > 0)
}

async fn insert_fees(
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

fn read_transfer(r: &AnyRow) -> Result<TransferRecord, StoreError> {
    Ok(TransferRecord {
        id: read_parsed(r, "id")?,
        direction: read_parsed(r, "direction")?,
        transfer: Transfer {
            srcChainId: read_parsed(r, "src_chain_id")?,
            dstChainId: read_parsed(r, "dst_chain_id")?,
            nonce: read_u64(r, "nonce")?,
            token: read_parsed(r, "token")?,
            sender: read_parsed(r, "sender")?,
            recipient: read_parsed(r, "recipient")?,
            amount: read_parsed(r, "amount")?,
        },
        fee: read_parsed(r, "fee")?,
        source_block: read_u64(r, "source_block")?,
        source_tx: read_parsed(r, "source_tx")?,
        state: read_parsed(r, "state")?,
        created_at: r.try_get::<i64, _>("created_at")?,
        updated_at: r.try_get::<i64, _>("updated_at")?,
    })
}

fn read_seen_block(r: &AnyRow) -> Result<SeenBlock, StoreError> {
    Ok(SeenBlock {
        number: read_u64(r, "number")?,
        hash: read_parsed(r, "hash")?,
    })
}

fn read_text(r: &AnyRow, column: &'static str) -> Result<String, StoreError> {
    Ok(r.try_get::<String, _>(column)?)
}

/// Reads a text column into anything with `FromStr`: hashes, addresses, decimal amounts,
/// enum names.
fn read_parsed<T>(r: &AnyRow, column: &'static str) -> Result<T, StoreError>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    let text = read_text(r, column)?;
    text.parse().map_err(|e| corrupt(column, &text, e))
}

fn read_u64(r: &AnyRow, column: &'static str) -> Result<u64, StoreError> {
    let value = r.try_get::<i64, _>(column)?;
    u64::try_from(value).map_err(|e| corrupt(column, &value.to_string(), e))
}

fn corrupt(column: &'static str, value: &str, reason: impl fmt::Display) -> StoreError {
    StoreError::Corrupt {
        column,
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

/// A `u64` for a BIGINT column.
fn int(what: &'static str, value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::OutOfRange { what, value })
}

fn connect_error(database: &str, e: &sqlx::Error) -> StoreError {
    StoreError::Connect {
        database: database.to_string(),
        reason: connect_failure(e),
        retryable: sqlx_retryable(e),
    }
}

/// Why a connection failed, in a few words on one line.
fn connect_failure(e: &sqlx::Error) -> String {
    let reason = match e {
        // "connection refused", "permission denied": the kind says it better than the
        // platform's message with its os error number
        sqlx::Error::Io(io) if io.kind() != std::io::ErrorKind::Other => io.kind().to_string(),
        sqlx::Error::Database(db) => db.message().to_string(),
        sqlx::Error::PoolTimedOut => "timed out waiting for a connection".to_string(),
        other => other.to_string(),
    };
    one_line(&reason)
}

/// The `Any` driver's URL for a SQLite file. sqlx percent-decodes the path, so everything but
/// plain characters is encoded, `%` included (sqlx's own URL builder leaves it, and a file
/// named `a%41.db` would come back as `aA.db`).
fn sqlite_url(path: &Path) -> Option<String> {
    let mut url = String::from("sqlite://");
    for byte in path.to_str()?.bytes() {
        if byte.is_ascii_alphanumeric() || b"/._-~".contains(&byte) {
            url.push(char::from(byte));
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url.push_str("?mode=rwc");
    Some(url)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A database URL fit for logs: the password in the user info, and any `password=` query
/// parameter, become `***`.
pub fn redact_url(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let mut out = match base.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
            let authority = match authority.rsplit_once('@') {
                Some((user_info, host)) => match user_info.split_once(':') {
                    Some((user, _password)) => format!("{user}:***@{host}"),
                    None => authority.to_string(),
                },
                None => authority.to_string(),
            };
            format!("{scheme}://{authority}{path}")
        }
        None => base.to_string(),
    };
    if let Some(query) = query {
        let params: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_string(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    //! Every test body runs twice, on a SQLite file and on a fresh PostgreSQL database, so the
    //! two backends cannot drift apart.

    use std::future::Future;

    use super::*;
    use crate::domain::AlarmKind;

    const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

    async fn with_sqlite<F, Fut>(body: F)
    where
        F: FnOnce(Store) -> Fut,
        Fut: Future<Output = ()>,
    {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("relayer.db");
        let store = Store::connect(path.to_str().expect("utf-8 temp path"))
            .await
            .expect("open SQLite");
        store.migrate().await.expect("migrate SQLite");
        body(store.clone()).await;
        store.close().await;
    }

    async fn with_postgres<F, Fut>(body: F)
    where
        F: FnOnce(Store) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let base = std::env::var("SIDEBRIDGE_TEST_DATABASE_URL")
            .unwrap_or_else(|_| DEFAULT_POSTGRES.to_string());
        sqlx::any::install_default_drivers();
        let unreachable = |reason: String| {
            let message = format!(
                "PostgreSQL not reachable at {}: {reason}",
                redact_url(&base)
            );
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{message}");
            }
            eprintln!("{message}: skipping");
        };
        let mut admin =
            match tokio::time::timeout(Duration::from_secs(5), AnyConnection::connect(&base)).await
            {
                Err(_) => return unreachable("no answer within 5s".into()),
                Ok(Err(e @ (sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut))) => {
                    return unreachable(connect_failure(&e));
                }
                Ok(Err(e)) => panic!("PostgreSQL at {} refused us: {e}", redact_url(&base)),
                Ok(Ok(conn)) => conn,
            };
        let name = format!("sb_{:016x}", rand::random::<u64>());
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create the test database");
        let store = Store::connect(&database_url(&base, &name))
            .await
            .expect("open the test database");
        store.migrate().await.expect("migrate PostgreSQL");
        // in a task, so that a failing body still lets us drop its database
        let outcome = tokio::spawn(body(store.clone())).await;
        store.close().await;
        let _ = admin
            .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
            .await;
        let _ = admin.close().await;
        if let Err(e) = outcome {
            if e.is_panic() {
                std::panic::resume_unwind(e.into_panic());
            }
            panic!("test task failed: {e}");
        }
    }

    /// `base` with its database (the URL path) replaced by `name`.
    fn database_url(base: &str, name: &str) -> String {
        let (base, query) = base
            .split_once('?')
            .map_or((base, None), |(b, q)| (b, Some(q)));
        let authority = base.find("://").map_or(0, |i| i + 3);
        let path = base[authority..]
            .find('/')
            .map_or(base.len(), |i| authority + i);
        let mut url = format!("{}/{name}", &base[..path]);
        if let Some(query) = query {
            url.push('?');
            url.push_str(query);
        }
        url
    }

    fn id(n: u8) -> B256 {
        B256::repeat_byte(n)
    }

    fn record(n: u8, direction: Direction, nonce: u64) -> TransferRecord {
        TransferRecord {
            id: id(n),
            direction,
            transfer: Transfer {
                srcChainId: U256::from(31_337),
                dstChainId: U256::MAX - U256::from(n),
                nonce,
                token: Address::repeat_byte(0xAB),
                sender: Address::repeat_byte(0xCD),
                recipient: Address::repeat_byte(n),
                // above 2^128: only decimal text carries it
                amount: U256::from(u128::MAX) * U256::from(3) + U256::from(n),
            },
            fee: U256::from(10u64).pow(U256::from(18)),
            source_block: 1_000 + nonce,
            source_tx: B256::repeat_byte(!n),
            state: TransferState::Observed,
            created_at: 1_700_000_000 + nonce as i64,
            updated_at: 1_700_000_000 + nonce as i64,
        }
    }

    fn batch(chain: Chain, to_block: u64) -> WatchBatch {
        WatchBatch {
            chain,
            to_block,
            blocks: vec![SeenBlock {
                number: to_block,
                hash: B256::with_last_byte(to_block as u8),
            }],
            new_transfers: Vec::new(),
            completed: Vec::new(),
            signatures: Vec::new(),
            ready: Vec::new(),
            fees: Vec::new(),
            executions: Vec::new(),
            votes: Vec::new(),
        }
    }

    fn execution(direction: Direction, nonce: u64, n: u8, queued: bool) -> Execution {
        Execution {
            direction,
            nonce,
            transfer_id: id(n),
            queued,
            tx_hash: B256::repeat_byte(0x70 + n),
            block: 10,
        }
    }

    fn vote(nonce: u64, n: u8, validator: u8) -> DepositVote {
        DepositVote {
            nonce,
            transfer_id: id(n),
            validator: Address::repeat_byte(validator),
            tx_hash: B256::repeat_byte(validator ^ 0x0F),
        }
    }

    fn fee(n: u8, chain: Chain) -> FeeEntry {
        FeeEntry {
            transfer_id: id(n),
            chain,
            token: Address::repeat_byte(0xAB),
            amount: U256::from(u64::MAX) * U256::from(n),
            timestamp: 1_700_000_000 + i64::from(n),
        }
    }

    async fn state_of(store: &Store, n: u8) -> Option<TransferState> {
        store.transfer(id(n)).await.expect("read").map(|r| r.state)
    }

    // ----- bodies, run on both backends -----

    async fn migrate_twice_is_a_no_op(store: Store) {
        let mut b = batch(Chain::Main, 5);
        b.new_transfers.push(record(1, Direction::Deposit, 1));
        store.commit_watch(&b).await.expect("commit");
        store.migrate().await.expect("second migrate");
        store.migrate().await.expect("third migrate");
        let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
            .fetch_one(&store.pool)
            .await
            .expect("count migrations");
        assert_eq!(applied, MIGRATOR.iter().count() as i64);
        assert!(store.transfer(id(1)).await.expect("read").is_some());
        assert_eq!(store.cursor(Chain::Main).await.expect("cursor"), Some(5));
    }

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
        assert!(!err.is_retryable());
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
            .unfinished_transfers(Direction::Deposit, 10)
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

    async fn signatures_are_stored_once_per_validator(store: Store) {
        let sig = |validator: u8, byte: u8| PublishedSignature {
            transfer_id: id(1),
            nonce: 3,
            validator: Address::repeat_byte(validator),
            signature: vec![byte; 65],
        };
        let mut b = batch(Chain::Side, 1);
        b.signatures = vec![sig(0x22, 1), sig(0x11, 2), sig(0x22, 3)];
        store.commit_watch(&b).await.expect("commit");
        let mut b = batch(Chain::Side, 2);
        b.signatures = vec![sig(0x11, 4)];
        store.commit_watch(&b).await.expect("commit again");

        let stored = store.signatures(id(1)).await.expect("signatures");
        assert_eq!(
            stored,
            vec![sig(0x11, 2), sig(0x22, 1)],
            "first kept, by validator"
        );
        assert!(store.signatures(id(2)).await.expect("none").is_empty());
    }

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
        assert!(!err.is_retryable());
    }

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
            .unfinished_transfers(Direction::Deposit, 10)
            .await
            .expect("unfinished");
        assert_eq!(ids(unfinished), [id(1), id(2)], "by nonce");
        let limited = store
            .unfinished_transfers(Direction::Deposit, 1)
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

    async fn constraint_errors_are_not_retryable(store: Store) {
        let insert = "INSERT INTO cursors (chain, block, updated_at) VALUES ('main', 1, 1)";
        sqlx::query(insert)
            .execute(&store.pool)
            .await
            .expect("first insert");
        let err: StoreError = sqlx::query(insert)
            .execute(&store.pool)
            .await
            .expect_err("duplicate key")
            .into();
        assert!(!err.is_retryable(), "{err}");
    }

    macro_rules! on_both_backends {
        ($($test:ident),* $(,)?) => {
            mod sqlite {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $test() {
                        super::with_sqlite(super::$test).await;
                    }
                )*
            }
            mod postgres {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $test() {
                        super::with_postgres(super::$test).await;
                    }
                )*
            }
        };
    }

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
        migrate_twice_is_a_no_op,
        commit_watch_stores_a_range_with_its_cursor,
        a_failed_commit_leaves_nothing_behind,
        duplicate_transfers_are_ignored,
        a_completion_seen_first_is_not_lost,
        completions_racing_their_transfer_are_not_lost,
        ready_moves_withdrawals_forward_only,
        set_state_never_moves_backwards,
        racing_state_changes_end_at_the_furthest,
        signatures_are_stored_once_per_validator,
        attempts_round_trip,
        costs_are_recorded_once_and_add_up_exactly,
        fees_are_recorded_once,
        transfers_are_listed_by_state_and_age,
        old_seen_blocks_are_pruned,
        constraint_errors_are_not_retryable,
    );

    // ----- opening databases -----

    #[tokio::test]
    async fn sqlite_opens_by_path_or_url_in_wal_mode() {
        let dir = tempfile::tempdir().expect("temp dir");
        for url in [
            dir.path().join("plain.db").display().to_string(),
            format!("sqlite:{}", dir.path().join("url.db").display()),
            format!("sqlite://{}", dir.path().join("slashes.db").display()),
        ] {
            let store = Store::connect(&url).await.expect("open");
            assert_eq!(store.backend(), "sqlite");
            store.migrate().await.expect("migrate");
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&store.pool)
                .await
                .expect("journal mode");
            assert_eq!(mode, "wal", "{url}");
            assert!(!format!("{store:?}").is_empty());
            store.close().await;
        }
        for file in ["plain.db", "url.db", "slashes.db"] {
            assert!(dir.path().join(file).exists(), "{file} created");
        }
    }

    #[test]
    fn odd_file_names_survive_the_url_round_trip() {
        for name in ["Data/relayer.db", "with space/a%41#?:&=.db", "ünï/cödé.db"] {
            let Target::Sqlite(options) = Target::parse(name).expect("parse") else {
                panic!("a path is SQLite");
            };
            let absolute = std::path::absolute(options.get_filename()).expect("absolute");
            let url = sqlite_url(&absolute).expect("utf-8");
            // the way the `Any` driver reads it: a URL first, then SQLite's own parsing
            let any = sqlx::any::AnyConnectOptions::from_str(&url).expect("a URL");
            let back = SqliteConnectOptions::from_url(&any.database_url).expect("SQLite options");
            assert_eq!(back.get_filename(), absolute, "{name}");
        }
    }

    #[tokio::test]
    async fn a_missing_directory_is_reported_in_one_line() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("no/such/dir/relayer.db");
        let err = Store::connect(path.to_str().expect("utf-8"))
            .await
            .expect_err("cannot create");
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("cannot open database {}: ", path.display())),
            "{message}"
        );
        assert!(!message.contains('\n'));
        assert!(!err.is_retryable());
    }

    #[tokio::test]
    async fn a_refused_connection_names_the_database_without_its_password() {
        // port 1 on loopback: nothing listens, the kernel refuses at once
        let err = Store::connect("postgres://postgres:hunter2@127.0.0.1:1/x")
            .await
            .expect_err("nothing listens on port 1");
        assert_eq!(
            err.to_string(),
            "cannot open database postgres://postgres:***@127.0.0.1:1/x: connection refused"
        );
        assert!(err.is_retryable());
        assert!(!format!("{err:?}").contains("hunter2"));
    }

    #[tokio::test]
    async fn in_memory_sqlite_is_refused() {
        let err = Store::connect("sqlite::memory:")
            .await
            .expect_err("nothing would survive a restart");
        assert!(err.to_string().contains("in-memory"), "{err}");
    }

    #[tokio::test]
    async fn other_schemes_are_refused() {
        let err = Store::connect("mysql://root:secret@localhost/db")
            .await
            .expect_err("unsupported");
        assert!(matches!(err, StoreError::UnsupportedUrl(_)));
        assert!(err.to_string().contains("mysql://root:***@localhost/db"));
    }

    #[test]
    fn passwords_are_redacted() {
        for (url, shown) in [
            (
                "postgres://user:pa:ss@host:5432/db",
                "postgres://user:***@host:5432/db",
            ),
            (
                "postgresql://user:p%40ss@h/db?sslmode=require&password=x",
                "postgresql://user:***@h/db?sslmode=require&password=***",
            ),
            ("postgres://user@host/db", "postgres://user@host/db"),
            ("postgres://host", "postgres://host"),
            ("/var/lib/relayer.db", "/var/lib/relayer.db"),
        ] {
            assert_eq!(redact_url(url), shown);
        }
    }

    #[test]
    fn store_futures_can_be_spawned() {
        fn send<T: Send + 'static>(_: T) {}
        fn check(store: Store, batch: WatchBatch, attempt: TxAttempt) {
            let s = store.clone();
            send(async move { s.commit_watch(&batch).await });
            let s = store.clone();
            send(async move { s.record_attempt(&attempt).await });
            let s = store.clone();
            send(async move { s.set_state(B256::ZERO, TransferState::Voted, 0).await });
            send(async move { store.open_attempts(Chain::Main).await });
        }
        // the check is that `check` compiles
        let _ = check;
    }

    #[test]
    fn attempt_statuses_round_trip_through_text() {
        for s in AttemptStatus::ALL {
            assert_eq!(s.as_str().parse::<AttemptStatus>(), Ok(s));
        }
        assert!("bogus".parse::<AttemptStatus>().is_err());
    }

    #[test]
    fn database_urls_get_their_database_replaced() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5432/test", "sb_1"),
            "postgres://postgres@127.0.0.1:5432/sb_1"
        );
        assert_eq!(
            database_url("postgres://u:p@h?sslmode=disable", "sb_2"),
            "postgres://u:p@h/sb_2?sslmode=disable"
        );
    }
}
