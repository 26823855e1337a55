//! `sidebridge-bench`: benchmarks that print numbers and never pass or fail on timing
//! (`ops/bench` runs them).

mod clock;
mod e2e;
mod gas;
mod gas_hub;
mod load;
mod observe;
mod report;
mod routes;
mod shape;
mod soak;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(about = "Sidebridge benchmarks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Gas of release, releaseBatch, approveDeposits and submitSignatures from real receipts.
    Gas,
    /// Transfers end to end through real relayer processes on two anvils.
    E2e(e2e::Options),
    /// Both directions with every relayer behind a fault proxy and one killed every minute:
    /// lost, paid twice, latency, memory and ledger against balance.
    Soak(soak::Options),
}

#[tokio::main]
async fn main() -> eyre::Result<()> {
    match Cli::parse().command {
        Command::Gas => gas::run().await,
        Command::E2e(options) => match options.side_chains {
            Some(m) => routes::run(options, m).await,
            None => e2e::run(options).await,
        },
        Command::Soak(options) => soak::run(options).await,
    }
}
