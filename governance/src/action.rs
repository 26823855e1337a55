//! What a proposal does, in words a member can check before signing. An [`Action`] is encoded
//! into the `(target, calldata)` pair `AuthorityGovernance.propose` takes, and any proposal read
//! back from the chain is decoded into one (or shown raw when it calls something unknown), so
//! `show`, `vote` and `execute` describe exactly the bytes that will run.

use std::fmt::Write as _;

use alloy::{
    primitives::{Address, B256, Bytes, U256},
    sol_types::{SolCall, SolInterface},
};
use serde_json::{Value, json};
use sidebridge_contracts::bindings::{AuthorityGovernance, MainBridge, Operational};

use crate::{amount::format_amount, route_action::RouteAction};

/// The contracts of one chain that governance administers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contracts {
    pub governance: Address,
    pub bridge: Address,
    pub operational: Address,
}

/// A token as people know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub symbol: String,
    pub decimals: u8,
}

/// Looks up a token's symbol and decimals (for amounts in descriptions).
pub type TokenLookup<'a> = &'a dyn Fn(Address) -> Option<TokenInfo>;

/// One governed call. Token addresses are the chain's local tokens (the main token on the main
/// chain, its wrapped twin on the side chain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Adds a validator and sets the threshold for the larger set.
    AddValidator {
        validator: Address,
        threshold: U256,
    },
    RemoveValidator(Address),
    RotateValidator {
        old: Address,
        new: Address,
    },
    SetValidatorThreshold(U256),
    /// Adds a member and sets the member threshold for the larger council.
    AddMember {
        member: Address,
        threshold: U256,
    },
    RemoveMember(Address),
    RotateMember {
        old: Address,
        new: Address,
    },
    SetMemberThreshold(U256),
    /// Seconds.
    SetTimelockDelay(U256),
    MapToken {
        local: Address,
        remote: Address,
    },
    UnmapToken(Address),
    SetLimits {
        token: Address,
        min_amount: U256,
        max_amount: U256,
        window_cap: U256,
        window: u64,
    },
    SetFees {
        token: Address,
        fee_bps: u16,
        flat_fee: U256,
        max_fee: U256,
    },
    SetFeeRecipient(Address),
    AddGuardian(Address),
    RemoveGuardian(Address),
    Pause,
    Unpause,
    /// Inbound limits of a route, keyed by the main-chain token on both bridges; a zero cap
    /// closes inbound.
    SetInboundLimits {
        token: Address,
        cap: U256,
        window: U256,
        large: U256,
        delay: U256,
    },
    /// Lifts a guardian's hold on a queued transfer.
    LiftHold(B256),
    /// Cancels a queued transfer for good.
    CancelTransfer(B256),
    /// Route administration on a hub (the main chain's bridge).
    Route(RouteAction),
    /// A call this tool does not know how to describe.
    Raw {
        target: Address,
        data: Bytes,
    },
}

