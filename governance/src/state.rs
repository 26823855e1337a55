//! Reading a chain's governed state: members, validators, guardians, tokens and proposals, as
//! `show` prints them and as `vote` / `execute` check them before anything is signed.

use std::collections::BTreeMap;

use alloy::primitives::{Address, B256, U256};
use eyre::{WrapErr, bail};
use serde_json::{Value, json};
use sidebridge_contracts::bindings::{
    AuthorityGovernance, IERC20Metadata, MainBridge, Operational,
};
use sidebridge_governance::{
    action::{Action, TokenInfo, duration},
    amount::format_amount,
};

use crate::{
    client::{GovChain, chain_time},
    hub_view::{RouteView, is_hub, routes},
};

/// Proposal status, as `AuthorityGovernance.state` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Unknown,
    Voting,
    Queued,
    Ready,
    Executed,
    Canceled,
    Expired,
}

impl Status {
    fn from_u8(v: u8) -> Status {
        match v {
            1 => Status::Voting,
            2 => Status::Queued,
            3 => Status::Ready,
            4 => Status::Executed,
            5 => Status::Canceled,
            6 => Status::Expired,
            _ => Status::Unknown,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Unknown => "unknown",
            Status::Voting => "voting",
            Status::Queued => "queued",
            Status::Ready => "ready",
            Status::Executed => "executed",
            Status::Canceled => "canceled",
            Status::Expired => "expired",
        }
    }

    /// Nothing more can happen to the proposal.
    pub(crate) fn is_final(self) -> bool {
        matches!(self, Status::Executed | Status::Canceled | Status::Expired)
    }
}

/// A proposal with its decoded action.
#[derive(Debug, Clone)]
pub(crate) struct ProposalView {
    pub(crate) id: B256,
    pub(crate) target: Address,
    pub(crate) data: alloy::primitives::Bytes,
    pub(crate) action: Action,
    pub(crate) proposer: Address,
    pub(crate) created_at: u64,
    /// Zero until the threshold is reached.
    pub(crate) eta: u64,
    pub(crate) voters: Vec<Address>,
    /// Votes of current members.
    pub(crate) votes: u64,
    pub(crate) status: Status,
}

/// A local token and its settings.
#[derive(Debug, Clone)]
pub(crate) struct TokenView {
    pub(crate) address: Address,
    pub(crate) info: TokenInfo,
    pub(crate) config: Operational::TokenConfig,
    pub(crate) available: U256,
    /// Inbound limits on this chain's bridge (keyed by the main-chain token).
    pub(crate) inbound: MainBridge::inboundLimitReturn,
    pub(crate) inbound_available: U256,
}

/// Everything `show` prints for one chain.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub(crate) chain: String,
    pub(crate) chain_id: u64,
    pub(crate) now: u64,
    pub(crate) governance: Address,
    pub(crate) bridge: Address,
    pub(crate) operational: Address,
    pub(crate) members: Vec<Address>,
    pub(crate) member_threshold: U256,
    pub(crate) timelock: U256,
    /// The timelock floor fixed at deployment.
    pub(crate) min_timelock: U256,
    pub(crate) validators: Vec<Address>,
    pub(crate) validator_threshold: U256,
    pub(crate) set_version: U256,
    pub(crate) paused: bool,
    pub(crate) guardians: Vec<Address>,
    pub(crate) fee_recipient: Address,
    pub(crate) tokens: Vec<TokenView>,
    /// The bridge is a hub: its routes (it has no validator set or inbound limits of its own).
    pub(crate) routes: Option<Vec<RouteView>>,
    pub(crate) proposals: Vec<ProposalView>,
}

impl GovChain {
    pub(crate) fn governance(
        &self,
    ) -> AuthorityGovernance::AuthorityGovernanceInstance<&alloy::providers::DynProvider> {
        AuthorityGovernance::new(self.contracts.governance, &self.provider)
    }

