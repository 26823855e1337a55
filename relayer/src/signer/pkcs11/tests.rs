//! Against a real SoftHSM2 token, each test in a child process with a fresh token of its own
//! (see `sidebridge_core::hsm::softhsm::in_child_with_fresh_token`).

use alloy::{
    consensus::{SignableTransaction, TxEip1559},
    network::TxSigner,
    primitives::{U256, b256},
    signers::{SignerSync, local::PrivateKeySigner},
};
use cryptoki::error::RvError;
use sidebridge_core::{config::SecretRef, hsm::softhsm};

use super::*;
use crate::signer::ValidatorSigner;

const TOKEN: &str = "sidebridge-test";
const KEY: &str = "validator";
const PIN: &str = "123456";
const PIN_VAR: &str = "SIDEBRIDGE_TEST_HSM_PIN";

/// Runs `body` with a fresh token's key settings, in a child process. `test` is the calling
/// test's name.
fn on_fresh_token(test: &str, body: impl FnOnce(Pkcs11Config)) {
    let path = format!("signer::pkcs11::tests::{test}");
    if let Some(module) = softhsm::in_child_with_fresh_token(&path, TOKEN, PIN, PIN_VAR) {
        body(Pkcs11Config {
            module,
            token_label: TOKEN.into(),
            key_label: KEY.into(),
            pin: SecretRef::Env(PIN_VAR.into()),
        });
    }
}

#[test]
fn token_signatures_are_low_s_and_recover_to_the_key() {
    on_fresh_token(
        "token_signatures_are_low_s_and_recover_to_the_key",
        |config| {
            let created = generate_key(&config).expect("hsm-new");
            let signer = Pkcs11Signer::open(&config).expect("opens");
            assert_eq!(signer.address(), created, "hsm-address agrees with hsm-new");
            let half_n = U256::from_be_bytes(
                b256!("7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0").0,
            );
            let runtime = tokio::runtime::Runtime::new().expect("runtime");
            for _ in 0..50 {
                let digest = B256::from(rand::random::<[u8; 32]>());
                let sig = runtime.block_on(signer.sign_digest(digest)).expect("signs");
                assert!(sig.s() <= half_n, "high s: {sig:?}");
                assert_eq!(
                    sig.recover_address_from_prehash(&digest).ok(),
                    Some(created)
                );
            }
            // the submitter's path: a transaction signed through alloy's TxSigner
            let validator = ValidatorSigner::from(signer);
            let mut tx = TxEip1559 {
                chain_id: 31337,
                nonce: 7,
                gas_limit: 21_000,
                max_fee_per_gas: 2_000_000_000,
                ..Default::default()
            };
            let sig = runtime
                .block_on(validator.sign_transaction(&mut tx))
                .expect("signs the transaction");
            assert_eq!(tx.chain_id, 31337);
            assert_eq!(
                sig.recover_address_from_prehash(&tx.signature_hash()).ok(),
                Some(created)
            );
            assert!(matches!(
                generate_key(&config),
                Err(HsmError::KeyExists { .. })
            ));
        },
    );
}

#[test]
fn an_imported_key_signs_as_itself_and_its_label_is_then_taken() {
    on_fresh_token(
        "an_imported_key_signs_as_itself_and_its_label_is_then_taken",
        |config| {
            let local = PrivateKeySigner::random();
            let secret: [u8; 32] = local.to_bytes().into();
            let imported = import_key(&config, &secret).expect("hsm-import");
            assert_eq!(imported, local.address());
            let signer = Pkcs11Signer::open(&config).expect("opens");
            assert_eq!(signer.address(), local.address());
            let runtime = tokio::runtime::Runtime::new().expect("runtime");
            let digest = B256::from(rand::random::<[u8; 32]>());
            let sig = runtime.block_on(signer.sign_digest(digest)).expect("signs");
            assert_eq!(
                sig.recover_address_from_prehash(&digest).ok(),
                Some(local.address())
            );
            assert!(matches!(
                import_key(&config, &secret),
                Err(HsmError::KeyExists { .. })
            ));
            assert!(matches!(
                import_key(&config, &[0u8; 32]),
                Err(HsmError::NotAKey)
            ));
        },
    );
}

