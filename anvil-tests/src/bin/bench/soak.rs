//! `ops/bench soak`: N deposits then N withdrawals through V relayer processes, each behind its
//! own fault proxy dropping and delaying requests at random, with one relayer killed (SIGKILL)
//! and restarted every `--kill-every` seconds, round robin. It prints what matters after such a
//! run: transfers lost and paid twice, latency, the relayers' memory at the start and the end,
//! how far each ledger is from its account's balance change (the goal is 0 wei), and every
//! relayer that exited on its own (the goal is none: it is restarted, and its last log line
//! printed) or did not stop cleanly on SIGTERM at the end.

use std::{collections::HashMap, time::Duration};

use alloy::{
    primitives::{Address, U256},
    providers::{DynProvider, Provider},
    rpc::types::{Filter, Log},
    sol_types::{SolCall, SolEvent},
};
use eyre::bail;
use sidebridge_anvil_tests::{
    MAIN_CHAIN_ID, SIDE_CHAIN_ID,
    proxy::Chaos,
    relayers::{NodeOptions, RelayerNode},
    tokens,
};
use sidebridge_contracts::bindings::{MainBridge, SideBridge};
use sidebridge_relayer::{domain::Chain, store::Store};
use tokio::time::Instant;

use crate::{
    load,
    observe::proc_rss_mib,
    report::percentile,
    shape::{Chains, LOAD_GAS, Shape, events, sign_spread, tempfile_dir, with_logs},
};

#[derive(Debug, clap::Args)]
pub(crate) struct Options {
    /// Transfers each way.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) transfers: usize,
    #[command(flatten)]
    pub(crate) shape: Shape,
    /// Seconds between two kills (one relayer each, round robin).
    #[arg(long, default_value_t = 60)]
    pub(crate) kill_every: u64,
    /// Share of RPC requests each proxy drops without an answer.
    #[arg(long, default_value_t = 0.02)]
    pub(crate) drop: f64,
    /// Longest random delay a proxy adds to a request, in milliseconds.
    #[arg(long, default_value_t = 50)]
    pub(crate) max_delay_ms: u64,
}

/// The killer's schedule, and the relayers that exited without being killed.
struct Killer {
    every: Duration,
    next_at: Instant,
    next: usize,
    kills: usize,
    /// Each relayer that exited on its own: which, how, and its last log line.
    exits: Vec<String>,
}

impl Killer {
    /// Restarts (and records) any relayer that exited on its own, then kills and restarts the
    /// next relayer when its time came.
    async fn tick(&mut self, nodes: &mut [RelayerNode]) -> eyre::Result<()> {
        for (i, node) in nodes.iter_mut().enumerate() {
            if let Some(status) = node.exited()? {
                let log = node.log();
                let last = log.lines().last().unwrap_or_default().to_string();
                eprintln!("  relayer {i} exited on its own ({status}): {last}");
                self.exits.push(format!("relayer {i} ({status}): {last}"));
                node.start().await?;
            }
        }
        if Instant::now() < self.next_at {
            return Ok(());
        }
        let i = self.next % nodes.len();
        nodes[i].kill().await?;
        nodes[i].start().await?;
        eprintln!("  killed and restarted relayer {i}");
        self.next += 1;
        self.kills += 1;
        self.next_at = Instant::now() + self.every;
        Ok(())
    }
}

/// One direction's outcome.
struct Outcome {
    lost: usize,
    doubled: usize,
    /// From the source block's timestamp to the destination block's, in seconds.
    latency_secs: Vec<f64>,
}

