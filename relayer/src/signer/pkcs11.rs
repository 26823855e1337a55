//! The validator key on a PKCS#11 token (an HSM, or SoftHSM2 for tests): generated on the
//! token as a secp256k1 pair whose private half is sensitive and not extractable, so the
//! relayer only ever asks the token for signatures.
//!
//! The token's `CKM_ECDSA` signs the 32-byte digest and returns `r‖s`; Ethereum wants more:
//! a low `s` (the contracts reject the high twin of every signature) and the recovery id,
//! which the token does not know. Both are fixed here: `s` is folded below n/2 and the
//! recovery id is found by recovering with each parity and keeping the one that gives this
//! key's address, which is derived from the token's public point (`CKA_EC_POINT`).
//!
//! PKCS#11 calls block. Each runs on tokio's blocking pool, one at a time over one logged-in
//! session kept behind a mutex; a session the device dropped is reopened on the next call.
//! Loading the module, finding the token and logging in are `sidebridge_core::hsm`'s.

use std::sync::{Arc, Mutex, PoisonError};

use alloy::{
    primitives::{Address, B256, U256, keccak256},
    signers::Signature,
};
use cryptoki::{
    mechanism::Mechanism,
    object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle},
    session::Session,
};
pub use sidebridge_core::hsm::HsmError;
use sidebridge_core::{config::Pkcs11Config, hsm::Token};

/// DER of the secp256k1 curve's OID (1.3.132.0.10), as `CKA_EC_PARAMS` holds it.
const SECP256K1_PARAMS: [u8; 7] = [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a];

/// A secp256k1 key on a token, logged in and ready to sign.
#[derive(Clone)]
pub struct Pkcs11Signer {
    shared: Arc<Shared>,
    address: Address,
}

impl std::fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("token", &self.shared.token.token.label())
            .field("key", &self.shared.token.key_label)
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

struct Shared {
    token: TokenKey,
    /// The session in use; `None` after the device dropped it.
    open: Mutex<Option<Open>>,
}

struct Open {
    session: Session,
    key: ObjectHandle,
}

impl Pkcs11Signer {
    /// Logs in to the configured token and finds the key. Blocks: call it off the async
    /// workers.
    pub fn open(config: &Pkcs11Config) -> Result<Self, HsmError> {
        let token = TokenKey::new(config)?;
        let session = token.login(false)?;
        let (key, address) = token.find_key(&session)?;
        Ok(Self {
            shared: Arc::new(Shared {
                token,
                open: Mutex::new(Some(Open { session, key })),
            }),
            address,
        })
    }

    pub fn address(&self) -> Address {
        self.address
    }

    /// Signs a 32-byte digest: low-s, with the recovery id that gives [`Self::address`].
    pub async fn sign_digest(&self, digest: B256) -> Result<Signature, HsmError> {
        let shared = self.shared.clone();
        let address = self.address;
        tokio::task::spawn_blocking(move || shared.sign(&digest, address))
            .await
            .map_err(|_| HsmError::Stopped)?
    }
}

impl Shared {
    fn sign(&self, digest: &B256, address: Address) -> Result<Signature, HsmError> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let current = match open.take() {
            Some(current) => current,
            None => {
                let session = self.token.login(false)?;
                let (key, _) = self.token.find_key(&session)?;
                Open { session, key }
            }
        };
        let raw = current
            .session
            .sign(&Mechanism::Ecdsa, current.key, digest.as_slice())
            .map_err(|e| self.token.error("signing", e));
        // a session the device dropped is left out, to be reopened by the next call
        if !matches!(&raw, Err(e) if e.is_retryable()) {
            *open = Some(current);
        }
        let raw = raw?;
        ethereum_signature(&raw, digest, address).ok_or_else(|| HsmError::Unrecoverable {
            key: self.token.key_label.clone(),
            address,
        })
    }
}

/// `r‖s` from the token as an Ethereum signature: `s` folded below n/2 and the parity that
/// recovers to `address`; `None` when neither does.
fn ethereum_signature(raw: &[u8], digest: &B256, address: Address) -> Option<Signature> {
    if raw.len() != 64 {
        return None;
    }
    let r = U256::from_be_slice(&raw[..32]);
    let s = U256::from_be_slice(&raw[32..]);
    let signature = Signature::new(r, s, false);
    let low = signature.normalize_s().unwrap_or(signature);
    [false, true]
        .into_iter()
        .map(|parity| low.with_parity(parity))
        .find(|candidate| candidate.recover_address_from_prehash(digest).ok() == Some(address))
}

/// Creates a secp256k1 key pair on the token (the private half sensitive, not extractable,
/// kept on the token) and returns its address. Refuses a label already in use. Blocks.
pub fn generate_key(config: &Pkcs11Config) -> Result<Address, HsmError> {
    let token = TokenKey::new(config)?;
    let session = token.login(true)?;
    token.require_free_label(&session)?;
    let (public, private) = key_templates(&token.key_label);
    session
        .generate_key_pair(&Mechanism::EccKeyPairGen, &public, &private)
        .map_err(|e| token.error("generating the key pair", e))?;
    token.find_key(&session).map(|(_, address)| address)
}

