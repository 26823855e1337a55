//! `bridgectl verify` on a hub: the main chain's bridge is a `MainHub` serving many side chains,
//! and the side chain of the config is one of its routes. Beyond what every chain is checked
//! for, the hub's route administration must run the project's `MainHubAdmin` code (the hub
//! runs it in its own storage), every route's validator threshold must be a strict majority
//! with no governance member among its keys, and the side chain must be a live route of this
//! hub: its bridge built for a hub (`chained`), pointing at the hub with the hub's domain, the
//! route's chain and bridge what the side chain is, and each token open toward it mapped to
//! a wrapped token the side bridge alone mints.
//!
//! The attacker's best strategy is a side bridge that names the hub but is not the route the
//! hub knows (another address on the same chain): the route id is computed here from the side
//! chain's id and bridge, so the hub's answer is about this very bridge or it fails.

use alloy::{primitives::Address, providers::Provider};
use eyre::WrapErr;
use sidebridge_contracts::{
    bindings::{MainHub, MainHubAdmin, SideBridge},
    is_majority_threshold, route_id, transfer_domain,
};
use sidebridge_core::domain::Chain;

use super::{
    Check, same_code,
    tokens::{mapped, maps_back, wrapped_checks},
};
use crate::client::GovChain;

/// The hub's administration code, and every route's set against the members.
pub(super) async fn hub_checks(
    c: &GovChain,
    members: &[Address],
    out: &mut Vec<Check>,
) -> eyre::Result<()> {
    let hub = MainHub::new(c.contracts.bridge, &c.provider);
    let admin = hub
        .admin()
        .call()
        .await
        .wrap_err("reading the hub's admin")?;
    let code = c
        .provider
        .get_code_at(admin)
        .await
        .wrap_err("reading the code of the hub's admin")?;
    out.push(Check::new(
        Chain::Main,
        format!("the hub's route administration {admin} runs the project's MainHubAdmin code"),
        same_code(MainHubAdmin::DEPLOYED_BYTECODE.as_ref(), &code).err(),
    ));
    // the admin's code runs in the hub's storage with the admin's own immutables: its
    // governance and Operational must be the hub's, and it must be the one the hub created
    let own = MainHubAdmin::new(admin, &c.provider);
    let created = c.contracts.bridge.create(1);
    let links = [
        (
            "the hub's route administration is the one the hub created",
            admin,
            created,
        ),
        (
            "the route administration is governed by governance",
            own.governance()
                .call()
                .await
                .wrap_err("reading the admin's governance")?,
            c.contracts.governance,
        ),
        (
            "the route administration reads the Operational contract",
            own.operational()
                .call()
                .await
                .wrap_err("reading the admin's operational")?,
            c.contracts.operational,
        ),
    ];
    for (what, got, want) in links {
        out.push(Check::new(
            Chain::Main,
            what.into(),
            (got != want).then(|| format!("it is {got}, expected {want}")),
        ));
    }
    let routing = MainHubAdmin::new(c.contracts.bridge, &c.provider);
    for id in hub.routeIds().call().await.wrap_err("reading routeIds")? {
        let r = routing
            .route(id)
            .call()
            .await
            .wrap_err_with(|| format!("reading route {id}"))?;
        if r.isRetired {
            continue; // nothing moves through it again
        }
        let threshold: usize = r.threshold.saturating_to();
        out.push(Check::new(
            Chain::Main,
            format!(
                "route {id}: the threshold {threshold} is a strict majority of {} validators",
                r.validators.len()
            ),
            (!is_majority_threshold(threshold, r.validators.len()))
                .then(|| format!("{threshold} of {}", r.validators.len())),
        ));
        let shared: Vec<Address> = r
            .validators
            .iter()
            .filter(|v| members.contains(v))
            .copied()
            .collect();
        out.push(Check::new(
            Chain::Main,
            format!("route {id}: no key is both its validator and a governance member"),
            (!shared.is_empty()).then(|| format!("{shared:?}")),
        ));
    }
    Ok(())
}