    pub(crate) fn operational(
        &self,
    ) -> Operational::OperationalInstance<&alloy::providers::DynProvider> {
        Operational::new(self.contracts.operational, &self.provider)
    }

    /// Symbol and decimals of a token on this chain.
    pub(crate) async fn token_info(&self, token: Address) -> eyre::Result<TokenInfo> {
        let t = IERC20Metadata::new(token, &self.provider);
        let decimals =
            t.decimals().call().await.wrap_err_with(|| {
                format!("{token} on the {} chain is not an ERC-20", self.chain)
            })?;
        let symbol = t.symbol().call().await.unwrap_or_else(|_| "?".to_string());
        Ok(TokenInfo { symbol, decimals })
    }

    /// Infos of the tokens the actions mention, for describing them. A main-chain token named
    /// on the side chain (inbound limits key on it) is described by its wrapped twin.
    pub(crate) async fn token_infos(
        &self,
        actions: impl IntoIterator<Item = &Action>,
    ) -> BTreeMap<Address, TokenInfo> {
        let mut infos = BTreeMap::new();
        for token in actions.into_iter().filter_map(Action::token) {
            if let std::collections::btree_map::Entry::Vacant(e) = infos.entry(token) {
                let info = match self.token_info(token).await {
                    Ok(info) => Some(info),
                    Err(_) => match self.operational().localOf(token).call().await {
                        Ok(local) if !local.is_zero() => self.token_info(local).await.ok(),
                        _ => None,
                    },
                };
                if let Some(info) = info {
                    e.insert(info);
                }
            }
        }
        infos
    }

    /// A proposal by id; `None` when this chain's governance does not know it.
    pub(crate) async fn proposal(&self, id: B256) -> eyre::Result<Option<ProposalView>> {
        let gov = self.governance();
        let p = gov
            .getProposal(id)
            .call()
            .await
            .wrap_err_with(|| format!("reading proposal {id} on the {} chain", self.chain))?;
        let status = Status::from_u8(p.status);
        if status == Status::Unknown {
            return Ok(None);
        }
        let count = gov.proposalCount().call().await?;
        if proposal_nonce(
            self.chain_id,
            self.contracts.governance,
            id,
            p.target,
            &p.data,
            count,
        )
        .is_none()
        {
            bail!(
                "the node's content for proposal {id} on the {} chain does not hash to that id \
                 (under chain id {} and governance {}): it is not shown, nor voted, nor executed",
                self.chain,
                self.chain_id,
                self.contracts.governance
            );
        }
        let votes = gov.currentVotes(id).call().await?;
        Ok(Some(ProposalView {
            id,
            action: Action::decode(p.target, &p.data, &self.contracts),
            target: p.target,
            data: p.data,
            proposer: p.proposer,
            created_at: p.createdAt,
            eta: p.eta,
            voters: p.voters,
            votes: u64::try_from(votes).unwrap_or(u64::MAX),
            status,
        }))
    }

