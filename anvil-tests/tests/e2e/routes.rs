//! The hub on real chains: one main chain and three side chains, each a route with validator
//! keys of its own. Here the test acts as each route's validators (`routes_relayed.rs` runs
//! relayers): it votes deposits in on the side chains and signs withdrawals for the hub.
//! Route A's whole set is stolen and signs a withdrawal of everything the hub holds: the hub
//! pays at most A's book, and B and C keep moving their holders' tokens with their books intact.

use alloy::{
    primitives::{Address, U256},
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::SolStruct,
};
use eyre::ensure;
use sidebridge_anvil_tests::{System, hub::HubSystem, tokens};
use sidebridge_contracts::{
    Transfer,
    bindings::{DemoToken, MainHub, MainHubAdmin, SideBridge},
    pack_signatures, transfer_digest, transfer_domain,
};

/// `amount` locked by the holder on the hub for itself on route `i`, voted in by two of the
/// route's validators: returns the deposit as the side chain minted it.
async fn deposit(sys: &HubSystem, i: usize, amount: U256) -> eyre::Result<Transfer> {
    let d = &sys.deployment;
    let route = &d.routes[i];
    let hub = MainHub::new(d.main.bridge, sys.main_as(&sys.holder));
    let locked = hub
        .lock(route.id, sys.main_token, amount, sys.holder.address())
        .send()
        .await?
        .get_receipt()
        .await?
        .decoded_log::<MainHub::Locked>()
        .expect("a lock emits Locked")
        .data;
    ensure!(locked.route == route.id, "Locked names its route");
    let t = Transfer {
        srcChainId: U256::from(d.main.chain_id),
        srcBridge: d.main.bridge,
        dstChainId: U256::from(route.side.chain_id),
        dstBridge: route.side.bridge,
        nonce: locked.nonce,
        token: sys.main_token,
        sender: sys.holder.address(),
        recipient: sys.holder.address(),
        amount: locked.amount,
    };
    ensure!(
        locked.transferId == transfer_digest(&t, route.side.bridge),
        "the hub's deposit id is the side bridge's digest"
    );
    for v in sys.validators[i].iter().take(2) {
        let receipt = SideBridge::new(route.side.bridge, sys.side_as(i, v))
            .approveDeposits(vec![t.clone().into()])
            .send()
            .await?
            .get_receipt()
            .await?;
        ensure!(receipt.status(), "approveDeposits reverted");
    }
    Ok(t)
}

/// `signers` (a route's validators, or its thieves) sign `t` for the hub. A withdrawal is
/// signed under the hub's domain whatever its final destination (a chained one names another
/// side chain, so its id is not `transfer_digest`'s, which takes the destination's domain).
pub(crate) fn sign(
    sys: &HubSystem,
    signers: &[PrivateKeySigner],
    t: &Transfer,
) -> eyre::Result<alloy::primitives::Bytes> {
    let hub = transfer_domain(sys.deployment.main.chain_id, sys.deployment.main.bridge);
    let id = t.eip712_signing_hash(&hub);
    let sigs = signers
        .iter()
        .map(|k| Ok((k.address(), k.sign_hash_sync(&id)?)))
        .collect::<eyre::Result<Vec<_>>>()?;
    Ok(pack_signatures(sigs))
}

