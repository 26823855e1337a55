//! The holder CLI on a hub with two side chains, `alpha` and `beta`, each route relayed by two
//! of its validators: `--from`/`--to` name the chains; a deposit to alpha, a chained transfer
//! alpha → main → beta followed through both legs in one command, a withdrawal from alpha;
//! `status` finds the chained transfer on whichever route it started and shows both legs,
//! `history` lists it as one row; a chained transfer toward a paused route is refused before
//! anything is signed, and a command that does not say which side chain sends nothing.

use std::time::Duration;

use alloy::{
    node_bindings::AnvilInstance,
    primitives::{Address, U256},
    providers::{Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use eyre::ensure;
use serde_json::Value;
use sidebridge_anvil_tests::{
    System, await_until,
    holder::HolderCli,
    hub::HubSystem,
    relayers::{NodeOptions, RelayerNode},
    tokens,
};
use sidebridge_contracts::bindings::MainHubAdmin;

const NAMES: [&str; 2] = ["alpha", "beta"];

fn units(v: &Value) -> U256 {
    v["amountUnits"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no amountUnits in {v}"))
}

async fn nonce(anvil: &AnvilInstance, account: Address) -> eyre::Result<u64> {
    Ok(ProviderBuilder::new()
        .connect_http(anvil.endpoint_url())
        .get_transaction_count(account)
        .await?)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_holder_sends_every_way_on_a_hub_and_follows_a_chained_transfer_as_one()
-> eyre::Result<()> {
    let sys = HubSystem::start(2).await?;
    let dir = tempfile::tempdir()?;
    let mut nodes = Vec::new();
    for i in 0..2 {
        for (j, key) in sys.validators[i].iter().take(2).enumerate() {
            let node_dir = dir.path().join(format!("r{i}v{j}"));
            nodes.push(
                RelayerNode::prepare_for(&sys.target(i), key, &node_dir, &NodeOptions::default())
                    .await?,
            );
        }
    }
    let _miner = sys.start_miner(Duration::from_millis(250));
    for node in &mut nodes {
        node.start().await?;
    }
    let logs = |e: eyre::Report| {
        let all: Vec<String> = nodes.iter().map(|n| n.log()).collect();
        e.wrap_err(all.join("\n----\n"))
    };
    let cli = HolderCli::for_hub(&sys, dir.path(), &sys.holder, 2, &NAMES)?;
    let holder = sys.holder.address();

    // many side chains: a deposit that names none is refused, with nothing sent
    let before = nonce(&sys.main, holder).await?;
    let run = cli.run(&["deposit", "DEMO", "1"]).await?;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("alpha, beta"), "{}", run.stderr);
    assert_eq!(nonce(&sys.main, holder).await?, before);

    // a bridge as recipient is refused before the approve a lock would need
    let hub = sys.deployment.main.bridge.to_string();
    let run = cli
        .run(&["deposit", "DEMO", "1", "--to", "alpha", "--recipient", &hub])
        .await?;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("is a bridge"), "{}", run.stderr);
    assert_eq!(nonce(&sys.main, holder).await?, before);

    // main → alpha
    let run = cli
        .run(&[
            "send",
            "DEMO",
            "100",
            "--from",
            "main",
            "--to",
            "alpha",
            "--json",
            "--timeout",
            "120",
        ])
        .await?;
    ensure!(run.code == 0, logs(eyre::eyre!("deposit: {}", run.stderr)));
    let deposit = run.json()?;
    assert_eq!(deposit["state"], "landed");
    assert_eq!(deposit["destination"]["chain"], "alpha");
    let minted = units(&deposit);
    let alpha = System::balance(&sys.side_as(0, &sys.holder), sys.wrapped(0), holder).await?;
    assert_eq!(alpha, minted, "alpha minted what the lock named");
    assert_eq!(sys.custody(0).await?, minted);

    // alpha → main → beta, one command, both legs followed
    let friend = PrivateKeySigner::random().address();
    let friend_s = friend.to_string();
    let run = cli
        .run(&[
            "send",
            "wDEMO",
            "30",
            "--from",
            "alpha",
            "--to",
            "beta",
            "--recipient",
            &friend_s,
            "--json",
            "--timeout",
            "180",
        ])
        .await?;
    ensure!(run.code == 0, logs(eyre::eyre!("chained: {}", run.stderr)));
    assert!(run.stderr.contains("leg 2: main → beta"), "{}", run.stderr);
    let chained = run.json()?;
    assert_eq!(chained["state"], "landed", "{chained:#}");
    assert_eq!(chained["chained"]["from"], "alpha");
    assert_eq!(chained["legs"][0]["destination"]["chain"], "main");
    assert_eq!(chained["legs"][1]["source"]["chain"], "main");
    assert_eq!(chained["legs"][1]["destination"]["chain"], "beta");
    let on_beta = units(&chained["legs"][1]);
    let got = System::balance(&sys.side_as(1, &sys.holder), sys.wrapped(1), friend).await?;
    assert_eq!(got, on_beta, "beta minted the second leg to the recipient");
    let burned = units(&chained["legs"][0]);
    assert_eq!(
        sys.custody(0).await?,
        minted - burned,
        "alpha's book gave up the burn"
    );
    ensure!(
        sys.custody(1).await? == on_beta,
        "beta's book holds what beta minted"
    );

    // status by the burn's transaction, naming no chain: found on alpha, shown as one
    let burn_tx = chained["legs"][0]["source"]["tx"]
        .as_str()
        .expect("tx")
        .to_string();
    let run = cli.run(&["status", &burn_tx, "--json"]).await?;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let status = run.json()?;
    assert_eq!(status["chained"]["to"], "beta");
    assert_eq!(status["state"], "landed");
    assert_eq!(status["legs"][1]["id"], chained["legs"][1]["id"]);

    // alpha → main
    let main_before = System::balance(&sys.main_as(&sys.holder), sys.main_token, holder).await?;
    let run = cli
        .run(&[
            "withdraw",
            "wDEMO",
            "10",
            "--from",
            "alpha",
            "--json",
            "--timeout",
            "120",
        ])
        .await?;
    ensure!(
        run.code == 0,
        logs(eyre::eyre!("withdrawal: {}", run.stderr))
    );
    let withdrawal = run.json()?;
    assert_eq!(withdrawal["state"], "landed");
    let main_after = System::balance(&sys.main_as(&sys.holder), sys.main_token, holder).await?;
    assert_eq!(main_after - main_before, units(&withdrawal));

    // history: three transfers, the chained one a single row alpha → beta, landed
    let run = cli.run(&["history", "--json"]).await?;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let history = run.json()?;
    assert_eq!(history["total"], 3, "{history:#}");
    let rows = history["transfers"].as_array().expect("rows");
    let row = rows
        .iter()
        .find(|r| r["id"] == chained["id"])
        .expect("the chained transfer is listed");
    assert_eq!(
        (row["from"].as_str(), row["to"].as_str()),
        (Some("alpha"), Some("beta"))
    );
    assert_eq!(row["state"], "landed");

    // the guardian pauses beta's route: a chained transfer toward it is refused up front
    MainHubAdmin::new(sys.deployment.main.bridge, sys.main_as(&sys.guardian))
        .pauseRoute(sys.deployment.routes[1].id)
        .send()
        .await?
        .get_receipt()
        .await?;
    let before = nonce(&sys.sides[0], holder).await?;
    let run = cli
        .run(&["send", "wDEMO", "1", "--from", "alpha", "--to", "beta"])
        .await?;
    assert_eq!(run.code, 20, "{}", run.stderr);
    assert!(
        run.stderr.contains("side chain beta would not take it"),
        "{}",
        run.stderr
    );
    assert_eq!(
        nonce(&sys.sides[0], holder).await?,
        before,
        "nothing was sent"
    );

    // and a withdrawal from beta, whose route the hub would not release now, is refused too
    let before = nonce(&sys.sides[1], holder).await?;
    let run = cli
        .run(&["withdraw", "wDEMO", "1", "--from", "beta"])
        .await?;
    assert_eq!(run.code, 13, "{}", run.stderr);
    assert_eq!(
        nonce(&sys.sides[1], holder).await?,
        before,
        "nothing was sent"
    );

    // a burn toward paused beta made anyway (straight on the contract): the hub parks it; the
    // CLI says so and how to move it; forwarding is refused while beta refuses; the holder's
    // refund sends it back to alpha, where alpha's relayers mint it again
    let receipt = sys.burn_to(0, &sys.holder, tokens(5), 1, friend).await?;
    let burn_tx = receipt.transaction_hash.to_string();
    let parked = await_until(Duration::from_secs(90), "the hub to park it", || async {
        let run = cli.run(&["status", &burn_tx, "--json"]).await?;
        let v = run.json()?;
        Ok((v["state"] == "parked").then_some(v))
    })
    .await
    .map_err(logs)?;
    assert!(
        parked["parked"]
            .as_str()
            .is_some_and(|w| w.contains("paused")),
        "{parked:#}"
    );
    let id = parked["id"].as_str().expect("id").to_string();
    let before = nonce(&sys.main, holder).await?;
    let run = cli.run(&["forward", &id]).await?;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("DestinationRefuses"), "{}", run.stderr);
    assert_eq!(nonce(&sys.main, holder).await?, before, "nothing was sent");
    let alpha_before =
        System::balance(&sys.side_as(0, &sys.holder), sys.wrapped(0), holder).await?;
    let run = cli.run(&["refund", &id, "--json"]).await?;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()?["state"], "refunded");
    let back = units(&parked["legs"][0]);
    await_until(
        Duration::from_secs(90),
        "the refund to be minted on alpha",
        || async {
            let have =
                System::balance(&sys.side_as(0, &sys.holder), sys.wrapped(0), holder).await?;
            Ok((have == alpha_before + back).then_some(()))
        },
    )
    .await
    .map_err(logs)?;
    // history shows it as one refunded row, and the refund's deposit is not a row of its own
    let run = cli.run(&["history", "--json"]).await?;
    let history = run.json()?;
    assert_eq!(history["total"], 4, "{history:#}");
    let row = history["transfers"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["id"].as_str() == Some(id.as_str())))
        .expect("the parked transfer is listed");
    assert_eq!(row["state"], "refunded", "{row:#}");

    // narrowed to beta, the chained transfer that started on alpha still shows: its deposit
    // to beta, a row of its own since its first leg was not searched
    let run = cli.run(&["history", "--to", "beta", "--json"]).await?;
    let history = run.json()?;
    assert_eq!(history["total"], 1, "{history:#}");
    let row = &history["transfers"][0];
    assert_eq!(row["id"], chained["legs"][1]["id"], "{row:#}");
    assert_eq!(
        (row["from"].as_str(), row["to"].as_str()),
        (Some("main"), Some("beta"))
    );
    assert_eq!(row["state"], "landed");
    Ok(())
}
