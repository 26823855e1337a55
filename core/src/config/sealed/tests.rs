//! Round trips, every tampered field refused, wrong master keys, rotation and reseal, and a
//! config that names its secrets `sealed:NAME`.

use proptest::prelude::*;
use serde::Deserialize;

use super::*;
use crate::config::{
    Config, ConfigError, KeyConfig, SecretRef,
    raw::{RawSecrets, SECRETS_KEYS},
    tests::VALID,
};

fn master(byte: u8) -> MasterKey {
    MasterKey::from_bytes(&format!("/test/master-{byte}.key"), [byte; KEY_LEN])
}

fn file_with(secrets: &[(&str, &str)], key: &MasterKey) -> SealedFile {
    let mut file = SealedFile::create(Path::new("/test/secrets.sealed"), key).expect("create");
    for (name, value) in secrets {
        file.seal(name, value, key).expect("seal");
    }
    file
}

/// The value `name` opens to under `keys`, or the one-line refusal.
pub(super) fn opened(file: &SealedFile, name: &str, keys: &[MasterKey]) -> Result<String, String> {
    file.open(name, keys)
        .map(|s| s.expose().to_string())
        .map_err(|e| e.to_string())
}

#[test]
fn a_sealed_secret_opens_to_its_value() {
    let key = master(1);
    let mut file = file_with(&[("db", "postgres://u:pw@h/db"), ("kp", "hunter2")], &key);
    assert_eq!(
        opened(&file, "db", &[master(1)]),
        Ok("postgres://u:pw@h/db".into())
    );
    assert_eq!(opened(&file, "kp", &[master(1)]), Ok("hunter2".into()));
    // sealing a name again makes a new version; the file keeps the latest
    assert_eq!(file.seal("kp", "correct horse", &key).expect("reseal"), 2);
    assert_eq!(
        opened(&file, "kp", &[master(1)]),
        Ok("correct horse".into())
    );
    assert_eq!(
        opened(&file, "nope", &[master(1)]),
        Err("no secret named \"nope\" in sealed secrets file /test/secrets.sealed".into())
    );
    // the values appear nowhere in the file, nor in what show-versions prints
    let text = serde_json::to_string(&file).expect("json");
    assert!(!text.contains("pw@h") && !text.contains("hunter2") && !text.contains("horse"));
    assert_eq!(
        file.versions(),
        [("db", 1, 1), ("kp", 2, 1)].map(|(name, version, master_version)| SecretVersion {
            name: name.into(),
            version,
            master_version,
        })
    );
    assert_eq!(
        file.seal("a b", "x", &key).map_err(|e| e.to_string()),
        Err("invalid secret name \"a b\": letters, digits, '_', '-' and '.', at most 64".into())
    );
    assert!(matches!(
        file.seal("e", "", &key),
        Err(SealedError::EmptyValue(_))
    ));
}

#[test]
fn each_tampered_field_is_refused_naming_the_secret() {
    let key = master(1);
    let clean = file_with(&[("db", "postgres://u:pw@h/db"), ("kp", "hunter2")], &key);
    type Tamper = fn(&mut Entry);
    let cases: [(&str, Tamper, &str); 6] = [
        ("ciphertext", |e| e.ciphertext[0] ^= 1, "ciphertext"),
        ("nonce", |e| e.nonce[0] ^= 1, "ciphertext"),
        ("short nonce", |e| e.nonce.truncate(8), "ciphertext"),
        ("wrapped key", |e| e.wrapped_key[3] ^= 1, "wrapped data key"),
        ("key nonce", |e| e.key_nonce[0] ^= 1, "wrapped data key"),
        ("version", |e| e.version += 1, "wrapped data key"),
    ];
    for (what, tamper, part) in cases {
        let mut file = clean.clone();
        tamper(file.entry_mut("db"));
        assert_eq!(
            opened(&file, "db", &[master(1)]),
            Err(format!(
                "sealed secret \"db\" refused: its {part} does not authenticate (tampered with, \
                 or moved from another name or version)"
            )),
            "{what}"
        );
        assert_eq!(
            opened(&file, "kp", &[master(1)]),
            Ok("hunter2".into()),
            "{what}"
        );
    }

    // an entry moved under another name (or swapped with one) does not open there
    let mut file = clean.clone();
    let db = file.secrets.remove("db").expect("db");
    file.secrets.insert("kp".into(), db);
    assert!(
        matches!(file.open("kp", &[master(1)]), Err(SealedError::Tampered { name, .. }) if name == "kp")
    );

    // a master version the file never recorded
    let mut file = clean.clone();
    file.entry_mut("db").master_version = 7;
    assert_eq!(
        opened(&file, "db", &[master(1)]),
        Err("sealed secret \"db\" names master version 7, which the file does not record".into())
    );
}

