//! A master key on a real SoftHSM2 token: generated there (sensitive, not extractable), it
//! seals and opens; a file's entries are refused to another token key and to a tampered
//! wrapping; a file master moves onto the token by rotation and reseal; a config names it by
//! PKCS#11 URI; failures are one line. Each test runs in a child process with a fresh token
//! (see `crate::hsm::softhsm::in_child_with_fresh_token`).

use cryptoki::object::{Attribute, AttributeType, ObjectClass};

use super::{tests::opened, *};
use crate::{
    config::{Config, tests::VALID},
    hsm::{HsmError, softhsm},
};

const TOKEN: &str = "sidebridge-secrets";
const PIN: &str = "975310";
const PIN_VAR: &str = "SIDEBRIDGE_TEST_MASTER_PIN";

/// Runs `body` with the module of a fresh token, in a child process.
fn on_fresh_token(test: &str, body: impl FnOnce(&Path)) {
    let path = format!("config::sealed::hsm_tests::{test}");
    if let Some(module) = softhsm::in_child_with_fresh_token(&path, TOKEN, PIN, PIN_VAR) {
        body(&module);
    }
}

/// The URI of key `object` on the test token.
fn uri(module: &Path, object: &str) -> String {
    format!(
        "pkcs11:token={TOKEN};object={object}?module-path={}&pin-source=env:{PIN_VAR}",
        module.display()
    )
}

fn reference(module: &Path, object: &str) -> MasterKeyRef {
    uri(module, object).parse().expect("a valid URI")
}

fn generated(reference: &MasterKeyRef) -> MasterKey {
    MasterKey::generate(reference).expect("generates");
    MasterKey::read(reference).expect("reads")
}

#[test]
fn a_token_master_seals_and_opens_and_its_key_never_leaves_the_token() {
    on_fresh_token(
        "a_token_master_seals_and_opens_and_its_key_never_leaves_the_token",
        |module| {
            let master_ref = reference(module, "master");
            let master = generated(&master_ref);
            assert!(
                matches!(
                    MasterKey::generate(&master_ref),
                    Err(SealedError::Hsm(HsmError::KeyExists { .. }))
                ),
                "a second key under a taken label"
            );
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("secrets.sealed");
            let mut file = SealedFile::create(&path, &master).expect("create");
            file.seal("db", "postgres://relayer:pw@db/bridge", &master)
                .expect("seal");
            file.save().expect("save");
            // a new process's view: the config's references only
            let secrets = SecretsConfig {
                file: path.clone(),
                master_keys: vec![master_ref.clone()],
            };
            assert_eq!(
                secrets.open("db").expect("opens").expose(),
                "postgres://relayer:pw@db/bridge"
            );

            // the token holds the key sensitive and not extractable: its value cannot be read
            let MasterKeyRef::Pkcs11(master_uri) = &master_ref else {
                unreachable!()
            };
            let token = master_uri.open_token().expect("token");
            let session = token.login(false).expect("login");
            let found = session
                .find_objects(&[
                    Attribute::Class(ObjectClass::SECRET_KEY),
                    Attribute::Label(b"master".to_vec()),
                ])
                .expect("find");
            let flags = session
                .get_attributes(
                    found[0],
                    &[AttributeType::Sensitive, AttributeType::Extractable],
                )
                .expect("attributes");
            assert!(flags.contains(&Attribute::Sensitive(true)), "{flags:?}");
            assert!(flags.contains(&Attribute::Extractable(false)), "{flags:?}");
            let value = session.get_attributes(found[0], &[AttributeType::Value]);
            assert!(
                !matches!(value.as_deref(), Ok([Attribute::Value(_)])),
                "the key's value was readable: {value:?}"
            );

            // another key on the same token is not this file's master
            let other = generated(&reference(module, "other"));
            assert_eq!(
                opened(&file, "db", &[other]),
                Err(format!(
                    "the master key does not open version 1 (secret \"db\" needs it; \
                     configured: pkcs11:token={TOKEN};object=other)"
                ))
            );

            // an attacker with the disk but not the token flips the wrapped data key: refused
            let text = std::fs::read_to_string(&path).expect("read");
            let mut json: serde_json::Value = serde_json::from_str(&text).expect("json");
            let wrapped = json["secrets"]["db"]["wrapped_key"]
                .as_str()
                .and_then(|h| h.strip_prefix("0x"))
                .expect("hex")
                .to_string();
            let flipped = if wrapped.starts_with('0') { "1" } else { "0" };
            json["secrets"]["db"]["wrapped_key"] = format!("0x{flipped}{}", &wrapped[1..]).into();
            std::fs::write(&path, json.to_string()).expect("write");
            assert_eq!(
                secrets.open("db").map(|_| ()).map_err(|e| e.to_string()),
                Err(
                    "sealed secret \"db\" refused: its wrapped data key does not authenticate \
                     (tampered with, or moved from another name or version)"
                        .to_string()
                )
            );
        },
    );
}

