//! A side chain that charges no gas (the platform's side chains: base fee 0, gas priced at 0,
//! while its node still suggests a 1 gwei tip). Validators that
//! hold no coin there vote, mint and sign; a holder that holds none burns with the CLI; the
//! side chain's ledger charges 0 wei for every transaction it records there, and readiness asks
//! no gas runway of that chain (nor does the runway alert's gauge).

use std::time::Duration;

use alloy::{primitives::U256, providers::ext::AnvilApi};
use eyre::ensure;
use sidebridge_anvil_tests::{
    SystemSpec, await_until,
    holder::HolderCli,
    relayers::{NodeOptions, http_get},
    tokens,
};
use sidebridge_relayer::{domain::Chain, store::Store};

use crate::relay::Bridge;

#[tokio::test]
async fn a_side_chain_that_charges_no_gas_needs_no_coin_from_validators_or_holders()
-> eyre::Result<()> {
    let spec = SystemSpec {
        side_no_gas: true,
        ..SystemSpec::default()
    };
    let mut bridge = Bridge::start_spec(spec, NodeOptions::default()).await?;
    let sys = &bridge.sys;
    let holder = sys.holder.address();
    // anvil funds its dev accounts: the holder holds nothing on the side chain either
    sys.side_as(&sys.deployer)
        .anvil_set_balance(holder, U256::ZERO)
        .await?;
    for v in &sys.validators {
        ensure!(sys.native_balance(false, v.address()).await? == U256::ZERO);
    }
    bridge.start_nodes().await?;
    let sys = &bridge.sys;

    // ready on the side chain with no coin, though the config asks a runway of 0.1: the
    // runway gauge the alert compares with is 0 there
    for node in &bridge.nodes {
        let port = node.http_port;
        await_until(
            Duration::from_secs(30),
            "ready, with no runway on the side chain",
            || async move {
                let (code, _) = http_get(port, "/readyz").await;
                let (_, metrics) = http_get(port, "/metrics").await;
                let runway: Option<f64> = metrics
                    .lines()
                    .find_map(|l| l.strip_prefix("sidebridge_gas_runway_wei{chain=\"side\"} "))
                    .and_then(|v| v.trim().parse().ok());
                Ok((code == 200 && runway == Some(0.0)).then_some(()))
            },
        )
        .await?;
    }

    let dir = tempfile::tempdir()?;
    let cli = HolderCli::new(sys, dir.path(), &sys.holder, 2)?;
    let run = cli
        .run(&["deposit", "DEMO", "5", "--json", "--timeout", "120"])
        .await?;
    ensure!(run.code == 0, "{}", run.stderr);
    ensure!(run.json()?["state"] == "landed", "{}", run.stdout);
    // the holder burns on the side chain holding no coin there
    let run = cli
        .run(&["withdraw", "wDEMO", "2", "--json", "--timeout", "120"])
        .await?;
    ensure!(run.code == 0, "{}", run.stderr);
    ensure!(run.json()?["state"] == "landed", "{}", run.stdout);
    ensure!(bridge.wrapped_balance(holder).await? == tokens(3));
    ensure!(sys.native_balance(false, holder).await? == U256::ZERO);

    bridge.stop_all().await?;
    let mut side_entries = 0;
    for node in &bridge.nodes {
        ensure!(
            bridge.sys.native_balance(false, node.address).await? == U256::ZERO,
            "the validator holds no coin on the side chain"
        );
        let store = Store::connect(&node.database_url).await?;
        let side: Vec<_> = store
            .cost_entries()
            .await?
            .into_iter()
            .filter(|e| e.chain == Chain::Side)
            .collect();
        ensure!(
            side.iter().all(|e| e.cost_wei == U256::ZERO),
            "side chain charges: {side:?}"
        );
        side_entries += side.len();
    }
    ensure!(
        side_entries > 0,
        "the side chain's transactions are in the ledger, at 0 wei"
    );
    bridge.assert_ledgers_reconcile().await
}
