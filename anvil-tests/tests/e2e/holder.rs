//! The holder CLI (`sidebridge`) as a holder uses it: bridge both ways and watch it land,
//! look transfers up, list them, claim a release oneself; and every refusal, which must say
//! why, exit with its own code and send nothing.

use std::time::Duration;

use alloy::{
    primitives::{Address, B256, U256},
    providers::{Provider, ProviderBuilder, ext::AnvilApi},
    rpc::types::Filter,
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::SolEvent,
};
use sidebridge_anvil_tests::{
    System, SystemSpec, await_until, dev_key, holder::HolderCli, relayers::NodeOptions, tokens,
};
use sidebridge_contracts::{
    Transfer,
    bindings::{DemoToken, IERC20Metadata, MainBridge, Operational, SideBridge},
};

use crate::relay::Bridge;

fn hash(v: &serde_json::Value) -> B256 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{v} is not a hash"))
}

async fn nonce_of(sys: &System, main: bool, account: Address) -> eyre::Result<u64> {
    let anvil = if main { &sys.main } else { &sys.side };
    Ok(ProviderBuilder::new()
        .connect_http(anvil.endpoint_url())
        .get_transaction_count(account)
        .await?)
}

#[tokio::test]
async fn a_holder_deposits_and_withdraws_and_follows_both_with_the_cli() -> eyre::Result<()> {
    let spec = SystemSpec {
        fee_bps: 10,
        ..SystemSpec::default()
    };
    let mut bridge = Bridge::start_spec(spec, NodeOptions::default()).await?;
    bridge.start_nodes().await?;
    let sys = &bridge.sys;
    let dir = tempfile::tempdir()?;
    let cli = HolderCli::new(sys, dir.path(), &sys.holder, 2)?;
    let holder = sys.holder.address();
    let main_nonce = nonce_of(sys, true, holder).await?;

    // deposit: the token has EIP-2612, so one transaction approves and locks
    let run = cli
        .run(&["deposit", "DEMO", "5", "--json", "--timeout", "120"])
        .await?;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("approving by permit"), "{}", run.stderr);
    assert!(run.stderr.contains("validator votes"), "{}", run.stderr);
    let deposit = run.json()?;
    assert_eq!(deposit["state"], "landed");
    assert_eq!(deposit["direction"], "deposit");
    assert_eq!(deposit["amount"], "4.995");
    assert_eq!(deposit["fee"], "0.005");
    assert_eq!(nonce_of(sys, true, holder).await? - main_nonce, 1);
    let side = sys.side_as(&sys.holder);
    assert_eq!(
        System::balance(&side, sys.wrapped_token, holder).await?,
        tokens(4_995) / U256::from(1_000u64)
    );
    // the destination transaction named is the one that minted this id
    let id = hash(&deposit["id"]);
    let minted = side
        .get_logs(
            &Filter::new()
                .address(sys.deployment.side.bridge)
                .event_signature(SideBridge::DepositExecuted::SIGNATURE_HASH)
                .topic2(id)
                .from_block(0),
        )
        .await?;
    assert_eq!(minted.len(), 1);
    assert_eq!(
        hash(&deposit["destination"]["tx"]),
        minted[0].transaction_hash.expect("mined log")
    );

    // withdrawal of part of it
    let main = sys.main_as(&sys.holder);
    let before = System::balance(&main, sys.main_token, holder).await?;
    let run = cli
        .run(&["withdraw", "wDEMO", "2", "--json", "--timeout", "120"])
        .await?;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let withdrawal = run.json()?;
    assert_eq!(withdrawal["state"], "landed");
    assert_eq!(withdrawal["amount"], "1.998");
    assert_eq!(
        System::balance(&main, sys.main_token, holder).await? - before,
        tokens(1_998) / U256::from(1_000u64)
    );

    // status: by source tx, by id and by destination tx, all the same transfer
    for key in [
        deposit["source"]["tx"].as_str().expect("tx"),
        deposit["id"].as_str().expect("id"),
        deposit["destination"]["tx"].as_str().expect("tx"),
    ] {
        let run = cli.run(&["status", key, "--json"]).await?;
        assert_eq!(run.code, 0, "{}", run.stderr);
        let status = run.json()?;
        assert_eq!(status["id"], deposit["id"], "status {key}");
        assert_eq!(status["state"], "landed");
        assert_eq!(status["destination"]["tx"], deposit["destination"]["tx"]);
        assert_eq!(status["source"]["block"], deposit["source"]["block"]);
    }
    let human = cli
        .run(&["status", withdrawal["source"]["tx"].as_str().expect("tx")])
        .await?;
    assert_eq!(human.code, 0);
    assert!(
        human.stdout.contains("state      landed"),
        "{}",
        human.stdout
    );
    assert!(
        human.stdout.contains("1.998 DEMO (fee 0.002)"),
        "{}",
        human.stdout
    );

    // an unknown hash is a refusal of its own
    let unknown = cli
        .run(&["status", &B256::repeat_byte(0x42).to_string(), "--json"])
        .await?;
    assert_eq!(unknown.code, 19, "{}", unknown.stderr);
    assert_eq!(unknown.json()?["refused"], "not_found");

    // history: both, newest first; pages of one
    let run = cli.run(&["history", "--json"]).await?;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let h = run.json()?;
    assert_eq!(h["total"], 2);
    assert_eq!(h["transfers"][0]["id"], withdrawal["id"]);
    assert_eq!(h["transfers"][1]["id"], deposit["id"]);
    assert_eq!(h["transfers"][0]["state"], "landed");
    assert_eq!(h["transfers"][1]["state"], "landed");
    let run = cli
        .run(&["history", "--json", "--page", "2", "--per-page", "1"])
        .await?;
    let page = run.json()?;
    assert_eq!(page["pages"], 2);
    assert_eq!(page["transfers"].as_array().map(Vec::len), Some(1));
    assert_eq!(page["transfers"][0]["id"], deposit["id"]);
    // someone else's history is readable without their key
    let other = cli
        .with_key(dir.path(), &PrivateKeySigner::random())?
        .run(&["history", &holder.to_string(), "--json"])
        .await?;
    assert_eq!(other.json()?["total"], 2);
    Ok(())
}

