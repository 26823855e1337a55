//! Many side chains on one main chain: the hub deployed by `deploy_hub` on one main anvil and
//! `n` side anvils, one route each with validator keys of its own. Tests act as a route's
//! validators themselves, or run relayers for a route ([`HubSystem::target`]).

use alloy::{
    node_bindings::AnvilInstance,
    primitives::{Address, U256},
    providers::{DynProvider, Provider, ProviderBuilder, ext::AnvilApi},
    rpc::types::TransactionReceipt,
    signers::local::PrivateKeySigner,
};
use eyre::WrapErr;
use sidebridge_contracts::{
    DeployConfig, HubDeployment, RouteSpec, TokenSpec,
    bindings::{DemoToken, MainHub, SideBridge},
    deploy_hub,
};

use crate::{
    MAIN_CHAIN_ID, SIDE_CHAIN_ID, demo_supply, dev_key, spawn_anvil, tokens, wallet_provider,
};

/// The main chain, `n` side chains and everything deployed on them.
#[derive(Debug)]
pub struct HubSystem {
    pub main: AnvilInstance,
    /// Side chain `i` has chain id `SIDE_CHAIN_ID + i` and is route `deployment.routes[i]`.
    pub sides: Vec<AnvilInstance>,
    pub deployment: HubDeployment,
    /// Holds the demo token's whole supply on the main chain (and coin on every chain).
    pub holder: PrivateKeySigner,
    pub guardian: PrivateKeySigner,
    /// Governance members on every chain (threshold 2).
    pub members: Vec<PrivateKeySigner>,
    /// Per route, its validators' keys (funded on its side chain), ascending by address.
    pub validators: Vec<Vec<PrivateKeySigner>>,
    pub main_token: Address,
}

impl HubSystem {
    /// Spawns the chains and deploys the hub with `n` routes of 3 validators, threshold 2.
    pub async fn start(n: usize) -> eyre::Result<Self> {
        let main = spawn_anvil(MAIN_CHAIN_ID)?;
        let sides = (0..n as u64)
            .map(|i| spawn_anvil(SIDE_CHAIN_ID + i))
            .collect::<eyre::Result<Vec<_>>>()?;
        let deployer = dev_key(&main, 0);
        let holder = dev_key(&main, 1);
        let members: Vec<_> = (2..5).map(|i| dev_key(&main, i)).collect();
        let guardian = dev_key(&main, 5);

        let mut validators = Vec::with_capacity(n);
        let main_node = ProviderBuilder::new().connect_http(main.endpoint_url());
        for side in &sides {
            let mut keys: Vec<PrivateKeySigner> =
                (0..3).map(|_| PrivateKeySigner::random()).collect();
            keys.sort_by_key(|k| k.address());
            let provider = ProviderBuilder::new().connect_http(side.endpoint_url());
            for k in &keys {
                // gas for votes and signatures on its side chain, and for releases on main
                for node in [&provider, &main_node] {
                    node.anvil_set_balance(k.address(), tokens(100))
                        .await
                        .wrap_err("funding a validator")?;
                }
            }
            validators.push(keys);
        }

        let main_token = *DemoToken::deploy(
            wallet_provider(&main, &holder),
            "Demo Token".into(),
            "DEMO".into(),
            18,
            demo_supply(),
        )
        .await
        .wrap_err("deploying the demo token")?
        .address();
        let config = DeployConfig {
            deployer: deployer.address(),
            members: members.iter().map(|m| m.address()).collect(),
            member_threshold: 2,
            timelock_delay: 3_600,
            min_timelock_delay: 60,
            validators: Vec::new(),
            validator_threshold: 0,
            guardians: vec![guardian.address()],
            fee_recipient: dev_key(&main, 6).address(),
            tokens: vec![TokenSpec {
                main_token,
                inbound_cap: tokens(10_000_000),
                inbound_window_secs: 86_400,
                large_amount: tokens(1_000_000),
                large_delay_secs: 3_600,
                ..Default::default()
            }],
        };
        let routes: Vec<RouteSpec> = validators
            .iter()
            .map(|keys| RouteSpec {
                validators: keys.iter().map(|k| k.address()).collect(),
                threshold: 2,
            })
            .collect();
        // the deployer's nonce differs on each side chain, so each side chain's contracts have
        // addresses of their own (a route is its chain id and its bridge's address)
        for (i, side) in sides.iter().enumerate() {
            let provider = wallet_provider(side, &deployer);
            for _ in 0..i {
                provider
                    .send_transaction(
                        alloy::rpc::types::TransactionRequest::default()
                            .to(deployer.address())
                            .value(U256::ZERO),
                    )
                    .await?
                    .get_receipt()
                    .await?;
            }
        }
        let side_deployers: Vec<DynProvider> = sides
            .iter()
            .map(|s| wallet_provider(s, &deployer))
            .collect();
        let deployment = deploy_hub(
            &wallet_provider(&main, &deployer),
            &side_deployers,
            &config,
            &routes,
        )
        .await
        .wrap_err("deploying the hub")?;
        Ok(Self {
            main,
            sides,
            deployment,
            holder,
            guardian,
            members,
            validators,
            main_token,
        })
    }