impl Action {
    /// The `(target, calldata)` governance will call.
    pub fn encode(&self, c: &Contracts) -> (Address, Bytes) {
        use AuthorityGovernance as G;
        use MainBridge as B;
        use Operational as O;
        let (target, data) = match self.clone() {
            Action::AddValidator {
                validator,
                threshold,
            } => (
                c.bridge,
                B::addValidatorCall {
                    validator,
                    threshold,
                }
                .abi_encode(),
            ),
            Action::RemoveValidator(validator) => {
                (c.bridge, B::removeValidatorCall { validator }.abi_encode())
            }
            Action::RotateValidator { old, new } => (
                c.bridge,
                B::rotateValidatorCall {
                    old,
                    replacement: new,
                }
                .abi_encode(),
            ),
            Action::SetValidatorThreshold(threshold) => (
                c.bridge,
                B::setValidatorThresholdCall { threshold }.abi_encode(),
            ),
            Action::AddMember { member, threshold } => (
                c.governance,
                G::addMemberCall {
                    member,
                    threshold_: threshold,
                }
                .abi_encode(),
            ),
            Action::RemoveMember(member) => {
                (c.governance, G::removeMemberCall { member }.abi_encode())
            }
            Action::RotateMember { old, new } => (
                c.governance,
                G::rotateMemberCall {
                    old,
                    replacement: new,
                }
                .abi_encode(),
            ),
            Action::SetMemberThreshold(threshold_) => (
                c.governance,
                G::setThresholdCall { threshold_ }.abi_encode(),
            ),
            Action::SetTimelockDelay(delay_) => {
                (c.governance, G::setDelayCall { delay_ }.abi_encode())
            }
            Action::MapToken { local, remote } => (
                c.operational,
                O::mapTokenCall { local, remote }.abi_encode(),
            ),
            Action::UnmapToken(local) => (c.operational, O::unmapTokenCall { local }.abi_encode()),
            Action::SetLimits {
                token,
                min_amount,
                max_amount,
                window_cap,
                window,
            } => (
                c.operational,
                O::setLimitsCall {
                    token,
                    minAmount: min_amount,
                    maxAmount: max_amount,
                    windowCap: window_cap,
                    window,
                }
                .abi_encode(),
            ),
            Action::SetFees {
                token,
                fee_bps,
                flat_fee,
                max_fee,
            } => (
                c.operational,
                O::setFeesCall {
                    token,
                    feeBps: fee_bps,
                    flatFee: flat_fee,
                    maxFee: max_fee,
                }
                .abi_encode(),
            ),
            Action::SetFeeRecipient(recipient) => (
                c.operational,
                O::setFeeRecipientCall { recipient }.abi_encode(),
            ),
            Action::AddGuardian(guardian) => {
                (c.operational, O::addGuardianCall { guardian }.abi_encode())
            }
            Action::RemoveGuardian(guardian) => (
                c.operational,
                O::removeGuardianCall { guardian }.abi_encode(),
            ),
            Action::Pause => (c.operational, O::pauseCall {}.abi_encode()),
            Action::Unpause => (c.operational, O::unpauseCall {}.abi_encode()),
            Action::SetInboundLimits {
                token,
                cap,
                window,
                large,
                delay,
            } => (
                c.bridge,
                B::setInboundLimitsCall {
                    token,
                    cap,
                    window,
                    large,
                    delay,
                }
                .abi_encode(),
            ),
            Action::LiftHold(id) => (c.bridge, B::liftHoldCall { id }.abi_encode()),
            Action::CancelTransfer(id) => (c.bridge, B::cancelTransferCall { id }.abi_encode()),
            Action::Route(r) => return (c.bridge, r.encode()),
            Action::Raw { target, data } => return (target, data),
        };
        (target, data.into())
    }

