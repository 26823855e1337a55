//! The commands that sign: `propose`, `vote`, `execute`, `cancel` and `pause`. Each checks
//! everything it can on the chain first (membership, earlier votes, status, ETA) and simulates
//! the transaction with `eth_call`, so a doomed transaction is explained, not paid for; `vote`
//! and `execute` (and `propose`, whose vote counts) show the decoded action and the proposal
//! hash and want a confirmation before anything is sent.

use alloy::{
    contract::{CallBuilder, CallDecoder},
    primitives::{Address, B256, Bytes, U256},
    providers::Provider,
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
    sol_types::SolEvent,
};
use clap::Subcommand;
use eyre::{WrapErr, bail, eyre};
use serde_json::json;
use sidebridge_contracts::bindings::AuthorityGovernance;
use sidebridge_governance::{
    action::{Action, TokenInfo},
    amount::parse_amount,
    revert::{Source, decode_revert},
};
use sidebridge_relayer::domain::Chain;

use crate::{
    client::{ChainSel, ConnArgs, GovChain, chain_time, confirm, explain, mined},
    state::{ProposalView, Status, eta_text, proposal_json},
};

/// What a proposal should do. Tokens may be given by their main-chain or wrapped address;
/// each chain uses its local one. Amounts are in the token's decimals ("1.5").
#[derive(Debug, Clone, Subcommand)]
pub(crate) enum ProposeAction {
    /// Add a validator (a relayer's hot key).
    AddValidator { validator: Address },
    /// Remove a validator: its signatures stop counting once executed.
    RemoveValidator { validator: Address },
    /// How many validators must agree.
    SetValidatorThreshold { threshold: u64 },
    /// Add a governance member.
    AddMember { member: Address },
    /// Remove a governance member.
    RemoveMember { member: Address },
    /// How many members must vote for a proposal.
    SetMemberThreshold { threshold: u64 },
    /// Timelock between reaching the threshold and execution, in seconds.
    SetTimelockDelay { seconds: u64 },
    /// Map a main-chain token to its wrapped twin (on the main chain the main token is local,
    /// on the side chain the wrapped one).
    MapToken {
        #[arg(long)]
        main_token: Address,
        #[arg(long)]
        wrapped_token: Address,
    },
    /// Unmap a token: new outbound transfers of it are refused.
    UnmapToken { token: Address },
    /// Per-transfer bounds and the rolling-window cap of outbound transfers.
    SetLimits {
        token: Address,
        /// Smallest transfer, e.g. "0.5".
        #[arg(long)]
        min: String,
        /// Largest transfer, or "none".
        #[arg(long)]
        max: String,
        /// Most that may leave per window, or "none".
        #[arg(long, default_value = "none")]
        window_cap: String,
        /// Window length in seconds (the cap refills continuously over it).
        #[arg(long, default_value_t = 86_400)]
        window: u64,
    },
    /// Fee = flat + amount × bps / 10000, at most max-fee.
    SetFees {
        token: Address,
        #[arg(long)]
        bps: u16,
        /// Flat part of the fee, e.g. "0.1".
        #[arg(long, default_value = "0")]
        flat: String,
        /// Fee cap, or "none".
        #[arg(long, default_value = "none")]
        max_fee: String,
    },
    /// Where fees are sent.
    SetFeeRecipient { recipient: Address },
    /// Add a guardian (may pause at once).
    AddGuardian { guardian: Address },
    /// Remove a guardian.
    RemoveGuardian { guardian: Address },
    /// Unpause the bridge (only governance can).
    Unpause,
    /// Any other call governance may make, as raw calldata (one chain at a time: the target
    /// is a contract of that chain). Shown as unrecognised to every voter.
    Call {
        #[arg(long)]
        target: Address,
        /// ABI-encoded calldata, hex.
        #[arg(long)]
        data: Bytes,
    },
}

/// Options every signing command shares.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Confirm {
    pub(crate) yes: bool,
    pub(crate) json: bool,
}

// ---------------------------------------------------------------------------------- propose

