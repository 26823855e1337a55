//! `ops/bench e2e --side-chains M`: the hub with M side chains, each a route with its 3
//! validators (threshold 2) running one relayer process each (today one process per route and
//! validator), every chain mining a block every `--block-time` seconds. N deposits per route
//! (all M routes' locks sent at once on the main chain), then N withdrawals per route (each
//! side chain's burns at once). Per route it prints throughput and latency; for the relayers,
//! CPU per transfer, peak RSS and the JSON-RPC calls they made per second (counted by a pass-
//! through proxy in front of each chain for each relayer). Run it for M = 1, 2, 4 and compare
//! within one machine: the slope per added side chain is what sizes a validator with 1,000.

use std::{collections::HashMap, time::Duration};

use alloy::{
    primitives::{B256, Bytes},
    providers::{DynProvider, Provider, ext::AnvilApi},
    signers::local::PrivateKeySigner,
    sol_types::{SolCall, SolEvent},
};
use eyre::ensure;
use sidebridge_anvil_tests::{
    MAIN_CHAIN_ID, SIDE_CHAIN_ID,
    hub::HubSystem,
    relayers::{NodeOptions, RelayerNode},
    tokens,
};
use sidebridge_contracts::bindings::{MainHub, SideBridge};
use tokio::time::Instant;

use crate::{
    clock::BlockClock,
    e2e::Options,
    load,
    observe::{proc_cpu_secs, proc_peak_rss_mib},
    report::percentile,
    shape::{Funder, LOAD_GAS, await_events, events, tempfile_dir, with_logs},
};

/// Validators per route and the threshold, as `HubSystem` deploys them.
const VALIDATORS: usize = 3;
const THRESHOLD: usize = 2;

/// Relayers with nothing to carry, per process.
struct Idle {
    /// CPU cores.
    cpu_per_relayer: f64,
    calls_per_relayer: f64,
}

/// One direction, all routes.
struct Phase {
    /// Per route: transfers/s from the first send to its last landing, and latencies (ms).
    routes: Vec<(f64, Vec<f64>)>,
    span_secs: f64,
    cpu_secs: f64,
    rpc_calls: u64,
}

pub(crate) async fn run(options: Options, m: usize) -> eyre::Result<()> {
    let n = options.transfers;
    ensure!(n > 0, "--transfers must be positive");
    ensure!(
        (1..=64).contains(&m),
        "--side-chains must be between 1 and 64"
    );
    eprintln!(
        "starting {} anvils and deploying the hub with {m} routes…",
        m + 1
    );
    let sys = HubSystem::start(m).await?;
    let holders = fund(&sys, options.shape.holders.clamp(1, n), n).await?;
    let main = sys.main_as(&sys.holder);
    let sides: Vec<DynProvider> = (0..m).map(|i| sys.side_as(i, &sys.holder)).collect();
    for p in std::iter::once(&main).chain(&sides) {
        p.anvil_set_auto_mine(false).await?;
        p.anvil_set_interval_mining(options.shape.block_time)
            .await?;
    }
    let main_clock = BlockClock::start(sys.main.endpoint_url()).await?;
    let mut side_clocks = Vec::with_capacity(m);
    for side in &sys.sides {
        side_clocks.push(BlockClock::start(side.endpoint_url()).await?);
    }

    eprintln!(
        "starting {} relayers ({VALIDATORS} per route)…",
        m * VALIDATORS
    );
    let dir = tempfile_dir()?;
    let node_options = NodeOptions {
        proxied: true,
        ..options.node_options()
    };
    let mut nodes = Vec::new();
    for r in 0..m {
        for (j, key) in sys.validators[r].iter().enumerate() {
            let path = dir.path().join(format!("r{r}v{j}"));
            let mut node =
                RelayerNode::prepare_for(&sys.target(r), key, &path, &node_options).await?;
            node.start().await?;
            nodes.push(node);
        }
    }
    let timeout = Duration::from_secs(300 + (n * m) as u64 / 10);
    let bench = Bench {
        sys: &sys,
        main: &main,
        sides: &sides,
        main_clock: &main_clock,
        side_clocks: &side_clocks,
        nodes: &nodes,
        holders: &holders,
        n,
        timeout,
    };
    // what an idle route costs: most of a validator's 1,000 side chains are idle at any moment
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (idle_cpu0, idle_calls0) = bench.counters().await?;
    let idle_secs = 20.0;
    tokio::time::sleep(Duration::from_secs_f64(idle_secs)).await;
    let (idle_cpu1, idle_calls1) = bench.counters().await?;
    let idle = Idle {
        cpu_per_relayer: (idle_cpu1 - idle_cpu0) / idle_secs / (m * VALIDATORS) as f64,
        calls_per_relayer: (idle_calls1 - idle_calls0) as f64 / idle_secs / (m * VALIDATORS) as f64,
    };
    eprintln!("{n} deposits per route…");
    let deposits = bench.deposits().await.map_err(|e| with_logs(e, &nodes))?;
    eprintln!("{n} withdrawals per route…");
    let withdrawals = bench
        .withdrawals()
        .await
        .map_err(|e| with_logs(e, &nodes))?;
    let mut peak_rss = 0.0f64;
    for node in &nodes {
        if let Some(pid) = node.pid() {
            peak_rss = peak_rss.max(proc_peak_rss_mib(pid)?);
        }
    }
    let rows = if options.postgres {
        None
    } else {
        Some(stored_rows(&nodes[0].database_url).await?)
    };
    report(&options, m, &deposits, &withdrawals, &idle, peak_rss);
    if let Some((rows, tables)) = rows {
        println!(
            "stored by one relayer for its route's {} transfers: {rows} rows over {tables} tables ({:.1} rows per transfer)",
            2 * n,
            rows as f64 / (2 * n) as f64
        );
    }
    for node in &mut nodes {
        node.stop().await?;
    }
    Ok(())
}