    pub(crate) async fn snapshot(&self) -> eyre::Result<Snapshot> {
        let gov = self.governance();
        let op = self.operational();
        let bridge = MainBridge::new(self.contracts.bridge, &self.provider);
        let chain = self.chain;
        let ctx = |what: &str| format!("reading {what} on the {chain} chain");
        let hub = chain == sidebridge_core::domain::Chain::Main && is_hub(self).await;
        let closed = || MainBridge::inboundLimitReturn {
            cap: U256::ZERO,
            window: U256::ZERO,
            large: U256::ZERO,
            delay: U256::ZERO,
        };

        let mut tokens = Vec::new();
        for address in op
            .mappedTokens()
            .call()
            .await
            .wrap_err_with(|| ctx("tokens"))?
        {
            let config = op.tokenConfig(address).call().await?;
            if config.remote.is_zero() {
                continue;
            }
            let main_token = match chain {
                sidebridge_core::domain::Chain::Main => address,
                sidebridge_core::domain::Chain::Side => config.remote,
            };
            // a hub's inbound limits are per route (below)
            let (inbound, inbound_available) = if hub {
                (closed(), U256::ZERO)
            } else {
                (
                    bridge.inboundLimit(main_token).call().await?,
                    bridge.inboundAvailable(main_token).call().await?,
                )
            };
            tokens.push(TokenView {
                address,
                info: self.token_info(address).await?,
                available: op.availableCapacity(address).call().await?,
                inbound,
                inbound_available,
                config,
            });
        }
        let routes = if hub {
            let main_tokens: Vec<Address> = tokens.iter().map(|t| t.address).collect();
            Some(routes(self, &main_tokens).await?)
        } else {
            None
        };
        let mut proposals = Vec::new();
        for id in gov
            .proposalIds()
            .call()
            .await
            .wrap_err_with(|| ctx("proposals"))?
        {
            if let Some(p) = self.proposal(id).await? {
                proposals.push(p);
            }
        }
        Ok(Snapshot {
            chain: chain.to_string(),
            chain_id: self.chain_id,
            now: chain_time(&self.provider).await?,
            governance: self.contracts.governance,
            bridge: self.contracts.bridge,
            operational: self.contracts.operational,
            members: gov
                .members()
                .call()
                .await
                .wrap_err_with(|| ctx("members"))?,
            member_threshold: gov.threshold().call().await?,
            timelock: gov.delay().call().await?,
            min_timelock: gov.minDelay().call().await?,
            validators: if hub {
                Vec::new()
            } else {
                bridge
                    .validators()
                    .call()
                    .await
                    .wrap_err_with(|| ctx("validators"))?
            },
            validator_threshold: if hub {
                U256::ZERO
            } else {
                bridge.validatorThreshold().call().await?
            },
            set_version: if hub {
                U256::ZERO
            } else {
                bridge.validatorSetVersion().call().await?
            },
            paused: bridge.paused().call().await?,
            guardians: op.guardians().call().await?,
            fee_recipient: op.feeRecipient().call().await?,
            tokens,
            routes,
            proposals,
        })
    }
}

