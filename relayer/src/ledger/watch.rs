//! The fee coverage gauge: every `[fees] check_every_secs`, the last day's fees against the last day's relay
//! costs ([`super::fees::coverage_ratio`]) at the configured `[fees]` prices, exported as
//! `sidebridge_fee_coverage_ratio` for the SidebridgeFeesBelowCosts alert. Without prices it
//! does nothing (the gauge stays NaN).

use std::{collections::HashMap, sync::Arc};

use alloy::{
    primitives::{Address, U256},
    providers::DynProvider,
};
use sidebridge_contracts::bindings::IERC20Metadata;

use super::fees::{Prices, coverage, coverage_ratio};
use crate::{
    config::FeePrices,
    domain::Direction,
    metrics::Metrics,
    stage::{Flow, Passing, Stage},
    store::Store,
    watcher::Route,
};

/// The window compared: a day.
pub const WINDOW_SECS: i64 = 86_400;

/// The gauge's [`Stage`]: computed every `prices.check_every`; a failed computation (an RPC or
/// database read) leaves the gauge as it was until the next.
#[derive(Debug)]
pub struct FeeCoverage {
    prices: FeePrices,
    store: Store,
    main: DynProvider,
    route: Route,
    metrics: Arc<Metrics>,
    decimals: HashMap<Address, u8>,
}

impl FeeCoverage {
    /// `None` without prices: there is nothing to compute.
    pub fn new(
        prices: FeePrices,
        store: Store,
        main: DynProvider,
        route: Route,
        metrics: Arc<Metrics>,
    ) -> Option<Self> {
        (!prices.token_prices.is_empty()).then(|| Self {
            prices,
            store,
            main,
            route,
            metrics,
            decimals: HashMap::new(),
        })
    }
}

impl Stage for FeeCoverage {
    type Error = Passing;

    fn name(&self) -> &'static str {
        "fee coverage"
    }

    async fn step(&mut self) -> Result<Flow, Passing> {
        let Self {
            prices,
            store,
            main,
            route,
            metrics,
            decimals,
        } = self;
        once(prices, store, main, route, metrics, decimals)
            .await
            .map_err(|e| Passing(format!("fee coverage not computed this time: {e}")))?;
        Ok(Flow::Idle)
    }

    fn idle(&mut self) -> impl std::future::Future<Output = ()> + Send {
        tokio::time::sleep(self.prices.check_every)
    }
}

async fn once(
    prices: &FeePrices,
    store: &Store,
    main: &DynProvider,
    route: &Route,
    metrics: &Metrics,
    decimals: &mut HashMap<Address, u8>,
) -> Result<(), String> {
    for (token, _) in &prices.token_prices {
        if !decimals.contains_key(token) {
            let d = IERC20Metadata::new(*token, main)
                .decimals()
                .call()
                .await
                .map_err(|e| format!("decimals of {token}: {e}"))?;
            decimals.insert(*token, d);
        }
    }
    let validators = route
        .main_set(main)
        .await
        .map_err(|e| format!("the main chain's validator set: {e}"))?
        .validators
        .len() as u64;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let costs = store.cost_entries().await.map_err(|e| e.to_string())?;
    let fees = store.fee_entries().await.map_err(|e| e.to_string())?;
    let rows = coverage(&costs, &fees, now - WINDOW_SECS);
    let ratio = coverage_ratio(&rows, validators, |t| {
        let (_, price) = prices.token_prices.iter().find(|(a, _)| *a == t)?;
        Some(Prices {
            token_in_main_wei: U256::from(*price),
            decimals: *decimals.get(&t)?,
            side_native_in_main_wei: U256::from(prices.side_native_price),
        })
    });
    for direction in [Direction::Deposit, Direction::Withdrawal] {
        metrics.set_fee_coverage(
            direction,
            ratio.get(&direction).copied().unwrap_or(f64::NAN),
        );
    }
    Ok(())
}