    /// Reads back what a proposal calls; anything unrecognised stays [`Action::Raw`].
    pub fn decode(target: Address, data: &[u8], c: &Contracts) -> Action {
        use AuthorityGovernance::AuthorityGovernanceCalls as G;
        use MainBridge::MainBridgeCalls as B;
        use Operational::OperationalCalls as O;
        let decoded = if target == c.bridge {
            match B::abi_decode(data) {
                Ok(B::addValidator(x)) => Some(Action::AddValidator {
                    validator: x.validator,
                    threshold: x.threshold,
                }),
                Ok(B::removeValidator(x)) => Some(Action::RemoveValidator(x.validator)),
                Ok(B::rotateValidator(x)) => Some(Action::RotateValidator {
                    old: x.old,
                    new: x.replacement,
                }),
                Ok(B::setValidatorThreshold(x)) => Some(Action::SetValidatorThreshold(x.threshold)),
                Ok(B::setInboundLimits(x)) => Some(Action::SetInboundLimits {
                    token: x.token,
                    cap: x.cap,
                    window: x.window,
                    large: x.large,
                    delay: x.delay,
                }),
                Ok(B::liftHold(x)) => Some(Action::LiftHold(x.id)),
                Ok(B::cancelTransfer(x)) => Some(Action::CancelTransfer(x.id)),
                // the bridge is a hub: its route administration
                _ => RouteAction::decode(data).map(Action::Route),
            }
        } else if target == c.governance {
            match G::abi_decode(data) {
                Ok(G::addMember(x)) => Some(Action::AddMember {
                    member: x.member,
                    threshold: x.threshold_,
                }),
                Ok(G::removeMember(x)) => Some(Action::RemoveMember(x.member)),
                Ok(G::rotateMember(x)) => Some(Action::RotateMember {
                    old: x.old,
                    new: x.replacement,
                }),
                Ok(G::setThreshold(x)) => Some(Action::SetMemberThreshold(x.threshold_)),
                Ok(G::setDelay(x)) => Some(Action::SetTimelockDelay(x.delay_)),
                _ => None,
            }
        } else if target == c.operational {
            match O::abi_decode(data) {
                Ok(O::mapToken(x)) => Some(Action::MapToken {
                    local: x.local,
                    remote: x.remote,
                }),
                Ok(O::unmapToken(x)) => Some(Action::UnmapToken(x.local)),
                Ok(O::setLimits(x)) => Some(Action::SetLimits {
                    token: x.token,
                    min_amount: x.minAmount,
                    max_amount: x.maxAmount,
                    window_cap: x.windowCap,
                    window: x.window,
                }),
                Ok(O::setFees(x)) => Some(Action::SetFees {
                    token: x.token,
                    fee_bps: x.feeBps,
                    flat_fee: x.flatFee,
                    max_fee: x.maxFee,
                }),
                Ok(O::setFeeRecipient(x)) => Some(Action::SetFeeRecipient(x.recipient)),
                Ok(O::addGuardian(x)) => Some(Action::AddGuardian(x.guardian)),
                Ok(O::removeGuardian(x)) => Some(Action::RemoveGuardian(x.guardian)),
                Ok(O::pause(_)) => Some(Action::Pause),
                Ok(O::unpause(_)) => Some(Action::Unpause),
                _ => None,
            }
        } else {
            None
        };
        decoded.unwrap_or_else(|| Action::Raw {
            target,
            data: Bytes::copy_from_slice(data),
        })
    }

