//! The committed artifacts are what the sources compile to today.

#[test]
fn committed_artifacts_match_the_sources() {
    let stale = sidebridge_compile::stale_artifacts().expect("compiling contracts/src");
    assert!(
        stale.is_empty(),
        "stale artifacts: {} (run `cargo run -p sidebridge-compile` and commit contracts/artifacts)",
        stale.join(", ")
    );
}

/// EIP-170: a chain refuses to deploy runtime code above 24,576 bytes. forge's test EVM does
/// not enforce it, so a contract can pass its tests and still be undeployable.
#[test]
fn every_contract_fits_the_eip170_code_size_limit() {
    const LIMIT: usize = 24_576;
    for name in sidebridge_compile::CONTRACTS {
        let path = sidebridge_compile::artifacts_dir().join(format!("{name}.json"));
        let text = std::fs::read_to_string(&path).expect("reading an artifact");
        let artifact: serde_json::Value = serde_json::from_str(&text).expect("artifact JSON");
        let code = artifact["deployedBytecode"]
            .as_str()
            .expect("deployedBytecode is a hex string");
        let size = code.trim_start_matches("0x").len() / 2;
        assert!(
            size <= LIMIT,
            "{name} runtime code is {size} bytes, over the EIP-170 limit of {LIMIT}"
        );
        eprintln!("{name}: {size} bytes ({} to spare)", LIMIT - size);
    }
}
