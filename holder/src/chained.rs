//! A chained transfer, side chain A → the main chain's hub → side chain B, followed as one:
//! its first leg is A's withdrawal (a burn naming B's bridge), which the hub settles from A's
//! book; in that same transaction the hub either deposits it to B (its second leg, a `Locked`
//! on B's route naming the withdrawal as its parent) or parks it for `forward` or a refund.
//! Both legs are read from the chains alone.

use std::time::{Duration, Instant};

use alloy::{primitives::B256, providers::Provider};
use eyre::{WrapErr, eyre};
use sidebridge_core::domain::{Chain, Direction};

use crate::{
    main_end::{self, Hop},
    network::Net,
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
}

impl Second {
    pub(crate) fn stage(&self) -> &'static str {
        match self {
            Second::NotYet => "pending",
            Second::Forwarded(leg) => leg.1.stage().as_str(),
            Second::Parked(_) => "parked",
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
        Some(Hop::Parked(why)) => Ok(Second::Parked(why)),
        None => Err(eyre!(
            "the hub settled {} without forwarding or parking it",
            t.id
        )),
    }
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
