//! Sealed secrets: the database URL, RPC URLs with API keys, the keystore password and the HSM
//! PIN kept at rest in one file, encrypted, and named in the config as `sealed:NAME`.
//!
//! Envelope encryption, as key management services do it: each secret is encrypted with a
//! fresh random data key (AES-256-GCM), and the data key is wrapped (AES-256-GCM again) by a
//! master key that never sits in the file. The secret's name and version are associated data of
//! both ciphertexts, so an entry copied under another name, or an old value put back under a
//! newer version number, does not authenticate.
//!
//! Master keys are versioned. The file records, for each master version, a check value (an
//! empty plaintext sealed under that master) so a configured key is matched to its version
//! without trying it on every entry, and "wrong master key" is told apart from "tampered
//! entry". Rotation adds a version: new entries are wrapped by it, old ones still open with the
//! old master until a reseal re-wraps their data keys (the secrets themselves are not
//! re-encrypted); then the old master can be retired. A master key is a root-only file of 32
//! random bytes in hex (`file:/path`), refused when group or others may read it, or an AES-256
//! key on an HSM (`pkcs11:…`, see [`MasterKeyRef`]) that wraps and unwraps inside the device.
//! Either kind can rotate to the other: moving the master from a file onto an HSM is a
//! rotation and a reseal.
//!
//! An entry authenticates on its own, so an older entry of a secret (its value before a
//! rotation, with its own matching version) would authenticate too if put back. The file
//! therefore carries a manifest, sealed under the newest master, of which entry is current for
//! each name; see [`manifest`] for what it stops and the attacker's best remaining strategy. The
//! file itself must not be writable by group or others.

mod error;
mod manifest;
mod master;
mod uri;

use std::{
    collections::BTreeMap,
    io::{Read, Write},
    path::{Path, PathBuf},
};

use alloy::{hex, signers::k256::elliptic_curve::zeroize::Zeroizing};
use rand::{RngCore, rngs::OsRng};
use serde::{Deserialize, Serialize};

pub use self::{
    error::SealedError,
    master::{InvalidMasterKeyRef, MasterKey, MasterKeyRef},
    uri::{InvalidPkcs11Uri, Pkcs11Uri},
};
use self::{
    manifest::SealedManifest,
    master::{open_with, seal_with},
};
use super::SecretString;

/// The `format` a file written by this code carries: 2 has a manifest. A file of format 1
/// (written before manifests) still loads, so that the CLI can show, seal, rotate or reseal it
/// (each writes the manifest and format 2), but its secrets are not opened: see
/// [`SealedError::NoManifest`] and [`manifest`] for why.
const FORMAT: u32 = 2;
/// The format before manifests.
const FORMAT_UNMANIFESTED: u32 = 1;
const CIPHER: &str = "aes-256-gcm";
const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
/// Longest secret name.
const MAX_NAME: usize = 64;

/// The config's `[secrets]` table: the sealed file, and the master keys that open it (the
/// newest first by convention; order does not matter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretsConfig {
    pub file: PathBuf,
    pub master_keys: Vec<MasterKeyRef>,
}

impl SecretsConfig {
    /// Opens secret `name` with whichever configured master key its entry needs.
    pub fn open(&self, name: &str) -> Result<SecretString, SealedError> {
        let file = SealedFile::load(&self.file)?;
        // fail on a name or a file without a manifest before touching any master key
        file.check_name(name)?;
        let keys = self
            .master_keys
            .iter()
            .map(MasterKey::read)
            .collect::<Result<Vec<_>, _>>()?;
        file.open(name, &keys)
    }
}

/// A secret name as the config and the file spell it.
pub(super) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// The sealed secrets file. Entries are kept by name, the latest version of each, and the
/// manifest says which entry that is (absent in format 1).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedFile {
    format: u32,
    cipher: String,
    masters: Vec<MasterRecord>,
    secrets: BTreeMap<String, Entry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    manifests: Vec<SealedManifest>,
    #[serde(skip)]
    path: PathBuf,
}

/// One master version and its check value.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MasterRecord {
    version: u32,
    #[serde(with = "hex::serde")]
    check_nonce: Vec<u8>,
    #[serde(with = "hex::serde")]
    check: Vec<u8>,
}

/// One secret: its value under its data key, and the data key under a master version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    version: u32,
    master_version: u32,
    #[serde(with = "hex::serde")]
    key_nonce: Vec<u8>,
    #[serde(with = "hex::serde")]
    wrapped_key: Vec<u8>,
    #[serde(with = "hex::serde")]
    nonce: Vec<u8>,
    #[serde(with = "hex::serde")]
    ciphertext: Vec<u8>,
}

