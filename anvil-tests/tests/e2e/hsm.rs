//! A validator whose key is on a PKCS#11 token (SoftHSM2): with a threshold of 3 of 3 nothing
//! lands unless its votes, signatures and transactions are good. Its database URL and main-chain
//! RPC URL are sealed under a master key on the same token: the node opens them at start.

use std::time::Duration;

use alloy::signers::local::PrivateKeySigner;
use sidebridge_anvil_tests::{
    SystemSpec,
    hsm::HsmKey,
    relayers::{NodeOptions, RelayerNode},
};

use crate::relay::{Bridge, tokens};

#[tokio::test(flavor = "multi_thread")]
async fn hsm_validator_is_required_and_relays_both_ways() -> eyre::Result<()> {
    let dir = tempfile::tempdir()?;
    let Some(hsm) = HsmKey::create(dir.path(), "hsm_validator_is_required").await? else {
        return Ok(());
    };
    let spec = SystemSpec {
        validators: 2,
        extra_validators: vec![hsm.address],
        validator_threshold: 3,
        ..SystemSpec::default()
    };
    let options = NodeOptions::default();
    let mut bridge = Bridge::start_spec(spec, options.clone()).await?;
    let node =
        RelayerNode::prepare_on_hsm(&bridge.sys, &hsm, &dir.path().join("node"), &options).await?;
    let config = std::fs::read_to_string(&node.config_path)?;
    assert!(
        config.contains("database_url = \"sealed:db\"")
            && config.contains("rpc_url = \"sealed:main_rpc\"")
            && !config.contains(&node.database_url)
            && config.contains("master_keys = [\"pkcs11:token="),
        "{config}"
    );
    bridge.start_balances.push((
        bridge.sys.native_balance(true, hsm.address).await?,
        bridge.sys.native_balance(false, hsm.address).await?,
    ));
    bridge.nodes.push(node);
    bridge.start_nodes().await?;

    let n = 3;
    bridge
        .deposit_landed(n, tokens(2), tokens(2 * n as u64))
        .await?;
    let recipient = PrivateKeySigner::random().address();
    bridge.withdraw_many(n, tokens(1), recipient).await?;
    bridge
        .await_main(recipient, tokens(n as u64), Duration::from_secs(120))
        .await?;
    assert_eq!(
        bridge.wrapped_balance(bridge.user.address()).await?,
        tokens(n as u64)
    );
    bridge.assert_landed_once(n, n).await?;
    bridge
        .await_all_completed(2 * n as i64, Duration::from_secs(60))
        .await?;
    bridge.stop_all().await?;
    // the HSM node sent its votes itself (its transactions signed on the token), and its
    // ledger accounts for them to the wei
    let side_now = bridge.sys.native_balance(false, hsm.address).await?;
    assert!(
        side_now < bridge.start_balances[2].1,
        "the HSM node sent nothing"
    );
    bridge.assert_ledgers_reconcile().await?;
    Ok(())
}
