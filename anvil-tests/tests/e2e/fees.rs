//! `relayer costs --fees`: the fees a validator's ledger saw against the gas it paid, per token
//! and direction, and the break-even fee as a proposal to copy; governance copies it and the
//! next transfers pay it.

use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use sidebridge_anvil_tests::{
    System, SystemSpec, await_until,
    binaries::relayer_binary,
    relayers::{self, NodeOptions},
};
use sidebridge_contracts::bindings::Operational;
use sidebridge_relayer::{
    domain::{Chain, Direction},
    ledger::fees::direction_of,
    store::Store,
};

use crate::{
    governance::{Ctl, travel},
    relay::{Bridge, tokens},
};

/// Fees far below the relay costs: the report matches the ledger to the wei and proposes the
/// break-even fee per direction; members run that proposal as printed, and the next deposit and
/// withdrawal pay it.
#[tokio::test(flavor = "multi_thread")]
async fn costs_fees_sets_fees_against_relay_costs_and_proposes_the_break_even_fee()
-> eyre::Result<()> {
    let spec = SystemSpec {
        fee_bps: 10,
        ..SystemSpec::default()
    };
    let timelock = spec.timelock_delay;
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
    let mut suggestions = Vec::new();
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
        assert_eq!(row["currentFee"]["bps"], 10);
        assert_eq!(row["currentFee"]["flat"], "0");
        assert_eq!(row["currentFee"]["max"], "0", "no cap to keep");
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
        suggestions.push((direction, break_even, proposal.to_string()));
    }

    // a member takes each suggestion as printed, a second votes, the timelock passes, a third
    // executes
    let sys = &bridge.sys;
    let [a, b, c] = [&sys.members[0], &sys.members[1], &sys.members[2]];
    let ctl = Ctl::new(sys)?;
    let mut ids = Vec::new();
    for (direction, _, proposal) in &suggestions {
        let (chain, local) = source_of(sys, *direction);
        let args = bridgectl_args(proposal)?;
        let ["propose", "--chain", on, action @ ..] = args.as_slice() else {
            eyre::bail!("not a proposal: {proposal}");
        };
        assert_eq!(*on, chain, "{proposal}");
        let ["set-fees", token, "--bps", "10", "--flat", _] = action else {
            eyre::bail!("not the break-even fee at today's bps: {proposal}");
        };
        assert_eq!(token.parse::<Address>()?, local, "{proposal}");
        ids.extend(ctl.propose(a, on, action).await?);
    }
    assert_eq!(ids.len(), 2, "{ids:?}");
    for (_, id) in &ids {
        ctl.ok(Some(b), &["vote", id, "--yes"]).await?;
    }
    travel(sys, timelock + 1).await?;
    for (_, id) in &ids {
        ctl.ok(Some(c), &["execute", id, "--yes"]).await?;
    }

    // each source chain now charges the break-even fee flat, beside the unchanged bps
    for (direction, break_even, _) in &suggestions {
        let (chain, local) = source_of(sys, *direction);
        let (provider, operational) = match direction {
            Direction::Deposit => (sys.main_as(a), sys.deployment.main.operational),
            Direction::Withdrawal => (sys.side_as(a), sys.deployment.side.operational),
        };
        let cfg = Operational::new(operational, &provider)
            .tokenConfig(local)
            .call()
            .await?;
        assert_eq!(cfg.flatFee, *break_even, "{chain}");
        assert_eq!(cfg.feeBps, 10, "{chain}");
        assert_eq!(cfg.maxFee, U256::ZERO, "{chain}");
    }

    // and the next transfer each way pays it at its source (no relaying needed): flat + amount ×
    // 10 / 10,000 to the fee recipient
    let fee_of = |direction: Direction, amount: U256| {
        let (_, flat, _) = suggestions
            .iter()
            .find(|(d, _, _)| *d == direction)
            .expect("both directions were suggested");
        *flat + amount * U256::from(10u64) / U256::from(10_000u64)
    };
    let recipient_main = bridge.main_balance(sys.fee_recipient).await?;
    bridge.deposit_many(1, tokens(1_000)).await?;
    assert_eq!(
        bridge.main_balance(sys.fee_recipient).await? - recipient_main,
        fee_of(Direction::Deposit, tokens(1_000))
    );
    let recipient_side = bridge.wrapped_balance(sys.fee_recipient).await?;
    // all the user still holds (19.97 DEMO): the flat fee must stay under the 10% cap
    let amount = bridge.wrapped_balance(bridge.user.address()).await?;
    bridge
        .withdraw_many(1, amount, Address::repeat_byte(0x7f))
        .await?;
    assert_eq!(
        bridge.wrapped_balance(sys.fee_recipient).await? - recipient_side,
        fee_of(Direction::Withdrawal, amount)
    );
    Ok(())
}

/// The chain a direction's transfers leave from (where its fee is charged) and the token's
/// address there.
fn source_of(sys: &System, direction: Direction) -> (&'static str, Address) {
    match direction {
        Direction::Deposit => ("main", sys.main_token),
        Direction::Withdrawal => ("side", sys.wrapped_token),
    }
}

/// The arguments of a printed proposal's `bridgectl` line (it follows a `#` comment), split as
/// a shell would split them: the line holds nothing a shell would unquote or expand.
fn bridgectl_args(proposal: &str) -> eyre::Result<Vec<&str>> {
    let line = proposal
        .lines()
        .find(|l| !l.trim_start().starts_with('#'))
        .ok_or_else(|| eyre::eyre!("no command in {proposal:?}"))?;
    eyre::ensure!(
        !line.contains(['\'', '"', '\\', '$', '`', ';', '|', '&', '*']),
        "not a plain shell line: {line}"
    );
    let mut words = line.split_whitespace();
    eyre::ensure!(words.next() == Some("bridgectl"), "not bridgectl: {line}");
    Ok(words.collect())
}