    /// Mines a block on every chain each `interval` (a chain that stopped answering is
    /// skipped), until dropped.
    pub fn start_miner(&self, interval: std::time::Duration) -> crate::Miner {
        let urls: Vec<_> = std::iter::once(&self.main)
            .chain(&self.sides)
            .map(|a| a.endpoint_url())
            .collect();
        crate::Miner::spawn(urls, interval)
    }

    /// A provider that signs with `key` on the main chain.
    pub fn main_as(&self, key: &PrivateKeySigner) -> DynProvider {
        wallet_provider(&self.main, key)
    }

    /// A provider that signs with `key` on side chain `i`.
    pub fn side_as(&self, i: usize, key: &PrivateKeySigner) -> DynProvider {
        wallet_provider(&self.sides[i], key)
    }

    /// What a relayer of route `i` serves.
    pub fn target(&self, i: usize) -> crate::relayers::NodeTarget {
        crate::relayers::NodeTarget {
            main_url: self.main.endpoint(),
            side_url: self.sides[i].endpoint(),
            main: self.deployment.main,
            side: self.deployment.routes[i].side,
            hub: true,
            main_token: self.main_token,
        }
    }

    /// Route `i`'s wrapped demo token on its side chain.
    pub fn wrapped(&self, i: usize) -> Address {
        self.deployment.routes[i].tokens[0].wrapped_token
    }

    /// What the hub owes of the demo token: every route's book and whatever is parked.
    pub async fn booked(&self) -> eyre::Result<U256> {
        let hub = sidebridge_contracts::bindings::MainHub::new(
            self.deployment.main.bridge,
            self.main_as(&self.holder),
        );
        Ok(hub.booked(self.main_token).call().await?)
    }

    /// What route `i`'s book holds of the demo token.
    pub async fn custody(&self, i: usize) -> eyre::Result<U256> {
        let hub = sidebridge_contracts::bindings::MainHub::new(
            self.deployment.main.bridge,
            self.main_as(&self.holder),
        );
        Ok(hub
            .custody(self.deployment.routes[i].id, self.main_token)
            .call()
            .await?)
    }

    /// The holder locks `amount` on the hub for `recipient` on route `i` (the hub's allowance
    /// already given); returns the receipt after checking it succeeded.
    pub async fn lock(
        &self,
        i: usize,
        amount: U256,
        recipient: Address,
    ) -> eyre::Result<TransactionReceipt> {
        let receipt = MainHub::new(self.deployment.main.bridge, self.main_as(&self.holder))
            .lock(
                self.deployment.routes[i].id,
                self.main_token,
                amount,
                recipient,
            )
            .send()
            .await?
            .get_receipt()
            .await?;
        eyre::ensure!(receipt.status(), "lock reverted");
        Ok(receipt)
    }

    /// `user` burns `amount` on route `i`'s side chain toward route `j`'s side chain (a chained
    /// transfer through the hub) for `recipient`; returns the checked receipt.
    pub async fn burn_to(
        &self,
        i: usize,
        user: &PrivateKeySigner,
        amount: U256,
        j: usize,
        recipient: Address,
    ) -> eyre::Result<TransactionReceipt> {
        let dst = self.deployment.routes[j].side;
        let receipt = SideBridge::new(self.deployment.routes[i].side.bridge, self.side_as(i, user))
            .burnTo(
                self.wrapped(i),
                amount,
                U256::from(dst.chain_id),
                dst.bridge,
                recipient,
            )
            .send()
            .await?
            .get_receipt()
            .await?;
        eyre::ensure!(receipt.status(), "burnTo reverted");
        Ok(receipt)
    }
}
