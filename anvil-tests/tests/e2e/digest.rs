//! The EIP-712 transfer digest computed in Rust is the one the contracts compute.

use alloy::primitives::{Address, U256, address};
use sidebridge_anvil_tests::{MAIN_CHAIN_ID, SIDE_CHAIN_ID, System, SystemSpec};
use sidebridge_contracts::{
    Transfer,
    bindings::{MainBridge, SideBridge},
    transfer_digest,
};

fn sample(src: (u64, Address), dst: (u64, Address), token: Address) -> Transfer {
    Transfer {
        srcChainId: U256::from(src.0),
        srcBridge: src.1,
        dstChainId: U256::from(dst.0),
        dstBridge: dst.1,
        nonce: 41,
        token,
        sender: address!("0x00000000000000000000000000000000000000a1"),
        recipient: address!("0x00000000000000000000000000000000000000b2"),
        amount: U256::from(123_456_789u64),
    }
}

#[tokio::test]
async fn rust_digest_equals_the_contracts() -> eyre::Result<()> {
    let sys = System::start(SystemSpec::default()).await?;
    let d = &sys.deployment;
    let main = MainBridge::new(d.main.bridge, sys.main_as(&sys.holder));
    let side = SideBridge::new(d.side.bridge, sys.side_as(&sys.holder));

    // withdrawal: released on the main chain
    let (on_main, on_side) = (
        (MAIN_CHAIN_ID, d.main.bridge),
        (SIDE_CHAIN_ID, d.side.bridge),
    );
    let withdrawal = sample(on_side, on_main, sys.main_token);
    let rust = transfer_digest(&withdrawal, d.main.bridge);
    assert_eq!(
        main.hashTransfer(withdrawal.clone().into()).call().await?,
        rust
    );
    // the side bridge computes the same id for the withdrawals it records
    assert_eq!(
        side.withdrawalId(withdrawal.clone().into()).call().await?,
        rust
    );

    // deposit: voted in on the side chain
    let deposit = sample(on_main, on_side, sys.main_token);
    assert_eq!(
        side.hashTransfer(deposit.clone().into()).call().await?,
        transfer_digest(&deposit, d.side.bridge)
    );
    // the same message bound for the other chain is another id, even where the bridges share
    // an address (same deployer, same nonce on both chains)
    let misrouted = Transfer {
        dstChainId: U256::from(MAIN_CHAIN_ID),
        ..deposit.clone()
    };
    assert_ne!(
        transfer_digest(&deposit, d.side.bridge),
        transfer_digest(&misrouted, d.side.bridge)
    );
    // and the same message from another bridge on the same chain (a redeploy) is another id,
    // which the side bridge refuses to vote for
    let other_bridge = Transfer {
        srcBridge: address!("0x00000000000000000000000000000000000000c3"),
        ..deposit.clone()
    };
    assert_ne!(
        transfer_digest(&deposit, d.side.bridge),
        transfer_digest(&other_bridge, d.side.bridge)
    );
    assert_eq!(
        side.hashTransfer(other_bridge.clone().into())
            .call()
            .await?,
        transfer_digest(&other_bridge, d.side.bridge)
    );
    Ok(())
}
