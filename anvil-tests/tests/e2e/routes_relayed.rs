//! Relayers on the hub: one main chain, three side chains, and for each route two of its three
//! validators running `relayer run` against the hub (`chains.main.hub = true`). Deposits land
//! on every route and a chained transfer goes A → main → B; then route C's side chain dies and
//! C's whole key set is stolen. The thieves
//! get C's book and nothing more, C's relayers say not ready, and A's and B's relayers go on
//! carrying deposits and withdrawals with their books exactly what their holders moved.

use std::time::Duration;

use alloy::{
    primitives::{Address, U256},
    signers::local::PrivateKeySigner,
};
use eyre::ensure;
use serde_json::Value;
use sidebridge_anvil_tests::{
    System, await_until,
    hub::HubSystem,
    relayers::{NodeOptions, RelayerNode, http_get},
    tokens,
};
use sidebridge_contracts::{
    Transfer,
    bindings::{DemoToken, MainHub, SideBridge},
};

use sidebridge_relayer::{domain::TransferState, store::Store};

use super::routes::{reverted_with, sign};

const ROUTES: usize = 3;
const C: usize = 2;

struct Hub {
    sys: HubSystem,
    /// Per route, its relayers.
    nodes: Vec<Vec<RelayerNode>>,
    _dir: tempfile::TempDir,
}

impl Hub {
    fn logs(&self, e: eyre::Report) -> eyre::Report {
        let mut out = String::new();
        for (r, nodes) in self.nodes.iter().enumerate() {
            for n in nodes {
                out.push_str(&format!("---- route {r} node {}\n{}\n", n.address, n.log()));
            }
        }
        e.wrap_err(out)
    }

    async fn wrapped(&self, i: usize, account: Address) -> eyre::Result<U256> {
        System::balance(
            &self.sys.side_as(i, &self.sys.holder),
            self.sys.wrapped(i),
            account,
        )
        .await
    }

    async fn await_wrapped(&self, i: usize, account: Address, want: U256) -> eyre::Result<()> {
        await_until(
            Duration::from_secs(90),
            "a deposit to be minted",
            || async { Ok((self.wrapped(i, account).await? == want).then_some(())) },
        )
        .await
        .map_err(|e| self.logs(e))
    }

    async fn await_main(&self, account: Address, want: U256) -> eyre::Result<()> {
        let main = self.sys.main_as(&self.sys.holder);
        await_until(
            Duration::from_secs(90),
            "a withdrawal to be released",
            || async {
                let have = System::balance(&main, self.sys.main_token, account).await?;
                Ok((have == want).then_some(()))
            },
        )
        .await
        .map_err(|e| self.logs(e))
    }

    /// The holder locks `amount` on the hub for `recipient` on route `i`.
    async fn lock(&self, i: usize, amount: U256, recipient: Address) -> eyre::Result<()> {
        self.sys.lock(i, amount, recipient).await.map(drop)
    }

