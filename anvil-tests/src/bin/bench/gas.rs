//! `ops/bench gas`: gas of the bridge's hot paths, read from real receipts on local anvil
//! chains. One line per case:
//!
//! - `release k/n gas=<N>`: an ERC-20 release signed by k of n validators, to a recipient that
//!   held none of the token before (not the first release of its 256-nonce bitmap word; that
//!   one is printed once as `release-first-in-word`);
//! - `approve batch=<b> gas_per_transfer=<N>`: one validator's first vote for b deposits, below
//!   the threshold (it creates each content's vote record); `approve-second ...`: the next
//!   vote, still below it; `approve-final batch=<b> ...`: the vote that mints;
//! - `submitSignatures batch=<b> gas_per_transfer=<N>`: one validator's signatures for b
//!   withdrawals;
//! - `release-batch k/n batch=<b> gas_per_transfer=<N>`: b releases in one `releaseBatch`
//!   (each still checked against its own k signatures), after the word's first release;
//! - `lock gas=<N>` and `burn gas=<N>`: a holder's transfer out of each chain (not the first,
//!   which also creates the nonce slot); `lock-with-permit gas=<N>`: the same lock with its
//!   EIP-2612 permit inside, which saves the holder the `approve` transaction;
//! - the hub's cases, `hub …` (`gas_hub.rs`).

use alloy::sol_types::SolEvent;
use alloy::{
    primitives::{Address, U256},
    rpc::types::TransactionReceipt,
    signers::{SignerSync, local::PrivateKeySigner},
};
use eyre::{WrapErr, ensure};
use sidebridge_anvil_tests::{MAIN_CHAIN_ID, SIDE_CHAIN_ID, System, SystemSpec, dev_key};
use sidebridge_contracts::{
    Transfer,
    bindings::{IERC20Metadata, IERC20Permit, MainBridge, SideBridge},
    pack_signatures, permit_digest, transfer_digest,
};

const RELEASE_CASES: &[(usize, usize)] = &[(1, 1), (2, 3), (3, 5), (5, 7), (7, 10), (13, 18)];
const BATCHES: &[usize] = &[1, 10, 50];
/// Releases per `releaseBatch`, for the thresholds the e2e benchmark and a larger set use.
const RELEASE_BATCH_CASES: &[(usize, usize)] = &[(3, 4), (5, 7)];

pub(crate) async fn run() -> eyre::Result<()> {
    for &(k, n) in RELEASE_CASES {
        let (lock, first, steady) = release_gas(k, n).await?;
        if (k, n) == (5, 7) {
            println!("lock gas={lock}");
            println!("lock-with-permit gas={}", permit_lock_gas().await?);
            println!("release-first-in-word {k}/{n} gas={first}");
        }
        println!("release {k}/{n} gas={steady}");
    }
    for &(k, n) in RELEASE_BATCH_CASES {
        release_batch_gas(k, n).await?;
    }
    side_gas().await?;
    crate::gas_hub::run().await
}

pub(crate) fn unit() -> U256 {
    U256::from(10u64).pow(U256::from(18))
}

pub(crate) fn checked(receipt: TransactionReceipt, what: &str) -> eyre::Result<u64> {
    ensure!(
        receipt.status(),
        "{what} reverted: {:?}",
        receipt.transaction_hash
    );
    Ok(receipt.gas_used)
}

/// A system with `n` validators (threshold `k`) whose main bridge holds custody of the demo
/// token, and the gas of a steady-state lock.
async fn funded_system(k: usize, n: usize) -> eyre::Result<(System, u64)> {
    let sys = System::start(SystemSpec {
        validators: n,
        validator_threshold: k,
        ..SystemSpec::default()
    })
    .await?;
    let d = &sys.deployment;
    let main = sys.main_as(&sys.holder);
    let amount = U256::from(1_000_000u64) * unit();
    IERC20Metadata::new(sys.main_token, &main)
        .approve(d.main.bridge, amount)
        .send()
        .await?
        .get_receipt()
        .await?;
    // the first lock creates the nonce and custody slots; the second is the steady-state one
    let mut lock = 0;
    for part in [amount - unit(), unit()] {
        let receipt = MainBridge::new(d.main.bridge, &main)
            .lock(sys.main_token, part, sys.holder.address())
            .send()
            .await?
            .get_receipt()
            .await?;
        lock = checked(receipt, "lock")?;
    }
    Ok((sys, lock))
}

