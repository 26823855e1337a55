//! The commands that decide on a proposal: `vote`, `execute` and `cancel` (`propose` is in
//! `propose`, the guardians' `pause` and `hold` in `guardian`). Each checks everything it can
//! on the chain first (membership, earlier votes, status, ETA) and simulates the transaction
//! with `eth_call`, so a doomed transaction is explained, not paid for; `vote` and `execute`
//! show the decoded action and the proposal hash and want a confirmation before anything is
//! sent.

use alloy::{
    contract::{CallBuilder, CallDecoder},
    primitives::{Address, B256, U256},
    providers::Provider,
    signers::local::PrivateKeySigner,
};
use eyre::{bail, eyre};
use serde_json::json;
use sidebridge_governance::revert::Source;

use crate::{
    client::{ChainSel, ConnArgs, GovChain, chain_time, confirm, explain, mined},
    state::{ProposalView, Status, eta_text, proposal_json},
};

/// Options every signing command shares.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Confirm {
    pub(crate) yes: bool,
    pub(crate) json: bool,
}

/// Refuses a key that is not a governance member on chain `c`.
pub(crate) async fn require_member(c: &GovChain, me: Address) -> eyre::Result<()> {
    if !c.governance().isMember(me).call().await? {
        bail!(
            "not a member: {me} is not a governance member on the {} chain",
            c.chain
        );
    }
    Ok(())
}

// ---------------------------------------------------------------- vote, execute, cancel

/// Finds proposal `id`: on the chosen chain, or on whichever chain knows it. A proposal found
/// only on the other chain is a "wrong chain" error (ids bind their chain).
pub(crate) async fn locate(
    conn: &ConnArgs,
    sel: Option<ChainSel>,
    key: &PrivateKeySigner,
    id: B256,
) -> eyre::Result<(GovChain, ProposalView)> {
    let wanted = sel.unwrap_or(ChainSel::Both);
    let chains = conn.connect(wanted, Some(key)).await?;
    for c in &chains {
        if let Some(p) = c.proposal(id).await? {
            return Ok((c.clone(), p));
        }
    }
    if let Some(sel @ (ChainSel::Main | ChainSel::Side)) = sel {
        let other = if sel == ChainSel::Main {
            ChainSel::Side
        } else {
            ChainSel::Main
        };
        if let Ok(others) = conn.connect(other, None).await
            && let Some(c) = others.first()
            && c.proposal(id).await?.is_some()
        {
            bail!(
                "wrong chain: proposal {id} is on the {} chain, not the {} chain",
                c.chain,
                chains[0].chain
            );
        }
    }
    let names: Vec<_> = chains.iter().map(|c| c.chain.as_str()).collect();
    bail!(
        "unknown proposal: {id} does not exist on the {} chain",
        names.join(" or ")
    )
}

async fn print_proposal(c: &GovChain, p: &ProposalView) -> eyre::Result<u64> {
    let threshold = c.governance().threshold().call().await?;
    let now = chain_time(&c.provider).await?;
    let infos = c.token_infos([&p.action]).await;
    let lookup = |a: Address| infos.get(&a).cloned();
    eprintln!("proposal {} on the {} chain", p.id, c.chain);
    eprintln!("  action   {}", p.action.describe(&lookup));
    eprintln!("  target   {}", p.target);
    eprintln!("  calldata {}", p.data);
    eprintln!("  proposer {}", p.proposer);
    eprintln!("  status   {}", p.status.as_str());
    eprintln!("  votes    {} of {threshold}", p.votes);
    eprintln!("  eta      {}", eta_text(p.eta, now));
    Ok(now)
}

async fn report(c: &GovChain, id: B256, verb: &str, json: bool) -> eyre::Result<()> {
    let p = c
        .proposal(id)
        .await?
        .ok_or_else(|| eyre!("proposal {id} vanished"))?;
    let infos = c.token_infos([&p.action]).await;
    let lookup = |a: Address| infos.get(&a).cloned();
    if json {
        let mut v = proposal_json(&p, &lookup);
        v["chain"] = json!(c.chain.as_str());
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        let now = chain_time(&c.provider).await?;
        println!(
            "{verb} {} on {}: {}, {} votes, eta {}",
            p.id,
            c.chain,
            p.status.as_str(),
            p.votes,
            eta_text(p.eta, now)
        );
    }
    Ok(())
}

