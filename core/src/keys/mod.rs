//! The validator's key at rest: an encrypted Web3 Secret Storage file (version 3, the format
//! geth and `cast wallet` read and write), created, imported, inspected and unlocked here for
//! `relayer keys new|import|address` and `relayer run`.
//!
//! The key never touches the disk in plain text and a password never comes from the command
//! line: it is read from a reference (`env:NAME`, `file:/path`) or asked for on the terminal.
//! Files we write carry the geth-style `address` field, so `relayer keys address` (and any
//! other tool) can tell whose key it is without the password, and are created with mode 0600,
//! never over an existing file.
//!
//! Unlocking runs the keystore's KDF (scrypt or PBKDF2): deliberately slow, so call
//! [`load_signer`] once at start-up, or through `spawn_blocking` from async code.

use std::{
    fs,
    io::{self, IsTerminal, Write},
    path::{Path, PathBuf},
};

use alloy::{
    primitives::Address,
    signers::{
        k256::elliptic_curve::zeroize::Zeroizing,
        local::{LocalSignerError, PrivateKeySigner},
    },
};

use crate::config::{ConfigError, ENV_KEY_PASSWORD, SecretRef, SecretString};

mod v3;

pub use v3::KdfCost;

/// Why a keystore could not be created, read or unlocked, or no password was found.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("keystore {} not found", .0.display())]
    NotFound(PathBuf),
    #[error("keystore {} already exists; refusing to overwrite it", .0.display())]
    Exists(PathBuf),
    #[error("wrong password for keystore {}", .0.display())]
    WrongPassword(PathBuf),
    #[error("keystore {} is not a valid Web3 Secret Storage file: {reason}", path.display())]
    Malformed { path: PathBuf, reason: String },
    #[error(
        "keystore {} does not record its address; only its password reveals it \
         (unlock it, e.g. with `relayer run`)",
        .0.display()
    )]
    NoAddress(PathBuf),
    #[error("invalid private key: {0}")]
    InvalidPrivateKey(&'static str),
    #[error("refusing to encrypt a key with an empty password")]
    EmptyPassword,
    #[error("passwords do not match")]
    PasswordMismatch,
    #[error(
        "no password: set key.password or {ENV_KEY_PASSWORD} (env:NAME or file:/path), \
         or run interactively"
    )]
    NoPassword,
    #[error("reading the password from the terminal: {0}")]
    Prompt(#[source] io::Error),
    #[error("keystore password: {0}")]
    Password(#[from] ConfigError),
    #[error(
        "keystore {} is readable or writable by other users (mode {mode:o}); refusing to use it: chmod 600 it",
        path.display()
    )]
    Exposed { path: PathBuf, mode: u32 },
    #[error("keystore {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Creates a keystore at `path` holding a fresh random key, at the standard scrypt cost;
/// returns its address.
pub fn new_keystore(path: &Path, password: &str) -> Result<Address, KeyError> {
    write_keystore(
        path,
        &PrivateKeySigner::random(),
        password,
        KdfCost::Standard,
    )
}

/// Encrypts an existing private key (hex, with or without `0x`) into a keystore at `path`, at
/// the standard scrypt cost; returns its address. Errors never repeat the key.
pub fn import_keystore(
    path: &Path,
    private_key_hex: &str,
    password: &str,
) -> Result<Address, KeyError> {
    import_keystore_with(path, private_key_hex, password, KdfCost::Standard)
}

/// [`import_keystore`] at a chosen cost ([`KdfCost::Light`] only for throwaway test keys).
pub fn import_keystore_with(
    path: &Path,
    private_key_hex: &str,
    password: &str,
    cost: KdfCost,
) -> Result<Address, KeyError> {
    let hex = private_key_hex.trim();
    let hex = hex.strip_prefix("0x").unwrap_or(hex);
    if hex.len() != 64 {
        return Err(KeyError::InvalidPrivateKey(
            "expected 32 bytes as 64 hex digits",
        ));
    }
    let mut bytes = Zeroizing::new([0u8; 32]);
    alloy::hex::decode_to_slice(hex, bytes.as_mut_slice())
        .map_err(|_| KeyError::InvalidPrivateKey("not hexadecimal"))?;
    let signer = PrivateKeySigner::from_slice(bytes.as_slice())
        .map_err(|_| KeyError::InvalidPrivateKey("not a valid secp256k1 private key"))?;
    write_keystore(path, &signer, password, cost)
}

