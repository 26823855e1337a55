//! The bridge at a glance, for `/api/overview` and the status page: per chain the validator
//! set and its version, the head, how far the index has read and its lag, pause; per mapped
//! token the limits left in the window each way and the fees collected.
//!
//! One task reads it every [`REFRESH_EVERY`] and the API serves the last reading, so public
//! clients never cause RPC calls of their own (a page polled by a thousand browsers costs the
//! node what one does).

use std::time::Duration;

use alloy::{
    primitives::{Address, U256},
    providers::DynProvider,
};
use serde_json::{Value, json};
use sidebridge_contracts::bindings::{
    IERC20Metadata, MainBridge, MainHub, MainHubAdmin, Operational,
};
use tokio::sync::watch;

use crate::{
    config::IndexConfig,
    domain::Chain,
    stage::{Flow, Passing, Stage},
    store::Store,
    watcher::{ChainStatus, Route},
};

/// How often the overview is read again.
pub const REFRESH_EVERY: Duration = Duration::from_secs(2);

/// Why a reading failed; the previous one is served meanwhile, with the error beside it.
#[derive(Debug, thiserror::Error)]
pub enum OverviewError {
    #[error("{chain} chain: {call}: {source}")]
    Call {
        chain: Chain,
        call: &'static str,
        #[source]
        source: alloy::contract::Error,
    },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// What the reader needs of one chain.
#[derive(Debug, Clone)]
pub struct ChainView {
    pub chain: Chain,
    pub chain_id: u64,
    pub provider: DynProvider,
    pub bridge: Address,
    pub operational: Address,
    pub confirmations: u64,
    pub status: watch::Receiver<ChainStatus>,
}

impl ChainView {
    pub fn new(
        config: &IndexConfig,
        chain: Chain,
        provider: DynProvider,
        status: watch::Receiver<ChainStatus>,
    ) -> Self {
        let cfg = config.chain(chain);
        Self {
            chain,
            chain_id: cfg.chain_id,
            provider,
            bridge: cfg.bridge,
            operational: cfg.operational,
            confirmations: cfg.confirmations,
            status,
        }
    }
}

/// Reads the overview every [`REFRESH_EVERY`] into `out`: a [`Stage`]. A failed read keeps
/// the last overview, with the error beside it, until the next.
#[derive(Debug)]
pub struct Refresh {
    pub main: ChainView,
    pub side: ChainView,
    pub route: Route,
    pub store: Store,
    pub out: watch::Sender<Value>,
}

impl Stage for Refresh {
    type Error = Passing;

    fn name(&self) -> &'static str {
        "overview"
    }

    async fn step(&mut self) -> Result<Flow, Passing> {
        match read(&self.main, &self.side, &self.route, &self.store).await {
            Ok(overview) => {
                self.out.send_replace(overview);
                Ok(Flow::Idle)
            }
            Err(err) => {
                let reason = crate::rpc::describe(&err);
                self.out.send_modify(|v| {
                    if let Some(map) = v.as_object_mut() {
                        map.insert("error".into(), reason.clone().into());
                    }
                });
                Err(Passing(format!("reading the overview: {reason}")))
            }
        }
    }

    fn idle(&mut self) -> impl std::future::Future<Output = ()> + Send {
        tokio::time::sleep(REFRESH_EVERY)
    }
}

/// An amount, or `"unlimited"` for the contracts' "no cap" (`uint256` max).
fn amount(value: U256) -> Value {
    if value == U256::MAX {
        "unlimited".into()
    } else {
        value.to_string().into()
    }
}

async fn chain_json(view: &ChainView, route: &Route) -> Result<Value, OverviewError> {
    let call = |call| {
        move |source| OverviewError::Call {
            chain: view.chain,
            call,
            source,
        }
    };
    let status = view.status.borrow().clone();
    let mut out = json!({
        "chainId": view.chain_id,
        "head": status.head,
        "indexedTo": status.cursor,
        "lag": status.lag,
        "confirmations": view.confirmations,
        "halted": status.halted,
    });
    let state = if view.chain == Chain::Main && route.hub {
        let hub = MainHub::new(view.bridge, &view.provider);
        let r = MainHubAdmin::new(view.bridge, &view.provider)
            .route(route.id())
            .call()
            .await
            .map_err(call("route"))?;
        let paused = hub.paused().call().await.map_err(call("paused"))?;
        let live = hub.live().call().await.map_err(call("live"))?;
        json!({
            "route": route.id(),
            "validators": r.validators,
            "threshold": r.threshold.to_string(),
            "validatorSetVersion": r.setVersion.to_string(),
            "paused": paused || r.isPaused,
            "routePaused": r.isPaused,
            "retired": r.isRetired,
            "live": live,
        })
    } else {
        // both bridges share BridgeBase's views: one binding reads either
        let state = MainBridge::new(view.bridge, &view.provider)
            .bridgeState()
            .call()
            .await
            .map_err(call("bridgeState"))?;
        json!({
            "validators": state.set,
            "threshold": state.threshold.to_string(),
            "validatorSetVersion": state.setVersion.to_string(),
            "paused": state.isPaused,
            "live": state.isLive,
        })
    };
    if let (Value::Object(out), Value::Object(state)) = (&mut out, state) {
        out.extend(state);
    }
    Ok(out)
}

