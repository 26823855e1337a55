//! Stands up the many-route system: one main chain with its hub (`MainHub` and its route
//! administration `MainHubAdmin`) and any number of side chains, each with its own governance,
//! Operational, `SideBridge` bound to the hub and wrapped tokens, each a route of the hub with
//! validator keys of its own (the hub refuses an address in two routes' sets).
//!
//! As [`deploy()`](crate::deploy()) does for one side chain, every contract is governed from
//! construction on; the deployer's address is a one-time setup key that configures and then
//! finishes setup everywhere.

use alloy::{
    primitives::{Address, B256, U256},
    providers::DynProvider,
};

use crate::{
    bindings::{MainHub, MainHubAdmin, Operational, SideBridge},
    deploy::{
        ChainDeployment, DeployConfig, DeployError, TokenDeployment, chain_id, check_common,
        check_validators, configure_token, confirm, deploy_governance, deploy_operational,
        hand_over, limit_inbound_on_side, rpc, wrap_on_side,
    },
    route_id,
};

/// One side chain of the hub: the validators that sign for it alone, and their threshold.
#[derive(Debug, Clone)]
pub struct RouteSpec {
    pub validators: Vec<Address>,
    pub threshold: usize,
}

/// One route as deployed: its id on the hub, the side chain's contracts and wrapped tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteDeployment {
    pub id: B256,
    pub side: ChainDeployment,
    pub tokens: Vec<TokenDeployment>,
}

/// Everything [`deploy_hub()`] created. `main.bridge` is the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubDeployment {
    pub main: ChainDeployment,
    /// The route administration the hub runs by `delegatecall`.
    pub admin: Address,
    pub routes: Vec<RouteDeployment>,
}

/// Deploys the hub on `main` and one route per side chain in `sides` (with `routes[i]`'s
/// validators). `config` gives governance, guardians, the fee recipient and the tokens; its
/// own `validators` must be empty, as the hub's validators are per route. Every provider
/// must sign as `config.deployer`.
///
/// Every route is configured before any contract finishes its setup, so a deployment that
/// stops half-way leaves nothing live (the deployer redoes it from scratch). A failure in a
/// route's steps names the route and its chain.
pub async fn deploy_hub(
    main: &DynProvider,
    sides: &[DynProvider],
    config: &DeployConfig,
    routes: &[RouteSpec],
) -> Result<HubDeployment, DeployError> {
    check_common(config)?;
    check_routes(config, sides, routes)?;
    let main_chain_id = chain_id(main).await?;
    let mut side_chain_ids = Vec::with_capacity(sides.len());
    for side in sides {
        side_chain_ids.push(chain_id(side).await?);
    }
    check_chain_ids(main_chain_id, &side_chain_ids)?;

    let main_gov = deploy_governance(main, config).await?;
    let main_op = deploy_operational(main, config, main_gov).await?;
    // the hub creates its route administration itself
    let hub_c = MainHub::deploy(main, main_gov, config.deployer, main_op)
        .await
        .map_err(rpc("deploying MainHub"))?;
    let hub = *hub_c.address();
    let admin = hub_c
        .admin()
        .call()
        .await
        .map_err(rpc("reading MainHub.admin"))?;
    let main_ops = Operational::new(main_op, main);
    confirm(
        main_ops.setBridge(hub).send().await,
        "Operational.setBridge (main)",
    )
    .await?;
    for spec in &config.tokens {
        // the hub's chain lists a token by mapping it to itself
        confirm(
            main_ops
                .mapToken(spec.main_token, spec.main_token)
                .send()
                .await,
            "mapToken (main)",
        )
        .await?;
        configure_token(&main_ops, spec.main_token, spec).await?;
    }

    let mut deployed = Vec::with_capacity(sides.len());
    for (index, (side, route)) in sides.iter().zip(routes).enumerate() {
        let chain_id = side_chain_ids[index];
        let built = add_route(main, side, chain_id, main_chain_id, hub, config, route)
            .await
            .map_err(in_route(index, chain_id))?;
        deployed.push(built);
    }
    // only now, with every route configured, does anything finish its setup
    for (index, (side, built)) in sides.iter().zip(&deployed).enumerate() {
        let operational = Operational::new(built.side.operational, side);
        hand_over(
            side,
            built.side.governance,
            &operational,
            &config.guardians,
            false,
        )
        .await
        .map_err(in_route(index, built.side.chain_id))?;
        confirm(
            SideBridge::new(built.side.bridge, side)
                .finishSetup()
                .send()
                .await,
            "SideBridge.finishSetup",
        )
        .await
        .map_err(in_route(index, built.side.chain_id))?;
    }
    hand_over(main, main_gov, &main_ops, &config.guardians, true).await?;
    confirm(hub_c.finishSetup().send().await, "MainHub.finishSetup").await?;

    Ok(HubDeployment {
        main: ChainDeployment {
            chain_id: main_chain_id,
            governance: main_gov,
            operational: main_op,
            bridge: hub,
        },
        admin,
        routes: deployed,
    })
}

