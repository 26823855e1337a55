//! Compiles the Solidity sources in `contracts/src` with foundry-compilers driving the `solc`
//! shim (solc-js behind a native-solc interface, installed by `ops/setup`), and renders the
//! artifacts that `sidebridge-contracts` embeds: ABI, creation and runtime bytecode.
//!
//! The artifacts are committed so that `cargo build` needs no compiler; the `fresh` test
//! recompiles and fails when a committed artifact no longer matches its source.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use eyre::{WrapErr, bail, eyre};
use foundry_compilers::{
    Artifact, ConfigurableArtifacts, ProjectBuilder, ProjectPathsConfig,
    artifacts::{
        BytecodeHash, EvmVersion, Optimizer, Remapping, Settings, SettingsMetadata,
        output_selection::OutputSelection,
    },
    solc::{Solc, SolcCompiler, SolcLanguage, SolcSettings},
};

/// Contracts whose artifacts are committed, by source-file stem.
pub const CONTRACTS: &[&str] = &[
    "AuthorityGovernance",
    "MainBridge",
    "MainHub",
    "MainHubAdmin",
    "SideBridge",
    "Operational",
    "WrappedToken",
    "DemoToken",
    "BlockableToken",
];

/// Optimizer runs: the bridges are called far more often than deployed.
const OPTIMIZER_RUNS: usize = 5_000;

/// The `contracts/` directory.
pub fn contracts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the compile crate lives inside contracts/")
        .to_path_buf()
}

/// Where committed artifacts live.
pub fn artifacts_dir() -> PathBuf {
    contracts_dir().join("artifacts")
}

/// The solc shim: `$SOLC_PATH`, else `.tools/bin/solc` as installed by `ops/setup`.
pub fn solc_path() -> PathBuf {
    std::env::var_os("SOLC_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            contracts_dir()
                .parent()
                .expect("contracts/ lives in the workspace root")
                .join(".tools/bin/solc")
        })
}

/// Compiles every source and returns the rendered artifact of each contract in [`CONTRACTS`],
/// keyed by contract name.
pub fn compile() -> eyre::Result<BTreeMap<String, String>> {
    let root = contracts_dir();
    let node_modules = root
        .parent()
        .expect("contracts/ lives in the workspace root")
        .join("node_modules");
    let solc_path = solc_path();
    if !solc_path.exists() {
        bail!(
            "no solc at {}: run ops/setup (it installs the solc-js shim)",
            solc_path.display()
        );
    }
    let solc = Solc::new(&solc_path)
        .wrap_err_with(|| format!("{} does not answer as solc", solc_path.display()))?;

    let oz = node_modules.join("@openzeppelin/contracts");
    let paths = ProjectPathsConfig::builder()
        .root(&root)
        .sources(root.join("src"))
        .libs([node_modules.clone()])
        .remapping(Remapping {
            context: None,
            name: "@openzeppelin/contracts/".into(),
            path: format!("{}/", oz.display()),
        })
        .build::<SolcLanguage>()
        .wrap_err("project paths")?;

    let mut settings = Settings::new(OutputSelection::default_output_selection());
    settings.optimizer = Optimizer {
        enabled: Some(true),
        runs: Some(OPTIMIZER_RUNS),
        details: None,
    };
    settings.evm_version = Some(EvmVersion::Prague);
    // No metadata hash: the bytecode is then the same wherever the sources are checked out.
    settings.metadata = Some(SettingsMetadata::new(BytecodeHash::None, false));

    let project = ProjectBuilder::<SolcCompiler>::new(ConfigurableArtifacts::default())
        .paths(paths)
        .settings(SolcSettings {
            settings,
            ..Default::default()
        })
        .ephemeral()
        .no_artifacts()
        .offline()
        .build(SolcCompiler::Specific(solc))
        .wrap_err("project")?;
    // Only the product sources: the forge tests under test/ are compiled by forge.
    let sources = solidity_files(&root.join("src"))?;
    let output = project.compile_files(sources).wrap_err("running solc")?;
    if output.has_compiler_errors() {
        bail!("solidity compilation failed:\n{output}");
    }

    let mut rendered = BTreeMap::new();
    for name in CONTRACTS {
        let artifact = output
            .find_first(name)
            .ok_or_else(|| eyre!("no artifact for {name}"))?;
        let abi = artifact
            .abi
            .as_ref()
            .ok_or_else(|| eyre!("{name}: no ABI"))?;
        let bytecode = artifact
            .get_bytecode_bytes()
            .ok_or_else(|| eyre!("{name}: no bytecode"))?;
        let deployed = artifact
            .get_deployed_bytecode_bytes()
            .ok_or_else(|| eyre!("{name}: no deployed bytecode"))?;
        let json = serde_json::json!({
            "contractName": name,
            "abi": abi,
            "bytecode": format!("{bytecode}"),
            "deployedBytecode": format!("{deployed}"),
        });
        rendered.insert(
            (*name).to_string(),
            serde_json::to_string_pretty(&json)? + "\n",
        );
    }
    Ok(rendered)
}

fn solidity_files(dir: &Path) -> eyre::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).wrap_err_with(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            files.extend(solidity_files(&path)?);
        } else if path.extension().is_some_and(|e| e == "sol") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Names of committed artifacts that differ from (or are missing next to) a fresh compile.
pub fn stale_artifacts() -> eyre::Result<Vec<String>> {
    let dir = artifacts_dir();
    let mut stale = Vec::new();
    for (name, fresh) in compile()? {
        let path = dir.join(format!("{name}.json"));
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != fresh {
            stale.push(name);
        }
    }
    Ok(stale)
}