/// Gives each holder gas on every chain, DEMO for `n` deposits to every route and the hub's
/// allowance (while the chains still mine every transaction at once).
async fn fund(sys: &HubSystem, count: usize, n: usize) -> eyre::Result<Vec<PrivateKeySigner>> {
    let funder = Funder {
        main: sys.main_as(&sys.holder),
        gas_on: (0..sys.sides.len())
            .map(|i| sys.side_as(i, &sys.holder))
            .collect(),
        token: sys.main_token,
        spender: sys.deployment.main.bridge,
    };
    let each = tokens(((n / count + 2) * sys.sides.len()) as u64);
    funder.fund(count, each, |h| sys.main_as(h)).await
}

struct Bench<'a> {
    sys: &'a HubSystem,
    main: &'a DynProvider,
    sides: &'a [DynProvider],
    main_clock: &'a BlockClock,
    side_clocks: &'a [BlockClock],
    nodes: &'a [RelayerNode],
    holders: &'a [PrivateKeySigner],
    n: usize,
    timeout: Duration,
}

impl Bench<'_> {
    fn route(&self, r: usize) -> B256 {
        self.sys.deployment.routes[r].id
    }

    /// The relayers' counters and every chain's head, before a phase.
    async fn marks(&self) -> eyre::Result<((f64, u64), u64, Vec<u64>)> {
        let counters = self.counters().await?;
        let main = self.main.get_block_number().await?;
        let mut sides = Vec::with_capacity(self.sides.len());
        for side in self.sides {
            sides.push(side.get_block_number().await?);
        }
        Ok((counters, main, sides))
    }

    /// A phase's numbers, from the relayers' counters before it.
    async fn finish(
        &self,
        routes: Vec<(f64, Vec<f64>)>,
        started: Instant,
        last: Instant,
        (cpu0, calls0): (f64, u64),
    ) -> eyre::Result<Phase> {
        let (cpu1, calls1) = self.counters().await?;
        Ok(Phase {
            routes,
            span_secs: (last - started).as_secs_f64(),
            cpu_secs: cpu1 - cpu0,
            rpc_calls: calls1 - calls0,
        })
    }

    async fn counters(&self) -> eyre::Result<(f64, u64)> {
        let mut cpu = 0.0;
        let mut calls = 0;
        for node in self.nodes {
            let pid = node
                .pid()
                .ok_or_else(|| eyre::eyre!("a relayer is not running"))?;
            cpu += proc_cpu_secs(pid)?;
            if let Some((main, side)) = &node.proxies {
                calls += main.seen_total() + side.seen_total();
            }
        }
        Ok((cpu, calls))
    }

    /// N locks per route on the main chain, all sent at once; each minted on its side chain.
    async fn deposits(&self) -> eyre::Result<Phase> {
        let m = self.sides.len();
        let ((cpu0, calls0), main_from, side_from) = self.marks().await?;
        let hub = self.sys.deployment.main.bridge;
        let token = self.sys.main_token;
        // every holder's locks, round-robin over the routes, signed in one nonce sequence
        let mut signed = Vec::new();
        for (i, h) in self.holders.iter().enumerate() {
            let count = self.n / self.holders.len() + usize::from(i < self.n % self.holders.len());
            let calls = (0..count * m).map(|k| {
                let input = MainHub::lockCall {
                    id: self.route(k % m),
                    token,
                    amount: tokens(1),
                    recipient: h.address(),
                }
                .abi_encode();
                (hub, Bytes::from(input))
            });
            signed.push(load::sign(self.main, MAIN_CHAIN_ID, h, LOAD_GAS, calls).await?);
        }
        let started = load::send(self.main, signed).await?;
        let mut routes = Vec::with_capacity(m);
        let mut last = started;
        for (r, from) in side_from.iter().enumerate() {
            let bridge = self.sys.deployment.routes[r].side.bridge;
            let landed = await_events(&self.sides[r], bridge, *from, self.n, self.timeout, |log| {
                SideBridge::DepositExecuted::decode_log(&log.inner)
                    .ok()
                    .map(|e| e.nonce)
            })
            .await?;
            let route = self.route(r);
            let sent = events(self.main, hub, main_from, |log| {
                MainHub::Locked::decode_log(&log.inner)
                    .ok()
                    .filter(|e| e.route == route)
                    .map(|e| e.nonce)
            })
            .await?;
            let (rate, lat, end) = measure(
                started,
                (&sent, self.main_clock),
                (&landed, &self.side_clocks[r]),
                self.n,
            )?;
            last = last.max(end);
            routes.push((rate, lat));
        }
        self.finish(routes, started, last, (cpu0, calls0)).await
    }

    /// N burns per route on each side chain, all sent at once; each released on the hub.
    async fn withdrawals(&self) -> eyre::Result<Phase> {
        let m = self.sides.len();
        let ((cpu0, calls0), main_from, side_from) = self.marks().await?;
        let mut starts = Vec::with_capacity(m);
        for r in 0..m {
            let bridge = self.sys.deployment.routes[r].side.bridge;
            let wrapped = self.sys.wrapped(r);
            let mut signed = Vec::new();
            for (i, h) in self.holders.iter().enumerate() {
                let count =
                    self.n / self.holders.len() + usize::from(i < self.n % self.holders.len());
                let calls = (0..count).map(|_| {
                    let input = SideBridge::burnCall {
                        wrapped,
                        amount: tokens(1),
                        recipient: h.address(),
                    }
                    .abi_encode();
                    (bridge, Bytes::from(input))
                });
                let chain_id = SIDE_CHAIN_ID + r as u64;
                signed.push(load::sign(&self.sides[r], chain_id, h, LOAD_GAS, calls).await?);
            }
            starts.push(signed);
        }
        let mut sends = tokio::task::JoinSet::new();
        for (r, signed) in starts.into_iter().enumerate() {
            let side = self.sides[r].clone();
            sends.spawn(async move { load::send(&side, signed).await });
        }
        let mut started: Option<Instant> = None;
        while let Some(joined) = sends.join_next().await {
            let at = joined??;
            started = Some(started.map_or(at, |s| s.min(at)));
        }
        let started = started.expect("at least one route");
        let hub = self.sys.deployment.main.bridge;
        let mut routes = Vec::with_capacity(m);
        let mut last = started;
        for (r, from) in side_from.iter().enumerate() {
            let route = self.route(r);
            let landed = await_events(self.main, hub, main_from, self.n, self.timeout, |log| {
                MainHub::Released::decode_log(&log.inner)
                    .ok()
                    .filter(|e| e.route == route)
                    .map(|e| e.nonce)
            })
            .await?;
            let bridge = self.sys.deployment.routes[r].side.bridge;
            let sent = events(&self.sides[r], bridge, *from, |log| {
                SideBridge::Burned::decode_log(&log.inner)
                    .ok()
                    .map(|e| e.nonce)
            })
            .await?;
            let (rate, lat, end) = measure(
                started,
                (&sent, &self.side_clocks[r]),
                (&landed, self.main_clock),
                self.n,
            )?;
            last = last.max(end);
            routes.push((rate, lat));
        }
        self.finish(routes, started, last, (cpu0, calls0)).await
    }
}

