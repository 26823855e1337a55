//! The lease on a real PostgreSQL (`SIDEBRIDGE_TEST_DATABASE_URL`): one holder at a time, a
//! closed or cut session frees it, a cut holder knows, and two contending nodes never act at
//! once.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use sqlx::{Connection, PgConnection};

use super::*;

const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The test server's URL, or `None` (skip) when none answers outside CI.
async fn postgres() -> Option<String> {
    let url = std::env::var("SIDEBRIDGE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| DEFAULT_POSTGRES.to_string());
    match PgConnection::connect(&url).await {
        Ok(conn) => {
            let _ = conn.close().await;
            Some(url)
        }
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("PostgreSQL not reachable: {e}")
        }
        Err(e) => {
            eprintln!("PostgreSQL not reachable ({e}): skipping");
            None
        }
    }
}

fn fast() -> Timing {
    Timing::from_takeover(Duration::from_secs(4))
}

/// A key no other test uses.
fn fresh_key() -> i64 {
    rand::random::<i64>()
}

async fn terminate(url: &str, pid: i32) {
    let mut admin = PgConnection::connect(url).await.expect("admin connection");
    let done: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(pid)
        .fetch_one(&mut admin)
        .await
        .expect("terminate");
    assert!(done, "no backend {pid}");
    let _ = admin.close().await;
}

/// Tries for the lease until `deadline` passes.
async fn acquire_within(url: &str, key: i64, deadline: Duration) -> Option<Lease> {
    let until = tokio::time::Instant::now() + deadline;
    while tokio::time::Instant::now() < until {
        if let Some(lease) = Lease::try_acquire(url, key, fast()).await.expect("try") {
            return Some(lease);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

#[test]
fn keys_differ_by_validator_and_route() {
    let a = Address::repeat_byte(1);
    let b = Address::repeat_byte(2);
    assert_eq!(lease_key(a, 1, 2), lease_key(a, 1, 2));
    assert_ne!(lease_key(a, 1, 2), lease_key(b, 1, 2));
    assert_ne!(lease_key(a, 1, 2), lease_key(a, 2, 1));
}

#[test]
fn keys_split_as_pg_locks_shows_them() {
    assert_eq!(split_key(-1), (0xffff_ffff, 0xffff_ffff));
    assert_eq!(split_key(0x1_0000_0002), (1, 2));
}

#[test]
fn timing_fits_inside_the_takeover() {
    let t = Timing::from_takeover(Duration::from_secs(20));
    assert_eq!(t.check_every, Duration::from_secs(5));
    assert_eq!(t.grace, Duration::from_secs(10));
    // the standby's poll and its wait, inside the configured takeover
    assert!(t.check_every + t.grace < Duration::from_secs(20));
}

#[tokio::test]
async fn one_holder_at_a_time_and_a_closed_session_frees_it() {
    let Some(url) = postgres().await else { return };
    let key = fresh_key();
    let mut first = Lease::try_acquire(&url, key, fast())
        .await
        .expect("try")
        .expect("a free lease is taken");
    assert!(
        Lease::try_acquire(&url, key, fast())
            .await
            .expect("try")
            .is_none(),
        "a second holder while the first holds it"
    );
    first.check(Duration::from_secs(2)).await.expect("held");
    // another key is another lease
    let other = Lease::try_acquire(&url, fresh_key(), fast())
        .await
        .expect("try");
    assert!(other.is_some());

    // the first's connection closes (as when its process is killed)
    drop(first);
    let second = acquire_within(&url, key, Duration::from_secs(5)).await;
    assert!(
        second.is_some(),
        "the lease was not freed by the closed session"
    );
}

#[tokio::test]
async fn a_cut_holder_reports_it_lost_the_lease() {
    let Some(url) = postgres().await else { return };
    let key = fresh_key();
    let mut holder = Lease::try_acquire(&url, key, fast())
        .await
        .expect("try")
        .expect("taken");
    let pid = holder.backend_pid().await.expect("pid");
    terminate(&url, pid).await;
    assert!(
        holder.check(Duration::from_secs(2)).await.is_err(),
        "a holder whose session is gone still thinks it holds the lease"
    );
    let next = acquire_within(&url, key, Duration::from_secs(5)).await;
    assert!(next.is_some(), "nobody can take over from the cut holder");
}

/// Counts nodes acting at once; a node acts from its start until its tasks end.
struct Acting(Arc<AtomicUsize>);

impl Drop for Acting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Nodes acting now, the most ever at once, and each node's starts.
#[derive(Default)]
struct Counts {
    now: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
}

fn start_counting(counts: &Counts, mine: Arc<AtomicUsize>) -> StartActive {
    let (now, most) = (counts.now.clone(), counts.most.clone());
    Box::new(move |token: CancellationToken| {
        let (now, most, mine) = (now.clone(), most.clone(), mine.clone());
        Box::pin(async move {
            let mut tasks = Tasks::new();
            let acting = Acting(now.clone());
            let n = now.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(n, Ordering::SeqCst);
            mine.fetch_add(1, Ordering::SeqCst);
            tasks.spawn(async move {
                token.cancelled().await;
                drop(acting);
                ("acting", Ok(()))
            });
            Ok(tasks)
        })
    })
}

async fn wait_for(what: &str, within: Duration, done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} not within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_never_act_at_once_and_the_standby_takes_over() {
    let Some(url) = postgres().await else { return };
    let takeover = Duration::from_secs(4);
    let settings = HaSettings {
        database_url: url,
        key: fresh_key(),
        timing: Timing::from_takeover(takeover),
    };
    let counts = Counts::default();
    let spawn = |mine: Arc<AtomicUsize>, shutdown: CancellationToken| {
        let report = RoleReport {
            metrics: Arc::new(Metrics::new()),
            readiness: Arc::new(Readiness::default()),
        };
        let start = start_counting(&counts, mine);
        tokio::spawn(run(settings.clone(), report, start, shutdown))
    };
    let starts = [Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0))];
    let stops = [CancellationToken::new(), CancellationToken::new()];
    let mut nodes = vec![
        spawn(starts[0].clone(), stops[0].clone()),
        spawn(starts[1].clone(), stops[1].clone()),
    ];
    let total = || {
        starts
            .iter()
            .map(|s| s.load(Ordering::SeqCst))
            .sum::<usize>()
    };
    wait_for("a node active", Duration::from_secs(10), || total() == 1).await;
    // both contend for several check periods: still only one ever acted
    tokio::time::sleep(settings.timing.check_every * 4).await;
    assert_eq!(total(), 1, "the standby started acting too");
    assert_eq!(
        counts.most.load(Ordering::SeqCst),
        1,
        "both nodes acted at once"
    );

    // the active one dies without a word (its session closes with it)
    let active = usize::from(starts[1].load(Ordering::SeqCst) == 1);
    let standby = 1 - active;
    let dead = nodes.remove(active);
    dead.abort();
    let _ = dead.await;
    wait_for("the dead node's tasks gone", Duration::from_secs(1), || {
        counts.now.load(Ordering::SeqCst) == 0
    })
    .await;
    let died = tokio::time::Instant::now();
    wait_for("the standby acting", takeover, || {
        starts[standby].load(Ordering::SeqCst) == 1
    })
    .await;
    assert!(died.elapsed() <= takeover);
    assert_eq!(
        counts.most.load(Ordering::SeqCst),
        1,
        "both nodes acted at once"
    );

    stops[standby].cancel();
    nodes.remove(0).await.expect("join").expect("stops cleanly");
    assert_eq!(
        counts.now.load(Ordering::SeqCst),
        0,
        "still acting after the stop"
    );
}
