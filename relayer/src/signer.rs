//! The validator key: signs withdrawals (EIP-712 `Transfer` under the MainBridge's domain) and
//! sends this validator's transactions. It lives in an encrypted keystore loaded by the binary
//! or on a PKCS#11 token ([`pkcs11`]) that signs without ever handing it over; either way it is
//! never logged (its `Debug` shows the address only). The submitter's wallet signs through the
//! same value: [`ValidatorSigner`] is alloy's [`TxSigner`] for both backends.

pub mod pkcs11;

use std::fmt;

use alloy::{
    consensus::SignableTransaction,
    network::TxSigner,
    primitives::{Address, B256},
    signers::{Signature, SignerSync, local::PrivateKeySigner},
};

use self::pkcs11::{HsmError, Pkcs11Signer};

/// Why signing failed.
#[derive(Debug, thiserror::Error)]
#[error("signing transfer {id}: {source}")]
pub struct SignError {
    pub id: B256,
    #[source]
    pub source: BackendError,
}

impl SignError {
    /// Whether the next round may succeed: only a token that went away for a moment.
    pub fn is_retryable(&self) -> bool {
        self.source.is_retryable()
    }
}

/// What a backend reported.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(transparent)]
    Local(#[from] alloy::signers::Error),
    #[error(transparent)]
    Hsm(#[from] HsmError),
}

impl BackendError {
    pub fn is_retryable(&self) -> bool {
        match self {
            BackendError::Local(_) => false,
            BackendError::Hsm(e) => e.is_retryable(),
        }
    }
}

/// The validator's key, wherever it lives.
#[derive(Clone)]
pub struct ValidatorSigner {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Local(PrivateKeySigner),
    Pkcs11(Pkcs11Signer),
}

impl fmt::Debug for ValidatorSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backend = match self.backend {
            Backend::Local(_) => "keystore",
            Backend::Pkcs11(_) => "pkcs11",
        };
        f.debug_struct("ValidatorSigner")
            .field("backend", &backend)
            .field("address", &self.address())
            .finish_non_exhaustive()
    }
}

impl From<PrivateKeySigner> for ValidatorSigner {
    fn from(key: PrivateKeySigner) -> Self {
        Self::new(key)
    }
}

impl From<Pkcs11Signer> for ValidatorSigner {
    fn from(key: Pkcs11Signer) -> Self {
        Self {
            backend: Backend::Pkcs11(key),
        }
    }
}

impl ValidatorSigner {
    /// A key held in memory (decrypted from a keystore, or a test's).
    pub fn new(key: PrivateKeySigner) -> Self {
        Self {
            backend: Backend::Local(key),
        }
    }

    pub fn address(&self) -> Address {
        match &self.backend {
            Backend::Local(key) => key.address(),
            Backend::Pkcs11(key) => key.address(),
        }
    }

    /// Signs a 32-byte digest exactly as given (low-s, with its recovery id).
    pub async fn sign_digest(&self, digest: &B256) -> Result<Signature, BackendError> {
        match &self.backend {
            Backend::Local(key) => Ok(key.sign_hash_sync(digest)?),
            Backend::Pkcs11(key) => Ok(key.sign_digest(*digest).await?),
        }
    }

    /// Signs a withdrawal's id for its release on the main chain: the digest of its content
    /// under the main bridge's (or hub's) EIP-712 domain, as the decoder computed and checked
    /// it (`watcher::Route::check`), whatever its final destination.
    pub async fn sign_withdrawal(&self, id: B256) -> Result<Signature, SignError> {
        self.sign_digest(&id)
            .await
            .map_err(|source| SignError { id, source })
    }
}

// The submitter sets every transaction's chain id itself, so there is no chain id here to
// check it against (a local key's `TxSigner` has none either unless one is set).
#[async_trait::async_trait]
impl TxSigner<Signature> for ValidatorSigner {
    fn address(&self) -> Address {
        ValidatorSigner::address(self)
    }

    async fn sign_transaction(
        &self,
        tx: &mut dyn SignableTransaction<Signature>,
    ) -> alloy::signers::Result<Signature> {
        match &self.backend {
            Backend::Local(key) => key.sign_transaction(tx).await,
            Backend::Pkcs11(key) => key
                .sign_digest(tx.signature_hash())
                .await
                .map_err(alloy::signers::Error::other),
        }
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{U256, address};
    use sidebridge_contracts::{Transfer, transfer_digest};

    use super::*;

    #[tokio::test]
    async fn signature_recovers_to_the_validator() {
        let key = PrivateKeySigner::random();
        let secret = alloy::hex::encode(key.to_bytes());
        let signer = ValidatorSigner::new(key);
        let t = Transfer {
            srcChainId: U256::from(2),
            dstChainId: U256::from(1),
            nonce: 3,
            amount: U256::from(10),
            ..Default::default()
        };
        let bridge = address!("0x00000000000000000000000000000000000000b1");
        let id = transfer_digest(&t, bridge);
        let sig = signer.sign_withdrawal(id).await.expect("signs");
        assert_eq!(
            sig.recover_address_from_prehash(&id).expect("recovers"),
            signer.address()
        );
        assert!(
            !format!("{signer:?}").contains(&secret),
            "Debug shows the key"
        );
    }
}
