//! Stands the whole system up on both chains: governance, Operational and the bridge on each,
//! a wrapped token per mapped main-chain token, limits, fees and guardians.
//!
//! Every contract is governed by its chain's `AuthorityGovernance` from construction on; the
//! deployer's address is only a one-time setup key, which configures and then finishes setup
//! on each contract, after which it holds no power at all (and the bridges move no value
//! before that).

use alloy::{
    network::ReceiptResponse,
    primitives::{Address, TxHash, U256},
    providers::{DynProvider, PendingTransactionBuilder, Provider},
    transports::TransportError,
};

use crate::bindings::{
    AuthorityGovernance, IERC20Metadata, MainBridge, Operational, SideBridge, WrappedToken,
};

/// What to deploy.
#[derive(Debug, Clone)]
pub struct DeployConfig {
    /// Account that sends the deployment and configures before handing over to governance.
    pub deployer: Address,
    /// Governance members (cold keys), the same on both chains.
    pub members: Vec<Address>,
    pub member_threshold: usize,
    /// Timelock delay of governance proposals, in seconds.
    pub timelock_delay: u64,
    /// The shortest delay governance may ever set (at least 60 s, at most `timelock_delay`).
    pub min_timelock_delay: u64,
    /// Validators (hot relayer keys), the same on both chains.
    pub validators: Vec<Address>,
    pub validator_threshold: usize,
    /// Accounts that may pause either bridge at once.
    pub guardians: Vec<Address>,
    /// Receives fees on both chains.
    pub fee_recipient: Address,
    /// Main-chain tokens to map, each getting a wrapped twin on the side chain.
    pub tokens: Vec<TokenSpec>,
}

/// A main-chain token to make bridgeable, with its limits and fees (the same on both routes).
#[derive(Debug, Clone, Default)]
pub struct TokenSpec {
    pub main_token: Address,
    /// Most that may arrive per `inbound_window_secs` on each bridge (must not be zero).
    pub inbound_cap: U256,
    pub inbound_window_secs: u64,
    /// Transfers above this wait `large_delay_secs` (guardians may hold them meanwhile); at
    /// most `inbound_cap`.
    pub large_amount: U256,
    pub large_delay_secs: u64,
    pub min_amount: U256,
    /// Zero: no maximum.
    pub max_amount: U256,
    /// Zero: no rolling cap.
    pub window_cap: U256,
    pub window_secs: u64,
    pub fee_bps: u16,
    pub flat_fee: U256,
    /// Zero: fee uncapped.
    pub max_fee: U256,
}

/// The contracts of one chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainDeployment {
    pub chain_id: u64,
    pub governance: Address,
    pub operational: Address,
    pub bridge: Address,
}

/// A mapped token pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenDeployment {
    pub main_token: Address,
    pub wrapped_token: Address,
    pub symbol: String,
    pub decimals: u8,
}

/// Everything [`deploy()`] created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    pub main: ChainDeployment,
    pub side: ChainDeployment,
    pub tokens: Vec<TokenDeployment>,
}

/// Why a deployment stopped. Nothing is retried here: a failed deployment is redone from scratch.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error("invalid deployment config: {0}")]
    Config(String),
    #[error("rpc error during {step}: {source}")]
    Rpc {
        step: &'static str,
        #[source]
        source: Box<alloy::contract::Error>,
    },
    #[error("rpc error during {step}: {source}")]
    Transport {
        step: &'static str,
        #[source]
        source: TransportError,
    },
    #[error("waiting for the receipt of {step}: {source}")]
    Receipt {
        step: &'static str,
        #[source]
        source: alloy::providers::PendingTransactionError,
    },
    #[error("{step} reverted (tx {tx})")]
    Reverted { step: &'static str, tx: TxHash },
    #[error("route {index} (side chain {chain_id}): {source}")]
    Route {
        index: usize,
        chain_id: u64,
        #[source]
        source: Box<DeployError>,
    },
}

