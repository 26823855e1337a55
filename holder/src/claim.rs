//! `claim`: a holder releases their own withdrawal when relayers lag. Validators publish their
//! EIP-712 signatures in `SignatureSubmitted` events on the side chain; this gathers those of
//! the main bridge's *current* validators, checks each one recovers to its signer over the
//! transfer's digest (computed here under the main end's domain, the hub's for a chained
//! transfer, not taken from the event), and calls `release` with a
//! threshold of them. The bridge checks everything again: a wrong or stale signature costs the
//! holder a revert at worst, never funds.

use alloy::{
    primitives::{Address, B256, Bytes},
    providers::Provider,
    rpc::types::Filter,
    signers::{Signature, local::PrivateKeySigner},
    sol_types::{SolCall, SolEvent},
};
use eyre::{WrapErr, bail};
use sidebridge_contracts::{
    bindings::{MainBridge, SideBridge},
    pack_signatures,
};
use sidebridge_core::domain::{Chain, Direction};

use crate::{
    network::Net,
    refusal::Refusal,
    send::{estimate, transact},
    track::{self, Located, Stage},
};

/// The valid signatures of current validators for withdrawal `t`, ascending by signer.
pub(crate) async fn collect_signatures(
    net: &Net,
    t: &Located,
    validators: &[Address],
) -> eyre::Result<Vec<(Address, Signature)>> {
    let digest = crate::main_end::withdrawal_id(net, &t.transfer);
    if digest != t.id {
        bail!(
            "the burn event's id {} is not the digest {digest} of its content",
            t.id
        );
    }
    let side = net.info(Chain::Side);
    let p = net.provider(Chain::Side);
    let filter = Filter::new()
        .address(side.bridge)
        .event_signature(SideBridge::SignatureSubmitted::SIGNATURE_HASH)
        .topic2(t.id);
    let head = p.get_block_number().await.wrap_err("eth_blockNumber")?;
    let mut out: Vec<(Address, Signature)> = Vec::new();
    for log in track::logs(p, filter, t.source_block, head).await? {
        let Ok(ev) = SideBridge::SignatureSubmitted::decode_log_data(log.data()) else {
            continue;
        };
        if log.removed || !validators.contains(&ev.validator) {
            continue;
        }
        let Ok(signature) = Signature::from_raw(&ev.signature) else {
            continue;
        };
        let recovers = signature
            .recover_address_from_prehash(&digest)
            .is_ok_and(|a| a == ev.validator);
        if recovers && !out.iter().any(|(v, _)| *v == ev.validator) {
            out.push((ev.validator, signature));
        }
    }
    out.sort_by_key(|(v, _)| *v);
    Ok(out)
}

/// What a claim did.
#[derive(Debug, Clone)]
pub(crate) struct Claimed {
    pub(crate) tx: B256,
    pub(crate) stage: Stage,
}

/// Releases withdrawal `t` from the published signatures, or says why not.
pub(crate) async fn claim(
    net: &Net,
    wallet: &PrivateKeySigner,
    t: &Located,
) -> eyre::Result<Result<Claimed, Refusal>> {
    if t.direction != Direction::Withdrawal {
        bail!(
            "{} is a deposit: deposits are minted by the validators' votes, there is nothing to claim",
            t.id
        );
    }
    let progress = track::progress(net, t).await?;
    if let Some(tx) = progress.destination_tx {
        return Ok(Err(Refusal::AlreadyReleased { tx: Some(tx) }));
    }
    if progress.queue.is_some() {
        return Ok(Err(Refusal::AlreadyReleased { tx: None }));
    }
    let state = crate::main_end::state(net).await?;
    if state.paused {
        return Ok(Err(Refusal::Paused { chain: Chain::Main }));
    }
    let threshold = usize::try_from(state.threshold).unwrap_or(usize::MAX);
    let mut signatures = collect_signatures(net, t, &state.validators).await?;
    if signatures.len() < threshold {
        return Ok(Err(Refusal::NotReady {
            have: signatures.len(),
            need: threshold,
        }));
    }
    signatures.truncate(threshold);
    let packed: Bytes = pack_signatures(signatures);
    let data = MainBridge::releaseCall {
        t: t.transfer.clone().into(),
        signatures: packed,
    }
    .abi_encode();
    let p = net.provider(Chain::Main);
    let me = wallet.address();
    let gas = estimate(p, me, net.info(Chain::Main).bridge, &data, "release").await?;
    let fees = crate::send::chain_fees(p).await?;
    let need_wei =
        alloy::primitives::U256::from(gas) * alloy::primitives::U256::from(fees.max_fee_per_gas);
    let have_wei = p.get_balance(me).await.wrap_err("reading the balance")?;
    if have_wei < need_wei {
        return Ok(Err(Refusal::InsufficientGas {
            chain: Chain::Main,
            have_wei,
            need_wei,
        }));
    }
    eprintln!("releasing {} with {threshold} validator signatures", t.id);
    let receipt = transact(p, me, net.info(Chain::Main).bridge, data, "release").await?;
    let queued = receipt
        .inner
        .logs()
        .iter()
        .any(|l| crate::main_end::is_queued(net, l));
    Ok(Ok(Claimed {
        tx: receipt.transaction_hash,
        stage: if queued { Stage::Queued } else { Stage::Landed },
    }))
}
