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

use alloy::primitives::B256;
use sqlx::{
    Any, AnyConnection, ConnectOptions, Connection, Executor, Row, Transaction,
    any::{AnyPoolOptions, AnyRow},
    migrate::{MigrateError, Migrator},
    sqlite::{SqliteConnectOptions, SqliteJournalMode},
};

use crate::rpc::{Classify, Disposition};

mod attempts;
mod audit;
mod costs;
mod index;
#[cfg(test)]
pub(crate) mod testing;
mod transfers;
mod tries;
mod watch;

pub use attempts::{AttemptStatus, TxAttempt};
pub use audit::describe_id;
pub use costs::FeeEntry;
pub use index::{IndexFilter, IndexPage, IndexState, IndexedTransfer, Leg, PageCursor};
pub use tries::{FIRST_PAUSE, FREE_TRIES, LONGEST_PAUSE, next_try};
pub use watch::WatchBatch;

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

impl Classify for StoreError {
    /// Lost connections, timeouts and lock contention may pass; constraint violations,
    /// unreadable values and bad configuration will not.
    fn disposition(&self) -> Disposition {
        let transient = match self {
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
        };
        if transient {
            Disposition::Transient
        } else {
            Disposition::Fatal
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
    /// The connection pool, for tests that look at rows directly.
    #[cfg(test)]
    pub(crate) fn pool(&self) -> &sqlx::AnyPool {
        &self.pool
    }

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
    use super::*;
    use crate::store::testing::*;

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
        assert!(!err.is_transient(), "{err}");
    }

    on_both_backends!(
        migrate_twice_is_a_no_op,
        constraint_errors_are_not_retryable,
    );

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
        assert!(!err.is_transient());
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
        assert!(err.is_transient());
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