/// The message the relayer prints for `err`: its chain on one line.
fn printed(err: HsmError) -> String {
    let line = sidebridge_core::one_line([err.to_string()]);
    assert!(!line.contains('\n'));
    line
}

#[test]
fn failures_are_one_line_each() {
    on_fresh_token("failures_are_one_line_each", |config| {
        generate_key(&config).expect("hsm-new");
        let with = |edit: &dyn Fn(&mut Pkcs11Config)| {
            let mut config = config.clone();
            edit(&mut config);
            printed(Pkcs11Signer::open(&config).expect_err("refused"))
        };
        assert_eq!(
            with(&|c| c.key_label = "nope".into()),
            "HSM: no key labelled \"nope\" on token \"sidebridge-test\" \
             (create one with `relayer keys hsm-new`)"
        );
        assert_eq!(
            with(&|c| c.token_label = "other".into()),
            "HSM: no token labelled \"other\" (tokens present: \"sidebridge-test\")"
        );
        assert_eq!(
            with(&|c| c.module = "/nonexistent/libpkcs11.so".into()),
            "HSM: PKCS#11 module /nonexistent/libpkcs11.so not found"
        );
        assert_eq!(
            with(&|c| c.pin = SecretRef::Env("SIDEBRIDGE_TEST_WRONG_PIN".into())),
            "HSM: reading the PIN: environment variable SIDEBRIDGE_TEST_WRONG_PIN is not set"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let wrong = dir.path().join("pin");
        std::fs::write(&wrong, "654321\n").expect("writes");
        std::fs::set_permissions(&wrong, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .expect("chmod");
        assert_eq!(
            with(&|c| c.pin = SecretRef::File(wrong.clone())),
            "HSM: wrong PIN for token \"sidebridge-test\""
        );
        // the right PIN still works: one wrong try does not lock the token
        assert!(Pkcs11Signer::open(&config).is_ok());
    });
}

#[test]
fn a_high_s_from_the_token_is_folded_and_given_its_parity() {
    let key = PrivateKeySigner::random();
    for i in 0u8..8 {
        let digest = keccak256([i]);
        let low = key.sign_hash_sync(&digest).expect("signs");
        let order = U256::from_be_bytes(
            b256!("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141").0,
        );
        for s in [low.s(), order - low.s()] {
            let mut raw = low.r().to_be_bytes::<32>().to_vec();
            raw.extend_from_slice(&s.to_be_bytes::<32>());
            let sig = ethereum_signature(&raw, &digest, key.address()).expect("recovers");
            assert_eq!(sig, low);
        }
    }
    assert!(ethereum_signature(&[0; 64], &B256::ZERO, key.address()).is_none());
    assert!(ethereum_signature(&[1; 63], &B256::ZERO, key.address()).is_none());
}

#[test]
fn the_address_comes_from_the_der_wrapped_or_bare_point() {
    let key = PrivateKeySigner::random();
    let point = key
        .credential()
        .verifying_key()
        .to_encoded_point(false)
        .as_bytes()
        .to_vec();
    let mut der = vec![0x04, 0x41];
    der.extend_from_slice(&point);
    assert_eq!(address_of_point(&der), Some(key.address()));
    assert_eq!(address_of_point(&point), Some(key.address()));
    assert_eq!(address_of_point(&der[..66]), None);
    let mut compressed = point.clone();
    compressed[0] = 0x02;
    assert_eq!(address_of_point(&compressed), None);
}

#[test]
fn only_a_device_that_went_away_is_retried() {
    let device = |rv| HsmError::Device {
        token: TOKEN.into(),
        operation: "signing",
        rv,
    };
    assert!(device(RvError::DeviceRemoved).is_retryable());
    assert!(device(RvError::SessionHandleInvalid).is_retryable());
    assert!(!device(RvError::KeyHandleInvalid).is_retryable());
    assert!(!HsmError::WrongPin(TOKEN.into()).is_retryable());
    assert!(
        !HsmError::NoKey {
            token: TOKEN.into(),
            key: KEY.into()
        }
        .is_retryable()
    );
}
