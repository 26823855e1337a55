//! PKCS#11 tokens (HSMs; SoftHSM2 in tests): a vendor module loaded once per process, a token
//! found by its label, a session logged in with the user PIN, and every failure on the way as
//! one line. Two keys live on tokens through this: the validator's signing key (the relayer's
//! `signer::pkcs11`) and the sealed secrets' master key ([`AesKey`], which
//! `config::sealed` wraps data keys with).
//!
//! PKCS#11 calls block: async callers run them on a blocking pool. A module is initialised
//! once per process and never finalised: PKCS#11 allows one initialisation per process, and
//! both keys, when on one module, share it. This module knows nothing of the configuration:
//! callers read the PIN from its reference and hand it over (`config::Pkcs11Uri` names a
//! master key on a token).

mod aes;
pub mod softhsm;

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Mutex, OnceLock, PoisonError},
};

use alloy::primitives::Address;
use cryptoki::{
    context::{CInitializeArgs, CInitializeFlags, Pkcs11},
    error::{Error as CkError, RvError},
    session::{Session, UserType},
    slot::Slot,
    types::AuthPin,
};

pub use self::aes::AesKey;

/// Why a token could not be used. Each is one line naming the token or key concerned.
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
    /// The PIN's reference could not be read (the config's words for why).
    #[error("HSM: reading the PIN: {0}")]
    Pin(String),
    #[error(
        "HSM: no key labelled \"{key}\" on token \"{token}\" (create one with `relayer keys hsm-new`)"
    )]
    NoKey { token: String, key: String },
    #[error(
        "HSM: no AES key labelled \"{key}\" on token \"{token}\" \
         (create one with `relayer secrets new-master-key pkcs11:…`)"
    )]
    NoMasterKey { token: String, key: String },
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

/// One token on a loaded module, with the user PIN that opens it.
pub struct Token {
    context: Pkcs11,
    slot: Slot,
    label: String,
    pin: AuthPin,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

impl Token {
    /// Loads `module` (once per process) and finds the token labelled `label`, to be opened
    /// with user PIN `pin`. Nothing is logged in yet.
    pub fn new(module: &Path, label: &str, pin: &str) -> Result<Self, HsmError> {
        let pin = AuthPin::from(pin.to_string());
        let context = context(module)?;
        let slot = find_slot(&context, label)?;
        Ok(Self {
            context,
            slot,
            label: label.to_string(),
            pin,
        })
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    /// A logged-in session; read-write only to create keys (using one needs no more).
    pub fn login(&self, read_write: bool) -> Result<Session, HsmError> {
        let session = if read_write {
            self.context.open_rw_session(self.slot)
        } else {
            self.context.open_ro_session(self.slot)
        };
        let session = session.map_err(|e| self.error("opening a session", e))?;
        match session.login(UserType::User, Some(&self.pin)) {
            // the login is the application's, not the session's: another session made it
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
            Err(CkError::Pkcs11(RvError::PinIncorrect | RvError::PinLenRange, _)) => {
                Err(HsmError::WrongPin(self.label.clone()))
            }
            Err(CkError::Pkcs11(RvError::PinLocked, _)) => {
                Err(HsmError::PinLocked(self.label.clone()))
            }
            Err(e) => Err(self.error("logging in", e)),
        }
    }

    /// `error` from `operation` on this token, as one line.
    pub fn error(&self, operation: &'static str, error: CkError) -> HsmError {
        library_error(&self.label, operation, error)
    }

    pub fn key_exists(&self, key: &str) -> HsmError {
        HsmError::KeyExists {
            token: self.label.clone(),
            key: key.to_string(),
        }
    }

    pub fn bad_key(&self, key: &str, reason: &str) -> HsmError {
        HsmError::BadKey {
            token: self.label.clone(),
            key: key.to_string(),
            reason: reason.to_string(),
        }
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
