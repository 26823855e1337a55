//! The keyless transfer index as its own process: 200 transfers across 5 holders and 2 tokens,
//! relayed both ways by three relayers; every filter and page of its API returns exactly the
//! transfers the chains say (legs, order and all), an index rebuilt from an empty database
//! answers the same, and the status page in real headless Chromium shows a deposit go from
//! confirmed to landed.

use std::{collections::HashMap, time::Duration};

use alloy::{
    primitives::{Address, B256, U256},
    providers::{DynProvider, Provider, ext::AnvilApi},
    rpc::types::{Filter, TransactionReceipt},
    signers::local::PrivateKeySigner,
    sol_types::SolEvent,
};
use serde_json::Value;
use sidebridge_anvil_tests::{
    SystemSpec, await_until,
    index::{IndexNode, chromium, run_chromium, target_dir, transfer_row},
    relayers::{Backend, NodeOptions, postgres_enabled},
    tokens,
};
use sidebridge_contracts::bindings::{IERC20Metadata, MainBridge, SideBridge};

use crate::relay::Bridge;

const DEPOSITS: usize = 150;
const WITHDRAWALS: usize = 50;
const CONFIRMATIONS: u64 = 2;

/// A transfer as the chains tell it.
#[derive(Debug, Clone)]
struct Seen {
    id: B256,
    deposit: bool,
    token: Address,
    sender: Address,
    recipient: Address,
    source_tx: B256,
    source_block: u64,
    time: u64,
    destination_tx: Option<B256>,
}

/// The receipt of a transaction the auto-mining anvil has already mined.
async fn mined(provider: &DynProvider, tx: B256) -> eyre::Result<TransactionReceipt> {
    await_until(Duration::from_secs(30), "a receipt", || async {
        Ok(provider.get_transaction_receipt(tx).await?)
    })
    .await
}

async fn seen(
    provider: &DynProvider,
    receipt: &TransactionReceipt,
    deposit: bool,
) -> eyre::Result<Seen> {
    let block = receipt.block_number.unwrap_or_default();
    let time = provider
        .get_block_by_number(block.into())
        .await?
        .ok_or_else(|| eyre::eyre!("block {block} missing"))?
        .header
        .timestamp;
    let (id, token, sender, recipient) = if deposit {
        let e = receipt
            .decoded_log::<MainBridge::Locked>()
            .ok_or_else(|| eyre::eyre!("no Locked"))?
            .data;
        (e.transferId, e.token, e.sender, e.recipient)
    } else {
        let e = receipt
            .decoded_log::<SideBridge::Burned>()
            .ok_or_else(|| eyre::eyre!("no Burned"))?
            .data;
        (e.transferId, e.token, e.sender, e.recipient)
    };
    Ok(Seen {
        id,
        deposit,
        token,
        sender,
        recipient,
        source_tx: receipt.transaction_hash,
        source_block: block,
        time,
        destination_tx: None,
    })
}

/// `DepositExecuted` / `Released` of the bridge at `bridge`: transfer id → transaction.
async fn completions<E: SolEvent>(
    provider: &DynProvider,
    bridge: Address,
    id: impl Fn(&E) -> B256,
) -> eyre::Result<HashMap<B256, B256>> {
    let filter = Filter::new()
        .address(bridge)
        .event_signature(E::SIGNATURE_HASH)
        .from_block(0);
    let mut out = HashMap::new();
    for log in provider.get_logs(&filter).await? {
        let event = E::decode_log_data(log.data())?;
        out.insert(id(&event), log.transaction_hash.unwrap_or_default());
    }
    Ok(out)
}

fn b256(v: &Value) -> B256 {
    v.as_str().and_then(|s| s.parse().ok()).unwrap_or_default()
}