#[tokio::test]
async fn every_refusal_says_why_exits_with_its_own_code_and_sends_nothing() -> eyre::Result<()> {
    let sys = System::start(SystemSpec {
        min_amount: 1,
        max_amount: 1_000,
        window_cap: 2_000,
        ..SystemSpec::default()
    })
    .await?;
    let dir = tempfile::tempdir()?;
    let cli = HolderCli::new(&sys, dir.path(), &sys.holder, 2)?;
    let d = &sys.deployment;
    let main = sys.main_as(&sys.holder);

    let demo = IERC20Metadata::new(sys.main_token, &main);
    // keys: one with ETH and no DEMO, one with DEMO and no ETH
    let no_demo = PrivateKeySigner::random();
    let no_eth = PrivateKeySigner::random();
    let admin = ProviderBuilder::new().connect_http(sys.main.endpoint_url());
    admin
        .anvil_set_balance(no_demo.address(), tokens(1))
        .await?;
    demo.transfer(no_eth.address(), tokens(10))
        .send()
        .await?
        .get_receipt()
        .await?;
    // a token nobody mapped
    let unmapped = *DemoToken::deploy(&main, "Other".into(), "OTH".into(), 18, tokens(100))
        .await?
        .address();
    let unmapped = unmapped.to_string();

    let holder_nonce = nonce_of(&sys, true, sys.holder.address()).await?;
    let cases: Vec<(HolderCli, Vec<&str>, i32, &str, &str)> = vec![
        (
            cli.clone(),
            vec!["deposit", "DEMO", "0.5"],
            10,
            "below_minimum",
            "below the minimum: 0.5 DEMO is less than the 1 DEMO",
        ),
        (
            cli.clone(),
            vec!["deposit", "DEMO", "1001"],
            11,
            "above_maximum",
            "above the maximum: 1001 DEMO is more than the 1000 DEMO",
        ),
        (
            cli.clone(),
            vec!["deposit", &unmapped, "1"],
            14,
            "unmapped_token",
            "is not mapped for bridging on the main chain",
        ),
        (
            cli.with_key(dir.path(), &no_demo)?,
            vec!["withdraw", "wDEMO", "5"],
            15,
            "insufficient_balance",
            "insufficient balance: 5 wDEMO needed, the wallet holds 0 wDEMO",
        ),
        (
            cli.with_key(dir.path(), &no_eth)?,
            vec!["deposit", "DEMO", "5"],
            16,
            "insufficient_gas",
            "insufficient gas: about",
        ),
    ];
    for (who, args, code, kind, words) in &cases {
        let mut args = args.clone();
        args.push("--json");
        let run = who.run(&args).await?;
        assert_eq!(run.code, *code, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(words), "{args:?}: {}", run.stderr);
        let v = run.json()?;
        assert_eq!(v["refused"], *kind);
        assert_eq!(v["exitCode"], *code);
    }
    assert_eq!(
        nonce_of(&sys, true, sys.holder.address()).await?,
        holder_nonce
    );

    // someone else fills the window: 2 x 1,000
    let filler = dev_key(&sys.main, 8);
    demo.transfer(filler.address(), tokens(2_000))
        .send()
        .await?
        .get_receipt()
        .await?;
    let filler_main = sys.main_as(&filler);
    IERC20Metadata::new(sys.main_token, &filler_main)
        .approve(d.main.bridge, tokens(2_000))
        .send()
        .await?
        .get_receipt()
        .await?;
    for _ in 0..2 {
        MainBridge::new(d.main.bridge, &filler_main)
            .lock(sys.main_token, tokens(1_000), filler.address())
            .send()
            .await?
            .get_receipt()
            .await?;
    }

    let holder_nonce = nonce_of(&sys, true, sys.holder.address()).await?;
    // the window frees in about 6 h (500 of a 2,000-per-day bucket)
    let full = cli.run(&["deposit", "DEMO", "500", "--json"]).await?;
    assert_eq!(full.code, 12, "{}", full.stderr);
    assert!(
        full.stderr
            .contains("the window cap is full: 0 DEMO may leave now; the amount fits in about 6 h"),
        "{}",
        full.stderr
    );
    assert_eq!(full.json()?["refused"], "window_cap_full");

    // a guardian pauses the main bridge: deposits are refused
    Operational::new(d.main.operational, sys.main_as(&sys.guardian))
        .pause()
        .send()
        .await?
        .get_receipt()
        .await?;
    let paused = cli.run(&["deposit", "DEMO", "5", "--json"]).await?;
    assert_eq!(paused.code, 13, "{}", paused.stderr);
    assert!(paused.stderr.contains("the main bridge is paused"));

    // nothing was sent by anyone refused
    assert_eq!(
        nonce_of(&sys, true, sys.holder.address()).await?,
        holder_nonce
    );
    assert_eq!(nonce_of(&sys, true, no_eth.address()).await?, 0);
    assert_eq!(nonce_of(&sys, false, no_demo.address()).await?, 0);
    Ok(())
}

