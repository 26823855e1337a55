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
