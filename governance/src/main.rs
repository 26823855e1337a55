//! `bridgectl`: how governance members, guardians and operators run Sidebridge. It deploys the
//! system, and on both chains proposes, votes, executes, cancels and inspects governance
//! proposals, and lets a guardian pause or hold a queued transfer at once.
//!
//! Results go to stdout (tables for people, `--json` for scripts); progress, the decoded
//! action a member is about to sign, and errors go to stderr. Anything that signs checks the
//! chain and simulates first, so a transaction that would revert is explained, not sent.

mod client;
mod commands;
mod deploy;
mod guardian;
mod hub_view;
mod propose;
mod state;
mod verify;

use std::process::ExitCode;

use alloy::primitives::B256;
use clap::{Args, Parser, Subcommand};

use crate::{
    client::{ChainSel, ConnArgs, WalletArgs},
    commands::Confirm,
    propose::ProposeAction,
};

#[derive(Debug, Parser)]
#[command(
    name = "bridgectl",
    version,
    about = "Deploy and govern Sidebridge on both chains"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Deploy governance, Operational, the bridge and wrapped tokens on both chains.
    Deploy(deploy::DeployArgs),
    /// Members, thresholds, timelock, validators, guardians, tokens, pause state and proposals.
    Show(ShowArgs),
    /// Propose an action on one or both chains (your vote counts).
    Propose(ProposeArgs),
    /// Vote for a proposal.
    Vote(ProposalArgs),
    /// Execute a proposal that reached its threshold and waited out the timelock.
    Execute(ProposalArgs),
    /// Cancel a proposal before it runs (its proposer, any member or any guardian).
    Cancel(ProposalArgs),
    /// Pause the bridge at once (guardians).
    Pause(PauseArgs),
    /// Hold a queued (large) transfer at once so it cannot execute (guardians); governance
    /// lifts the hold or cancels it.
    Hold(HoldArgs),
    /// Check both chains' deployment: each contract runs the project's code, the contracts
    /// point at each other, and the settings keep their floors. Exits 1 on any difference.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
struct VerifyArgs {
    #[command(flatten)]
    conn: ConnArgs,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ShowArgs {
    #[command(flatten)]
    conn: ConnArgs,
    /// Which chain to show.
    #[arg(long, value_enum, default_value = "both")]
    chain: ChainSel,
    /// Also list executed, canceled and expired proposals (JSON always has them all).
    #[arg(long)]
    all: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct SignArgs {
    #[command(flatten)]
    conn: ConnArgs,
    #[command(flatten)]
    wallet: WalletArgs,
    /// Do not ask for confirmation (for scripts).
    #[arg(long, global = true)]
    yes: bool,
    /// Print the result as JSON.
    #[arg(long, global = true)]
    json: bool,
}

impl SignArgs {
    fn confirm(&self) -> Confirm {
        Confirm {
            yes: self.yes,
            json: self.json,
        }
    }
}

#[derive(Debug, Args)]
struct ProposeArgs {
    #[command(flatten)]
    sign: SignArgs,
    /// Where to propose: `both` creates the same proposal on each chain.
    #[arg(long, value_enum, global = true)]
    chain: Option<ChainSel>,
    #[command(subcommand)]
    action: ProposeAction,
}

#[derive(Debug, Args)]
struct ProposalArgs {
    /// The proposal id (its hash), as `propose` and `show` print it.
    id: B256,
    /// The chain the proposal lives on; found on either when omitted.
    #[arg(long, value_enum)]
    chain: Option<ChainSel>,
    #[command(flatten)]
    sign: SignArgs,
}

#[derive(Debug, Args)]
struct PauseArgs {
    /// Which bridge(s) to pause.
    #[arg(long, value_enum)]
    chain: ChainSel,
    /// On a hub (--chain main): pause only this route (its id), leaving the others running.
    #[arg(long)]
    route: Option<alloy::primitives::B256>,
    #[command(flatten)]
    sign: SignArgs,
}

#[derive(Debug, Args)]
struct HoldArgs {
    /// The transfer id, as `TransferQueued` and the relayer's audit report it.
    transfer_id: B256,
    /// The chain whose bridge queued it: main for a withdrawal, side for a deposit.
    #[arg(long, value_enum)]
    chain: ChainSel,
    #[command(flatten)]
    sign: SignArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!(
                "bridgectl: {}",
                sidebridge_core::one_line(err.chain().map(|e| e.to_string()))
            );
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> eyre::Result<()> {
    match cli.command {
        Command::Deploy(args) => deploy::run_deploy(args).await,
        Command::Show(args) => show(args).await,
        Command::Propose(args) => {
            let chain = args
                .chain
                .ok_or_else(|| eyre::eyre!("--chain main|side|both is required"))?;
            let key = args.sign.wallet.signer().await?;
            let chains = args.sign.conn.connect(chain, Some(&key)).await?;
            propose::propose(&chains, &key, &args.action, args.sign.confirm()).await
        }
        Command::Vote(args) => {
            let key = args.sign.wallet.signer().await?;
            let (c, p) = commands::locate(&args.sign.conn, args.chain, &key, args.id).await?;
            commands::vote(&c, &p, &key, args.sign.confirm()).await
        }
        Command::Execute(args) => {
            let key = args.sign.wallet.signer().await?;
            let (c, p) = commands::locate(&args.sign.conn, args.chain, &key, args.id).await?;
            commands::execute(&c, &p, &key, args.sign.confirm()).await
        }
        Command::Cancel(args) => {
            let key = args.sign.wallet.signer().await?;
            let (c, p) = commands::locate(&args.sign.conn, args.chain, &key, args.id).await?;
            commands::cancel(&c, &p, &key, args.sign.confirm()).await
        }
        Command::Pause(args) => {
            let key = args.sign.wallet.signer().await?;
            if let Some(route) = args.route {
                if args.chain != ChainSel::Main {
                    eyre::bail!("--route pauses a route of the main chain's hub: use --chain main");
                }
                let chains = args.sign.conn.connect(ChainSel::Main, Some(&key)).await?;
                return guardian::pause_route(&chains[0], &key, route, args.sign.json).await;
            }
            let chains = args.sign.conn.connect(args.chain, Some(&key)).await?;
            guardian::pause(&chains, &key, args.sign.json).await
        }
        Command::Verify(args) => {
            let chains = args.conn.connect(ChainSel::Both, None).await?;
            let checks = verify::verify(&chains).await?;
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&verify::to_json(&checks))?
                );
            } else {
                for check in &checks {
                    println!("{check}");
                }
            }
            let failed = checks.iter().filter(|c| c.failed()).count();
            if failed > 0 {
                eyre::bail!("verify: {failed} of {} checks failed", checks.len());
            }
            Ok(())
        }
        Command::Hold(args) => {
            if args.chain == ChainSel::Both {
                eyre::bail!("a transfer is queued on one chain: use --chain main or --chain side");
            }
            let key = args.sign.wallet.signer().await?;
            let chains = args.sign.conn.connect(args.chain, Some(&key)).await?;
            guardian::hold(&chains[0], &key, args.transfer_id, args.sign.json).await
        }
    }
}

async fn show(args: ShowArgs) -> eyre::Result<()> {
    let chains = args.conn.connect(args.chain, None).await?;
    let mut snapshots = Vec::new();
    for c in &chains {
        snapshots.push(c.snapshot().await?);
    }
    if args.json {
        let mut out = serde_json::Map::new();
        for s in &snapshots {
            out.insert(s.chain.clone(), s.to_json());
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for (i, s) in snapshots.iter().enumerate() {
            if i > 0 {
                println!();
            }
            s.print(args.all);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