#[test]
fn a_wrong_master_key_is_refused() {
    let file = file_with(&[("db", "postgres://u:pw@h/db")], &master(1));
    assert_eq!(
        opened(&file, "db", &[master(2)]),
        Err(
            "the master key does not open version 1 (secret \"db\" needs it; configured: \
             file:/test/master-2.key)"
                .into()
        )
    );
    assert!(matches!(
        file.open("db", &[]),
        Err(SealedError::WrongMasterKey { version: 1, .. })
    ));
    let mut file = file;
    assert_eq!(
        file.seal("kp", "x", &master(2)).map_err(|e| e.to_string()),
        Err("the master key does not open version 1 (file:/test/master-2.key, the newest)".into())
    );
}

#[test]
fn after_rotation_old_entries_open_with_the_old_master_until_resealed() {
    let (old, new) = (master(1), master(2));
    let mut file = file_with(&[("db", "postgres://u:pw@h/db")], &old);

    assert_eq!(
        file.rotate(&new, &[master(3)]).map_err(|e| e.to_string()),
        Err("the master key does not open version 1 (given: file:/test/master-3.key)".into())
    );
    assert_eq!(file.rotate(&new, &[master(1)]).expect("rotate"), 2);
    assert!(matches!(
        file.rotate(&master(1), &[master(2)]),
        Err(SealedError::MasterKeyInUse { version: 1, .. })
    ));
    assert_eq!(file.newest_master(), 2);
    assert_eq!(file.version_of(&old).expect("checks"), Some(1));
    assert_eq!(file.version_of(&new).expect("checks"), Some(2));

    // new entries use the new version; the old master may no longer seal
    file.seal("kp", "hunter2", &new).expect("seal under v2");
    assert!(matches!(
        file.seal("x", "y", &old),
        Err(SealedError::StaleMasterKey {
            version: 1,
            newest: 2,
            ..
        })
    ));
    let masters: Vec<_> = file.versions().iter().map(|v| v.master_version).collect();
    assert_eq!(masters, [1, 2]);

    // both open with both masters configured, in either order
    for keys in [[master(2), master(1)], [master(1), master(2)]] {
        assert_eq!(
            opened(&file, "db", &keys),
            Ok("postgres://u:pw@h/db".into())
        );
        assert_eq!(opened(&file, "kp", &keys), Ok("hunter2".into()));
    }
    // the old entry needs the old master
    assert!(matches!(
        file.open("db", &[master(2)]),
        Err(SealedError::WrongMasterKey { version: 1, .. })
    ));

    // a reseal that lacks an old master changes nothing
    let before = file.secrets.clone();
    assert!(matches!(
        file.reseal(&[master(2)]),
        Err(SealedError::WrongMasterKey { version: 1, .. })
    ));
    assert_eq!(file.secrets, before);

    assert_eq!(file.reseal(&[master(2), master(1)]).expect("reseal"), 1);
    assert_eq!(file.reseal(&[master(2)]).expect("nothing left"), 0);
    assert!(file.versions().iter().all(|v| v.master_version == 2));
    assert_eq!(
        opened(&file, "db", &[master(2)]),
        Ok("postgres://u:pw@h/db".into())
    );
    // the secret kept its version: its value was not re-encrypted, only its key re-wrapped
    assert_eq!(file.versions()[0].version, 1);
    assert_eq!(
        opened(&file, "db", &[master(1)]),
        Err(
            "the master key does not open version 2 (secret \"db\" needs it; configured: \
             file:/test/master-1.key)"
                .into()
        )
    );
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[cfg(unix)]
#[test]
fn master_key_files_are_read_saved_and_refused_when_exposed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key_path = dir.path().join("master.key");
    let reference = MasterKeyRef::File(key_path.clone());
    MasterKey::generate(&reference).expect("generate");
    assert!(
        MasterKey::generate(&reference).is_err(),
        "never overwrites a key"
    );
    let key = MasterKey::read(&reference).expect("read");
    assert_eq!(
        format!("{key:?}"),
        format!("MasterKey({reference}, [redacted])")
    );

    let sealed_path = dir.path().join("secrets.sealed");
    let mut file = SealedFile::create(&sealed_path, &key).expect("create");
    file.seal("db", "sqlite::memory:", &key).expect("seal");
    file.save().expect("save");
    let loaded = SealedFile::load(&sealed_path).expect("load");
    assert_eq!(opened(&loaded, "db", &[key]), Ok("sqlite::memory:".into()));

    for mode in [0o640, 0o604, 0o620] {
        write_private(&key_path, &"ab".repeat(32), mode);
        assert_eq!(
            MasterKey::read(&reference)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Err(format!(
                "master key file {} is readable or writable by other users (mode {mode:o}); \
                 refusing to use it: chmod 400 it",
                key_path.display()
            ))
        );
    }
    write_private(&key_path, "abcd\n", 0o600);
    assert!(matches!(
        MasterKey::read(&reference),
        Err(SealedError::MasterKeyMalformed { .. })
    ));

    std::fs::write(&sealed_path, "{\"format\": 1}").expect("write");
    assert!(matches!(
        SealedFile::load(&sealed_path),
        Err(SealedError::Malformed { .. })
    ));
}