pub(crate) async fn propose(
    chains: &[GovChain],
    key: &PrivateKeySigner,
    what: &ProposeAction,
    opts: Confirm,
) -> eyre::Result<()> {
    let me = key.address();
    if matches!(what, ProposeAction::Call { .. }) && chains.len() > 1 {
        bail!("a raw call targets one chain's contract: use --chain main or --chain side");
    }
    let mut planned = Vec::new();
    for c in chains {
        let action = resolve(c, what).await?;
        require_member(c, me).await?;
        let (target, data) = action.encode(&c.contracts);
        let infos = c.token_infos([&action]).await;
        let lookup = |a: Address| infos.get(&a).cloned();
        eprintln!("{} chain: {}", c.chain, action.describe(&lookup));
        eprintln!("  target   {target}");
        eprintln!("  calldata {data}");
        if let Some(why) = would_revert_now(c, target, &data).await {
            eprintln!(
                "  warning: executed now, this would revert with {why}; it may succeed after \
                 other proposals run"
            );
        }
        c.governance()
            .propose(target, data.clone())
            .from(me)
            .call()
            .await
            .map_err(|e| {
                explain(
                    &format!("proposing on the {} chain", c.chain),
                    Source::Governance,
                    e,
                )
            })?;
        planned.push((c, action, target, data));
    }
    let on = chains
        .iter()
        .map(|c| c.chain.as_str())
        .collect::<Vec<_>>()
        .join(" and ");
    let plural = if chains.len() > 1 { "s" } else { "" };
    confirm(
        &format!("propose this on the {on} chain{plural} (your vote counts)"),
        opts.yes,
    )?;
    let mut results = Vec::new();
    for (c, action, target, data) in planned {
        let pending = c
            .governance()
            .propose(target, data)
            .from(me)
            .send()
            .await
            .map_err(|e| {
                explain(
                    &format!("proposing on the {} chain", c.chain),
                    Source::Governance,
                    e,
                )
            })?;
        let receipt = mined(&format!("propose on {}", c.chain), pending).await?;
        let id = receipt
            .inner
            .logs()
            .iter()
            .find_map(|log| {
                (log.address() == c.contracts.governance)
                    .then(|| AuthorityGovernance::ProposalCreated::decode_log_data(log.data()).ok())
                    .flatten()
            })
            .map(|e| e.id)
            .ok_or_else(|| eyre!("no ProposalCreated event in the receipt on {}", c.chain))?;
        let view = c
            .proposal(id)
            .await?
            .ok_or_else(|| eyre!("proposal {id} vanished on {}", c.chain))?;
        results.push((c, view, action));
    }
    if opts.json {
        let out: Vec<_> = results
            .iter()
            .map(|(c, v, _)| json!({ "chain": c.chain.as_str(), "id": v.id, "status": v.status.as_str() }))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "proposals": out }))?
        );
    } else {
        for (c, v, _) in &results {
            println!("{:<5} {}  {}", c.chain.as_str(), v.id, v.status.as_str());
        }
    }
    Ok(())
}

/// The action on one chain: token addresses become that chain's local token, amounts are
/// read with its decimals.
async fn resolve(c: &GovChain, what: &ProposeAction) -> eyre::Result<Action> {
    use ProposeAction as P;
    let threshold = |n: u64| U256::from(n);
    Ok(match what {
        P::AddValidator { validator } => Action::AddValidator(*validator),
        P::RemoveValidator { validator } => Action::RemoveValidator(*validator),
        P::SetValidatorThreshold { threshold: n } => Action::SetValidatorThreshold(threshold(*n)),
        P::AddMember { member } => Action::AddMember(*member),
        P::RemoveMember { member } => Action::RemoveMember(*member),
        P::SetMemberThreshold { threshold: n } => Action::SetMemberThreshold(threshold(*n)),
        P::SetTimelockDelay { seconds } => Action::SetTimelockDelay(U256::from(*seconds)),
        P::MapToken {
            main_token,
            wrapped_token,
        } => match c.chain {
            Chain::Main => Action::MapToken {
                local: *main_token,
                remote: *wrapped_token,
            },
            Chain::Side => Action::MapToken {
                local: *wrapped_token,
                remote: *main_token,
            },
        },
        P::UnmapToken { token } => Action::UnmapToken(local_token(c, *token).await?),
        P::SetLimits {
            token,
            min,
            max,
            window_cap,
            window,
        } => {
            let token = local_token(c, *token).await?;
            let info = c.token_info(token).await?;
            let window_cap = amount_or_none(window_cap, &info, "--window-cap")?;
            if !window_cap.is_zero() && *window == 0 {
                bail!("--window must be positive when --window-cap is set");
            }
            Action::SetLimits {
                token,
                min_amount: parse_amount(min, info.decimals).wrap_err("--min")?,
                max_amount: amount_or_none(max, &info, "--max")?,
                window_cap,
                window: *window,
            }
        }
        P::SetFees {
            token,
            bps,
            flat,
            max_fee,
        } => {
            let token = local_token(c, *token).await?;
            let info = c.token_info(token).await?;
            Action::SetFees {
                token,
                fee_bps: *bps,
                flat_fee: parse_amount(flat, info.decimals).wrap_err("--flat")?,
                max_fee: amount_or_none(max_fee, &info, "--max-fee")?,
            }
        }
        P::SetFeeRecipient { recipient } => Action::SetFeeRecipient(*recipient),
        P::AddGuardian { guardian } => Action::AddGuardian(*guardian),
        P::RemoveGuardian { guardian } => Action::RemoveGuardian(*guardian),
        P::Unpause => Action::Unpause,
        P::Call { target, data } => Action::decode(*target, data, &c.contracts),
    })
}