/// The address a keystore declares, read without the password.
pub fn keystore_address(path: &Path) -> Result<Address, KeyError> {
    let json = read_json(path)?;
    declared_address(path, &json)?.ok_or_else(|| KeyError::NoAddress(path.to_path_buf()))
}

/// Decrypts the keystore at `path`.
pub fn load_signer(path: &Path, password: &str) -> Result<PrivateKeySigner, KeyError> {
    let json = read_json(path)?;
    let declared = declared_address(path, &json)?;
    check_shape(&json).map_err(|reason| malformed(path, reason))?;
    refuse_if_exposed(path)?;
    let signer =
        PrivateKeySigner::decrypt_keystore(path, password).map_err(|e| decrypt_error(path, e))?;
    if let Some(declared) = declared
        && declared != signer.address()
    {
        return Err(malformed(
            path,
            format!(
                "its address field says {declared} but the key is {}",
                signer.address()
            ),
        ));
    }
    Ok(signer)
}

/// The keystore password: from `source` when given, else asked on the terminal (twice when
/// `confirm`, for a new keystore). Without a reference and without a terminal on stdin this is
/// an error rather than a hang.
pub fn read_password(source: Option<&SecretRef>, confirm: bool) -> Result<SecretString, KeyError> {
    read_password_with(source, confirm, io::stdin().is_terminal(), &mut |prompt| {
        rpassword::prompt_password(prompt)
    })
}

fn read_password_with(
    source: Option<&SecretRef>,
    confirm: bool,
    interactive: bool,
    prompt: &mut dyn FnMut(&str) -> io::Result<String>,
) -> Result<SecretString, KeyError> {
    if let Some(reference) = source {
        return Ok(reference.read()?);
    }
    if !interactive {
        return Err(KeyError::NoPassword);
    }
    let first = SecretString::from(prompt("Keystore password: ").map_err(KeyError::Prompt)?);
    if confirm {
        if first.is_empty() {
            return Err(KeyError::EmptyPassword);
        }
        let again = SecretString::from(prompt("Repeat password: ").map_err(KeyError::Prompt)?);
        if again != first {
            return Err(KeyError::PasswordMismatch);
        }
    }
    Ok(first)
}

