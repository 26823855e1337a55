//! What every bench shares: the shape of the bridge and its chains (`--validators`,
//! `--threshold`, holders, batch size, confirmations, block time), starting them with funded
//! holders, the relayers' settings, signing load ahead, and reading the bridges' events.

use std::collections::HashMap;

use alloy::{
    primitives::{Address, Bytes, U256},
    providers::{DynProvider, Provider, ext::AnvilApi},
    rpc::types::{Filter, Log},
    signers::local::PrivateKeySigner,
};
use eyre::ensure;
use sidebridge_anvil_tests::{
    System, SystemSpec,
    relayers::{NodeOptions, RelayerNode},
    tokens,
};
use sidebridge_contracts::bindings::IERC20Metadata;

use crate::load;

/// The bridge and chains a bench runs on, shared by `e2e` and `soak`.
#[derive(Debug, clap::Args)]
pub(crate) struct Shape {
    /// Validators, each running its own relayer process.
    #[arg(long, default_value_t = 4)]
    pub(crate) validators: usize,
    /// Validator signatures a transfer needs.
    #[arg(long, default_value_t = 3)]
    pub(crate) threshold: usize,
    /// Accounts the load is sent from.
    #[arg(long, default_value_t = 8)]
    pub(crate) holders: usize,
    /// Transfers per relayer transaction (`relay.batch_size`).
    #[arg(long, default_value_t = 200)]
    pub(crate) batch_size: usize,
    /// Confirmations the relayers wait for on both chains.
    #[arg(long, default_value_t = 2)]
    pub(crate) confirmations: u64,
    /// Seconds between blocks on both chains.
    #[arg(long, default_value_t = 1)]
    pub(crate) block_time: u64,
}

/// The chains of a bench run, ready for load.
pub(crate) struct Chains {
    pub(crate) sys: System,
    pub(crate) main: DynProvider,
    pub(crate) side: DynProvider,
    pub(crate) holders: Vec<PrivateKeySigner>,
}

impl Shape {
    /// Two anvils with the system deployed for `n` transfers each way (limits out of the way),
    /// the holders funded; from then on both chains mine on a timer, as a real chain does.
    pub(crate) async fn start_chains(&self, n: usize) -> eyre::Result<Chains> {
        eprintln!("starting two anvils and deploying…");
        let sys = System::start(SystemSpec {
            validators: self.validators,
            validator_threshold: self.threshold,
            inbound_cap: 1_000_000_000,
            large_amount: 1_000_000_000,
            block_gas_limit: Some(BLOCK_GAS_LIMIT),
            ..SystemSpec::default()
        })
        .await?;
        let main = sys.main_as(&sys.holder);
        let side = sys.side_as(&sys.holder);
        let holders = fund_holders(&sys, self.holders.clamp(1, n), n).await?;
        for provider in [&main, &side] {
            provider.anvil_set_auto_mine(false).await?;
            provider.anvil_set_interval_mining(self.block_time).await?;
        }
        Ok(Chains {
            sys,
            main,
            side,
            holders,
        })
    }

    /// What every bench gives its relayers.
    pub(crate) fn node_options(&self) -> NodeOptions {
        NodeOptions {
            confirmations: self.confirmations,
            batch_size: self.batch_size,
            takeover_secs: 10,
            poll_interval_ms: 100,
            ..NodeOptions::default()
        }
    }

    /// Refuses a shape no bridge can have, before anything starts.
    pub(crate) fn check(&self, transfers: usize) -> eyre::Result<()> {
        ensure!(transfers > 0, "--transfers must be positive");
        ensure!(
            (1..=self.validators).contains(&self.threshold),
            "--threshold must be between 1 and --validators"
        );
        Ok(())
    }
}

/// Room for a whole burst in one block: 10,000 locks take 770 million gas.
pub(crate) const BLOCK_GAS_LIMIT: u64 = 1_500_000_000;
/// Gas limit of each load transaction (a lock or burn takes under 100k).
pub(crate) const LOAD_GAS: u64 = 200_000;

pub(crate) fn tempfile_dir() -> eyre::Result<tempfile::TempDir> {
    Ok(tempfile::Builder::new()
        .prefix("sidebridge-bench-")
        .tempdir()?)
}

pub(crate) fn with_logs(err: eyre::Report, nodes: &[RelayerNode]) -> eyre::Report {
    let tail: String = nodes
        .iter()
        .map(|n| {
            let log = n.log();
            let start = log.len().saturating_sub(4_000);
            format!("--- {} ---\n{}\n", n.address, &log[start..])
        })
        .collect();
    err.wrap_err(format!("relayer logs (tails):\n{tail}"))
}

