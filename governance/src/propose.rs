//! `propose`: what a proposal should do, resolved per chain (local token addresses, amounts in
//! the token's decimals, thresholds for a grown set), shown decoded with its proposal hash,
//! simulated, confirmed and sent on one or both chains.

use alloy::{
    primitives::{Address, B256, Bytes, U256},
    providers::Provider,
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
    sol_types::SolEvent,
};
use clap::Subcommand;
use eyre::{WrapErr, bail, eyre};
use serde_json::json;
use sidebridge_contracts::bindings::{AuthorityGovernance, MainBridge, MainHub};
use sidebridge_core::domain::Chain;
use sidebridge_governance::{
    action::{Action, TokenInfo},
    amount::parse_amount,
    revert::{Source, decode_revert},
    route_action::RouteAction,
};

use crate::{
    client::{GovChain, confirm, explain, mined},
    commands::{Confirm, require_member},
};

/// What a proposal should do. Tokens may be given by their main-chain or wrapped address;
/// each chain uses its local one. Amounts are in the token's decimals ("1.5").
#[derive(Debug, Clone, Subcommand)]
pub(crate) enum ProposeAction {
    /// Add a validator (a relayer's hot key), with the threshold for the larger set.
    AddValidator {
        validator: Address,
        /// The threshold once added (a strict majority). Default: the current one if it stays a
        /// majority, else the smallest majority.
        #[arg(long)]
        threshold: Option<u64>,
    },
    /// Remove a validator: its signatures stop counting once executed.
    RemoveValidator { validator: Address },
    /// Replace a validator's key (a stolen or retired one) by another, keeping the threshold.
    RotateValidator { old: Address, new: Address },
    /// How many validators must agree (a strict majority of them).
    SetValidatorThreshold { threshold: u64 },
    /// Add a governance member, with the member threshold for the larger council.
    AddMember {
        member: Address,
        /// The threshold once added (a strict majority). Default: the current one if it stays a
        /// majority, else the smallest majority.
        #[arg(long)]
        threshold: Option<u64>,
    },
    /// Remove a governance member.
    RemoveMember { member: Address },
    /// Replace a member's key by another, keeping the threshold.
    RotateMember { old: Address, new: Address },
    /// How many members must vote for a proposal (a strict majority of them).
    SetMemberThreshold { threshold: u64 },
    /// Timelock between reaching the threshold and execution, in seconds.
    SetTimelockDelay { seconds: u64 },
    /// Map a main-chain token to its wrapped twin (on the main chain the main token is local,
    /// on the side chain the wrapped one).
    MapToken {
        #[arg(long)]
        main_token: Address,
        #[arg(long)]
        wrapped_token: Address,
    },
    /// Unmap a token: new outbound transfers of it are refused.
    UnmapToken { token: Address },
    /// Per-transfer bounds and the rolling-window cap of outbound transfers.
    SetLimits {
        token: Address,
        /// Smallest transfer, e.g. "0.5".
        #[arg(long)]
        min: String,
        /// Largest transfer, or "none".
        #[arg(long)]
        max: String,
        /// Most that may leave per window, or "none".
        #[arg(long, default_value = "none")]
        window_cap: String,
        /// Window length in seconds (the cap refills continuously over it).
        #[arg(long, default_value_t = 86_400)]
        window: u64,
    },
    /// Fee = flat + amount × bps / 10000, at most max-fee.
    SetFees {
        token: Address,
        #[arg(long)]
        bps: u16,
        /// Flat part of the fee, e.g. "0.1".
        #[arg(long, default_value = "0")]
        flat: String,
        /// Fee cap, or "none".
        #[arg(long, default_value = "none")]
        max_fee: String,
    },
    /// Where fees are sent.
    SetFeeRecipient { recipient: Address },
    /// Add a guardian (may pause at once).
    AddGuardian { guardian: Address },
    /// Remove a guardian.
    RemoveGuardian { guardian: Address },
    /// Unpause the bridge (only governance can).
    Unpause,
    /// What may arrive of a token per window on the bridge(s), and the delay for large
    /// transfers; `--close` refuses every inbound transfer of it.
    SetInboundLimits {
        token: Address,
        /// Most that may arrive per window, e.g. "100000".
        #[arg(long, required_unless_present = "close")]
        cap: Option<String>,
        /// Window length in seconds (the cap refills continuously over it).
        #[arg(long, default_value_t = 86_400)]
        window: u64,
        /// Transfers above this wait --delay (at most the cap).
        #[arg(long, required_unless_present = "close")]
        large: Option<String>,
        /// Seconds a large transfer waits, during which a guardian can hold it.
        #[arg(long, default_value_t = 86_400)]
        delay: u64,
        #[arg(long, conflicts_with_all = ["cap", "large"])]
        close: bool,
    },
    /// Lift a guardian's hold on a queued transfer (it executes once its ETA passed).
    LiftHold { transfer_id: B256 },
    /// Cancel a queued transfer for good (a forgery).
    CancelTransfer { transfer_id: B256 },
    /// Hub only (--chain main): add the route of a side chain (its chain id and SideBridge),
    /// with its own validator set. Each validator may serve one route.
    AddRoute {
        #[arg(long)]
        side_chain_id: u64,
        #[arg(long)]
        side_bridge: Address,
        /// The route's validators, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        validators: Vec<Address>,
        #[arg(long)]
        threshold: u64,
    },
    /// Hub only: replace a route's whole validator set (e.g. after its keys were stolen).
    SetRouteValidators {
        route: B256,
        #[arg(long, value_delimiter = ',', required = true)]
        validators: Vec<Address>,
        #[arg(long)]
        threshold: u64,
    },
    /// Hub only: open a main-chain token toward a route (`--remote` is its wrapped twin on that
    /// side chain), or close it (`--close`).
    SetRouteToken {
        route: B256,
        token: Address,
        #[arg(long, required_unless_present = "close")]
        remote: Option<Address>,
        #[arg(long, conflicts_with = "remote")]
        close: bool,
    },
    /// Hub only: what may arrive from a route per window, and the delay for large transfers;
    /// `--close` refuses every inbound transfer of the token from it.
    SetRouteInboundLimits {
        route: B256,
        token: Address,
        #[arg(long, required_unless_present = "close")]
        cap: Option<String>,
        #[arg(long, default_value_t = 86_400)]
        window: u64,
        #[arg(long, required_unless_present = "close")]
        large: Option<String>,
        #[arg(long, default_value_t = 86_400)]
        delay: u64,
        #[arg(long, conflicts_with_all = ["cap", "large"])]
        close: bool,
    },
    /// Hub only: unpause a route a guardian paused.
    UnpauseRoute { route: B256 },
    /// Hub only: retire a route for good (its book stays until swept).
    RetireRoute { route: B256 },
    /// Any other call governance may make, as raw calldata (one chain at a time: the target
    /// is a contract of that chain). Shown as unrecognised to every voter.
    Call {
        #[arg(long)]
        target: Address,
        /// ABI-encoded calldata, hex.
        #[arg(long)]
        data: Bytes,
    },
}