/// A token's inbound limit on the main chain for this route: `(cap, window, available)`, and
/// what the route's book holds on a hub.
async fn main_inbound(
    main: &ChainView,
    route: &Route,
    token: Address,
) -> Result<(U256, U256, U256, Option<U256>), alloy::contract::Error> {
    if route.hub {
        let hub = MainHub::new(main.bridge, &main.provider);
        let limit = hub.inboundLimit(route.id(), token).call().await?;
        let available = hub.inboundAvailable(route.id(), token).call().await?;
        let custody = hub.custody(route.id(), token).call().await?;
        return Ok((limit.cap, limit.window, available, Some(custody)));
    }
    let bridge = MainBridge::new(main.bridge, &main.provider);
    let limit = bridge.inboundLimit(token).call().await?;
    let available = bridge.inboundAvailable(token).call().await?;
    Ok((limit.cap, limit.window, available, None))
}

/// The whole reading: chains, then each token the main chain ever mapped.
pub async fn read(
    main: &ChainView,
    side: &ChainView,
    route: &Route,
    store: &Store,
) -> Result<Value, OverviewError> {
    let chains = json!({
        "main": chain_json(main, route).await?,
        "side": chain_json(side, route).await?,
    });
    let call = |chain, call| {
        move |source| OverviewError::Call {
            chain,
            call,
            source,
        }
    };
    let main_op = Operational::new(main.operational, &main.provider);
    let side_op = Operational::new(side.operational, &side.provider);
    // inbound limits are keyed by the main-chain token on both bridges
    let side_bridge = MainBridge::new(side.bridge, &side.provider);
    let fees = store.fees_by_token().await?;
    let mut tokens = Vec::new();
    for token in main_op
        .mappedTokens()
        .call()
        .await
        .map_err(call(Chain::Main, "mappedTokens"))?
    {
        // a hub's Operational maps a token to itself; its counterpart is the route's
        let wrapped = if route.hub {
            MainHub::new(main.bridge, &main.provider)
                .remoteToken(route.id(), token)
                .call()
                .await
                .map_err(call(Chain::Main, "remoteToken"))?
        } else {
            main_op
                .tokenConfig(token)
                .call()
                .await
                .map_err(call(Chain::Main, "tokenConfig"))?
                .remote
        };
        let erc20 = IERC20Metadata::new(token, &main.provider);
        // a token without the optional metadata is still listed
        let symbol = erc20.symbol().call().await.unwrap_or_default();
        let decimals = erc20.decimals().call().await.unwrap_or(18);
        let deposit_out = main_op
            .availableCapacity(token)
            .call()
            .await
            .map_err(call(Chain::Main, "availableCapacity"))?;
        let withdraw_out = if wrapped.is_zero() {
            U256::ZERO
        } else {
            side_op
                .availableCapacity(wrapped)
                .call()
                .await
                .map_err(call(Chain::Side, "availableCapacity"))?
        };
        let deposit_in = side_bridge
            .inboundAvailable(token)
            .call()
            .await
            .map_err(call(Chain::Side, "inboundAvailable"))?;
        let deposit_cap = side_bridge
            .inboundLimit(token)
            .call()
            .await
            .map_err(call(Chain::Side, "inboundLimit"))?;
        let (withdraw_cap, withdraw_window, withdraw_in, custody) =
            main_inbound(main, route, token)
                .await
                .map_err(call(Chain::Main, "inboundLimit"))?;
        let collected = fees
            .iter()
            .find(|(t, _)| *t == token)
            .map_or(U256::ZERO, |(_, sum)| *sum);
        tokens.push(json!({
            "token": token,
            "wrapped": (!wrapped.is_zero()).then_some(wrapped),
            "symbol": symbol,
            "decimals": decimals,
            "deposits": {
                "outboundLeft": amount(deposit_out),
                "inboundLeft": amount(deposit_in),
                "inboundCap": deposit_cap.cap.to_string(),
                "inboundWindowSecs": deposit_cap.window.to_string(),
            },
            "withdrawals": {
                "outboundLeft": amount(withdraw_out),
                "inboundLeft": amount(withdraw_in),
                "inboundCap": withdraw_cap.to_string(),
                "inboundWindowSecs": withdraw_window.to_string(),
            },
            "custody": custody.map(|c| c.to_string()),
            "feesCollected": collected.to_string(),
        }));
    }
    Ok(json!({
        "chains": chains,
        "tokens": tokens,
        "updatedAt": crate::watcher::unix_now(),
    }))
}