    /// A stable machine name (`addValidator`, `setLimits`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Action::AddValidator { .. } => "addValidator",
            Action::RemoveValidator(_) => "removeValidator",
            Action::RotateValidator { .. } => "rotateValidator",
            Action::SetValidatorThreshold(_) => "setValidatorThreshold",
            Action::AddMember { .. } => "addMember",
            Action::RemoveMember(_) => "removeMember",
            Action::RotateMember { .. } => "rotateMember",
            Action::SetMemberThreshold(_) => "setMemberThreshold",
            Action::SetTimelockDelay(_) => "setTimelockDelay",
            Action::MapToken { .. } => "mapToken",
            Action::UnmapToken(_) => "unmapToken",
            Action::SetLimits { .. } => "setLimits",
            Action::SetFees { .. } => "setFees",
            Action::SetFeeRecipient(_) => "setFeeRecipient",
            Action::AddGuardian(_) => "addGuardian",
            Action::RemoveGuardian(_) => "removeGuardian",
            Action::Pause => "pause",
            Action::Unpause => "unpause",
            Action::SetInboundLimits { .. } => "setInboundLimits",
            Action::LiftHold(_) => "liftHold",
            Action::CancelTransfer(_) => "cancelTransfer",
            Action::Route(r) => r.kind(),
            Action::Raw { .. } => "call",
        }
    }

    /// The token whose decimals the amounts of this action are in, if any.
    pub fn token(&self) -> Option<Address> {
        match self {
            Action::SetLimits { token, .. }
            | Action::SetFees { token, .. }
            | Action::SetInboundLimits { token, .. } => Some(*token),
            Action::MapToken { local, .. } | Action::UnmapToken(local) => Some(*local),
            Action::Route(r) => r.token(),
            _ => None,
        }
    }

    /// One line for people: amounts in the token's decimals.
    pub fn describe(&self, tokens: TokenLookup<'_>) -> String {
        let token_name = |t: Address| token_name(tokens, t);
        let amount = |t: Address, v: U256| token_amount(tokens, t, v);
        let or_none = |t: Address, v: U256| {
            if v.is_zero() {
                "none".to_string()
            } else {
                amount(t, v)
            }
        };
        match self {
            Action::AddValidator {
                validator,
                threshold,
            } => format!("add validator {validator}, threshold {threshold}"),
            Action::RemoveValidator(a) => format!("remove validator {a}"),
            Action::RotateValidator { old, new } => {
                format!("replace validator {old} by {new}")
            }
            Action::SetValidatorThreshold(n) => format!("set validator threshold to {n}"),
            Action::AddMember { member, threshold } => {
                format!("add governance member {member}, member threshold {threshold}")
            }
            Action::RemoveMember(a) => format!("remove governance member {a}"),
            Action::RotateMember { old, new } => {
                format!("replace governance member {old} by {new}")
            }
            Action::SetMemberThreshold(n) => format!("set member threshold to {n}"),
            Action::SetTimelockDelay(s) => format!("set timelock delay to {}", duration(*s)),
            Action::MapToken { local, remote } => {
                format!(
                    "map token {} to {remote} on the other chain",
                    token_name(*local)
                )
            }
            Action::UnmapToken(t) => format!("unmap token {}", token_name(*t)),
            Action::SetLimits {
                token,
                min_amount,
                max_amount,
                window_cap,
                window,
            } => {
                let mut s = format!(
                    "set limits of {}: min {}, max {}, ",
                    token_name(*token),
                    amount(*token, *min_amount),
                    or_none(*token, *max_amount),
                );
                if window_cap.is_zero() {
                    s.push_str("no rolling cap");
                } else {
                    let _ = write!(
                        s,
                        "rolling cap {} per {}",
                        amount(*token, *window_cap),
                        duration(U256::from(*window))
                    );
                }
                s
            }
            Action::SetFees {
                token,
                fee_bps,
                flat_fee,
                max_fee,
            } => format!(
                "set fees of {}: {fee_bps} bps + {} flat, max fee {}",
                token_name(*token),
                amount(*token, *flat_fee),
                or_none(*token, *max_fee),
            ),
            Action::SetFeeRecipient(a) => format!("set fee recipient to {a}"),
            Action::AddGuardian(a) => format!("add guardian {a}"),
            Action::RemoveGuardian(a) => format!("remove guardian {a}"),
            Action::Pause => "pause the bridge".to_string(),
            Action::Unpause => "unpause the bridge".to_string(),
            Action::SetInboundLimits {
                token,
                cap,
                window,
                large,
                delay,
            } => {
                if cap.is_zero() {
                    format!("close inbound transfers of {}", token_name(*token))
                } else {
                    format!(
                        "set inbound limits of {}: at most {} per {}; above {} waits {}",
                        token_name(*token),
                        amount(*token, *cap),
                        duration(*window),
                        amount(*token, *large),
                        duration(*delay)
                    )
                }
            }
            Action::LiftHold(id) => format!("lift the hold on queued transfer {id}"),
            Action::CancelTransfer(id) => format!("cancel queued transfer {id} for good"),
            Action::Route(r) => r.describe(tokens),
            Action::Raw { target, data } => {
                format!("call {target} with unrecognised data {data}")
            }
        }
    }

    /// The action for scripts: its kind, its arguments (amounts in base units as decimal
    /// strings, and in the token's decimals where known) and the description.
    pub fn to_json(&self, tokens: TokenLookup<'_>) -> Value {
        let human = |t: Address, v: U256| tokens(t).map(|i| format_amount(v, i.decimals));
        let args = match self {
            Action::AddValidator {
                validator,
                threshold,
            } => json!({ "validator": validator, "threshold": threshold.to_string() }),
            Action::RemoveValidator(a) => json!({ "validator": a }),
            Action::AddMember { member, threshold } => {
                json!({ "member": member, "threshold": threshold.to_string() })
            }
            Action::RemoveMember(a) => json!({ "member": a }),
            Action::RotateValidator { old, new } | Action::RotateMember { old, new } => {
                json!({ "old": old, "new": new })
            }
            Action::SetInboundLimits {
                token,
                cap,
                window,
                large,
                delay,
            } => json!({
                "token": token,
                "cap": cap.to_string(),
                "windowSecs": window.to_string(),
                "large": large.to_string(),
                "delaySecs": delay.to_string(),
                "formatted": {
                    "cap": human(*token, *cap),
                    "large": human(*token, *large),
                },
            }),
            Action::LiftHold(id) | Action::CancelTransfer(id) => json!({ "transferId": id }),
            Action::AddGuardian(a) | Action::RemoveGuardian(a) => json!({ "guardian": a }),
            Action::SetFeeRecipient(a) => json!({ "recipient": a }),
            Action::SetValidatorThreshold(n) | Action::SetMemberThreshold(n) => {
                json!({ "threshold": n.to_string() })
            }
            Action::SetTimelockDelay(s) => json!({ "delaySecs": s.to_string() }),
            Action::MapToken { local, remote } => json!({ "token": local, "remote": remote }),
            Action::UnmapToken(t) => json!({ "token": t }),
            Action::SetLimits {
                token,
                min_amount,
                max_amount,
                window_cap,
                window,
            } => json!({
                "token": token,
                "minAmount": min_amount.to_string(),
                "maxAmount": max_amount.to_string(),
                "windowCap": window_cap.to_string(),
                "windowSecs": window,
                "formatted": {
                    "minAmount": human(*token, *min_amount),
                    "maxAmount": human(*token, *max_amount),
                    "windowCap": human(*token, *window_cap),
                },
            }),
            Action::SetFees {
                token,
                fee_bps,
                flat_fee,
                max_fee,
            } => json!({
                "token": token,
                "feeBps": fee_bps,
                "flatFee": flat_fee.to_string(),
                "maxFee": max_fee.to_string(),
                "formatted": {
                    "flatFee": human(*token, *flat_fee),
                    "maxFee": human(*token, *max_fee),
                },
            }),
            Action::Pause | Action::Unpause => json!({}),
            Action::Route(r) => r.args_json(),
            Action::Raw { target, data } => json!({ "target": target, "data": data }),
        };
        json!({
            "kind": self.kind(),
            "args": args,
            "description": self.describe(tokens),
        })
    }
}

