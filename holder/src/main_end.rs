//! The main chain's end of a route, as a holder meets it: a one-route `MainBridge`, or one
//! route of a `MainHub` (the deployment names the route). Every main-chain read and call the
//! commands make goes through here, so `send`, `track`, `claim` and `history` speak of a
//! route and never of which contract serves it.

use alloy::{
    primitives::{Address, B256, U256},
    rpc::types::{Filter, Log},
    sol_types::{SolCall, SolEvent, SolStruct},
};
use sidebridge_contracts::{
    Transfer,
    bindings::{MainBridge, MainHub, MainHubAdmin},
    transfer_domain,
};
use sidebridge_core::domain::Chain;

use crate::network::Net;

/// The route's signers on the main chain and whether it takes transfers now.
#[derive(Debug, Clone)]
pub(crate) struct RouteState {
    pub(crate) validators: Vec<Address>,
    pub(crate) threshold: u64,
    /// The bridge, the hub or the route is paused (or the route retired).
    pub(crate) paused: bool,
}

pub(crate) async fn state(net: &Net) -> eyre::Result<RouteState> {
    let p = net.provider(Chain::Main);
    let bridge = net.info(Chain::Main).bridge;
    match net.deployment.route {
        None => {
            let s = MainBridge::new(bridge, p).bridgeState().call().await?;
            Ok(RouteState {
                validators: s.set,
                threshold: s.threshold.saturating_to(),
                paused: s.isPaused,
            })
        }
        Some(route) => {
            let hub_paused = MainHub::new(bridge, p).paused().call().await?;
            let r = MainHubAdmin::new(bridge, p).route(route).call().await?;
            Ok(RouteState {
                validators: r.validators,
                threshold: r.threshold.saturating_to(),
                paused: hub_paused || r.isPaused || r.isRetired,
            })
        }
    }
}

/// Whether the main end sends `token` toward this side chain (a hub maps tokens per route;
/// a one-route bridge's Operational decides alone).
pub(crate) async fn sends(net: &Net, token: Address) -> eyre::Result<bool> {
    match net.deployment.route {
        None => Ok(true),
        Some(route) => {
            let hub = MainHub::new(net.info(Chain::Main).bridge, net.provider(Chain::Main));
            Ok(hub.remoteToken(route, token).call().await? != Address::ZERO)
        }
    }
}

/// The main end's inbound limits for `token` from this side chain: the size above which a
/// withdrawal is queued, the queue delay, and what may arrive now.
pub(crate) async fn inbound(net: &Net, token: Address) -> eyre::Result<(U256, U256, U256)> {
    let p = net.provider(Chain::Main);
    let bridge = net.info(Chain::Main).bridge;
    match net.deployment.route {
        None => {
            let b = MainBridge::new(bridge, p);
            let l = b.inboundLimit(token).call().await?;
            let available = b.inboundAvailable(token).call().await?;
            Ok((l.large, l.delay, available))
        }
        Some(route) => {
            let hub = MainHub::new(bridge, p);
            let l = hub.inboundLimit(route, token).call().await?;
            let available = hub.inboundAvailable(route, token).call().await?;
            Ok((l.large, l.delay, available))
        }
    }
}

/// The calldata of a lock toward this side chain.
pub(crate) fn lock_call(net: &Net, token: Address, amount: U256, recipient: Address) -> Vec<u8> {
    match net.deployment.route {
        None => MainBridge::lockCall {
            token,
            amount,
            recipient,
        }
        .abi_encode(),
        Some(id) => MainHub::lockCall {
            id,
            token,
            amount,
            recipient,
        }
        .abi_encode(),
    }
}

/// A permit's signature as `lockWithPermit` takes it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Permit {
    pub(crate) deadline: U256,
    pub(crate) v: u8,
    pub(crate) r: B256,
    pub(crate) s: B256,
}

pub(crate) fn lock_with_permit_call(
    net: &Net,
    token: Address,
    amount: U256,
    recipient: Address,
    permit: Permit,
) -> Vec<u8> {
    let Permit { deadline, v, r, s } = permit;
    match net.deployment.route {
        None => MainBridge::lockWithPermitCall {
            token,
            amount,
            recipient,
            deadline,
            v,
            r,
            s,
        }
        .abi_encode(),
        Some(id) => MainHub::lockWithPermitCall {
            id,
            token,
            amount,
            recipient,
            deadline,
            v,
            r,
            s,
        }
        .abi_encode(),
    }
}

/// A deposit of this route as the main end's `Locked` describes it.
#[derive(Debug, Clone)]
pub(crate) struct Lock {
    pub(crate) transfer: Transfer,
    pub(crate) id: B256,
    pub(crate) fee: U256,
    /// On a hub: the chained withdrawal this deposit continues (zero for a plain lock).
    pub(crate) parent: B256,
}