/// Deploys and wires everything on both chains and returns the addresses. `main` and `side`
/// must sign as `config.deployer`.
pub async fn deploy(
    main: &DynProvider,
    side: &DynProvider,
    config: &DeployConfig,
) -> Result<Deployment, DeployError> {
    check(config)?;
    let mut validators = config.validators.clone();
    validators.sort();
    let main_chain_id = chain_id(main).await?;
    let side_chain_id = chain_id(side).await?;

    let main_gov = deploy_governance(main, config).await?;
    let main_op = deploy_operational(main, config, main_gov).await?;
    let main_bridge = MainBridge::deploy(
        main,
        main_gov,
        config.deployer,
        main_op,
        U256::from(side_chain_id),
        validators.clone(),
        U256::from(config.validator_threshold),
    )
    .await
    .map_err(rpc("deploying MainBridge"))?;
    let main_bridge = *main_bridge.address();

    let side_gov = deploy_governance(side, config).await?;
    let side_op = deploy_operational(side, config, side_gov).await?;
    let side_bridge = SideBridge::deploy(
        side,
        side_gov,
        config.deployer,
        side_op,
        U256::from(main_chain_id),
        main_bridge,
        false,
        validators,
        U256::from(config.validator_threshold),
    )
    .await
    .map_err(rpc("deploying SideBridge"))?;
    let side_bridge = *side_bridge.address();

    let main_ops = Operational::new(main_op, main);
    let side_ops = Operational::new(side_op, side);
    confirm(
        main_ops.setBridge(main_bridge).send().await,
        "Operational.setBridge (main)",
    )
    .await?;
    confirm(
        side_ops.setBridge(side_bridge).send().await,
        "Operational.setBridge (side)",
    )
    .await?;
    let main_bridge_c = MainBridge::new(main_bridge, main);
    let side_bridge_c = SideBridge::new(side_bridge, side);
    confirm(
        main_bridge_c.setSideBridge(side_bridge).send().await,
        "MainBridge.setSideBridge",
    )
    .await?;

    let mut tokens = Vec::with_capacity(config.tokens.len());
    for spec in &config.tokens {
        tokens.push(map_token(main, side, &main_ops, &side_ops, side_bridge, spec).await?);
        let (window, delay) = (
            U256::from(spec.inbound_window_secs),
            U256::from(spec.large_delay_secs),
        );
        confirm(
            main_bridge_c
                .setInboundLimits(
                    spec.main_token,
                    spec.inbound_cap,
                    window,
                    spec.large_amount,
                    delay,
                )
                .send()
                .await,
            "setInboundLimits (main)",
        )
        .await?;
        limit_inbound_on_side(&side_bridge_c, spec).await?;
    }
    // Finish setup: from here on only governance changes anything, and value may move.
    hand_over(main, main_gov, &main_ops, &config.guardians, true).await?;
    hand_over(side, side_gov, &side_ops, &config.guardians, false).await?;
    confirm(
        main_bridge_c.finishSetup().send().await,
        "MainBridge.finishSetup",
    )
    .await?;
    confirm(
        side_bridge_c.finishSetup().send().await,
        "SideBridge.finishSetup",
    )
    .await?;

    Ok(Deployment {
        main: ChainDeployment {
            chain_id: main_chain_id,
            governance: main_gov,
            operational: main_op,
            bridge: main_bridge,
        },
        side: ChainDeployment {
            chain_id: side_chain_id,
            governance: side_gov,
            operational: side_op,
            bridge: side_bridge,
        },
        tokens,
    })
}

/// The contracts' own rule: a strict majority of the set, at most all of it.
pub fn is_majority_threshold(threshold: usize, n: usize) -> bool {
    threshold <= n && threshold * 2 > n
}

fn check(config: &DeployConfig) -> Result<(), DeployError> {
    check_validators(&config.validators, config.validator_threshold)?;
    check_common(config)
}

/// A validator set and its threshold, as the bridges will accept them.
pub(crate) fn check_validators(
    validators: &[Address],
    threshold: usize,
) -> Result<(), DeployError> {
    if !is_majority_threshold(threshold, validators.len()) {
        return Err(DeployError::Config(format!(
            "validator threshold {threshold} must be a strict majority of the {} validators (at least {})",
            validators.len(),
            validators.len() / 2 + 1
        )));
    }
    Ok(())
}

