//! `relayer secrets` end to end through the built binary: master keys, seal from standard
//! input and from a reference, rotate, reseal, show-versions, and the one-line refusals; a
//! master key on an HSM (SoftHSM2).

use std::{
    io::Write,
    path::Path,
    process::{Command, Output, Stdio},
};

use sidebridge_core::hsm::softhsm::{CONF_VAR, SoftHsm};

fn relayer(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_relayer"))
        .arg("secrets")
        .args(args)
        .env_remove("SIDEBRIDGE_SECRETS_FILE")
        .env_remove("SIDEBRIDGE_MASTER_KEY")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the relayer binary runs");
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(stdin.as_bytes())
        .expect("stdin");
    child.wait_with_output().expect("exits")
}

fn ok(output: Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "failed: {stderr}");
    String::from_utf8(output.stdout).expect("utf-8")
}

fn refused(output: Output) -> String {
    assert!(!output.status.success(), "expected a refusal");
    let stderr = String::from_utf8(output.stderr).expect("utf-8");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    stderr
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("json")
}

fn master_versions(file: &Path) -> Vec<u64> {
    let shown = json(&ok(relayer(
        &[
            "show-versions",
            "--json",
            "--file",
            &file.display().to_string(),
        ],
        "",
        &[],
    )));
    shown["secrets"]
        .as_array()
        .expect("secrets")
        .iter()
        .map(|s| s["master_version"].as_u64().expect("version"))
        .collect()
}

#[test]
fn seal_rotate_reseal_and_show_versions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = |name: &str| dir.path().join(name).display().to_string();
    let (file, old, new) = (path("secrets.sealed"), path("old.key"), path("new.key"));
    let (old_ref, new_ref) = (format!("file:{old}"), format!("file:{new}"));

    ok(relayer(&["new-master-key", &old], "", &[]));
    ok(relayer(&["new-master-key", &new], "", &[]));
    let again = refused(relayer(&["new-master-key", &old], "", &[]));
    assert!(again.contains(&format!("cannot write {old}")), "{again}");

    let seal = |name: &str, master: &str, stdin: &str, extra: &[&str]| {
        let mut args = vec!["seal", "--file", &file, "--master-key", master];
        args.extend_from_slice(extra);
        args.push(name);
        relayer(&args, stdin, &[("SEALED_TEST_VALUE", "hunter2")])
    };
    ok(seal("db", &old_ref, "postgres://u:s3cret@h/db\n", &[]));
    ok(seal(
        "keystore",
        &old_ref,
        "",
        &["--value-from", "env:SEALED_TEST_VALUE"],
    ));
    let table = ok(relayer(&["show-versions", "--file", &file], "", &[]));
    assert!(
        table.contains("db") && table.contains("keystore"),
        "{table}"
    );
    let text = std::fs::read_to_string(&file).expect("sealed file");
    for shown in [&table, &text] {
        assert!(!shown.contains("s3cret") && !shown.contains("hunter2"));
    }

    let bad_value = refused(seal("x", &old_ref, "", &["--value-from", "hunter2"]));
    assert!(
        bad_value.contains("--value-from: expected a reference"),
        "{bad_value}"
    );

    // rotation: the old master must open the newest version; new secrets go under version 2
    let rotate = |old: &str, extra: &[&str]| {
        let mut args = vec!["rotate", "--file", &file, "--master-key", &new_ref];
        args.extend_from_slice(&["--old-master-key", old]);
        args.extend_from_slice(extra);
        relayer(&args, "", &[])
    };
    let wrong = refused(rotate(&new_ref, &[]));
    assert!(
        wrong.contains("the master key does not open version 1"),
        "{wrong}"
    );
    ok(rotate(&old_ref, &[]));
    let stale = refused(seal("rpc", &old_ref, "https://x.example/k", &[]));
    assert!(
        stale.contains("is version 1, not the newest (2)"),
        "{stale}"
    );
    ok(seal("rpc", &new_ref, "https://x.example/k", &[]));
    assert_eq!(master_versions(Path::new(&file)), [1, 1, 2]);

    // reseal: every data key under version 2
    ok(rotate(&old_ref, &["--reseal"]));
    assert_eq!(master_versions(Path::new(&file)), [2, 2, 2]);

    // a master key others may read is refused, in one line
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&new, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let exposed = refused(seal("rpc", &new_ref, "https://x.example/k2", &[]));
        assert!(
            exposed.contains("refusing to use it: chmod 400 it"),
            "{exposed}"
        );
    }
}

