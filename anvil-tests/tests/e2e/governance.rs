//! `bridgectl` as members, guardians and holders meet it: proposals on both chains, votes, the
//! timelock waited out with anvil time travel, execution; validator rotation under load; a
//! guardian's pause and governance's unpause; limits that refuse at the source; and every
//! refusal with its message and a non-zero exit code, with nothing spent.

use std::{path::PathBuf, process::Stdio, time::Duration};

use alloy::{
    primitives::{Address, U256},
    providers::{Provider, ProviderBuilder, ext::AnvilApi},
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::SolEvent,
};
use eyre::{WrapErr, bail, ensure};
use serde_json::Value;
use sidebridge_anvil_tests::{
    MAIN_CHAIN_ID, SIDE_CHAIN_ID, System, SystemSpec, await_until,
    binaries::bridgectl_binary,
    relayers::{NodeOptions, RelayerNode},
};
use sidebridge_contracts::{
    Transfer,
    bindings::{IERC20Metadata, MainBridge, SideBridge, WrappedToken},
    pack_signatures, transfer_digest,
};
use sidebridge_relayer::store::Store;

use crate::relay::Bridge;
use sidebridge_governance::revert::{Source, decode_revert};

const PASSWORD: &str = "members only";

/// Runs `bridgectl` against a system, as any of its keys.
pub(crate) struct Ctl {
    dir: tempfile::TempDir,
    main_rpc: String,
    side_rpc: String,
    main_bridge: Address,
    side_bridge: Address,
}