pub(crate) async fn propose(
    chains: &[GovChain],
    key: &PrivateKeySigner,
    what: &ProposeAction,
    opts: Confirm,
) -> eyre::Result<()> {
    let me = key.address();
    if matches!(what, ProposeAction::Call { .. }) && chains.len() > 1 {
        bail!("a raw call targets one chain's contract: use --chain main or --chain side");
    }
    if what.is_route() && chains.iter().any(|c| c.chain != Chain::Main) {
        bail!("routes are administered on the main chain's hub: use --chain main");
    }
    let mut planned = Vec::new();
    for c in chains {
        let action = resolve(c, what).await?;
        require_member(c, me).await?;
        let (target, data) = action.encode(&c.contracts);
        let infos = c.token_infos([&action]).await;
        let lookup = |a: Address| infos.get(&a).cloned();
        eprintln!("{} chain: {}", c.chain, action.describe(&lookup));
        eprintln!("  target   {target}");
        eprintln!("  calldata {data}");
        if let Some(why) = would_revert_now(c, target, &data).await {
            eprintln!(
                "  warning: executed now, this would revert with {why}; it may succeed after \
                 other proposals run"
            );
        }
        c.governance()
            .propose(target, data.clone())
            .from(me)
            .call()
            .await
            .map_err(|e| {
                explain(
                    &format!("proposing on the {} chain", c.chain),
                    Source::Governance,
                    e,
                )
            })?;
        planned.push((c, action, target, data));
    }
    let on = chains
        .iter()
        .map(|c| c.chain.as_str())
        .collect::<Vec<_>>()
        .join(" and ");
    let plural = if chains.len() > 1 { "s" } else { "" };
    confirm(
        &format!("propose this on the {on} chain{plural} (your vote counts)"),
        opts.yes,
    )?;
    let mut results = Vec::new();
    for (c, action, target, data) in planned {
        let pending = c
            .governance()
            .propose(target, data)
            .from(me)
            .send()
            .await
            .map_err(|e| {
                explain(
                    &format!("proposing on the {} chain", c.chain),
                    Source::Governance,
                    e,
                )
            })?;
        let receipt = mined(&format!("propose on {}", c.chain), pending).await?;
        let id = receipt
            .inner
            .logs()
            .iter()
            .find_map(|log| {
                (log.address() == c.contracts.governance)
                    .then(|| AuthorityGovernance::ProposalCreated::decode_log_data(log.data()).ok())
                    .flatten()
            })
            .map(|e| e.id)
            .ok_or_else(|| eyre!("no ProposalCreated event in the receipt on {}", c.chain))?;
        let view = c
            .proposal(id)
            .await?
            .ok_or_else(|| eyre!("proposal {id} vanished on {}", c.chain))?;
        results.push((c, view, action));
    }
    if opts.json {
        let out: Vec<_> = results
            .iter()
            .map(|(c, v, _)| json!({ "chain": c.chain.as_str(), "id": v.id, "status": v.status.as_str() }))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "proposals": out }))?
        );
    } else {
        for (c, v, _) in &results {
            println!("{:<5} {}  {}", c.chain.as_str(), v.id, v.status.as_str());
        }
    }
    Ok(())
}