/// Burns `amount` wDEMO with the CLI without waiting; returns the transfer's JSON.
async fn burn(cli: &HolderCli, amount: &str) -> eyre::Result<serde_json::Value> {
    let run = cli
        .run(&["withdraw", "wDEMO", amount, "--json", "--no-wait"])
        .await?;
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json()
}

#[tokio::test]
async fn a_holder_claims_a_withdrawal_the_relayers_signed_but_did_not_release() -> eyre::Result<()>
{
    let mut bridge = Bridge::start_spec(SystemSpec::default(), NodeOptions::default()).await?;
    bridge.start_nodes().await?;
    let dir = tempfile::tempdir()?;
    let cli = HolderCli::new(&bridge.sys, dir.path(), &bridge.sys.holder, 2)?;
    let run = cli
        .run(&["deposit", "DEMO", "10", "--json", "--timeout", "120"])
        .await?;
    assert_eq!(run.code, 0, "{}", run.stderr);

    // the relayers can no longer pay for anything on the main chain: they sign on the side
    // chain, and nobody releases
    let sys = &bridge.sys;
    let admin = ProviderBuilder::new().connect_http(sys.main.endpoint_url());
    for v in &sys.validators {
        admin.anvil_set_balance(v.address(), U256::ZERO).await?;
    }
    let w = burn(&cli, "4").await?;
    let source_tx = w["source"]["tx"].as_str().expect("tx").to_string();
    let signed = await_until(Duration::from_secs(60), "the relayers' signatures", || {
        let cli = cli.clone();
        let tx = source_tx.clone();
        async move {
            let status = cli.run(&["status", &tx, "--json"]).await?.json()?;
            Ok((status["state"] == "releasable").then_some(status))
        }
    })
    .await?;
    assert_eq!(signed["approvals"]["ready"], true);
    assert!(signed["approvals"]["have"].as_u64() >= Some(2), "{signed}");
    for node in &mut bridge.nodes {
        node.stop().await?;
    }

    // the holder releases it, by the burn's transaction hash
    let main = sys.main_as(&sys.holder);
    let before = System::balance(&main, sys.main_token, sys.holder.address()).await?;
    let claimed = cli.run(&["claim", &source_tx, "--json"]).await?;
    assert_eq!(claimed.code, 0, "{}", claimed.stderr);
    assert_eq!(claimed.json()?["state"], "landed");
    assert_eq!(
        System::balance(&main, sys.main_token, sys.holder.address()).await? - before,
        tokens(4)
    );
    let again = cli.run(&["claim", &source_tx, "--json"]).await?;
    assert_eq!(again.code, 18, "{}", again.stderr);
    assert!(again.stderr.contains("already released in 0x"));
    assert_eq!(again.json()?["refused"], "already_released");

    // with the relayers stopped, one validator's signature is not enough
    let w = burn(&cli, "1").await?;
    let id = hash(&w["id"]);
    let burned = sys
        .side_as(&sys.holder)
        .get_transaction_receipt(hash(&w["source"]["tx"]))
        .await?
        .and_then(|r| r.decoded_log::<SideBridge::Burned>())
        .expect("the burn's receipt")
        .data;
    let t = Transfer::from_burned(
        &burned,
        sidebridge_anvil_tests::SIDE_CHAIN_ID,
        sys.deployment.side.bridge,
    );
    let v = &sys.validators[0];
    let sig = v.sign_hash_sync(&id)?;
    SideBridge::new(sys.deployment.side.bridge, sys.side_as(v))
        .submitSignatures(vec![t.into()], sig.as_bytes().to_vec().into())
        .send()
        .await?
        .get_receipt()
        .await?;
    let early = cli.run(&["claim", &id.to_string(), "--json"]).await?;
    assert_eq!(early.code, 17, "{}", early.stderr);
    assert!(
        early
            .stderr
            .contains("1 of the 2 validator signatures needed are published (1 missing)"),
        "{}",
        early.stderr
    );
    assert_eq!(early.json()?["refused"], "not_ready");
    Ok(())
}