/// What one run printed and how it ended.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Ctl {
    pub(crate) fn new(sys: &System) -> eyre::Result<Self> {
        let d = &sys.deployment;
        Self::with(&sys.main, &sys.side, d.main.bridge, d.side.bridge)
    }

    /// `bridgectl` for the main chain's hub and route `i`'s side chain.
    pub(crate) fn for_hub(
        sys: &sidebridge_anvil_tests::hub::HubSystem,
        i: usize,
    ) -> eyre::Result<Self> {
        let d = &sys.deployment;
        Self::with(
            &sys.main,
            &sys.sides[i],
            d.main.bridge,
            d.routes[i].side.bridge,
        )
    }

    fn with(
        main: &alloy::node_bindings::AnvilInstance,
        side: &alloy::node_bindings::AnvilInstance,
        main_bridge: Address,
        side_bridge: Address,
    ) -> eyre::Result<Self> {
        let dir = tempfile::tempdir()?;
        sidebridge_anvil_tests::write_secret(
            &dir.path().join("password"),
            &format!("{PASSWORD}\n"),
        )?;
        Ok(Self {
            main_rpc: main.endpoint(),
            side_rpc: side.endpoint(),
            main_bridge,
            side_bridge,
            dir,
        })
    }

    /// The encrypted keystore of `key` (created on first use).
    fn keystore(&self, key: &PrivateKeySigner) -> eyre::Result<PathBuf> {
        let path = self.dir.path().join(format!("{}.json", key.address()));
        if !path.exists() {
            sidebridge_relayer::keys::import_keystore_with(
                &path,
                &alloy::hex::encode(key.to_bytes()),
                PASSWORD,
                sidebridge_relayer::keys::KdfCost::Light,
            )?;
        }
        Ok(path)
    }

    /// Runs `bridgectl ARGS` with no terminal on stdin, signing as `key` when given.
    pub(crate) async fn run(
        &self,
        key: Option<&PrivateKeySigner>,
        args: &[&str],
    ) -> eyre::Result<Run> {
        let bridges = [self.main_bridge.to_string(), self.side_bridge.to_string()];
        let mut all = args.to_vec();
        all.extend(["--main-rpc", &self.main_rpc, "--side-rpc", &self.side_rpc]);
        all.extend(["--main-bridge", &bridges[0], "--side-bridge", &bridges[1]]);
        self.run_bare(key, &all).await
    }

    /// Like [`Ctl::run`] without the chain flags (for `--config`).
    pub(crate) async fn run_bare(
        &self,
        key: Option<&PrivateKeySigner>,
        args: &[&str],
    ) -> eyre::Result<Run> {
        let mut cmd = tokio::process::Command::new(bridgectl_binary()?);
        cmd.args(args).stdin(Stdio::null()).kill_on_drop(true);
        if let Some(key) = key {
            let password = self.dir.path().join("password");
            cmd.arg("--keystore")
                .arg(self.keystore(key)?)
                .arg("--password")
                .arg(format!("file:{}", password.display()));
        }
        let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
            .await
            .wrap_err_with(|| format!("bridgectl {args:?} did not finish"))??;
        Ok(Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    /// Runs and requires success; returns stdout.
    pub(crate) async fn ok(
        &self,
        key: Option<&PrivateKeySigner>,
        args: &[&str],
    ) -> eyre::Result<String> {
        let run = self.run(key, args).await?;
        ensure!(
            run.code == Some(0),
            "bridgectl {args:?} failed ({:?}):\n{}",
            run.code,
            run.stderr
        );
        Ok(run.stdout)
    }

    /// Runs and requires a non-zero exit with `message` on stderr, without a sent transaction
    /// (the signer's nonce is unchanged on both chains).
    pub(crate) async fn refused(
        &self,
        key: &PrivateKeySigner,
        args: &[&str],
        message: &str,
    ) -> eyre::Result<String> {
        let before = self.nonces(key.address()).await?;
        let run = self.run(Some(key), args).await?;
        ensure!(
            run.code.is_some_and(|c| c != 0),
            "bridgectl {args:?} should fail, exited {:?}:\n{}",
            run.code,
            run.stdout
        );
        ensure!(
            run.stderr.contains(message),
            "bridgectl {args:?}: stderr lacks {message:?}:\n{}",
            run.stderr
        );
        ensure!(!run.stderr.contains("panicked"), "a panic:\n{}", run.stderr);
        ensure!(
            self.nonces(key.address()).await? == before,
            "bridgectl {args:?} sent a transaction although it failed"
        );
        Ok(run.stderr)
    }

    async fn nonces(&self, account: Address) -> eyre::Result<(u64, u64)> {
        let main = ProviderBuilder::new().connect(&self.main_rpc).await?;
        let side = ProviderBuilder::new().connect(&self.side_rpc).await?;
        Ok((
            main.get_transaction_count(account).await?,
            side.get_transaction_count(account).await?,
        ))
    }

    pub(crate) async fn show(&self) -> eyre::Result<Value> {
        Ok(serde_json::from_str(
            &self.ok(None, &["show", "--json"]).await?,
        )?)
    }

    /// Proposes `action` on `chain` as `member`; returns `(chain, id)` per chain.
    pub(crate) async fn propose(
        &self,
        member: &PrivateKeySigner,
        chain: &str,
        action: &[&str],
    ) -> eyre::Result<Vec<(String, String)>> {
        let mut args = vec!["propose", "--chain", chain, "--yes", "--json"];
        args.extend_from_slice(action);
        let out: Value = serde_json::from_str(&self.ok(Some(member), &args).await?)?;
        let Some(list) = out["proposals"].as_array() else {
            bail!("propose printed no proposals: {out}");
        };
        Ok(list
            .iter()
            .map(|p| {
                (
                    p["chain"].as_str().unwrap_or_default().to_string(),
                    p["id"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect())
    }

    /// The whole path of a proposal on both chains: `proposer` proposes, `voter` votes, the
    /// timelock passes, `executor` executes.
    pub(crate) async fn pass(
        &self,
        sys: &System,
        [proposer, voter, executor]: [&PrivateKeySigner; 3],
        action: &[&str],
    ) -> eyre::Result<()> {
        let ids = self.propose(proposer, "both", action).await?;
        for (_, id) in &ids {
            self.ok(Some(voter), &["vote", id, "--yes"]).await?;
        }
        travel(sys, 3_601).await?;
        for (_, id) in &ids {
            self.ok(Some(executor), &["execute", id, "--yes"]).await?;
        }
        Ok(())
    }
}

/// Moves both chains' clocks forward and mines a block on each.
pub(crate) async fn travel(sys: &System, secs: u64) -> eyre::Result<()> {
    for anvil in [&sys.main, &sys.side] {
        let p = ProviderBuilder::new().connect_http(anvil.endpoint_url());
        p.anvil_increase_time(secs).await?;
        p.anvil_mine(Some(1), None).await?;
    }
    Ok(())
}

fn proposal<'a>(show: &'a Value, chain: &str, id: &str) -> eyre::Result<&'a Value> {
    show[chain]["proposals"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["id"] == id))
        .ok_or_else(|| eyre::eyre!("proposal {id} missing from show --json on {chain}"))
}

fn addresses(v: &Value) -> Vec<Address> {
    v.as_array()
        .map(|a| a.iter().filter_map(|x| x.as_str()?.parse().ok()).collect())
        .unwrap_or_default()
}

fn tokens(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18))
}

