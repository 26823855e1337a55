//! `bridgectl verify`, the tokens: every mapping the main chain's Operational holds, read back
//! on the side chain. A wrapped token must run the project's `WrappedToken` code (immutables
//! filled in, as for the other contracts), be minted and burned by the side bridge alone,
//! stand for the main token it is mapped to, with the same decimals, and be mapped back to it;
//! a mapping the side chain holds must be mirrored on the main chain.
//!
//! An attacker's best strategy here is a look-alike wrapped token: the project's code with
//! another minter or another main token in its immutable slots (both read back and compared),
//! or a token whose mapping on one side points elsewhere than on the other (each mapping is
//! read from both Operational contracts). A mapped token whose inbound is closed on a bridge
//! (cap 0: the contracts bound every inbound transfer by a cap, so closed is the only
//! "unlimited" there is not) is not a failure — governance may close it — but `verify` warns:
//! transfers of it into that chain wait until governance opens it.

use alloy::{primitives::Address, providers::Provider};
use eyre::WrapErr;
use sidebridge_contracts::bindings::{IERC20Metadata, MainBridge, Operational, WrappedToken};
use sidebridge_core::domain::Chain;

use super::{Check, same_code};
use crate::client::GovChain;

pub(super) async fn token_checks(
    main: &GovChain,
    side: &GovChain,
    out: &mut Vec<Check>,
) -> eyre::Result<()> {
    let m_op = Operational::new(main.contracts.operational, &main.provider);
    for (token, wrapped) in mapped(main).await? {
        for chain in [main, side] {
            inbound_open(chain, token, out).await?;
        }
        maps_back(side, token, wrapped, out).await?;
        wrapped_checks(main, side, token, wrapped, out).await?;
    }
    for (wrapped, remote) in mapped(side).await? {
        let mirrored = m_op
            .tokenConfig(remote)
            .call()
            .await
            .wrap_err_with(|| format!("reading tokenConfig({remote}) on the main chain"))?
            .remote;
        if mirrored != wrapped {
            out.push(Check::new(
                Chain::Side,
                format!("the side chain's mapping of {wrapped} to {remote} is mirrored on the main chain"),
                Some(format!("the main chain maps {remote} to {mirrored}")),
            ));
        }
    }
    Ok(())
}

/// Every token `c`'s Operational maps, with its counterpart (unmapped ones left out: nothing
/// moves through them).
pub(super) async fn mapped(c: &GovChain) -> eyre::Result<Vec<(Address, Address)>> {
    let op = Operational::new(c.contracts.operational, &c.provider);
    let chain = c.chain;
    let tokens = op
        .mappedTokens()
        .call()
        .await
        .wrap_err_with(|| format!("reading mappedTokens on the {chain} chain"))?;
    let mut out = Vec::with_capacity(tokens.len());
    for token in tokens {
        let remote = op
            .tokenConfig(token)
            .call()
            .await
            .wrap_err_with(|| format!("reading tokenConfig({token}) on the {chain} chain"))?
            .remote;
        if !remote.is_zero() {
            out.push((token, remote));
        }
    }
    Ok(out)
}

/// The side chain maps `wrapped` back to the main token `token`.
pub(super) async fn maps_back(
    side: &GovChain,
    token: Address,
    wrapped: Address,
    out: &mut Vec<Check>,
) -> eyre::Result<()> {
    let back = Operational::new(side.contracts.operational, &side.provider)
        .tokenConfig(wrapped)
        .call()
        .await
        .wrap_err_with(|| format!("reading tokenConfig({wrapped}) on the side chain"))?
        .remote;
    out.push(Check::new(
        Chain::Side,
        format!("the side chain maps {wrapped} back to the main token {token}"),
        (back != token).then(|| format!("it maps it to {back}")),
    ));
    Ok(())
}

/// The wrapped token's code, minter, main token and decimals.
pub(super) async fn wrapped_checks(
    main: &GovChain,
    side: &GovChain,
    token: Address,
    wrapped: Address,
    out: &mut Vec<Check>,
) -> eyre::Result<()> {
    let code = side
        .provider
        .get_code_at(wrapped)
        .await
        .wrap_err_with(|| format!("reading the code at {wrapped} on the side chain"))?;
    let code_check = same_code(WrappedToken::DEPLOYED_BYTECODE.as_ref(), &code).err();
    let ours = code_check.is_none();
    out.push(Check::new(
        Chain::Side,
        format!("wrapped token {wrapped} runs the project's WrappedToken code"),
        code_check,
    ));
    if !ours {
        return Ok(()); // its views mean nothing
    }
    let w = WrappedToken::new(wrapped, &side.provider);
    let ctx = |what: &str| format!("reading {what} of {wrapped} on the side chain");
    let minter = w.bridge().call().await.wrap_err_with(|| ctx("bridge"))?;
    out.push(Check::new(
        Chain::Side,
        format!("only the side bridge mints and burns {wrapped}"),
        (minter != side.contracts.bridge).then(|| format!("its minter is {minter}")),
    ));
    let stands_for = w
        .mainToken()
        .call()
        .await
        .wrap_err_with(|| ctx("mainToken"))?;
    out.push(Check::new(
        Chain::Side,
        format!("{wrapped} stands for the main token {token}"),
        (stands_for != token).then(|| format!("it stands for {stands_for}")),
    ));
    let decimals = w
        .decimals()
        .call()
        .await
        .wrap_err_with(|| ctx("decimals"))?;
    // a main token whose decimals cannot be read is a failed check, never a skipped one
    let main_decimals = IERC20Metadata::new(token, &main.provider)
        .decimals()
        .call()
        .await;
    let failure = match main_decimals {
        Ok(d) if d == decimals => None,
        Ok(d) => Some(format!("it has {decimals}, the main token {d}")),
        Err(e) => Some(format!("the main token's decimals cannot be read: {e}")),
    };
    out.push(Check::new(
        Chain::Side,
        format!("{wrapped} has the main token's decimals ({decimals})"),
        failure,
    ));
    Ok(())
}

/// A warning for a token whose inbound is closed on `c`'s bridge (keyed by the main token on
/// both bridges).
async fn inbound_open(c: &GovChain, token: Address, out: &mut Vec<Check>) -> eyre::Result<()> {
    let limit = MainBridge::new(c.contracts.bridge, &c.provider)
        .inboundLimit(token)
        .call()
        .await
        .wrap_err_with(|| format!("reading inboundLimit({token}) on the {} chain", c.chain))?;
    let failure = limit.cap.is_zero().then(|| {
        "inbound is closed: transfers of it into this chain wait until governance opens it \
         (bridgectl propose set-inbound-limits …)"
            .to_string()
    });
    out.push(Check {
        chain: c.chain,
        what: format!("inbound transfers of {token} are open"),
        failure,
        advisory: true,
    });
    Ok(())
}
