//! The whole system on two local anvil chains: spawns a main and a side chain (port 0), deploys
//! every contract with [`sidebridge_contracts::deploy()`], and hands out funded keys. Used by the
//! end-to-end tests in `tests/` and by the `sidebridge-bench` benchmark.

pub mod binaries;
pub mod holder;
pub mod hsm;
pub mod hub;
pub mod index;
pub mod proxy;
pub mod relayers;
pub mod tcp_proxy;

use std::{path::PathBuf, time::Duration};

use alloy::{
    node_bindings::{Anvil, AnvilInstance},
    primitives::{Address, U256},
    providers::{DynProvider, Provider, ProviderBuilder, ext::AnvilApi},
    signers::local::PrivateKeySigner,
};
use eyre::WrapErr;
use sidebridge_contracts::{
    DeployConfig, Deployment, TokenSpec,
    bindings::{BlockableToken, DemoToken, IERC20Metadata},
    deploy,
};

/// Chain id of the local main chain.
pub const MAIN_CHAIN_ID: u64 = 31_337;
/// Chain id of the local side chain.
pub const SIDE_CHAIN_ID: u64 = 31_338;

/// The anvil binary installed by `ops/setup`, when present; else `anvil` from `PATH`.
pub fn anvil_path() -> Option<PathBuf> {
    let installed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools/bin/anvil");
    installed.exists().then_some(installed)
}

/// Starts an anvil on a port it picks itself (port 0) with the given chain id.
pub fn spawn_anvil(chain_id: u64) -> eyre::Result<AnvilInstance> {
    spawn_anvil_with(chain_id, None, false)
}

/// [`spawn_anvil`] with a block gas limit other than anvil's 30 million, and, with `no_gas`,
/// as a chain that charges no gas (base fee 0, no least tip: a transaction offering 0 per gas
/// is mined, from an account that holds nothing).
pub fn spawn_anvil_with(
    chain_id: u64,
    gas_limit: Option<u64>,
    no_gas: bool,
) -> eyre::Result<AnvilInstance> {
    let mut anvil = Anvil::new().port(0u16).chain_id(chain_id);
    if let Some(limit) = gas_limit {
        anvil = anvil.arg("--gas-limit").arg(limit.to_string());
    }
    if no_gas {
        anvil = anvil.args(["--base-fee", "0", "--no-priority-fee"]);
    }
    if let Some(path) = anvil_path() {
        anvil = anvil.path(path);
    }
    anvil
        .try_spawn()
        .wrap_err("starting anvil (run ops/setup to install it)")
}

/// A provider that signs with `key`.
pub fn wallet_provider(anvil: &AnvilInstance, key: &PrivateKeySigner) -> DynProvider {
    ProviderBuilder::new()
        .wallet(key.clone())
        .connect_http(anvil.endpoint_url())
        .erased()
}

/// One of anvil's prefunded development keys.
pub fn dev_key(anvil: &AnvilInstance, index: usize) -> PrivateKeySigner {
    PrivateKeySigner::from(anvil.keys()[index].clone())
}

/// Sizes and settings of a system to start.
#[derive(Debug, Clone)]
pub struct SystemSpec {
    pub validators: usize,
    /// Validators whose keys the harness does not hold (on an HSM, see [`hsm::HsmKey`]):
    /// deployed and funded beside the `validators` it generates.
    pub extra_validators: Vec<Address>,
    pub validator_threshold: usize,
    pub fee_bps: u16,
    /// Governance timelock delay in seconds.
    pub timelock_delay: u64,
    /// Inbound limits of the demo token on both bridges, in whole tokens: the cap per day and
    /// the size above which a transfer waits `large_delay` seconds.
    pub inbound_cap: u64,
    pub large_amount: u64,
    pub large_delay: u64,
    /// Block gas limit of both chains (anvil's default when `None`).
    pub block_gas_limit: Option<u64>,
    /// Deploy the main token as a `BlockableToken` (its issuer, the holder, can block an
    /// address) instead of a plain `DemoToken`.
    pub blockable_token: bool,
    /// Outbound limits of the demo token on both chains, in whole tokens (0: none): the
    /// smallest and largest transfer and the rolling cap per day.
    pub min_amount: u64,
    pub max_amount: u64,
    pub window_cap: u64,
    /// Also deploy and map a second plain token ("TWO", the holder's), with the same settings.
    pub second_token: bool,
    /// The side chain charges no gas (base fee 0), and the validators hold no coin there.
    pub side_no_gas: bool,
}