impl Snapshot {
    fn lookup(&self) -> impl Fn(Address) -> Option<TokenInfo> + '_ {
        |a| {
            self.tokens
                .iter()
                .find(|t| t.address == a)
                .map(|t| t.info.clone())
        }
    }

    pub(crate) fn to_json(&self) -> Value {
        let lookup = self.lookup();
        json!({
            "chain": self.chain,
            "chainId": self.chain_id,
            "chainTime": self.now,
            "governance": {
                "address": self.governance,
                "members": self.members,
                "threshold": self.member_threshold.to_string(),
                "timelockSecs": self.timelock.to_string(),
                "minTimelockSecs": self.min_timelock.to_string(),
            },
            "bridge": {
                "address": self.bridge,
                "validators": self.validators,
                "validatorThreshold": self.validator_threshold.to_string(),
                "validatorSetVersion": self.set_version.to_string(),
                "paused": self.paused,
            },
            "operational": {
                "address": self.operational,
                "guardians": self.guardians,
                "feeRecipient": self.fee_recipient,
            },
            "tokens": self.tokens.iter().map(|t| {
                let d = t.info.decimals;
                let c = &t.config;
                json!({
                    "address": t.address,
                    "symbol": t.info.symbol,
                    "decimals": d,
                    "remote": c.remote,
                    "minAmount": format_amount(c.minAmount, d),
                    "maxAmount": format_amount(c.maxAmount, d),
                    "windowCap": format_amount(c.windowCap, d),
                    "windowSecs": c.window,
                    "available": (c.windowCap != U256::ZERO).then(|| format_amount(t.available, d)),
                    "feeBps": c.feeBps,
                    "flatFee": format_amount(c.flatFee, d),
                    "maxFee": format_amount(c.maxFee, d),
                    "inbound": {
                        "cap": format_amount(t.inbound.cap, d),
                        "windowSecs": t.inbound.window.to_string(),
                        "large": format_amount(t.inbound.large, d),
                        "delaySecs": t.inbound.delay.to_string(),
                        "available": format_amount(t.inbound_available, d),
                    },
                })
            }).collect::<Vec<_>>(),
            "routes": self.routes.as_ref().map(|rs| rs.iter().map(|r| r.to_json(&lookup)).collect::<Vec<_>>()),
            "proposals": self.proposals.iter().map(|p| proposal_json(p, &lookup)).collect::<Vec<_>>(),
        })
    }

    pub(crate) fn print(&self, all_proposals: bool) {
        let lookup = self.lookup();
        println!("{} chain (chain id {})", self.chain, self.chain_id);
        println!(
            "  governance   {}  threshold {} of {} members, timelock {} (never below {})",
            self.governance,
            self.member_threshold,
            self.members.len(),
            duration(self.timelock),
            duration(self.min_timelock)
        );
        for m in &self.members {
            println!("    member     {m}");
        }
        let running = if self.paused { "PAUSED" } else { "running" };
        if let Some(routes) = &self.routes {
            println!(
                "  hub          {}  {} route(s), {running}",
                self.bridge,
                routes.len()
            );
            for r in routes {
                r.print(&lookup);
            }
        } else {
            println!(
                "  bridge       {}  threshold {} of {} validators, set version {}, {running}",
                self.bridge,
                self.validator_threshold,
                self.validators.len(),
                self.set_version,
            );
            for v in &self.validators {
                println!("    validator  {v}");
            }
        }
        println!(
            "  operational  {}  fee recipient {}",
            self.operational, self.fee_recipient
        );
        for g in &self.guardians {
            println!("    guardian   {g}");
        }
        if self.guardians.is_empty() {
            println!("    no guardians");
        }
        println!("  tokens");
        if self.tokens.is_empty() {
            println!("    none mapped");
        }
        for t in &self.tokens {
            let d = t.info.decimals;
            let c = &t.config;
            let amount = |v: U256| format_amount(v, d);
            let or_none = |v: U256| {
                if v.is_zero() {
                    "none".to_string()
                } else {
                    amount(v)
                }
            };
            println!(
                "    {} {} (decimals {d}) ↔ {}",
                t.info.symbol, t.address, c.remote
            );
            let cap = if c.windowCap.is_zero() {
                "no rolling cap".to_string()
            } else {
                format!(
                    "cap {} per {} ({} available now)",
                    amount(c.windowCap),
                    duration(U256::from(c.window)),
                    amount(t.available)
                )
            };
            println!(
                "      limits  min {}, max {}, {cap}",
                amount(c.minAmount),
                or_none(c.maxAmount)
            );
            println!(
                "      fees    {} bps + {} flat, max fee {}",
                c.feeBps,
                amount(c.flatFee),
                or_none(c.maxFee)
            );
            let i = &t.inbound;
            if self.routes.is_some() {
                // per route, above
            } else if i.cap.is_zero() {
                println!("      inbound closed");
            } else {
                println!(
                    "      inbound cap {} per {} ({} available now); above {} waits {}",
                    amount(i.cap),
                    duration(i.window),
                    amount(t.inbound_available),
                    amount(i.large),
                    duration(i.delay)
                );
            }
        }
        let shown: Vec<_> = self
            .proposals
            .iter()
            .filter(|p| all_proposals || !p.status.is_final())
            .collect();
        let hidden = self.proposals.len() - shown.len();
        println!(
            "  proposals{}",
            if hidden > 0 {
                format!(" ({hidden} finished not shown; --all shows them)")
            } else {
                String::new()
            }
        );
        if shown.is_empty() {
            println!("    none pending");
        }
        for p in shown {
            println!("    {}  {}", p.id, p.status.as_str());
            println!("      action   {}", p.action.describe(&lookup));
            println!(
                "      votes    {} of {} (by {})",
                p.votes,
                self.member_threshold,
                p.voters
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            println!("      eta      {}", eta_text(p.eta, self.now));
        }
    }
}

