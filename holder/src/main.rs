//! `sidebridge`: the token holder's CLI. Bridge tokens with one command and watch them land,
//! look a transfer up by its transaction hash or id, release one's own withdrawal when relayers
//! lag, and list one's transfers. It talks to the two chains only: no database, no server.
//!
//! Results go to stdout (a table for people, `--json` for scripts), progress to stderr. Exit
//! codes: 0 landed or done, 1 error, 2 usage, 3 still pending at `--timeout`, 4 a chained
//! transfer the hub parked (it waits for `forward` or `refund`), 10-20 a refusal
//! (see `refusal.rs`), which sends nothing.
//!
//! On a hub with many side chains, `--from` and `--to` name the chains (`main` or a side
//! chain's name in the deployment file): `send DEMO 5 --from a --to b` is one chained transfer,
//! followed through both legs.

mod chained;
mod claim;
mod history;
mod main_end;
mod network;
mod print;
mod refusal;
mod send;
mod session;
mod track;
mod wallet;

use std::{process::ExitCode, time::Duration};

use alloy::primitives::{Address, B256};
use clap::{Parser, Subcommand};
use serde_json::json;
use sidebridge_core::{domain::Direction, one_line};

use crate::{
    chained::Second,
    network::Net,
    print::Printer,
    refusal::{Refusal, exit},
    session::{Path, Session, Verb},
    track::{Located, Stage},
    wallet::WalletArgs,
};

#[derive(Debug, Parser)]
#[command(
    name = "sidebridge",
    version,
    about = "Bridge tokens between the main chain and its side chains"
)]
struct Cli {
    /// `devnet` (the network ops/devnet runs) or the path of a deployment file.
    #[arg(
        long,
        env = "SIDEBRIDGE_NETWORK",
        default_value = "devnet",
        global = true
    )]
    network: String,
    /// JSON-RPC URL of the main chain (else the deployment file's, else the preset's).
    #[arg(long, env = "SIDEBRIDGE_MAIN_RPC_URL", global = true)]
    main_rpc: Option<String>,
    /// JSON-RPC URL of the side chain the command names (else the deployment file's).
    #[arg(long, env = "SIDEBRIDGE_SIDE_RPC_URL", global = true)]
    side_rpc: Option<String>,
    /// The chain tokens leave: `main` or a side chain's name (needed where the deployment has
    /// many side chains; for status, claim and history it narrows the search).
    #[arg(long, global = true, value_name = "CHAIN")]
    from: Option<String>,
    /// The chain tokens arrive on: `main` or a side chain's name.
    #[arg(long, global = true, value_name = "CHAIN")]
    to: Option<String>,
    /// Results as JSON on stdout.
    #[arg(long, global = true)]
    json: bool,
    #[command(flatten)]
    wallet: WalletArgs,
    #[command(subcommand)]
    command: Command,
}

/// What to send, and how long to follow it: the same for both directions.
#[derive(Debug, Clone, clap::Args)]
struct Send {
    /// Symbol or address of the token to send: DEMO (or its address) to deposit, wDEMO to
    /// withdraw.
    token: String,
    /// In whole tokens, e.g. 1.5.
    amount: String,
    /// Recipient on the destination chain (default: the wallet).
    #[arg(long)]
    recipient: Option<Address>,
    /// Return once the transaction is mined instead of following the transfer.
    #[arg(long)]
    no_wait: bool,
    /// Seconds to follow the transfer before giving up (exit 3: still pending).
    #[arg(long, default_value_t = 600)]
    timeout: u64,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Lock TOKEN on the main chain; the recipient gets the wrapped token on the side chain
    /// (--to names it where there are many).
    Deposit(Send),
    /// Burn the wrapped TOKEN on the side chain (--from); the recipient gets the token on the
    /// main chain, or with --to another side chain, there (chained through the main chain).
    Withdraw(Send),
    /// Any direction: --from and --to name the chains (main, or side chains' names).
    Send(Send),
    /// Where a transfer is: by its source or destination transaction hash, or its id.
    Status { key: B256 },
    /// Release a signed withdrawal yourself, from the validators' published signatures.
    Claim { key: B256 },
    /// A chained transfer the hub parked: hand it to its destination, which takes it now
    /// (anyone may).
    Forward { key: B256 },
    /// A chained transfer the hub parked: its sender takes it back, to the side chain it left
    /// (or with --here on the main chain).
    Refund {
        key: B256,
        #[arg(long)]
        here: bool,
    },
    /// Transfers an address sent, both ways, newest first.
    History {
        /// Default: the wallet's address.
        address: Option<Address>,
        #[arg(long, default_value_t = 1)]
        page: usize,
        #[arg(long, default_value_t = 20)]
        per_page: usize,
    },
}

