//! `deposit` and `withdraw`: read the token's rules, the pause, the wallet's balances and the
//! gas a transaction will cost; refuse with the reason before anything is signed; approve when
//! needed (by an EIP-2612 permit inside the lock when the token has `permit`, else one
//! `approve` transaction); then lock or burn and return the transfer the source event names.

use alloy::{
    eips::eip1559::Eip1559Estimation,
    network::TransactionBuilder,
    primitives::{Address, U256},
    providers::{DynProvider, Provider},
    rpc::types::{TransactionReceipt, TransactionRequest},
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::SolCall,
};
use eyre::{WrapErr, bail, eyre};
use sidebridge_contracts::{
    bindings::{IERC20Metadata, IERC20Permit, Operational, SideBridge},
    permit_digest,
};
use sidebridge_core::{
    amount::{format_amount, parse_amount},
    domain::{Chain, Direction},
    revert::{Source, decode_revert},
};

use crate::{
    network::Net,
    refusal::{Limits, OutboundFacts, Refusal},
    track::{self, Located},
};

/// Gas assumed for a `lock` that cannot be estimated before its `approve` is mined (measured
/// at about 80,000; see docs/perf.md), with room for a cold token.
const LOCK_GAS_BUDGET: u64 = 150_000;

/// A token as the holder named it, resolved on one chain.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) address: Address,
    pub(crate) symbol: String,
    pub(crate) decimals: u8,
}

/// Resolves `name` (symbol or address) to the token on `chain`: the main token for deposits,
/// the wrapped one for withdrawals.
pub(crate) async fn resolve(net: &Net, chain: Chain, name: &str) -> eyre::Result<Token> {
    if let Some(t) = net.deployment.token(name) {
        return Ok(match chain {
            Chain::Main => Token {
                address: t.main_token,
                symbol: t.symbol.clone(),
                decimals: t.decimals,
            },
            Chain::Side => Token {
                address: t.wrapped_token,
                symbol: format!("w{}", t.symbol),
                decimals: t.decimals,
            },
        });
    }
    let address: Address = name.parse().map_err(|_| {
        let known: Vec<&str> = net
            .deployment
            .tokens
            .iter()
            .map(|t| t.symbol.as_str())
            .collect();
        eyre!(
            "unknown token {name:?}: give an address or a symbol of the deployment ({})",
            known.join(", ")
        )
    })?;
    let erc20 = IERC20Metadata::new(address, net.provider(chain));
    let decimals = erc20.decimals().call().await.map_err(|_| {
        eyre!("{address} on the {chain} chain is not an ERC-20 token (no decimals())")
    })?;
    let symbol = erc20
        .symbol()
        .call()
        .await
        .unwrap_or_else(|_| address.to_string());
    Ok(Token {
        address,
        symbol,
        decimals,
    })
}

/// What one outbound transfer asks for.
#[derive(Debug, Clone)]
pub(crate) struct Request<'a> {
    pub(crate) direction: Direction,
    pub(crate) token: &'a str,
    pub(crate) amount: &'a str,
    pub(crate) to: Option<Address>,
    /// A withdrawal chained through the hub to another side chain: that route.
    pub(crate) chained: Option<&'a Net>,
}

