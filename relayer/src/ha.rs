//! Two nodes per validator (`[ha] enabled = true`): two `relayer run` processes with the same
//! key and the same PostgreSQL database act as one. The one holding the lease is **active**: it
//! runs the watchers, the planner and the submitters. The other is **standby**: it serves its
//! HTTP surface (readiness says "standby"), signs and sends nothing, and tries for the lease.
//!
//! The lease is a PostgreSQL session-level advisory lock (`pg_try_advisory_lock`) on a
//! connection of its own, keyed by the validator and the chain pair ([`lease_key`]). We chose it
//! over a lease row with a fencing token because a row's fencing only helps if every write that
//! leads to a broadcast checks the token, which would thread the lease through the store and
//! the submitter; the lock instead ends with its session, so a node killed with `kill -9` (its
//! socket closed by the kernel) frees it at once, with no expiry to wait out and no clock to
//! trust. What it does not give for free is fencing of a holder that is alive but cut off, so:
//!
//! - The active node checks, every quarter of `takeover_secs` (`c`) and with the same timeout,
//!   that its session still holds the lock (`pg_locks`, not just a ping). A failed or late
//!   check aborts the planner and the submitters before anything else: a node that cannot
//!   prove it holds the lock must not send. It is then standby again. So a holder stops acting
//!   at most `2c` after its last good check.
//! - The lock session asks the server for TCP keepalives (idle `c`, then 2 probes `c/2`
//!   apart), so a server that stops hearing the holder frees the lock about `2c` after the
//!   last check too — never before the holder's own `2c` has run out, as both count from it.
//! - A node that acquires the lock waits `2c` (still checking it) before it acts, so even a
//!   lock freed early (an operator's `pg_terminate_backend`) finds the old holder stopped.
//!
//! Nothing else is needed for "nothing twice": every attempt is persisted before it is
//! broadcast, and a node that becomes active starts fresh submitters, which take back every
//! open attempt from the database ([`crate::submitter::Submitter::resume`]) before the planner
//! plans — the same path as a restart after a crash. Takeover after the active node dies is
//! within `c` (the standby's poll) + `2c` (the wait) = ¾ of `takeover_secs`, plus connecting.

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use alloy::primitives::{Address, keccak256};
use sqlx::{Connection, Executor, PgConnection, Row};
use tokio_util::sync::CancellationToken;

use crate::{
    domain::Chain,
    health::Readiness,
    metrics::Metrics,
    stage::{SHUTDOWN_DEADLINE, Tasks},
};

/// Why the lease could not be taken or is no longer held.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("lease connection: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the lease connection did not answer within {0:?}")]
    Timeout(Duration),
    #[error("the database no longer shows this session holding the lease")]
    NotHeld,
}

/// The advisory lock key of one validator on one route: the first 8 bytes of
/// `keccak256("sidebridge/ha" ‖ validator ‖ main chain id ‖ side chain id)`. Another
/// validator's pair, or this validator on another route, sharing the database never collides
/// except by a 2^-64 accident (nobody chooses these inputs to attack a lock on our database).
pub fn lease_key(validator: Address, main_chain_id: u64, side_chain_id: u64) -> i64 {
    let mut preimage = b"sidebridge/ha".to_vec();
    preimage.extend_from_slice(validator.as_slice());
    preimage.extend_from_slice(&main_chain_id.to_be_bytes());
    preimage.extend_from_slice(&side_chain_id.to_be_bytes());
    let hash = keccak256(&preimage);
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash[..8]);
    i64::from_be_bytes(first)
}

/// How often things happen, all derived from `takeover_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// The active node's lock check, its timeout, and the standby's poll (`c`).
    pub check_every: Duration,
    /// How long a new holder waits before it acts (`2c`).
    pub grace: Duration,
}

impl Timing {
    pub fn from_takeover(takeover: Duration) -> Self {
        let check_every = takeover / 4;
        Self {
            check_every,
            grace: check_every * 2,
        }
    }
}

/// The advisory lock, held by the session of `conn` while this value lives (or until the
/// connection drops, when the server frees it).
#[derive(Debug)]
pub struct Lease {
    conn: PgConnection,
    key: i64,
}