/// Rows in every table of a relayer's SQLite database, and how many tables.
async fn stored_rows(database_url: &str) -> eyre::Result<(u64, usize)> {
    use sqlx::Row;
    let pool = sqlx::SqlitePool::connect(database_url).await?;
    let tables: Vec<String> = sqlx::query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%'",
    )
    .fetch_all(&pool)
    .await?
    .iter()
    .map(|r| r.get::<String, _>(0))
    .collect();
    let mut rows = 0u64;
    for table in &tables {
        let n: i64 = sqlx::query(&format!("SELECT count(*) FROM \"{table}\""))
            .fetch_one(&pool)
            .await?
            .get(0);
        rows += n as u64;
    }
    pool.close().await;
    Ok((rows, tables.len()))
}

/// A route's rate (transfers/s from `started` to its last landing), its latencies from the
/// source block's arrival to the destination block's, and when its last one landed.
fn measure(
    started: Instant,
    (sent, src_clock): (&HashMap<u64, u64>, &BlockClock),
    (landed, dst_clock): (&HashMap<u64, u64>, &BlockClock),
    n: usize,
) -> eyre::Result<(f64, Vec<f64>, Instant)> {
    let (mut latencies, last) =
        crate::clock::latencies(started, (src_clock, sent), (dst_clock, landed), n)?;
    latencies.sort_by(f64::total_cmp);
    let rate = n as f64 / (last - started).as_secs_f64().max(1e-3);
    Ok((rate, latencies, last))
}

