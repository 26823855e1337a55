//! `bridgectl verify`: is what runs on both chains the project's bridge, wired as it should be?
//! Before a member trusts a deployment (its own or one it is asked to join), every contract's
//! code is compared with the project's build, every link between them is read back, and every
//! setting is held against the floors the contracts are built around; every token mapping is
//! read back on both chains and every wrapped token's code, minter and counterpart checked
//! (`verify_tokens.rs`). Any difference is a failed check and a non-zero exit; a choice
//! governance may make but should know of (a token's inbound closed) is a warning.
//!
//! Code: the deployed runtime code must equal the artifact's `deployedBytecode` byte for byte,
//! except inside the 32-byte arguments of the `PUSH32` instructions whose argument the artifact
//! leaves zero: that is where solc places immutables, which the constructor fills (a domain
//! separator, the chain id, the delay floor). Those values are then checked through the views
//! that expose them. An attacker's best strategy against the comparison is code identical to
//! ours except in those slots; every such slot holds an immutable whose value is checked below
//! (a `PUSH32 0` literal, the only other thing that could sit there, solc does not emit).

use std::fmt;

use alloy::{
    primitives::{Address, B256, Bytes},
    providers::Provider,
};
use eyre::WrapErr;
use serde_json::{Value, json};
use sidebridge_contracts::{
    bindings::{AuthorityGovernance, MainBridge, MainHub, Operational, SideBridge},
    is_majority_threshold, transfer_domain,
};
use sidebridge_core::domain::Chain;

use crate::client::GovChain;

#[path = "verify_tokens.rs"]
mod tokens;

#[path = "verify_hub.rs"]
mod hub;

/// One check and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Check {
    pub(crate) chain: Chain,
    pub(crate) what: String,
    /// `None` when it holds; why not otherwise.
    pub(crate) failure: Option<String>,
    /// A setting governance may choose but should know the price of (a token with no rolling
    /// cap): printed as a warning, never a failed check.
    pub(crate) advisory: bool,
}

impl Check {
    pub(crate) fn new(chain: Chain, what: String, failure: Option<String>) -> Self {
        Self {
            chain,
            what,
            failure,
            advisory: false,
        }
    }

    /// Whether it makes `verify` fail.
    pub(crate) fn failed(&self) -> bool {
        self.failure.is_some() && !self.advisory
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let chain = self.chain.as_str();
        match &self.failure {
            None => write!(f, "ok    {chain:<5} {}", self.what),
            Some(why) if self.advisory => write!(f, "WARN  {chain:<5} {}: {why}", self.what),
            Some(why) => write!(f, "FAIL  {chain:<5} {}: {why}", self.what),
        }
    }
}

/// Whether `deployed` is `artifact` with only the immutables' slots filled in (see the module
/// docs); `Err` says where it differs.
pub(crate) fn same_code(artifact: &[u8], deployed: &[u8]) -> Result<(), String> {
    if artifact.len() != deployed.len() {
        return Err(format!(
            "{} bytes of code, the project's build has {}",
            deployed.len(),
            artifact.len()
        ));
    }
    let mut i = 0;
    while i < artifact.len() {
        let op = artifact[i];
        let pushed = if (0x60..=0x7f).contains(&op) {
            usize::from(op - 0x5f)
        } else {
            0
        };
        if deployed[i] != op {
            return Err(format!("differs at byte {i}"));
        }
        let data = (i + 1)..(i + 1 + pushed).min(artifact.len());
        let immutable = pushed == 32 && artifact[data.clone()].iter().all(|b| *b == 0);
        if !immutable && artifact[data.clone()] != deployed[data.clone()] {
            return Err(format!(
                "differs in the argument of the instruction at byte {i}"
            ));
        }
        i = data.end;
    }
    Ok(())
}