/// "not queued", "1700000000 (in 3600 s)" or "1700000000 (120 s ago)".
pub(crate) fn eta_text(eta: u64, now: u64) -> String {
    if eta == 0 {
        "not queued (threshold not reached)".to_string()
    } else if eta > now {
        format!("{eta} (in {})", duration(U256::from(eta - now)))
    } else {
        format!("{eta} (reached {} ago)", duration(U256::from(now - eta)))
    }
}

pub(crate) fn proposal_json(
    p: &ProposalView,
    lookup: &dyn Fn(Address) -> Option<TokenInfo>,
) -> Value {
    json!({
        "id": p.id,
        "status": p.status.as_str(),
        "action": p.action.to_json(lookup),
        "target": p.target,
        "data": p.data,
        "proposer": p.proposer,
        "createdAt": p.created_at,
        "eta": (p.eta != 0).then_some(p.eta),
        "votes": p.votes,
        "voters": p.voters,
    })
}

/// The nonce under which `target` called with `data` is proposal `id` of governance `gov` on
/// chain `chain_id` (its `proposalId`), tried up to `count` (the proposals created); `None`
/// when no nonce gives `id`. What a node answers for a proposal is shown, voted for or
/// executed only when it hashes to the id the member named: a node cannot put other content
/// under that id, since the id binds chain, governance, nonce, target and the data's keccak.
pub(crate) fn proposal_nonce(
    chain_id: u64,
    gov: Address,
    id: B256,
    target: Address,
    data: &[u8],
    count: U256,
) -> Option<U256> {
    let data_hash = alloy::primitives::keccak256(data);
    // a node that inflates the count only costs hashing: at most this many are tried
    let count = count.min(U256::from(1_000_000u64)).to::<u64>();
    (0..count).map(U256::from).find(|&nonce| {
        let encoded = alloy::sol_types::SolValue::abi_encode(&(
            U256::from(chain_id),
            gov,
            nonce,
            target,
            data_hash,
        ));
        alloy::primitives::keccak256(encoded) == id
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The finding: `bridgectl vote` showed whatever content the node returned for an id.
    /// Content is now accepted only when it hashes to the id (as `proposalId` computes it); a
    /// node swapping the target, the data, or answering for another chain or governance is
    /// refused.
    #[test]
    fn only_the_content_that_hashes_to_the_id_is_accepted() {
        let gov = Address::repeat_byte(0x60);
        let target = Address::repeat_byte(0x61);
        let data = [0xde, 0xad, 0xbe, 0xef];
        let id = alloy::primitives::keccak256(alloy::sol_types::SolValue::abi_encode(&(
            U256::from(31_337u64),
            gov,
            U256::from(4u64),
            target,
            alloy::primitives::keccak256(data),
        )));
        let count = U256::from(9u64);
        assert_eq!(
            proposal_nonce(31_337, gov, id, target, &data, count),
            Some(U256::from(4u64))
        );
        let other = Address::repeat_byte(0x62);
        assert_eq!(proposal_nonce(31_337, gov, id, other, &data, count), None);
        assert_eq!(
            proposal_nonce(31_337, gov, id, target, &[0xde, 0xad], count),
            None
        );
        assert_eq!(proposal_nonce(1, gov, id, target, &data, count), None);
        assert_eq!(
            proposal_nonce(31_337, other, id, target, &data, count),
            None
        );
        // a count that leaves out its nonce finds nothing either
        assert_eq!(
            proposal_nonce(31_337, gov, id, target, &data, U256::from(4u64)),
            None
        );
    }
}
