//! A key on a PKCS#11 token named by a PKCS#11 URI (RFC 7512), the form p11-kit, OpenSSL's
//! pkcs11 provider and GnuTLS read too, so one string says where the key is to every tool:
//!
//! `pkcs11:token=sidebridge;object=secrets-master?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/sidebridge/hsm-pin`
//!
//! Path attributes: `token` and `object` (both required) and `type` (`secret-key` if given).
//! Query attributes: `module-path` and `pin-source` (both required; the PIN source is
//! `file:/path` or `env:NAME`). `pin-value` is refused: a PIN never sits in a config. Values
//! are percent-decoded as the RFC says. Any other attribute is refused by name, not ignored:
//! a `slot-id` or `serial` this code did not match on would give a false sense of pinning.

use std::{fmt, path::PathBuf, str::FromStr};

use crate::{
    config::SecretRef,
    hsm::{HsmError, Token},
};

/// Where a key on a token is, and how to open the token.
#[derive(Clone, PartialEq, Eq)]
pub struct Pkcs11Uri {
    /// The vendor's PKCS#11 library (`module-path`).
    pub module: PathBuf,
    /// The token's label (`token`).
    pub token: String,
    /// The key's label (`object`).
    pub object: String,
    /// Where the user PIN is (`pin-source`): never `sealed:`, which would need the very key
    /// this URI names when that key is the sealed file's master.
    pub pin: SecretRef,
}

/// Why a string is not a PKCS#11 URI this code uses. It never repeats a `pin-value`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("PKCS#11 URI: {0}")]
pub struct InvalidPkcs11Uri(String);

fn invalid(message: impl Into<String>) -> InvalidPkcs11Uri {
    InvalidPkcs11Uri(message.into())
}

impl FromStr for Pkcs11Uri {
    type Err = InvalidPkcs11Uri;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s
            .strip_prefix("pkcs11:")
            .ok_or_else(|| invalid("must start with pkcs11:"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (mut token, mut object, mut module, mut pin) = (None, None, None, None);
        for (name, value) in attributes(path, ';')? {
            match name {
                "token" => set(&mut token, name, value)?,
                "object" => set(&mut object, name, value)?,
                "type" if value == "secret-key" => {}
                "type" => {
                    return Err(invalid(format!(
                        "type={value}: the master key is a secret-key"
                    )));
                }
                other => return Err(invalid(format!("unsupported path attribute \"{other}\""))),
            }
        }
        for (name, value) in attributes(query, '&')? {
            match name {
                "module-path" => set(&mut module, name, value)?,
                "pin-source" => set(&mut pin, name, value)?,
                "pin-value" => {
                    return Err(invalid(
                        "pin-value puts the PIN itself in the config: use pin-source=file:/path or env:NAME",
                    ));
                }
                other => {
                    return Err(invalid(format!("unsupported query attribute \"{other}\"")));
                }
            }
        }
        let required = |v: Option<String>, name: &str| {
            v.filter(|v| !v.is_empty())
                .ok_or_else(|| invalid(format!("{name}= is required")))
        };
        let pin = match required(pin, "pin-source")?.parse::<SecretRef>() {
            Ok(SecretRef::Sealed(_)) | Err(_) => {
                return Err(invalid("pin-source must be file:/path or env:NAME"));
            }
            Ok(pin) => pin,
        };
        Ok(Pkcs11Uri {
            token: required(token, "token")?,
            object: required(object, "object")?,
            module: PathBuf::from(required(module, "module-path")?),
            pin,
        })
    }
}

/// The `name=value` pairs of a URI's path (`;`) or query (`&`), values percent-decoded.
fn attributes(part: &str, separator: char) -> Result<Vec<(&str, String)>, InvalidPkcs11Uri> {
    part.split(separator)
        .filter(|a| !a.is_empty())
        .map(|attribute| {
            let (name, value) = attribute
                .split_once('=')
                .ok_or_else(|| invalid(format!("\"{name}\" has no value", name = attribute)))?;
            let value = percent_decode(value).ok_or_else(|| {
                invalid(format!(
                    "{name}= holds a malformed %-escape or non-UTF-8 text"
                ))
            })?;
            Ok((name, value))
        })
        .collect()
}

fn set(slot: &mut Option<String>, name: &str, value: String) -> Result<(), InvalidPkcs11Uri> {
    if slot.replace(value).is_some() {
        return Err(invalid(format!("{name}= is given twice")));
    }
    Ok(())
}

fn percent_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl Pkcs11Uri {
    /// The token this URI names, its module loaded and its PIN read. Blocks.
    pub fn open_token(&self) -> Result<Token, HsmError> {
        let pin = self.pin.read().map_err(|e| HsmError::Pin(e.to_string()))?;
        Token::new(&self.module, &self.token, &pin)
    }
}

/// The key and its token, which is what a message needs: the module and PIN source are in
/// the config for whoever needs them.
impl fmt::Display for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pkcs11:token={};object={}", self.token, self.object)
    }
}