/// The artifact runtime code of the contract a chain's `what` must be (`hub`: the main chain's
/// bridge is a `MainHub`).
fn artifact(chain: Chain, what: &str, hub: bool) -> &'static [u8] {
    match (chain, what) {
        (Chain::Main, "bridge") if hub => MainHub::DEPLOYED_BYTECODE.as_ref(),
        (Chain::Main, "bridge") => MainBridge::DEPLOYED_BYTECODE.as_ref(),
        (Chain::Side, "bridge") => SideBridge::DEPLOYED_BYTECODE.as_ref(),
        (_, "governance") => AuthorityGovernance::DEPLOYED_BYTECODE.as_ref(),
        _ => Operational::DEPLOYED_BYTECODE.as_ref(),
    }
}

/// Every check on both chains (`chains` is main then side).
pub(crate) async fn verify(chains: &[GovChain]) -> eyre::Result<Vec<Check>> {
    // a contract that answers `admin()` is checked as a hub: the code comparison then holds it
    // to MainHub's code, so a look-alike fails either way
    let hub = match chains.first() {
        Some(c) if c.chain == Chain::Main => crate::hub_view::is_hub(c).await,
        _ => false,
    };
    let mut checks = Vec::new();
    for c in chains {
        chain_checks(c, hub && c.chain == Chain::Main, &mut checks).await?;
    }
    if let [main, side] = chains {
        if hub {
            hub::cross_checks(main, side, &mut checks).await?;
            hub::token_checks(main, side, &mut checks).await?;
        } else {
            cross_checks(main, side, &mut checks).await?;
            tokens::token_checks(main, side, &mut checks).await?;
        }
    }
    Ok(checks)
}