/// Compares one query's every row (in order, paged by 7 and by 200) with the model.
async fn check_query(
    index: &IndexNode,
    query: &str,
    model: &[Seen],
    keep: impl Fn(&Seen) -> bool,
) -> eyre::Result<()> {
    let mut expected: Vec<&Seen> = model.iter().filter(|s| keep(s)).collect();
    expected.sort_by_key(|s| std::cmp::Reverse((s.time, s.id)));
    for limit in [7, 200] {
        let rows = index.all_pages(query, limit).await?;
        let got: Vec<B256> = rows.iter().map(|r| b256(&r["id"])).collect();
        let want: Vec<B256> = expected.iter().map(|s| s.id).collect();
        eyre::ensure!(got == want, "{query} (limit {limit}): rows differ");
        for (row, s) in rows.iter().zip(&expected) {
            eyre::ensure!(row["state"] == "landed", "{row}");
            eyre::ensure!(b256(&row["source"]["txHash"]) == s.source_tx, "{row}");
            eyre::ensure!(row["source"]["block"] == s.source_block, "{row}");
            eyre::ensure!(row["source"]["timestamp"] == s.time, "{row}");
            eyre::ensure!(
                Some(b256(&row["destination"]["txHash"])) == s.destination_tx,
                "{row}"
            );
            let direction = if s.deposit { "deposit" } else { "withdrawal" };
            eyre::ensure!(row["direction"] == direction, "{row}");
        }
    }
    Ok(())
}

/// Every filter the API has, alone and combined, paged two ways, against the model.
async fn check_every_filter(
    index: &IndexNode,
    model: &[Seen],
    holders: &[PrivateKeySigner],
    main_tokens: [Address; 2],
) -> eyre::Result<()> {
    check_query(index, "", model, |_| true).await?;
    check_query(index, "state=landed", model, |_| true).await?;
    check_query(index, "state=confirmed", model, |_| false).await?;
    for (name, deposit) in [("deposit", true), ("withdrawal", false)] {
        check_query(index, &format!("direction={name}"), model, |s| {
            s.deposit == deposit
        })
        .await?;
    }
    for token in main_tokens {
        check_query(index, &format!("token={token:#x}"), model, |s| {
            s.token == token
        })
        .await?;
    }
    for h in holders {
        let a = h.address();
        check_query(index, &format!("address={a:#x}"), model, |s| {
            s.sender == a || s.recipient == a
        })
        .await?;
        let query = format!(
            "address={a:#x}&token={:#x}&direction=withdrawal",
            main_tokens[1]
        );
        check_query(index, &query, model, |s| {
            (s.sender == a || s.recipient == a) && s.token == main_tokens[1] && !s.deposit
        })
        .await?;
    }
    for s in model.iter().step_by(17) {
        check_query(index, &format!("id={}", s.id), model, |m| m.id == s.id).await?;
        check_query(index, &format!("tx={}", s.source_tx), model, |m| {
            m.source_tx == s.source_tx
        })
        .await?;
        let dst = s.destination_tx.unwrap_or_default();
        // a release or mint transaction serves a batch: every transfer it carried
        check_query(index, &format!("tx={dst}"), model, |m| {
            m.destination_tx == Some(dst)
        })
        .await?;
        let (status, one) = index.get(&format!("/api/transfers/{}", s.id)).await?;
        eyre::ensure!(status == 200 && b256(&one["id"]) == s.id, "{one}");
    }
    Ok(())
}