/// A token as "SYMBOL (address)", or its address when unknown.
pub fn token_name(tokens: TokenLookup<'_>, t: Address) -> String {
    match tokens(t) {
        Some(info) => format!("{} ({t})", info.symbol),
        None => t.to_string(),
    }
}

/// An amount of `t` in its decimals with its symbol, or in base units when unknown.
pub fn token_amount(tokens: TokenLookup<'_>, t: Address, v: U256) -> String {
    match tokens(t) {
        Some(info) => format!("{} {}", format_amount(v, info.decimals), info.symbol),
        None => format!("{v} base units"),
    }
}

/// Seconds as "3600 s (1h)".
pub fn duration(secs: U256) -> String {
    let Ok(s) = u64::try_from(secs) else {
        return format!("{secs} s");
    };
    let (d, h, m, r) = (s / 86_400, s / 3_600 % 24, s / 60 % 60, s % 60);
    let mut parts = Vec::new();
    for (n, unit) in [(d, "d"), (h, "h"), (m, "m"), (r, "s")] {
        if n > 0 {
            parts.push(format!("{n}{unit}"));
        }
    }
    if s < 60 {
        format!("{s} s")
    } else {
        format!("{s} s ({})", parts.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contracts() -> Contracts {
        Contracts {
            governance: Address::repeat_byte(1),
            bridge: Address::repeat_byte(2),
            operational: Address::repeat_byte(3),
        }
    }

    fn demo(t: Address) -> Option<TokenInfo> {
        (t == Address::repeat_byte(9)).then(|| TokenInfo {
            symbol: "DEMO".into(),
            decimals: 18,
        })
    }

    #[test]
    fn every_action_round_trips_through_calldata() {
        let a = Address::repeat_byte(7);
        let token = Address::repeat_byte(9);
        let actions = [
            Action::AddValidator {
                validator: a,
                threshold: U256::from(3),
            },
            Action::RemoveValidator(a),
            Action::RotateValidator { old: a, new: token },
            Action::SetValidatorThreshold(U256::from(3)),
            Action::AddMember {
                member: a,
                threshold: U256::from(2),
            },
            Action::RemoveMember(a),
            Action::RotateMember { old: a, new: token },
            Action::SetMemberThreshold(U256::from(2)),
            Action::SetTimelockDelay(U256::from(3600)),
            Action::MapToken {
                local: token,
                remote: a,
            },
            Action::UnmapToken(token),
            Action::SetLimits {
                token,
                min_amount: U256::from(1),
                max_amount: U256::from(2),
                window_cap: U256::from(3),
                window: 4,
            },
            Action::SetFees {
                token,
                fee_bps: 30,
                flat_fee: U256::from(5),
                max_fee: U256::ZERO,
            },
            Action::SetFeeRecipient(a),
            Action::AddGuardian(a),
            Action::RemoveGuardian(a),
            Action::Pause,
            Action::Unpause,
            Action::SetInboundLimits {
                token,
                cap: U256::from(10),
                window: U256::from(60),
                large: U256::from(5),
                delay: U256::from(3600),
            },
            Action::LiftHold(B256::repeat_byte(4)),
            Action::CancelTransfer(B256::repeat_byte(5)),
        ];
        let c = contracts();
        for action in actions {
            let (target, data) = action.encode(&c);
            assert_eq!(Action::decode(target, &data, &c), action);
        }
    }

    #[test]
    fn unknown_calls_stay_raw() {
        let c = contracts();
        let (_, data) = Action::AddValidator {
            validator: Address::ZERO,
            threshold: U256::from(1),
        }
        .encode(&c);
        // the right selector sent to the wrong contract is not what it looks like
        let decoded = Action::decode(c.operational, &data, &c);
        assert!(matches!(decoded, Action::Raw { .. }));
        assert!(decoded.describe(&demo).contains("unrecognised"));
    }

    #[test]
    fn amounts_are_described_in_token_decimals() {
        let token = Address::repeat_byte(9);
        let e18 = U256::from(10u64).pow(U256::from(18));
        let limits = Action::SetLimits {
            token,
            min_amount: e18 / U256::from(2),
            max_amount: U256::from(100) * e18,
            window_cap: U256::ZERO,
            window: 0,
        };
        let text = limits.describe(&demo);
        assert!(text.contains("min 0.5 DEMO"), "{text}");
        assert!(text.contains("max 100 DEMO"), "{text}");
        assert!(text.contains("no rolling cap"), "{text}");
        let json = limits.to_json(&demo);
        assert_eq!(json["args"]["formatted"]["minAmount"], "0.5");
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(U256::from(3600)), "3600 s (1h)");
        assert_eq!(duration(U256::from(90_061)), "90061 s (1d 1h 1m 1s)");
        assert_eq!(duration(U256::ZERO), "0 s");
        assert_eq!(duration(U256::from(59)), "59 s");
    }
}
