//! `ops/bench gas`, the hub's cases: the main chain's `MainHub` with two routes (3 validators
//! each, threshold 2), from real receipts. One line per case:
//!
//! - `hub lock gas=<N>`: a holder's steady-state lock toward a route (not the route's first);
//! - `hub release 2/3 gas=<N>`: a withdrawal from route A paid out on the main chain, signed by
//!   2 of A's 3 validators, to a recipient that held none of the token (not the first of its
//!   bitmap word);
//! - `hub release-batch 2/3 batch=<b> gas_per_transfer=<N>`: b of them in one `releaseBatch`;
//! - `hub chained-release 2/3 gas=<N>`: a withdrawal from A to B's bridge, settled from A's book
//!   and deposited to B in the same transaction (the hop's fee and B's `Locked` included).

use alloy::{
    primitives::{Address, Bytes, U256},
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::{SolEvent, SolStruct},
};
use eyre::ensure;
use sidebridge_anvil_tests::hub::HubSystem;
use sidebridge_contracts::{
    Transfer, bindings::IERC20Metadata, bindings::MainHub, pack_signatures, transfer_domain,
};

use crate::gas::{batch_gas, checked, signed_batch, unit};

const THRESHOLD: usize = 2;

pub(crate) async fn run() -> eyre::Result<()> {
    let sys = HubSystem::start(2).await?;
    let d = sys.deployment.clone();
    let main = sys.main_as(&sys.holder);
    let hub = MainHub::new(d.main.bridge, &main);
    let amount = U256::from(1_000_000u64) * unit();
    checked(
        IERC20Metadata::new(sys.main_token, &main)
            .approve(d.main.bridge, U256::MAX)
            .send()
            .await?
            .get_receipt()
            .await?,
        "approve",
    )?;
    // the first lock creates the route's nonce and custody slots; the second is steady state
    let mut lock = 0;
    for part in [amount, unit()] {
        let receipt = hub
            .lock(d.routes[0].id, sys.main_token, part, sys.holder.address())
            .send()
            .await?
            .get_receipt()
            .await?;
        lock = checked(receipt, "lock")?;
    }
    // B's book and nonce slots exist before the chained case, as on a running hub
    checked(
        hub.lock(d.routes[1].id, sys.main_token, unit(), sys.holder.address())
            .send()
            .await?
            .get_receipt()
            .await?,
        "lock toward B",
    )?;
    println!("hub lock gas={lock}");

    let mut signers = sys.validators[0].clone();
    signers.sort_by_key(|k| k.address());
    signers.truncate(THRESHOLD);
    let n = sys.validators[0].len();
    let to_main = (U256::from(d.main.chain_id), d.main.bridge);
    // nonce 0 creates the bitmap word; what follows is steady state
    let mut nonce = 0u64;
    let mut release = 0;
    for _ in 0..2 {
        let (t, sigs) = signed(&sys, &signers, nonce, to_main)?;
        nonce += 1;
        release = checked(
            hub.release(t.into(), sigs)
                .send()
                .await?
                .get_receipt()
                .await?,
            "release",
        )?;
    }
    println!("hub release {THRESHOLD}/{n} gas={release}");

    for batch in [10usize, 50] {
        let (transfers, signatures) = signed_batch(batch, &mut nonce, |nonce| {
            signed(&sys, &signers, nonce, to_main)
        })?;
        let receipt = hub
            .releaseBatch(transfers.into_iter().map(Into::into).collect(), signatures)
            .gas(20_000_000)
            .send()
            .await?
            .get_receipt()
            .await?;
        let gas = batch_gas(receipt, MainHub::ReleaseSkipped::SIGNATURE_HASH, batch)?;
        println!("hub release-batch {THRESHOLD}/{n} batch={batch} gas_per_transfer={gas}");
    }

    let to_b = (
        U256::from(d.routes[1].side.chain_id),
        d.routes[1].side.bridge,
    );
    let (t, sigs) = signed(&sys, &signers, nonce, to_b)?;
    let receipt = hub
        .release(t.into(), sigs)
        .send()
        .await?
        .get_receipt()
        .await?;
    let forwarded = receipt
        .inner
        .logs()
        .iter()
        .any(|l| l.topic0() == Some(&MainHub::Locked::SIGNATURE_HASH));
    ensure!(forwarded, "the chained release did not deposit to B");
    println!(
        "hub chained-release {THRESHOLD}/{n} gas={}",
        checked(receipt, "chained release")?
    );
    Ok(())
}

/// Withdrawal `nonce` from route A to `(chain, bridge)` for a fresh recipient, signed by
/// `signers` under the hub's domain.
fn signed(
    sys: &HubSystem,
    signers: &[PrivateKeySigner],
    nonce: u64,
    (dst_chain, dst_bridge): (U256, Address),
) -> eyre::Result<(Transfer, Bytes)> {
    let d = &sys.deployment;
    let t = Transfer {
        srcChainId: U256::from(d.routes[0].side.chain_id),
        srcBridge: d.routes[0].side.bridge,
        dstChainId: dst_chain,
        dstBridge: dst_bridge,
        nonce,
        token: sys.main_token,
        sender: sys.holder.address(),
        recipient: PrivateKeySigner::random().address(),
        amount: U256::from(10u64) * unit(),
    };
    let id = t.eip712_signing_hash(&transfer_domain(d.main.chain_id, d.main.bridge));
    let signatures = signers
        .iter()
        .map(|s| Ok((s.address(), s.sign_hash_sync(&id)?)))
        .collect::<eyre::Result<Vec<_>>>()?;
    Ok((t, pack_signatures(signatures)))
}