/// Waits until `index` has read both chains at least to `to`.
async fn caught_up(index: &IndexNode, to: (u64, u64)) -> eyre::Result<()> {
    await_until(Duration::from_secs(90), "the index to catch up", || async {
        let (main, side) = index.indexed_to().await?;
        Ok((main >= Some(to.0) && side >= Some(to.1)).then_some(()))
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_index_serves_every_filter_and_page_exactly_and_rebuilds_the_same() -> eyre::Result<()>
{
    let spec = SystemSpec {
        fee_bps: 10,
        second_token: true,
        ..SystemSpec::default()
    };
    let mut bridge = Bridge::start_spec(spec, NodeOptions::default()).await?;
    let sys = &bridge.sys;
    let dir = tempfile::tempdir()?;
    let mut index = IndexNode::prepare(
        sys,
        &dir.path().join("index"),
        Backend::Sqlite,
        CONFIRMATIONS,
    )
    .await?;
    index.start().await?;
    bridge.start_nodes().await?;
    let sys = &bridge.sys;

    let (second, second_wrapped) = sys.second_token.expect("a second token");
    let main_tokens = [sys.main_token, second];
    let wrapped = [sys.wrapped_token, second_wrapped];
    let holders: Vec<PrivateKeySigner> = (0..5).map(|_| PrivateKeySigner::random()).collect();
    let issuer = sys.main_as(&sys.holder);
    for h in &holders {
        for provider in [&issuer, &sys.side_as(&sys.holder)] {
            provider.anvil_set_balance(h.address(), tokens(10)).await?;
        }
        for token in main_tokens {
            let tx = *IERC20Metadata::new(token, &issuer)
                .transfer(h.address(), tokens(1_000))
                .send()
                .await?
                .tx_hash();
            mined(&issuer, tx).await?;
            let own = sys.main_as(h);
            let tx = *IERC20Metadata::new(token, &own)
                .approve(sys.deployment.main.bridge, U256::MAX)
                .send()
                .await?
                .tx_hash();
            mined(&own, tx).await?;
        }
    }

    // deposits: each holder locks both tokens, to the next holder
    let mut model = Vec::new();
    for i in 0..DEPOSITS {
        let (from, to) = (&holders[i % 5], &holders[(i + 1) % 5]);
        let provider = sys.main_as(from);
        let token = main_tokens[(i / 5) % 2];
        let amount = tokens(1 + (i % 3) as u64);
        let tx = *MainBridge::new(sys.deployment.main.bridge, &provider)
            .lock(token, amount, to.address())
            .send()
            .await?
            .tx_hash();
        model.push(seen(&provider, &mined(&provider, tx).await?, true).await?);
    }
    await_until(Duration::from_secs(120), "every deposit landed", || async {
        let landed = index
            .all_pages("direction=deposit&state=landed", 200)
            .await?;
        Ok((landed.len() == DEPOSITS).then_some(()))
    })
    .await?;

    // withdrawals: each holder burns a little of both wrapped tokens, to the holder after next
    for i in 0..WITHDRAWALS {
        let (from, to) = (&holders[i % 5], &holders[(i + 2) % 5]);
        let provider = sys.side_as(from);
        let tx = *SideBridge::new(sys.deployment.side.bridge, &provider)
            .burn(
                wrapped[(i / 5) % 2],
                tokens(1) / U256::from(2),
                to.address(),
            )
            .send()
            .await?
            .tx_hash();
        model.push(seen(&provider, &mined(&provider, tx).await?, false).await?);
    }
    await_until(
        Duration::from_secs(120),
        "every transfer landed",
        || async {
            let landed = index.all_pages("state=landed", 200).await?;
            Ok((landed.len() == DEPOSITS + WITHDRAWALS).then_some(()))
        },
    )
    .await?;
    bridge.stop_all().await?;
    let sys = &bridge.sys;

    let (main_p, side_p) = (sys.main_as(&sys.holder), sys.side_as(&sys.holder));
    let minted = completions(
        &side_p,
        sys.deployment.side.bridge,
        |e: &SideBridge::DepositExecuted| e.transferId,
    )
    .await?;
    let released = completions(
        &main_p,
        sys.deployment.main.bridge,
        |e: &MainBridge::Released| e.transferId,
    )
    .await?;
    for s in &mut model {
        s.destination_tx = if s.deposit { &minted } else { &released }
            .get(&s.id)
            .copied();
        eyre::ensure!(s.destination_tx.is_some(), "{} never landed on-chain", s.id);
    }
    let heads = (
        main_p.get_block_number().await? - CONFIRMATIONS,
        side_p.get_block_number().await? - CONFIRMATIONS,
    );
    caught_up(&index, heads).await?;

    check_every_filter(&index, &model, &holders, main_tokens).await?;
    let (status, body) = index.get("/api/transfers?sender=0x00").await?;
    eyre::ensure!(
        status == 400 && body["parameter"] == "sender",
        "{status} {body}"
    );
    let (status, _) = index.get(&format!("/api/transfers/{}", B256::ZERO)).await?;
    eyre::ensure!(status == 404);
    let (_, overview) = index.get("/api/overview").await?;
    eyre::ensure!(
        overview["tokens"].as_array().map(Vec::len) == Some(2),
        "{overview}"
    );
    eyre::ensure!(
        overview["chains"]["side"]["validators"]
            .as_array()
            .map(Vec::len)
            == Some(3)
    );

    // rebuilt from nothing, on PostgreSQL this time, it says the same
    let backend = if postgres_enabled() {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    let mut rebuilt =
        IndexNode::prepare(sys, &dir.path().join("rebuilt"), backend, CONFIRMATIONS).await?;
    rebuilt.start().await?;
    caught_up(&rebuilt, heads).await?;
    check_every_filter(&rebuilt, &model, &holders, main_tokens).await?;
    for query in ["", "direction=withdrawal", "state=landed"] {
        eyre::ensure!(
            index.all_pages(query, 9).await? == rebuilt.all_pages(query, 9).await?,
            "the rebuilt index answers {query:?} differently"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_status_page_shows_a_deposit_landing_in_headless_chromium() -> eyre::Result<()> {
    if chromium().is_none() {
        eyre::ensure!(
            std::env::var("CI").as_deref() != Ok("true"),
            "chromium is missing in CI: ops/setup installs it"
        );
        eprintln!("SKIPPED: chromium is not installed (run ops/setup)");
        return Ok(());
    }
    let mut bridge = Bridge::start(3, 2, NodeOptions::default()).await?;
    let dir = tempfile::tempdir()?;
    let mut index =
        IndexNode::prepare(&bridge.sys, dir.path(), Backend::Sqlite, CONFIRMATIONS).await?;
    index.start().await?;

    // the deposit is made before any relayer runs, so the page sees it waiting first
    let sys = &bridge.sys;
    let holder = sys.main_as(&sys.holder);
    let tx = *IERC20Metadata::new(sys.main_token, &holder)
        .approve(sys.deployment.main.bridge, tokens(5))
        .send()
        .await?
        .tx_hash();
    mined(&holder, tx).await?;
    let tx = *MainBridge::new(sys.deployment.main.bridge, &holder)
        .lock(sys.main_token, tokens(5), bridge.user.address())
        .send()
        .await?
        .tx_hash();
    let id = seen(&holder, &mined(&holder, tx).await?, true).await?.id;
    let id = format!("{id}");

    let url = index.url();
    let row_state = |dom: String| transfer_row(&dom, &id).map(str::to_string);
    let waiting = await_until(
        Duration::from_secs(90),
        "the deposit on the page",
        || async { Ok(row_state(run_chromium(&url, &["--dump-dom"]).await?)) },
    )
    .await?;
    eyre::ensure!(
        waiting.contains(">confirmed<"),
        "before any relayer runs the deposit is confirmed: {waiting}"
    );

    bridge.start_nodes().await?;
    let landed = await_until(
        Duration::from_secs(120),
        "the deposit landed on the page",
        || async {
            let row = row_state(run_chromium(&url, &["--dump-dom"]).await?);
            Ok(row.filter(|r| r.contains(">landed<")))
        },
    )
    .await?;
    eyre::ensure!(landed.contains("state-landed"), "{landed}");

    let shot = target_dir().join("status-page.png");
    let _ = std::fs::remove_file(&shot);
    run_chromium(
        &url,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,900",
            "--hide-scrollbars",
        ],
    )
    .await?;
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    eyre::ensure!(
        size > 10_000,
        "no screenshot at {} ({size} bytes)",
        shot.display()
    );
    eprintln!("status page screenshot: {}", shot.display());
    Ok(())
}
