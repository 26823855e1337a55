//! Where the workspace's built binaries are: `ops/test` builds them before the tests run (a
//! test cannot run cargo itself: the running `cargo test` holds the build directory).

use std::path::PathBuf;

use eyre::bail;

/// The `relayer` binary of this workspace.
pub fn relayer_binary() -> eyre::Result<PathBuf> {
    workspace_binary("relayer", "sidebridge-relayer")
}

/// The `bridgectl` binary of this workspace.
pub fn bridgectl_binary() -> eyre::Result<PathBuf> {
    workspace_binary("bridgectl", "sidebridge-governance")
}

/// The binary `name` of workspace package `package`, in the profile `SIDEBRIDGE_BIN_PROFILE`
/// names (debug unless told); missing, an error that says how to build it.
pub fn workspace_binary(name: &str, package: &str) -> eyre::Result<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    // `ops/bench e2e` runs the release build: SIDEBRIDGE_BIN_PROFILE=release
    let profile = std::env::var("SIDEBRIDGE_BIN_PROFILE").unwrap_or_else(|_| "debug".into());
    let binary = target.join(&profile).join(name);
    if !binary.exists() {
        bail!(
            "{} is missing: run `cargo build -p {package}{}` (ops/test does)",
            binary.display(),
            if profile == "release" {
                " --release"
            } else {
                ""
            }
        );
    }
    Ok(binary)
}