/// Everything but the validators: governance, the fee recipient and each token's limits.
pub(crate) fn check_common(config: &DeployConfig) -> Result<(), DeployError> {
    let bad = |m: String| Err(DeployError::Config(m));
    if !is_majority_threshold(config.member_threshold, config.members.len()) {
        return bad(format!(
            "member threshold {} must be a strict majority of the {} members (at least {})",
            config.member_threshold,
            config.members.len(),
            config.members.len() / 2 + 1
        ));
    }
    if config.min_timelock_delay < 60 || config.min_timelock_delay > config.timelock_delay {
        return bad(format!(
            "the timelock floor {} s must be at least 60 s and at most the delay ({} s)",
            config.min_timelock_delay, config.timelock_delay
        ));
    }
    if config.fee_recipient == Address::ZERO {
        return bad("fee recipient must not be the zero address".into());
    }
    for spec in &config.tokens {
        if spec.inbound_cap.is_zero()
            || spec.inbound_window_secs == 0
            || spec.large_amount.is_zero()
            || spec.large_amount > spec.inbound_cap
            || spec.large_delay_secs < 60
        {
            return bad(format!(
                "token {}: inbound limits need a cap, a window, a large-transfer size between 1 and the cap, and a delay of at least 60 s",
                spec.main_token
            ));
        }
    }
    Ok(())
}

pub(crate) async fn chain_id(provider: &DynProvider) -> Result<u64, DeployError> {
    provider
        .get_chain_id()
        .await
        .map_err(|source| DeployError::Transport {
            step: "reading the chain id",
            source,
        })
}

pub(crate) async fn deploy_governance(
    provider: &DynProvider,
    config: &DeployConfig,
) -> Result<Address, DeployError> {
    let gov = AuthorityGovernance::deploy(
        provider,
        config.members.clone(),
        U256::from(config.member_threshold),
        U256::from(config.timelock_delay),
        U256::from(config.min_timelock_delay),
        config.deployer,
    )
    .await
    .map_err(rpc("deploying AuthorityGovernance"))?;
    Ok(*gov.address())
}

pub(crate) async fn deploy_operational(
    provider: &DynProvider,
    config: &DeployConfig,
    governance: Address,
) -> Result<Address, DeployError> {
    let op = Operational::deploy(provider, governance, config.deployer, config.fee_recipient)
        .await
        .map_err(rpc("deploying Operational"))?;
    Ok(*op.address())
}

async fn map_token(
    main: &DynProvider,
    side: &DynProvider,
    main_ops: &Operational::OperationalInstance<&DynProvider>,
    side_ops: &Operational::OperationalInstance<&DynProvider>,
    side_bridge: Address,
    spec: &TokenSpec,
) -> Result<TokenDeployment, DeployError> {
    let token = wrap_on_side(main, side, side_ops, side_bridge, spec).await?;
    confirm(
        main_ops
            .mapToken(spec.main_token, token.wrapped_token)
            .send()
            .await,
        "mapToken (main)",
    )
    .await?;
    configure_token(main_ops, spec.main_token, spec).await?;
    Ok(token)
}

/// Deploys `spec`'s wrapped token on the side chain (minted by `side_bridge` only), maps it
/// there to the main token and sets its outbound limits and fees there.
pub(crate) async fn wrap_on_side(
    main: &DynProvider,
    side: &DynProvider,
    side_ops: &Operational::OperationalInstance<&DynProvider>,
    side_bridge: Address,
    spec: &TokenSpec,
) -> Result<TokenDeployment, DeployError> {
    let erc20 = IERC20Metadata::new(spec.main_token, main);
    let read = rpc("reading the main token's metadata");
    let name = erc20.name().call().await.map_err(read)?;
    let symbol = erc20.symbol().call().await.map_err(read)?;
    let decimals = erc20.decimals().call().await.map_err(read)?;

    let wrapped = WrappedToken::deploy(
        side,
        name,
        symbol.clone(),
        decimals,
        side_bridge,
        spec.main_token,
    )
    .await
    .map_err(rpc("deploying WrappedToken"))?;
    let wrapped = *wrapped.address();
    confirm(
        side_ops.mapToken(wrapped, spec.main_token).send().await,
        "mapToken (side)",
    )
    .await?;
    configure_token(side_ops, wrapped, spec).await?;
    Ok(TokenDeployment {
        main_token: spec.main_token,
        wrapped_token: wrapped,
        symbol,
        decimals,
    })
}