/// Puts an existing secp256k1 key (32 bytes) on the token, for a validator moving its key
/// from a keystore to an HSM: the private half is stored sensitive and not extractable, the
/// public half beside it, both under the key label; returns the address, checked to be the
/// key's own. Refuses a label already in use. Blocks. (The key existed outside the token
/// before: retire every other copy, or generate a new key with [`generate_key`] and rotate.)
pub fn import_key(config: &Pkcs11Config, secret: &[u8; 32]) -> Result<Address, HsmError> {
    let expected = alloy::signers::local::PrivateKeySigner::from_slice(secret)
        .map_err(|_| HsmError::NotAKey)?;
    let token = TokenKey::new(config)?;
    let session = token.login(true)?;
    token.require_free_label(&session)?;
    let point = expected
        .credential()
        .verifying_key()
        .to_encoded_point(false)
        .as_bytes()
        .to_vec();
    // CKA_EC_POINT is the DER OCTET STRING around the uncompressed point
    let mut ec_point = vec![0x04, 0x41];
    ec_point.extend_from_slice(&point);
    let (mut public, mut private) = key_templates(&token.key_label);
    private.extend([
        Attribute::Class(ObjectClass::PRIVATE_KEY),
        Attribute::KeyType(KeyType::EC),
        Attribute::EcParams(SECP256K1_PARAMS.to_vec()),
        Attribute::Value(secret.to_vec()),
    ]);
    public.extend([
        Attribute::Class(ObjectClass::PUBLIC_KEY),
        Attribute::KeyType(KeyType::EC),
        Attribute::EcPoint(ec_point),
    ]);
    session
        .create_object(&private)
        .map_err(|e| token.error("storing the private key", e))?;
    session
        .create_object(&public)
        .map_err(|e| token.error("storing the public key", e))?;
    let (_, address) = token.find_key(&session)?;
    if address != expected.address() {
        return Err(token.bad_key("the stored public key is not the imported key's"));
    }
    Ok(address)
}

/// The attributes of a validator key pair on a token, public half then private: both kept on
/// the token under the key label (as label and id); the private half sensitive, never
/// extractable, for signing only.
fn key_templates(key_label: &str) -> (Vec<Attribute>, Vec<Attribute>) {
    let label = key_label.as_bytes().to_vec();
    let public = vec![
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::Verify(true),
        Attribute::Label(label.clone()),
        Attribute::Id(label.clone()),
        Attribute::EcParams(SECP256K1_PARAMS.to_vec()),
    ];
    let private = vec![
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        Attribute::Label(label.clone()),
        Attribute::Id(label),
    ];
    (public, private)
}

/// The configured token and the label of the validator key on it.
struct TokenKey {
    token: Token,
    key_label: String,
}

impl TokenKey {
    fn new(config: &Pkcs11Config) -> Result<Self, HsmError> {
        let pin = config
            .pin
            .read()
            .map_err(|e| HsmError::Pin(e.to_string()))?;
        Ok(Self {
            token: Token::new(&config.module, &config.token_label, &pin)?,
            key_label: config.key_label.clone(),
        })
    }

    fn login(&self, read_write: bool) -> Result<Session, HsmError> {
        self.token.login(read_write)
    }

    /// The private key's handle and the address of its public half.
    fn find_key(&self, session: &Session) -> Result<(ObjectHandle, Address), HsmError> {
        let find = |class| {
            session
                .find_objects(&[
                    Attribute::Class(class),
                    Attribute::Label(self.key_label.as_bytes().to_vec()),
                ])
                .map_err(|e| self.error("finding the key", e))
        };
        let private = find(ObjectClass::PRIVATE_KEY)?;
        let public = find(ObjectClass::PUBLIC_KEY)?;
        let (key, public) = match (private.as_slice(), public.as_slice()) {
            ([], _) => return Err(self.no_key()),
            ([key], [public]) => (*key, *public),
            ([_], []) => return Err(self.bad_key("its public half is missing")),
            _ => return Err(self.bad_key("several keys share the label")),
        };
        let attributes = session
            .get_attributes(
                public,
                &[
                    AttributeType::KeyType,
                    AttributeType::EcParams,
                    AttributeType::EcPoint,
                ],
            )
            .map_err(|e| self.error("reading the public key", e))?;
        let (mut ec, mut params, mut point) = (false, None, None);
        for attribute in attributes {
            match attribute {
                Attribute::KeyType(kind) => ec = kind == KeyType::EC,
                Attribute::EcParams(p) => params = Some(p),
                Attribute::EcPoint(p) => point = Some(p),
                _ => {}
            }
        }
        if !ec || params.as_deref() != Some(SECP256K1_PARAMS.as_slice()) {
            return Err(self.bad_key("not a secp256k1 key"));
        }
        let address = point.as_deref().and_then(address_of_point).ok_or_else(|| {
            self.bad_key("its public point is not an uncompressed secp256k1 point")
        })?;
        Ok((key, address))
    }

    /// Refuses to create a key under a label a key (usable or not) already has.
    fn require_free_label(&self, session: &Session) -> Result<(), HsmError> {
        match self.find_key(session) {
            Err(HsmError::NoKey { .. }) => Ok(()),
            Ok(_) | Err(HsmError::BadKey { .. }) => Err(self.token.key_exists(&self.key_label)),
            Err(other) => Err(other),
        }
    }

    fn no_key(&self) -> HsmError {
        HsmError::NoKey {
            token: self.token.label().to_string(),
            key: self.key_label.clone(),
        }
    }

    fn bad_key(&self, reason: &str) -> HsmError {
        self.token.bad_key(&self.key_label, reason)
    }

    fn error(&self, operation: &'static str, error: cryptoki::error::Error) -> HsmError {
        self.token.error(operation, error)
    }
}

/// The Ethereum address of `CKA_EC_POINT`: a DER OCTET STRING around the 65-byte
/// uncompressed point (some modules hand over the bare point).
fn address_of_point(der: &[u8]) -> Option<Address> {
    let point = match der {
        [0x04, 0x41, rest @ ..] if rest.len() == 65 => rest,
        bare if bare.len() == 65 => bare,
        _ => return None,
    };
    let (&tag, xy) = point.split_first()?;
    (tag == 0x04).then(|| Address::from_slice(&keccak256(xy)[12..]))
}

#[cfg(test)]
mod tests;