/// How a command ended, beyond plain errors.
enum Outcome {
    Done,
    Pending,
    /// A chained transfer the hub parked.
    Parked,
    Refused(Refusal),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are not errors
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let json = cli.json;
    match run(cli).await {
        Ok(Outcome::Done) => ExitCode::from(exit::OK),
        Ok(Outcome::Pending) => ExitCode::from(exit::PENDING),
        Ok(Outcome::Parked) => ExitCode::from(exit::PARKED),
        Ok(Outcome::Refused(r)) => {
            eprintln!("sidebridge: refused: {r}");
            if json {
                println!(
                    "{}",
                    json!({"refused": r.kind(), "message": r.to_string(), "exitCode": r.exit_code()})
                );
            }
            ExitCode::from(r.exit_code())
        }
        Err(e) => {
            let message = one_line(e.chain().map(|c| c.to_string()));
            eprintln!("sidebridge: {message}");
            if json {
                println!("{}", json!({"error": message, "exitCode": exit::ERROR}));
            }
            ExitCode::from(exit::ERROR)
        }
    }
}

async fn run(cli: Cli) -> eyre::Result<Outcome> {
    let preset = network::preset(&cli.network);
    let network = network::Network::load(&preset.deployment)?;
    let needs_wallet = matches!(
        cli.command,
        Command::Deposit(_)
            | Command::Withdraw(_)
            | Command::Send(_)
            | Command::Claim { .. }
            | Command::Forward { .. }
            | Command::Refund { .. }
            | Command::History { address: None, .. }
    );
    let wallet = if needs_wallet {
        Some(cli.wallet.signer().await?)
    } else {
        None
    };
    let endpoints = network::Endpoints {
        preset,
        main_rpc: cli.main_rpc.clone(),
        side_rpc: cli.side_rpc.clone(),
    };
    let session = Session::open(network, endpoints, wallet.as_ref()).await?;
    let out = Printer { json: cli.json };
    let (from, to) = (cli.from.as_deref(), cli.to.as_deref());
    let verb = match &cli.command {
        Command::Deposit(_) => Some(Verb::Deposit),
        Command::Withdraw(_) => Some(Verb::Withdraw),
        Command::Send(_) => Some(Verb::Send),
        _ => None,
    };
    match cli.command {
        Command::Deposit(send) | Command::Withdraw(send) | Command::Send(send) => {
            let wallet = wallet.as_ref().expect("sending unlocks a wallet");
            let path = session::path(verb.expect("a sending command"), from, to)?;
            outbound(&session, wallet, path, &send, &out).await
        }
        Command::Status { key } => {
            let Some((net, t)) = locate(&session, from, to, key).await? else {
                return Ok(Outcome::Refused(not_found(key)));
            };
            if let Some(b) = chained_destination(&session, &net, &t).await? {
                let (p, second) = chained::progress(&net, &b, &t).await?;
                out.chained(&net, &b, &t, &p, &second).await;
                return Ok(Outcome::Done);
            }
            let p = track::progress(&net, &t).await?;
            out.transfer(&net, &t, &p).await;
            Ok(Outcome::Done)
        }
        Command::Claim { key } => {
            let wallet = wallet.as_ref().expect("claim unlocks a wallet");
            let Some((net, t)) = locate(&session, from, to, key).await? else {
                return Ok(Outcome::Refused(not_found(key)));
            };
            match claim::claim(&net, wallet, &t).await? {
                Err(r) => Ok(Outcome::Refused(r)),
                Ok(done) => {
                    eprintln!("release mined in {} ({})", done.tx, done.stage.as_str());
                    if let Some(b) = chained_destination(&session, &net, &t).await? {
                        let (p, second) = chained::progress(&net, &b, &t).await?;
                        out.chained(&net, &b, &t, &p, &second).await;
                    } else {
                        let p = track::progress(&net, &t).await?;
                        out.transfer(&net, &t, &p).await;
                    }
                    Ok(Outcome::Done)
                }
            }
        }
        Command::Forward { key } | Command::Refund { key, .. } => {
            let how = match cli.command {
                Command::Refund { here, .. } => chained::Resolve::Refund { here },
                _ => chained::Resolve::Forward,
            };
            let wallet = wallet.as_ref().expect("forward and refund unlock a wallet");
            let Some((net, t)) = locate(&session, from, to, key).await? else {
                return Ok(Outcome::Refused(not_found(key)));
            };
            let Some(b) = chained_destination(&session, &net, &t).await? else {
                eyre::bail!("{} is no chained transfer: nothing is parked", t.id);
            };
            let tx = chained::resolve(&net, wallet, &t, how).await?;
            eprintln!("mined in {tx}");
            let (p, second) = chained::progress(&net, &b, &t).await?;
            out.chained(&net, &b, &t, &p, &second).await;
            Ok(Outcome::Done)
        }
        Command::History {
            address,
            page,
            per_page,
        } => {
            let address = address
                .or(wallet.as_ref().map(|w| w.address()))
                .expect("history without an address unlocks a wallet");
            if page == 0 || per_page == 0 {
                eyre::bail!("--page and --per-page start at 1");
            }
            let nets = session.routes(from, to).await?;
            let page = history::history(&nets, address, page, per_page).await?;
            out.history(&nets, address, &page).await;
            Ok(Outcome::Done)
        }
    }
}