impl Lease {
    /// Opens a session and tries for the lock: `None` while another session holds it.
    pub async fn try_acquire(
        url: &str,
        key: i64,
        timing: Timing,
    ) -> Result<Option<Lease>, LeaseError> {
        let attempt = async {
            let mut conn = PgConnection::connect(url).await?;
            keepalives(&mut conn, timing).await;
            let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(key)
                .fetch_one(&mut conn)
                .await?;
            if got {
                return Ok(Some(Lease { conn, key }));
            }
            let _ = conn.close().await;
            Ok(None)
        };
        tokio::time::timeout(timing.check_every.max(Duration::from_secs(1)), attempt)
            .await
            .map_err(|_| LeaseError::Timeout(timing.check_every))?
    }

    /// Proves, within `timeout`, that this session still holds the lock.
    pub async fn check(&mut self, timeout: Duration) -> Result<(), LeaseError> {
        let (classid, objid) = split_key(self.key);
        let held = sqlx::query(
            "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND granted \
             AND pid = pg_backend_pid() AND classid = $1::bigint::oid \
             AND objid = $2::bigint::oid AND objsubid = 1",
        )
        .bind(classid)
        .bind(objid)
        .fetch_one(&mut self.conn);
        let row = tokio::time::timeout(timeout, held)
            .await
            .map_err(|_| LeaseError::Timeout(timeout))??;
        let n: i64 = row.try_get("n")?;
        if n == 1 {
            Ok(())
        } else {
            Err(LeaseError::NotHeld)
        }
    }

    /// The server process of the lock's session (to cut it in tests and by hand).
    pub async fn backend_pid(&mut self) -> Result<i32, LeaseError> {
        Ok(sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut self.conn)
            .await?)
    }

    /// Unlocks and closes the session (dropping it frees the lock too, a moment later).
    pub async fn release(mut self) {
        let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(self.key)
            .execute(&mut self.conn)
            .await;
        let _ = self.conn.close().await;
    }
}

/// A bigint advisory key as `pg_locks` shows it: high and low 32 bits.
fn split_key(key: i64) -> (i64, i64) {
    let bits = key as u64;
    ((bits >> 32) as i64, (bits & 0xffff_ffff) as i64)
}

/// Asks the server to probe the session so that it frees the lock of a holder it no longer
/// hears (ignored on a Unix socket; a refusal is only logged: the holder's own checks fence it).
async fn keepalives(conn: &mut PgConnection, timing: Timing) {
    let idle = timing.check_every.as_secs().max(1);
    let interval = (timing.check_every.as_secs() / 2).max(1);
    let set = format!(
        "SET tcp_keepalives_idle = {idle}; SET tcp_keepalives_interval = {interval}; \
         SET tcp_keepalives_count = 2"
    );
    if let Err(e) = conn.execute(set.as_str()).await {
        tracing::warn!(target: "ha", error = %e, "cannot set TCP keepalives on the lease session");
    }
}

/// What a node runs only while it is active: given a token, its started tasks.
pub type StartActive = Box<
    dyn FnMut(CancellationToken) -> Pin<Box<dyn Future<Output = Result<Tasks, String>> + Send>>
        + Send,
>;

/// Where the node's role is shown.
#[derive(Debug, Clone)]
pub struct RoleReport {
    pub metrics: Arc<Metrics>,
    pub readiness: Arc<Readiness>,
}

impl RoleReport {
    fn standby(&self) {
        self.metrics.set_active(false);
        for chain in Chain::ALL {
            self.readiness.set_ready(
                chain,
                false,
                "standby: another node of this validator holds the lease",
            );
        }
    }

    fn active(&self) {
        self.metrics.set_active(true);
        for chain in Chain::ALL {
            self.readiness.set_ready(
                chain,
                false,
                "active: taking over, the watcher has not reported yet",
            );
        }
    }
}

/// The lease to contend for.
#[derive(Debug, Clone)]
pub struct HaSettings {
    pub database_url: String,
    pub key: i64,
    pub timing: Timing,
}

