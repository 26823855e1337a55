//! `sidebridge`: the token holder's CLI. Bridge tokens with one command and watch them land,
//! look a transfer up by its transaction hash or id, release one's own withdrawal when relayers
//! lag, and list one's transfers. It talks to the two chains only: no database, no server.
//!
//! Results go to stdout (a table for people, `--json` for scripts), progress to stderr. Exit
//! codes: 0 landed or done, 1 error, 2 usage, 3 still pending at `--timeout`, 10-19 a refusal
//! (see `refusal.rs`), which sends nothing.

mod claim;
mod history;
mod network;
mod refusal;
mod send;
mod track;
mod wallet;

use std::{process::ExitCode, time::Duration};

use alloy::primitives::{Address, B256};
use clap::{Parser, Subcommand};
use serde_json::{Value, json};
use sidebridge_contracts::bindings::IERC20Metadata;
use sidebridge_core::{
    amount::format_amount,
    domain::{Chain, Direction},
    one_line,
};

use crate::{
    network::Net,
    refusal::{Refusal, exit},
    track::{Located, Progress, Stage},
    wallet::WalletArgs,
};

#[derive(Debug, Parser)]
#[command(
    name = "sidebridge",
    version,
    about = "Bridge tokens between the main and the side chain"
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
    /// JSON-RPC URL of the side chain.
    #[arg(long, env = "SIDEBRIDGE_SIDE_RPC_URL", global = true)]
    side_rpc: Option<String>,
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
    /// Recipient on the other chain (default: the wallet).
    #[arg(long)]
    to: Option<Address>,
    /// Return once the transaction is mined instead of following the transfer.
    #[arg(long)]
    no_wait: bool,
    /// Seconds to follow the transfer before giving up (exit 3: still pending).
    #[arg(long, default_value_t = 600)]
    timeout: u64,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Lock TOKEN on the main chain; the recipient gets the wrapped token on the side chain.
    Deposit(Send),
    /// Burn the wrapped TOKEN on the side chain; the recipient gets the token on the main chain.
    Withdraw(Send),
    /// Where a transfer is: by its source or destination transaction hash, or its id.
    Status { key: B256 },
    /// Release a signed withdrawal yourself, from the validators' published signatures.
    Claim { key: B256 },
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
    let deployment = network::Deployment::load(&preset.deployment)?;
    let needs_wallet = matches!(
        cli.command,
        Command::Deposit(_)
            | Command::Withdraw(_)
            | Command::Claim { .. }
            | Command::History { address: None, .. }
    );
    let wallet = if needs_wallet {
        Some(cli.wallet.signer().await?)
    } else {
        None
    };
    let net = network::connect(
        deployment,
        &preset,
        [cli.main_rpc.clone(), cli.side_rpc.clone()],
        wallet.as_ref(),
    )
    .await?;
    let out = Printer { json: cli.json };
    match cli.command {
        Command::Deposit(send) => {
            let wallet = wallet.expect("sending unlocks a wallet");
            outbound(&net, &wallet, Direction::Deposit, &send, &out).await
        }
        Command::Withdraw(send) => {
            let wallet = wallet.expect("sending unlocks a wallet");
            outbound(&net, &wallet, Direction::Withdrawal, &send, &out).await
        }
        Command::Status { key } => {
            let t = match track::locate(&net, key).await? {
                Ok(t) => t,
                Err(r) => return Ok(Outcome::Refused(r)),
            };
            let p = track::progress(&net, &t).await?;
            out.transfer(&net, &t, &p).await;
            Ok(Outcome::Done)
        }
        Command::Claim { key } => {
            let wallet = wallet.expect("claim unlocks a wallet");
            let t = match track::locate(&net, key).await? {
                Ok(t) => t,
                Err(r) => return Ok(Outcome::Refused(r)),
            };
            match claim::claim(&net, &wallet, &t).await? {
                Err(r) => Ok(Outcome::Refused(r)),
                Ok(done) => {
                    let p = track::progress(&net, &t).await?;
                    eprintln!("release mined in {} ({})", done.tx, done.stage.as_str());
                    out.transfer(&net, &t, &p).await;
                    Ok(Outcome::Done)
                }
            }
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
            let page = history::history(&net, address, page, per_page).await?;
            out.history(&net, address, &page).await;
            Ok(Outcome::Done)
        }
    }
}

async fn outbound(
    net: &Net,
    wallet: &alloy::signers::local::PrivateKeySigner,
    direction: Direction,
    send: &Send,
    out: &Printer,
) -> eyre::Result<Outcome> {
    let req = send::Request {
        direction,
        token: &send.token,
        amount: &send.amount,
        to: send.to,
    };
    let t = match send::send(net, wallet, &req).await? {
        Ok(t) => t,
        Err(r) => return Ok(Outcome::Refused(r)),
    };
    eprintln!(
        "transfer {} sent in {} (block {})",
        t.id, t.source_tx, t.source_block
    );
    let p = if send.no_wait {
        track::progress(net, &t).await?
    } else {
        track::follow(net, &t, Duration::from_secs(send.timeout), true).await?
    };
    out.transfer(net, &t, &p).await;
    Ok(match p.stage() {
        Stage::Landed => Outcome::Done,
        _ if send.no_wait => Outcome::Done,
        _ => Outcome::Pending,
    })
}

