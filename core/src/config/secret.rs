//! Secrets by reference: the config names where a secret is (`env:NAME`, `file:/path`,
//! `sealed:NAME`), never the secret; resolved secrets are wiped on drop and redacted in `Debug`,
//! and a database URL's password is redacted wherever it is shown.
//!
//! A `sealed:NAME` reference is bound, while the config is validated, to the `[secrets]` table
//! that says where the sealed file and its master keys are (see `sealed/mod.rs`); one parsed
//! from a command line alone has no such table and is refused when read.

use std::{fmt, ops::Deref, path::PathBuf, str::FromStr};

use alloy::signers::k256::elliptic_curve::zeroize::Zeroizing;
use toml::Value;

use super::{
    ConfigError, KeyConfig,
    raw::{Errors, RawChain, RawSecrets, SECRETS_KEYS},
    sealed::{MasterKeyRef, SealedFile, SecretsConfig, valid_name},
    validate::string,
};

/// Where a secret is found: the config names the place, never the secret.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// `env:NAME`: the value of an environment variable.
    Env(String),
    /// `file:/path`: the contents of a file, trailing newlines removed.
    File(PathBuf),
    /// `sealed:NAME`: an entry of the sealed secrets file named by the config's `[secrets]`.
    Sealed(SealedRef),
}

/// `sealed:NAME`, and where the sealed file and its master keys are once bound to a config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedRef {
    pub name: String,
    /// `None` until bound to a `[secrets]` table; reading it then is an error.
    pub secrets: Option<SecretsConfig>,
}

impl SealedRef {
    fn open(&self) -> Result<SecretString, ConfigError> {
        let secrets = self
            .secrets
            .as_ref()
            .ok_or_else(|| ConfigError::SealedUnbound {
                name: self.name.clone(),
            })?;
        Ok(secrets.open(&self.name)?)
    }
}

/// A string that is not `env:NAME`, `file:/path` or `sealed:NAME`. It does not repeat the
/// string, which may well be the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a reference env:NAME, file:/path or sealed:NAME (never the secret itself)")]
pub struct InvalidSecretRef;

impl FromStr for SecretRef {
    type Err = InvalidSecretRef;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(name) = s.strip_prefix("env:") {
            let valid =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            return if valid {
                Ok(SecretRef::Env(name.to_string()))
            } else {
                Err(InvalidSecretRef)
            };
        }
        if let Some(name) = s.strip_prefix("sealed:") {
            return if valid_name(name) {
                Ok(SecretRef::Sealed(SealedRef {
                    name: name.to_string(),
                    secrets: None,
                }))
            } else {
                Err(InvalidSecretRef)
            };
        }
        match s.strip_prefix("file:") {
            Some(path) if !path.is_empty() => Ok(SecretRef::File(PathBuf::from(path))),
            _ => Err(InvalidSecretRef),
        }
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(name) => write!(f, "env:{name}"),
            SecretRef::File(path) => write!(f, "file:{}", path.display()),
            SecretRef::Sealed(sealed) => write!(f, "sealed:{}", sealed.name),
        }
    }
}

// The reference is not secret; showing it helps an operator find the right file.
impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretRef({self})")
    }
}

impl SecretRef {
    /// `env:NAME`, `file:/path` or `sealed:NAME`; the same as `str::parse`.
    pub fn parse(s: &str) -> Result<Self, InvalidSecretRef> {
        s.parse()
    }

    /// Reads the secret from the process environment or the file system.
    pub fn read(&self) -> Result<SecretString, ConfigError> {
        match self {
            SecretRef::Env(name) => match std::env::var(name) {
                Ok(value) => self.non_empty(value),
                Err(std::env::VarError::NotPresent) => {
                    Err(ConfigError::EnvNotSet { name: name.clone() })
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    Err(ConfigError::EnvNotUnicode { name: name.clone() })
                }
            },
            SecretRef::File(_) | SecretRef::Sealed(_) => self.read_with(&|_| None),
        }
    }