/// The action on one chain: token addresses become that chain's local token, amounts are
/// read with its decimals.
async fn resolve(c: &GovChain, what: &ProposeAction) -> eyre::Result<Action> {
    use ProposeAction as P;
    let threshold = |n: u64| U256::from(n);
    Ok(match what {
        P::AddValidator {
            validator,
            threshold: n,
        } => {
            let bridge = MainBridge::new(c.contracts.bridge, &c.provider);
            let size = bridge.validators().call().await?.len() as u64 + 1;
            let current = bridge.validatorThreshold().call().await?.saturating_to();
            Action::AddValidator {
                validator: *validator,
                threshold: threshold(grown_threshold(*n, current, size)),
            }
        }
        P::RemoveValidator { validator } => Action::RemoveValidator(*validator),
        P::RotateValidator { old, new } => Action::RotateValidator {
            old: *old,
            new: *new,
        },
        P::SetValidatorThreshold { threshold: n } => Action::SetValidatorThreshold(threshold(*n)),
        P::AddMember {
            member,
            threshold: n,
        } => {
            let gov = c.governance();
            let size = gov.members().call().await?.len() as u64 + 1;
            let current = gov.threshold().call().await?.saturating_to();
            Action::AddMember {
                member: *member,
                threshold: threshold(grown_threshold(*n, current, size)),
            }
        }
        P::RemoveMember { member } => Action::RemoveMember(*member),
        P::RotateMember { old, new } => Action::RotateMember {
            old: *old,
            new: *new,
        },
        P::SetMemberThreshold { threshold: n } => Action::SetMemberThreshold(threshold(*n)),
        P::SetTimelockDelay { seconds } => Action::SetTimelockDelay(U256::from(*seconds)),
        P::MapToken {
            main_token,
            wrapped_token,
        } => match c.chain {
            Chain::Main => Action::MapToken {
                local: *main_token,
                remote: *wrapped_token,
            },
            Chain::Side => Action::MapToken {
                local: *wrapped_token,
                remote: *main_token,
            },
        },
        P::UnmapToken { token } => Action::UnmapToken(local_token(c, *token).await?),
        P::SetLimits {
            token,
            min,
            max,
            window_cap,
            window,
        } => {
            let token = local_token(c, *token).await?;
            let info = c.token_info(token).await?;
            let window_cap = amount_or_none(window_cap, &info, "--window-cap")?;
            if !window_cap.is_zero() && *window == 0 {
                bail!("--window must be positive when --window-cap is set");
            }
            Action::SetLimits {
                token,
                min_amount: parse_amount(min, info.decimals).wrap_err("--min")?,
                max_amount: amount_or_none(max, &info, "--max")?,
                window_cap,
                window: *window,
            }
        }
        P::SetFees {
            token,
            bps,
            flat,
            max_fee,
        } => {
            let token = local_token(c, *token).await?;
            let info = c.token_info(token).await?;
            Action::SetFees {
                token,
                fee_bps: *bps,
                flat_fee: parse_amount(flat, info.decimals).wrap_err("--flat")?,
                max_fee: amount_or_none(max_fee, &info, "--max-fee")?,
            }
        }
        P::SetFeeRecipient { recipient } => Action::SetFeeRecipient(*recipient),
        P::AddGuardian { guardian } => Action::AddGuardian(*guardian),
        P::RemoveGuardian { guardian } => Action::RemoveGuardian(*guardian),
        P::Unpause => Action::Unpause,
        P::SetInboundLimits {
            token,
            cap,
            window,
            large,
            delay,
            close,
        } => {
            let local = local_token(c, *token).await?;
            let main_token = match c.chain {
                Chain::Main => local,
                Chain::Side => c.operational().tokenConfig(local).call().await?.remote,
            };
            if *close {
                Action::SetInboundLimits {
                    token: main_token,
                    cap: U256::ZERO,
                    window: U256::ZERO,
                    large: U256::ZERO,
                    delay: U256::ZERO,
                }
            } else {
                let info = c.token_info(local).await?;
                let parse = |v: &Option<String>, flag: &str| {
                    parse_amount(v.as_deref().unwrap_or_default(), info.decimals)
                        .wrap_err_with(|| flag.to_string())
                };
                Action::SetInboundLimits {
                    token: main_token,
                    cap: parse(cap, "--cap")?,
                    window: U256::from(*window),
                    large: parse(large, "--large")?,
                    delay: U256::from(*delay),
                }
            }
        }
        P::AddRoute { .. }
        | P::SetRouteValidators { .. }
        | P::SetRouteToken { .. }
        | P::SetRouteInboundLimits { .. }
        | P::UnpauseRoute { .. }
        | P::RetireRoute { .. } => Action::Route(resolve_route(c, what).await?),
        P::LiftHold { transfer_id } => Action::LiftHold(*transfer_id),
        P::CancelTransfer { transfer_id } => Action::CancelTransfer(*transfer_id),
        P::Call { target, data } => Action::decode(*target, data, &c.contracts),
    })
}