impl fmt::Debug for Pkcs11Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Pkcs11Uri({self}, module {}, pin {})",
            self.module.display(),
            self.pin
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "pkcs11:token=side%20bridge;object=master;type=secret-key\
                        ?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/sb/pin";

    #[test]
    fn a_uri_names_token_key_module_and_pin_source() {
        let uri: Pkcs11Uri = GOOD.parse().expect("parses");
        assert_eq!(uri.token, "side bridge");
        assert_eq!(uri.object, "master");
        assert_eq!(uri.module, PathBuf::from("/usr/lib/softhsm/libsofthsm2.so"));
        assert_eq!(uri.pin, SecretRef::File("/etc/sb/pin".into()));
        assert_eq!(uri.to_string(), "pkcs11:token=side bridge;object=master");
        let env: Pkcs11Uri = "pkcs11:object=k;token=t?pin-source=env:HSM_PIN&module-path=/m.so"
            .parse()
            .expect("any order");
        assert_eq!(env.pin, SecretRef::Env("HSM_PIN".into()));
    }

    #[test]
    fn what_it_cannot_honour_is_refused_by_name() {
        let refused = |s: &str| s.parse::<Pkcs11Uri>().expect_err(s).to_string();
        let tail = "?module-path=/m.so&pin-source=env:P";
        assert_eq!(refused("file:/k"), "PKCS#11 URI: must start with pkcs11:");
        assert_eq!(
            refused(&format!("pkcs11:object=k{tail}")),
            "PKCS#11 URI: token= is required"
        );
        assert_eq!(
            refused("pkcs11:token=t;object=k?pin-source=env:P"),
            "PKCS#11 URI: module-path= is required"
        );
        assert_eq!(
            refused("pkcs11:token=t;object=k?module-path=/m.so&pin-value=1234"),
            "PKCS#11 URI: pin-value puts the PIN itself in the config: use \
             pin-source=file:/path or env:NAME"
        );
        assert!(!refused("pkcs11:token=t;object=k?module-path=/m&pin-value=1234").contains("1234"));
        assert_eq!(
            refused("pkcs11:token=t;object=k?module-path=/m.so&pin-source=sealed:pin"),
            "PKCS#11 URI: pin-source must be file:/path or env:NAME"
        );
        assert_eq!(
            refused(&format!("pkcs11:token=t;object=k;slot-id=3{tail}")),
            "PKCS#11 URI: unsupported path attribute \"slot-id\""
        );
        assert_eq!(
            refused(&format!("pkcs11:token=t;object=k;type=private{tail}")),
            "PKCS#11 URI: type=private: the master key is a secret-key"
        );
        assert_eq!(
            refused(&format!("pkcs11:token=t;token=u;object=k{tail}")),
            "PKCS#11 URI: token= is given twice"
        );
        assert_eq!(
            refused(&format!("pkcs11:token=t%2;object=k{tail}")),
            "PKCS#11 URI: token= holds a malformed %-escape or non-UTF-8 text"
        );
        assert_eq!(
            refused(&format!("pkcs11:token;object=k{tail}")),
            "PKCS#11 URI: \"token\" has no value"
        );
    }
}
