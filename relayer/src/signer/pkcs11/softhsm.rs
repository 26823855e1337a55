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