pub(crate) async fn run(o: Options) -> eyre::Result<()> {
    o.shape.check(o.transfers)?;
    let n = o.transfers;
    let Chains {
        sys,
        main,
        side,
        holders,
    } = o.shape.start_chains(n).await?;

    eprintln!(
        "starting {} relayers behind fault proxies…",
        o.shape.validators
    );
    let dir = tempfile_dir()?;
    let options = NodeOptions {
        proxied: true,
        ..o.shape.node_options()
    };
    let mut nodes = Vec::new();
    let mut start_balances = Vec::new();
    for (i, key) in sys.validators.iter().enumerate() {
        start_balances.push((
            sys.native_balance(true, key.address()).await?,
            sys.native_balance(false, key.address()).await?,
        ));
        let mut node =
            RelayerNode::prepare(&sys, key, &dir.path().join(format!("v{i}")), &options).await?;
        node.start().await?;
        nodes.push(node);
    }
    let chaos = Chaos {
        drop_probability: o.drop,
        max_delay: Duration::from_millis(o.max_delay_ms),
    };
    for node in &nodes {
        if let Some((m, s)) = &node.proxies {
            m.chaos(Some(chaos));
            s.chaos(Some(chaos));
        }
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let rss_start = rss(&nodes)?;
    let mut killer = Killer {
        every: Duration::from_secs(o.kill_every.max(1)),
        next_at: Instant::now() + Duration::from_secs(o.kill_every.max(1)),
        next: 0,
        kills: 0,
        exits: Vec::new(),
    };
    let timeout = Duration::from_secs(600 + n as u64 / 5);
    let d = &sys.deployment;

    eprintln!("{n} deposits…");
    let token = sys.main_token;
    let deposits = leg(
        (&main, MAIN_CHAIN_ID, d.main.bridge),
        (&side, d.side.bridge),
        &holders,
        n,
        |to| {
            MainBridge::lockCall {
                token,
                amount: tokens(1),
                recipient: to,
            }
            .abi_encode()
        },
        |l| Some(MainBridge::Locked::decode_log_data(l.data()).ok()?.nonce),
        |l| {
            Some(
                SideBridge::DepositExecuted::decode_log_data(l.data())
                    .ok()?
                    .nonce,
            )
        },
        &mut nodes,
        &mut killer,
        timeout,
    )
    .await
    .map_err(|e| with_logs(e, &nodes))?;

    eprintln!("{n} withdrawals…");
    let wrapped = sys.wrapped_token;
    let withdrawals = leg(
        (&side, SIDE_CHAIN_ID, d.side.bridge),
        (&main, d.main.bridge),
        &holders,
        n,
        |to| {
            SideBridge::burnCall {
                wrapped,
                amount: tokens(1),
                recipient: to,
            }
            .abi_encode()
        },
        |l| Some(SideBridge::Burned::decode_log_data(l.data()).ok()?.nonce),
        |l| Some(MainBridge::Released::decode_log_data(l.data()).ok()?.nonce),
        &mut nodes,
        &mut killer,
        timeout,
    )
    .await
    .map_err(|e| with_logs(e, &nodes))?;

    killer.tick(&mut nodes).await?; // one that exited at the very end counts too
    let rss_end = rss(&nodes)?;
    // let the last transactions settle without faults, then stop: each ledger is closed
    for node in &nodes {
        if let Some((m, s)) = &node.proxies {
            m.chaos(None);
            s.chaos(None);
        }
    }
    tokio::time::sleep(Duration::from_secs(5 * o.shape.block_time.max(1))).await;
    let mut unclean = Vec::new();
    for (i, node) in nodes.iter_mut().enumerate() {
        match node.stop().await? {
            Some(0) => {}
            code => unclean.push(format!("relayer {i}: exit code {code:?} on SIGTERM")),
        }
    }
    let mut ledger_diff = U256::ZERO;
    for (node, (main_start, side_start)) in nodes.iter().zip(&start_balances) {
        let store = Store::connect(&node.database_url).await?;
        let address = node.address;
        for (chain, start) in [(Chain::Main, main_start), (Chain::Side, side_start)] {
            let now = sys.native_balance(chain == Chain::Main, address).await?;
            let spent = start.saturating_sub(now);
            let charged = store.total_cost(chain).await?;
            ledger_diff += spent.max(charged) - spent.min(charged);
        }
    }

    println!(
        "\nsoak: {n} transfers each way, {} relayers (threshold {}), each behind a proxy dropping {:.1}% of requests and delaying up to {} ms; one relayer killed (SIGKILL) and restarted every {} s ({} kills)\n",
        o.shape.validators,
        o.shape.threshold,
        o.drop * 100.0,
        o.max_delay_ms,
        o.kill_every,
        killer.kills
    );
    println!("| | deposits | withdrawals |");
    println!("| --- | ---: | ---: |");
    println!("| lost | {} | {} |", deposits.lost, withdrawals.lost);
    println!(
        "| paid twice | {} | {} |",
        deposits.doubled, withdrawals.doubled
    );
    for (name, p) in [("p50", 50.0), ("p99", 99.0)] {
        println!(
            "| latency {name} (s, block timestamps) | {:.0} | {:.0} |",
            percentile(&deposits.latency_secs, p),
            percentile(&withdrawals.latency_secs, p)
        );
    }
    println!(
        "\nrelayer RSS (MiB), start → end: {}",
        rss_start
            .iter()
            .zip(&rss_end)
            .map(|(a, b)| format!("{a:.0} → {b:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("ledger vs balance change, all relayers and chains: {ledger_diff} wei");
    println!(
        "relayers that exited on their own: {}{}",
        killer.exits.len(),
        killer
            .exits
            .iter()
            .map(|e| format!("\n  {e}"))
            .collect::<String>()
    );
    println!(
        "relayers that did not stop cleanly on SIGTERM at the end: {}{}",
        unclean.len(),
        unclean
            .iter()
            .map(|e| format!("\n  {e}"))
            .collect::<String>()
    );
    Ok(())
}

fn rss(nodes: &[RelayerNode]) -> eyre::Result<Vec<f64>> {
    nodes
        .iter()
        .map(|node| proc_rss_mib(node.pid().ok_or_else(|| eyre::eyre!("a relayer is down"))?))
        .collect()
}

/// Sends `n` transfers from the holders (each to itself) on `source`, then follows the
/// destination's landing events until every nonce landed or `timeout`, killing on schedule.
#[allow(clippy::too_many_arguments)]
async fn leg(
    (src, src_chain, src_bridge): (&DynProvider, u64, Address),
    (dst, dst_bridge): (&DynProvider, Address),
    holders: &[alloy::signers::local::PrivateKeySigner],
    n: usize,
    call: impl Fn(Address) -> Vec<u8>,
    sent: fn(&Log) -> Option<u64>,
    landed: fn(&Log) -> Option<u64>,
    nodes: &mut [RelayerNode],
    killer: &mut Killer,
    timeout: Duration,
) -> eyre::Result<Outcome> {
    let src_from = src.get_block_number().await?;
    let dst_from = dst.get_block_number().await?;
    let signed = sign_spread(src, src_chain, holders, n, LOAD_GAS, |h| {
        (src_bridge, call(h.address()).into())
    })
    .await?;
    load::send(src, signed).await?;
    let deadline = Instant::now() + timeout;
    let mut landings: HashMap<u64, (u64, usize)> = HashMap::new();
    let mut next = dst_from + 1;
    while landings.len() < n && Instant::now() < deadline {
        killer.tick(nodes).await?;
        let head = dst.get_block_number().await?;
        if head >= next {
            let filter = Filter::new()
                .address(dst_bridge)
                .from_block(next)
                .to_block(head);
            for log in dst.get_logs(&filter).await? {
                if let (Some(nonce), Some(block)) = (landed(&log), log.block_number) {
                    let entry = landings.entry(nonce).or_insert((block, 0));
                    entry.1 += 1;
                }
            }
            next = head + 1;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let sources = events(src, src_bridge, src_from, sent).await?;
    if sources.len() != n {
        bail!("{} of {n} transfers were sent", sources.len());
    }
    // the two chains number their blocks apart: compare the blocks' timestamps
    let mut stamps: HashMap<(bool, u64), u64> = HashMap::new();
    let mut latency_secs = Vec::new();
    for (nonce, (dst_block, _)) in &landings {
        let Some(src_block) = sources.get(nonce) else {
            continue;
        };
        let s = timestamp(&mut stamps, src, true, *src_block).await?;
        let d = timestamp(&mut stamps, dst, false, *dst_block).await?;
        latency_secs.push(d.saturating_sub(s) as f64);
    }
    latency_secs.sort_by(f64::total_cmp);
    Ok(Outcome {
        lost: n - landings.len(),
        doubled: landings.values().map(|(_, count)| count - 1).sum(),
        latency_secs,
    })
}

/// A block's timestamp, read once.
async fn timestamp(
    cache: &mut HashMap<(bool, u64), u64>,
    provider: &DynProvider,
    source: bool,
    block: u64,
) -> eyre::Result<u64> {
    if let Some(t) = cache.get(&(source, block)) {
        return Ok(*t);
    }
    let b = provider
        .get_block_by_number(block.into())
        .await?
        .ok_or_else(|| eyre::eyre!("block {block} missing"))?;
    cache.insert((source, block), b.header.timestamp);
    Ok(b.header.timestamp)
}
