//! `bridgectl deploy`: stands the whole system up on both chains (used by `ops/devnet`).

use std::path::PathBuf;

use alloy::{
    primitives::{Address, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use clap::Args;
use eyre::{WrapErr, bail};
use sidebridge_contracts::{
    DeployConfig, Deployment, TokenSpec,
    bindings::{DemoToken, IERC20Metadata},
    deploy,
};
use sidebridge_governance::{amount::parse_amount, deployment_file};

#[derive(Debug, Args)]
pub(crate) struct DeployArgs {
    /// JSON-RPC URL of the main chain.
    #[arg(long, env = "SIDEBRIDGE_MAIN_RPC")]
    main_rpc: String,
    /// JSON-RPC URL of the side chain.
    #[arg(long, env = "SIDEBRIDGE_SIDE_RPC")]
    side_rpc: String,
    /// The deployer's private key, by reference: `env:NAME` or `file:/path` (hex).
    #[arg(long, env = "SIDEBRIDGE_DEPLOYER_KEY")]
    deployer_key: String,
    /// Governance members (comma separated).
    #[arg(long, value_delimiter = ',', required = true)]
    members: Vec<Address>,
    #[arg(long)]
    member_threshold: usize,
    /// Timelock delay of governance proposals, in seconds.
    #[arg(long, default_value_t = 86_400)]
    timelock_delay: u64,
    /// The shortest delay governance may ever set, in seconds (at least 60); default: the
    /// timelock delay itself.
    #[arg(long)]
    timelock_floor: Option<u64>,
    /// Validator addresses (comma separated).
    #[arg(long, value_delimiter = ',', required = true)]
    validators: Vec<Address>,
    #[arg(long)]
    validator_threshold: usize,
    /// Guardians who may pause (comma separated).
    #[arg(long, value_delimiter = ',')]
    guardians: Vec<Address>,
    /// Receives fees on both chains.
    #[arg(long)]
    fee_recipient: Address,
    /// Main-chain tokens to map (comma separated).
    #[arg(long, value_delimiter = ',')]
    tokens: Vec<Address>,
    /// Fee in basis points for every mapped token.
    #[arg(long, default_value_t = 0)]
    fee_bps: u16,
    /// Most of each token that may arrive per window on either bridge, in whole tokens.
    #[arg(long, default_value = "1000000")]
    inbound_cap: String,
    /// Inbound window in seconds (the cap refills continuously over it).
    #[arg(long, default_value_t = 86_400)]
    inbound_window: u64,
    /// Transfers above this (whole tokens, at most the cap) wait --large-delay.
    #[arg(long, default_value = "100000")]
    large_amount: String,
    /// Seconds a large transfer waits, during which a guardian can hold it.
    #[arg(long, default_value_t = 86_400)]
    large_delay: u64,
    /// Smallest transfer each way, in whole tokens (0: none). Relaying a transfer costs every
    /// validator gas whatever its size: dust below this is refused at the source.
    #[arg(long, default_value = "0")]
    min_amount: String,
    /// Flat part of every transfer's fee, in whole tokens, on top of --fee-bps (size it from
    /// `relayer costs --fees`: the break-even fee).
    #[arg(long, default_value = "0")]
    flat_fee: String,
    /// Also deploy a demo ERC-20 on the main chain (whole supply to the deployer) and map it.
    /// For local devnets.
    #[arg(long)]
    demo_token: bool,
    /// Print the deployment as JSON.
    #[arg(long)]
    json: bool,
}

/// Reads a secret given by reference (`env:NAME` or `file:/path`); never from the command line.
fn read_secret(reference: &str) -> eyre::Result<String> {
    if let Some(name) = reference.strip_prefix("env:") {
        std::env::var(name).wrap_err_with(|| format!("environment variable {name} is not set"))
    } else if let Some(path) = reference.strip_prefix("file:") {
        let path = PathBuf::from(path);
        std::fs::read_to_string(&path)
            .map(|s| s.trim().to_string())
            .wrap_err_with(|| format!("reading {}", path.display()))
    } else {
        bail!("a secret is given as env:NAME or file:/path, not inline")
    }
}

async fn connect(url: &str, key: &PrivateKeySigner, which: &str) -> eyre::Result<DynProvider> {
    let provider = ProviderBuilder::new()
        .wallet(key.clone())
        .connect(url)
        .await
        .wrap_err_with(|| format!("connecting to the {which} chain at {url}"))?
        .erased();
    provider
        .get_chain_id()
        .await
        .wrap_err_with(|| format!("the {which} chain at {url} does not answer"))?;
    Ok(provider)
}

pub(crate) async fn run_deploy(args: DeployArgs) -> eyre::Result<()> {
    let key: PrivateKeySigner = read_secret(&args.deployer_key)?
        .parse()
        .wrap_err("the deployer key is not a hex private key")?;
    let main = connect(&args.main_rpc, &key, "main").await?;
    let side = connect(&args.side_rpc, &key, "side").await?;
    // where searches for the bridges' events may start
    let start_blocks = [
        main.get_block_number().await?,
        side.get_block_number().await?,
    ];

    let mut tokens = args.tokens.clone();
    if args.demo_token {
        let supply = U256::from(1_000_000_000u64) * U256::from(10u64).pow(U256::from(18));
        let token = DemoToken::deploy(&main, "Demo Token".into(), "DEMO".into(), 18, supply)
            .await
            .wrap_err("deploying the demo token")?;
        eprintln!("deployed demo token DEMO at {}", token.address());
        tokens.push(*token.address());
    }
    let mut specs = Vec::with_capacity(tokens.len());
    for main_token in tokens {
        let decimals = IERC20Metadata::new(main_token, &main)
            .decimals()
            .call()
            .await
            .wrap_err_with(|| format!("{main_token} on the main chain is not an ERC-20"))?;
        specs.push(TokenSpec {
            main_token,
            fee_bps: args.fee_bps,
            inbound_cap: parse_amount(&args.inbound_cap, decimals).wrap_err("--inbound-cap")?,
            inbound_window_secs: args.inbound_window,
            large_amount: parse_amount(&args.large_amount, decimals).wrap_err("--large-amount")?,
            large_delay_secs: args.large_delay,
            min_amount: parse_amount(&args.min_amount, decimals).wrap_err("--min-amount")?,
            flat_fee: parse_amount(&args.flat_fee, decimals).wrap_err("--flat-fee")?,
            ..Default::default()
        });
    }
    let config = DeployConfig {
        deployer: key.address(),
        members: args.members,
        member_threshold: args.member_threshold,
        timelock_delay: args.timelock_delay,
        min_timelock_delay: args.timelock_floor.unwrap_or(args.timelock_delay),
        validators: args.validators,
        validator_threshold: args.validator_threshold,
        guardians: args.guardians,
        fee_recipient: args.fee_recipient,
        tokens: specs,
    };
    eprintln!("deploying on both chains as {}", key.address());
    let deployment = deploy(&main, &side, &config).await?;
    if args.json {
        let rpc_urls = [args.main_rpc.as_str(), args.side_rpc.as_str()];
        let json = deployment_file(&deployment, rpc_urls, start_blocks, None);
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print_table(&deployment);
    }
    Ok(())
}

fn print_table(d: &Deployment) {
    println!(
        "{:<6} {:>9}  {:<12} ADDRESS",
        "CHAIN", "CHAIN ID", "CONTRACT"
    );
    for (name, c) in [("main", &d.main), ("side", &d.side)] {
        for (what, addr) in [
            ("governance", c.governance),
            ("operational", c.operational),
            ("bridge", c.bridge),
        ] {
            println!("{name:<6} {:>9}  {what:<12} {addr}", c.chain_id);
        }
    }
    for t in &d.tokens {
        println!(
            "{:<6} {:>9}  {:<12} {}",
            "main", d.main.chain_id, t.symbol, t.main_token
        );
        println!(
            "{:<6} {:>9}  {:<12} {}",
            "side",
            d.side.chain_id,
            format!("w{}", t.symbol),
            t.wrapped_token
        );
    }
}