impl Default for SystemSpec {
    fn default() -> Self {
        Self {
            validators: 3,
            extra_validators: Vec::new(),
            validator_threshold: 2,
            fee_bps: 0,
            timelock_delay: 3_600,
            inbound_cap: 10_000_000,
            large_amount: 1_000_000,
            large_delay: 3_600,
            block_gas_limit: None,
            blockable_token: false,
            min_amount: 0,
            max_amount: 0,
            window_cap: 0,
            second_token: false,
            side_no_gas: false,
        }
    }
}

/// `n` whole demo tokens (18 decimals).
/// Writes a secret (a password file) readable by its owner only, as the relayer and bridgectl
/// require.
pub fn write_secret(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, contents)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

pub fn tokens(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18))
}

/// Two chains with everything deployed, and the keys that run it.
#[derive(Debug)]
pub struct System {
    pub main: AnvilInstance,
    pub side: AnvilInstance,
    pub deployment: Deployment,
    pub deployer: PrivateKeySigner,
    /// Holds the whole supply of the demo token on the main chain.
    pub holder: PrivateKeySigner,
    pub members: Vec<PrivateKeySigner>,
    pub guardian: PrivateKeySigner,
    pub fee_recipient: Address,
    /// Validator keys, funded on both chains (on the main chain only when the side chain charges
    /// no gas).
    pub validators: Vec<PrivateKeySigner>,
    pub main_token: Address,
    pub wrapped_token: Address,
    /// The second mapped token and its wrapped token, when [`SystemSpec::second_token`].
    pub second_token: Option<(Address, Address)>,
}

/// Supply of the demo token minted to the holder: 1 billion with 18 decimals.
pub fn demo_supply() -> U256 {
    U256::from(1_000_000_000u64) * U256::from(10u64).pow(U256::from(18))
}

impl System {
    /// Spawns both chains and deploys a system with a demo token mapped.
    pub async fn start(spec: SystemSpec) -> eyre::Result<Self> {
        let main = spawn_anvil_with(MAIN_CHAIN_ID, spec.block_gas_limit, false)?;
        let side = spawn_anvil_with(SIDE_CHAIN_ID, spec.block_gas_limit, spec.side_no_gas)?;
        let deployer = dev_key(&main, 0);
        let holder = dev_key(&main, 1);
        let members: Vec<_> = (2..5).map(|i| dev_key(&main, i)).collect();
        let guardian = dev_key(&main, 5);
        let fee_recipient = dev_key(&main, 6).address();

        let validators: Vec<PrivateKeySigner> = (0..spec.validators)
            .map(|_| PrivateKeySigner::random())
            .collect();
        let funding = U256::from(100u64) * U256::from(10u64).pow(U256::from(18));
        let funded = if spec.side_no_gas {
            vec![&main]
        } else {
            vec![&main, &side]
        };
        for anvil in funded {
            let provider = ProviderBuilder::new().connect_http(anvil.endpoint_url());
            let addresses = validators.iter().map(|v| v.address());
            for v in addresses.chain(spec.extra_validators.iter().copied()) {
                provider
                    .anvil_set_balance(v, funding)
                    .await
                    .wrap_err("funding a validator")?;
            }
        }

        let main_deployer = wallet_provider(&main, &deployer);
        let side_deployer = wallet_provider(&side, &deployer);
        let issuer = wallet_provider(&main, &holder);
        let (name, symbol) = ("Demo Token".to_string(), "DEMO".to_string());
        let main_token = if spec.blockable_token {
            *BlockableToken::deploy(issuer, name, symbol, 18, demo_supply())
                .await
                .wrap_err("deploying the demo token")?
                .address()
        } else {
            *DemoToken::deploy(issuer, name, symbol, 18, demo_supply())
                .await
                .wrap_err("deploying the demo token")?
                .address()
        };

        let mut config = DeployConfig {
            deployer: deployer.address(),
            members: members.iter().map(|m| m.address()).collect(),
            member_threshold: 2,
            timelock_delay: spec.timelock_delay,
            min_timelock_delay: 60,
            validators: validators
                .iter()
                .map(|v| v.address())
                .chain(spec.extra_validators.iter().copied())
                .collect(),
            validator_threshold: spec.validator_threshold,
            guardians: vec![guardian.address()],
            fee_recipient,
            tokens: vec![TokenSpec {
                main_token: Address::ZERO,
                fee_bps: spec.fee_bps,
                inbound_cap: tokens(spec.inbound_cap),
                inbound_window_secs: 86_400,
                large_amount: tokens(spec.large_amount),
                large_delay_secs: spec.large_delay,
                min_amount: tokens(spec.min_amount),
                max_amount: tokens(spec.max_amount),
                window_cap: tokens(spec.window_cap),
                window_secs: 86_400,
                ..Default::default()
            }],
        };
        let settings = config.tokens[0].clone();
        config.tokens[0].main_token = main_token;
        let second = if spec.second_token {
            let issuer = wallet_provider(&main, &holder);
            let token = *DemoToken::deploy(
                issuer,
                "Second Token".into(),
                "TWO".into(),
                18,
                demo_supply(),
            )
            .await
            .wrap_err("deploying the second token")?
            .address();
            config.tokens.push(TokenSpec {
                main_token: token,
                ..settings
            });
            Some(token)
        } else {
            None
        };
        let deployment = deploy(&main_deployer, &side_deployer, &config)
            .await
            .wrap_err("deploying the system")?;
        let wrapped_token = deployment.tokens[0].wrapped_token;
        let second_token = second.map(|token| (token, deployment.tokens[1].wrapped_token));
        Ok(Self {
            second_token,
            main_token,
            wrapped_token,
            main,
            side,
            deployment,
            deployer,
            holder,
            members,
            guardian,
            fee_recipient,
            validators,
        })
    }

