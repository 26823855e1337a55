//! What a relayer reads from its route's bridge on the main chain. That bridge is a one-route
//! `MainBridge`, or a `MainHub` serving many side chains, whose views take the route's id and
//! whose route administration (`route`) answers through the hub's address. Everything else
//! reads these, so no other part cares which one it is.

use alloy::{
    primitives::{Address, B256},
    providers::DynProvider,
};
use sidebridge_contracts::bindings::{self, MainBridge, MainHub, MainHubAdmin, SideBridge};

use super::Route;

use alloy::contract::Error as CallError;

/// The route's validator set on the main chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MainSet {
    /// Ascending, as the contract keeps them.
    pub validators: Vec<Address>,
    pub threshold: usize,
}

/// Where one withdrawal stands on the main chain (`releaseStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReleaseView {
    /// Its nonce was released or queued, by whichever content.
    pub processed: bool,
    /// Queued: when it may execute (0: not queued).
    pub eta: u64,
    pub held: bool,
    pub canceled: bool,
    pub executed: bool,
}

/// Both bridges answer `releaseStatus` with the same struct (`BatchRelease.ReleaseStatus`),
/// bound once per contract.
macro_rules! release_view_from {
    ($($status:ty),*) => {$(
        impl From<$status> for ReleaseView {
            fn from(r: $status) -> Self {
                Self {
                    processed: r.processed,
                    eta: r.eta,
                    held: r.held,
                    canceled: r.canceled,
                    executed: r.executed,
                }
            }
        }
    )*};
}

release_view_from!(
    bindings::BatchRelease::ReleaseStatus,
    bindings::main_hub::BatchRelease::ReleaseStatus
);

impl Route {
    /// The validator set the main chain checks this route's withdrawals against.
    pub async fn main_set(&self, main: &DynProvider) -> Result<MainSet, CallError> {
        if self.hub {
            let r = MainHubAdmin::new(self.main_bridge, main)
                .route(self.id())
                .call()
                .await?;
            return Ok(MainSet {
                validators: r.validators,
                threshold: r.threshold.saturating_to(),
            });
        }
        let s = MainBridge::new(self.main_bridge, main)
            .bridgeState()
            .call()
            .await?;
        Ok(MainSet {
            validators: s.set,
            threshold: s.threshold.saturating_to(),
        })
    }

    /// The nonce the main chain gives this route's next deposit.
    pub async fn main_outbound_nonce(&self, main: &DynProvider) -> Result<u64, CallError> {
        if self.hub {
            let r = MainHubAdmin::new(self.main_bridge, main)
                .route(self.id())
                .call()
                .await?;
            return Ok(r.outboundNonce);
        }
        MainBridge::new(self.main_bridge, main)
            .outboundNonce()
            .call()
            .await
    }

    /// Where each withdrawal (id and nonce) of this route stands on the main chain.
    pub async fn main_release_status(
        &self,
        main: &DynProvider,
        ids: Vec<B256>,
        nonces: Vec<u64>,
    ) -> Result<Vec<ReleaseView>, CallError> {
        if self.hub {
            let out = MainHub::new(self.main_bridge, main)
                .releaseStatus(self.id(), ids, nonces)
                .call()
                .await?;
            return Ok(out.into_iter().map(ReleaseView::from).collect());
        }
        let out = MainBridge::new(self.main_bridge, main)
            .releaseStatus(ids, nonces)
            .call()
            .await?;
        Ok(out.into_iter().map(ReleaseView::from).collect())
    }

    /// Whether `account` signs for this route on the main chain. On a hub an address serves
    /// one route at most, so membership is `routeOfValidator(account)` being this route.
    pub async fn main_is_validator(
        &self,
        main: &DynProvider,
        account: Address,
    ) -> Result<bool, CallError> {
        if self.hub {
            let route = MainHub::new(self.main_bridge, main)
                .routeOfValidator(account)
                .call()
                .await?;
            return Ok(route == self.id());
        }
        MainBridge::new(self.main_bridge, main)
            .isValidator(account)
            .call()
            .await
    }

    /// At start-up: that the two bridges are what the config says. The side bridge must have
    /// been built for this kind of main bridge (`chained` for a hub, not for a one-route
    /// MainBridge, whose side bridge's chained burns it would never pay; a side bridge from
    /// before `Burned` named its destination has no `chained` and is refused too: its events
    /// would go unseen). On a hub, the hub must have this route, not retired. The reason when
    /// not.
    pub async fn check_bridges(
        &self,
        main: &DynProvider,
        side: &DynProvider,
    ) -> Result<(), String> {
        let chained = SideBridge::new(self.side_bridge, side)
            .chained()
            .call()
            .await
            .map_err(|e| {
                format!(
                    "the side bridge {} does not say whether it chains through a hub (a bridge of an older release?): {e}",
                    self.side_bridge
                )
            })?;
        if chained != self.hub {
            return Err(if self.hub {
                format!(
                    "chains.main.hub is true but the side bridge {} was built for a one-route MainBridge",
                    self.side_bridge
                )
            } else {
                format!(
                    "the side bridge {} was built for a hub: set chains.main.hub = true",
                    self.side_bridge
                )
            });
        }
        if !self.hub {
            return Ok(());
        }
        let r = MainHubAdmin::new(self.main_bridge, main)
            .route(self.id())
            .call()
            .await
            .map_err(|e| {
                format!(
                    "the hub at {} has no route {} for side chain {} bridge {}: {e}",
                    self.main_bridge,
                    self.id(),
                    self.side_chain_id,
                    self.side_bridge
                )
            })?;
        if r.chainId != alloy::primitives::U256::from(self.side_chain_id)
            || r.bridge != self.side_bridge
        {
            return Err(format!(
                "the hub's route {} is side chain {} bridge {}, not the configured ones",
                self.id(),
                r.chainId,
                r.bridge
            ));
        }
        if r.isRetired {
            return Err(format!(
                "route {} is retired on the hub: there is nothing left to relay on it",
                self.id()
            ));
        }
        Ok(())
    }
}
