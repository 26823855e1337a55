//! A chained transfer, side chain A → the main chain's hub → side chain B, followed as one:
//! its first leg is A's withdrawal (a burn naming B's bridge), which the hub settles from A's
//! book; in that same transaction the hub either deposits it to B (its second leg, a `Locked`
//! on B's route naming the withdrawal as its parent) or parks it for `forward` or a refund.
//! Both legs are read from the chains alone.

use std::time::{Duration, Instant};

use alloy::{
    primitives::B256, providers::Provider, signers::local::PrivateKeySigner, sol_types::SolCall,
};
use eyre::{WrapErr, bail, eyre};
use sidebridge_contracts::bindings::MainHub;
use sidebridge_core::domain::{Chain, Direction};

use crate::{
    main_end::{self, Hop},
    network::Net,
    send::{estimate, transact},
    track::{self, Located, Progress, Stage},
};

/// Whether withdrawal `t` goes on to another side chain (its destination is not the main end).
pub(crate) fn is_chained(net: &Net, t: &Located) -> bool {
    let main = net.info(Chain::Main);
    t.direction == Direction::Withdrawal
        && (t.transfer.dstBridge != main.bridge
            || t.transfer.dstChainId != alloy::primitives::U256::from(main.chain_id))
}

/// The second leg as far as it got.
#[derive(Debug, Clone)]
pub(crate) enum Second {
    /// The first leg is not settled on the hub yet.
    NotYet,
    /// Deposited to the destination route: that deposit and where it is.
    Forwarded(Box<(Located, Progress)>),
    /// The destination refused it; it waits on the hub, for this reason.
    Parked(String),
    /// It was parked, and its sender took it back (to the first side chain or on the main
    /// chain).
    Refunded,
}

impl Second {
    pub(crate) fn stage(&self) -> &'static str {
        match self {
            Second::NotYet => "pending",
            Second::Forwarded(leg) => leg.1.stage().as_str(),
            Second::Parked(_) => "parked",
            Second::Refunded => "refunded",
        }
    }
}

/// What the hub did with chained withdrawal `t` (from route `a`) toward route `b`, once the
/// first leg settled in transaction `settled`.
pub(crate) async fn hop(a: &Net, b: &Net, t: &Located, settled: B256) -> eyre::Result<Second> {
    let receipt = a
        .provider(Chain::Main)
        .get_transaction_receipt(settled)
        .await
        .wrap_err("reading the hub's settlement")?
        .ok_or_else(|| eyre!("the hub's settlement {settled} has no receipt"))?;
    match main_end::hop(a, t.id, receipt.inner.logs()) {
        Some(Hop::Forwarded(log)) => {
            let leg = track::from_source_log(b, Chain::Main, &log).ok_or_else(|| {
                eyre!(
                    "the hub forwarded {} to a route other than {}",
                    t.id,
                    b.deployment.side_name
                )
            })?;
            let progress = track::progress(b, &leg).await?;
            Ok(Second::Forwarded(Box::new((leg, progress))))
        }
        Some(Hop::Parked(why)) => {
            // parked then; since, forwarded or refunded?
            let hub = MainHub::new(a.info(Chain::Main).bridge, a.provider(Chain::Main));
            match hub.parked(t.id).call().await?.state {
                PARK_FORWARDED => {
                    let from = receipt.block_number.unwrap_or_default();
                    let head = a.provider(Chain::Main).get_block_number().await?;
                    let filter = main_end::locked_filter(b, None);
                    for log in track::logs(a.provider(Chain::Main), filter, from, head).await? {
                        if let Some(lock) = main_end::locked(b, &log)
                            && lock.parent == t.id
                            && let Some(leg) = track::from_source_log(b, Chain::Main, &log)
                        {
                            let progress = track::progress(b, &leg).await?;
                            return Ok(Second::Forwarded(Box::new((leg, progress))));
                        }
                    }
                    Err(eyre!(
                        "the hub forwarded {} but its deposit to {} is not found",
                        t.id,
                        b.deployment.side_name
                    ))
                }
                PARK_REFUNDED => Ok(Second::Refunded),
                _ => Ok(Second::Parked(why)),
            }
        }
        None => Err(eyre!(
            "the hub settled {} without forwarding or parking it",
            t.id
        )),
    }
}

