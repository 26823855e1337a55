//! `ops/bench e2e`: transfers end to end through real relayer processes. Two anvils mining a
//! block every `--block-time` seconds, V relayers (one per validator, its own keystore and
//! database), and a load generator that sends N deposits from several holders as fast as the
//! main chain takes them, waits until all are minted, then N withdrawals back. Per direction it
//! prints throughput, latency (ms and blocks), what the relayers spent, how many RPC calls a
//! planning round made, and the relayers' CPU time and peak memory — beside the anvil ceiling
//! (pipelined ERC-20 transfers on the same chain settings) measured in the same run.

use std::{collections::HashMap, time::Duration};

use alloy::{
    eips::BlockNumberOrTag,
    primitives::{Address, Bytes, U256},
    providers::{DynProvider, Provider},
    rpc::types::Log,
    signers::local::PrivateKeySigner,
    sol_types::{SolCall, SolEvent},
};
use sidebridge_anvil_tests::{
    MAIN_CHAIN_ID, SIDE_CHAIN_ID, System,
    relayers::{Backend, NodeOptions, RelayerNode, http_get},
    tokens,
};
use sidebridge_contracts::bindings::{IERC20Metadata, MainBridge, SideBridge};
use tokio::time::Instant;

use crate::{
    clock::BlockClock,
    load,
    observe::{metric, proc_cpu_secs, proc_peak_rss_mib},
    report::{Phase, print_report},
    shape::{Chains, LOAD_GAS, Shape, await_events, events, sign_spread, tempfile_dir, with_logs},
};

#[derive(Debug, clap::Args)]
pub(crate) struct Options {
    /// Transfers each way.
    #[arg(long, default_value_t = 1_000)]
    pub(crate) transfers: usize,
    #[command(flatten)]
    pub(crate) shape: Shape,
    /// Transactions each relayer keeps in flight per chain (`relay.max_in_flight`).
    #[arg(long, default_value_t = 8)]
    pub(crate) max_in_flight: usize,
    /// Relayer databases on PostgreSQL (`SIDEBRIDGE_TEST_DATABASE_URL`) instead of SQLite.
    #[arg(long)]
    pub(crate) postgres: bool,
    /// Keep the relayers' directories (configs, logs, SQLite databases) and print where.
    #[arg(long)]
    pub(crate) keep: bool,
    /// Run on a hub with this many side chains (routes), each with 3 validators (threshold 2;
    /// --validators and --threshold do not apply): per-route throughput and latency, and the
    /// relayers' CPU, memory and JSON-RPC calls.
    #[arg(long)]
    pub(crate) side_chains: Option<usize>,
}

impl Options {
    /// What the relayers of an e2e run are given: the shape's settings, the database and the
    /// transactions in flight.
    pub(crate) fn node_options(&self) -> NodeOptions {
        NodeOptions {
            backend: if self.postgres {
                Backend::Postgres
            } else {
                Backend::Sqlite
            },
            max_in_flight: self.max_in_flight,
            ..self.shape.node_options()
        }
    }
}

pub(crate) async fn run(options: Options) -> eyre::Result<()> {
    options.shape.check(options.transfers)?;
    let n = options.transfers;
    let Chains {
        sys,
        main,
        side,
        holders,
    } = options.shape.start_chains(n).await?;
    let clocks = Clocks {
        main: BlockClock::start(sys.main.endpoint_url()).await?,
        side: BlockClock::start(sys.side.endpoint_url()).await?,
    };
    let timeout = Duration::from_secs(300 + n as u64 / 10);

    eprintln!("measuring the anvil ceiling: {n} pipelined ERC-20 transfers…");
    let ceiling = ceiling(&sys, &main, &holders, n, timeout).await?;

    eprintln!("starting {} relayers…", options.shape.validators);
    let dir = tempfile_dir()?;
    let mut nodes = Vec::new();
    let node_options = options.node_options();
    for (i, key) in sys.validators.iter().enumerate() {
        let mut node =
            RelayerNode::prepare(&sys, key, &dir.path().join(format!("v{i}")), &node_options)
                .await?;
        node.start().await?;
        nodes.push(node);
    }
    let validators: Vec<Address> = sys.validators.iter().map(|k| k.address()).collect();
    let bench = Bench {
        sys: &sys,
        main: &main,
        side: &side,
        clocks: &clocks,
        nodes: &nodes,
        validators: &validators,
        holders: &holders,
        n,
        timeout,
        settle_blocks: options.shape.confirmations + 2,
    };

    eprintln!("{n} deposits…");
    let deposits = bench.deposits().await.map_err(|e| with_logs(e, &nodes))?;
    eprintln!("{n} withdrawals…");
    let withdrawals = bench
        .withdrawals()
        .await
        .map_err(|e| with_logs(e, &nodes))?;

    print_report(&options, ceiling, &deposits, &withdrawals);
    for node in &mut nodes {
        node.stop().await?;
    }
    if options.keep {
        println!("relayer directories kept in {}", dir.keep().display());
    }
    Ok(())
}

