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
    DeployConfig, Deployment, RouteSpec, TokenSpec,
    bindings::{DemoToken, IERC20Metadata},
    deploy, deploy_hub,
};
use sidebridge_governance::{SideFile, amount::parse_amount, deployment_file, hub_deployment_file};

#[derive(Debug, Args)]
pub(crate) struct DeployArgs {
    /// JSON-RPC URL of the main chain.
    #[arg(long, env = "SIDEBRIDGE_MAIN_RPC")]
    main_rpc: String,
    /// JSON-RPC URL of the side chain; with --hub, of each side chain (comma separated), each
    /// a route of the hub.
    #[arg(
        long,
        env = "SIDEBRIDGE_SIDE_RPC",
        value_delimiter = ',',
        required = true
    )]
    side_rpc: Vec<String>,
    /// Deploy a hub (`MainHub`) on the main chain serving every side chain of --side-rpc as a
    /// route with validators of its own (--route-validators), instead of one `MainBridge`.
    #[arg(long)]
    hub: bool,
    /// With --hub: the names holders give the side chains (`sidebridge --to NAME`), comma
    /// separated, one per --side-rpc (default: side-CHAINID).
    #[arg(long, value_delimiter = ',')]
    side_names: Vec<String>,
    /// With --hub: one route's validator addresses (comma separated), given once per side chain
    /// in --side-rpc's order; a key signs for one route only.
    #[arg(long = "route-validators")]
    route_validators: Vec<String>,
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
    /// Validator addresses (comma separated); with --hub, see --route-validators.
    #[arg(long, value_delimiter = ',')]
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
    if !args.hub {
        if args.side_rpc.len() != 1 {
            bail!("one --side-rpc without --hub (a hub serves many side chains: add --hub)");
        }
        if !args.route_validators.is_empty() || !args.side_names.is_empty() {
            bail!("--route-validators and --side-names are for --hub");
        }
        if args.validators.is_empty() {
            bail!("--validators: at least one validator address");
        }
    }
    let main = connect(&args.main_rpc, &key, "main").await?;
    let mut sides = Vec::with_capacity(args.side_rpc.len());
    for url in &args.side_rpc {
        sides.push(connect(url, &key, "side").await?);
    }
    // where searches for the bridges' events may start
    let main_start = main.get_block_number().await?;
    let mut side_starts = Vec::with_capacity(sides.len());
    for side in &sides {
        side_starts.push(side.get_block_number().await?);
    }

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
        members: args.members.clone(),
        member_threshold: args.member_threshold,
        timelock_delay: args.timelock_delay,
        min_timelock_delay: args.timelock_floor.unwrap_or(args.timelock_delay),
        validators: args.validators.clone(),
        validator_threshold: args.validator_threshold,
        guardians: args.guardians.clone(),
        fee_recipient: args.fee_recipient,
        tokens: specs,
    };
    if args.hub {
        return run_deploy_hub(&args, config, &main, &sides, main_start, &side_starts).await;
    }
    eprintln!("deploying on both chains as {}", key.address());
    let deployment = deploy(&main, &sides[0], &config).await?;
    if args.json {
        let rpc_urls = [args.main_rpc.as_str(), args.side_rpc[0].as_str()];
        let json = deployment_file(&deployment, rpc_urls, [main_start, side_starts[0]], None);
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print_table(&deployment);
    }
    Ok(())
}

/// The hub and one route per side chain, each with its own validators.
async fn run_deploy_hub(
    args: &DeployArgs,
    mut config: DeployConfig,
    main: &DynProvider,
    sides: &[DynProvider],
    main_start: u64,
    side_starts: &[u64],
) -> eyre::Result<()> {
    if !config.validators.is_empty() {
        bail!(
            "with --hub each route has its own validators: give --route-validators per side chain, not --validators"
        );
    }
    if args.route_validators.len() != sides.len() {
        bail!(
            "--route-validators: {} given for {} side chains (one list per --side-rpc)",
            args.route_validators.len(),
            sides.len()
        );
    }
    let mut routes = Vec::with_capacity(sides.len());
    for list in &args.route_validators {
        let validators = list
            .split(',')
            .map(|a| a.trim().parse::<Address>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| eyre::eyre!("--route-validators {list:?}: {e}"))?;
        routes.push(RouteSpec {
            validators,
            threshold: args.validator_threshold,
        });
    }
    let mut names = args.side_names.clone();
    if names.is_empty() {
        for side in sides {
            names.push(format!("side-{}", side.get_chain_id().await?));
        }
    }
    if names.len() != sides.len() {
        bail!(
            "--side-names: {} names for {} side chains",
            names.len(),
            sides.len()
        );
    }
    for (i, name) in names.iter().enumerate() {
        let ok = !name.is_empty()
            && name != "main"
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok || names[..i].contains(name) {
            bail!(
                "--side-names: {name:?} must be unique, not \"main\", and letters, digits, - or _"
            );
        }
    }
    config.validator_threshold = 0;
    eprintln!(
        "deploying the hub and {} routes as {}",
        sides.len(),
        config.deployer
    );
    let deployment = deploy_hub(main, sides, &config, &routes).await?;
    let files: Vec<SideFile<'_>> = names
        .iter()
        .zip(&args.side_rpc)
        .zip(side_starts)
        .map(|((name, url), start)| SideFile {
            name,
            rpc_url: url,
            start_block: *start,
        })
        .collect();
    if args.json {
        let json = hub_deployment_file(&deployment, (&args.main_rpc, main_start), &files, None);
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        println!(
            "main {:>9}  hub {}",
            deployment.main.chain_id, deployment.main.bridge
        );
        for (route, file) in deployment.routes.iter().zip(&files) {
            println!(
                "{:<8} {:>9}  bridge {}  route {}",
                file.name, route.side.chain_id, route.side.bridge, route.id
            );
        }
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