/// Checks, approves when needed, and sends the lock or burn; returns the transfer.
pub(crate) async fn send(
    net: &Net,
    wallet: &PrivateKeySigner,
    req: &Request<'_>,
) -> eyre::Result<Result<Located, Refusal>> {
    let chain = req.direction.source();
    let p = net.provider(chain);
    let info = net.info(chain);
    let me = wallet.address();
    let recipient = req.to.unwrap_or(me);
    // the bridges refuse a bridge as recipient (tokens there would be stuck); say so before an
    // approve is mined ahead of a lock that would revert
    let bridges = [net.info(Chain::Main).bridge, net.info(Chain::Side).bridge];
    if bridges.contains(&recipient) {
        bail!("--recipient {recipient} is a bridge: tokens sent there would be stuck");
    }
    let token = resolve(net, chain, req.token).await?;
    let amount = parse_amount(req.amount, token.decimals).map_err(|e| eyre!("amount: {e}"))?;
    if amount.is_zero() {
        bail!("amount: must be more than zero");
    }

    let op = Operational::new(info.operational, p);
    let mut cfg = op.tokenConfig(token.address).call().await?;
    let paused = match chain {
        Chain::Main => {
            // a hub maps its tokens per route: one not open toward this side chain is unmapped
            if !crate::main_end::sends(net, token.address).await? {
                cfg.remote = Address::ZERO;
            }
            crate::main_end::state(net).await?.paused
        }
        Chain::Side => {
            // on a hub, the source route must also take withdrawals there: a burn from a paused
            // or retired route would wait (or, retired, never be released), and nothing parks it
            if net.deployment.route.is_some() && crate::main_end::state(net).await?.paused {
                return Ok(Err(Refusal::Paused { chain: Chain::Main }));
            }
            SideBridge::new(info.bridge, p).paused().call().await?
        }
    };
    let facts = OutboundFacts {
        chain,
        token: token.address,
        symbol: token.symbol.clone(),
        decimals: token.decimals,
        paused,
        limits: Limits {
            remote: cfg.remote,
            min_amount: cfg.minAmount,
            max_amount: cfg.maxAmount,
            window_cap: cfg.windowCap,
            window_secs: cfg.window,
        },
        available: op.availableCapacity(token.address).call().await?,
        balance: IERC20Metadata::new(token.address, p)
            .balanceOf(me)
            .call()
            .await?,
    };
    if let Err(refusal) = facts.check(amount) {
        return Ok(Err(refusal));
    }
    let fee = op.quoteFee(token.address, amount).call().await?;
    let main_token = match req.direction {
        Direction::Deposit => token.address,
        Direction::Withdrawal => cfg.remote,
    };
    inbound_notes(net, req.direction, main_token, amount - fee, &token).await?;
    if let Some(dst) = req.chained
        && let Some(why) = hop_refusal(dst, main_token, amount - fee, recipient).await?
    {
        return Ok(Err(Refusal::DestinationRefuses {
            to: dst.deployment.side_name.clone(),
            why,
        }));
    }

    // the calls to make, in order
    let mut calls: Vec<(&'static str, Address, Vec<u8>)> = Vec::new();
    let main_call = match (req.direction, req.chained) {
        (Direction::Withdrawal, None) => SideBridge::burnCall {
            wrapped: token.address,
            amount,
            recipient,
        }
        .abi_encode(),
        (Direction::Withdrawal, Some(dst)) => SideBridge::burnToCall {
            wrapped: token.address,
            amount,
            dstChainId: U256::from(dst.info(Chain::Side).chain_id),
            dstBridge: dst.info(Chain::Side).bridge,
            recipient,
        }
        .abi_encode(),
        (Direction::Deposit, _) => {
            let allowance = IERC20Metadata::new(token.address, p)
                .allowance(me, info.bridge)
                .call()
                .await?;
            if allowance >= amount {
                crate::main_end::lock_call(net, token.address, amount, recipient)
            } else if let Some(call) =
                permit_lock_call(net, wallet, &token, amount, recipient).await?
            {
                call
            } else {
                calls.push((
                    "approve",
                    token.address,
                    IERC20Metadata::approveCall {
                        spender: info.bridge,
                        amount,
                    }
                    .abi_encode(),
                ));
                crate::main_end::lock_call(net, token.address, amount, recipient)
            }
        }
    };
    let verb = match req.direction {
        Direction::Deposit => "lock",
        Direction::Withdrawal => "burn",
    };
    calls.push((verb, info.bridge, main_call));

    // gas for all of it, before the first is sent
    let fees = chain_fees(p).await?;
    let mut gas = 0u64;
    for (i, (what, to, data)) in calls.iter().enumerate() {
        gas += if i == 0 {
            estimate(p, me, *to, data, what).await?
        } else {
            // a lock after an approve reverts until the approve is mined: budget it
            LOCK_GAS_BUDGET
        };
    }
    let need_wei = U256::from(gas) * U256::from(fees.max_fee_per_gas);
    let have_wei = p.get_balance(me).await.wrap_err("reading the balance")?;
    if have_wei < need_wei {
        return Ok(Err(Refusal::InsufficientGas {
            chain,
            have_wei,
            need_wei,
        }));
    }

    let destination = match req.chained {
        Some(dst) => format!(
            "side chain {} (through the main chain)",
            dst.deployment.side_name
        ),
        None if req.direction == Direction::Deposit && net.deployment.route.is_some() => {
            format!("side chain {}", net.deployment.side_name)
        }
        None => format!("the {} chain", req.direction.destination()),
    };
    eprintln!(
        "{verb}ing {} {} (fee {}) for {recipient} on {destination}",
        format_amount(amount, token.decimals),
        token.symbol,
        format_amount(fee, token.decimals),
    );
    let mut last = None;
    for (what, to, data) in calls {
        last = Some(transact(p, me, to, data, what).await?);
    }
    let receipt = last.expect("at least the lock or burn was sent");
    let located = receipt
        .inner
        .logs()
        .iter()
        .filter(|l| l.address() == info.bridge)
        .find_map(|l| track::from_source_log(net, chain, l))
        .ok_or_else(|| eyre!("{verb} transaction mined without a transfer event"))?;
    Ok(Ok(located))
}

/// `lockWithPermit` with a fresh permit signature, when the token speaks EIP-2612 and its
/// domain is the one this holder trusts: the domain separator is built from the deployment
/// file's chain id and the token's address, and the token must report the same (else the
/// holder approves instead). A node that lies about the nonce only makes the permit fail, and
/// the lock then reverts in the simulation before anything is sent.
async fn permit_lock_call(
    net: &Net,
    wallet: &PrivateKeySigner,
    token: &Token,
    amount: U256,
    recipient: Address,
) -> eyre::Result<Option<Vec<u8>>> {
    let p = net.provider(Chain::Main);
    let info = net.info(Chain::Main);
    let bridge = info.bridge;
    let permit = IERC20Permit::new(token.address, p);
    let (Ok(nonce), Ok(reported), Ok(fields)) = (
        permit.nonces(wallet.address()).call().await,
        permit.DOMAIN_SEPARATOR().call().await,
        permit.eip712Domain().call().await,
    ) else {
        return Ok(None);
    };
    let domain = sidebridge_contracts::domain_separator(
        &fields.name,
        &fields.version,
        info.chain_id,
        token.address,
    );
    if domain != reported {
        eprintln!(
            "note: the token's permit domain is not its own on chain {} (reported {reported}, expected {domain}); approving instead",
            info.chain_id
        );
        return Ok(None);
    }
    let now = p
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await?
        .map(|b| b.header.timestamp)
        .unwrap_or_default();
    let deadline = U256::from(now + 3_600);
    let digest = permit_digest(domain, wallet.address(), bridge, amount, nonce, deadline);
    let signature = wallet
        .sign_hash_sync(&digest)
        .wrap_err("signing the permit")?;
    eprintln!("approving by permit (no separate approve transaction)");
    Ok(Some(crate::main_end::lock_with_permit_call(
        net,
        token.address,
        amount,
        recipient,
        crate::main_end::Permit {
            deadline,
            v: 27 + u8::from(signature.v()),
            r: signature.r().into(),
            s: signature.s().into(),
        },
    )))
}

/// Tells the holder what the destination's inbound limits will do to this transfer: a large
/// one waits in the queue, one above what is left now waits for the cap to refill.
async fn inbound_notes(
    net: &Net,
    direction: Direction,
    main_token: Address,
    net_amount: U256,
    token: &Token,
) -> eyre::Result<()> {
    let dst = direction.destination();
    let (large, delay, available) = match dst {
        Chain::Main => crate::main_end::inbound(net, main_token).await?,
        Chain::Side => {
            let bridge = SideBridge::new(net.info(dst).bridge, net.provider(dst));
            let limit = bridge.inboundLimit(main_token).call().await?;
            let available = bridge.inboundAvailable(main_token).call().await?;
            (limit.large, limit.delay, available)
        }
    };
    let show = |v: U256| format!("{} {}", format_amount(v, token.decimals), token.symbol);
    if !large.is_zero() && net_amount > large {
        eprintln!(
            "note: above {} a transfer waits {delay} s in the {dst} bridge's queue after the validators agree",
            show(large),
        );
    }
    if net_amount > available {
        eprintln!(
            "note: the {dst} bridge takes in {} more now; this transfer completes once its inbound cap refills",
            show(available)
        );
    }
    Ok(())
}

/// Why the hub would park a chained transfer toward `dst` rather than forward it (the route
/// paused or retired, the token not open toward it, the recipient a bridge), read before the
/// burn is signed. The hub checks again when it settles: this only spares the holder a wait.
async fn hop_refusal(
    dst: &Net,
    main_token: Address,
    arriving: U256,
    recipient: Address,
) -> eyre::Result<Option<String>> {
    let state = crate::main_end::state(dst).await?;
    if state.paused {
        return Ok(Some("its route is paused or retired".into()));
    }
    if !crate::main_end::sends(dst, main_token).await? {
        return Ok(Some("the token is not open toward it".into()));
    }
    if recipient == dst.info(Chain::Side).bridge || recipient == dst.info(Chain::Main).bridge {
        return Ok(Some("the recipient is a bridge".into()));
    }
    // the hop is an outbound transfer of the main chain's Operational: its minimum, maximum
    // and listing apply to what arrives from the first leg
    let op = Operational::new(dst.info(Chain::Main).operational, dst.provider(Chain::Main));
    if let Err(e) = op.quoteOutbound(main_token, arriving).call().await {
        let data = e.as_revert_data();
        return match data.and_then(|d| decode_revert(&d, Source::Operational)) {
            Some(err) => Ok(Some(format!(
                "the main chain's rules refuse the hop of what arrives: {}",
                err.detail
            ))),
            None => Err(eyre!("quoting the hop on the main chain: {e}")),
        };
    }
    Ok(None)
}

fn request(from: Address, to: Address, data: &[u8]) -> TransactionRequest {
    TransactionRequest::default()
        .with_from(from)
        .with_to(to)
        .with_input(data.to_vec())
}

/// A revert in words, from any Sidebridge contract's errors.
fn explain(
    what: &str,
    err: impl std::fmt::Display,
    data: Option<alloy::primitives::Bytes>,
) -> eyre::Report {
    match data.and_then(|d| decode_revert(&d, Source::Bridge)) {
        Some(e) => eyre!("{what} would revert with {}: {}", e.name, e.detail),
        None => eyre!("{what}: {err}"),
    }
}

/// Gas of one call, or the revert it would give in words.
pub(crate) async fn estimate(
    p: &DynProvider,
    from: Address,
    to: Address,
    data: &[u8],
    what: &str,
) -> eyre::Result<u64> {
    p.estimate_gas(request(from, to, data)).await.map_err(|e| {
        let data = e.as_error_resp().and_then(|r| r.as_revert_data());
        explain(what, &e, data)
    })
}

/// The fees a transaction offers on `p`'s chain: none on a chain that charges no gas (the
/// platform's side chains: [`sidebridge_core::gas::charges_no_gas`]), so a holder needs no coin
/// there (the node's suggested tip would otherwise make the wallet pay one); else the usual
/// EIP-1559 estimate.
pub(crate) async fn chain_fees(p: &DynProvider) -> eyre::Result<Eip1559Estimation> {
    if sidebridge_core::gas::charges_no_gas(p)
        .await
        .wrap_err("reading the gas price")?
    {
        return Ok(Eip1559Estimation {
            max_fee_per_gas: 0,
            max_priority_fee_per_gas: 0,
        });
    }
    p.estimate_eip1559_fees().await.wrap_err("reading gas fees")
}

/// Sends one call and waits for a successful receipt.
pub(crate) async fn transact(
    p: &DynProvider,
    from: Address,
    to: Address,
    data: Vec<u8>,
    what: &str,
) -> eyre::Result<TransactionReceipt> {
    let fees = chain_fees(p).await?;
    let tx = request(from, to, &data)
        .with_max_fee_per_gas(fees.max_fee_per_gas)
        .with_max_priority_fee_per_gas(fees.max_priority_fee_per_gas);
    let pending = p.send_transaction(tx).await.map_err(|e| {
        let data = e.as_error_resp().and_then(|r| r.as_revert_data());
        explain(what, &e, data)
    })?;
    let hash = *pending.tx_hash();
    eprintln!("{what}: sent {hash}");
    let receipt = pending
        .get_receipt()
        .await
        .wrap_err_with(|| format!("{what}: waiting for {hash}"))?;
    if !receipt.status() {
        bail!("{what}: transaction {hash} reverted (nothing moved)");
    }
    Ok(receipt)
}
