//! Bad input to `relayer run`: one clear line, a non-zero exit code, and nothing written.

use std::{path::Path, process::Output, time::Duration};

use sidebridge_anvil_tests::{
    System, SystemSpec,
    binaries::relayer_binary,
    relayers::{NodeOptions, RelayerNode},
};

async fn run_relayer(config: &Path) -> eyre::Result<Output> {
    let child = tokio::process::Command::new(relayer_binary()?)
        .arg("run")
        .arg("--config")
        .arg(config)
        .stdin(std::process::Stdio::null())
        .output();
    Ok(tokio::time::timeout(Duration::from_secs(30), child).await??)
}

async fn prepared() -> eyre::Result<(System, RelayerNode, tempfile::TempDir)> {
    let sys = System::start(SystemSpec::default()).await?;
    let dir = tempfile::tempdir()?;
    let key = sys.validators[0].clone();
    let node =
        RelayerNode::prepare(&sys, &key, &dir.path().join("v0"), &NodeOptions::default()).await?;
    Ok((sys, node, dir))
}

fn assert_refused(output: &Output, node: &RelayerNode, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "expected failure, got {:?}",
        output.status
    );
    assert!(
        stderr.contains(needle),
        "stderr lacks {needle:?}:\n{stderr}"
    );
    assert!(
        !stderr.contains("panicked"),
        "a panic instead of an error:\n{stderr}"
    );
    assert!(
        stderr.lines().filter(|l| !l.trim().is_empty()).count() <= 3,
        "one clear error expected, got:\n{stderr}"
    );
    assert!(
        !node.dir.join("relayer.db").exists(),
        "the database was created"
    );
}

#[tokio::test]
async fn unknown_config_key_is_refused() -> eyre::Result<()> {
    let (_sys, node, _dir) = prepared().await?;
    let text = std::fs::read_to_string(&node.config_path)?;
    std::fs::write(
        &node.config_path,
        text.replace("[relay]\n", "[relay]\nbatch_sise = 10\n"),
    )?;
    let output = run_relayer(&node.config_path).await?;
    assert_refused(&output, &node, "relay.batch_sise");
    Ok(())
}

/// `hub = true` where the bridges are a one-route pair: refused before anything is written,
/// saying the side bridge was built for a one-route MainBridge.
#[tokio::test]
async fn a_hub_setting_the_bridges_do_not_match_is_refused() -> eyre::Result<()> {
    let (sys, node, _dir) = prepared().await?;
    let text = std::fs::read_to_string(&node.config_path)?;
    let bridge = format!("bridge = \"{}\"\n", sys.deployment.main.bridge);
    std::fs::write(
        &node.config_path,
        text.replacen(&bridge, &format!("{bridge}hub = true\n"), 1),
    )?;
    let output = run_relayer(&node.config_path).await?;
    assert_refused(&output, &node, "built for a one-route MainBridge");
    Ok(())
}

#[tokio::test]
async fn wrong_chain_id_is_refused() -> eyre::Result<()> {
    let (sys, node, _dir) = prepared().await?;
    let text = std::fs::read_to_string(&node.config_path)?;
    let main_id = sys.deployment.main.chain_id;
    std::fs::write(
        &node.config_path,
        text.replacen(&format!("chain_id = {main_id}"), "chain_id = 999", 1),
    )?;
    let output = run_relayer(&node.config_path).await?;
    assert_refused(&output, &node, "chain id");
    Ok(())
}

#[tokio::test]
async fn wrong_keystore_password_is_refused() -> eyre::Result<()> {
    let (_sys, node, _dir) = prepared().await?;
    std::fs::write(node.dir.join("password"), "not the password\n")?;
    let output = run_relayer(&node.config_path).await?;
    assert_refused(&output, &node, "wrong password");
    Ok(())
}