async fn chain_checks(c: &GovChain, hub: bool, out: &mut Vec<Check>) -> eyre::Result<()> {
    let chain = c.chain;
    let mut check =
        |what: String, failure: Option<String>| out.push(Check::new(chain, what, failure));
    let ctx = |what: &str| format!("reading {what} on the {chain} chain");
    let k = &c.contracts;
    for (what, address) in [
        ("bridge", k.bridge),
        ("governance", k.governance),
        ("operational", k.operational),
    ] {
        let code: Bytes = c
            .provider
            .get_code_at(address)
            .await
            .wrap_err_with(|| ctx(what))?;
        check(
            format!("{what} {address} runs the project's {what} code"),
            same_code(artifact(chain, what, hub), &code).err(),
        );
    }

    let gov = AuthorityGovernance::new(k.governance, &c.provider);
    let op = Operational::new(k.operational, &c.provider);
    let bridge = MainBridge::new(k.bridge, &c.provider);
    let links = [
        (
            "the bridge is governed by governance",
            bridge
                .governance()
                .call()
                .await
                .wrap_err_with(|| ctx("bridge.governance"))?,
            k.governance,
        ),
        (
            "the bridge reads the Operational contract",
            bridge
                .operational()
                .call()
                .await
                .wrap_err_with(|| ctx("bridge.operational"))?,
            k.operational,
        ),
        (
            "Operational is governed by governance",
            op.governance()
                .call()
                .await
                .wrap_err_with(|| ctx("operational.governance"))?,
            k.governance,
        ),
        (
            "Operational serves the bridge",
            op.bridge()
                .call()
                .await
                .wrap_err_with(|| ctx("operational.bridge"))?,
            k.bridge,
        ),
        (
            "governance holds the Operational contract",
            gov.operational()
                .call()
                .await
                .wrap_err_with(|| ctx("governance.operational"))?,
            k.operational,
        ),
    ];
    for (what, got, want) in links {
        check(
            what.into(),
            (got != want).then(|| format!("it points at {got}, expected {want}")),
        );
    }
    for (name, key) in [
        (
            "bridge",
            bridge
                .setupKey()
                .call()
                .await
                .wrap_err_with(|| ctx("bridge.setupKey"))?,
        ),
        (
            "Operational",
            op.setupKey()
                .call()
                .await
                .wrap_err_with(|| ctx("operational.setupKey"))?,
        ),
    ] {
        check(
            format!("the {name}'s deployment key has handed over (no setup key left)"),
            (!key.is_zero()).then(|| format!("setup key {key} can still configure it")),
        );
    }

    let floor = gov
        .MIN_DELAY_FLOOR()
        .call()
        .await
        .wrap_err_with(|| ctx("MIN_DELAY_FLOOR"))?;
    let min_delay = gov
        .minDelay()
        .call()
        .await
        .wrap_err_with(|| ctx("minDelay"))?;
    let delay = gov.delay().call().await.wrap_err_with(|| ctx("delay"))?;
    check(
        format!(
            "the timelock ({delay} s) is at least its floor ({min_delay} s, itself at least {floor} s)"
        ),
        (min_delay < floor || delay < min_delay)
            .then(|| format!("delay {delay} s, floor {min_delay} s, least floor {floor} s")),
    );
    let members = gov
        .members()
        .call()
        .await
        .wrap_err_with(|| ctx("members"))?;
    let threshold: usize = gov
        .threshold()
        .call()
        .await
        .wrap_err_with(|| ctx("threshold"))?
        .saturating_to();
    check(
        format!(
            "the member threshold {threshold} is a strict majority of {} members",
            members.len()
        ),
        (!is_majority_threshold(threshold, members.len()))
            .then(|| format!("{threshold} of {}", members.len())),
    );
    let domain = bridge
        .domainSeparator()
        .call()
        .await
        .wrap_err_with(|| ctx("domainSeparator"))?;
    let want: B256 = transfer_domain(c.chain_id, k.bridge).separator();
    check(
        format!(
            "the bridge signs for chain {} at its own address",
            c.chain_id
        ),
        (domain != want).then(|| format!("its domain separator is {domain}, expected {want}")),
    );
    if hub {
        return hub::hub_checks(c, &members, out).await;
    }
    let validators = bridge
        .validators()
        .call()
        .await
        .wrap_err_with(|| ctx("validators"))?;
    let v_threshold: usize = bridge
        .validatorThreshold()
        .call()
        .await
        .wrap_err_with(|| ctx("validatorThreshold"))?
        .saturating_to();
    check(
        format!(
            "the validator threshold {v_threshold} is a strict majority of {} validators",
            validators.len()
        ),
        (!is_majority_threshold(v_threshold, validators.len()))
            .then(|| format!("{v_threshold} of {}", validators.len())),
    );
    let shared: Vec<Address> = validators
        .iter()
        .filter(|v| members.contains(v))
        .copied()
        .collect();
    check(
        "no key is both a validator and a governance member".into(),
        (!shared.is_empty()).then(|| format!("{shared:?}")),
    );
    Ok(())
}