fn amount_or_none(s: &str, info: &TokenInfo, flag: &str) -> eyre::Result<U256> {
    if s.eq_ignore_ascii_case("none") {
        return Ok(U256::ZERO);
    }
    parse_amount(s, info.decimals).wrap_err_with(|| flag.to_string())
}

/// The chain's local token for `token`, given as either side's address.
async fn local_token(c: &GovChain, token: Address) -> eyre::Result<Address> {
    let op = c.operational();
    if !op.tokenConfig(token).call().await?.remote.is_zero() {
        return Ok(token);
    }
    let local = op.localOf(token).call().await?;
    if !local.is_zero() {
        return Ok(local);
    }
    bail!("token {token} is not mapped on the {} chain", c.chain)
}

/// The decoded error the action would raise if governance ran it now.
async fn would_revert_now(c: &GovChain, target: Address, data: &[u8]) -> Option<String> {
    let tx = TransactionRequest::default()
        .from(c.contracts.governance)
        .to(target)
        .input(data.to_vec().into());
    match c.provider.call(tx).await {
        Ok(_) => None,
        Err(e) => Some(
            e.as_error_resp()
                .and_then(|r| r.as_revert_data())
                .and_then(|d| decode_revert(&d, c.source_of(target)))
                .map(|e| format!("{}: {}", e.name, e.detail))
                .unwrap_or_else(|| e.to_string()),
        ),
    }
}

async fn require_member(c: &GovChain, me: Address) -> eyre::Result<()> {
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
    if p.proposer != me {
        bail!(
            "not the proposer: only {} can cancel proposal {} (you are {me})",
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

// ---------------------------------------------------------------------------------- pause

/// A guardian pauses at once: no proposal, no timelock, no confirmation.
pub(crate) async fn pause(
    chains: &[GovChain],
    key: &PrivateKeySigner,
    json: bool,
) -> eyre::Result<()> {
    let me = key.address();
    for c in chains {
        let op = c.operational();
        if !op.isGuardian(me).call().await? && op.owner().call().await? != me {
            bail!("not a guardian: {me} may not pause the {} chain", c.chain);
        }
    }
    let mut out = Vec::new();
    for c in chains {
        let op = c.operational();
        if op.paused().call().await? {
            eprintln!("the {} chain's bridge is already paused", c.chain);
        } else {
            op.pause().from(me).call().await.map_err(|e| {
                explain(
                    &format!("pausing the {} chain", c.chain),
                    Source::Operational,
                    e,
                )
            })?;
            let pending = op.pause().from(me).send().await.map_err(|e| {
                explain(
                    &format!("pausing the {} chain", c.chain),
                    Source::Operational,
                    e,
                )
            })?;
            mined(&format!("pause on {}", c.chain), pending).await?;
        }
        out.push(c.chain.as_str());
    }
    if json {
        println!("{}", json!({ "paused": out }));
    } else {
        for chain in out {
            println!("{chain:<5} paused");
        }
    }
    Ok(())
}