fn not_found(key: B256) -> Refusal {
    Refusal::NotFound(format!(
        "{key} is neither a transaction nor a transfer id of this network's routes"
    ))
}

/// Finds transfer `key` on the routes `--from`/`--to` name (every route when they name none).
async fn locate(
    session: &Session<'_>,
    from: Option<&str>,
    to: Option<&str>,
    key: B256,
) -> eyre::Result<Option<(Net, Located)>> {
    for net in session.routes(from, to).await? {
        if let Ok(t) = track::locate(&net, key).await? {
            return Ok(Some((net, t)));
        }
    }
    Ok(None)
}

/// The route a chained withdrawal goes on to.
async fn chained_destination(
    session: &Session<'_>,
    net: &Net,
    t: &Located,
) -> eyre::Result<Option<Net>> {
    if !chained::is_chained(net, t) {
        return Ok(None);
    }
    let chain_id: u64 = t.transfer.dstChainId.saturating_to();
    session
        .route_of(chain_id, t.transfer.dstBridge)
        .await?
        .map(Some)
        .ok_or_else(|| {
            eyre::eyre!(
                "{} goes on to chain {chain_id}'s bridge {}, which this network's file does not list",
                t.id,
                t.transfer.dstBridge
            )
        })
}

async fn outbound(
    session: &Session<'_>,
    wallet: &alloy::signers::local::PrivateKeySigner,
    path: Path,
    send: &Send,
    out: &Printer,
) -> eyre::Result<Outcome> {
    let (direction, net, dst) = match &path {
        Path::Deposit { to } => (
            Direction::Deposit,
            session.route(to.as_deref()).await?,
            None,
        ),
        Path::Withdrawal { from } => (
            Direction::Withdrawal,
            session.route(from.as_deref()).await?,
            None,
        ),
        Path::Chained { from, to } => {
            if !session.network.hub {
                eyre::bail!("this network has one side chain: nothing to chain through");
            }
            (
                Direction::Withdrawal,
                session.one_of_two(from).await?,
                Some(session.one_of_two(to).await?),
            )
        }
    };
    let req = send::Request {
        direction,
        token: &send.token,
        amount: &send.amount,
        to: send.recipient,
        chained: dst.as_ref(),
    };
    let t = match send::send(&net, wallet, &req).await? {
        Ok(t) => t,
        Err(r) => return Ok(Outcome::Refused(r)),
    };
    eprintln!(
        "transfer {} sent in {} (block {})",
        t.id, t.source_tx, t.source_block
    );
    let timeout = Duration::from_secs(send.timeout);
    if let Some(b) = dst {
        let (p, second) = if send.no_wait {
            chained::progress(&net, &b, &t).await?
        } else {
            chained::follow(&net, &b, &t, timeout).await?
        };
        out.chained(&net, &b, &t, &p, &second).await;
        return Ok(match &second {
            Second::Forwarded(leg) if leg.1.stage() == Stage::Landed => Outcome::Done,
            Second::Parked(_) => Outcome::Parked,
            _ if send.no_wait => Outcome::Done,
            _ => Outcome::Pending,
        });
    }
    let p = if send.no_wait {
        track::progress(&net, &t).await?
    } else {
        track::follow(&net, &t, timeout, true).await?
    };
    out.transfer(&net, &t, &p).await;
    Ok(match p.stage() {
        Stage::Landed => Outcome::Done,
        _ if send.no_wait => Outcome::Done,
        _ => Outcome::Pending,
    })
}