    /// A main-chain provider signing as `key`.
    pub fn main_as(&self, key: &PrivateKeySigner) -> DynProvider {
        wallet_provider(&self.main, key)
    }

    /// A side-chain provider signing as `key`.
    pub fn side_as(&self, key: &PrivateKeySigner) -> DynProvider {
        wallet_provider(&self.side, key)
    }

    /// Balance of `token` held by `account` on the chain `provider` talks to.
    pub async fn balance(
        provider: &DynProvider,
        token: Address,
        account: Address,
    ) -> eyre::Result<U256> {
        Ok(IERC20Metadata::new(token, provider)
            .balanceOf(account)
            .call()
            .await?)
    }

    /// Validator keys sorted by address, as signatures must be ordered.
    pub fn validators_sorted(&self) -> Vec<PrivateKeySigner> {
        let mut sorted = self.validators.clone();
        sorted.sort_by_key(|k| k.address());
        sorted
    }
}

/// Mines a block on both chains every `interval` while alive, so confirmations accrue on
/// auto-mining anvils even when nobody sends transactions.
#[derive(Debug)]
pub struct Miner(tokio::task::JoinHandle<()>);

impl Drop for Miner {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Miner {
    /// Mines a block on each chain at `urls` every `interval`, until dropped.
    pub fn spawn(urls: Vec<alloy::transports::http::reqwest::Url>, interval: Duration) -> Self {
        Miner(tokio::spawn(async move {
            let providers: Vec<_> = urls
                .into_iter()
                .map(|u| ProviderBuilder::new().connect_http(u))
                .collect();
            loop {
                for p in &providers {
                    let _ = p.anvil_mine(Some(1), None).await;
                }
                tokio::time::sleep(interval).await;
            }
        }))
    }
}

impl System {
    pub fn start_miner(&self, interval: Duration) -> Miner {
        Miner::spawn(
            vec![self.main.endpoint_url(), self.side.endpoint_url()],
            interval,
        )
    }

    /// Native balance of `account` on the main (`main = true`) or side chain.
    pub async fn native_balance(&self, main: bool, account: Address) -> eyre::Result<U256> {
        let anvil = if main { &self.main } else { &self.side };
        Ok(ProviderBuilder::new()
            .connect_http(anvil.endpoint_url())
            .get_balance(account)
            .await?)
    }
}

/// Polls `check` every 200 ms until it returns `Some` or `timeout` passes.
pub async fn await_until<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> eyre::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = eyre::Result<Option<T>>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        if tokio::time::Instant::now() >= deadline {
            eyre::bail!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