/// The hub's revert, decoded (a call that failed otherwise fails the test), is `name`.
pub(crate) fn reverted_with(err: alloy::contract::Error, name: &str) -> eyre::Result<()> {
    let Some(decoded) = err.as_decoded_interface_error::<MainHub::MainHubErrors>() else {
        eyre::bail!("expected the hub's {name}, got {err:?}");
    };
    let decoded = format!("{decoded:?}");
    ensure!(decoded.starts_with(name), "expected {name}, got {decoded}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stolen_route_takes_only_its_own_book_and_the_other_routes_keep_moving()
-> eyre::Result<()> {
    let sys = HubSystem::start(3).await?;
    let d = &sys.deployment;
    let (a, b, c) = (0, 1, 2);
    let bridges: std::collections::HashSet<_> = d.routes.iter().map(|r| r.side.bridge).collect();
    assert_eq!(
        bridges.len(),
        3,
        "each side chain's bridge has an address of its own"
    );
    DemoToken::new(sys.main_token, sys.main_as(&sys.holder))
        .approve(d.main.bridge, U256::MAX)
        .send()
        .await?
        .get_receipt()
        .await?;

    // ---- main -> each side chain, each on its own route
    for (i, amount) in [(a, 100), (b, 200), (c, 300)] {
        deposit(&sys, i, tokens(amount)).await?;
        let side = sys.side_as(i, &sys.holder);
        assert_eq!(
            System::balance(&side, sys.wrapped(i), sys.holder.address()).await?,
            tokens(amount)
        );
        assert_eq!(sys.custody(i).await?, tokens(amount));
    }
    let hub_reader = sys.main_as(&sys.holder);
    let hub_balance = System::balance(&hub_reader, sys.main_token, d.main.bridge).await?;
    assert_eq!(hub_balance, tokens(600));

    // ---- route A's whole set is stolen: it signs a withdrawal of everything to the thief
    let thief = Address::repeat_byte(0x7e);
    let stolen = &sys.validators[a];
    let forged = |nonce: u64, amount: U256| Transfer {
        srcChainId: U256::from(d.routes[a].side.chain_id),
        srcBridge: d.routes[a].side.bridge,
        dstChainId: U256::from(d.main.chain_id),
        dstBridge: d.main.bridge,
        nonce,
        token: sys.main_token,
        sender: thief,
        recipient: thief,
        amount,
    };
    let hub = MainHub::new(d.main.bridge, sys.main_as(&sys.holder));
    let everything = forged(1_000, tokens(100) + U256::from(1));
    let err = hub
        .release(everything.clone().into(), sign(&sys, stolen, &everything)?)
        .call()
        .await
        .expect_err("one wei more than A's book");
    reverted_with(err, "CustodyShort")?;
    // the same keys claiming to be B's are nobody on B's route
    let as_b = Transfer {
        srcChainId: U256::from(d.routes[b].side.chain_id),
        srcBridge: d.routes[b].side.bridge,
        ..forged(1_000, tokens(1))
    };
    let err = hub
        .release(as_b.clone().into(), sign(&sys, stolen, &as_b)?)
        .call()
        .await
        .expect_err("A's keys on B's route");
    reverted_with(err, "NotValidator")?;
    // what A's book holds, the thief gets: A's holders are exposed, nobody else
    let all_of_a = forged(1_001, tokens(100));
    let receipt = hub
        .release(all_of_a.clone().into(), sign(&sys, stolen, &all_of_a)?)
        .send()
        .await?
        .get_receipt()
        .await?;
    ensure!(receipt.status(), "A's book pays A's forgery");
    assert_eq!(
        System::balance(&hub_reader, sys.main_token, thief).await?,
        tokens(100)
    );
    assert_eq!(sys.custody(a).await?, U256::ZERO);
    assert_eq!(sys.custody(b).await?, tokens(200));
    assert_eq!(sys.custody(c).await?, tokens(300));
    // chained to B, a forgery would come out of A's book, now empty, not B's
    let chained = Transfer {
        dstChainId: U256::from(d.routes[b].side.chain_id),
        dstBridge: d.routes[b].side.bridge,
        ..forged(1_002, tokens(1))
    };
    let hub_domain = transfer_domain(d.main.chain_id, d.main.bridge);
    ensure!(
        hub.hashTransfer(chained.clone().into()).call().await?
            == chained.eip712_signing_hash(&hub_domain),
        "a chained withdrawal's id is its digest under the hub's domain"
    );
    let err = hub
        .release(chained.clone().into(), sign(&sys, stolen, &chained)?)
        .call()
        .await
        .expect_err("A's book is empty");
    reverted_with(err, "CustodyShort")?;
    // a guardian stops route A; the others carry on
    let guard = MainHubAdmin::new(d.main.bridge, sys.main_as(&sys.guardian));
    let receipt = guard
        .pauseRoute(d.routes[a].id)
        .send()
        .await?
        .get_receipt()
        .await?;
    ensure!(receipt.status(), "the guardian pauses route A");
    let err = hub
        .release(chained.clone().into(), sign(&sys, stolen, &chained)?)
        .call()
        .await
        .expect_err("A is paused");
    reverted_with(err, "RouteIsPaused")?;

    // ---- B and C keep moving: their holders withdraw, and deposit again
    for (i, amount) in [(b, 150), (c, 300)] {
        let route = &d.routes[i];
        let burned = SideBridge::new(route.side.bridge, sys.side_as(i, &sys.holder))
            .burn(sys.wrapped(i), tokens(amount), sys.holder.address())
            .send()
            .await?
            .get_receipt()
            .await?
            .decoded_log::<SideBridge::Burned>()
            .expect("a burn emits Burned")
            .data;
        let t = Transfer::from_burned(&burned, route.side.chain_id, route.side.bridge);
        ensure!(
            burned.transferId == transfer_digest(&t, d.main.bridge),
            "withdrawal id"
        );
        let before = System::balance(&hub_reader, sys.main_token, sys.holder.address()).await?;
        let signers = &sys.validators[i][..2];
        let receipt = hub
            .release(t.clone().into(), sign(&sys, signers, &t)?)
            .send()
            .await?
            .get_receipt()
            .await?;
        ensure!(receipt.status(), "route {i}'s release");
        let after = System::balance(&hub_reader, sys.main_token, sys.holder.address()).await?;
        assert_eq!(after - before, tokens(amount));
    }
    assert_eq!(sys.custody(b).await?, tokens(50));
    assert_eq!(sys.custody(c).await?, U256::ZERO);
    deposit(&sys, b, tokens(5)).await?;
    assert_eq!(sys.custody(b).await?, tokens(55));
    // the hub holds exactly what it owes, and it owes exactly the books
    let hub_balance = System::balance(&hub_reader, sys.main_token, d.main.bridge).await?;
    let books = sys.custody(a).await? + sys.custody(b).await? + sys.custody(c).await?;
    assert_eq!(hub_balance, sys.booked().await?);
    assert_eq!(hub_balance, books);
    assert_eq!(books, tokens(55));
    Ok(())
}