pub(crate) async fn vote(
    c: &GovChain,
    p: &ProposalView,
    key: &PrivateKeySigner,
    opts: Confirm,
) -> eyre::Result<()> {
    let me = key.address();
    let gov = c.governance();
    require_member(c, me).await?;
    if gov.hasVoted(p.id, me).call().await? {
        bail!(
            "already voted: {me} has voted for {} on the {} chain",
            p.id,
            c.chain
        );
    }
    if p.status.is_final() {
        bail!(
            "{}: proposal {} on the {} chain can no longer be voted on",
            p.status.as_str(),
            p.id,
            c.chain
        );
    }
    let step = Step {
        context: "voting",
        source: Source::Governance,
        prompt: "vote for this proposal",
        label: "vote",
        verb: "voted for",
    };
    simulate_confirm_send(c, p, gov.vote(p.id).from(me), step, opts).await
}

pub(crate) async fn execute(
    c: &GovChain,
    p: &ProposalView,
    key: &PrivateKeySigner,
    opts: Confirm,
) -> eyre::Result<()> {
    let gov = c.governance();
    let threshold = gov.threshold().call().await?;
    let now = chain_time(&c.provider).await?;
    let id = p.id;
    match p.status {
        Status::Voting => bail!(
            "threshold not met: proposal {id} has {} of {threshold} votes on the {} chain",
            p.votes,
            c.chain
        ),
        Status::Queued => bail!(
            "before ETA: proposal {id} can be executed from {} on the {} chain",
            eta_text(p.eta, now),
            c.chain
        ),
        Status::Expired => bail!(
            "expired: proposal {id} on the {} chain can no longer be executed",
            c.chain
        ),
        Status::Executed => bail!("already executed: proposal {id} on the {} chain", c.chain),
        Status::Canceled => bail!("canceled: proposal {id} on the {} chain", c.chain),
        Status::Ready | Status::Unknown => {}
    }
    if U256::from(p.votes) < threshold {
        bail!(
            "threshold not met: proposal {id} has {} of {threshold} votes of current members on \
             the {} chain (votes of removed members do not count)",
            p.votes,
            c.chain
        );
    }
    let step = Step {
        context: "executing",
        source: c.source_of(p.target),
        prompt: "execute this proposal",
        label: "execute",
        verb: "executed",
    };
    simulate_confirm_send(c, p, gov.execute(id).from(key.address()), step, opts).await
}

pub(crate) async fn cancel(
    c: &GovChain,
    p: &ProposalView,
    key: &PrivateKeySigner,
    opts: Confirm,
) -> eyre::Result<()> {
    let me = key.address();
    if p.proposer != me
        && !c.governance().isMember(me).call().await?
        && !c.operational().isGuardian(me).call().await?
    {
        bail!(
            "not a canceller: only the proposer {}, a member or a guardian can cancel proposal {} \
             (you are {me})",
            p.proposer,
            p.id
        );
    }
    if p.status.is_final() {
        bail!(
            "{}: proposal {} on the {} chain cannot be canceled",
            p.status.as_str(),
            p.id,
            c.chain
        );
    }
    let step = Step {
        context: "canceling",
        source: Source::Governance,
        prompt: "cancel this proposal",
        label: "cancel",
        verb: "canceled",
    };
    let gov = c.governance();
    simulate_confirm_send(c, p, gov.cancel(p.id).from(me), step, opts).await
}

/// How a decision on a proposal is named in prompts and messages.
struct Step<'a> {
    /// What failed, in an error ("voting").
    context: &'a str,
    /// Whose custom errors a revert most likely carries.
    source: Source,
    prompt: &'a str,
    /// The transaction, in progress lines ("vote").
    label: &'a str,
    /// The result ("voted for").
    verb: &'a str,
}

/// Simulates `call` (a doomed transaction is explained, never sent), shows the proposal and asks
/// for confirmation, then sends it, waits for it and reports the proposal's new state.
async fn simulate_confirm_send<P: Provider, D: CallDecoder>(
    c: &GovChain,
    p: &ProposalView,
    call: CallBuilder<P, D>,
    step: Step<'_>,
    opts: Confirm,
) -> eyre::Result<()> {
    call.call()
        .await
        .map_err(|e| explain(step.context, step.source, e))?;
    print_proposal(c, p).await?;
    confirm(step.prompt, opts.yes)?;
    let pending = call
        .send()
        .await
        .map_err(|e| explain(step.context, step.source, e))?;
    mined(&format!("{} on {}", step.label, c.chain), pending).await?;
    report(c, p.id, step.verb, opts.json).await
}
