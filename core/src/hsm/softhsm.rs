//! A throwaway SoftHSM2 token in a directory the caller owns: what the HSM tests (and anyone
//! trying the PKCS#11 backend without a device) sign with. SoftHSM2 finds its configuration
//! through [`CONF_VAR`], read when the module is initialised, so a process using the token
//! must be started with that variable set.

use std::{
    io,
    path::{Path, PathBuf},
    process::Command,
};

/// The environment variable that points SoftHSM2 at its configuration file.
pub const CONF_VAR: &str = "SOFTHSM2_CONF";

/// Where distributions put the module.
const MODULES: &[&str] = &[
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
];

/// An initialised token: its configuration file and the module that reads it.
#[derive(Debug, Clone)]
pub struct SoftHsm {
    pub conf: PathBuf,
    pub module: PathBuf,
}

impl SoftHsm {
    /// The installed module, if SoftHSM2 (module and `softhsm2-util`) is installed.
    pub fn installed() -> Option<PathBuf> {
        let util = Command::new("softhsm2-util").arg("--version").output();
        if !util.is_ok_and(|o| o.status.success()) {
            return None;
        }
        MODULES.iter().map(PathBuf::from).find(|m| m.exists())
    }

    /// For a test: the module, or `None` after printing SKIPPED when SoftHSM2 is missing.
    /// Under CI (`CI=true`) a missing SoftHSM2 is a failure, not a skip: `ops/setup` installs it.
    pub fn installed_or_skip(test: &str) -> Option<PathBuf> {
        let module = Self::installed();
        if module.is_none() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{test}: SoftHSM2 is missing (run ops/setup)"
            );
            eprintln!("SKIPPED {test}: SoftHSM2 is not installed (run ops/setup)");
        }
        module
    }

    /// Writes a configuration keeping tokens under `dir` and initialises a token `label` there
    /// with user PIN `pin` (the security officer's is the same: nobody else uses this token).
    pub fn create(dir: &Path, module: PathBuf, label: &str, pin: &str) -> io::Result<Self> {
        let tokens = dir.join("tokens");
        std::fs::create_dir_all(&tokens)?;
        let conf = dir.join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )?;
        let output = Command::new("softhsm2-util")
            .env(CONF_VAR, &conf)
            .args(["--init-token", "--free", "--label", label])
            .args(["--pin", pin, "--so-pin", pin])
            .output()?;
        if !output.status.success() {
            return Err(io::Error::other(format!(
                "softhsm2-util --init-token: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        Ok(Self { conf, module })
    }
}

/// For a test that needs a token of its own. SoftHSM2 reads its configuration path from the
/// environment when the module is initialised, once per process, so such a test runs in a
/// child process of its own test binary, started with a fresh token's configuration: no test
/// touches the machine's tokens, and none shares a token with another.
///
/// In the parent (the test as `cargo test` runs it) this creates a token labelled `token`
/// with user PIN `pin` under a temporary directory, runs the test binary's test `path` (the
/// test's full path, e.g. `hsm::tests::a_test`) in a child with the token's configuration,
/// `pin_var` = `pin` and [`CHILD_MODULE_VAR`] = the module, asserts the child passed, and
/// returns `None`; it also returns `None` when SoftHSM2 is missing (see
/// [`SoftHsm::installed_or_skip`]). In the child it returns the module path: run the body.
pub fn in_child_with_fresh_token(
    path: &str,
    token: &str,
    pin: &str,
    pin_var: &str,
) -> Option<PathBuf> {
    if let Some(module) = std::env::var_os(CHILD_MODULE_VAR) {
        return Some(PathBuf::from(module));
    }
    let module = SoftHsm::installed_or_skip(path)?;
    let dir = tempfile_dir(path);
    let hsm = SoftHsm::create(&dir, module, token, pin).expect("a SoftHSM2 token");
    let child = Command::new(std::env::current_exe().expect("the test binary"))
        .args([path, "--exact", "--nocapture", "--test-threads=1"])
        .env(CONF_VAR, &hsm.conf)
        .env(CHILD_MODULE_VAR, &hsm.module)
        .env(pin_var, pin)
        .output()
        .expect("runs the test binary");
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&child.stdout);
    assert!(
        child.status.success() && stdout.contains("1 passed"),
        "{path} on a fresh token:\n{stdout}\n{}",
        String::from_utf8_lossy(&child.stderr)
    );
    None
}

/// Set in a child [`in_child_with_fresh_token`] starts: the module's path.
pub const CHILD_MODULE_VAR: &str = "SIDEBRIDGE_TEST_HSM_MODULE";

/// A new directory for one test's token under the system's temporary directory.
fn tempfile_dir(test: &str) -> PathBuf {
    let unique = format!(
        "sidebridge-hsm-{}-{}-{}",
        test.replace("::", "-"),
        std::process::id(),
        rand::random::<u64>()
    );
    let dir = std::env::temp_dir().join(unique);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}