/// Results on stdout: a few aligned lines for people, one JSON document for scripts.
struct Printer {
    json: bool,
}

/// The symbol and decimals of a main-chain token, from the deployment or the chain.
async fn token_of(net: &Net, main_token: Address) -> (String, u8) {
    if let Some(t) = net
        .deployment
        .tokens
        .iter()
        .find(|t| t.main_token == main_token)
    {
        return (t.symbol.clone(), t.decimals);
    }
    let erc20 = IERC20Metadata::new(main_token, net.provider(Chain::Main));
    let decimals = erc20.decimals().call().await.unwrap_or(18);
    (net.deployment.symbol_of(main_token), decimals)
}

async fn transfer_json(net: &Net, t: &Located, p: &Progress) -> Value {
    let (symbol, decimals) = token_of(net, t.transfer.token).await;
    json!({
        "id": t.id,
        "direction": t.direction.as_str(),
        "state": p.stage().as_str(),
        "progress": p.describe(t.direction),
        "nonce": t.transfer.nonce,
        "token": t.transfer.token,
        "symbol": symbol,
        "sender": t.transfer.sender,
        "recipient": t.transfer.recipient,
        "amount": format_amount(t.transfer.amount, decimals),
        "fee": format_amount(t.fee, decimals),
        "amountUnits": t.transfer.amount.to_string(),
        "source": {
            "chain": t.direction.source().as_str(),
            "tx": t.source_tx,
            "block": t.source_block,
            "confirmations": p.confirmations,
            "confirmationsNeeded": p.confirmations_needed,
        },
        "approvals": {"have": p.approvals, "threshold": p.threshold, "ready": p.ready},
        "queue": p.queue.map(|q| json!({"eta": q.eta, "held": q.held, "canceled": q.canceled})),
        "destination": {
            "chain": t.direction.destination().as_str(),
            "tx": p.destination_tx,
        },
    })
}

impl Printer {
    async fn transfer(&self, net: &Net, t: &Located, p: &Progress) {
        let v = transfer_json(net, t, p).await;
        if self.json {
            println!("{v:#}");
            return;
        }
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        let (src, dst) = (t.direction.source(), t.direction.destination());
        println!("transfer   {}", t.id);
        println!("direction  {} ({src} → {dst})", t.direction.as_str());
        println!(
            "amount     {} {} (fee {})",
            s("amount"),
            s("symbol"),
            s("fee")
        );
        println!(
            "from       {} on {src}, tx {} (block {})",
            t.transfer.sender, t.source_tx, t.source_block
        );
        let landed = p
            .destination_tx
            .map(|tx| format!("tx {tx}"))
            .unwrap_or_else(|| "not yet".into());
        println!("to         {} on {dst}, {landed}", t.transfer.recipient);
        println!(
            "state      {}: {}",
            p.stage().as_str(),
            p.describe(t.direction)
        );
        if let Some(index) = &net.deployment.index_url {
            println!("index      {index}/api/transfers/{}", t.id);
        }
    }

    async fn history(&self, net: &Net, address: Address, page: &history::Page) {
        let mut rows = Vec::new();
        for r in &page.rows {
            let (symbol, decimals) = token_of(net, r.transfer.transfer.token).await;
            rows.push(json!({
                "id": r.transfer.id,
                "direction": r.transfer.direction.as_str(),
                "state": if r.destination_tx.is_some() { "landed" } else { "pending" },
                "time": r.time,
                "symbol": symbol,
                "amount": format_amount(r.transfer.transfer.amount, decimals),
                "recipient": r.transfer.transfer.recipient,
                "sourceTx": r.transfer.source_tx,
                "destinationTx": r.destination_tx,
            }));
        }
        let pages = page.total.div_ceil(page.per_page).max(1);
        if self.json {
            let v = json!({
                "address": address,
                "page": page.page,
                "perPage": page.per_page,
                "pages": pages,
                "total": page.total,
                "transfers": rows,
            });
            println!("{v:#}");
            return;
        }
        println!(
            "{:<10} {:<8} {:>20} {:<7} {:<66} SOURCE TX",
            "DIRECTION", "STATE", "AMOUNT", "TOKEN", "TRANSFER"
        );
        for r in &rows {
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            println!(
                "{:<10} {:<8} {:>20} {:<7} {:<66} {}",
                s("direction"),
                s("state"),
                s("amount"),
                s("symbol"),
                s("id"),
                s("sourceTx")
            );
        }
        eprintln!(
            "page {} of {pages} ({} transfers sent by {address})",
            page.page, page.total
        );
    }
}