/// Side chain `chain_id`'s governance, Operational, bridge (bound to `hub`) and wrapped tokens,
/// and its route on the hub with its tokens and limits; nothing finishes its setup here.
async fn add_route(
    main: &DynProvider,
    side: &DynProvider,
    chain_id: u64,
    main_chain_id: u64,
    hub: Address,
    config: &DeployConfig,
    route: &RouteSpec,
) -> Result<RouteDeployment, DeployError> {
    let mut validators = route.validators.clone();
    validators.sort();
    let side_gov = deploy_governance(side, config).await?;
    let side_op = deploy_operational(side, config, side_gov).await?;
    let side_bridge = *SideBridge::deploy(
        side,
        side_gov,
        config.deployer,
        side_op,
        U256::from(main_chain_id),
        hub,
        true,
        validators.clone(),
        U256::from(route.threshold),
    )
    .await
    .map_err(rpc("deploying SideBridge"))?
    .address();
    let side_ops = Operational::new(side_op, side);
    let side_bridge_c = SideBridge::new(side_bridge, side);
    confirm(
        side_ops.setBridge(side_bridge).send().await,
        "Operational.setBridge (side)",
    )
    .await?;

    let routing = MainHubAdmin::new(hub, main);
    let id = route_id(chain_id, side_bridge);
    confirm(
        routing
            .addRoute(
                U256::from(chain_id),
                side_bridge,
                validators,
                U256::from(route.threshold),
            )
            .send()
            .await,
        "MainHubAdmin.addRoute",
    )
    .await?;
    let mut tokens = Vec::with_capacity(config.tokens.len());
    for spec in &config.tokens {
        let token = wrap_on_side(main, side, &side_ops, side_bridge, spec).await?;
        confirm(
            routing
                .setRouteToken(id, spec.main_token, token.wrapped_token)
                .send()
                .await,
            "MainHubAdmin.setRouteToken",
        )
        .await?;
        confirm(
            routing
                .setInboundLimits(
                    id,
                    spec.main_token,
                    spec.inbound_cap,
                    U256::from(spec.inbound_window_secs),
                    spec.large_amount,
                    U256::from(spec.large_delay_secs),
                )
                .send()
                .await,
            "MainHubAdmin.setInboundLimits",
        )
        .await?;
        limit_inbound_on_side(&side_bridge_c, spec).await?;
        tokens.push(token);
    }
    Ok(RouteDeployment {
        id,
        side: ChainDeployment {
            chain_id,
            governance: side_gov,
            operational: side_op,
            bridge: side_bridge,
        },
        tokens,
    })
}

/// Tags a route's failure with the route and its chain.
fn in_route(index: usize, chain_id: u64) -> impl Fn(DeployError) -> DeployError {
    move |source| DeployError::Route {
        index,
        chain_id,
        source: Box::new(source),
    }
}

