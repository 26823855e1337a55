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
//! A module is loaded and initialised once per process and never finalised: PKCS#11 allows
//! one initialisation per process, and two signers on one module must share it.

pub mod softhsm;

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, OnceLock, PoisonError},
};

use alloy::{
    primitives::{Address, B256, U256, keccak256},
    signers::Signature,
};
use cryptoki::{
    context::{CInitializeArgs, CInitializeFlags, Pkcs11},
    error::{Error as CkError, RvError},
    mechanism::Mechanism,
    object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle},
    session::{Session, UserType},
    slot::Slot,
    types::AuthPin,
};
use sidebridge_core::config::{ConfigError, Pkcs11Config, SecretRef};

/// DER of the secp256k1 curve's OID (1.3.132.0.10), as `CKA_EC_PARAMS` holds it.
const SECP256K1_PARAMS: [u8; 7] = [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a];

/// Why the token could not be used. Each is one line naming the token or key concerned.
#[derive(Debug, thiserror::Error)]
pub enum HsmError {
    #[error("HSM: PKCS#11 module {} not found", .0.display())]
    ModuleMissing(PathBuf),
    #[error("HSM: cannot load PKCS#11 module {}: {reason}", module.display())]
    Module { module: PathBuf, reason: String },
    #[error("HSM: no token labelled \"{token}\" (tokens present: {present})")]
    NoToken { token: String, present: String },
    #[error("HSM: wrong PIN for token \"{0}\"")]
    WrongPin(String),
    #[error(
        "HSM: the user PIN of token \"{0}\" is locked after too many wrong tries; \
         its security officer must reset it"
    )]
    PinLocked(String),
    #[error("HSM: reading the PIN: {0}")]
    Pin(#[source] ConfigError),
    #[error(
        "HSM: no key labelled \"{key}\" on token \"{token}\" (create one with `relayer keys hsm-new`)"
    )]
    NoKey { token: String, key: String },
    #[error(
        "HSM: a key labelled \"{key}\" already exists on token \"{token}\"; refusing to add another"
    )]
    KeyExists { token: String, key: String },
    #[error("HSM: the key to import is not a secp256k1 private key (32 bytes, hex)")]
    NotAKey,
    #[error("HSM: key \"{key}\" on token \"{token}\" is unusable: {reason}")]
    BadKey {
        token: String,
        key: String,
        reason: String,
    },
    #[error("HSM: token \"{token}\": {operation} failed ({rv:?})")]
    Device {
        token: String,
        operation: &'static str,
        rv: RvError,
    },
    #[error("HSM: token \"{token}\": {operation} failed: {reason}")]
    Library {
        token: String,
        operation: &'static str,
        reason: String,
    },
    #[error("HSM: a signature from key \"{key}\" recovers to neither parity's {address}")]
    Unrecoverable { key: String, address: Address },
    #[error("HSM: the signing task ended before answering")]
    Stopped,
}

impl HsmError {
    /// Whether the same call may succeed later without an operator: the device or its session
    /// went away for a moment. A wrong PIN or a missing key stays wrong.
    pub fn is_retryable(&self) -> bool {
        match self {
            HsmError::Device { rv, .. } => matches!(
                rv,
                RvError::DeviceError
                    | RvError::DeviceMemory
                    | RvError::DeviceRemoved
                    | RvError::SessionClosed
                    | RvError::SessionHandleInvalid
                    | RvError::SessionCount
                    | RvError::TokenNotPresent
                    | RvError::FunctionFailed
                    | RvError::HostMemory
            ),
            _ => false,
        }
    }
}

/// A secp256k1 key on a token, logged in and ready to sign.
#[derive(Clone)]
pub struct Pkcs11Signer {
    shared: Arc<Shared>,
    address: Address,
}

impl std::fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("token", &self.shared.token.token_label)
            .field("key", &self.shared.token.key_label)
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

struct Shared {
    token: Token,
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
        let token = Token::new(config)?;
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
    let token = Token::new(config)?;
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
    let token = Token::new(config)?;
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

/// One configured token and key, with its PIN.
struct Token {
    context: Pkcs11,
    slot: Slot,
    token_label: String,
    key_label: String,
    pin: AuthPin,
}

impl Token {
    fn new(config: &Pkcs11Config) -> Result<Self, HsmError> {
        let pin = read_pin(&config.pin)?;
        let context = context(&config.module)?;
        let slot = find_slot(&context, &config.token_label)?;
        Ok(Self {
            context,
            slot,
            token_label: config.token_label.clone(),
            key_label: config.key_label.clone(),
            pin,
        })
    }

