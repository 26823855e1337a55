//! The `[key]` table: which backend holds the validator key and how it is unlocked. The
//! keystore file is the default, so a table with only `keystore` and `password` means what it
//! always meant; `backend = "pkcs11"` names a key that lives on a PKCS#11 token (an HSM) and
//! never leaves it.

use std::path::PathBuf;

use toml::Value;

use super::{
    SecretRef,
    raw::{Errors, KEY_KEYS, KEYSTORE_KEYS, RawKey},
    validate::string,
};

/// Where the validator key lives and how it is unlocked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyConfig {
    /// An encrypted Web3 Secret Storage file (`backend = "keystore"`, the default).
    Keystore {
        keystore: PathBuf,
        /// `None`: ask on the terminal.
        password: Option<SecretRef>,
    },
    /// A key generated on a PKCS#11 token (`backend = "pkcs11"`).
    Pkcs11(Pkcs11Config),
}

/// A secp256k1 key on a PKCS#11 token: the module that drives the device, the token and the
/// key by label, and where the user PIN is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pkcs11Config {
    /// The vendor's PKCS#11 library, e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: PathBuf,
    /// The token's label (slot numbers can change when devices are added; labels do not).
    pub token_label: String,
    /// The label of the key pair (`CKA_LABEL` of both halves).
    pub key_label: String,
    /// The user PIN, by reference.
    pub pin: SecretRef,
}

/// The backends `key.backend` accepts.
const BACKENDS: &str = "expected \"keystore\" or \"pkcs11\"";

/// Validates the `[key]` table. `password_override` is `SIDEBRIDGE_KEY_PASSWORD`, which only
/// the keystore backend reads.
pub(super) fn key_config(
    raw: RawKey,
    password_override: Option<Value>,
    errors: &mut Errors,
) -> Option<KeyConfig> {
    let backend =
        errors.optional(
            "key.backend",
            raw.backend.clone(),
            Backend::Keystore,
            |v| match string(v)?.as_str() {
                "keystore" => Ok(Backend::Keystore),
                "pkcs11" => Ok(Backend::Pkcs11),
                other => Err(format!("unknown backend \"{other}\" ({BACKENDS})")),
            },
        )?;
    // a setting of the other backend is a mistake worth naming, not something to ignore
    let present = raw.present();
    let (own, other) = match backend {
        Backend::Keystore => (KEYSTORE_KEYS, "pkcs11"),
        Backend::Pkcs11 => (PKCS11_KEYS, "keystore"),
    };
    for key in present.iter().filter(|k| !own.contains(k)) {
        errors.push(
            &format!("key.{key}"),
            format!("belongs to backend = \"{other}\""),
        );
    }
    match backend {
        Backend::Keystore => keystore_config(raw, password_override, errors),
        Backend::Pkcs11 => pkcs11_config(raw, errors).map(KeyConfig::Pkcs11),
    }
}

/// The keys of the PKCS#11 backend: `backend` and the ones after the keystore's.
const PKCS11_KEYS: &[&str] = &["backend", "module", "token_label", "key_label", "pin"];

#[derive(Clone, Copy)]
enum Backend {
    Keystore,
    Pkcs11,
}

impl RawKey {
    /// The keys this table sets, in [`KEY_KEYS`] order.
    fn present(&self) -> Vec<&'static str> {
        let set = [
            self.backend.is_some(),
            self.keystore.is_some(),
            self.password.is_some(),
            self.module.is_some(),
            self.token_label.is_some(),
            self.key_label.is_some(),
            self.pin.is_some(),
        ];
        KEY_KEYS
            .iter()
            .zip(set)
            .filter_map(|(key, set)| set.then_some(*key))
            .collect()
    }
}

fn keystore_config(
    raw: RawKey,
    password_override: Option<Value>,
    errors: &mut Errors,
) -> Option<KeyConfig> {
    let keystore = errors.required("key.keystore", raw.keystore, |v| {
        non_empty(v).map(PathBuf::from)
    });
    let password = match password_override.or(raw.password) {
        None => Some(None),
        Some(v) => errors.parse("key.password", v, |v| secret_ref(v).map(Some)),
    };
    Some(KeyConfig::Keystore {
        keystore: keystore?,
        password: password?,
    })
}