/// Gives each holder gas on both chains, `n / holders + 1` DEMO on main and the bridge's
/// allowance for all of it (while the chains still mine every transaction at once).
pub(crate) async fn fund_holders(
    sys: &System,
    count: usize,
    n: usize,
) -> eyre::Result<Vec<PrivateKeySigner>> {
    let funder = Funder {
        main: sys.main_as(&sys.holder),
        gas_on: vec![sys.side_as(&sys.holder)],
        token: sys.main_token,
        spender: sys.deployment.main.bridge,
    };
    funder
        .fund(count, tokens((n / count + 2) as u64), |h| sys.main_as(h))
        .await
}

/// Where new holders get their gas, their tokens and their allowance.
pub(crate) struct Funder {
    /// The main chain, as an account holding the token.
    pub(crate) main: DynProvider,
    /// Other chains a holder needs gas on.
    pub(crate) gas_on: Vec<DynProvider>,
    pub(crate) token: Address,
    /// The bridge the holders approve.
    pub(crate) spender: Address,
}

impl Funder {
    /// `count` new holders, each with gas everywhere, `each` of the token and the spender's
    /// allowance for all of it (`as_holder`: the main chain as that holder).
    pub(crate) async fn fund(
        &self,
        count: usize,
        each: U256,
        as_holder: impl Fn(&PrivateKeySigner) -> DynProvider,
    ) -> eyre::Result<Vec<PrivateKeySigner>> {
        let holders: Vec<PrivateKeySigner> =
            (0..count).map(|_| PrivateKeySigner::random()).collect();
        let eth = U256::from(10u64).pow(U256::from(21));
        for h in &holders {
            for chain in std::iter::once(&self.main).chain(&self.gas_on) {
                chain.anvil_set_balance(h.address(), eth).await?;
            }
            let receipt = IERC20Metadata::new(self.token, &self.main)
                .transfer(h.address(), each)
                .send()
                .await?
                .get_receipt()
                .await?;
            ensure!(receipt.status(), "funding a holder reverted");
            let receipt = IERC20Metadata::new(self.token, as_holder(h))
                .approve(self.spender, U256::MAX)
                .send()
                .await?
                .get_receipt()
                .await?;
            ensure!(receipt.status(), "a holder's approve reverted");
        }
        Ok(holders)
    }
}

/// `n` calls split round-robin over the holders, signed ahead.
pub(crate) async fn sign_spread(
    provider: &DynProvider,
    chain_id: u64,
    holders: &[PrivateKeySigner],
    n: usize,
    gas_limit: u64,
    call: impl Fn(&PrivateKeySigner) -> (Address, Bytes),
) -> eyre::Result<Vec<load::Signed>> {
    let mut signed = Vec::new();
    for (i, h) in holders.iter().enumerate() {
        let count = n / holders.len() + usize::from(i < n % holders.len());
        let calls = (0..count).map(|_| call(h));
        signed.push(load::sign(provider, chain_id, h, gas_limit, calls).await?);
    }
    Ok(signed)
}

/// The nonces in `address`'s logs after block `from`, with the block of each.
pub(crate) async fn events(
    provider: &DynProvider,
    address: Address,
    from: u64,
    nonce_of: impl Fn(&Log) -> Option<u64>,
) -> eyre::Result<HashMap<u64, u64>> {
    let head = provider.get_block_number().await?;
    let mut out = HashMap::new();
    if head <= from {
        return Ok(out);
    }
    let filter = Filter::new()
        .address(address)
        .from_block(from + 1)
        .to_block(head);
    for log in provider.get_logs(&filter).await? {
        if let (Some(nonce), Some(block)) = (nonce_of(&log), log.block_number) {
            out.entry(nonce).or_insert(block);
        }
    }
    Ok(out)
}

/// Polls `address`'s logs from block `from + 1` on until `n` distinct nonces of `nonce_of` were
/// seen (each with its block), or fails after `timeout` saying how many landed.
pub(crate) async fn await_events(
    provider: &DynProvider,
    address: Address,
    from: u64,
    n: usize,
    timeout: std::time::Duration,
    nonce_of: impl Fn(&Log) -> Option<u64>,
) -> eyre::Result<HashMap<u64, u64>> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut seen = HashMap::new();
    let mut next = from + 1;
    loop {
        let head = provider.get_block_number().await?;
        if head >= next {
            let filter = Filter::new()
                .address(address)
                .from_block(next)
                .to_block(head);
            for log in provider.get_logs(&filter).await? {
                if let (Some(nonce), Some(block)) = (nonce_of(&log), log.block_number) {
                    seen.entry(nonce).or_insert(block);
                }
            }
            next = head + 1;
        }
        if seen.len() >= n {
            return Ok(seen);
        }
        if tokio::time::Instant::now() >= deadline {
            eyre::bail!("{} of {n} transfers landed within {timeout:?}", seen.len());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