impl ProposeAction {
    fn is_route(&self) -> bool {
        use ProposeAction as P;
        matches!(
            self,
            P::AddRoute { .. }
                | P::SetRouteValidators { .. }
                | P::SetRouteToken { .. }
                | P::SetRouteInboundLimits { .. }
                | P::UnpauseRoute { .. }
                | P::RetireRoute { .. }
        )
    }
}

/// A route action on the main chain's hub; amounts in the main token's decimals. A bridge
/// that is no hub is refused here rather than by a proposal that can only revert.
async fn resolve_route(c: &GovChain, what: &ProposeAction) -> eyre::Result<RouteAction> {
    use ProposeAction as P;
    let hub = MainHub::new(c.contracts.bridge, &c.provider);
    if hub.admin().call().await.is_err() {
        bail!(
            "the main chain's bridge {} is not a hub: it has no routes",
            c.contracts.bridge
        );
    }
    Ok(match what {
        P::AddRoute {
            side_chain_id,
            side_bridge,
            validators,
            threshold,
        } => {
            let mut validators = validators.clone();
            validators.sort();
            RouteAction::Add {
                chain_id: U256::from(*side_chain_id),
                bridge: *side_bridge,
                validators,
                threshold: U256::from(*threshold),
            }
        }
        P::SetRouteValidators {
            route,
            validators,
            threshold,
        } => {
            let mut validators = validators.clone();
            validators.sort();
            RouteAction::SetValidators {
                route: *route,
                validators,
                threshold: U256::from(*threshold),
            }
        }
        P::SetRouteToken {
            route,
            token,
            remote,
            ..
        } => RouteAction::SetToken {
            route: *route,
            token: *token,
            remote: remote.unwrap_or_default(),
        },
        P::SetRouteInboundLimits {
            route,
            token,
            cap,
            window,
            large,
            delay,
            close,
        } => {
            let (cap, large, window, delay) = if *close {
                (U256::ZERO, U256::ZERO, 0, 0)
            } else {
                let info = c.token_info(*token).await?;
                let parse = |v: &Option<String>, flag: &str| {
                    parse_amount(v.as_deref().unwrap_or_default(), info.decimals)
                        .wrap_err_with(|| flag.to_string())
                };
                (
                    parse(cap, "--cap")?,
                    parse(large, "--large")?,
                    *window,
                    *delay,
                )
            };
            RouteAction::SetInboundLimits {
                route: *route,
                token: *token,
                cap,
                window: U256::from(window),
                large,
                delay: U256::from(delay),
            }
        }
        P::UnpauseRoute { route } => RouteAction::Unpause(*route),
        P::RetireRoute { route } => RouteAction::Retire(*route),
        _ => unreachable!("resolve_route is called for route actions only"),
    })
}