    /// Like [`SecretRef::read`], with `env` standing in for the process environment.
    pub fn read_with(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<SecretString, ConfigError> {
        match self {
            SecretRef::Env(name) => match env(name) {
                Some(value) => self.non_empty(value),
                None => Err(ConfigError::EnvNotSet { name: name.clone() }),
            },
            SecretRef::File(path) => {
                if let Some(mode) = super::exposed_mode(path) {
                    return Err(ConfigError::SecretFileExposed {
                        path: path.clone(),
                        mode,
                    });
                }
                let mut text =
                    std::fs::read_to_string(path)
                        .map(Zeroizing::new)
                        .map_err(|source| ConfigError::SecretFile {
                            path: path.clone(),
                            source,
                        })?;
                let keep = text.trim_end_matches(['\n', '\r']).len();
                text.truncate(keep);
                if text.is_empty() {
                    return Err(ConfigError::EmptySecret {
                        reference: self.to_string(),
                    });
                }
                Ok(SecretString(text))
            }
            SecretRef::Sealed(sealed) => sealed.open(),
        }
    }

    fn non_empty(&self, value: String) -> Result<SecretString, ConfigError> {
        let value = SecretString::from(value);
        if value.is_empty() {
            return Err(ConfigError::EmptySecret {
                reference: self.to_string(),
            });
        }
        Ok(value)
    }
}

/// A resolved secret: wiped from memory when dropped, `[redacted]` when debug-printed.
/// Dereferences to `&str` so it can be handed to functions that take one.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        SecretString(Zeroizing::new(value))
    }
}

impl Deref for SecretString {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString([redacted])")
    }
}

/// The store's URL (`sqlite:...` or `postgres://...`). Shown with its password replaced by
/// `***`; [`DatabaseUrl::expose`] gives the real one to the driver.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(SecretString);

impl DatabaseUrl {
    /// Accepts `sqlite:` and `postgres://` / `postgresql://` URLs.
    pub fn new(url: impl Into<String>) -> Result<Self, String> {
        let url = SecretString::from(url.into());
        let lower = url.to_ascii_lowercase();
        if lower.starts_with("sqlite:")
            || lower.starts_with("postgres://")
            || lower.starts_with("postgresql://")
        {
            Ok(DatabaseUrl(url))
        } else {
            Err("must be a sqlite: or postgres:// URL".to_string())
        }
    }

    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// The URL with the password, if any, replaced by `***`.
    pub fn redacted(&self) -> String {
        redact_url_password(self.expose())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({:?})", self.redacted())
    }
}

pub(super) fn redact_url_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    // the password is percent-encoded, so the last '@' ends the user info
    let Some(at) = authority.rfind('@') else {
        return url.to_string();
    };
    let Some(colon) = authority[..at].find(':') else {
        return url.to_string();
    };
    format!(
        "{}{}:***{}",
        &url[..scheme_end],
        &authority[..colon],
        &rest[at..]
    )
}

/// The config's `[secrets]` table as validation found it.
#[derive(Debug)]
pub(super) enum SecretsTable {
    Absent,
    /// Present with errors, already reported at its own paths.
    Invalid,
    Valid(SecretsConfig),
}

/// Validates `[secrets]`: `file` and a non-empty `master_keys` list of `file:/path`.
pub(super) fn secrets_table(errors: &mut Errors, raw: Option<Value>) -> SecretsTable {
    let Some(v) = raw else {
        return SecretsTable::Absent;
    };
    let Some(raw) = errors.section::<RawSecrets>("secrets", v, SECRETS_KEYS) else {
        return SecretsTable::Invalid;
    };
    let file = errors.required("secrets.file", raw.file, |v| match string(v)? {
        s if s.is_empty() => Err("must not be empty".to_string()),
        s => Ok(PathBuf::from(s)),
    });
    let master_keys = errors.required("secrets.master_keys", raw.master_keys, master_key_list);
    match (file, master_keys) {
        (Some(file), Some(master_keys)) => SecretsTable::Valid(SecretsConfig { file, master_keys }),
        _ => SecretsTable::Invalid,
    }
}

fn master_key_list(v: Value) -> Result<Vec<MasterKeyRef>, String> {
    let Value::Array(items) = v else {
        return Err("expected a list, e.g. [\"file:/etc/sidebridge/master.key\"]".to_string());
    };
    if items.is_empty() {
        return Err("must name at least one master key".to_string());
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            string(item)
                .and_then(|s| s.parse::<MasterKeyRef>().map_err(|e| e.to_string()))
                .map_err(|e| format!("[{i}]: {e}"))
        })
        .collect()
}

/// Binds a `sealed:NAME` reference to the `[secrets]` table and checks the sealed file has
/// that name (the value is opened only when needed); other references are left as they are.
pub(super) fn bind(reference: &mut SecretRef, secrets: &SecretsTable) -> Result<(), String> {
    let SecretRef::Sealed(sealed) = reference else {
        return Ok(());
    };
    match secrets {
        SecretsTable::Absent => Err(format!(
            "{reference} needs a [secrets] table (file and master_keys)"
        )),
        SecretsTable::Invalid => Err(format!(
            "{reference} cannot be opened until the [secrets] table is fixed"
        )),
        SecretsTable::Valid(config) => {
            SealedFile::load(&config.file)
                .and_then(|file| file.check_name(&sealed.name))
                .map_err(|e| e.to_string())?;
            sealed.secrets = Some(config.clone());
            Ok(())
        }
    }
}