/// Gas of a steady-state `lockWithPermit` (the permit signed by the holder, no allowance before).
async fn permit_lock_gas() -> eyre::Result<u64> {
    let (sys, _) = funded_system(1, 1).await?;
    let d = &sys.deployment;
    let main = sys.main_as(&sys.holder);
    let permit = IERC20Permit::new(sys.main_token, &main);
    let (nonce, domain) = (
        permit.nonces(sys.holder.address()).call().await?,
        permit.DOMAIN_SEPARATOR().call().await?,
    );
    let deadline = U256::from(u64::MAX);
    let digest = permit_digest(
        domain,
        sys.holder.address(),
        d.main.bridge,
        unit(),
        nonce,
        deadline,
    );
    let sig = sys.holder.sign_hash_sync(&digest)?;
    let receipt = MainBridge::new(d.main.bridge, &main)
        .lockWithPermit(
            sys.main_token,
            unit(),
            sys.holder.address(),
            deadline,
            27 + u8::from(sig.v()),
            sig.r().into(),
            sig.s().into(),
        )
        .send()
        .await?
        .get_receipt()
        .await?;
    checked(receipt, "lockWithPermit")
}

/// Withdrawal `nonce` of one token to a fresh recipient, with the signatures of `signers`.
fn signed_withdrawal(
    sys: &System,
    signers: &[PrivateKeySigner],
    nonce: u64,
) -> eyre::Result<(Transfer, alloy::primitives::Bytes)> {
    let t = Transfer {
        srcChainId: U256::from(SIDE_CHAIN_ID),
        srcBridge: sys.deployment.side.bridge,
        dstChainId: U256::from(MAIN_CHAIN_ID),
        dstBridge: sys.deployment.main.bridge,
        nonce,
        token: sys.main_token,
        sender: sys.holder.address(),
        recipient: PrivateKeySigner::random().address(),
        amount: U256::from(10u64) * unit(),
    };
    let id = transfer_digest(&t, sys.deployment.main.bridge);
    let signatures = signers
        .iter()
        .map(|s| Ok((s.address(), s.sign_hash_sync(&id)?)))
        .collect::<eyre::Result<Vec<_>>>()?;
    Ok((t, pack_signatures(signatures)))
}

/// `batch` withdrawals signed by `sign`, from nonce `*nonce` on (which it advances).
pub(crate) fn signed_batch(
    batch: usize,
    nonce: &mut u64,
    sign: impl Fn(u64) -> eyre::Result<(Transfer, alloy::primitives::Bytes)>,
) -> eyre::Result<(Vec<Transfer>, Vec<alloy::primitives::Bytes>)> {
    let mut transfers = Vec::with_capacity(batch);
    let mut signatures = Vec::with_capacity(batch);
    for _ in 0..batch {
        let (t, sigs) = sign(*nonce)?;
        *nonce += 1;
        transfers.push(t);
        signatures.push(sigs);
    }
    Ok((transfers, signatures))
}

/// Gas per transfer of a `releaseBatch` receipt of `batch` withdrawals, none skipped (`skipped`:
/// the bridge's `ReleaseSkipped` event).
pub(crate) fn batch_gas(
    receipt: TransactionReceipt,
    skipped: alloy::primitives::B256,
    batch: usize,
) -> eyre::Result<u64> {
    let count = receipt
        .inner
        .logs()
        .iter()
        .filter(|l| l.topic0() == Some(&skipped))
        .count();
    ensure!(count == 0, "releaseBatch skipped {count} of {batch}");
    Ok(checked(receipt, "releaseBatch")? / batch as u64)
}

/// Gas per transfer of `releaseBatch` for each batch size, k of n signatures each.
async fn release_batch_gas(k: usize, n: usize) -> eyre::Result<()> {
    let (sys, _) = funded_system(k, n).await?;
    let main = sys.main_as(&sys.holder);
    let bridge = MainBridge::new(sys.deployment.main.bridge, &main);
    let signers: Vec<PrivateKeySigner> = sys.validators_sorted().into_iter().take(k).collect();
    // nonce 0 creates the bitmap word; the batches below are steady state
    let (t, sigs) = signed_withdrawal(&sys, &signers, 0)?;
    checked(
        bridge
            .release(t.into(), sigs)
            .send()
            .await?
            .get_receipt()
            .await?,
        "release",
    )?;
    let mut nonce = 1u64;
    for &batch in BATCHES {
        let (transfers, signatures) = signed_batch(batch, &mut nonce, |nonce| {
            signed_withdrawal(&sys, &signers, nonce)
        })?;
        // a fixed limit: the node's estimate is the least gas with which the batch does not
        // revert, and a batch whose items catch their own failure needs headroom above that
        let receipt = bridge
            .releaseBatch(transfers.into_iter().map(Into::into).collect(), signatures)
            .gas(20_000_000)
            .send()
            .await?
            .get_receipt()
            .await?;
        let gas = batch_gas(receipt, MainBridge::ReleaseSkipped::SIGNATURE_HASH, batch)?;
        println!("release-batch {k}/{n} batch={batch} gas_per_transfer={gas}");
    }
    Ok(())
}