/// `MainHub.parked(id).state`: forwarded, refunded (parked is 1).
const PARK_PARKED: u8 = 1;
const PARK_FORWARDED: u8 = 2;
const PARK_REFUNDED: u8 = 3;

/// Where chained withdrawal `id` stands on the hub when no second leg was found: `parked`,
/// `forwarded` (after parking; its deposit is on a route not searched), `refunded`, or
/// `pending` (not settled there yet).
pub(crate) async fn parked_state(net: &Net, id: B256) -> eyre::Result<&'static str> {
    let hub = MainHub::new(net.info(Chain::Main).bridge, net.provider(Chain::Main));
    Ok(match hub.parked(id).call().await?.state {
        PARK_PARKED => "parked",
        PARK_FORWARDED => "forwarded",
        PARK_REFUNDED => "refunded",
        _ => "pending",
    })
}

/// What a holder does with a parked chained transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolve {
    /// Hand it to its destination, which takes it now (anyone may).
    Forward,
    /// Take it back: to the first side chain, or (`here`) on the main chain (its sender only).
    Refund { here: bool },
}

/// Forwards or refunds parked chained transfer `t` (from route `a`); returns the transaction.
pub(crate) async fn resolve(
    a: &Net,
    wallet: &PrivateKeySigner,
    t: &Located,
    how: Resolve,
) -> eyre::Result<B256> {
    let hub_address = a.info(Chain::Main).bridge;
    let hub = MainHub::new(hub_address, a.provider(Chain::Main));
    let state = hub.parked(t.id).call().await?.state;
    if state != PARK_PARKED {
        bail!(
            "{} is not parked on the hub ({})",
            t.id,
            match state {
                PARK_FORWARDED => "it was forwarded",
                PARK_REFUNDED => "it was refunded",
                _ => "the hub has not settled it as a parked chained transfer",
            }
        );
    }
    let (what, data) = match how {
        Resolve::Forward => (
            "forward",
            MainHub::forwardCall {
                t: t.transfer.clone().into(),
            }
            .abi_encode(),
        ),
        Resolve::Refund { here } => (
            "refund",
            MainHub::refundCall {
                t: t.transfer.clone().into(),
                here,
            }
            .abi_encode(),
        ),
    };
    let p = a.provider(Chain::Main);
    // a refusal (not the sender, the destination still refusing) is shown before anything is sent
    estimate(p, wallet.address(), hub_address, &data, what).await?;
    let receipt = transact(p, wallet.address(), hub_address, data, what).await?;
    Ok(receipt.transaction_hash)
}

/// Where both legs are now.
pub(crate) async fn progress(a: &Net, b: &Net, t: &Located) -> eyre::Result<(Progress, Second)> {
    let first = track::progress(a, t).await?;
    let second = match first.destination_tx {
        Some(tx) => hop(a, b, t, tx).await?,
        None => Second::NotYet,
    };
    Ok((first, second))
}

/// Follows both legs until the second lands (or is parked, held, canceled) or `timeout`.
pub(crate) async fn follow(
    a: &Net,
    b: &Net,
    t: &Located,
    timeout: Duration,
) -> eyre::Result<(Progress, Second)> {
    let deadline = Instant::now() + timeout;
    eprintln!("leg 1: {} → main", a.deployment.side_name);
    let first = track::follow(a, t, timeout, true).await?;
    let Some(tx) = first
        .destination_tx
        .filter(|_| first.stage() == Stage::Landed)
    else {
        return Ok((first, Second::NotYet));
    };
    let second = hop(a, b, t, tx).await?;
    let Second::Forwarded(leg) = second else {
        return Ok((first, second));
    };
    eprintln!("leg 2: main → {}", b.deployment.side_name);
    let left = deadline.saturating_duration_since(Instant::now());
    let p = track::follow(b, &leg.0, left, true).await?;
    Ok((first, Second::Forwarded(Box::new((leg.0, p)))))
}
