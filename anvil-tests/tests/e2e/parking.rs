//! Transfers whose action keeps failing are parked and never hold up the others; a stalled
//! deposit mints once its cause is gone.

use std::time::Duration;

use alloy::{
    primitives::{Address, U256},
    providers::{ProviderBuilder, ext::AnvilApi},
    sol_types::SolEvent,
};
use sidebridge_anvil_tests::{
    SystemSpec, await_until,
    relayers::{NodeOptions, metric},
};
use sidebridge_contracts::bindings::{BlockableToken, MainBridge, SideBridge};

use crate::relay::{Bridge, tokens};

/// 1,001 withdrawals to a recipient the token refuses (as a stablecoin's blocklist does), then
/// one to a normal recipient. The planner's window is 500 transfers, so without parking the
/// refused ones would fill it for ever; parked, they step aside and the last one lands.
#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_unreleasable_withdrawals_never_hold_up_the_next() -> eyre::Result<()> {
    let spec = SystemSpec {
        blockable_token: true,
        ..SystemSpec::default()
    };
    let options = NodeOptions {
        transfers_per_round: 500,
        ..NodeOptions::default()
    };
    let mut bridge = Bridge::start_spec(spec, options).await?;
    bridge.start_nodes().await?;
    bridge
        .deposit_landed(1, tokens(1_010), tokens(1_010))
        .await?;

    let refused = Address::repeat_byte(0xB1);
    let main = bridge.sys.main_as(&bridge.sys.holder);
    BlockableToken::new(bridge.sys.main_token, &main)
        .setBlocked(refused, true)
        .send()
        .await?
        .get_receipt()
        .await?;

    // sent one after another without waiting for each receipt
    let side = bridge.sys.side_as(&bridge.user);
    let side_bridge = SideBridge::new(bridge.sys.deployment.side.bridge, &side);
    let normal = Address::repeat_byte(0xB2);
    let mut last = None;
    for n in 0..1_002 {
        let to = if n < 1_001 { refused } else { normal };
        last = Some(
            side_bridge
                .burn(bridge.sys.wrapped_token, tokens(1), to)
                .send()
                .await?,
        );
    }
    let receipt = last.expect("sent").get_receipt().await?;
    eyre::ensure!(receipt.status(), "the last burn reverted");

    bridge
        .await_main(normal, tokens(1), Duration::from_secs(600))
        .await?;
    assert_eq!(bridge.main_balance(refused).await?, U256::ZERO);
    let mut parked = 0.0;
    for node in &bridge.nodes {
        parked += metric(
            node.http_port,
            "sidebridge_transfers_parked{direction=\"withdrawal\"}",
        )
        .await;
        assert!(
            node.log().contains("parked: acted on again and again"),
            "{}",
            node.log()
        );
    }
    assert!(parked > 0.0, "{parked}");
    bridge.assert_landed_once(1, 1).await?;
    bridge.stop_all().await?;
    bridge.assert_ledgers_reconcile().await
}

/// A deposit that reaches its votes while the inbound cap is used up stalls (`DepositStalled`);
/// once the window refills, a relayer executes it (`executeDeposit`), and it lands once.
#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_deposit_mints_once_its_cause_is_gone() -> eyre::Result<()> {
    let spec = SystemSpec {
        inbound_cap: 10,
        large_amount: 10,
        ..SystemSpec::default()
    };
    let mut bridge = Bridge::start_spec(spec, NodeOptions::default()).await?;
    bridge.start_nodes().await?;
    let user = bridge.user.address();
    bridge.deposit_landed(1, tokens(8), tokens(8)).await?;

    bridge.deposit_many(1, tokens(5)).await?;
    await_stall(&bridge).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        bridge.wrapped_balance(user).await?,
        tokens(8),
        "a stalled deposit mints nothing"
    );

    // a day later the window has room again
    let side = ProviderBuilder::new().connect_http(bridge.sys.side.endpoint_url());
    side.anvil_increase_time(86_400).await?;
    side.anvil_mine(Some(1), None).await?;
    bridge
        .await_wrapped(user, tokens(13), Duration::from_secs(120))
        .await?;
    bridge.assert_landed_once(2, 0).await?;
    let locked = bridge
        .count_events(true, MainBridge::Locked::SIGNATURE_HASH)
        .await?;
    assert_eq!(locked, 2);
    bridge.stop_all().await?;
    // it was minted by an executeDeposit, charged to the deposit in that relayer's ledger
    let mut executed = 0;
    for node in &bridge.nodes {
        let store = sidebridge_relayer::store::Store::connect(&node.database_url).await?;
        executed += store
            .cost_entries()
            .await?
            .iter()
            .filter(|c| c.kind == sidebridge_relayer::domain::TxKind::ExecuteDeposit)
            .count();
    }
    assert_eq!(executed, 1, "one executeDeposit mined");
    bridge.assert_ledgers_reconcile().await
}

/// Governance unmaps the wrapped token on the side chain: a deposit reaches its votes and
/// stalls (`TokenNotMapped`), the relayers' tries of `executeDeposit` revert when priced and
/// cost nothing; governance maps it again, and the deposit mints, once.
#[tokio::test(flavor = "multi_thread")]
async fn a_deposit_stalled_on_an_unmapped_token_mints_once_it_is_mapped() -> eyre::Result<()> {
    use crate::governance::{Ctl, travel};
    let mut bridge = Bridge::start(3, 2, NodeOptions::default()).await?;
    bridge.start_nodes().await?;
    let ctl = Ctl::new(&bridge.sys)?;
    let m = &bridge.sys.members;
    let user = bridge.user.address();
    let (main_token, wrapped) = (
        bridge.sys.main_token.to_string(),
        bridge.sys.wrapped_token.to_string(),
    );
    let vote_and_run = |ids: Vec<(String, String)>| {
        let (ctl, sys) = (&ctl, &bridge.sys);
        async move {
            for (_, id) in &ids {
                ctl.ok(Some(&m[1]), &["vote", id, "--yes"]).await?;
            }
            travel(sys, 3_601).await?;
            for (_, id) in &ids {
                ctl.ok(Some(&m[2]), &["execute", id, "--yes"]).await?;
            }
            eyre::Ok(())
        }
    };
    let ids = ctl
        .propose(&m[0], "side", &["unmap-token", &wrapped])
        .await?;
    vote_and_run(ids).await?;

    bridge.deposit_many(1, tokens(3)).await?;
    await_stall(&bridge).await?;
    assert_eq!(bridge.wrapped_balance(user).await?, tokens(0));

    let map = [
        "map-token",
        "--main-token",
        &main_token,
        "--wrapped-token",
        &wrapped,
    ];
    let ids = ctl.propose(&m[0], "side", &map).await?;
    vote_and_run(ids).await?;
    bridge
        .await_wrapped(user, tokens(3), Duration::from_secs(120))
        .await?;
    bridge.assert_landed_once(1, 0).await?;
    bridge.stop_all().await?;
    bridge.assert_ledgers_reconcile().await
}

/// Waits until the side bridge reports a deposit stalled (votes in, not minted).
async fn await_stall(bridge: &Bridge) -> eyre::Result<()> {
    await_until(Duration::from_secs(60), "a deposit to stall", || async {
        let stalled = bridge
            .count_events(false, SideBridge::DepositStalled::SIGNATURE_HASH)
            .await?;
        Ok((stalled > 0).then_some(()))
    })
    .await
}
