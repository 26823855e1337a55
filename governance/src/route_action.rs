//! Route administration on a hub (`MainHubAdmin`, answered at the hub's address), as an
//! [`crate::action::Action::Route`]: encoded for a proposal, read back from one, and described
//! in words so that a member voting on a route change sees which route, which set and which
//! limits, never raw bytes.

use alloy::{
    primitives::{Address, B256, Bytes, U256},
    sol_types::{SolCall, SolInterface},
};
use serde_json::{Value, json};
use sidebridge_contracts::bindings::MainHubAdmin;

use crate::action::{TokenLookup, duration, token_amount, token_name};

/// One call of the hub's route administration; `route` is a route id
/// (`keccak256(abi.encode(side chain id, side bridge))`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteAction {
    /// Adds the side chain `chain_id` whose bridge is `bridge`, with its validator set.
    Add {
        chain_id: U256,
        bridge: Address,
        validators: Vec<Address>,
        threshold: U256,
    },
    /// Replaces the route's whole validator set.
    SetValidators {
        route: B256,
        validators: Vec<Address>,
        threshold: U256,
    },
    /// Opens `token` toward the route (its counterpart there is `remote`; zero closes it).
    SetToken {
        route: B256,
        token: Address,
        remote: Address,
    },
    /// What may arrive from the route per window; a zero cap closes inbound.
    SetInboundLimits {
        route: B256,
        token: Address,
        cap: U256,
        window: U256,
        large: U256,
        delay: U256,
    },
    Pause(B256),
    Unpause(B256),
    /// For good: nothing is locked to, released from or forwarded to it again.
    Retire(B256),
    /// Moves a retired route's whole book of `token` to `to`.
    SweepRetired {
        route: B256,
        token: Address,
        to: Address,
    },
}

impl RouteAction {
    /// The calldata for the hub.
    pub fn encode(&self) -> Bytes {
        use MainHubAdmin as A;
        let data = match self.clone() {
            RouteAction::Add {
                chain_id,
                bridge,
                validators,
                threshold,
            } => A::addRouteCall {
                chainId: chain_id,
                bridge,
                validators,
                threshold,
            }
            .abi_encode(),
            RouteAction::SetValidators {
                route,
                validators,
                threshold,
            } => A::setRouteValidatorsCall {
                id: route,
                validators,
                threshold,
            }
            .abi_encode(),
            RouteAction::SetToken {
                route,
                token,
                remote,
            } => A::setRouteTokenCall {
                id: route,
                token,
                remote,
            }
            .abi_encode(),
            RouteAction::SetInboundLimits {
                route,
                token,
                cap,
                window,
                large,
                delay,
            } => A::setInboundLimitsCall {
                id: route,
                token,
                cap,
                window,
                large,
                delay,
            }
            .abi_encode(),
            RouteAction::Pause(id) => A::pauseRouteCall { id }.abi_encode(),
            RouteAction::Unpause(id) => A::unpauseRouteCall { id }.abi_encode(),
            RouteAction::Retire(id) => A::retireRouteCall { id }.abi_encode(),
            RouteAction::SweepRetired { route, token, to } => A::sweepRetiredCall {
                id: route,
                token,
                to,
            }
            .abi_encode(),
        };
        data.into()
    }

    /// The route action `data` calls on a hub, if it is one.
    pub fn decode(data: &[u8]) -> Option<RouteAction> {
        use MainHubAdmin::MainHubAdminCalls as A;
        Some(match A::abi_decode(data).ok()? {
            A::addRoute(x) => RouteAction::Add {
                chain_id: x.chainId,
                bridge: x.bridge,
                validators: x.validators,
                threshold: x.threshold,
            },
            A::setRouteValidators(x) => RouteAction::SetValidators {
                route: x.id,
                validators: x.validators,
                threshold: x.threshold,
            },
            A::setRouteToken(x) => RouteAction::SetToken {
                route: x.id,
                token: x.token,
                remote: x.remote,
            },
            A::setInboundLimits(x) => RouteAction::SetInboundLimits {
                route: x.id,
                token: x.token,
                cap: x.cap,
                window: x.window,
                large: x.large,
                delay: x.delay,
            },
            A::pauseRoute(x) => RouteAction::Pause(x.id),
            A::unpauseRoute(x) => RouteAction::Unpause(x.id),
            A::retireRoute(x) => RouteAction::Retire(x.id),
            A::sweepRetired(x) => RouteAction::SweepRetired {
                route: x.id,
                token: x.token,
                to: x.to,
            },
            _ => return None,
        })
    }