#[cfg(unix)]
#[test]
fn a_sealed_file_group_or_others_may_write_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key_ref = MasterKeyRef::File(dir.path().join("master.key"));
    MasterKey::generate(&key_ref).expect("generate");
    let key = MasterKey::read(&key_ref).expect("read");
    let path = dir.path().join("secrets.sealed");
    let mut file = SealedFile::create(&path, &key).expect("create");
    file.seal("db", "postgres://u:pw@h/db", &key).expect("seal");
    file.save().expect("save");
    let secrets = SecretsConfig {
        file: path.clone(),
        master_keys: vec![key_ref],
    };
    let text = std::fs::read_to_string(&path).expect("read");
    // whoever may write it may put old entries back or take secrets away
    for mode in [0o666, 0o620, 0o602] {
        write_private(&path, &text, mode);
        assert_eq!(
            secrets.open("db").map(|_| ()).map_err(|e| e.to_string()),
            Err(format!(
                "sealed secrets file {} is writable by group or others (mode {mode:o}); refusing \
                 to open it: chmod 600 it (640 to let a group read it)",
                path.display()
            ))
        );
    }
    // it is encrypted: a group may read it
    for mode in [0o600, 0o640, 0o400] {
        write_private(&path, &text, mode);
        assert_eq!(
            secrets
                .open("db")
                .map(|s| s.expose().to_string())
                .map_err(|e| e.to_string()),
            Ok("postgres://u:pw@h/db".to_string()),
            "{mode:o}"
        );
    }
}