/// Opens `rpc_url` and `fallback_rpc_urls` given as `sealed:NAME` (URLs that carry a
/// provider's API key), so they are validated as URLs like any other.
pub(super) fn open_sealed_urls(
    path: &str,
    raw: &mut RawChain,
    secrets: &SecretsTable,
    errors: &mut Errors,
) {
    let mut open = |at: String, value: &mut Value| {
        let Value::String(s) = value else { return };
        if !s.starts_with("sealed:") {
            return;
        }
        let opened = s
            .parse::<SecretRef>()
            .map_err(|e| e.to_string())
            .and_then(|mut reference| {
                bind(&mut reference, secrets)?;
                reference.read().map_err(|e| e.to_string())
            });
        match opened {
            Ok(url) => *s = url.expose().to_string(),
            Err(message) => errors.push(&at, message),
        }
    };
    if let Some(value) = raw.rpc_url.as_mut() {
        open(format!("{path}.rpc_url"), value);
    }
    if let Some(Value::Array(items)) = raw.fallback_rpc_urls.as_mut() {
        for value in items {
            open(format!("{path}.fallback_rpc_urls"), value);
        }
    }
}

/// Binds the key's password or PIN, reporting a problem at its path.
pub(super) fn bind_key(key: &mut KeyConfig, secrets: &SecretsTable, errors: &mut Errors) {
    let (path, reference) = match key {
        KeyConfig::Keystore {
            password: Some(reference),
            ..
        } => ("key.password", reference),
        KeyConfig::Pkcs11(config) => ("key.pin", &mut config.pin),
        KeyConfig::Keystore { password: None, .. } => return,
    };
    if let Err(message) = bind(reference, secrets) {
        errors.push(path, message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_refs_parse_and_read() {
        assert_eq!(
            "env:PW".parse::<SecretRef>(),
            Ok(SecretRef::Env("PW".into()))
        );
        assert_eq!(
            "file:/a/b".parse::<SecretRef>(),
            Ok(SecretRef::File("/a/b".into()))
        );
        assert_eq!(
            "sealed:db.url".parse::<SecretRef>(),
            Ok(SecretRef::Sealed(SealedRef {
                name: "db.url".into(),
                secrets: None
            }))
        );
        for bad in [
            "",
            "env:",
            "file:",
            "pw",
            "env:A B",
            "ENV:X",
            "sealed:",
            "sealed:a b",
        ] {
            assert_eq!(bad.parse::<SecretRef>(), Err(InvalidSecretRef), "{bad}");
        }

        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pw");
        std::fs::write(&path, "pass word\r\n\n").expect("write");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        let secret = SecretRef::File(path.clone()).read().expect("read");
        assert_eq!(secret.expose(), "pass word");
        assert_eq!(format!("{secret:?}"), "SecretString([redacted])");

        std::fs::write(&path, "\n").expect("write");
        let err = SecretRef::File(path.clone()).read().expect_err("empty");
        assert_eq!(
            err.to_string(),
            format!("secret file:{} is empty", path.display())
        );

        let missing = dir.path().join("nope");
        let err = SecretRef::File(missing.clone())
            .read()
            .expect_err("missing");
        assert!(
            err.to_string()
                .starts_with(&format!("cannot read secret file {}: ", missing.display())),
            "{err}"
        );

        let env = |name: &str| (name == "PW").then(|| "x".to_string());
        assert_eq!(
            SecretRef::Env("PW".into())
                .read_with(&env)
                .expect("set")
                .expose(),
            "x"
        );
        let err = SecretRef::Env("NOPE_NOT_SET_1234".into())
            .read()
            .expect_err("unset");
        assert_eq!(
            err.to_string(),
            "environment variable NOPE_NOT_SET_1234 is not set"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_secret_file_others_may_read_or_write_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pw");
        std::fs::write(&path, "pw\n").expect("write");
        for mode in [0o644, 0o620, 0o606] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
            let err = SecretRef::File(path.clone()).read().expect_err("exposed");
            assert_eq!(
                err.to_string(),
                format!(
                    "secret file {} is readable or writable by other users (mode {mode:o}); \
                     refusing to use it: chmod 600 it",
                    path.display()
                )
            );
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).expect("chmod");
        assert_eq!(
            SecretRef::File(path).read().expect("private").expose(),
            "pw"
        );
    }
}
