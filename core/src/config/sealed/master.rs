//! Master keys: where one is, reading it, and making a new one. A master key is either a
//! root-only file of 32 random bytes in hex (`file:/path`; refused when group or others may
//! read it, as keystore password files are) or an AES-256 key on a PKCS#11 token named by a
//! PKCS#11 URI (`pkcs11:token=…;object=…?module-path=…&pin-source=…`), which never leaves the
//! token: data keys are wrapped and unwrapped inside it.

use std::{
    fmt,
    io::Write,
    path::{Path, PathBuf},
    str::FromStr,
};

use aes_gcm::{
    Aes256Gcm, KeyInit,
    aead::{Aead, Payload},
};
use alloy::{hex, signers::k256::elliptic_curve::zeroize::Zeroizing};
use rand::{RngCore, rngs::OsRng};

use super::{KEY_LEN, NONCE_LEN, SealedError, uri::Pkcs11Uri};
use crate::hsm::AesKey;

/// Where a master key is.
#[derive(Clone, PartialEq, Eq)]
pub enum MasterKeyRef {
    /// `file:/path`: a file of 64 hex digits only its owner may read.
    File(PathBuf),
    /// `pkcs11:…`: an AES-256 key on a token.
    Pkcs11(Box<Pkcs11Uri>),
}

/// A string that is neither `file:/path` nor a PKCS#11 URI this code uses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidMasterKeyRef {
    #[error(
        "expected a master key reference file:/path (a root-only file of 64 hex digits) or \
         pkcs11:token=…;object=…?module-path=…&pin-source=… (a key on an HSM)"
    )]
    Form,
    #[error(transparent)]
    Uri(#[from] super::uri::InvalidPkcs11Uri),
}

impl FromStr for MasterKeyRef {
    type Err = InvalidMasterKeyRef;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.starts_with("pkcs11:") {
            return Ok(MasterKeyRef::Pkcs11(Box::new(s.parse()?)));
        }
        match s.strip_prefix("file:") {
            Some(path) if !path.is_empty() => Ok(MasterKeyRef::File(PathBuf::from(path))),
            _ => Err(InvalidMasterKeyRef::Form),
        }
    }
}

impl fmt::Display for MasterKeyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MasterKeyRef::File(path) => write!(f, "file:{}", path.display()),
            MasterKeyRef::Pkcs11(uri) => write!(f, "{uri}"),
        }
    }
}

impl fmt::Debug for MasterKeyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKeyRef({self})")
    }
}

/// A master key ready to seal and open: the bytes read from its file (wiped on drop, never
/// printed), or a logged-in session with the key on its token.
pub struct MasterKey {
    reference: MasterKeyRef,
    material: Material,
}

enum Material {
    Bytes(Zeroizing<[u8; KEY_LEN]>),
    Token(AesKey),
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({}, [redacted])", self.reference)
    }
}

impl MasterKey {
    /// Reads the key file (refusing one group or others may read or write), or logs in to the
    /// token and finds the key. The latter blocks on the device.
    pub fn read(reference: &MasterKeyRef) -> Result<Self, SealedError> {
        let material = match reference {
            MasterKeyRef::File(path) => Material::Bytes(read_file(path)?),
            MasterKeyRef::Pkcs11(uri) => {
                Material::Token(AesKey::find(uri.open_token()?, &uri.object)?)
            }
        };
        Ok(MasterKey {
            reference: reference.clone(),
            material,
        })
    }

    /// Makes a new master key where `reference` says: a new file (which must not exist)
    /// readable by its owner only, or a new AES-256 key on the token, sensitive and not
    /// extractable (refused when its label is taken).
    pub fn generate(reference: &MasterKeyRef) -> Result<(), SealedError> {
        match reference {
            MasterKeyRef::File(path) => write_new_file(path),
            MasterKeyRef::Pkcs11(uri) => Ok(AesKey::generate(&uri.open_token()?, &uri.object)?),
        }
    }

    pub fn reference(&self) -> &MasterKeyRef {
        &self.reference
    }

    /// AES-256-GCM of `msg` under this key.
    pub(super) fn seal(
        &self,
        nonce: &[u8; NONCE_LEN],
        msg: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, SealedError> {
        match &self.material {
            Material::Bytes(key) => Ok(seal_with(key, nonce, msg, aad)),
            Material::Token(key) => Ok(key.seal(nonce, msg, aad)?),
        }
    }

    /// The plaintext, or `None` when `sealed` does not authenticate under this key (or the
    /// nonce has the wrong length). A token that fails is an error, not a wrong key.
    pub(super) fn open(
        &self,
        nonce: &[u8],
        sealed: &[u8],
        aad: &[u8],
    ) -> Result<Option<Vec<u8>>, SealedError> {
        let Ok(nonce) = <&[u8; NONCE_LEN]>::try_from(nonce) else {
            return Ok(None);
        };
        match &self.material {
            Material::Bytes(key) => Ok(open_with(key, nonce, sealed, aad)),
            Material::Token(key) => Ok(key.open(nonce, sealed, aad)?),
        }
    }

    #[cfg(test)]
    pub(crate) fn from_bytes(name: &str, key: [u8; KEY_LEN]) -> Self {
        MasterKey {
            reference: MasterKeyRef::File(PathBuf::from(name)),
            material: Material::Bytes(Zeroizing::new(key)),
        }
    }
}

fn read_file(path: &Path) -> Result<Zeroizing<[u8; KEY_LEN]>, SealedError> {
    if let Some(mode) = crate::config::exposed_mode(path) {
        return Err(SealedError::MasterKeyExposed {
            path: path.to_path_buf(),
            mode,
        });
    }
    let text = std::fs::read_to_string(path)
        .map(Zeroizing::new)
        .map_err(|source| SealedError::MasterKeyRead {
            path: path.to_path_buf(),
            source,
        })?;
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    hex::decode_to_slice(text.trim(), key.as_mut_slice()).map_err(|_| {
        SealedError::MasterKeyMalformed {
            path: path.to_path_buf(),
        }
    })?;
    Ok(key)
}

fn write_new_file(path: &Path) -> Result<(), SealedError> {
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    OsRng.fill_bytes(key.as_mut_slice());
    let text = Zeroizing::new(format!("{}\n", hex::encode(key.as_slice())));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o400);
    options
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()).and(file.sync_all()))
        .map_err(|source| SealedError::Write {
            path: path.to_path_buf(),
            source,
        })
}

/// AES-256-GCM in software: data keys over secrets, and a file master over data keys.
pub(super) fn seal_with(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    msg: &[u8],
    aad: &[u8],
) -> Vec<u8> {
    Aes256Gcm::new(key.into())
        .encrypt(nonce.into(), Payload { msg, aad })
        .expect("AES-GCM encrypts any message shorter than 64 GiB")
}

/// `None` when the ciphertext does not authenticate.
pub(super) fn open_with(
    key: &[u8; KEY_LEN],
    nonce: &[u8; NONCE_LEN],
    msg: &[u8],
    aad: &[u8],
) -> Option<Vec<u8>> {
    Aes256Gcm::new(key.into())
        .decrypt(nonce.into(), Payload { msg, aad })
        .ok()
}
