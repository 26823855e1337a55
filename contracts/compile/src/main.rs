//! `compile-contracts`: rewrites `contracts/artifacts/*.json` from the Solidity sources
//! (`--check` only reports stale artifacts and exits 1).

use eyre::WrapErr;

fn main() -> eyre::Result<()> {
    let check = std::env::args().any(|a| a == "--check");
    if check {
        let stale = sidebridge_compile::stale_artifacts()?;
        if stale.is_empty() {
            eprintln!("artifacts are up to date");
            return Ok(());
        }
        eprintln!("stale artifacts: {}", stale.join(", "));
        std::process::exit(1);
    }
    let dir = sidebridge_compile::artifacts_dir();
    std::fs::create_dir_all(&dir).wrap_err_with(|| format!("creating {}", dir.display()))?;
    for (name, json) in sidebridge_compile::compile()? {
        let path = dir.join(format!("{name}.json"));
        std::fs::write(&path, json).wrap_err_with(|| format!("writing {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}