/// What `show-versions` prints for one secret: never its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretVersion {
    pub name: String,
    pub version: u32,
    pub master_version: u32,
}

// Associated data. Names hold no spaces, so these strings cannot collide across fields.
fn data_aad(name: &str, version: u32) -> Vec<u8> {
    format!("sidebridge sealed secret {name} v{version}").into_bytes()
}

fn key_aad(name: &str, version: u32, master_version: u32) -> Vec<u8> {
    format!("sidebridge sealed data key {name} v{version} master v{master_version}").into_bytes()
}

fn check_aad(master_version: u32) -> Vec<u8> {
    format!("sidebridge sealed master check v{master_version}").into_bytes()
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

/// `None` when the nonce has the wrong length or the ciphertext does not authenticate.
fn open_data(key: &[u8; KEY_LEN], nonce: &[u8], msg: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
    open_with(key, nonce.try_into().ok()?, msg, aad)
}

impl MasterRecord {
    fn new(version: u32, key: &MasterKey) -> Result<Self, SealedError> {
        let nonce = random::<NONCE_LEN>();
        Ok(MasterRecord {
            version,
            check: key.seal(&nonce, b"", &check_aad(version))?,
            check_nonce: nonce.to_vec(),
        })
    }

    fn opens_with(&self, key: &MasterKey) -> Result<bool, SealedError> {
        let opened = key.open(&self.check_nonce, &self.check, &check_aad(self.version))?;
        Ok(opened.is_some())
    }
}

impl SealedFile {
    /// An empty file whose master version 1 is `master`; [`SealedFile::save`] writes it.
    pub fn create(path: &Path, master: &MasterKey) -> Result<Self, SealedError> {
        let mut file = SealedFile {
            format: FORMAT,
            cipher: CIPHER.to_string(),
            masters: vec![MasterRecord::new(1, master)?],
            secrets: BTreeMap::new(),
            manifests: Vec::new(),
            path: path.to_path_buf(),
        };
        file.manifests = file.seal_manifests(&[(1, master)])?;
        Ok(file)
    }

    /// Reads the file, refusing it when group or others may write it (whoever can write it can
    /// put back old entries or take secrets away).
    pub fn load(path: &Path) -> Result<Self, SealedError> {
        let read_error = |source| SealedError::Read {
            path: path.to_path_buf(),
            source,
        };
        // the mode of the file read, not of whatever the path names a moment earlier
        let mut handle = std::fs::File::open(path).map_err(read_error)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = handle.metadata().map_err(read_error)?.permissions().mode() & 0o777;
            if mode & 0o022 != 0 {
                return Err(SealedError::FileExposed {
                    path: path.to_path_buf(),
                    mode,
                });
            }
        }
        let mut text = String::new();
        handle.read_to_string(&mut text).map_err(read_error)?;
        let malformed = |message: String| SealedError::Malformed {
            path: path.to_path_buf(),
            message,
        };
        let mut file: SealedFile =
            serde_json::from_str(&text).map_err(|e| malformed(e.to_string()))?;
        let known = [FORMAT_UNMANIFESTED, FORMAT].contains(&file.format);
        if !known || file.cipher != CIPHER {
            return Err(malformed(format!(
                "format {} with cipher {}; this relayer reads formats \
                 {FORMAT_UNMANIFESTED} and {FORMAT} with {CIPHER}",
                file.format, file.cipher
            )));
        }
        let numbered = (1..).zip(&file.masters).all(|(n, m)| m.version == n);
        if file.masters.is_empty() || !numbered {
            return Err(malformed("master versions must run 1, 2, 3, …".to_string()));
        }
        if let Some(bad) = file.secrets.keys().find(|name| !valid_name(name)) {
            return Err(malformed(format!("invalid secret name \"{bad}\"")));
        }
        file.check_manifests_shape().map_err(malformed)?;
        file.path = path.to_path_buf();
        Ok(file)
    }

    /// Writes the file whole (a temporary beside it, then a rename), readable by its owner only.
    pub fn save(&self) -> Result<(), SealedError> {
        let write_error = |source| SealedError::Write {
            path: self.path.clone(),
            source,
        };
        let mut text = serde_json::to_string_pretty(self).expect("the file serializes to JSON");
        text.push('\n');
        let mut temp = self.path.clone().into_os_string();
        temp.push(".tmp");
        let temp = PathBuf::from(temp);
        // a leftover from an interrupted save may have another mode: start afresh
        let _ = std::fs::remove_file(&temp);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        options
            .open(&temp)
            .and_then(|mut file| file.write_all(text.as_bytes()).and(file.sync_all()))
            .and_then(|()| std::fs::rename(&temp, &self.path))
            .map_err(write_error)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The newest master version: the one new entries are wrapped by.
    pub fn newest_master(&self) -> u32 {
        self.masters.last().map_or(0, |m| m.version)
    }

    /// The master version `key` opens, if any.
    pub fn version_of(&self, key: &MasterKey) -> Result<Option<u32>, SealedError> {
        for record in &self.masters {
            if record.opens_with(key)? {
                return Ok(Some(record.version));
            }
        }
        Ok(None)
    }

    /// Every secret's name, version and master version, by name.
    pub fn versions(&self) -> Vec<SecretVersion> {
        self.secrets
            .iter()
            .map(|(name, e)| SecretVersion {
                name: name.clone(),
                version: e.version,
                master_version: e.master_version,
            })
            .collect()
    }

    /// Whether secret `name` may be opened, as far as can be told without a master key: the
    /// file holds it and has a manifest to check it against.
    pub fn check_name(&self, name: &str) -> Result<(), SealedError> {
        self.entry(name)?;
        self.check_has_manifest()
    }

    fn entry(&self, name: &str) -> Result<&Entry, SealedError> {
        self.secrets
            .get(name)
            .ok_or_else(|| SealedError::NoSuchSecret {
                name: name.to_string(),
                path: self.path.clone(),
            })
    }

    /// Among `keys`, the one that opens master `version`.
    fn master<'k>(
        &self,
        version: u32,
        keys: &'k [MasterKey],
        context: impl FnOnce() -> String,
    ) -> Result<&'k MasterKey, SealedError> {
        self.find_master(version, keys)?
            .ok_or_else(|| SealedError::WrongMasterKey {
                version,
                context: context(),
            })
    }

    /// Among `keys`, the one that opens master `version`, if any.
    fn find_master<'k>(
        &self,
        version: u32,
        keys: &'k [MasterKey],
    ) -> Result<Option<&'k MasterKey>, SealedError> {
        let record = self
            .masters
            .iter()
            .find(|m| m.version == version)
            .expect("callers check the version is recorded");
        for key in keys {
            if record.opens_with(key)? {
                return Ok(Some(key));
            }
        }
        Ok(None)
    }

    /// Seals `value` as the next version of `name`, its data key wrapped by the newest master,
    /// which `master` must be. Returns the secret's new version.
    pub fn seal(
        &mut self,
        name: &str,
        value: &str,
        master: &MasterKey,
    ) -> Result<u32, SealedError> {
        if !valid_name(name) {
            return Err(SealedError::InvalidName(name.to_string()));
        }
        if value.is_empty() {
            return Err(SealedError::EmptyValue(name.to_string()));
        }
        let newest = self.newest_master();
        match self.version_of(master)? {
            Some(v) if v == newest => {}
            Some(version) => {
                return Err(SealedError::StaleMasterKey {
                    reference: master.reference().to_string(),
                    version,
                    newest,
                });
            }
            None => {
                return Err(SealedError::WrongMasterKey {
                    version: newest,
                    context: format!("{}, the newest", master.reference()),
                });
            }
        }
        let version = self.secrets.get(name).map_or(1, |e| e.version + 1);
        let data_key = Zeroizing::new(random::<KEY_LEN>());
        let nonce = random::<NONCE_LEN>();
        let ciphertext = seal_with(
            &data_key,
            &nonce,
            value.as_bytes(),
            &data_aad(name, version),
        );
        let mut entry = Entry {
            version,
            master_version: newest,
            key_nonce: Vec::new(),
            wrapped_key: Vec::new(),
            nonce: nonce.to_vec(),
            ciphertext,
        };
        entry.wrap(name, &data_key, newest, master)?;
        // all or nothing: the entry and the manifest that names it
        let mut next = self.clone();
        next.secrets.insert(name.to_string(), entry);
        let manifest = next.seal_manifests(&[(newest, master)])?;
        // manifests under older masters (kept since a rotation) stay: see `manifest`
        next.manifests.retain(|m| m.master_version != newest);
        next.manifests.extend(manifest);
        next.format = FORMAT;
        *self = next;
        Ok(version)
    }

    /// Opens `name` with whichever of `keys` its entry's master version needs, once its entry
    /// authenticates and is the one the file's manifest records as current.
    pub fn open(&self, name: &str, keys: &[MasterKey]) -> Result<SecretString, SealedError> {
        self.check_name(name)?;
        let entry = self.entry(name)?;
        let data_key = self.unwrap(name, entry, keys)?;
        let tampered = || SealedError::Tampered {
            name: name.to_string(),
            part: "ciphertext",
        };
        let aad = data_aad(name, entry.version);
        let value = open_data(&data_key, &entry.nonce, &entry.ciphertext, &aad)
            .map(Zeroizing::new)
            .ok_or_else(tampered)?;
        let value = String::from_utf8(value.to_vec()).map_err(|_| tampered())?;
        // after the entry's own checks, so a tampered entry is named as such
        self.check_current(name, entry, keys)?;
        Ok(SecretString::from(value))
    }

    fn unwrap(
        &self,
        name: &str,
        entry: &Entry,
        keys: &[MasterKey],
    ) -> Result<Zeroizing<[u8; KEY_LEN]>, SealedError> {
        let version = entry.master_version;
        if !self.masters.iter().any(|m| m.version == version) {
            return Err(SealedError::UnknownMasterVersion {
                name: name.to_string(),
                version,
            });
        }
        let master = self.master(version, keys, || {
            format!("secret \"{name}\" needs it; configured: {}", list(keys))
        })?;
        let aad = key_aad(name, entry.version, version);
        master
            .open(&entry.key_nonce, &entry.wrapped_key, &aad)?
            .and_then(|key| <[u8; KEY_LEN]>::try_from(key.as_slice()).ok())
            .map(Zeroizing::new)
            .ok_or_else(|| SealedError::Tampered {
                name: name.to_string(),
                part: "wrapped data key",
            })
    }

    /// Adds `new` as the next master version; `old` must hold the current newest (whoever
    /// rotates must be able to open what is there). The manifest is sealed under both.
    /// Returns the new version.
    pub fn rotate(&mut self, new: &MasterKey, old: &[MasterKey]) -> Result<u32, SealedError> {
        if let Some(version) = self.version_of(new)? {
            return Err(SealedError::MasterKeyInUse {
                reference: new.reference().to_string(),
                version,
            });
        }
        let newest = self.newest_master();
        let previous = self.master(newest, old, || format!("given: {}", list(old)))?;
        let version = newest + 1;
        let mut next = self.clone();
        next.masters.push(MasterRecord::new(version, new)?);
        // the previous master's copy lets a relayer not yet given the new key open what is
        // still wrapped by the previous one: see `manifest`
        next.manifests = next.seal_manifests(&[(version, new), (newest, previous)])?;
        next.format = FORMAT;
        *self = next;
        Ok(version)
    }

    /// Re-wraps every data key not under the newest master with it, so older masters can be
    /// retired, and rewrites the manifest under the newest master alone (a file of format 1
    /// gets its manifest so, even when nothing needs re-wrapping). `keys` must hold the newest
    /// master and each one an entry still needs; nothing changes unless every entry opens.
    /// Returns how many entries were re-wrapped.
    pub fn reseal(&mut self, keys: &[MasterKey]) -> Result<usize, SealedError> {
        let newest = self.newest_master();
        let master = self.master(newest, keys, || {
            format!("the newest; given: {}", list(keys))
        })?;
        let mut rewrapped = BTreeMap::new();
        for (name, entry) in self
            .secrets
            .iter()
            .filter(|(_, e)| e.master_version != newest)
        {
            let data_key = self.unwrap(name, entry, keys)?;
            let mut entry = entry.clone();
            entry.wrap(name, &data_key, newest, master)?;
            rewrapped.insert(name.clone(), entry);
        }
        let count = rewrapped.len();
        let mut next = self.clone();
        next.secrets.extend(rewrapped);
        // every entry is now under the newest master: copies under older ones have no use
        next.manifests = next.seal_manifests(&[(newest, master)])?;
        next.format = FORMAT;
        *self = next;
        Ok(count)
    }

    #[cfg(test)]
    fn entry_mut(&mut self, name: &str) -> &mut Entry {
        self.secrets.get_mut(name).expect("test secret")
    }
}

impl Entry {
    fn wrap(
        &mut self,
        name: &str,
        data_key: &[u8; KEY_LEN],
        master_version: u32,
        master: &MasterKey,
    ) -> Result<(), SealedError> {
        let nonce = random::<NONCE_LEN>();
        let aad = key_aad(name, self.version, master_version);
        self.wrapped_key = master.seal(&nonce, data_key, &aad)?;
        self.key_nonce = nonce.to_vec();
        self.master_version = master_version;
        Ok(())
    }
}

fn list(keys: &[MasterKey]) -> String {
    if keys.is_empty() {
        return "none".to_string();
    }
    keys.iter()
        .map(|k| k.reference().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod hsm_tests;
#[cfg(test)]
mod tests;