fn report(
    options: &Options,
    m: usize,
    deposits: &Phase,
    withdrawals: &Phase,
    idle: &Idle,
    peak_rss: f64,
) {
    let n = options.transfers;
    let relayers = m * VALIDATORS;
    println!(
        "e2e --side-chains {m}: {n} transfers each way per route, {VALIDATORS} validators per route \
         (threshold {THRESHOLD}), one relayer process per route and validator ({relayers} in all), \
         {} holders, {} s blocks, {} confirmations, batch {}, {}",
        options.shape.holders,
        options.shape.block_time,
        options.shape.confirmations,
        options.shape.batch_size,
        if options.postgres {
            "PostgreSQL"
        } else {
            "SQLite"
        },
    );
    println!();
    println!(
        "| route | deposits/s | deposit p50 / p99 ms | withdrawals/s | withdrawal p50 / p99 ms |"
    );
    println!("| --- | ---: | ---: | ---: | ---: |");
    for r in 0..m {
        let (dr, dl) = &deposits.routes[r];
        let (wr, wl) = &withdrawals.routes[r];
        println!(
            "| {r} | {dr:.0} | {:.0} / {:.0} | {wr:.0} | {:.0} / {:.0} |",
            percentile(dl, 50.0),
            percentile(dl, 99.0),
            percentile(wl, 50.0),
            percentile(wl, 99.0),
        );
    }
    println!();
    println!("| relayers, all routes | deposits | withdrawals |");
    println!("| --- | ---: | ---: |");
    let both = |name: &str, f: &dyn Fn(&Phase) -> String| {
        println!("| {name} | {} | {} |", f(deposits), f(withdrawals));
    };
    both("transfers/s, all routes together", &|p| {
        format!("{:.0}", (n * m) as f64 / p.span_secs.max(1e-3))
    });
    both("CPU ms per transfer, each relayer", &|p| {
        format!(
            "{:.2}",
            p.cpu_secs * 1e3 / (n * m) as f64 / VALIDATORS as f64
        )
    });
    both("CPU cores, all relayers", &|p| {
        format!("{:.2}", p.cpu_secs / p.span_secs.max(1e-3))
    });
    both("JSON-RPC calls/s per relayer process", &|p| {
        format!(
            "{:.1}",
            p.rpc_calls as f64 / p.span_secs.max(1e-3) / relayers as f64
        )
    });
    both("JSON-RPC calls per transfer, each relayer", &|p| {
        format!(
            "{:.2}",
            p.rpc_calls as f64 / (n * m) as f64 / VALIDATORS as f64
        )
    });
    println!("| peak RSS of a relayer process | {peak_rss:.0} MiB | |");
    println!();
    println!(
        "idle (20 s, no transfers), per relayer process: {:.1} JSON-RPC calls/s, {:.2}% of a core",
        idle.calls_per_relayer,
        idle.cpu_per_relayer * 100.0
    );
}