#[tokio::test(flavor = "multi_thread")]
async fn members_propose_vote_and_execute_on_both_chains() -> eyre::Result<()> {
    let sys = System::start(SystemSpec::default()).await?;
    let ctl = Ctl::new(&sys)?;
    let [a, b, c] = [&sys.members[0], &sys.members[1], &sys.members[2]];
    let newcomer = PrivateKeySigner::random().address();

    let ids = ctl
        .propose(a, "both", &["add-validator", &newcomer.to_string()])
        .await?;
    assert_eq!(
        ids.iter().map(|(c, _)| c.as_str()).collect::<Vec<_>>(),
        ["main", "side"]
    );
    assert_ne!(ids[0].1, ids[1].1, "a proposal id binds its chain");

    let show = ctl.show().await?;
    for (chain, id) in &ids {
        let p = proposal(&show, chain, id)?;
        assert_eq!(p["status"], "voting");
        assert_eq!(p["votes"], 1);
        assert_eq!(p["action"]["kind"], "addValidator");
        assert_eq!(
            p["action"]["args"]["validator"]
                .as_str()
                .map(str::to_lowercase),
            Some(newcomer.to_string().to_lowercase())
        );
    }
    // a raw call is proposed as given, and shown to voters as unrecognised unless it decodes
    let gov = sys.deployment.main.governance.to_string();
    let raw = ctl
        .propose(
            a,
            "main",
            &["call", "--target", &gov, "--data", "0xdeadbeef"],
        )
        .await?;
    let show = ctl.show().await?;
    let p = proposal(&show, "main", &raw[0].1)?;
    assert_eq!(p["action"]["kind"], "call");
    assert!(
        p["action"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("unrecognised")),
        "{p}"
    );

    // the human table shows the decoded action too
    let table = ctl.ok(None, &["show"]).await?;
    assert!(
        table.contains(&format!("add validator {newcomer}")),
        "{table}"
    );

    // b votes; bridgectl finds which chain each id lives on
    for (chain, id) in &ids {
        let out: Value =
            serde_json::from_str(&ctl.ok(Some(b), &["vote", id, "--yes", "--json"]).await?)?;
        assert_eq!(out["chain"], chain.as_str());
        assert_eq!(out["status"], "queued");
        assert_eq!(out["votes"], 2);
    }

    travel(&sys, 3_601).await?;
    // anyone may execute once the timelock passed; c did not vote
    for (_, id) in &ids {
        let out = ctl.ok(Some(c), &["execute", id, "--yes"]).await?;
        assert!(out.contains("executed"), "{out}");
    }

    let show = ctl.show().await?;
    for (chain, id) in &ids {
        let bridge = &show[chain.as_str()]["bridge"];
        assert!(
            addresses(&bridge["validators"]).contains(&newcomer),
            "{chain}: {bridge}"
        );
        assert_eq!(bridge["validatorSetVersion"], "2");
        // 2 of 4 would not be a majority: bridgectl proposed the smallest one with it
        assert_eq!(bridge["validatorThreshold"], "3");
        assert_eq!(proposal(&show, chain, id)?["status"], "executed");
        assert_eq!(show[chain.as_str()]["governance"]["threshold"], "2");
        assert_eq!(
            addresses(&show[chain.as_str()]["governance"]["members"]).len(),
            3
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn over_limit_transfer_is_refused_at_the_source() -> eyre::Result<()> {
    let sys = System::start(SystemSpec::default()).await?;
    let ctl = Ctl::new(&sys)?;
    let m = &sys.members;
    ctl.pass(
        &sys,
        [&m[0], &m[1], &m[2]],
        &[
            "set-limits",
            &sys.main_token.to_string(),
            "--min",
            "1.5",
            "--max",
            "100",
            "--window-cap",
            "1000",
            "--window",
            "86400",
        ],
    )
    .await?;

    // both chains show the limits in the token's decimals, each for its local token
    let show = ctl.show().await?;
    for (chain, token) in [("main", sys.main_token), ("side", sys.wrapped_token)] {
        let t = &show[chain]["tokens"][0];
        assert_eq!(
            t["address"].as_str().map(str::to_lowercase),
            Some(token.to_string().to_lowercase())
        );
        assert_eq!(t["minAmount"], "1.5", "{chain}: {t}");
        assert_eq!(t["maxAmount"], "100", "{chain}: {t}");
        assert_eq!(t["windowCap"], "1000", "{chain}: {t}");
    }

    let holder = sys.main_as(&sys.holder);
    let bridge = MainBridge::new(sys.deployment.main.bridge, &holder);
    IERC20Metadata::new(sys.main_token, &holder)
        .approve(sys.deployment.main.bridge, tokens(1_000))
        .send()
        .await?
        .get_receipt()
        .await?;
    let balance = System::balance(&holder, sys.main_token, sys.holder.address()).await?;
    let nonce = bridge.outboundNonce().call().await?;
    for (amount, expected) in [(tokens(150), "AboveMaximum"), (tokens(1), "BelowMinimum")] {
        // what the holder's wallet sees when it estimates the transaction
        let err = bridge
            .lock(sys.main_token, amount, sys.holder.address())
            .call()
            .await
            .expect_err("the bridge refuses a transfer outside the limits");
        let data = err.as_revert_data().expect("a revert with data");
        let decoded = decode_revert(&data, Source::Operational).expect("a Sidebridge error");
        assert_eq!(decoded.name, expected, "{decoded}");
    }
    // nothing left the holder, nothing was queued
    assert_eq!(
        System::balance(&holder, sys.main_token, sys.holder.address()).await?,
        balance
    );
    assert_eq!(bridge.outboundNonce().call().await?, nonce);
    // within the limits it goes through
    let receipt = bridge
        .lock(sys.main_token, tokens(100), sys.holder.address())
        .send()
        .await?
        .get_receipt()
        .await?;
    assert!(receipt.status());
    assert!(receipt.decoded_log::<MainBridge::Locked>().is_some());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn every_refusal_has_its_message_and_a_nonzero_exit() -> eyre::Result<()> {
    let sys = System::start(SystemSpec::default()).await?;
    let ctl = Ctl::new(&sys)?;
    let [a, b, c] = [&sys.members[0], &sys.members[1], &sys.members[2]];
    let outsider = &sys.guardian;
    let someone = PrivateKeySigner::random().address().to_string();

    // not a member
    ctl.refused(
        outsider,
        &[
            "propose",
            "--chain",
            "both",
            "--yes",
            "add-guardian",
            &someone,
        ],
        "not a member",
    )
    .await?;

    let ids = ctl.propose(a, "both", &["add-guardian", &someone]).await?;
    let (main_id, side_id) = (ids[0].1.as_str(), ids[1].1.as_str());

    // already voted (the proposer's vote counted), and not a member for votes either
    ctl.refused(a, &["vote", main_id, "--yes"], "already voted")
        .await?;
    ctl.refused(outsider, &["vote", main_id, "--yes"], "not a member")
        .await?;
    // threshold not met
    ctl.refused(c, &["execute", main_id, "--yes"], "threshold not met")
        .await?;
    // wrong chain: the main proposal asked for on the side chain
    ctl.refused(
        b,
        &["vote", main_id, "--chain", "side", "--yes"],
        "wrong chain",
    )
    .await?;
    // no terminal and no --yes: nothing is signed
    ctl.refused(b, &["vote", main_id], "pass --yes").await?;
    // before ETA
    ctl.ok(Some(b), &["vote", main_id, "--yes"]).await?;
    ctl.refused(c, &["execute", main_id, "--yes"], "before ETA")
        .await?;
    // expired: the side proposal never reached its threshold within the voting period
    travel(&sys, 15 * 86_400).await?;
    ctl.refused(b, &["vote", side_id, "--yes"], "expired")
        .await?;
    ctl.refused(c, &["execute", side_id, "--yes"], "expired")
        .await?;
    // the queued main proposal expired after its grace period as well
    ctl.refused(c, &["execute", main_id, "--yes"], "expired")
        .await?;

    // a reverted call names the custom error: a threshold the validator set cannot meet
    let ids = ctl
        .propose(a, "main", &["set-validator-threshold", "9"])
        .await?;
    let id = ids[0].1.as_str();
    ctl.ok(Some(b), &["vote", id, "--yes"]).await?;
    travel(&sys, 3_601).await?;
    let stderr = ctl
        .refused(
            c,
            &["execute", id, "--yes"],
            "reverted with InvalidThreshold",
        )
        .await?;
    assert!(
        stderr.contains("InvalidThreshold { threshold: 9, validators: 3 }"),
        "the error's arguments, decoded: {stderr}"
    );

    // the relayer's config file is enough to find both chains; a config naming another chain
    // is refused
    let node = RelayerNode::prepare(
        &sys,
        &sys.validators[0],
        &ctl.dir.path().join("node"),
        &NodeOptions::default(),
    )
    .await?;
    let config = node.config_path.to_string_lossy().into_owned();
    let run = ctl
        .run_bare(None, &["show", "--json", "--config", &config])
        .await?;
    ensure!(run.code == Some(0), "show --config failed:\n{}", run.stderr);
    let shown: Value = serde_json::from_str(&run.stdout)?;
    assert_eq!(shown["side"]["chainId"], SIDE_CHAIN_ID);
    let text = std::fs::read_to_string(&node.config_path)?;
    std::fs::write(
        &node.config_path,
        text.replace(&format!("chain_id = {SIDE_CHAIN_ID}"), "chain_id = 10"),
    )?;
    let run = ctl.run_bare(None, &["show", "--config", &config]).await?;
    ensure!(
        run.code.is_some_and(|c| c != 0) && run.stderr.contains("wrong chain"),
        "a config for another chain must be refused: {run:?}"
    );

    // strangers cannot cancel; any other member (or guardian) can, and a canceled proposal
    // takes no more votes
    let ids = ctl
        .propose(a, "side", &["set-timelock-delay", "60"])
        .await?;
    let id = ids[0].1.as_str();
    let stranger = PrivateKeySigner::random();
    ctl.refused(&stranger, &["cancel", id, "--yes"], "not a canceller")
        .await?;
    let out: Value =
        serde_json::from_str(&ctl.ok(Some(b), &["cancel", id, "--yes", "--json"]).await?)?;
    assert_eq!(out["status"], "canceled");
    assert_eq!(out["action"]["kind"], "setTimelockDelay");
    ctl.refused(b, &["vote", id, "--yes"], "canceled").await?;
    // nobody but the proposer cancels their own removal
    let ids = ctl
        .propose(a, "main", &["remove-member", &c.address().to_string()])
        .await?;
    ctl.refused(
        c,
        &["cancel", ids[0].1.as_str(), "--yes"],
        "CannotCancelOwnRemoval",
    )
    .await?;
    // a timelock under the floor fixed at deployment is refused whatever the votes
    let ids = ctl
        .propose(a, "main", &["set-timelock-delay", "59"])
        .await?;
    ctl.ok(Some(b), &["vote", ids[0].1.as_str(), "--yes"])
        .await?;
    travel(&sys, 3_601).await?;
    ctl.refused(
        c,
        &["execute", ids[0].1.as_str(), "--yes"],
        "reverted with DelayTooShort",
    )
    .await?;

    // a raw call names one chain's contract, so it is never proposed on both
    let gov = sys.deployment.main.governance.to_string();
    ctl.refused(
        a,
        &[
            "propose", "--chain", "both", "--yes", "call", "--target", &gov, "--data", "0x",
        ],
        "one chain's contract",
    )
    .await?;

    // pausing is for guardians
    ctl.refused(b, &["pause", "--chain", "main"], "not a guardian")
        .await?;
    // unknown proposals and bad amounts are refused before anything is signed
    let unknown = format!("0x{}", "ab".repeat(32));
    ctl.refused(b, &["vote", &unknown, "--yes"], "unknown proposal")
        .await?;
    ctl.refused(
        a,
        &[
            "propose",
            "--chain",
            "main",
            "--yes",
            "set-limits",
            &sys.main_token.to_string(),
            "--min",
            "0.0000000000000000001",
            "--max",
            "none",
        ],
        "more than 18 decimal places",
    )
    .await?;
    Ok(())
}

/// Funds `account` with native currency on both chains.
async fn fund(sys: &System, account: Address) -> eyre::Result<()> {
    for anvil in [&sys.main, &sys.side] {
        ProviderBuilder::new()
            .connect_http(anvil.endpoint_url())
            .anvil_set_balance(account, tokens(100))
            .await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn validators_rotate_while_fifty_transfers_are_in_flight() -> eyre::Result<()> {
    let mut bridge = Bridge::start(3, 2, NodeOptions::default()).await?;
    bridge.start_nodes().await?;
    let ctl = Ctl::new(&bridge.sys)?;
    let sys = &bridge.sys;
    let m = &sys.members;
    let user = bridge.user.address();

    // wrapped tokens for the withdrawals, before anything changes
    bridge.deposit_many(20, tokens(1)).await?;
    bridge
        .await_wrapped(user, tokens(20), Duration::from_secs(180))
        .await?;

    // the newcomer runs its own relayer, with its own keystore, before it is a validator
    let newcomer = PrivateKeySigner::random();
    fund(sys, newcomer.address()).await?;
    let dir = tempfile::tempdir()?;
    let mut newcomer_node = RelayerNode::prepare(
        sys,
        &newcomer,
        &dir.path().join("newcomer"),
        &NodeOptions::default(),
    )
    .await?;
    newcomer_node.start().await?;
    let removed = sys.validators[0].clone();
    let recipient = PrivateKeySigner::random().address();

    // 50 transfers (30 deposits, 20 withdrawals) sent in waves, each left in flight while
    // governance adds a validator, removes one and raises the threshold on both chains
    let voters = [&m[0], &m[1], &m[2]];
    let newcomer_hex = newcomer.address().to_string();
    let removed_hex = removed.address().to_string();
    let steps: [&[&str]; 3] = [
        &["add-validator", &newcomer_hex],
        &["remove-validator", &removed_hex],
        &["set-validator-threshold", "3"],
    ];
    for (wave, step) in [(10, 5), (10, 5), (5, 5)].into_iter().zip(steps) {
        bridge.deposit_many(wave.0, tokens(1)).await?;
        bridge.withdraw_many(wave.1, tokens(1), recipient).await?;
        ctl.pass(sys, voters, step).await?;
    }
    // and a last wave under the new set alone
    bridge.deposit_many(5, tokens(1)).await?;
    bridge.withdraw_many(5, tokens(1), recipient).await?;

    let show = ctl.show().await?;
    for chain in ["main", "side"] {
        let b = &show[chain]["bridge"];
        let validators = addresses(&b["validators"]);
        assert!(validators.contains(&newcomer.address()), "{chain}: {b}");
        assert!(!validators.contains(&removed.address()), "{chain}: {b}");
        assert_eq!(b["validatorThreshold"], "3", "{chain}: {b}");
        assert_eq!(b["validatorSetVersion"], "4", "{chain}: {b}");
    }

    // every transfer lands, exactly once
    bridge
        .await_wrapped(user, tokens(30), Duration::from_secs(300))
        .await
        .map_err(|e| e.wrap_err(newcomer_node.log()))?;
    bridge
        .await_main(recipient, tokens(20), Duration::from_secs(300))
        .await
        .map_err(|e| e.wrap_err(newcomer_node.log()))?;
    bridge.assert_landed_once(50, 20).await?;

    // the last deposit needed three of the new set: the newcomer's relayer voted for it
    let side = sys.side_as(&bridge.user);
    let last = Transfer {
        srcChainId: U256::from(MAIN_CHAIN_ID),
        srcBridge: sys.deployment.main.bridge,
        dstChainId: U256::from(SIDE_CHAIN_ID),
        dstBridge: sys.deployment.side.bridge,
        nonce: 49,
        token: sys.main_token,
        sender: sys.holder.address(),
        recipient: user,
        amount: tokens(1),
    };
    assert!(
        SideBridge::new(sys.deployment.side.bridge, &side)
            .hasVotedDeposit(
                newcomer.address(),
                transfer_digest(&last, sys.deployment.side.bridge)
            )
            .call()
            .await?
    );

    // the removed validator's signature no longer counts: with it, a quorum of current
    // validators' signatures is refused
    let transfer = Transfer {
        srcChainId: U256::from(SIDE_CHAIN_ID),
        srcBridge: sys.deployment.side.bridge,
        dstChainId: U256::from(MAIN_CHAIN_ID),
        dstBridge: sys.deployment.main.bridge,
        nonce: 1_000_000,
        token: sys.main_token,
        sender: user,
        recipient,
        amount: tokens(1),
    };
    let digest = transfer_digest(&transfer, sys.deployment.main.bridge);
    let mut signers: Vec<_> = vec![removed.clone(), sys.validators[1].clone(), newcomer.clone()];
    signers.push(sys.validators[2].clone());
    let signatures = signers
        .iter()
        .map(|k| Ok((k.address(), k.sign_hash_sync(&digest)?)))
        .collect::<eyre::Result<Vec<_>>>()?;
    let main = sys.main_as(&sys.holder);
    let err = MainBridge::new(sys.deployment.main.bridge, &main)
        .release(transfer.clone().into(), pack_signatures(signatures))
        .call()
        .await
        .expect_err("a removed validator's signature is refused");
    let data = err.as_revert_data().expect("revert data");
    let decoded = decode_revert(&data, Source::Bridge).expect("a Sidebridge error");
    assert!(
        ["NotValidator", "TooManySignatures"].contains(&decoded.name),
        "{decoded}"
    );
    // and on the side chain its votes are refused outright
    let err = SideBridge::new(sys.deployment.side.bridge, sys.side_as(&removed))
        .approveDeposits(vec![])
        .call()
        .await
        .expect_err("a removed validator cannot vote");
    let data = err.as_revert_data().expect("revert data");
    assert_eq!(
        decode_revert(&data, Source::Bridge).map(|e| e.name),
        Some("NotValidator")
    );

    bridge.nodes.push(newcomer_node);
    bridge.stop_all().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn guardian_pauses_and_governance_unpauses() -> eyre::Result<()> {
    let mut bridge = Bridge::start(3, 2, NodeOptions::default()).await?;
    let ctl = Ctl::new(&bridge.sys)?;
    let sys = &bridge.sys;
    let m = sys.members.clone();
    let user = bridge.user.address();

    // five deposits locked while no relayer runs yet: in flight when the guardian pauses
    bridge.deposit_many(5, tokens(1)).await?;
    let out = ctl
        .ok(Some(&sys.guardian), &["pause", "--chain", "both"])
        .await?;
    assert!(
        out.contains("main  paused") && out.contains("side  paused"),
        "{out}"
    );
    let show = ctl.show().await?;
    assert_eq!(show["main"]["bridge"]["paused"], true);
    assert_eq!(show["side"]["bridge"]["paused"], true);

    // a new transfer is refused with a clear error, and nothing leaves the holder
    let holder = sys.main_as(&sys.holder);
    let balance = System::balance(&holder, sys.main_token, sys.holder.address()).await?;
    let err = MainBridge::new(sys.deployment.main.bridge, &holder)
        .lock(sys.main_token, tokens(1), user)
        .call()
        .await
        .expect_err("a paused bridge refuses new transfers");
    let data = err.as_revert_data().expect("revert data");
    assert_eq!(
        decode_revert(&data, Source::Bridge).map(|e| e.name),
        Some("BridgePaused")
    );
    assert_eq!(
        System::balance(&holder, sys.main_token, sys.holder.address()).await?,
        balance
    );

    // relayers start and see the deposits, which wait
    bridge.start_nodes().await?;
    let sys = &bridge.sys;
    for node in &bridge.nodes {
        let store = Store::connect(&node.database_url).await?;
        await_until(
            Duration::from_secs(60),
            "the nodes to see the deposits",
            || async {
                let seen: i64 = store
                    .count_by_state()
                    .await?
                    .iter()
                    .map(|(_, _, n)| n)
                    .sum();
                Ok((seen >= 5).then_some(()))
            },
        )
        .await?;
    }
    let watch_until = tokio::time::Instant::now() + Duration::from_secs(3);
    while tokio::time::Instant::now() < watch_until {
        assert_eq!(
            bridge.wrapped_balance(user).await?,
            U256::ZERO,
            "minted while paused"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // governance unpauses both chains; the waiting deposits land, once
    ctl.pass(sys, [&m[0], &m[1], &m[2]], &["unpause"]).await?;
    let show = ctl.show().await?;
    assert_eq!(show["main"]["bridge"]["paused"], false);
    assert_eq!(show["side"]["bridge"]["paused"], false);
    bridge
        .await_wrapped(user, tokens(5), Duration::from_secs(180))
        .await?;
    assert_eq!(
        bridge
            .count_events(false, SideBridge::DepositExecuted::SIGNATURE_HASH)
            .await?,
        5
    );
    bridge.stop_all().await?;
    Ok(())
}

/// The lines of `bridgectl verify`'s report that are failed checks.
pub(crate) fn failed_checks(stdout: &str) -> Vec<&str> {
    stdout.lines().filter(|l| l.starts_with("FAIL")).collect()
}

/// `bridgectl verify` on a true deployment: every check holds, exit 0, no warning. Then as an
/// attacker would leave it: the main chain's governance replaced by another build of itself
/// (one byte of its code differs, every view still answers) is one failed check, named, and
/// exit 1; a wrapped token replaced by the project's own code with the attacker as minter (the
/// code comparison passes) fails on its minter, read back.
#[tokio::test(flavor = "multi_thread")]
async fn verify_passes_a_true_deployment_and_names_code_that_is_not_the_projects()
-> eyre::Result<()> {
    let sys = System::start(SystemSpec::default()).await?;
    let ctl = Ctl::new(&sys)?;
    let run = ctl.run(None, &["verify", "--json"]).await?;
    ensure!(run.code == Some(0), "{run:?}");
    let report: Value = serde_json::from_str(&run.stdout)?;
    ensure!(report["ok"] == true, "{report}");
    let checks = report["checks"].as_array().map_or(0, Vec::len);
    ensure!(checks >= 40, "{checks} checks: {report}");
    let warned = report["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| !c["warning"].is_null());
    ensure!(!warned, "every mapped token's inbound is open: {report}");

    let main = sys.main_as(&sys.deployer);
    let governance = sys.deployment.main.governance;
    let mut code = main.get_code_at(governance).await?.to_vec();
    let last = code.len() - 3; // inside the metadata hash: behaviour unchanged
    code[last] ^= 0xFF;
    main.anvil_set_code(governance, code.clone().into()).await?;
    let run = ctl.run(None, &["verify"]).await?;
    ensure!(run.code == Some(1), "{run:?}");
    let failed = failed_checks(&run.stdout);
    ensure!(failed.len() == 1, "{}", run.stdout);
    ensure!(
        failed[0].contains("main")
            && failed[0].contains(&format!(
                "governance {governance} runs the project's governance code"
            )),
        "{}",
        failed[0]
    );
    ensure!(
        run.stderr.trim() == format!("bridgectl: verify: 1 of {checks} checks failed"),
        "{}",
        run.stderr
    );
    code[last] ^= 0xFF; // governance's own code again
    main.anvil_set_code(governance, code.into()).await?;

    // a look-alike wrapped token: the project's own WrappedToken code, with an attacker as its
    // minter in the immutable slot (code comparison alone cannot tell; the views are read back)
    let token = &sys.deployment.tokens[0];
    let side = sys.side_as(&sys.deployer);
    let attacker = PrivateKeySigner::random().address();
    let twin = WrappedToken::deploy(
        &side,
        "look-alike".to_string(),
        "LA".to_string(),
        token.decimals,
        attacker,
        token.main_token,
    )
    .await?;
    let twin_code = side.get_code_at(*twin.address()).await?;
    side.anvil_set_code(token.wrapped_token, twin_code).await?;
    let run = ctl.run(None, &["verify"]).await?;
    ensure!(run.code == Some(1), "{run:?}");
    let failed = failed_checks(&run.stdout);
    ensure!(
        failed.len() == 1
            && failed[0].contains(&format!(
                "only the side bridge mints and burns {}: its minter is {attacker}",
                token.wrapped_token
            )),
        "{}",
        run.stdout
    );
    ensure!(
        run.stdout.contains(&format!(
            "ok    side  wrapped token {} runs the project's WrappedToken code",
            token.wrapped_token
        )),
        "{}",
        run.stdout
    );
    Ok(())
}