/// The deposit a main-chain log describes, when it is this route's `Locked`.
pub(crate) fn locked(net: &Net, log: &Log) -> Option<Lock> {
    if log.address() != net.info(Chain::Main).bridge {
        return None;
    }
    let (main, side) = (net.info(Chain::Main), net.info(Chain::Side));
    match net.deployment.route {
        None => {
            let ev = MainBridge::Locked::decode_log(&log.inner).ok()?;
            Some(Lock {
                transfer: Transfer::from_locked(&ev, main.chain_id, main.bridge, side.bridge),
                id: ev.transferId,
                fee: ev.fee,
                parent: B256::ZERO,
            })
        }
        Some(route) => {
            let ev = MainHub::Locked::decode_log(&log.inner).ok()?;
            (ev.route == route).then(|| Lock {
                transfer: Transfer::from_hub_locked(
                    &ev,
                    main.chain_id,
                    main.bridge,
                    side.chain_id,
                    side.bridge,
                ),
                id: ev.transferId,
                fee: ev.fee,
                parent: ev.parentId,
            })
        }
    }
}

/// This route's `Locked` events, optionally of one nonce (the sender is checked on the decoded
/// event: the hub does not index it).
pub(crate) fn locked_filter(net: &Net, nonce: Option<u64>) -> Filter {
    let bridge = net.info(Chain::Main).bridge;
    let nonce = nonce.map(|n| B256::from(U256::from(n)));
    match net.deployment.route {
        None => {
            let f = Filter::new()
                .address(bridge)
                .event_signature(MainBridge::Locked::SIGNATURE_HASH);
            match nonce {
                Some(n) => f.topic1(n),
                None => f,
            }
        }
        Some(route) => {
            let f = Filter::new()
                .address(bridge)
                .event_signature(MainHub::Locked::SIGNATURE_HASH)
                .topic1(route);
            match nonce {
                Some(n) => f.topic2(n),
                None => f,
            }
        }
    }
}

/// This route's settlement events on the main chain (`Released`) for any of `ids`.
pub(crate) fn released_filter(net: &Net, ids: Vec<B256>) -> Filter {
    let bridge = net.info(Chain::Main).bridge;
    match net.deployment.route {
        None => Filter::new()
            .address(bridge)
            .event_signature(MainBridge::Released::SIGNATURE_HASH)
            .topic2(ids),
        Some(route) => Filter::new()
            .address(bridge)
            .event_signature(MainHub::Released::SIGNATURE_HASH)
            .topic1(route)
            .topic3(ids),
    }
}

/// The nonce and transfer id of a `Released` log of this route.
pub(crate) fn released(net: &Net, log: &Log) -> Option<(u64, B256)> {
    if log.address() != net.info(Chain::Main).bridge || log.removed {
        return None;
    }
    match net.deployment.route {
        None => {
            let ev = MainBridge::Released::decode_log(&log.inner).ok()?;
            Some((ev.nonce, ev.transferId))
        }
        Some(route) => {
            let ev = MainHub::Released::decode_log(&log.inner).ok()?;
            (ev.route == route).then_some((ev.nonce, ev.transferId))
        }
    }
}

/// Whether a release's receipt log says it was queued (a large withdrawal).
pub(crate) fn is_queued(net: &Net, log: &Log) -> bool {
    let signature = match net.deployment.route {
        None => MainBridge::TransferQueued::SIGNATURE_HASH,
        Some(_) => MainHub::RouteTransferQueued::SIGNATURE_HASH,
    };
    log.address() == net.info(Chain::Main).bridge && log.topic0() == Some(&signature)
}

/// A withdrawal's id: its EIP-712 digest under the main end's domain (the hub's for a chained
/// transfer, which the hub settles whatever its final destination).
pub(crate) fn withdrawal_id(net: &Net, t: &Transfer) -> B256 {
    let main = net.info(Chain::Main);
    t.eip712_signing_hash(&transfer_domain(main.chain_id, main.bridge))
}

/// Where a chained transfer went on the hub, read from the receipt that settled it there.
#[derive(Debug, Clone)]
pub(crate) enum Hop {
    /// Handed to the destination route: its deposit there.
    Forwarded(Log),
    /// The destination refused it: it waits on the hub (`forward` once it takes it, or the
    /// sender's `refund`), for this reason.
    Parked(String),
}

/// What the hub did with chained withdrawal `id` in the transaction whose logs are `logs`.
pub(crate) fn hop(net: &Net, id: B256, logs: &[Log]) -> Option<Hop> {
    let hub = net.info(Chain::Main).bridge;
    for log in logs.iter().filter(|l| l.address() == hub) {
        if let Ok(ev) = MainHub::Locked::decode_log(&log.inner)
            && ev.parentId == id
        {
            return Some(Hop::Forwarded(log.clone()));
        }
        if let Ok(ev) = MainHub::TransferParked::decode_log(&log.inner)
            && ev.transferId == id
        {
            return Some(Hop::Parked(refusal_text(ev.reason)));
        }
    }
    None
}

fn refusal_text(reason: u8) -> String {
    match reason {
        1 => "the destination is no route of the hub",
        2 => "the destination route is retired",
        3 => "the destination route is paused",
        4 => "the token is not open toward the destination",
        5 => "the recipient is a bridge",
        6 => "the token's rules refused the hop (minimum, maximum or listing)",
        _ => "refused by the destination",
    }
    .to_string()
}