/// Every side chain distinct, and none of them the main chain (the hub refuses that route).
fn check_chain_ids(main: u64, sides: &[u64]) -> Result<(), DeployError> {
    let mut seen = std::collections::HashSet::new();
    for id in sides {
        if *id == main || !seen.insert(*id) {
            return Err(DeployError::Config(format!(
                "side chain {id} is the main chain or another side chain: each route needs a chain of its own"
            )));
        }
    }
    Ok(())
}

/// One route per side chain, each a valid set, no address in two routes' sets (the hub's own
/// rule, checked before anything is sent), and no hub-wide validators.
fn check_routes(
    config: &DeployConfig,
    sides: &[DynProvider],
    routes: &[RouteSpec],
) -> Result<(), DeployError> {
    let bad = |m: String| Err(DeployError::Config(m));
    if !config.validators.is_empty() {
        return bad(
            "the hub's validators are per route: leave the config's validators empty".into(),
        );
    }
    if routes.is_empty() || routes.len() != sides.len() {
        return bad(format!(
            "{} side chains need as many routes, got {}",
            sides.len(),
            routes.len()
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for route in routes {
        check_validators(&route.validators, route.threshold)?;
        for v in &route.validators {
            if !seen.insert(*v) {
                return bad(format!(
                    "validator {v} is listed twice (in one route's set or in two): each route needs keys of its own"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use alloy::providers::{Provider, ProviderBuilder};

    use super::*;

    fn config(validators: Vec<Address>) -> DeployConfig {
        DeployConfig {
            deployer: Address::repeat_byte(1),
            members: vec![Address::repeat_byte(2)],
            member_threshold: 1,
            timelock_delay: 3_600,
            min_timelock_delay: 60,
            validators,
            validator_threshold: 0,
            guardians: Vec::new(),
            fee_recipient: Address::repeat_byte(3),
            tokens: Vec::new(),
        }
    }

    fn side() -> DynProvider {
        ProviderBuilder::new()
            .connect_http("http://127.0.0.1:1".parse().expect("url"))
            .erased()
    }

    fn route(bytes: [u8; 3]) -> RouteSpec {
        RouteSpec {
            validators: bytes.iter().map(|b| Address::repeat_byte(*b)).collect(),
            threshold: 2,
        }
    }

    /// The hub's own rule, refused before anything is sent: one address, one route.
    #[test]
    fn a_validator_in_two_routes_is_refused_before_deploying() {
        let sides = [side(), side()];
        let err = check_routes(
            &config(Vec::new()),
            &sides,
            &[route([10, 11, 12]), route([12, 13, 14])],
        )
        .expect_err("shared validator");
        assert!(err.to_string().contains("listed twice"), "{err}");
        check_routes(
            &config(Vec::new()),
            &sides,
            &[route([10, 11, 12]), route([13, 14, 15])],
        )
        .expect("distinct sets");
    }

    #[test]
    fn each_route_needs_a_side_chain_of_its_own() {
        check_chain_ids(1, &[2, 3]).expect("distinct");
        for sides in [&[2, 2][..], &[2, 1][..]] {
            let err = check_chain_ids(1, sides).expect_err("shared or main");
            assert!(err.to_string().contains("a chain of its own"), "{err}");
        }
    }

    #[test]
    fn routes_must_match_the_side_chains_and_hub_wide_validators_are_refused() {
        let sides = [side(), side()];
        let err = check_routes(&config(Vec::new()), &sides, &[route([10, 11, 12])])
            .expect_err("one route, two sides");
        assert!(err.to_string().contains("as many routes"), "{err}");
        let err = check_routes(
            &config(vec![Address::repeat_byte(9)]),
            &sides[..1],
            &[route([10, 11, 12])],
        )
        .expect_err("hub-wide validators");
        assert!(err.to_string().contains("per route"), "{err}");
        let weak = RouteSpec {
            threshold: 1,
            ..route([10, 11, 12])
        };
        let err = check_routes(&config(Vec::new()), &sides[..1], &[weak]).expect_err("no majority");
        assert!(err.to_string().contains("strict majority"), "{err}");
    }
}
