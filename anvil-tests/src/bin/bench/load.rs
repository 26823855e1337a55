//! The load generator: holders that sign their transactions ahead of time (consecutive nonces)
//! and send them as fast as the node takes them, without waiting for any to mine. Each holder
//! sends from its own task, so the node sees as many concurrent senders as there are holders.

use std::time::Duration;

use alloy::{
    eips::eip2718::Encodable2718,
    network::{EthereumWallet, NetworkTransactionBuilder, TransactionBuilder},
    primitives::{Address, Bytes},
    providers::{DynProvider, Provider},
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
};
use eyre::{WrapErr, bail};
use tokio::time::Instant;

/// Fee caps of every load transaction: far above what the chain asks, so none waits on price.
const MAX_FEE_PER_GAS: u128 = 100_000_000_000;
const PRIORITY_FEE_PER_GAS: u128 = 1_000_000_000;

/// One holder's calls, signed in nonce order from `first_nonce` on.
#[derive(Debug)]
pub(crate) struct Signed {
    pub(crate) holder: Address,
    pub(crate) last_nonce: u64,
    raw: Vec<Bytes>,
}

/// Signs `calls` (target, input) as `key`, one nonce each from the account's next nonce.
pub(crate) async fn sign(
    provider: &DynProvider,
    chain_id: u64,
    key: &PrivateKeySigner,
    gas_limit: u64,
    calls: impl IntoIterator<Item = (Address, Bytes)>,
) -> eyre::Result<Signed> {
    let wallet = EthereumWallet::from(key.clone());
    let mut nonce = provider.get_transaction_count(key.address()).await?;
    let mut raw = Vec::new();
    for (to, input) in calls {
        let request = TransactionRequest::default()
            .with_from(key.address())
            .with_to(to)
            .with_input(input)
            .with_nonce(nonce)
            .with_chain_id(chain_id)
            .with_gas_limit(gas_limit)
            .with_max_fee_per_gas(MAX_FEE_PER_GAS)
            .with_max_priority_fee_per_gas(PRIORITY_FEE_PER_GAS);
        let envelope = request
            .build(&wallet)
            .await
            .wrap_err("signing a load transaction")?;
        raw.push(envelope.encoded_2718().into());
        nonce += 1;
    }
    Ok(Signed {
        holder: key.address(),
        last_nonce: nonce.saturating_sub(1),
        raw,
    })
}

/// Sends every holder's transactions, each holder from its own task; returns when the node
/// accepted them all, with the instant the first was sent.
pub(crate) async fn send(provider: &DynProvider, batches: Vec<Signed>) -> eyre::Result<Instant> {
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for batch in batches {
        let provider = provider.clone();
        tasks.spawn(async move {
            for raw in &batch.raw {
                // accepted into the pool is enough: nobody waits for this one to mine
                let _pending = provider
                    .send_raw_transaction(raw)
                    .await
                    .wrap_err_with(|| format!("sending a transaction of {}", batch.holder))?;
            }
            eyre::Ok(())
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined??;
    }
    Ok(started)
}

/// Waits until every holder's last transaction mined; returns when that was seen.
pub(crate) async fn await_mined(
    provider: &DynProvider,
    holders: &[(Address, u64)],
    timeout: Duration,
) -> eyre::Result<Instant> {
    let deadline = Instant::now() + timeout;
    loop {
        let mut done = true;
        for (holder, last_nonce) in holders {
            if provider.get_transaction_count(*holder).await? <= *last_nonce {
                done = false;
                break;
            }
        }
        if done {
            return Ok(Instant::now());
        }
        if Instant::now() >= deadline {
            bail!("load transactions not mined within {timeout:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
