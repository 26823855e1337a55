//! The submitter replaces a transaction that is not mined in time with a bumped fee, and charges
//! only the one that was mined.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use alloy::{
    node_bindings::Anvil,
    primitives::{Address, Bytes, U256},
    providers::{Provider, ProviderBuilder, ext::AnvilApi},
    signers::local::PrivateKeySigner,
};
use sidebridge_anvil_tests::anvil_path;
use sidebridge_relayer::{
    domain::{Chain, TxKind},
    store::{AttemptStatus, Store},
    submitter::{RpcSink, SubmitConfig, Submitter, TxObserver, TxRequest},
};
use tokio_util::sync::CancellationToken;

#[derive(Default)]
struct Counts {
    sent: AtomicUsize,
    replaced: AtomicUsize,
    mined: AtomicUsize,
}

impl TxObserver for Counts {
    fn sent(&self, _: Chain, _: TxKind) {
        self.sent.fetch_add(1, Ordering::SeqCst);
    }
    fn replaced(&self, _: Chain, _: TxKind) {
        self.replaced.fetch_add(1, Ordering::SeqCst);
    }
    fn failed(&self, _: Chain, _: TxKind) {}
    fn mined(&self, _: Chain, _: TxKind, _: U256) {
        self.mined.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_transaction_is_replaced_with_a_bumped_fee() -> eyre::Result<()> {
    let mut anvil = Anvil::new().port(0u16).arg("--no-mining");
    if let Some(path) = anvil_path() {
        anvil = anvil.path(path);
    }
    let anvil = anvil.try_spawn()?;
    let key = PrivateKeySigner::from(anvil.keys()[3].clone());
    let provider = ProviderBuilder::new()
        .connect_http(anvil.endpoint_url())
        .erased();
    let before = provider.get_balance(key.address()).await?;

    let dir = tempfile::tempdir()?;
    let store = Store::connect(&format!("sqlite://{}", dir.path().join("s.db").display())).await?;
    store.migrate().await?;
    let counts = Arc::new(Counts::default());
    let submitter = Submitter::new(
        SubmitConfig {
            chain: Chain::Main,
            chain_id: anvil.chain_id(),
            max_fee_per_gas: 100_000_000_000,
            tx_timeout: Duration::from_millis(700),
            fee_bump_percent: 20,
            max_in_flight: 4,
            poll_interval: Duration::from_millis(50),
            drain_timeout: Duration::from_secs(5),
            confirmations: 2,
        },
        RpcSink::new(provider.clone()),
        key.clone(),
        store.clone(),
        counts.clone(),
    );
    let shutdown = CancellationToken::new();
    let (handle, task) = submitter.spawn(shutdown.clone());
    let request = TxRequest {
        kind: TxKind::Release,
        to: Address::repeat_byte(0x42),
        input: Bytes::new(),
        transfers: vec![],
    };
    // enqueueing returns at once: the submitter owns the work from here
    handle.enqueue(request).await?;

    // nothing is mined until two replacements went out
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while counts.replaced.load(Ordering::SeqCst) < 2 {
        eyre::ensure!(
            tokio::time::Instant::now() < deadline,
            "no replacement was sent"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    provider.anvil_mine(Some(1), None).await?;
    // settled: charged and closed (a request serving no transfer is never "in flight")
    while counts.mined.load(Ordering::SeqCst) == 0 {
        eyre::ensure!(tokio::time::Instant::now() < deadline, "never settled");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shutdown.cancel();
    task.await?.map_err(|e| eyre::eyre!(e))?;
    let costs = store.cost_entries().await?;
    eyre::ensure!(costs.len() == 1, "{costs:?}");
    let tx_hash = costs[0].tx_hash;

    // one transaction mined, the others replaced; the fee rose with every attempt
    let receipt = provider
        .get_transaction_receipt(tx_hash)
        .await?
        .ok_or_else(|| eyre::eyre!("no receipt"))?;
    assert_eq!(counts.sent.load(Ordering::SeqCst), 1);
    assert_eq!(counts.mined.load(Ordering::SeqCst), 1);
    let statuses = store.attempt_counts().await?;
    let count = |status| {
        statuses
            .iter()
            .filter(|(_, s, _)| *s == status)
            .map(|(_, _, n)| *n)
            .sum::<i64>()
    };
    assert_eq!(count(AttemptStatus::Mined), 1);
    assert!(count(AttemptStatus::Replaced) >= 2, "{statuses:?}");
    assert_eq!(count(AttemptStatus::Pending), 0, "{statuses:?}");

    // the ledger holds exactly what the account paid
    let after = provider.get_balance(key.address()).await?;
    assert_eq!(store.total_cost(Chain::Main).await?, before - after);
    assert_eq!(
        before - after,
        U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price)
    );
    Ok(())
}
