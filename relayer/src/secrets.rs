//! `relayer secrets`: the operator's side of the sealed secrets file (see
//! `sidebridge_core::config::SealedFile`): make a master key, seal a secret, rotate the master
//! key and re-wrap under it, and list what is sealed under which master version.
//!
//! A value never comes from the command line (it would sit in the shell history and in `ps`):
//! it is read from standard input, without echo at a terminal, or from `--value-from env:NAME`
//! or `file:/path`. Nothing here prints a value.

use std::{
    io::{IsTerminal, Read},
    path::PathBuf,
};

use clap::Subcommand;
use sidebridge_core::config::{
    ConfigError, InvalidMasterKeyRef, InvalidSecretRef, MasterKey, MasterKeyRef, SealedError,
    SealedFile, SecretRef, SecretString,
};

/// Where the sealed file is when `--file` is not given.
pub const ENV_SECRETS_FILE: &str = "SIDEBRIDGE_SECRETS_FILE";
/// The (newest) master key when `--master-key` is not given.
pub const ENV_MASTER_KEY: &str = "SIDEBRIDGE_MASTER_KEY";

#[derive(Debug, Subcommand)]
pub enum SecretsCommand {
    /// Make a new master key: 32 random bytes (hex) in a file only its owner may read, or an
    /// AES-256 key generated on an HSM that never leaves it.
    NewMasterKey {
        /// A file to create (a path or file:/path; an existing one is never overwritten), or
        /// pkcs11:token=…;object=…?module-path=…&pin-source=… for a key on a token (refused
        /// when its label is taken).
        target: String,
    },
    /// Seal a secret under the newest master key (a new file starts at master version 1). The
    /// value is read from standard input unless --value-from says where it is.
    Seal {
        #[arg(long, env = ENV_SECRETS_FILE)]
        file: PathBuf,
        /// The newest master key: file:/path or pkcs11:… (a key on an HSM).
        #[arg(long, env = ENV_MASTER_KEY)]
        master_key: String,
        /// Where the value is: env:NAME or file:/path (never the value itself).
        #[arg(long)]
        value_from: Option<String>,
        /// The secret's name, as `sealed:NAME` references it.
        name: String,
    },
    /// Add --master-key as a new master version (new secrets are sealed under it); with
    /// --reseal, also re-wrap every data key under the newest master so old ones can retire.
    Rotate {
        #[arg(long, env = ENV_SECRETS_FILE)]
        file: PathBuf,
        /// The new master key (or, with --reseal alone, the current newest): file:/path or
        /// pkcs11:….
        #[arg(long, env = ENV_MASTER_KEY)]
        master_key: String,
        /// The master keys in use now (repeat for each version entries still need).
        #[arg(long = "old-master-key", required = true)]
        old_master_keys: Vec<String>,
        /// Re-wrap every entry's data key under the newest master.
        #[arg(long)]
        reseal: bool,
    },
    /// Each secret's name and version and the master version it needs; never a value.
    ShowVersions {
        #[arg(long, env = ENV_SECRETS_FILE)]
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

/// Why a `relayer secrets` command failed, one line each.
#[derive(Debug, thiserror::Error)]
pub enum SecretsCommandError {
    #[error(transparent)]
    Sealed(#[from] SealedError),
    #[error("{flag}: {source}")]
    MasterKeyRef {
        flag: &'static str,
        source: InvalidMasterKeyRef,
    },
    #[error("--value-from: {0}")]
    ValueRef(InvalidSecretRef),
    #[error("--value-from: {0}")]
    Value(ConfigError),
    #[error("cannot read the value from standard input: {0}")]
    Stdin(std::io::Error),
    #[error("the sealed secrets file {0} does not exist: seal a first secret to create it")]
    NoFile(PathBuf),
    #[error(
        "master key {reference} is already the newest (version {version}): give a new one, or add --reseal"
    )]
    NothingToDo { reference: String, version: u32 },
}

/// Runs one command; results go to stdout, progress to stderr.
pub fn run(command: SecretsCommand) -> Result<(), SecretsCommandError> {
    match command {
        SecretsCommand::NewMasterKey { target } => {
            let reference = if target.starts_with("file:") || target.starts_with("pkcs11:") {
                target.parse::<MasterKeyRef>()
            } else {
                Ok(MasterKeyRef::File(PathBuf::from(&target)))
            };
            let reference = reference.map_err(|source| SecretsCommandError::MasterKeyRef {
                flag: "new-master-key",
                source,
            })?;
            MasterKey::generate(&reference)?;
            match reference {
                MasterKeyRef::File(_) => {
                    eprintln!("wrote a new master key to {reference} (mode 0400)")
                }
                MasterKeyRef::Pkcs11(_) => eprintln!(
                    "generated a new master key {reference} (AES-256, sensitive, not extractable)"
                ),
            }
            Ok(())
        }
        SecretsCommand::Seal {
            file,
            master_key,
            value_from,
            name,
        } => {
            let master = read_master("--master-key", &master_key)?;
            let mut sealed = match file.exists() {
                true => SealedFile::load(&file)?,
                false => SealedFile::create(&file, &master)?,
            };
            let value = read_value(&name, value_from.as_deref())?;
            let version = sealed.seal(&name, &value, &master)?;
            sealed.save()?;
            eprintln!(
                "sealed \"{name}\" version {version} under master version {} in {}",
                sealed.newest_master(),
                file.display()
            );
            Ok(())
        }
        SecretsCommand::Rotate {
            file,
            master_key,
            old_master_keys,
            reseal,
        } => {
            if !file.exists() {
                return Err(SecretsCommandError::NoFile(file));
            }
            let mut sealed = SealedFile::load(&file)?;
            let new = read_master("--master-key", &master_key)?;
            let old = old_master_keys
                .iter()
                .map(|r| read_master("--old-master-key", r))
                .collect::<Result<Vec<_>, _>>()?;
            match sealed.version_of(&new)? {
                Some(version) if version == sealed.newest_master() && reseal => {}
                Some(version) if version == sealed.newest_master() => {
                    return Err(SecretsCommandError::NothingToDo {
                        reference: master_key,
                        version,
                    });
                }
                _ => {
                    let version = sealed.rotate(&new, &old)?;
                    eprintln!("added master version {version} ({})", new.reference());
                }
            }
            if reseal {
                let keys: Vec<MasterKey> = std::iter::once(new).chain(old).collect();
                let count = sealed.reseal(&keys)?;
                eprintln!(
                    "re-wrapped {count} data key(s) under master version {}",
                    sealed.newest_master()
                );
            }
            sealed.save()?;
            Ok(())
        }
        SecretsCommand::ShowVersions { file, json } => {
            let sealed = SealedFile::load(&file)?;
            print!("{}", show_versions(&sealed, json));
            Ok(())
        }
    }
}

fn read_master(flag: &'static str, reference: &str) -> Result<MasterKey, SecretsCommandError> {
    let reference = reference
        .parse::<MasterKeyRef>()
        .map_err(|source| SecretsCommandError::MasterKeyRef { flag, source })?;
    Ok(MasterKey::read(&reference)?)
}

fn read_value(name: &str, from: Option<&str>) -> Result<SecretString, SecretsCommandError> {
    if let Some(from) = from {
        let reference = match from.parse::<SecretRef>() {
            Ok(SecretRef::Sealed(_)) | Err(_) => {
                return Err(SecretsCommandError::ValueRef(InvalidSecretRef));
            }
            Ok(reference) => reference,
        };
        return reference.read().map_err(SecretsCommandError::Value);
    }
    let mut value = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("value of \"{name}\": "))
            .map_err(SecretsCommandError::Stdin)?
    } else {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(SecretsCommandError::Stdin)?;
        text
    };
    let keep = value.trim_end_matches(['\n', '\r']).len();
    value.truncate(keep);
    Ok(SecretString::from(value))
}

/// The masters and the secrets of a file, as a table or as JSON.
pub fn show_versions(sealed: &SealedFile, json: bool) -> String {
    let versions = sealed.versions();
    let newest = sealed.newest_master();
    if json {
        let value = serde_json::json!({
            "file": sealed.path(),
            "newest_master_version": newest,
            "secrets": versions,
        });
        return format!("{value:#}\n");
    }
    let mut out = format!(
        "{}: newest master version {newest}\n\n{:<32} {:>7} {:>14}\n",
        sealed.path().display(),
        "NAME",
        "VERSION",
        "MASTER VERSION"
    );
    for v in &versions {
        let stale = if v.master_version < newest {
            "  (reseal to retire older masters)"
        } else {
            ""
        };
        out.push_str(&format!(
            "{:<32} {:>7} {:>14}{stale}\n",
            v.name, v.version, v.master_version
        ));
    }
    out
}