fn pkcs11_config(raw: RawKey, errors: &mut Errors) -> Option<Pkcs11Config> {
    let module = errors.required("key.module", raw.module, |v| {
        non_empty(v).map(PathBuf::from)
    });
    let token_label = errors.required("key.token_label", raw.token_label, label);
    let key_label = errors.required("key.key_label", raw.key_label, label);
    let pin = errors.required("key.pin", raw.pin, secret_ref);
    Some(Pkcs11Config {
        module: module?,
        token_label: token_label?,
        key_label: key_label?,
        pin: pin?,
    })
}

fn non_empty(v: Value) -> Result<String, String> {
    let s = string(v)?;
    if s.is_empty() {
        return Err("must not be empty".to_string());
    }
    Ok(s)
}

/// A token label is at most 32 bytes (the field's size in PKCS#11); key labels keep the same
/// bound so that a typo'd paste is caught here rather than as "no such key".
fn label(v: Value) -> Result<String, String> {
    let s = non_empty(v)?;
    if s.len() > 32 {
        return Err(format!("{} bytes; a label has at most 32", s.len()));
    }
    Ok(s)
}

fn secret_ref(v: Value) -> Result<SecretRef, String> {
    string(v)?.parse::<SecretRef>().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use crate::config::{Config, KeyConfig, Pkcs11Config, SecretRef, tests::VALID};

    fn parse(key: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<KeyConfig, Vec<String>> {
        let keystore = "keystore = \"/etc/sidebridge/validator.json\"\n\
                        password = \"file:/etc/sidebridge/password\"\n";
        assert!(VALID.contains(keystore));
        Config::from_toml_str(&VALID.replace(keystore, &format!("{key}\n")), env)
            .map(|c| c.key)
            .map_err(|e| e.field_errors().iter().map(|e| e.to_string()).collect())
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    const HSM: &str = r#"
backend = "pkcs11"
module = "/usr/lib/softhsm/libsofthsm2.so"
token_label = "sidebridge"
key_label = "validator"
pin = "env:HSM_PIN"
"#;

    #[test]
    fn pkcs11_backend_parses() {
        assert_eq!(
            parse(HSM, &no_env),
            Ok(KeyConfig::Pkcs11(Pkcs11Config {
                module: "/usr/lib/softhsm/libsofthsm2.so".into(),
                token_label: "sidebridge".into(),
                key_label: "validator".into(),
                pin: SecretRef::Env("HSM_PIN".into()),
            }))
        );
    }

    #[test]
    fn keystore_is_the_default_backend_and_the_password_override_is_its_own() {
        let password = |name: &str| (name == "SIDEBRIDGE_KEY_PASSWORD").then(|| "env:PW".into());
        let keystore = KeyConfig::Keystore {
            keystore: "/k.json".into(),
            password: Some(SecretRef::Env("PW".into())),
        };
        assert_eq!(
            parse("keystore = \"/k.json\"", &password),
            Ok(keystore.clone())
        );
        assert_eq!(
            parse("backend = \"keystore\"\nkeystore = \"/k.json\"", &password),
            Ok(keystore)
        );
        // a password in the environment (for another node on the host) does not upset an HSM
        assert!(matches!(parse(HSM, &password), Ok(KeyConfig::Pkcs11(_))));
    }

    #[test]
    fn pkcs11_mistakes_are_named_with_their_paths() {
        assert_eq!(
            parse(
                "backend = \"pkcs11\"\nkeystore = \"/k.json\"\npin = \"1234\"",
                &no_env
            ),
            Err(vec![
                "key.keystore: belongs to backend = \"keystore\"".to_string(),
                "key.module: missing".into(),
                "key.token_label: missing".into(),
                "key.key_label: missing".into(),
                "key.pin: expected a reference env:NAME, file:/path or sealed:NAME (never the secret itself)"
                    .into(),
            ])
        );
        assert_eq!(
            parse("keystore = \"/k.json\"\ntoken_label = \"t\"", &no_env),
            Err(vec![
                "key.token_label: belongs to backend = \"pkcs11\"".to_string()
            ])
        );
        assert_eq!(
            parse("backend = \"yubikey\"", &no_env),
            Err(vec![
                "key.backend: unknown backend \"yubikey\" (expected \"keystore\" or \"pkcs11\")"
                    .to_string()
            ])
        );
        let long = HSM.replace("\"validator\"", &format!("\"{}\"", "v".repeat(33)));
        assert_eq!(
            parse(&long, &no_env),
            Err(vec![
                "key.key_label: 33 bytes; a label has at most 32".to_string()
            ])
        );
    }
}
