//! What `ops/bench e2e` measured per direction, and the table it prints.

use crate::e2e::Options;

/// What one direction measured.
#[derive(Debug, Default)]
pub(crate) struct Phase {
    pub(crate) rate: f64,
    pub(crate) latencies_ms: Vec<f64>,
    pub(crate) block_time_ms: f64,
    pub(crate) relayer_txs: u64,
    pub(crate) relayer_gas: u64,
    pub(crate) reverted: u64,
    pub(crate) calls_per_round: f64,
    pub(crate) max_calls_per_round: f64,
    pub(crate) cpu_secs: f64,
    pub(crate) peak_rss_mib: f64,
    pub(crate) n: usize,
    /// Seconds from the first send to the last transfer landing.
    pub(crate) span_secs: f64,
    /// Gas of every transaction in the phase's blocks, main then side.
    pub(crate) chain_gas: [u64; 2],
}

pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub(crate) fn print_report(options: &Options, ceiling: f64, deposits: &Phase, withdrawals: &Phase) {
    println!(
        "e2e: {} transfers each way, {} validators (threshold {}), {} holders, {} s blocks, \
         {} confirmations, batch {}, {} in flight, {}",
        options.transfers,
        options.shape.validators,
        options.shape.threshold,
        options.shape.holders,
        options.shape.block_time,
        options.shape.confirmations,
        options.shape.batch_size,
        options.max_in_flight,
        if options.postgres {
            "PostgreSQL"
        } else {
            "SQLite"
        },
    );
    println!("anvil ceiling: {ceiling:.0} pipelined ERC-20 transfers/s (same chain settings)");
    println!();
    println!("| | deposits (lock → mint) | withdrawals (burn → release) |");
    println!("| --- | ---: | ---: |");
    let row = |name: &str, f: &dyn Fn(&Phase) -> String| {
        println!("| {name} | {} | {} |", f(deposits), f(withdrawals));
    };
    row("transfers/s end to end", &|p| format!("{:.0}", p.rate));
    row("of the anvil ceiling", &|p| {
        format!("{:.0}%", 100.0 * p.rate / ceiling)
    });
    let sorted = |p: &Phase| {
        let mut v = p.latencies_ms.clone();
        v.sort_by(f64::total_cmp);
        v
    };
    row("latency p50 / p99 (ms)", &|p| {
        let v = sorted(p);
        format!("{:.0} / {:.0}", percentile(&v, 50.0), percentile(&v, 99.0))
    });
    row("latency p50 / p99 (blocks)", &|p| {
        let v = sorted(p);
        let per_block = (options.shape.block_time as f64 * 1e3).max(1.0);
        format!(
            "{:.1} / {:.1}",
            percentile(&v, 50.0) / per_block,
            percentile(&v, 99.0) / per_block
        )
    });
    row("relayer transactions / transfer", &|p| {
        format!("{:.3}", p.relayer_txs as f64 / p.n as f64)
    });
    row("relayer gas / transfer", &|p| {
        format!("{:.0}", p.relayer_gas as f64 / p.n as f64)
    });
    row("reverted relayer transactions", &|p| p.reverted.to_string());
    row("RPC calls / planner round (mean, max)", &|p| {
        format!("{:.1}, {:.0}", p.calls_per_round, p.max_calls_per_round)
    });
    row("relayer CPU seconds (all relayers)", &|p| {
        format!("{:.1}", p.cpu_secs)
    });
    row("relayer CPU ms / transfer (all relayers)", &|p| {
        format!("{:.2}", 1e3 * p.cpu_secs / p.n as f64)
    });
    row("relayer peak RSS (MiB, largest)", &|p| {
        format!("{:.1}", p.peak_rss_mib)
    });
    row("measured block time (ms)", &|p| {
        format!("{:.0}", p.block_time_ms)
    });
    row("chain Mgas/s, main + side (all transactions)", &|p| {
        let per_sec = |g: u64| g as f64 / 1e6 / p.span_secs.max(1e-9);
        format!(
            "{:.0} + {:.0}",
            per_sec(p.chain_gas[0]),
            per_sec(p.chain_gas[1])
        )
    });
}