/// Gas of the lock that funds custody, and of two releases signed by `k` of `n` validators:
/// the first one of a bitmap word and a later one.
async fn release_gas(k: usize, n: usize) -> eyre::Result<(u64, u64, u64)> {
    let (sys, lock) = funded_system(k, n).await?;
    let main = sys.main_as(&sys.holder);
    let signers: Vec<PrivateKeySigner> = sys.validators_sorted().into_iter().take(k).collect();
    let mut gas = Vec::new();
    for nonce in 0..2u64 {
        let (t, signatures) = signed_withdrawal(&sys, &signers, nonce)?;
        let receipt = MainBridge::new(sys.deployment.main.bridge, &main)
            .release(t.into(), signatures)
            .send()
            .await?
            .get_receipt()
            .await?;
        gas.push(checked(receipt, "release")?);
    }
    Ok((lock, gas[0], gas[1]))
}

/// Side-chain votes and signatures with 4 validators and threshold 3.
async fn side_gas() -> eyre::Result<()> {
    let sys = System::start(SystemSpec {
        validators: 4,
        validator_threshold: 3,
        ..SystemSpec::default()
    })
    .await?;
    let d = &sys.deployment;
    let validators = sys.validators_sorted();
    let side_of = |k: &PrivateKeySigner| SideBridge::new(d.side.bridge, sys.side_as(k));
    let user = dev_key(&sys.side, 7);

    let mut nonce = 0u64;
    let mut deposit = |recipient: Address, amount: U256| {
        let t = Transfer {
            srcChainId: U256::from(MAIN_CHAIN_ID),
            srcBridge: sys.deployment.main.bridge,
            dstChainId: U256::from(SIDE_CHAIN_ID),
            dstBridge: sys.deployment.side.bridge,
            nonce,
            token: sys.main_token,
            sender: sys.holder.address(),
            recipient,
            amount,
        };
        nonce += 1;
        t
    };
    // the user's wrapped balance for the withdrawals below
    let funding = [deposit(user.address(), U256::from(1_000u64) * unit())];
    for v in &validators[..3] {
        side_of(v)
            .approveDeposits(funding.iter().cloned().map(Into::into).collect())
            .send()
            .await?
            .get_receipt()
            .await?;
    }

    for &batch in BATCHES {
        let transfers: Vec<SideBridge::Transfer> = (0..batch)
            .map(|_| deposit(PrivateKeySigner::random().address(), unit()).into())
            .collect();
        let mut per_vote = Vec::new();
        for v in &validators[..3] {
            let receipt = side_of(v)
                .approveDeposits(transfers.clone())
                .send()
                .await?
                .get_receipt()
                .await?;
            per_vote.push(checked(receipt, "approveDeposits")? / batch as u64);
        }
        println!("approve batch={batch} gas_per_transfer={}", per_vote[0]);
        println!(
            "approve-second batch={batch} gas_per_transfer={}",
            per_vote[1]
        );
        println!(
            "approve-final batch={batch} gas_per_transfer={}",
            per_vote[2]
        );
    }

    let user_side = sys.side_as(&user);
    let mut burn_gas = Vec::new();
    for &batch in BATCHES {
        let mut withdrawals = Vec::new();
        for _ in 0..batch {
            let receipt = SideBridge::new(d.side.bridge, &user_side)
                .burn(sys.wrapped_token, unit(), user.address())
                .send()
                .await?
                .get_receipt()
                .await?;
            let burned = receipt
                .decoded_log::<SideBridge::Burned>()
                .ok_or_else(|| eyre::eyre!("burn emitted no Burned"))?
                .data;
            burn_gas.push(checked(receipt, "burn")?);
            withdrawals.push(Transfer::from_burned(&burned, SIDE_CHAIN_ID, d.side.bridge));
        }
        let signer = &validators[0];
        let mut signatures = Vec::with_capacity(batch * 65);
        for t in &withdrawals {
            let sig = signer
                .sign_hash_sync(&transfer_digest(t, d.main.bridge))
                .wrap_err("signing")?;
            signatures.extend_from_slice(&sig.as_bytes());
        }
        let receipt = side_of(signer)
            .submitSignatures(
                withdrawals.into_iter().map(Into::into).collect(),
                signatures.into(),
            )
            .send()
            .await?
            .get_receipt()
            .await?;
        println!(
            "submitSignatures batch={batch} gas_per_transfer={}",
            checked(receipt, "submitSignatures")? / batch as u64
        );
    }
    // the first burn creates the nonce slot; the second is the steady-state one
    if let Some(gas) = burn_gas.get(1) {
        println!("burn gas={gas}");
    }
    Ok(())
}