/// Sets `spec`'s outbound limits and fees for `local` on one chain's Operational.
pub(crate) async fn configure_token(
    ops: &Operational::OperationalInstance<&DynProvider>,
    local: Address,
    spec: &TokenSpec,
) -> Result<(), DeployError> {
    if spec.min_amount != U256::ZERO
        || spec.max_amount != U256::ZERO
        || spec.window_cap != U256::ZERO
    {
        confirm(
            ops.setLimits(
                local,
                spec.min_amount,
                spec.max_amount,
                spec.window_cap,
                spec.window_secs,
            )
            .send()
            .await,
            "setLimits",
        )
        .await?;
    }
    if spec.fee_bps != 0 || spec.flat_fee != U256::ZERO {
        confirm(
            ops.setFees(local, spec.fee_bps, spec.flat_fee, spec.max_fee)
                .send()
                .await,
            "setFees",
        )
        .await?;
    }
    Ok(())
}

/// Opens `spec`'s token for inbound transfers on a side bridge, with its cap and large size.
pub(crate) async fn limit_inbound_on_side(
    bridge: &SideBridge::SideBridgeInstance<&DynProvider>,
    spec: &TokenSpec,
) -> Result<(), DeployError> {
    confirm(
        bridge
            .setInboundLimits(
                spec.main_token,
                spec.inbound_cap,
                U256::from(spec.inbound_window_secs),
                spec.large_amount,
                U256::from(spec.large_delay_secs),
            )
            .send()
            .await,
        "setInboundLimits (side)",
    )
    .await
}

/// Adds the guardians to one chain's Operational, binds it to the chain's governance and
/// finishes its setup: the last steps before the chain's bridge finishes its own.
pub(crate) async fn hand_over(
    provider: &DynProvider,
    governance: Address,
    ops: &Operational::OperationalInstance<&DynProvider>,
    guardians: &[Address],
    main: bool,
) -> Result<(), DeployError> {
    let (add, bind, finish) = if main {
        (
            "addGuardian (main)",
            "AuthorityGovernance.bindOperational (main)",
            "Operational.finishSetup (main)",
        )
    } else {
        (
            "addGuardian (side)",
            "AuthorityGovernance.bindOperational (side)",
            "Operational.finishSetup (side)",
        )
    };
    for guardian in guardians {
        confirm(ops.addGuardian(*guardian).send().await, add).await?;
    }
    confirm(
        AuthorityGovernance::new(governance, provider)
            .bindOperational(*ops.address())
            .send()
            .await,
        bind,
    )
    .await?;
    confirm(ops.finishSetup().send().await, finish).await
}

pub(crate) fn rpc(step: &'static str) -> impl Fn(alloy::contract::Error) -> DeployError + Copy {
    move |source| DeployError::Rpc {
        step,
        source: Box::new(source),
    }
}

/// Waits for a sent transaction and requires that it succeeded.
pub(crate) async fn confirm(
    sent: Result<PendingTransactionBuilder<alloy::network::Ethereum>, alloy::contract::Error>,
    step: &'static str,
) -> Result<(), DeployError> {
    let pending = sent.map_err(rpc(step))?;
    let receipt = pending
        .get_receipt()
        .await
        .map_err(|source| DeployError::Receipt { step, source })?;
    if !receipt.status() {
        return Err(DeployError::Reverted {
            step,
            tx: receipt.transaction_hash(),
        });
    }
    Ok(())
}
