//! The validator key: signs withdrawals (EIP-712 `Transfer` under the MainBridge's domain) and
//! sends this validator's transactions. Loaded from an encrypted keystore by the binary; never
//! logged (its `Debug` shows the address only).

use std::fmt;

use alloy::{
    primitives::{Address, B256},
    signers::{Signature, SignerSync, local::PrivateKeySigner},
};
use sidebridge_contracts::{Transfer, transfer_digest};

/// Why signing failed.
#[derive(Debug, thiserror::Error)]
#[error("signing transfer {id}: {source}")]
pub struct SignError {
    pub id: B256,
    #[source]
    pub source: alloy::signers::Error,
}

/// The validator's hot key.
#[derive(Clone)]
pub struct ValidatorSigner {
    key: PrivateKeySigner,
}

impl fmt::Debug for ValidatorSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidatorSigner")
            .field("address", &self.key.address())
            .finish_non_exhaustive()
    }
}

impl ValidatorSigner {
    pub fn new(key: PrivateKeySigner) -> Self {
        Self { key }
    }

    pub fn address(&self) -> Address {
        self.key.address()
    }

    /// The key, for the transaction wallet.
    pub fn key(&self) -> &PrivateKeySigner {
        &self.key
    }

    /// Signs a withdrawal's id for `MainBridge.release` at `main_bridge`.
    pub fn sign_withdrawal(
        &self,
        transfer: &Transfer,
        main_bridge: Address,
    ) -> Result<(B256, Signature), SignError> {
        let id = transfer_digest(transfer, main_bridge);
        let signature = self
            .key
            .sign_hash_sync(&id)
            .map_err(|source| SignError { id, source })?;
        Ok((id, signature))
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{U256, address};

    use super::*;

    #[test]
    fn signature_recovers_to_the_validator() {
        let signer = ValidatorSigner::new(PrivateKeySigner::random());
        let t = Transfer {
            srcChainId: U256::from(2),
            dstChainId: U256::from(1),
            nonce: 3,
            amount: U256::from(10),
            ..Default::default()
        };
        let bridge = address!("0x00000000000000000000000000000000000000b1");
        let (id, sig) = signer.sign_withdrawal(&t, bridge).expect("signs");
        assert_eq!(id, transfer_digest(&t, bridge));
        assert_eq!(
            sig.recover_address_from_prehash(&id).expect("recovers"),
            signer.address()
        );
        let secret = alloy::hex::encode(signer.key().to_bytes());
        assert!(
            !format!("{signer:?}").contains(&secret),
            "Debug shows the key"
        );
    }
}
