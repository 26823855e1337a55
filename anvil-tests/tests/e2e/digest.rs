//! The EIP-712 transfer digest computed in Rust is the one the contracts compute.

use alloy::primitives::{Address, U256, address};
use sidebridge_anvil_tests::{MAIN_CHAIN_ID, SIDE_CHAIN_ID, System, SystemSpec};
use sidebridge_contracts::{
    Transfer,
    bindings::{MainBridge, SideBridge},
    transfer_digest,
};

fn sample(src: u64, dst: u64, token: Address) -> Transfer {
    Transfer {
        srcChainId: U256::from(src),
        dstChainId: U256::from(dst),
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
    let withdrawal = sample(SIDE_CHAIN_ID, MAIN_CHAIN_ID, sys.main_token);
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
    let deposit = sample(MAIN_CHAIN_ID, SIDE_CHAIN_ID, sys.main_token);
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
    Ok(())
}
