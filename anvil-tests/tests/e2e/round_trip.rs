//! A manual round trip with validator keys signing in Rust: lock → approvals → mint, then
//! burn → signatures → release, with balances asserted on both chains.

use alloy::{
    primitives::U256,
    providers::Provider,
    rpc::types::Filter,
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::SolEvent,
};
use sidebridge_anvil_tests::{MAIN_CHAIN_ID, SIDE_CHAIN_ID, System, SystemSpec, dev_key};
use sidebridge_contracts::{
    Transfer,
    bindings::{IERC20Metadata, MainBridge, SideBridge},
    pack_signatures, transfer_digest,
};

#[tokio::test]
async fn lock_mint_burn_release() -> eyre::Result<()> {
    let sys = System::start(SystemSpec {
        validators: 3,
        validator_threshold: 2,
        fee_bps: 10, // 0.1%
        ..SystemSpec::default()
    })
    .await?;
    let d = sys.deployment.clone();
    let holder_main = sys.main_as(&sys.holder);
    let side_user = dev_key(&sys.side, 7);
    let main_recipient = PrivateKeySigner::random().address();

    // ---- deposit: lock on main
    let amount = U256::from(1_000u64) * U256::from(10u64).pow(U256::from(18));
    IERC20Metadata::new(sys.main_token, &holder_main)
        .approve(d.main.bridge, amount)
        .send()
        .await?
        .get_receipt()
        .await?;
    let receipt = MainBridge::new(d.main.bridge, &holder_main)
        .lock(sys.main_token, amount, side_user.address())
        .send()
        .await?
        .get_receipt()
        .await?;
    assert!(receipt.status());
    let locked = receipt
        .decoded_log::<MainBridge::Locked>()
        .expect("lock emits Locked")
        .data;
    let fee = amount / U256::from(1_000u64);
    assert_eq!(locked.fee, fee);
    assert_eq!(locked.amount, amount - fee);
    assert_eq!(
        System::balance(&holder_main, sys.main_token, sys.fee_recipient).await?,
        fee
    );
    let deposit = Transfer::from_locked(&locked, MAIN_CHAIN_ID, d.main.bridge, d.side.bridge);

    // ---- approvals on side: the first vote does not mint, the second does
    let validators = sys.validators_sorted();
    let side_of = |k: &PrivateKeySigner| SideBridge::new(d.side.bridge, sys.side_as(k));
    let first = side_of(&validators[0])
        .approveDeposits(vec![deposit.clone().into()])
        .send()
        .await?
        .get_receipt()
        .await?;
    assert!(first.status());
    let side_reader = sys.side_as(&sys.holder);
    assert_eq!(
        System::balance(&side_reader, sys.wrapped_token, side_user.address()).await?,
        U256::ZERO
    );
    let second = side_of(&validators[1])
        .approveDeposits(vec![deposit.clone().into()])
        .send()
        .await?
        .get_receipt()
        .await?;
    let executed = second
        .decoded_log::<SideBridge::DepositExecuted>()
        .expect("the threshold vote mints")
        .data;
    assert_eq!(
        executed.transferId,
        transfer_digest(&deposit, d.side.bridge)
    );
    assert_eq!(
        System::balance(&side_reader, sys.wrapped_token, side_user.address()).await?,
        amount - fee
    );
    // a late vote changes nothing
    side_of(&validators[2])
        .approveDeposits(vec![deposit.clone().into()])
        .send()
        .await?
        .get_receipt()
        .await?;
    assert_eq!(
        IERC20Metadata::new(sys.wrapped_token, &side_reader)
            .totalSupply()
            .call()
            .await?,
        amount - fee
    );

    // ---- withdrawal: burn on side (fee again, kept as wrapped by the fee recipient)
    let burn_amount = U256::from(400u64) * U256::from(10u64).pow(U256::from(18));
    let user_side = sys.side_as(&side_user);
    let burned = SideBridge::new(d.side.bridge, &user_side)
        .burn(sys.wrapped_token, burn_amount, main_recipient)
        .send()
        .await?
        .get_receipt()
        .await?
        .decoded_log::<SideBridge::Burned>()
        .expect("burn emits Burned")
        .data;
    let burn_fee = burn_amount / U256::from(1_000u64);
    assert_eq!(burned.amount, burn_amount - burn_fee);
    let withdrawal = Transfer::from_burned(&burned, SIDE_CHAIN_ID, d.side.bridge);
    let id = transfer_digest(&withdrawal, d.main.bridge);
    assert_eq!(burned.transferId, id);

    // ---- each validator signs in Rust and publishes on the side chain
    for (i, v) in validators.iter().take(2).enumerate() {
        let sig = v.sign_hash_sync(&id)?;
        let receipt = side_of(v)
            .submitSignatures(
                vec![withdrawal.clone().into()],
                sig.as_bytes().to_vec().into(),
            )
            .send()
            .await?
            .get_receipt()
            .await?;
        assert!(receipt.status());
        let ready = receipt.decoded_log::<SideBridge::ReadyForRelay>();
        assert_eq!(
            ready.is_some(),
            i == 1,
            "ReadyForRelay exactly at the threshold"
        );
    }

    // ---- anyone assembles the release from the published signatures
    let logs = side_reader
        .get_logs(
            &Filter::new()
                .from_block(0)
                .address(d.side.bridge)
                .event_signature(SideBridge::SignatureSubmitted::SIGNATURE_HASH)
                .topic1(U256::from(withdrawal.nonce)),
        )
        .await?;
    let mut signatures = Vec::new();
    for log in logs {
        let event = SideBridge::SignatureSubmitted::decode_log_data(log.data())?;
        let sig = alloy::signers::Signature::try_from(event.signature.as_ref())?;
        signatures.push((event.validator, sig));
    }
    assert_eq!(signatures.len(), 2);
    let main_before = System::balance(&holder_main, sys.main_token, d.main.bridge).await?;
    let released = MainBridge::new(d.main.bridge, &holder_main)
        .release(withdrawal.clone().into(), pack_signatures(signatures))
        .send()
        .await?
        .get_receipt()
        .await?;
    assert!(released.status());
    assert!(released.decoded_log::<MainBridge::Released>().is_some());

    // ---- balances on both chains
    assert_eq!(
        System::balance(&holder_main, sys.main_token, main_recipient).await?,
        burn_amount - burn_fee
    );
    assert_eq!(
        System::balance(&holder_main, sys.main_token, d.main.bridge).await?,
        main_before - (burn_amount - burn_fee)
    );
    let wrapped_supply = IERC20Metadata::new(sys.wrapped_token, &side_reader)
        .totalSupply()
        .call()
        .await?;
    assert_eq!(wrapped_supply, amount - fee - burn_amount + burn_fee);
    assert_eq!(
        System::balance(&side_reader, sys.wrapped_token, sys.fee_recipient).await?,
        burn_fee
    );
    // backing: what the main bridge holds covers every wrapped token
    assert!(System::balance(&holder_main, sys.main_token, d.main.bridge).await? >= wrapped_supply);
    assert!(
        MainBridge::new(d.main.bridge, &holder_main)
            .isProcessed(withdrawal.nonce)
            .call()
            .await?
    );
    Ok(())
}