    /// `user` burns `amount` on route `i`'s side chain for `recipient` on the main chain.
    async fn burn(
        &self,
        i: usize,
        user: &PrivateKeySigner,
        amount: U256,
        recipient: Address,
    ) -> eyre::Result<()> {
        let bridge = SideBridge::new(
            self.sys.deployment.routes[i].side.bridge,
            self.sys.side_as(i, user),
        );
        let receipt = bridge
            .burn(self.sys.wrapped(i), amount, recipient)
            .send()
            .await?
            .get_receipt()
            .await?;
        ensure!(receipt.status(), "burn reverted");
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn relayers_carry_each_route_and_a_dead_stolen_route_stops_only_itself() -> eyre::Result<()> {
    let sys = HubSystem::start(ROUTES).await?;
    let dir = tempfile::tempdir()?;
    let options = NodeOptions {
        rpc_failure_secs: 3,
        ..NodeOptions::default()
    };
    let mut nodes = Vec::new();
    for i in 0..ROUTES {
        let mut route_nodes = Vec::new();
        // two of the route's three validators relay: its threshold
        for (j, key) in sys.validators[i].iter().take(2).enumerate() {
            let node_dir = dir.path().join(format!("r{i}v{j}"));
            let node = RelayerNode::prepare_for(&sys.target(i), key, &node_dir, &options).await?;
            route_nodes.push(node);
        }
        nodes.push(route_nodes);
    }
    let _miner = sys.start_miner(Duration::from_millis(250));
    let mut hub = Hub {
        sys,
        nodes,
        _dir: dir,
    };
    for node in hub.nodes.iter_mut().flatten() {
        node.start().await?;
    }
    let holder = hub.sys.holder.clone();
    let main = hub.sys.main_as(&holder);
    DemoToken::new(hub.sys.main_token, &main)
        .approve(hub.sys.deployment.main.bridge, U256::MAX)
        .send()
        .await?
        .get_receipt()
        .await?;

    // deposits to every route land, each on its own side chain
    let locked = [tokens(100), tokens(200), tokens(300)];
    for (i, amount) in locked.iter().enumerate() {
        hub.lock(i, *amount, holder.address()).await?;
    }
    for (i, amount) in locked.iter().enumerate() {
        hub.await_wrapped(i, holder.address(), *amount).await?;
    }

    // a chained transfer, A → main → B: burned on A naming B's bridge, released by A's
    // relayers on the hub, which moves it from A's book to B's in the same transaction; B's
    // relayers then mint it on B
    let friend = PrivateKeySigner::random().address();
    let receipt = hub.sys.burn_to(0, &holder, tokens(30), 1, friend).await?;
    let chained = receipt
        .decoded_log::<SideBridge::Burned>()
        .expect("a burn emits Burned")
        .data
        .transferId;
    hub.await_wrapped(1, friend, tokens(30)).await?;
    // A's relayers saw their withdrawal settled (the hub's Released for A), not only B's mint
    let a_store = Store::connect(&hub.nodes[0][0].database_url).await?;
    await_until(
        Duration::from_secs(30),
        "A's relayer to see the chained withdrawal settled",
        || async {
            let state = a_store.transfer(chained).await?.map(|r| r.state);
            Ok((state == Some(TransferState::Completed)).then_some(()))
        },
    )
    .await
    .map_err(|e| hub.logs(e))?;
    let books = [hub.sys.custody(0).await?, hub.sys.custody(1).await?];
    ensure!(
        books == [tokens(70), tokens(230)],
        "custody moved A → B: {books:?}"
    );

    // route C's side chain dies, and C's whole key set is in a thief's hands
    hub.sys.sides[C].child_mut().kill()?;
    let thief = PrivateKeySigner::random().address();
    let d = hub.sys.deployment.clone();
    let hub_contract = MainHub::new(d.main.bridge, hub.sys.main_as(&holder));
    let forged = |amount: U256, nonce: u64| Transfer {
        srcChainId: U256::from(d.routes[C].side.chain_id),
        srcBridge: d.routes[C].side.bridge,
        dstChainId: U256::from(d.main.chain_id),
        dstBridge: d.main.bridge,
        nonce,
        token: hub.sys.main_token,
        sender: thief,
        recipient: thief,
        amount,
    };
    let everything = hub.sys.booked().await?;
    let t = forged(everything, 1_000);
    let sigs = sign(&hub.sys, &hub.sys.validators[C], &t)?;
    match hub_contract.release(t.into(), sigs).call().await {
        Ok(_) => eyre::bail!("C's thieves took more than C's book"),
        Err(e) => reverted_with(e, "CustodyShort")?,
    }
    let t = forged(locked[C], 1_001);
    let sigs = sign(&hub.sys, &hub.sys.validators[C], &t)?;
    let receipt = hub_contract
        .release(t.into(), sigs)
        .send()
        .await?
        .get_receipt()
        .await?;
    ensure!(receipt.status(), "C's book is C's thieves' to take");
    ensure!(hub.sys.custody(C).await? == U256::ZERO);

    // A and B carry on: a deposit and a withdrawal each, through their own relayers
    let (a_out, b_out) = (
        PrivateKeySigner::random().address(),
        PrivateKeySigner::random().address(),
    );
    hub.lock(0, tokens(10), holder.address()).await?;
    hub.burn(0, &holder, tokens(40), a_out).await?;
    hub.burn(1, &holder, tokens(150), b_out).await?;
    hub.await_main(a_out, tokens(40)).await?;
    hub.await_main(b_out, tokens(150)).await?;
    hub.await_wrapped(0, holder.address(), tokens(40)).await?;
    ensure!(hub.wrapped(1, holder.address()).await? == tokens(50));

    // every book is what its holders moved; the hub owes exactly their sum
    let books = [
        hub.sys.custody(0).await?,
        hub.sys.custody(1).await?,
        hub.sys.custody(2).await?,
    ];
    ensure!(
        books == [tokens(40), tokens(80), U256::ZERO],
        "books {books:?}"
    );
    let held = System::balance(&main, hub.sys.main_token, d.main.bridge).await?;
    ensure!(held == hub.sys.booked().await? && held == tokens(120));

    // C's relayers say why they are not ready; A's are ready
    await_until(
        Duration::from_secs(30),
        "C's relayers to be not ready",
        || async {
            let (code, body) = http_get(hub.nodes[C][0].http_port, "/readyz").await;
            Ok((code == 503).then_some(body))
        },
    )
    .await
    .map_err(|e| hub.logs(e))?;
    let (code, body) = http_get(hub.nodes[0][0].http_port, "/readyz").await;
    ensure!(code == 200, "route A's relayer is not ready: {body}");
    let readyz: Value = serde_json::from_str(&body)?;
    ensure!(readyz["ready"] == true, "{readyz}");

    for node in hub.nodes.iter_mut().flatten() {
        node.stop().await?;
    }
    for node in hub.nodes.iter().take(2).flatten() {
        let store = Store::connect(&node.database_url).await?;
        let twice = store.nonces_settled_twice().await?;
        ensure!(twice.is_empty(), "nonces settled twice: {twice:?}");
        let alarms = store.alarms(true).await?;
        ensure!(
            alarms.is_empty(),
            "A's and B's relayers saw no forgery: {alarms:?}"
        );
    }
    Ok(())
}

/// Governance and guardians on the hub with `bridgectl`: a guardian pauses one route at once
/// (the other keeps running; a member who is no guardian is refused, nothing sent); members
/// propose, vote and execute route changes on the main chain (a route proposal for the side
/// chain is refused), and voters see the route action in words.
#[tokio::test(flavor = "multi_thread")]
async fn bridgectl_pauses_a_route_and_governs_its_limits() -> eyre::Result<()> {
    use super::governance::Ctl;
    use alloy::providers::{ProviderBuilder, ext::AnvilApi};
    use sidebridge_contracts::bindings::MainHubAdmin;

    let sys = HubSystem::start(2).await?;
    let ctl = Ctl::for_hub(&sys, 0)?;
    let d = sys.deployment.clone();
    let (a, b) = (d.routes[0].id.to_string(), d.routes[1].id.to_string());
    let admin = MainHubAdmin::new(d.main.bridge, sys.main_as(&sys.holder));
    let paused = |id| {
        let admin = admin.clone();
        async move { eyre::Ok(admin.route(id).call().await?.isPaused) }
    };
    let [m0, m1, m2] = [&sys.members[0], &sys.members[1], &sys.members[2]];

    ctl.refused(
        m0,
        &["pause", "--chain", "main", "--route", &a],
        "not a guardian",
    )
    .await?;
    ctl.ok(
        Some(&sys.guardian),
        &["pause", "--chain", "main", "--route", &a],
    )
    .await?;
    ensure!(paused(d.routes[0].id).await? && !paused(d.routes[1].id).await?);

    ctl.refused(
        m0,
        &["propose", "--chain", "both", "--yes", "unpause-route", &a],
        "use --chain main",
    )
    .await?;
    let main = ProviderBuilder::new().connect_http(sys.main.endpoint_url());
    let token = sys.main_token.to_string();
    for action in [
        vec!["unpause-route", a.as_str()],
        vec![
            "set-route-inbound-limits",
            b.as_str(),
            &token,
            "--cap",
            "5",
            "--large",
            "1",
            "--delay",
            "60",
        ],
    ] {
        let ids = ctl.propose(m0, "main", &action).await?;
        let (_, id) = &ids[0];
        let vote = ctl.run(Some(m1), &["vote", id, "--yes"]).await?;
        ensure!(vote.code == Some(0), "vote failed: {}", vote.stderr);
        let described = vote
            .stderr
            .lines()
            .find(|l| l.trim_start().starts_with("action"))
            .unwrap_or_default();
        ensure!(
            described.contains("route 0x") && !described.contains("unrecognised"),
            "voters see the route action in words: {}",
            vote.stderr
        );
        main.anvil_increase_time(3_601).await?;
        main.anvil_mine(Some(1), None).await?;
        ctl.ok(Some(m2), &["execute", id, "--yes"]).await?;
    }
    ensure!(
        !paused(d.routes[0].id).await?,
        "governance unpaused route A"
    );
    let limit = MainHub::new(d.main.bridge, sys.main_as(&sys.holder))
        .inboundLimit(d.routes[1].id, sys.main_token)
        .call()
        .await?;
    ensure!(
        limit.cap == tokens(5) && limit.large == tokens(1),
        "B's limits: {limit:?}"
    );

    // show: every route with its set, state, and per token its book and inbound limits
    hub_lock(&sys, 1, tokens(7)).await?;
    ctl.ok(
        Some(&sys.guardian),
        &["pause", "--chain", "main", "--route", &a],
    )
    .await?;
    let show = ctl.show().await?;
    let routes = show["main"]["routes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    ensure!(routes.len() == 2, "two routes shown: {show}");
    ensure!(routes[0]["id"] == a && routes[0]["paused"] == true && routes[1]["paused"] == false);
    let b_token = &routes[1]["tokens"][0];
    ensure!(
        b_token["custody"] == tokens(7).to_string()
            && b_token["inbound"]["cap"] == tokens(5).to_string()
            && b_token["remote"].as_str().map(str::to_lowercase)
                == Some(sys.wrapped(1).to_string().to_lowercase()),
        "route B's token: {b_token}"
    );
    let text = ctl.ok(None, &["show", "--chain", "main"]).await?;
    ensure!(
        text.contains("2 route(s)") && text.contains("PAUSED"),
        "{text}"
    );
    Ok(())
}

/// The holder locks `amount` for itself on route `i`.
async fn hub_lock(sys: &HubSystem, i: usize, amount: U256) -> eyre::Result<()> {
    DemoToken::new(sys.main_token, sys.main_as(&sys.holder))
        .approve(sys.deployment.main.bridge, amount)
        .send()
        .await?
        .get_receipt()
        .await?;
    sys.lock(i, amount, sys.holder.address()).await.map(drop)
}

/// `bridgectl verify` on a route of a hub: every check holds (the hub's and its route
/// administration's code, each route's set, the side bridge a live route built for a hub, the
/// tokens open toward it), exit 0. Then as an attacker would leave it: the hub's route
/// administration replaced by another build of itself (one byte differs, every view still
/// answers) is one failed check, named, and exit 1.
#[tokio::test(flavor = "multi_thread")]
async fn verify_passes_a_hub_route_and_names_an_admin_that_is_not_the_projects() -> eyre::Result<()>
{
    use super::governance::Ctl;
    use alloy::providers::{Provider, ext::AnvilApi};
    use sidebridge_contracts::bindings::{AuthorityGovernance, MainHubAdmin};

    let sys = HubSystem::start(2).await?;
    let ctl = Ctl::for_hub(&sys, 1)?;
    let run = ctl.run(None, &["verify", "--json"]).await?;
    ensure!(run.code == Some(0), "{run:?}");
    let report: Value = serde_json::from_str(&run.stdout)?;
    ensure!(report["ok"] == true, "{report}");
    let text = report.to_string();
    for says in [
        "runs the project's MainHubAdmin code",
        "a live route of the hub",
        "it was built for a hub",
        "withdrawal ids are the hub's digests",
        "strict majority of 3 validators",
        "lists",
    ] {
        ensure!(text.contains(says), "no check says {says:?}: {report}");
    }
    let checks = report["checks"].as_array().map_or(0, Vec::len);

    let main = sys.main_as(&sys.holder);
    let admin = MainHub::new(sys.deployment.main.bridge, &main)
        .admin()
        .call()
        .await?;
    let mut code = main.get_code_at(admin).await?.to_vec();
    let last = code.len() - 3; // inside the metadata hash: behaviour unchanged
    code[last] ^= 0xFF;
    main.anvil_set_code(admin, code.into()).await?;
    let (run, failed) = verify_failures(&ctl).await?;
    ensure!(
        failed.len() == 1 && failed[0].contains(&format!("route administration {admin}")),
        "{}",
        run.stdout
    );
    ensure!(
        run.stderr.trim() == format!("bridgectl: verify: 1 of {checks} checks failed"),
        "{}",
        run.stderr
    );

    // the project's own admin code, built with another governance in its immutables: the code
    // comparison passes, and the admin's governance, read back, is named
    let thief = sys.holder.address();
    let their_governance = *AuthorityGovernance::deploy(
        &main,
        vec![thief],
        U256::from(1),
        U256::from(60),
        U256::from(60),
        Address::ZERO,
    )
    .await?
    .address();
    let impostor =
        MainHubAdmin::deploy(&main, their_governance, sys.deployment.main.operational).await?;
    let impostor_code = main.get_code_at(*impostor.address()).await?;
    main.anvil_set_code(admin, impostor_code).await?;
    let (run, failed) = verify_failures(&ctl).await?;
    ensure!(
        failed.len() == 1
            && failed[0].contains("the route administration is governed by governance"),
        "{}",
        run.stdout
    );
    Ok(())
}

/// `bridgectl verify`, expected to fail: its run and its failed checks' lines.
async fn verify_failures(
    ctl: &super::governance::Ctl,
) -> eyre::Result<(super::governance::Run, Vec<String>)> {
    let run = ctl.run(None, &["verify"]).await?;
    ensure!(run.code == Some(1), "{run:?}");
    let failed = super::governance::failed_checks(&run.stdout)
        .into_iter()
        .map(str::to_string)
        .collect();
    Ok((run, failed))
}