fn malformed(path: &Path, reason: impl Into<String>) -> KeyError {
    KeyError::Malformed {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn io_error(path: &Path, source: io::Error) -> KeyError {
    if source.kind() == io::ErrorKind::NotFound {
        KeyError::NotFound(path.to_path_buf())
    } else {
        KeyError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

fn read_json(path: &Path) -> Result<serde_json::Value, KeyError> {
    let text = fs::read_to_string(path).map_err(|e| io_error(path, e))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| malformed(path, format!("not JSON: {e}")))?;
    if !json.is_object() {
        return Err(malformed(path, "not a JSON object"));
    }
    Ok(json)
}

/// The `address` field, which geth and we write but the format does not require.
fn declared_address(path: &Path, json: &serde_json::Value) -> Result<Option<Address>, KeyError> {
    match json.get("address") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => {
            let hex = s.strip_prefix("0x").unwrap_or(s);
            hex.parse::<Address>()
                .map(Some)
                .map_err(|_| malformed(path, "its address field is not an address"))
        }
        Some(_) => Err(malformed(path, "its address field is not a string")),
    }
}

/// Checks what the decryption would otherwise trip over (some malformed files make the
/// underlying library panic on short buffers).
fn check_shape(json: &serde_json::Value) -> Result<(), String> {
    let crypto = json
        .get("crypto")
        .ok_or("no crypto section (is this a Web3 Secret Storage file?)")?;
    let text = |v: Option<&serde_json::Value>, what: &str| {
        v.and_then(|v| v.as_str())
            .map(str::to_owned)
            .ok_or(format!("missing {what}"))
    };
    let cipher = text(crypto.get("cipher"), "crypto.cipher")?;
    if cipher != "aes-128-ctr" {
        return Err(format!(
            "unsupported cipher {cipher:?} (expected aes-128-ctr)"
        ));
    }
    let iv = text(
        crypto.get("cipherparams").and_then(|p| p.get("iv")),
        "crypto.cipherparams.iv",
    )?;
    if iv.len() != 32 {
        return Err("crypto.cipherparams.iv must be 16 bytes".into());
    }
    let params = crypto.get("kdfparams").ok_or("missing crypto.kdfparams")?;
    if params.get("dklen").and_then(|v| v.as_u64()) != Some(32) {
        return Err("crypto.kdfparams.dklen must be 32".into());
    }
    match text(crypto.get("kdf"), "crypto.kdf")?.as_str() {
        "scrypt" => {}
        "pbkdf2" => {
            let rounds = params.get("c").and_then(|v| v.as_u64()).unwrap_or(0);
            if rounds == 0 {
                return Err("crypto.kdfparams.c must be a positive integer".into());
            }
        }
        other => return Err(format!("unsupported kdf {other:?}")),
    }
    Ok(())
}

fn decrypt_error(path: &Path, error: LocalSignerError) -> KeyError {
    match error {
        LocalSignerError::EthKeystoreError(e) => {
            // `eth_keystore::KeystoreError` is not re-exported, so the variant is recognised by
            // name; the wrong-password test pins it.
            let debug = format!("{e:?}");
            if debug == "MacMismatch" {
                KeyError::WrongPassword(path.to_path_buf())
            } else if let Some(message) = debug
                .strip_prefix("StdIo(")
                .and_then(|m| m.strip_suffix(')'))
            {
                io_error(
                    path,
                    io::Error::other(message.trim_matches('"').to_string()),
                )
            } else {
                malformed(path, e.to_string())
            }
        }
        LocalSignerError::EcdsaError(_) => {
            malformed(path, "the decrypted key is not a valid secp256k1 key")
        }
        other => malformed(path, other.to_string()),
    }
}

/// A keystore that group or others may read or write is refused: its password is then the
/// key's only protection, and a file others may write can be swapped for one whose key they
/// hold.
fn refuse_if_exposed(path: &Path) -> Result<(), KeyError> {
    match crate::config::exposed_mode(path) {
        Some(mode) => Err(KeyError::Exposed {
            path: path.to_path_buf(),
            mode,
        }),
        None => Ok(()),
    }
}

/// Encrypts `signer`'s key at `cost` into a new file at `path` (mode 0600, never over an
/// existing file), with the `address` field.
fn write_keystore(
    path: &Path,
    signer: &PrivateKeySigner,
    password: &str,
    cost: KdfCost,
) -> Result<Address, KeyError> {
    if password.is_empty() {
        return Err(KeyError::EmptyPassword);
    }
    if fs::symlink_metadata(path).is_ok() {
        return Err(KeyError::Exists(path.to_path_buf()));
    }
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        private_dir_builder(true)
            .create(dir)
            .map_err(|e| io_error(dir, e))?;
    }
    let key = Zeroizing::new(signer.to_bytes().0);
    let address = signer.address();
    let json = v3::encrypt(&key, password, address, cost, &mut rand::thread_rng());
    let text = serde_json::to_vec(&json).map_err(|e| KeyError::Io {
        path: path.to_path_buf(),
        source: io::Error::other(e),
    })?;
    write_new_private(path, &text)?;
    Ok(address)
}

fn private_dir_builder(recursive: bool) -> fs::DirBuilder {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(recursive);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
}

fn write_new_private(path: &Path, contents: &[u8]) -> Result<(), KeyError> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            KeyError::Exists(path.to_path_buf())
        } else {
            io_error(path, e)
        }
    })?;
    let written = file.write_all(contents).and_then(|()| file.sync_all());
    if let Err(source) = written {
        drop(file);
        let _ = fs::remove_file(path);
        return Err(KeyError::Io {
            path: path.to_path_buf(),
            source,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{B256, address};

    use super::*;

    /// Writes `contents` to `path` readable by its owner only, as a secret must be.
    fn write_private(path: &Path, contents: impl AsRef<[u8]>) -> io::Result<()> {
        fs::write(path, contents)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
        }
        Ok(())
    }

    /// A keystore at the light cost: the tests that do not measure the cost stay fast.
    fn light(path: &Path, key: &str, password: &str) -> Result<Address, KeyError> {
        import_keystore_with(path, key, password, KdfCost::Light)
    }

    fn hex_lower(address: Address) -> String {
        let s = format!("{address:x}");
        s.strip_prefix("0x").map(str::to_owned).unwrap_or(s)
    }

    const ANVIL_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    const ANVIL_ADDRESS: Address = address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");

    #[test]
    fn new_keystore_round_trips() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keys").join("validator.json");
        let address = new_keystore(&path, "correct horse").expect("created");
        let signer = load_signer(&path, "correct horse").expect("unlocked");
        assert_eq!(signer.address(), address);
        assert_eq!(keystore_address(&path).expect("address"), address);

        // nothing but the keystore is left behind
        let entries: Vec<_> = fs::read_dir(path.parent().expect("parent"))
            .expect("read dir")
            .collect();
        assert_eq!(entries.len(), 1);

        let json: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&path).expect("read")).expect("json");
        assert_eq!(json["version"], 3);
        assert_eq!(json["crypto"]["kdf"], "scrypt");
        assert_eq!(json["address"], hex_lower(address));
        // the standard cost, not the library's sixteenth of it
        assert_eq!(json["crypto"]["kdfparams"]["n"], 262_144);
        assert_eq!(json["crypto"]["kdfparams"]["r"], 8);
        assert_eq!(json["crypto"]["kdfparams"]["p"], 1);
    }

    /// A light keystore (tests, devnets) opens the same way, and two files of one key share
    /// no salt, IV or id.
    #[test]
    fn a_light_keystore_round_trips_and_nothing_random_repeats() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
        for path in [&a, &b] {
            let address =
                import_keystore_with(path, ANVIL_KEY, "pw", KdfCost::Light).expect("created");
            assert_eq!(address, ANVIL_ADDRESS);
            assert_eq!(
                load_signer(path, "pw").expect("unlocked").address(),
                ANVIL_ADDRESS
            );
            assert!(matches!(
                load_signer(path, "wrong"),
                Err(KeyError::WrongPassword(_))
            ));
        }
        let read = |p: &Path| -> serde_json::Value {
            serde_json::from_str(&fs::read_to_string(p).expect("read")).expect("json")
        };
        let (ja, jb) = (read(&a), read(&b));
        assert_eq!(ja["crypto"]["kdfparams"]["n"], 4_096);
        for field in [
            "/crypto/kdfparams/salt",
            "/crypto/cipherparams/iv",
            "/crypto/ciphertext",
            "/id",
        ] {
            assert_ne!(ja.pointer(field), jb.pointer(field), "{field}");
        }
        let id = ja["id"].as_str().expect("id");
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4", "a version 4 UUID: {id}");
    }

    #[cfg(unix)]
    #[test]
    fn keystore_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("validator.json");
        light(&path, ANVIL_KEY, "pw").expect("created");
        let mode = fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn a_keystore_or_password_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("validator.json");
        light(&path, ANVIL_KEY, "pw").expect("created");
        for mode in [0o640, 0o604, 0o622] {
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod");
            let err = load_signer(&path, "pw").expect_err("exposed");
            assert_eq!(
                err.to_string(),
                format!(
                    "keystore {} is readable or writable by other users (mode {mode:o}); \
                     refusing to use it: chmod 600 it",
                    path.display()
                )
            );
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).expect("chmod");
        assert_eq!(
            load_signer(&path, "pw").expect("private").address(),
            ANVIL_ADDRESS
        );

        let password = dir.path().join("pw");
        write_private(&password, "pw\n").expect("write");
        let reference = SecretRef::File(password.clone());
        let mut never = |_: &str| -> io::Result<String> { panic!("must not prompt") };
        assert!(read_password_with(Some(&reference), false, false, &mut never).is_ok());
        fs::set_permissions(&password, fs::Permissions::from_mode(0o644)).expect("chmod");
        let err =
            read_password_with(Some(&reference), false, false, &mut never).expect_err("exposed");
        assert_eq!(
            err.to_string(),
            format!(
                "keystore password: secret file {} is readable or writable by other users \
                 (mode 644); refusing to use it: chmod 600 it",
                password.display()
            )
        );
    }

    #[test]
    fn refuses_to_overwrite() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("validator.json");
        fs::write(&path, "precious").expect("write");
        let err = new_keystore(&path, "pw").expect_err("exists");
        assert_eq!(
            err.to_string(),
            format!(
                "keystore {} already exists; refusing to overwrite it",
                path.display()
            )
        );
        let err = import_keystore(&path, ANVIL_KEY, "pw").expect_err("exists");
        assert!(matches!(err, KeyError::Exists(_)));
        assert_eq!(fs::read_to_string(&path).expect("read"), "precious");
    }

    #[test]
    fn wrong_password_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("validator.json");
        light(&path, ANVIL_KEY, "right").expect("created");
        let err = load_signer(&path, "wrong").expect_err("wrong password");
        assert_eq!(
            err.to_string(),
            format!("wrong password for keystore {}", path.display())
        );
    }

    #[test]
    fn missing_and_malformed_files_are_told_apart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nope.json");
        let err = load_signer(&path, "pw").expect_err("missing");
        assert_eq!(
            err.to_string(),
            format!("keystore {} not found", path.display())
        );
        assert!(matches!(
            keystore_address(&path),
            Err(KeyError::NotFound(_))
        ));

        write_private(&path, "not json").expect("write");
        let err = load_signer(&path, "pw").expect_err("malformed");
        assert!(matches!(err, KeyError::Malformed { .. }), "{err}");
        assert!(err.to_string().starts_with(&format!(
            "keystore {} is not a valid Web3 Secret Storage file: not JSON",
            path.display()
        )));

        write_private(
            &path,
            r#"{"address": "f39fd6e51aad88f6f4ce6ab8827279cfffb92266"}"#,
        )
        .expect("write");
        let err = load_signer(&path, "pw").expect_err("malformed");
        assert!(err.to_string().contains("no crypto section"), "{err}");

        // a short IV would make the decryption library panic; we refuse it first
        let good = dir.path().join("good.json");
        light(&good, ANVIL_KEY, "pw").expect("created");
        let mut json: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&good).expect("read")).expect("json");
        json["crypto"]["cipherparams"]["iv"] = "00".into();
        write_private(&path, json.to_string()).expect("write");
        let err = load_signer(&path, "pw").expect_err("malformed");
        assert!(err.to_string().contains("iv must be 16 bytes"), "{err}");
    }

    #[test]
    fn import_gives_the_known_address() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("anvil0.json");
        let address = light(&path, ANVIL_KEY, "pw").expect("imported");
        assert_eq!(address, ANVIL_ADDRESS);
        assert_eq!(keystore_address(&path).expect("address"), ANVIL_ADDRESS);
        assert_eq!(
            load_signer(&path, "pw").expect("unlocked").address(),
            ANVIL_ADDRESS
        );

        // without 0x and with a trailing newline, as a key file often has
        let path = dir.path().join("anvil0b.json");
        let bare = format!("{}\n", ANVIL_KEY.trim_start_matches("0x"));
        assert_eq!(light(&path, &bare, "pw").expect("imported"), ANVIL_ADDRESS);
    }

    #[test]
    fn bad_private_keys_are_refused_without_echo() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("k.json");
        for bad in [
            "0x1234",
            "zz0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
            "0x0000000000000000000000000000000000000000000000000000000000000000",
            "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        ] {
            let err = import_keystore(&path, bad, "pw").expect_err(bad);
            assert!(
                matches!(err, KeyError::InvalidPrivateKey(_)),
                "{bad}: {err}"
            );
            assert!(!err.to_string().contains(&bad[4..]), "{err}");
        }
        assert!(!path.exists());
        assert!(matches!(
            import_keystore(&path, ANVIL_KEY, ""),
            Err(KeyError::EmptyPassword)
        ));
    }

    #[test]
    fn address_without_password_needs_the_field() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("validator.json");
        light(&path, ANVIL_KEY, "pw").expect("imported");
        let mut json: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&path).expect("read")).expect("json");
        json.as_object_mut().expect("object").remove("address");
        let bare = dir.path().join("bare.json");
        write_private(&bare, json.to_string()).expect("write");
        let err = keystore_address(&bare).expect_err("no address");
        assert!(matches!(err, KeyError::NoAddress(_)));
        assert!(
            err.to_string().contains("only its password reveals it"),
            "{err}"
        );
        // the password still unlocks it
        assert_eq!(
            load_signer(&bare, "pw").expect("unlocked").address(),
            ANVIL_ADDRESS
        );

        // a lying address field is caught once decrypted
        json["address"] = "0x0000000000000000000000000000000000000001".into();
        let liar = dir.path().join("liar.json");
        write_private(&liar, json.to_string()).expect("write");
        let err = load_signer(&liar, "pw").expect_err("mismatch");
        assert!(err.to_string().contains("address field says"), "{err}");
    }

    /// The test vector of the Web3 Secret Storage definition (PBKDF2), as geth reads it.
    #[test]
    fn reads_the_web3_secret_storage_test_vector() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("vector.json");
        write_private(
            &path,
            r#"{
                "crypto": {
                    "cipher": "aes-128-ctr",
                    "cipherparams": {"iv": "6087dab2f9fdbbfaddc31a909735c1e6"},
                    "ciphertext": "5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46",
                    "kdf": "pbkdf2",
                    "kdfparams": {
                        "c": 262144,
                        "dklen": 32,
                        "prf": "hmac-sha256",
                        "salt": "ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd"
                    },
                    "mac": "517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2"
                },
                "id": "3198bc9c-6672-5ab3-d995-4942343ae5b6",
                "version": 3
            }"#,
        )
        .expect("write");
        let signer = load_signer(&path, "testpassword").expect("unlocked");
        assert_eq!(
            signer.to_bytes(),
            "0x7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d"
                .parse::<B256>()
                .expect("hex")
        );
    }

    #[test]
    fn passwords_come_from_references_or_a_terminal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("pw");
        write_private(&file, "s3cret\n").expect("write");
        let reference = SecretRef::File(file);
        let mut never = |_: &str| -> io::Result<String> { panic!("must not prompt") };
        let pw = read_password_with(Some(&reference), true, false, &mut never).expect("file");
        assert_eq!(pw.expose(), "s3cret");

        let err = read_password_with(None, false, false, &mut never).expect_err("no tty");
        assert_eq!(
            err.to_string(),
            "no password: set key.password or SIDEBRIDGE_KEY_PASSWORD (env:NAME or file:/path), \
             or run interactively"
        );

        let mut answers = vec!["b".to_string(), "a".to_string()];
        let mut prompt = |_: &str| Ok(answers.pop().expect("asked too often"));
        assert_eq!(
            read_password_with(None, false, true, &mut prompt)
                .expect("typed")
                .expose(),
            "a"
        );
        let mut answers = vec!["b".to_string(), "a".to_string()];
        let mut prompt = |_: &str| Ok(answers.pop().expect("asked too often"));
        assert!(matches!(
            read_password_with(None, true, true, &mut prompt),
            Err(KeyError::PasswordMismatch)
        ));
        let mut answers = vec!["a".to_string(), "a".to_string()];
        let mut prompt = |_: &str| Ok(answers.pop().expect("asked too often"));
        assert_eq!(
            read_password_with(None, true, true, &mut prompt)
                .expect("confirmed")
                .expose(),
            "a"
        );
        let mut prompt = |_: &str| Ok(String::new());
        assert!(matches!(
            read_password_with(None, true, true, &mut prompt),
            Err(KeyError::EmptyPassword)
        ));

        let missing = SecretRef::Env("SIDEBRIDGE_TEST_UNSET_PASSWORD_VAR".into());
        let err = read_password_with(Some(&missing), false, true, &mut never).expect_err("unset");
        assert_eq!(
            err.to_string(),
            "keystore password: environment variable SIDEBRIDGE_TEST_UNSET_PASSWORD_VAR is not set"
        );
    }
}