/// The threshold for a set grown to `size`: the one asked for, else the current one if it is
/// still a strict majority, else the smallest strict majority.
fn grown_threshold(asked: Option<u64>, current: u64, size: u64) -> u64 {
    asked.unwrap_or(if current * 2 > size {
        current
    } else {
        size / 2 + 1
    })
}

fn amount_or_none(s: &str, info: &TokenInfo, flag: &str) -> eyre::Result<U256> {
    if s.eq_ignore_ascii_case("none") {
        return Ok(U256::ZERO);
    }
    parse_amount(s, info.decimals).wrap_err_with(|| flag.to_string())
}

/// The chain's local token for `token`, given as either side's address.
async fn local_token(c: &GovChain, token: Address) -> eyre::Result<Address> {
    let op = c.operational();
    if !op.tokenConfig(token).call().await?.remote.is_zero() {
        return Ok(token);
    }
    let local = op.localOf(token).call().await?;
    if !local.is_zero() {
        return Ok(local);
    }
    bail!("token {token} is not mapped on the {} chain", c.chain)
}

/// The decoded error the action would raise if governance ran it now.
async fn would_revert_now(c: &GovChain, target: Address, data: &[u8]) -> Option<String> {
    let tx = TransactionRequest::default()
        .from(c.contracts.governance)
        .to(target)
        .input(data.to_vec().into());
    match c.provider.call(tx).await {
        Ok(_) => None,
        Err(e) => Some(
            e.as_error_resp()
                .and_then(|r| r.as_revert_data())
                .and_then(|d| decode_revert(&d, c.source_of(target)))
                .map(|e| format!("{}: {}", e.name, e.detail))
                .unwrap_or_else(|| e.to_string()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::grown_threshold;

    #[test]
    fn a_grown_set_keeps_a_strict_majority() {
        // 2 of 3 grows to 4: 2 is half, not a majority, so 3
        assert_eq!(grown_threshold(None, 2, 4), 3);
        // 3 of 4 grows to 5: 3 stays a majority
        assert_eq!(grown_threshold(None, 3, 5), 3);
        // 3 of 5 grows to 6: 4
        assert_eq!(grown_threshold(None, 3, 6), 4);
        // what the member asks for is proposed as asked (the contract judges it)
        assert_eq!(grown_threshold(Some(2), 2, 4), 2);
        for size in 1..40 {
            let t = grown_threshold(None, 1, size);
            assert!(t * 2 > size && t <= size, "{t} of {size}");
        }
    }
}