struct Clocks {
    main: BlockClock,
    side: BlockClock,
}

/// Pipelined ERC-20 transfers per second the main chain takes from the same holders.
async fn ceiling(
    sys: &System,
    main: &DynProvider,
    holders: &[PrivateKeySigner],
    n: usize,
    timeout: Duration,
) -> eyre::Result<f64> {
    let sink = Address::repeat_byte(0x5B);
    let input: Bytes = IERC20Metadata::transferCall {
        to: sink,
        amount: U256::from(1),
    }
    .abi_encode()
    .into();
    let token = sys.main_token;
    let signed = sign_spread(main, MAIN_CHAIN_ID, holders, n, 100_000, |_| {
        (token, input.clone())
    })
    .await?;
    let lasts: Vec<(Address, u64)> = signed.iter().map(|s| (s.holder, s.last_nonce)).collect();
    let started = load::send(main, signed).await?;
    let mined = load::await_mined(main, &lasts, timeout).await?;
    Ok(n as f64 / (mined - started).as_secs_f64())
}

/// The relayers' counters at one moment.
#[derive(Debug, Clone, Copy, Default)]
struct Snapshot {
    main_block: u64,
    side_block: u64,
    cpu_secs: f64,
    rounds: f64,
    round_calls: f64,
}

struct Bench<'a> {
    sys: &'a System,
    main: &'a DynProvider,
    side: &'a DynProvider,
    clocks: &'a Clocks,
    nodes: &'a [RelayerNode],
    validators: &'a [Address],
    holders: &'a [PrivateKeySigner],
    n: usize,
    timeout: Duration,
    /// Blocks to wait after a phase so its last relayer transactions are counted in it.
    settle_blocks: u64,
}

/// One direction of the bridge as the load generator sees it.
struct Leg<'a> {
    source: (&'a DynProvider, &'a BlockClock, u64, Address),
    destination: (&'a DynProvider, &'a BlockClock, Address),
    /// The call a holder makes on the source bridge, to itself as the recipient.
    call: Box<dyn Fn(Address) -> Vec<u8> + 'a>,
    /// The nonce of the source event (lock or burn) a log carries.
    sent: fn(&Log) -> Option<u64>,
    /// The nonce of the destination event (mint or release) a log carries.
    landed: fn(&Log) -> Option<u64>,
}

