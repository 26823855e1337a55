//! `relayer costs --fees`: the fees a validator's ledger saw against the gas it paid, per token
//! and direction, and the break-even fee as a proposal to copy.

use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use sidebridge_anvil_tests::{
    SystemSpec, await_until,
    relayers::{self, NodeOptions, relayer_binary},
};
use sidebridge_relayer::{
    domain::{Chain, Direction},
    ledger::fees::direction_of,
    store::Store,
};

use crate::relay::{Bridge, tokens};

#[tokio::test(flavor = "multi_thread")]
async fn costs_fees_sets_fees_against_relay_costs_and_proposes_the_break_even_fee()
-> eyre::Result<()> {
    let spec = SystemSpec {
        fee_bps: 10,
        ..SystemSpec::default()
    };
    let options = NodeOptions {
        token_price: Some("0.001"),
        ..NodeOptions::default()
    };
    let mut bridge = Bridge::start_spec(spec, options).await?;
    bridge.start_nodes().await?;
    // 3 deposits of 10 (0.01 fee each), 2 withdrawals of 5 (0.005 each)
    bridge
        .deposit_landed(3, tokens(10), tokens(2_997) / U256::from(100u64))
        .await?;
    let recipient = Address::repeat_byte(0x7e);
    bridge.withdraw_many(2, tokens(5), recipient).await?;
    bridge
        .await_main(
            recipient,
            tokens(999) / U256::from(100u64),
            Duration::from_secs(90),
        )
        .await?;
    // the running node compares the day's fees with the set's costs: far below break-even
    for direction in ["deposit", "withdrawal"] {
        let series = format!("sidebridge_fee_coverage_ratio{{direction=\"{direction}\"}}");
        let port = bridge.nodes[0].http_port;
        let ratio = await_until(Duration::from_secs(30), "the fee coverage gauge", || {
            let series = series.clone();
            async move {
                let v = relayers::metric(port, &series).await;
                Ok((v.is_finite() && v > 0.0).then_some(v))
            }
        })
        .await?;
        assert!(ratio < 1.0, "{direction}: {ratio}");
    }
    bridge.stop_all().await?;

    let node = &bridge.nodes[0];
    let demo = bridge.sys.main_token;
    let out = tokio::process::Command::new(relayer_binary()?)
        .arg("costs")
        .arg("--config")
        .arg(&node.config_path)
        .args(["--fees", "--format", "json", "--price"])
        .arg(format!("{demo}=0.001"))
        .output()
        .await?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    eyre::ensure!(out.status.success(), "relayer costs --fees: {stderr}");
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout)?;

    // the same sums, straight from the ledger
    let store = Store::connect(&node.database_url).await?;
    let costs = store.cost_entries().await?;
    let gas = |direction: Direction, chain: Chain| -> U256 {
        costs
            .iter()
            .filter(|c| c.transfer_id != B256::ZERO)
            .filter(|c| direction_of(c.kind) == direction && c.chain == chain)
            .map(|c| c.cost_wei)
            .sum()
    };
    for (direction, transfers, fees) in [
        (Direction::Deposit, 3u64, tokens(3) / U256::from(100u64)),
        (Direction::Withdrawal, 2, tokens(1) / U256::from(100u64)),
    ] {
        let row = rows
            .iter()
            .find(|r| r["direction"] == direction.as_str())
            .ok_or_else(|| eyre::eyre!("no {direction:?} row: {rows:?}"))?;
        assert_eq!(row["symbol"], "DEMO");
        assert_eq!(row["transfers"], transfers);
        assert_eq!(row["fees"], fees.to_string());
        let (main, side) = (gas(direction, Chain::Main), gas(direction, Chain::Side));
        assert_eq!(row["gasMainWei"], main.to_string());
        assert_eq!(row["gasSideWei"], side.to_string());
        assert!(
            main + side > U256::ZERO,
            "{direction:?} cost nothing: {row}"
        );
        // 3 validators each paying about this much, side coin at par, 1 DEMO = 0.001 ETH
        let set_cost = ((main + side) * U256::from(3u64)).div_ceil(U256::from(transfers));
        let break_even = (set_cost * tokens(1)).div_ceil(tokens(1) / U256::from(1_000u64));
        assert_eq!(row["breakEvenFee"], break_even.to_string());
        // 0.01 DEMO per deposit does not pay for ~100k gas three times at 0.001 ETH a DEMO
        let proposal = row["proposal"]
            .as_str()
            .expect("fees fall short: a proposal");
        let chain = if direction == Direction::Deposit {
            "main"
        } else {
            "side"
        };
        assert!(
            proposal.contains(&format!("bridgectl propose --chain {chain} set-fees 0x")),
            "{proposal}"
        );
        assert!(proposal.contains("--bps 10 --flat "), "{proposal}");
    }
    Ok(())
}
