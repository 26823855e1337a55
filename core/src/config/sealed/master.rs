//! Master keys: where one is (`file:/path`), reading it (refused when group or others may read
//! it, as keystore password files are) and making a new one.

use std::{
    fmt,
    io::Write,
    path::{Path, PathBuf},
    str::FromStr,
};

use alloy::{hex, signers::k256::elliptic_curve::zeroize::Zeroizing};
use rand::{RngCore, rngs::OsRng};

use super::{KEY_LEN, SealedError};

/// Where a master key is: `file:/path`, a file of 64 hex digits only its owner may read.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKeyRef(PathBuf);

/// A string that is not `file:/path`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a master key reference file:/path (a root-only file of 64 hex digits)")]
pub struct InvalidMasterKeyRef;

impl FromStr for MasterKeyRef {
    type Err = InvalidMasterKeyRef;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.strip_prefix("file:") {
            Some(path) if !path.is_empty() => Ok(MasterKeyRef(PathBuf::from(path))),
            _ => Err(InvalidMasterKeyRef),
        }
    }
}

impl MasterKeyRef {
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl fmt::Display for MasterKeyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "file:{}", self.0.display())
    }
}

impl fmt::Debug for MasterKeyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKeyRef({self})")
    }
}

/// A master key read from its file: wiped on drop, never printed.
pub struct MasterKey {
    reference: MasterKeyRef,
    pub(super) key: Zeroizing<[u8; KEY_LEN]>,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({}, [redacted])", self.reference)
    }
}

impl MasterKey {
    /// Reads the key, refusing a file group or others may read or write.
    pub fn read(reference: &MasterKeyRef) -> Result<Self, SealedError> {
        let path = reference.path();
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
        Ok(MasterKey {
            reference: reference.clone(),
            key,
        })
    }

    /// Writes a new random key to `path` (which must not exist), readable by its owner only.
    pub fn generate(path: &Path) -> Result<MasterKeyRef, SealedError> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        OsRng.fill_bytes(key.as_mut_slice());
        let text = Zeroizing::new(format!("{}\n", hex::encode(key.as_slice())));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o400);
        let written = options
            .open(path)
            .and_then(|mut file| file.write_all(text.as_bytes()).and(file.sync_all()));
        written.map_err(|source| SealedError::Write {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(MasterKeyRef(path.to_path_buf()))
    }

    pub fn reference(&self) -> &MasterKeyRef {
        &self.reference
    }

    #[cfg(test)]
    pub(crate) fn from_bytes(name: &str, key: [u8; KEY_LEN]) -> Self {
        MasterKey {
            reference: MasterKeyRef(PathBuf::from(name)),
            key: Zeroizing::new(key),
        }
    }
}