    /// A stable machine name.
    pub fn kind(&self) -> &'static str {
        match self {
            RouteAction::Add { .. } => "addRoute",
            RouteAction::SetValidators { .. } => "setRouteValidators",
            RouteAction::SetToken { .. } => "setRouteToken",
            RouteAction::SetInboundLimits { .. } => "setRouteInboundLimits",
            RouteAction::Pause(_) => "pauseRoute",
            RouteAction::Unpause(_) => "unpauseRoute",
            RouteAction::Retire(_) => "retireRoute",
            RouteAction::SweepRetired { .. } => "sweepRetired",
        }
    }

    /// The token whose decimals the amounts are in, if any.
    pub fn token(&self) -> Option<Address> {
        match self {
            RouteAction::SetToken { token, .. }
            | RouteAction::SetInboundLimits { token, .. }
            | RouteAction::SweepRetired { token, .. } => Some(*token),
            _ => None,
        }
    }

    /// One line for people.
    pub fn describe(&self, tokens: TokenLookup<'_>) -> String {
        let token_name = |t: Address| token_name(tokens, t);
        let amount = |t: Address, v: U256| token_amount(tokens, t, v);
        let set = |v: &[Address], n: &U256| {
            let list: Vec<String> = v.iter().map(ToString::to_string).collect();
            format!("{n} of {} [{}]", v.len(), list.join(", "))
        };
        match self {
            RouteAction::Add {
                chain_id,
                bridge,
                validators,
                threshold,
            } => format!(
                "add the route of side chain {chain_id} (bridge {bridge}), validators {}",
                set(validators, threshold)
            ),
            RouteAction::SetValidators {
                route,
                validators,
                threshold,
            } => format!(
                "replace route {route}'s validators by {}",
                set(validators, threshold)
            ),
            RouteAction::SetToken {
                route,
                token,
                remote,
            } => {
                if remote.is_zero() {
                    format!("close route {route} to {}", token_name(*token))
                } else {
                    format!(
                        "open route {route} to {} (its token there: {remote})",
                        token_name(*token)
                    )
                }
            }
            RouteAction::SetInboundLimits {
                route,
                token,
                cap,
                window,
                large,
                delay,
            } => {
                if cap.is_zero() {
                    format!(
                        "close inbound transfers of {} from route {route}",
                        token_name(*token)
                    )
                } else {
                    format!(
                        "set route {route}'s inbound limits of {}: at most {} per {}; above {} waits {}",
                        token_name(*token),
                        amount(*token, *cap),
                        duration(*window),
                        amount(*token, *large),
                        duration(*delay)
                    )
                }
            }
            RouteAction::Pause(r) => format!("pause route {r}"),
            RouteAction::Unpause(r) => format!("unpause route {r}"),
            RouteAction::Retire(r) => format!(
                "retire route {r} for good (nothing is locked to, released from or forwarded to it again)"
            ),
            RouteAction::SweepRetired { route, token, to } => format!(
                "move retired route {route}'s whole book of {} to {to}",
                token_name(*token)
            ),
        }
    }

    /// The arguments for scripts (amounts in base units as decimal strings).
    pub fn args_json(&self) -> Value {
        match self {
            RouteAction::Add {
                chain_id,
                bridge,
                validators,
                threshold,
            } => json!({
                "chainId": chain_id.to_string(),
                "bridge": bridge,
                "validators": validators,
                "threshold": threshold.to_string(),
            }),
            RouteAction::SetValidators {
                route,
                validators,
                threshold,
            } => json!({
                "route": route,
                "validators": validators,
                "threshold": threshold.to_string(),
            }),
            RouteAction::SetToken {
                route,
                token,
                remote,
            } => json!({ "route": route, "token": token, "remote": remote }),
            RouteAction::SetInboundLimits {
                route,
                token,
                cap,
                window,
                large,
                delay,
            } => json!({
                "route": route,
                "token": token,
                "cap": cap.to_string(),
                "windowSecs": window.to_string(),
                "large": large.to_string(),
                "delaySecs": delay.to_string(),
            }),
            RouteAction::Pause(r) | RouteAction::Unpause(r) | RouteAction::Retire(r) => {
                json!({ "route": r })
            }
            RouteAction::SweepRetired { route, token, to } => {
                json!({ "route": route, "token": token, "to": to })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every route action reads back from its own calldata as itself, and calldata of
    /// anything else is not taken for one.
    #[test]
    fn every_route_action_round_trips() {
        let route = B256::repeat_byte(0x42);
        let (a, b, token) = (
            Address::repeat_byte(1),
            Address::repeat_byte(2),
            Address::repeat_byte(0x0E),
        );
        let actions = [
            RouteAction::Add {
                chain_id: U256::from(777),
                bridge: b,
                validators: vec![a, b],
                threshold: U256::from(2),
            },
            RouteAction::SetValidators {
                route,
                validators: vec![b],
                threshold: U256::from(1),
            },
            RouteAction::SetToken {
                route,
                token,
                remote: a,
            },
            RouteAction::SetInboundLimits {
                route,
                token,
                cap: U256::from(10),
                window: U256::from(60),
                large: U256::from(5),
                delay: U256::from(30),
            },
            RouteAction::Pause(route),
            RouteAction::Unpause(route),
            RouteAction::Retire(route),
            RouteAction::SweepRetired {
                route,
                token,
                to: a,
            },
        ];
        let none: TokenLookup<'_> = &|_| None;
        for action in actions {
            assert_eq!(RouteAction::decode(&action.encode()), Some(action.clone()));
            let named = match &action {
                RouteAction::Add { bridge, .. } => bridge.to_string(),
                _ => route.to_string(),
            };
            assert!(action.describe(none).contains(&named), "{action:?}");
        }
        // a one-route bridge's inbound limits (same name, another signature) are not a route's
        let bridge_call = sidebridge_contracts::bindings::MainBridge::setInboundLimitsCall {
            token,
            cap: U256::from(1),
            window: U256::from(1),
            large: U256::from(1),
            delay: U256::from(1),
        }
        .abi_encode();
        assert_eq!(RouteAction::decode(&bridge_call), None);
    }
}