/// The side chain as a route of the hub.
pub(super) async fn cross_checks(
    main: &GovChain,
    side: &GovChain,
    out: &mut Vec<Check>,
) -> eyre::Result<()> {
    let hub_address = main.contracts.bridge;
    let s = SideBridge::new(side.contracts.bridge, &side.provider);
    let ctx = |what: &str| format!("reading {what} on the side chain");
    let points_at = s
        .mainBridge()
        .call()
        .await
        .wrap_err_with(|| ctx("mainBridge"))?;
    let remote: u64 = s
        .remoteChainId()
        .call()
        .await
        .wrap_err_with(|| ctx("remoteChainId"))?
        .saturating_to();
    let domain = s
        .mainDomainSeparator()
        .call()
        .await
        .wrap_err_with(|| ctx("mainDomainSeparator"))?;
    let chained = s.chained().call().await.wrap_err_with(|| ctx("chained"))?;
    let hub_domain = transfer_domain(main.chain_id, hub_address).separator();
    let side_checks = [
        (
            "its main bridge is the hub",
            (points_at != hub_address).then(|| format!("it says {points_at}")),
        ),
        (
            "its remote chain is the main chain",
            (remote != main.chain_id).then(|| format!("it says chain {remote}")),
        ),
        (
            "withdrawal ids are the hub's digests",
            (domain != hub_domain).then(|| format!("it says {domain}")),
        ),
        (
            "it was built for a hub (chained transfers)",
            (!chained).then(|| "it was built for a one-route main bridge".to_string()),
        ),
    ];
    for (what, failure) in side_checks {
        out.push(Check::new(Chain::Side, what.to_string(), failure));
    }

    let id = route_id(side.chain_id, side.contracts.bridge);
    let route = MainHubAdmin::new(hub_address, &main.provider)
        .route(id)
        .call()
        .await;
    let failure = match &route {
        Err(_) => Some(format!(
            "the hub has no route {id} for chain {}'s bridge {}",
            side.chain_id, side.contracts.bridge
        )),
        Ok(r) if r.isRetired => Some(format!("route {id} is retired")),
        Ok(_) => None,
    };
    out.push(Check::new(
        Chain::Main,
        format!("the side chain's bridge is a live route of the hub ({id})"),
        failure,
    ));
    Ok(())
}

/// Every token the hub lists, toward this route: mapped to a wrapped token of ours that the
/// side chain maps back; every token the side chain maps, open toward it on the hub.
pub(super) async fn token_checks(
    main: &GovChain,
    side: &GovChain,
    out: &mut Vec<Check>,
) -> eyre::Result<()> {
    let id = route_id(side.chain_id, side.contracts.bridge);
    let hub = MainHub::new(main.contracts.bridge, &main.provider);
    for (token, listed) in mapped(main).await? {
        out.push(Check::new(
            Chain::Main,
            format!("the hub's chain lists {token} by mapping it to itself"),
            (listed != token).then(|| format!("it maps it to {listed}")),
        ));
        let wrapped = hub
            .remoteToken(id, token)
            .call()
            .await
            .wrap_err_with(|| format!("reading remoteToken({token}) of route {id}"))?;
        if wrapped.is_zero() {
            continue; // not open toward this route
        }
        let limit = hub
            .inboundLimit(id, token)
            .call()
            .await
            .wrap_err_with(|| format!("reading inboundLimit({token}) of route {id}"))?;
        out.push(Check {
            chain: Chain::Main,
            what: format!("inbound transfers of {token} from the route are open"),
            failure: limit.cap.is_zero().then(|| {
                "inbound is closed: withdrawals of it wait until governance opens it \
                 (bridgectl propose set-route-inbound-limits …)"
                    .to_string()
            }),
            advisory: true,
        });
        maps_back(side, token, wrapped, out).await?;
        wrapped_checks(main, side, token, wrapped, out).await?;
    }
    for (wrapped, remote) in mapped(side).await? {
        let mirrored = hub
            .remoteToken(id, remote)
            .call()
            .await
            .wrap_err_with(|| format!("reading remoteToken({remote}) of route {id}"))?;
        if mirrored != wrapped {
            out.push(Check::new(
                Chain::Side,
                format!("the side chain's mapping of {wrapped} to {remote} is mirrored on the hub"),
                Some(format!(
                    "the hub maps {remote} toward this route to {mirrored}"
                )),
            ));
        }
    }
    Ok(())
}