#[cfg(unix)]
#[test]
fn a_config_may_name_its_password_and_database_url_sealed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (old_path, new_path) = (dir.path().join("old.key"), dir.path().join("new.key"));
    let generated = |path: &Path| {
        let reference = MasterKeyRef::File(path.to_path_buf());
        MasterKey::generate(&reference).expect("gen");
        MasterKey::read(&reference).expect("read")
    };
    let (old, new) = (generated(&old_path), generated(&new_path));
    let sealed_path = dir.path().join("secrets.sealed");
    let mut file = SealedFile::create(&sealed_path, &old).expect("create");
    file.seal("db", "postgres://relayer:s3cret@db/bridge", &old)
        .expect("seal");
    file.rotate(&new, &[old]).expect("rotate");
    file.seal("keystore", "hunter2", &new).expect("seal");
    file.seal("main_rpc", "https://main.example/v3/k3yk3y", &new)
        .expect("seal");
    file.save().expect("save");

    let secrets = format!(
        "[secrets]\nfile = \"{}\"\nmaster_keys = [\"file:{}\", \"file:{}\"]\n",
        sealed_path.display(),
        new_path.display(),
        old_path.display()
    );
    let text = VALID
        .replace(
            "database_url = \"sqlite:///var/lib/sidebridge/relayer.db\"",
            "database_url = \"sealed:db\"",
        )
        .replace(
            "password = \"file:/etc/sidebridge/password\"",
            "password = \"sealed:keystore\"",
        )
        .replace(
            "rpc_url = \"http://127.0.0.1:8545\"",
            "rpc_url = \"sealed:main_rpc\"\nfallback_rpc_urls = [\"sealed:main_rpc\"]",
        );
    let config = Config::from_toml_str(&format!("{text}{secrets}"), &|_| None).expect("valid");
    assert_eq!(
        config.database_url.expose(),
        "postgres://relayer:s3cret@db/bridge"
    );
    let KeyConfig::Keystore {
        password: Some(password),
        ..
    } = &config.key
    else {
        panic!("keystore expected: {:?}", config.key)
    };
    assert_eq!(password.to_string(), "sealed:keystore");
    assert_eq!(password.read().expect("opens").expose(), "hunter2");
    assert_eq!(config.main.rpc_url, "https://main.example/v3/k3yk3y");
    assert_eq!(
        config.main.fallback_rpc_urls,
        ["https://main.example/v3/k3yk3y"]
    );
    let shown = format!("{config:?}");
    assert!(
        !shown.contains("s3cret") && !shown.contains("k3yk3y"),
        "{shown}"
    );

    // the same through the environment override
    let env = |name: &str| (name == "SIDEBRIDGE_KEY_PASSWORD").then(|| "sealed:nope".to_string());
    let err = Config::from_toml_str(&format!("{text}{secrets}"), &env).expect_err("no such");
    assert_eq!(
        err.field_errors()[0].to_string(),
        format!(
            "key.password (from SIDEBRIDGE_KEY_PASSWORD): no secret named \"nope\" in sealed \
             secrets file {}",
            sealed_path.display()
        )
    );

    // without a [secrets] table, or with a broken one, the path says what is missing
    let err = Config::from_toml_str(&text, &|_| None).expect_err("unbound");
    let errors: Vec<String> = err.field_errors().iter().map(|e| e.to_string()).collect();
    assert_eq!(
        errors,
        [
            "database_url: sealed:db needs a [secrets] table (file and master_keys)",
            "key.password: sealed:keystore needs a [secrets] table (file and master_keys)",
            "chains.main.rpc_url: sealed:main_rpc needs a [secrets] table (file and master_keys)",
            "chains.main.fallback_rpc_urls: sealed:main_rpc needs a [secrets] table (file and \
             master_keys)",
        ]
    );
    let broken = "[secrets]\nfile = \"/x\"\nmaster_keys = [\"env:K\"]\nmaster_key = 1\n";
    let err = Config::from_toml_str(&format!("{text}{broken}"), &|_| None).expect_err("bad");
    let errors: Vec<String> = err.field_errors().iter().map(|e| e.to_string()).collect();
    assert_eq!(errors[..2], [
        "secrets.master_key: unknown key (did you mean `master_keys`?)".to_string(),
        "secrets.master_keys: [0]: expected a master key reference file:/path (a root-only file \
         of 64 hex digits) or pkcs11:token=…;object=…?module-path=…&pin-source=… (a key on an \
         HSM)"
            .to_string(),
    ]);

    // a reference parsed alone is not bound to any file
    let unbound = SecretRef::parse("sealed:db").expect("parse");
    assert!(matches!(
        unbound.read(),
        Err(ConfigError::SealedUnbound { .. })
    ));

    // and a wrong master key says which version it does not open
    let only_new = secrets.replace(&format!(", \"file:{}\"", old_path.display()), "");
    let err = Config::from_toml_str(&format!("{text}{only_new}"), &|_| None).expect_err("old");
    assert!(
        err.field_errors()[0]
            .to_string()
            .starts_with("database_url: the master key does not open version 1 (secret \"db\""),
        "{err}"
    );
}

#[test]
fn the_secrets_key_list_matches_its_struct() {
    let table: toml::Table = SECRETS_KEYS
        .iter()
        .map(|k| (k.to_string(), toml::Value::Integer(0)))
        .collect();
    assert!(RawSecrets::deserialize(toml::Value::Table(table)).is_ok());
    // and the example config shows every key
    let example: toml::Table = toml::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../ops/config/relayer.example.toml"
    )))
    .expect("toml");
    let mut keys: Vec<&str> = SECRETS_KEYS.to_vec();
    keys.sort();
    let shown: Vec<&str> = example["secrets"]
        .as_table()
        .expect("[secrets]")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(shown, keys);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_value_round_trips(
        name in "[A-Za-z0-9_.-]{1,64}",
        value in "\\PC{1,200}",
        key in any::<[u8; KEY_LEN]>(),
    ) {
        let master = MasterKey::from_bytes("/test/k", key);
        let mut file = SealedFile::create(Path::new("/test/s"), &master).expect("create");
        file.seal(&name, &value, &master).expect("seal");
        let text = serde_json::to_string(&file).expect("json");
        let mut reloaded: SealedFile = serde_json::from_str(&text).expect("parse");
        reloaded.path = PathBuf::from("/test/s");
        let opened = reloaded.open(&name, &[master]).expect("open");
        prop_assert_eq!(opened.expose(), value.as_str());
    }
}
