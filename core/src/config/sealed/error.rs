//! Why a sealed secret could not be sealed, opened or rotated.

use std::path::PathBuf;

use super::{MAX_NAME, manifest};
use crate::hsm::HsmError;

/// Why a sealed secret could not be sealed, opened or rotated. Each is one line that names the
/// secret, the file or the master version at fault, and never a secret's value.
#[derive(Debug, thiserror::Error)]
pub enum SealedError {
    #[error("cannot read sealed secrets file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "sealed secrets file {} is writable by group or others (mode {mode:o}); refusing to open it: chmod 600 it (640 to let a group read it)",
        path.display()
    )]
    FileExposed { path: PathBuf, mode: u32 },
    #[error(
        "sealed secrets file {} has no manifest (format 1), so an older entry put back in it would open; refusing it: write one with `relayer secrets rotate --file {} --master-key <the newest master> --old-master-key <each master its entries use> --reseal`",
        path.display(),
        path.display()
    )]
    NoManifest { path: PathBuf },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("sealed secrets file {} is malformed: {message}", path.display())]
    Malformed { path: PathBuf, message: String },
    #[error("no secret named \"{name}\" in sealed secrets file {}", path.display())]
    NoSuchSecret { name: String, path: PathBuf },
    #[error(
        "sealed secret \"{name}\" refused: its {part} does not authenticate (tampered with, or moved from another name or version)"
    )]
    Tampered { name: String, part: &'static str },
    #[error(
        "sealed secret \"{name}\" refused: the file's manifest under master version {master_version} does not authenticate (tampered with, taken from another file, or the master versions were edited)"
    )]
    ManifestTampered { name: String, master_version: u32 },
    #[error(
        "sealed secret \"{name}\" refused: version {version} is not the current version {current} the file's manifest records: {}",
        manifest::how_it_differs(.version, .current)
    )]
    NotCurrent {
        name: String,
        version: u32,
        current: u32,
    },
    #[error(
        "sealed secret \"{name}\" refused: its version {version} entry is not the one the file's manifest records (copied from another file, or an older wrapping put back)"
    )]
    EntryReplaced { name: String, version: u32 },
    #[error(
        "sealed secret \"{name}\" refused: the file's manifest does not record it (an entry added without sealing it)"
    )]
    NotInManifest { name: String },
    #[error(
        "sealed secret \"{name}\" cannot be checked: the file's manifest is sealed under master version {newest}, which no configured master key opens: add that key to master_keys"
    )]
    ManifestKeyMissing { name: String, newest: u32 },
    #[error("the master key does not open version {version} ({context})")]
    WrongMasterKey { version: u32, context: String },
    #[error(
        "sealed secret \"{name}\" names master version {version}, which the file does not record"
    )]
    UnknownMasterVersion { name: String, version: u32 },
    #[error(
        "master key {reference} is version {version}, not the newest ({newest}): seal with the newest"
    )]
    StaleMasterKey {
        reference: String,
        version: u32,
        newest: u32,
    },
    #[error("master key {reference} is already version {version} of this file")]
    MasterKeyInUse { reference: String, version: u32 },
    #[error(
        "master key file {} is readable or writable by other users (mode {mode:o}); refusing to use it: chmod 400 it",
        path.display()
    )]
    MasterKeyExposed { path: PathBuf, mode: u32 },
    #[error("cannot read master key file {}: {source}", path.display())]
    MasterKeyRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("master key file {} does not hold 64 hex digits (32 bytes)", path.display())]
    MasterKeyMalformed { path: PathBuf },
    #[error("invalid secret name \"{0}\": letters, digits, '_', '-' and '.', at most {MAX_NAME}")]
    InvalidName(String),
    #[error("the value of secret \"{0}\" is empty")]
    EmptyValue(String),
    #[error("master key: {0}")]
    Hsm(#[from] HsmError),
}