#[test]
fn a_file_master_moves_onto_the_token_by_rotation_and_reseal() {
    on_fresh_token(
        "a_file_master_moves_onto_the_token_by_rotation_and_reseal",
        |module| {
            let dir = tempfile::tempdir().expect("tempdir");
            let file_ref = MasterKeyRef::File(dir.path().join("master.key"));
            let file_master = generated(&file_ref);
            let token_master = generated(&reference(module, "master"));
            let path = dir.path().join("secrets.sealed");
            let mut file = SealedFile::create(&path, &file_master).expect("create");
            file.seal("keystore", "hunter2", &file_master)
                .expect("seal");

            assert_eq!(
                file.rotate(&token_master, &[file_master]).expect("rotate"),
                2
            );
            file.seal("main_rpc", "https://main.example/v3/k3y", &token_master)
                .expect("seal under the token");
            let file_master = MasterKey::read(&file_ref).expect("reads");
            // after the rotation the old entry still opens, with the file master
            assert_eq!(
                opened(
                    &file,
                    "keystore",
                    &[MasterKey::read(&file_ref).expect("reads")]
                ),
                Ok("hunter2".into())
            );
            assert!(
                opened(
                    &file,
                    "keystore",
                    &[MasterKey::read(&reference(module, "master")).expect("reads")]
                )
                .is_err()
            );
            let keys = [token_master, file_master];
            assert_eq!(
                opened(&file, "main_rpc", &keys),
                Ok("https://main.example/v3/k3y".into())
            );

            // reseal re-wraps the old entry on the token; then the file master can go
            assert_eq!(file.reseal(&keys).expect("reseal"), 1);
            file.save().expect("save");
            let token_only = SecretsConfig {
                file: path,
                master_keys: vec![reference(module, "master")],
            };
            assert_eq!(
                token_only.open("keystore").expect("opens").expose(),
                "hunter2"
            );
            assert_eq!(
                token_only.open("main_rpc").expect("opens").expose(),
                "https://main.example/v3/k3y"
            );
            let [_, file_master] = keys;
            assert!(matches!(
                SealedFile::load(&token_only.file)
                    .expect("load")
                    .open("keystore", &[file_master]),
                Err(SealedError::WrongMasterKey { version: 2, .. })
            ));
        },
    );
}

#[test]
fn a_config_names_a_token_master_by_its_uri_and_failures_are_one_line() {
    on_fresh_token(
        "a_config_names_a_token_master_by_its_uri_and_failures_are_one_line",
        |module| {
            let master = generated(&reference(module, "master"));
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("secrets.sealed");
            let mut file = SealedFile::create(&path, &master).expect("create");
            file.seal("db", "postgres://relayer:s3cret@db/bridge", &master)
                .expect("seal");
            file.save().expect("save");
            // no session left open: a login lasts while any session of the process is open,
            // and the wrong PIN below must meet a token that asks for one
            drop(master);
            let config = |master_uri: &str| {
                let text = VALID.replace(
                    "database_url = \"sqlite:///var/lib/sidebridge/relayer.db\"",
                    "database_url = \"sealed:db\"",
                );
                let secrets = format!(
                    "[secrets]\nfile = \"{}\"\nmaster_keys = [\"{master_uri}\"]\n",
                    path.display()
                );
                let env = |name: &str| std::env::var(name).ok();
                Config::from_toml_str(&format!("{text}{secrets}"), &env)
            };
            let loaded = config(&uri(module, "master")).expect("valid");
            assert_eq!(
                loaded.database_url.expose(),
                "postgres://relayer:s3cret@db/bridge"
            );

            let refused = |master_uri: &str| {
                let message = config(master_uri).expect_err("refused").to_string();
                // the config's errors are listed under a heading, one line each
                assert!(
                    message.lines().skip(1).all(|l| l.starts_with("  ")),
                    "{message}"
                );
                message
            };
            let missing = refused(&uri(module, "nope"));
            assert!(
                missing.contains(&format!(
                    "master key: HSM: no AES key labelled \"nope\" on token \"{TOKEN}\" \
                     (create one with `relayer secrets new-master-key pkcs11:…`)"
                )),
                "{missing}"
            );
            let pin = dir.path().join("wrong-pin");
            std::fs::write(&pin, "123123\n").expect("write");
            std::fs::set_permissions(&pin, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                .expect("chmod");
            let wrong = refused(&format!(
                "pkcs11:token={TOKEN};object=master?module-path={}&pin-source=file:{}",
                module.display(),
                pin.display()
            ));
            assert!(
                wrong.contains(&format!("master key: HSM: wrong PIN for token \"{TOKEN}\"")),
                "{wrong}"
            );
            let malformed = refused("pkcs11:token=t;object=k?module-path=/m.so&pin-value=975310");
            assert!(!malformed.contains("975310"), "{malformed}");
            assert!(
                malformed.contains("pin-value puts the PIN itself in the config"),
                "{malformed}"
            );
        },
    );
}