/// What each bridge says of the other: its address, chain id and domain.
async fn cross_checks(main: &GovChain, side: &GovChain, out: &mut Vec<Check>) -> eyre::Result<()> {
    let m = MainBridge::new(main.contracts.bridge, &main.provider);
    let s = SideBridge::new(side.contracts.bridge, &side.provider);
    let m_remote = m
        .sideBridge()
        .call()
        .await
        .wrap_err("reading sideBridge on the main chain")?;
    let s_remote = s
        .mainBridge()
        .call()
        .await
        .wrap_err("reading mainBridge on the side chain")?;
    let m_chain: u64 = m
        .remoteChainId()
        .call()
        .await
        .wrap_err("reading remoteChainId on the main chain")?
        .saturating_to();
    let s_chain: u64 = s
        .remoteChainId()
        .call()
        .await
        .wrap_err("reading remoteChainId on the side chain")?
        .saturating_to();
    let m_domain = m
        .sideDomainSeparator()
        .call()
        .await
        .wrap_err("reading sideDomainSeparator")?;
    let s_domain = s
        .mainDomainSeparator()
        .call()
        .await
        .wrap_err("reading mainDomainSeparator")?;
    let side_domain = transfer_domain(side.chain_id, side.contracts.bridge).separator();
    let main_domain = transfer_domain(main.chain_id, main.contracts.bridge).separator();
    let pairs = [
        (
            Chain::Main,
            "its side bridge is the side chain's bridge",
            m_remote != side.contracts.bridge,
            format!("{m_remote}"),
        ),
        (
            Chain::Side,
            "its main bridge is the main chain's bridge",
            s_remote != main.contracts.bridge,
            format!("{s_remote}"),
        ),
        (
            Chain::Main,
            "its remote chain is the side chain",
            m_chain != side.chain_id,
            format!("chain {m_chain}"),
        ),
        (
            Chain::Side,
            "its remote chain is the main chain",
            s_chain != main.chain_id,
            format!("chain {s_chain}"),
        ),
        (
            Chain::Main,
            "deposit ids are the side bridge's digests",
            m_domain != side_domain,
            format!("{m_domain}"),
        ),
        (
            Chain::Side,
            "withdrawal ids are the main bridge's digests",
            s_domain != main_domain,
            format!("{s_domain}"),
        ),
    ];
    for (chain, what, wrong, got) in pairs {
        let failure = wrong.then(|| format!("it says {got}"));
        out.push(Check::new(chain, what.to_string(), failure));
    }
    Ok(())
}

/// The checks as JSON: `{ "ok": bool, "checks": [...] }`.
pub(crate) fn to_json(checks: &[Check]) -> Value {
    json!({
        "ok": !checks.iter().any(Check::failed),
        "checks": checks.iter().map(|c| json!({
            "chain": c.chain.as_str(),
            "check": c.what,
            "ok": !c.failed(),
            "failure": c.failure.as_ref().filter(|_| !c.advisory),
            "warning": c.failure.as_ref().filter(|_| c.advisory),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The project's code with its immutables filled in is the project's code; any other byte
    /// changed, an argument of another PUSH, or a length, is not.
    #[test]
    fn code_matches_only_with_immutables_filled_in() {
        // PUSH1 0x80, PUSH32 <immutable>, PUSH2 0x1234, PUSH32 <a constant>, STOP
        let mut artifact = vec![0x60, 0x80, 0x7f];
        artifact.extend([0u8; 32]);
        artifact.extend([0x61, 0x12, 0x34, 0x7f]);
        artifact.extend([0xAA; 32]);
        artifact.push(0x00);
        let mut deployed = artifact.clone();
        deployed[3..35].copy_from_slice(&[0x42; 32]); // the immutable, filled in
        assert_eq!(same_code(&artifact, &deployed), Ok(()));

        let mut other = deployed.clone();
        other[36] = 0x13; // PUSH2's argument
        assert!(same_code(&artifact, &other).is_err());
        let mut other = deployed.clone();
        other[40] = 0xAB; // the constant PUSH32's argument
        assert!(same_code(&artifact, &other).is_err());
        let mut other = deployed.clone();
        other[2] = 0x7e; // the opcode itself
        assert!(same_code(&artifact, &other).is_err());
        let mut longer = deployed.clone();
        longer.push(0x00);
        assert!(same_code(&artifact, &longer).is_err());
    }

    /// Each contract's artifact matches itself, and no two of them match each other.
    #[test]
    fn the_artifacts_are_told_apart() {
        use sidebridge_contracts::bindings::MainHubAdmin;
        let all = [
            artifact(Chain::Main, "bridge", false),
            artifact(Chain::Main, "bridge", true),
            MainHubAdmin::DEPLOYED_BYTECODE.as_ref(),
            artifact(Chain::Side, "bridge", false),
            artifact(Chain::Main, "governance", false),
            artifact(Chain::Main, "operational", false),
        ];
        for (i, a) in all.iter().enumerate() {
            for (j, b) in all.iter().enumerate() {
                assert_eq!(same_code(a, b).is_ok(), i == j);
            }
        }
    }
}