impl Bench<'_> {
    async fn deposits(&self) -> eyre::Result<Phase> {
        let d = &self.sys.deployment;
        self.phase(Leg {
            source: (self.main, &self.clocks.main, MAIN_CHAIN_ID, d.main.bridge),
            destination: (self.side, &self.clocks.side, d.side.bridge),
            call: Box::new(|recipient| {
                let token = self.sys.main_token;
                MainBridge::lockCall {
                    token,
                    amount: tokens(1),
                    recipient,
                }
                .abi_encode()
            }),
            sent: |log| {
                let e = MainBridge::Locked::decode_log_data(log.data()).ok()?;
                Some(e.nonce)
            },
            landed: |log| {
                let e = SideBridge::DepositExecuted::decode_log_data(log.data()).ok()?;
                Some(e.nonce)
            },
        })
        .await
    }

    async fn withdrawals(&self) -> eyre::Result<Phase> {
        let d = &self.sys.deployment;
        self.phase(Leg {
            source: (self.side, &self.clocks.side, SIDE_CHAIN_ID, d.side.bridge),
            destination: (self.main, &self.clocks.main, d.main.bridge),
            call: Box::new(|recipient| {
                let wrapped = self.sys.wrapped_token;
                SideBridge::burnCall {
                    wrapped,
                    amount: tokens(1),
                    recipient,
                }
                .abi_encode()
            }),
            sent: |log| {
                let e = SideBridge::Burned::decode_log_data(log.data()).ok()?;
                Some(e.nonce)
            },
            landed: |log| {
                let e = MainBridge::Released::decode_log_data(log.data()).ok()?;
                Some(e.nonce)
            },
        })
        .await
    }

    /// Sends `n` transfers along `leg` (each holder its own recipient), waits until all landed
    /// and measures the phase.
    async fn phase(&self, leg: Leg<'_>) -> eyre::Result<Phase> {
        let (src, src_clock, src_chain, src_bridge) = leg.source;
        let (dst, dst_clock, dst_bridge) = leg.destination;
        let before = self.snapshot().await?;
        let (src_from, dst_from) = if src_chain == MAIN_CHAIN_ID {
            (before.main_block, before.side_block)
        } else {
            (before.side_block, before.main_block)
        };
        let signed = sign_spread(src, src_chain, self.holders, self.n, LOAD_GAS, |h| {
            (src_bridge, (leg.call)(h.address()).into())
        })
        .await?;
        let started = load::send(src, signed).await?;
        let destinations =
            await_events(dst, dst_bridge, dst_from, self.n, self.timeout, leg.landed).await?;
        let sources = events(src, src_bridge, src_from, leg.sent).await?;
        self.measure(
            before,
            started,
            (src_clock, &sources),
            (dst_clock, &destinations),
        )
        .await
    }

    async fn snapshot(&self) -> eyre::Result<Snapshot> {
        let mut s = Snapshot {
            main_block: self.main.get_block_number().await?,
            side_block: self.side.get_block_number().await?,
            ..Snapshot::default()
        };
        for node in self.nodes {
            let pid = node
                .pid()
                .ok_or_else(|| eyre::eyre!("a relayer is not running"))?;
            s.cpu_secs += proc_cpu_secs(pid)?;
            let (_, metrics) = http_get(node.http_port, "/metrics").await;
            s.rounds += metric(&metrics, "sidebridge_planner_rounds_total");
            s.round_calls += metric(&metrics, "sidebridge_planner_rpc_calls_total");
        }
        Ok(s)
    }

    async fn measure(
        &self,
        before: Snapshot,
        started: Instant,
        (src_clock, sources): (&BlockClock, &HashMap<u64, u64>),
        (dst_clock, destinations): (&BlockClock, &HashMap<u64, u64>),
    ) -> eyre::Result<Phase> {
        let (latencies_ms, last) = crate::clock::latencies(
            started,
            (src_clock, sources),
            (dst_clock, destinations),
            self.n,
        )?;
        let span_secs = (last - started).as_secs_f64();
        let rate = self.n as f64 / span_secs;
        // the relayers' last transactions of this phase mine within a few blocks
        let target = dst_clock.head() + self.settle_blocks;
        while dst_clock.head() < target {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let after = self.snapshot().await?;
        let mut phase = Phase {
            rate,
            latencies_ms,
            n: self.n,
            span_secs,
            block_time_ms: 0.0,
            cpu_secs: after.cpu_secs - before.cpu_secs,
            ..Phase::default()
        };
        let rounds = after.rounds - before.rounds;
        if rounds > 0.0 {
            phase.calls_per_round = (after.round_calls - before.round_calls) / rounds;
        }
        for node in self.nodes {
            let (_, metrics) = http_get(node.http_port, "/metrics").await;
            phase.max_calls_per_round = phase
                .max_calls_per_round
                .max(metric(&metrics, "sidebridge_planner_round_rpc_calls_max"));
            if let Some(pid) = node.pid() {
                phase.peak_rss_mib = phase.peak_rss_mib.max(proc_peak_rss_mib(pid)?);
            }
        }
        for (i, (provider, from, to)) in [
            (self.main, before.main_block, after.main_block),
            (self.side, before.side_block, after.side_block),
        ]
        .into_iter()
        .enumerate()
        {
            phase.chain_gas[i] = self
                .count_relayer_txs(provider, from + 1, to, &mut phase)
                .await?;
        }
        phase.block_time_ms = block_time_ms(self.main, before.main_block, after.main_block).await?;
        Ok(phase)
    }

    /// Adds the validators' transactions in `from..=to` to `phase`; returns the gas of all
    /// transactions there.
    async fn count_relayer_txs(
        &self,
        provider: &DynProvider,
        from: u64,
        to: u64,
        phase: &mut Phase,
    ) -> eyre::Result<u64> {
        let mut all = 0;
        for number in from..=to {
            let receipts = provider
                .get_block_receipts(BlockNumberOrTag::Number(number).into())
                .await?
                .unwrap_or_default();
            for r in receipts {
                all += r.gas_used;
                if self.validators.contains(&r.from) {
                    phase.relayer_txs += 1;
                    phase.relayer_gas += r.gas_used;
                    phase.reverted += u64::from(!r.status());
                }
            }
        }
        Ok(all)
    }
}

/// Mean time between blocks over `from..=to`, from their timestamps.
async fn block_time_ms(provider: &DynProvider, from: u64, to: u64) -> eyre::Result<f64> {
    if to <= from {
        return Ok(0.0);
    }
    let stamp = |n: u64| async move {
        let block = provider
            .get_block_by_number(BlockNumberOrTag::Number(n))
            .await?
            .ok_or_else(|| eyre::eyre!("block {n} missing"))?;
        eyre::Ok(block.header.timestamp)
    };
    let span = stamp(to).await?.saturating_sub(stamp(from).await?);
    Ok(span as f64 * 1e3 / (to - from) as f64)
}