/// Standby until the lease is ours, then active until it is lost (standby again) or
/// `shutdown` (the active tasks drain within [`SHUTDOWN_DEADLINE`] while the lease is still
/// checked, then it is released). An active task that dies is an error for the node.
pub async fn run(
    settings: HaSettings,
    report: RoleReport,
    mut start: StartActive,
    shutdown: CancellationToken,
) -> Result<(), String> {
    let timing = settings.timing;
    loop {
        report.standby();
        let Some(mut lease) = acquire(&settings, &shutdown).await else {
            return Ok(());
        };
        tracing::info!(target: "ha", grace = ?timing.grace,
            "acquired the lease; waiting for a previous holder that lost it to have stopped");
        if let Err(e) = hold_for(&mut lease, timing.grace, timing, &shutdown).await {
            tracing::error!(target: "ha", error = %e, "lost the lease before acting; standby again");
            continue;
        }
        if shutdown.is_cancelled() {
            lease.release().await;
            return Ok(());
        }
        let work = shutdown.child_token();
        let mut tasks = match start(work.clone()).await {
            Ok(tasks) => tasks,
            Err(e) => {
                lease.release().await;
                return Err(format!("starting the active node: {e}"));
            }
        };
        report.active();
        tracing::info!(target: "ha", "active: watching, planning and sending");
        let ended = tokio::select! {
            biased;
            _ = shutdown.cancelled() => None,
            lost = watch_lease(&mut lease, timing) => Some(Err(lost)),
            Some(joined) = tasks.join_next() => Some(Ok(died(joined))),
        };
        match ended {
            Some(Err(lost)) => {
                // before anything else: nothing more may be signed or sent
                tasks.abort_all();
                while tasks.join_next().await.is_some() {}
                tracing::error!(target: "ha", error = %lost,
                    "lost the lease: stopped planning and sending; standby again");
                drop(lease);
            }
            Some(Ok(failure)) => {
                tasks.abort_all();
                while tasks.join_next().await.is_some() {}
                lease.release().await;
                return Err(failure);
            }
            None => {
                work.cancel();
                drain(tasks, &mut lease, timing).await;
                lease.release().await;
                return Ok(());
            }
        }
    }
}

/// Polls for the lease every `c` until it is ours; `None` on shutdown.
async fn acquire(settings: &HaSettings, shutdown: &CancellationToken) -> Option<Lease> {
    let mut warned = false;
    loop {
        match Lease::try_acquire(&settings.database_url, settings.key, settings.timing).await {
            Ok(Some(lease)) => return Some(lease),
            Ok(None) => {}
            Err(e) if !warned => {
                tracing::warn!(target: "ha", error = %e, "cannot try for the lease; retrying");
                warned = true;
            }
            Err(_) => {}
        }
        tokio::select! {
            _ = shutdown.cancelled() => return None,
            _ = tokio::time::sleep(settings.timing.check_every) => {}
        }
    }
}

/// Checks the lease every `c` for `how_long` (or until shutdown).
async fn hold_for(
    lease: &mut Lease,
    how_long: Duration,
    timing: Timing,
    shutdown: &CancellationToken,
) -> Result<(), LeaseError> {
    let until = tokio::time::Instant::now() + how_long;
    while tokio::time::Instant::now() < until && !shutdown.is_cancelled() {
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = tokio::time::sleep_until(until.min(tokio::time::Instant::now() + timing.check_every)) => {}
        }
        lease.check(timing.check_every).await?;
    }
    Ok(())
}

/// Returns when a check fails: the lease is no longer provably ours.
async fn watch_lease(lease: &mut Lease, timing: Timing) -> LeaseError {
    loop {
        tokio::time::sleep(timing.check_every).await;
        if let Err(e) = lease.check(timing.check_every).await {
            return e;
        }
    }
}

/// Lets the active tasks finish after a stop signal, still checking the lease: lost, they are
/// aborted at once.
async fn drain(mut tasks: Tasks, lease: &mut Lease, timing: Timing) {
    let finished = async { while tasks.join_next().await.is_some() {} };
    tokio::select! {
        _ = tokio::time::timeout(SHUTDOWN_DEADLINE, finished) => {}
        lost = watch_lease(lease, timing) => {
            tracing::error!(target: "ha", error = %lost, "lost the lease while stopping: aborting");
        }
    }
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
}

fn died(joined: Result<(&'static str, Result<(), String>), tokio::task::JoinError>) -> String {
    match joined {
        Ok((name, Ok(()))) => format!("task {name} stopped unexpectedly: returned"),
        Ok((name, Err(e))) => format!("task {name} stopped unexpectedly: {e}"),
        Err(e) => format!("an active task stopped unexpectedly: {e}"),
    }
}

#[cfg(test)]
mod tests;