    /// A logged-in session; read-write only to create keys (signing needs no more).
    fn login(&self, read_write: bool) -> Result<Session, HsmError> {
        let session = if read_write {
            self.context.open_rw_session(self.slot)
        } else {
            self.context.open_ro_session(self.slot)
        };
        self.log_in(session.map_err(|e| self.error("opening a session", e))?)
    }

    fn log_in(&self, session: Session) -> Result<Session, HsmError> {
        match session.login(UserType::User, Some(&self.pin)) {
            // the login is the application's, not the session's: another session made it
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
            Err(CkError::Pkcs11(RvError::PinIncorrect | RvError::PinLenRange, _)) => {
                Err(HsmError::WrongPin(self.token_label.clone()))
            }
            Err(CkError::Pkcs11(RvError::PinLocked, _)) => {
                Err(HsmError::PinLocked(self.token_label.clone()))
            }
            Err(e) => Err(self.error("logging in", e)),
        }
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
            Ok(_) | Err(HsmError::BadKey { .. }) => Err(HsmError::KeyExists {
                token: self.token_label.clone(),
                key: self.key_label.clone(),
            }),
            Err(other) => Err(other),
        }
    }

    fn no_key(&self) -> HsmError {
        HsmError::NoKey {
            token: self.token_label.clone(),
            key: self.key_label.clone(),
        }
    }

    fn bad_key(&self, reason: &str) -> HsmError {
        HsmError::BadKey {
            token: self.token_label.clone(),
            key: self.key_label.clone(),
            reason: reason.to_string(),
        }
    }

    fn error(&self, operation: &'static str, error: CkError) -> HsmError {
        library_error(&self.token_label, operation, error)
    }
}

fn library_error(token: &str, operation: &'static str, error: CkError) -> HsmError {
    match error {
        CkError::Pkcs11(rv, _) => HsmError::Device {
            token: token.to_string(),
            operation,
            rv,
        },
        other => HsmError::Library {
            token: token.to_string(),
            operation,
            reason: other.to_string(),
        },
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

fn read_pin(reference: &SecretRef) -> Result<AuthPin, HsmError> {
    let pin = reference.read().map_err(HsmError::Pin)?;
    Ok(AuthPin::from(pin.to_string()))
}

/// The module at `path`, loaded and initialised once for the whole process.
fn context(path: &Path) -> Result<Pkcs11, HsmError> {
    static LOADED: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let mut loaded = LOADED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(context) = loaded.get(path) {
        return Ok(context.clone());
    }
    if !path.exists() {
        return Err(HsmError::ModuleMissing(path.to_path_buf()));
    }
    let module_error = |reason: String| HsmError::Module {
        module: path.to_path_buf(),
        reason,
    };
    let context = Pkcs11::new(path).map_err(|e| module_error(e.to_string()))?;
    match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(CkError::Pkcs11(rv, _)) => return Err(module_error(format!("C_Initialize: {rv:?}"))),
        Err(e) => return Err(module_error(e.to_string())),
    }
    loaded.insert(path.to_path_buf(), context.clone());
    Ok(context)
}

/// The slot holding the token labelled `label`.
fn find_slot(context: &Pkcs11, label: &str) -> Result<Slot, HsmError> {
    let slots = context
        .get_slots_with_token()
        .map_err(|e| library_error(label, "listing slots", e))?;
    let mut present = Vec::new();
    for slot in slots {
        let info = context
            .get_token_info(slot)
            .map_err(|e| library_error(label, "reading token information", e))?;
        let found = info.label().trim_end();
        if found == label {
            return Ok(slot);
        }
        if !found.is_empty() {
            present.push(format!("\"{found}\""));
        }
    }
    Err(HsmError::NoToken {
        token: label.to_string(),
        present: if present.is_empty() {
            "none".to_string()
        } else {
            present.join(", ")
        },
    })
}

#[cfg(test)]
mod tests;
