//! A hub's routes as `show` prints them: for each side chain the hub serves, its set, pause
//! and retirement, and per mapped token its counterpart there, its custody book (the most its
//! releases can pay) and its inbound limits.

use alloy::primitives::{Address, B256, U256};
use eyre::WrapErr;
use serde_json::{Value, json};
use sidebridge_contracts::bindings::{MainHub, MainHubAdmin};
use sidebridge_governance::{
    action::{TokenInfo, duration},
    amount::format_amount,
};

use crate::client::GovChain;

/// One route of a hub.
#[derive(Debug, Clone)]
pub(crate) struct RouteView {
    pub(crate) id: B256,
    pub(crate) chain_id: U256,
    pub(crate) bridge: Address,
    pub(crate) validators: Vec<Address>,
    pub(crate) threshold: U256,
    pub(crate) set_version: U256,
    pub(crate) paused: bool,
    pub(crate) retired: bool,
    pub(crate) outbound_nonce: u64,
    pub(crate) tokens: Vec<RouteToken>,
}

/// A main-chain token on one route.
#[derive(Debug, Clone)]
pub(crate) struct RouteToken {
    pub(crate) token: Address,
    /// Its counterpart on the route's side chain; zero: closed toward the route.
    pub(crate) remote: Address,
    pub(crate) custody: U256,
    pub(crate) cap: U256,
    pub(crate) window: U256,
    pub(crate) large: U256,
    pub(crate) delay: U256,
    pub(crate) available: U256,
}

/// Whether the chain's bridge is a hub (it names its route administration).
pub(crate) async fn is_hub(c: &GovChain) -> bool {
    MainHub::new(c.contracts.bridge, &c.provider)
        .admin()
        .call()
        .await
        .is_ok()
}

/// Every route of the hub, retired ones included, with `tokens` (main-chain tokens) on each.
pub(crate) async fn routes(c: &GovChain, tokens: &[Address]) -> eyre::Result<Vec<RouteView>> {
    let hub = MainHub::new(c.contracts.bridge, &c.provider);
    let admin = MainHubAdmin::new(c.contracts.bridge, &c.provider);
    let mut out = Vec::new();
    for id in hub
        .routeIds()
        .call()
        .await
        .wrap_err("reading the hub's routes")?
    {
        let r = admin.route(id).call().await?;
        let mut per_token = Vec::new();
        for &token in tokens {
            let limit = hub.inboundLimit(id, token).call().await?;
            per_token.push(RouteToken {
                token,
                remote: hub.remoteToken(id, token).call().await?,
                custody: hub.custody(id, token).call().await?,
                cap: limit.cap,
                window: limit.window,
                large: limit.large,
                delay: limit.delay,
                available: hub.inboundAvailable(id, token).call().await?,
            });
        }
        out.push(RouteView {
            id,
            chain_id: r.chainId,
            bridge: r.bridge,
            validators: r.validators,
            threshold: r.threshold,
            set_version: r.setVersion,
            paused: r.isPaused,
            retired: r.isRetired,
            outbound_nonce: r.outboundNonce,
            tokens: per_token,
        });
    }
    Ok(out)
}

impl RouteView {
    fn state(&self) -> &'static str {
        match (self.retired, self.paused) {
            (true, _) => "RETIRED",
            (false, true) => "PAUSED",
            (false, false) => "running",
        }
    }

    pub(crate) fn to_json(&self, lookup: &dyn Fn(Address) -> Option<TokenInfo>) -> Value {
        let human = |t: Address, v: U256| lookup(t).map(|i| format_amount(v, i.decimals));
        json!({
            "id": self.id,
            "chainId": self.chain_id.to_string(),
            "bridge": self.bridge,
            "validators": self.validators,
            "threshold": self.threshold.to_string(),
            "setVersion": self.set_version.to_string(),
            "paused": self.paused,
            "retired": self.retired,
            "outboundNonce": self.outbound_nonce,
            "tokens": self.tokens.iter().map(|t| json!({
                "token": t.token,
                "remote": t.remote,
                "custody": t.custody.to_string(),
                "inbound": {
                    "cap": t.cap.to_string(),
                    "windowSecs": t.window.to_string(),
                    "large": t.large.to_string(),
                    "delaySecs": t.delay.to_string(),
                    "available": t.available.to_string(),
                },
                "formatted": { "custody": human(t.token, t.custody) },
            })).collect::<Vec<_>>(),
        })
    }

    pub(crate) fn print(&self, lookup: &dyn Fn(Address) -> Option<TokenInfo>) {
        println!(
            "    route {}  side chain {} bridge {}, threshold {} of {} validators, set version {}, {}",
            self.id,
            self.chain_id,
            self.bridge,
            self.threshold,
            self.validators.len(),
            self.set_version,
            self.state()
        );
        for v in &self.validators {
            println!("      validator  {v}");
        }
        for t in &self.tokens {
            let info = lookup(t.token);
            let amount = |v: U256| match &info {
                Some(i) => format!("{} {}", format_amount(v, i.decimals), i.symbol),
                None => format!("{v} base units"),
            };
            if t.remote.is_zero() {
                println!(
                    "      {}  closed toward this route, custody {}",
                    t.token,
                    amount(t.custody)
                );
                continue;
            }
            let inbound = if t.cap.is_zero() {
                "inbound closed".to_string()
            } else {
                format!(
                    "inbound cap {} per {} ({} available now); above {} waits {}",
                    amount(t.cap),
                    duration(t.window),
                    amount(t.available),
                    amount(t.large),
                    duration(t.delay)
                )
            };
            println!(
                "      {} ↔ {}  custody {}, {inbound}",
                t.token,
                t.remote,
                amount(t.custody)
            );
        }
    }
}