/// The master key made on a SoftHSM2 token by `new-master-key pkcs11:…`, a file's secrets
/// moved onto it by `rotate --reseal`, and its refusals in one line. The relayer finds the
/// token through SoftHSM2's configuration in its environment.
#[test]
fn a_master_key_on_an_hsm_from_new_master_key_to_reseal() {
    const PIN: &str = "864200";
    let Some(module) = SoftHsm::installed_or_skip("a_master_key_on_an_hsm") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let hsm = SoftHsm::create(dir.path(), module, "sidebridge", PIN).expect("a token");
    let conf = hsm.conf.display().to_string();
    let env = [(CONF_VAR, conf.as_str()), ("SEALED_TEST_PIN", PIN)];
    let uri = |object: &str, pin: &str| {
        format!(
            "pkcs11:token=sidebridge;object={object}?module-path={}&pin-source={pin}",
            hsm.module.display()
        )
    };
    let hsm_ref = uri("secrets-master", "env:SEALED_TEST_PIN");
    let path = |name: &str| dir.path().join(name).display().to_string();
    let (file, old) = (path("secrets.sealed"), path("old.key"));
    let old_ref = format!("file:{old}");

    let made = relayer(&["new-master-key", &hsm_ref], "", &env);
    let said = String::from_utf8_lossy(&made.stderr).to_string();
    ok(made);
    assert!(
        said.contains("generated a new master key pkcs11:token=sidebridge;object=secrets-master"),
        "{said}"
    );
    let taken = refused(relayer(&["new-master-key", &hsm_ref], "", &env));
    assert!(
        taken.contains("a key labelled \"secrets-master\" already exists"),
        "{taken}"
    );

    // a file master's secrets, then the master moves onto the token
    ok(relayer(&["new-master-key", &old], "", &[]));
    let seal = |name: &str, master: &str, stdin: &str| {
        relayer(
            &["seal", "--file", &file, "--master-key", master, name],
            stdin,
            &env,
        )
    };
    ok(seal("db", &old_ref, "postgres://u:s3cret@h/db\n"));
    let rotate = |extra: &[&str]| {
        let mut args = vec!["rotate", "--file", &file, "--master-key", &hsm_ref];
        args.extend_from_slice(&["--old-master-key", &old_ref]);
        args.extend_from_slice(extra);
        relayer(&args, "", &env)
    };
    ok(rotate(&["--reseal"]));
    ok(seal("main_rpc", &hsm_ref, "https://main.example/v3/k3y\n"));
    assert_eq!(master_versions(Path::new(&file)), [2, 2]);
    let text = std::fs::read_to_string(&file).expect("sealed file");
    assert!(!text.contains("s3cret") && !text.contains("k3y"));

    // the file master no longer seals; a wrong PIN and a missing key are one line each
    let stale = refused(seal("x", &old_ref, "v"));
    assert!(
        stale.contains("is version 1, not the newest (2)"),
        "{stale}"
    );
    let pin_file = dir.path().join("wrong.pin");
    std::fs::write(&pin_file, "111111\n").expect("pin file");
    #[cfg(unix)]
    std::fs::set_permissions(
        &pin_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .expect("chmod");
    let wrong_pin = uri("secrets-master", &format!("file:{}", pin_file.display()));
    let wrong = refused(seal("x", &wrong_pin, "v"));
    assert!(
        wrong.contains("HSM: wrong PIN for token \"sidebridge\""),
        "{wrong}"
    );
    let missing = refused(seal("x", &uri("nope", "env:SEALED_TEST_PIN"), "v"));
    assert!(
        missing.contains("no AES key labelled \"nope\" on token \"sidebridge\""),
        "{missing}"
    );
    let in_config = refused(seal(
        "x",
        "pkcs11:token=sidebridge;object=k?module-path=/m.so&pin-value=864200",
        "v",
    ));
    assert!(!in_config.contains(PIN), "{in_config}");
}
