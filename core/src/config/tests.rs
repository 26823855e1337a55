//! Parsing, validation and every refusal of the config, with its message.

use alloy::primitives::address;
use serde::Deserialize;
use toml::Value;

use super::{raw::*, validate::suggest, *};

/// A valid config (the `[key]` tests swap its key table).
pub(super) const VALID: &str = r#"
database_url = "sqlite:///var/lib/sidebridge/relayer.db"
http_listen = "127.0.0.1:9100"

[key]
keystore = "/etc/sidebridge/validator.json"
password = "file:/etc/sidebridge/password"

[chains.main]
rpc_url = "http://127.0.0.1:8545"
chain_id = 31337
bridge = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
governance = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
operational = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"
confirmations = 2
poll_interval_ms = 500
max_fee_per_gas_gwei = 1.5
start_block = 100

[chains.side]
rpc_url = "https://side.example:8546/rpc"
chain_id = 31338
bridge = "0x1111111111111111111111111111111111111111"
governance = "0x2222222222222222222222222222222222222222"
operational = "0x3333333333333333333333333333333333333333"
confirmations = 0
max_fee_per_gas_gwei = 200

[relay]
batch_size = 20
fee_bump_percent = 25
"#;

pub(super) fn no_env(_: &str) -> Option<String> {
    None
}

pub(super) fn errors_of(toml: &str) -> Vec<String> {
    errors_with_env(toml, &no_env)
}

fn errors_with_env(toml: &str, env: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    match Config::from_toml_str(toml, env) {
        Ok(c) => panic!("expected errors, got {c:?}"),
        Err(e) => e.field_errors().iter().map(|e| e.to_string()).collect(),
    }
}

/// VALID with one line replaced (matched by its key at the start of the line, in `section`).
pub(super) fn with(section: &str, key: &str, line: &str) -> String {
    let mut out = String::new();
    let mut current = "";
    let mut replaced = false;
    for l in VALID.lines() {
        if l.starts_with('[') {
            current = l;
        }
        if current == section && l.starts_with(&format!("{key} =")) && !replaced {
            replaced = true;
            out.push_str(line);
        } else {
            out.push_str(l);
        }
        out.push('\n');
    }
    assert!(replaced, "no {key} in {section}");
    out
}

#[test]
fn valid_config_parses_with_defaults() {
    let c = Config::from_toml_str(VALID, &no_env).expect("valid");
    assert_eq!(
        c.database_url.expose(),
        "sqlite:///var/lib/sidebridge/relayer.db"
    );
    assert_eq!(c.http_listen, "127.0.0.1:9100".parse().expect("addr"));
    assert_eq!(
        c.key,
        KeyConfig::Keystore {
            keystore: "/etc/sidebridge/validator.json".into(),
            password: Some(SecretRef::File("/etc/sidebridge/password".into())),
        }
    );
    assert_eq!(c.main.chain_id, 31337);
    assert_eq!(
        c.main.bridge,
        address!("5FbDB2315678afecb367f032d93F642f64180aa3")
    );
    assert_eq!(c.main.poll_interval, Duration::from_millis(500));
    assert_eq!(c.main.max_fee_per_gas, 1_500_000_000);
    assert_eq!(c.main.start_block, 100);
    assert_eq!(c.side.poll_interval, Duration::from_secs(1));
    assert_eq!(c.side.max_fee_per_gas, 200 * WEI_PER_GWEI);
    assert_eq!(c.side.start_block, 0);
    assert_eq!(c.side.confirmations, 0);
    assert_eq!(c.relay.batch_size, 20);
    assert_eq!(c.relay.fee_bump_percent, 25);
    assert_eq!(c.relay.tx_timeout, Duration::from_secs(30));
    assert_eq!(c.relay.release_takeover, Duration::from_secs(60));
    assert_eq!(c.relay.log_range, 2_000);
    assert_eq!(c.relay.rpc_failure, Duration::from_secs(30));
    assert_eq!(c.main.min_balance, DEFAULT_MIN_BALANCE_WEI);
    assert_eq!(c.chain(Chain::Side).chain_id, 31338);
}

#[test]
fn the_gas_runway_and_the_rpc_failure_time_are_read_with_their_bounds() {
    let c = Config::from_toml_str(
        &with(
            "[chains.side]",
            "confirmations",
            "confirmations = 0\nmin_balance_ether = \"2.5\"",
        ),
        &no_env,
    )
    .expect("valid");
    assert_eq!(c.side.min_balance, 2 * WEI_PER_ETHER + WEI_PER_ETHER / 2);
    let errors = errors_of(&with(
        "[relay]",
        "batch_size",
        "batch_size = 20\nrpc_failure_secs = 0",
    ));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("relay.rpc_failure_secs:"),
        "{errors:?}"
    );
}

#[test]
fn example_file_parses() {
    let text = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../ops/config/relayer.example.toml"
    ));
    let c = Config::from_toml_str(text, &no_env).expect("the example is valid");
    assert!(c.database_url.expose().starts_with("postgres://"));
    assert!(!c.database_url.to_string().contains("change-me"));
    assert!(matches!(
        c.key,
        KeyConfig::Keystore {
            password: Some(SecretRef::File(_)),
            ..
        }
    ));
    assert_ne!(c.main.chain_id, c.side.chain_id);
}

#[test]
fn missing_relay_section_takes_defaults() {
    let text = VALID.replace("[relay]\nbatch_size = 20\nfee_bump_percent = 25\n", "");
    let c = Config::from_toml_str(&text, &no_env).expect("valid");
    assert_eq!(c.relay, RelayConfig::default());
    assert_eq!(c.relay.batch_size, 50);
}

#[test]
fn type_errors_name_their_path() {
    let text = with("[chains.side]", "confirmations", "confirmations = \"2\"");
    assert_eq!(
        errors_of(&text),
        ["chains.side.confirmations: expected an integer, found a string"]
    );
    let text = with("[chains.main]", "chain_id", "chain_id = 1.5");
    assert_eq!(
        errors_of(&text),
        ["chains.main.chain_id: expected an integer, found a float"]
    );
    let text = with("[chains.main]", "start_block", "start_block = 1979-05-27");
    assert_eq!(
        errors_of(&text),
        [
            "chains.main.start_block: unexpected datetime (no setting takes one; quote it if it is a string)"
        ]
    );
    let text = with("[chains.main]", "confirmations", "confirmations = -1");
    assert_eq!(
        errors_of(&text),
        ["chains.main.confirmations: must not be negative"]
    );
}

#[test]
fn bad_addresses_are_named() {
    let text = with("[chains.main]", "bridge", "bridge = \"0x1234\"");
    assert_eq!(errors_of(&text), ["chains.main.bridge: not an address"]);
    let text = with(
        "[chains.main]",
        "bridge",
        "bridge = \"0x5fbDB2315678afecb367f032d93F642f64180aa3\"",
    );
    assert_eq!(
        errors_of(&text),
        ["chains.main.bridge: not an address: bad EIP-55 checksum"]
    );
    let text = with(
        "[chains.side]",
        "operational",
        "operational = \"0x0000000000000000000000000000000000000000\"",
    );
    assert_eq!(
        errors_of(&text),
        ["chains.side.operational: must not be the zero address"]
    );
    // all lower case is fine: there is no checksum to check
    let text = with(
        "[chains.main]",
        "bridge",
        "bridge = \"0x5fbdb2315678afecb367f032d93f642f64180aa3\"",
    );
    assert!(Config::from_toml_str(&text, &no_env).is_ok());
}

#[test]
fn ranges_are_enforced() {
    let text = with("[relay]", "batch_size", "batch_size = 0");
    assert_eq!(
        errors_of(&text),
        ["relay.batch_size: must be between 1 and 200"]
    );
    let text = with("[relay]", "batch_size", "batch_size = 201");
    assert_eq!(
        errors_of(&text),
        ["relay.batch_size: must be between 1 and 200"]
    );
    let text = with("[relay]", "fee_bump_percent", "fee_bump_percent = 5");
    assert_eq!(
        errors_of(&text),
        ["relay.fee_bump_percent: must be between 10 and 1000"]
    );
    let text = with("[chains.main]", "chain_id", "chain_id = 0");
    assert_eq!(
        errors_of(&text),
        ["chains.main.chain_id: must be at least 1"]
    );
    let text = with("[chains.main]", "poll_interval_ms", "poll_interval_ms = 1");
    assert_eq!(
        errors_of(&text),
        ["chains.main.poll_interval_ms: must be between 10 and 600000"]
    );
}

#[test]
fn all_errors_are_reported_together() {
    let text = with("[chains.side]", "confirmations", "confirmations = \"2\"");
    let text = text.replace(
        "bridge = \"0x1111111111111111111111111111111111111111\"",
        "bridge = \"nope\"",
    );
    let text = text.replace("batch_size = 20", "batch_size = 500\nbatch_sise = 3");
    let text = text.replace(
        "http_listen = \"127.0.0.1:9100\"",
        "http_listen = \"localhost\"",
    );
    let errors = errors_of(&text);
    assert_eq!(
        errors,
        [
            "http_listen: not a socket address (ip:port, e.g. 127.0.0.1:9100)",
            "chains.side.bridge: not an address",
            "chains.side.confirmations: expected an integer, found a string",
            "relay.batch_sise: unknown key (did you mean `batch_size`?)",
            "relay.batch_size: must be between 1 and 200",
        ]
    );
    let message = Config::from_toml_str(&text, &no_env)
        .expect_err("invalid")
        .to_string();
    assert!(
        message.starts_with("config has 5 errors:\n  http_listen: "),
        "{message}"
    );
}

#[test]
fn unknown_keys_anywhere_are_errors() {
    let text = format!("{VALID}\n[chains.main2]\nrpc_url = \"x\"\n")
        .replace("[key]\n", "[key]\nkeystor = 1\n")
        .replace(
            "confirmations = 2\n",
            "confirmations = 2\nconfirmation = 2\n",
        )
        .replace("database_url", "verbose = true\ndatabase_url");
    assert_eq!(
        errors_of(&text),
        [
            "verbose: unknown key",
            "key.keystor: unknown key (did you mean `keystore`?)",
            "chains.main.confirmation: unknown key (did you mean `confirmations`?)",
            "chains.main2: unknown chain (expected main or side)",
        ]
    );
}

#[test]
fn missing_settings_are_named() {
    let text = with("[chains.main]", "confirmations", "")
        .replace(
            "database_url = \"sqlite:///var/lib/sidebridge/relayer.db\"",
            "",
        )
        .replace("keystore = \"/etc/sidebridge/validator.json\"", "");
    assert_eq!(
        errors_of(&text),
        [
            "database_url: missing (set it here or in SIDEBRIDGE_DATABASE_URL)",
            "key.keystore: missing",
            "chains.main.confirmations: missing",
        ]
    );
    assert_eq!(
        errors_of("database_url = \"sqlite::memory:\""),
        [
            "key: missing (a [key] table with keystore = \"/path\")",
            "chains: missing ([chains.main] and [chains.side] tables)",
        ]
    );
    let only_main = VALID.split("[chains.side]").next().expect("split");
    assert_eq!(
        errors_of(only_main),
        ["chains.side: missing (a [chains.side] table)"]
    );
    assert_eq!(
        errors_of(&VALID.replace("[relay]", "[relay.x]")),
        ["relay.x: unknown key"]
    );
}

#[test]
fn sections_must_be_tables() {
    let text = VALID
        .replace("[relay]\nbatch_size = 20\nfee_bump_percent = 25\n", "")
        .replace("database_url", "relay = 5\ndatabase_url");
    assert_eq!(
        errors_of(&text),
        ["relay: expected a table, found an integer"]
    );
}

#[test]
fn rpc_urls_must_be_http() {
    let text = with(
        "[chains.main]",
        "rpc_url",
        "rpc_url = \"ws://127.0.0.1:8545\"",
    );
    assert_eq!(
        errors_of(&text),
        ["chains.main.rpc_url: unsupported scheme ws:// (expected http:// or https://)"]
    );
    let text = with("[chains.main]", "rpc_url", "rpc_url = \"127.0.0.1:8545\"");
    let errors = errors_of(&text);
    assert_eq!(errors.len(), 1);
    assert!(errors[0].starts_with("chains.main.rpc_url: "), "{errors:?}");
}

#[test]
fn chain_ids_must_differ() {
    let text = with("[chains.side]", "chain_id", "chain_id = 31337");
    assert_eq!(
        errors_of(&text),
        ["chains.side.chain_id: must differ from chains.main.chain_id"]
    );
}

#[test]
fn env_overrides_apply_before_validation() {
    let env = |name: &str| match name {
        ENV_DATABASE_URL => Some("postgres://relayer:hunter2@db:5432/sidebridge".to_string()),
        ENV_HTTP_LISTEN => Some("0.0.0.0:9200".to_string()),
        ENV_MAIN_RPC_URL => Some("https://main.example/rpc".to_string()),
        ENV_SIDE_RPC_URL => Some(String::new()), // empty counts as unset
        ENV_KEY_PASSWORD => Some("env:VALIDATOR_PASSWORD".to_string()),
        _ => None,
    };
    let c = Config::from_toml_str(VALID, &env).expect("valid");
    assert_eq!(
        c.database_url.expose(),
        "postgres://relayer:hunter2@db:5432/sidebridge"
    );
    assert_eq!(c.http_listen, "0.0.0.0:9200".parse().expect("addr"));
    assert_eq!(c.main.rpc_url, "https://main.example/rpc");
    assert_eq!(c.side.rpc_url, "https://side.example:8546/rpc");
    assert!(matches!(
        c.key,
        KeyConfig::Keystore { password: Some(SecretRef::Env(name)), .. } if name == "VALIDATOR_PASSWORD"
    ));
}

#[test]
fn env_override_errors_name_the_variable() {
    let env = |name: &str| match name {
        ENV_SIDE_RPC_URL => Some("ftp://x".to_string()),
        ENV_KEY_PASSWORD => Some("hunter2".to_string()),
        _ => None,
    };
    let errors = errors_with_env(VALID, &env);
    assert_eq!(
        errors,
        [
            "key.password (from SIDEBRIDGE_KEY_PASSWORD): expected a reference env:NAME, file:/path or sealed:NAME (never the secret itself)",
            "chains.side.rpc_url (from SIDEBRIDGE_SIDE_RPC_URL): unsupported scheme ftp:// (expected http:// or https://)",
        ]
    );
    assert!(!errors.concat().contains("hunter2"));
}

#[test]
fn database_url_may_be_a_reference() {
    let text = VALID.replace("sqlite:///var/lib/sidebridge/relayer.db", "env:RELAYER_DB");
    let env = |name: &str| (name == "RELAYER_DB").then(|| "postgresql://u:p%40ss@h/db".to_string());
    let c = Config::from_toml_str(&text, &env).expect("valid");
    assert_eq!(c.database_url.expose(), "postgresql://u:p%40ss@h/db");
    assert_eq!(
        errors_of(&text),
        ["database_url: environment variable RELAYER_DB is not set"]
    );
    let text = VALID.replace("sqlite:///var/lib/sidebridge/relayer.db", "mysql://x");
    assert_eq!(
        errors_of(&text),
        ["database_url: must be a sqlite: or postgres:// URL"]
    );
}

#[test]
fn password_must_be_a_reference_and_is_never_echoed() {
    let text = VALID.replace("file:/etc/sidebridge/password", "correct horse");
    let errors = errors_of(&text);
    assert_eq!(
        errors,
        [
            "key.password: expected a reference env:NAME, file:/path or sealed:NAME (never the secret itself)"
        ]
    );
    let text = VALID.replace("file:/etc/sidebridge/password", "env:");
    assert_eq!(errors_of(&text).len(), 1);
}

#[test]
fn database_password_is_redacted() {
    let url =
        DatabaseUrl::new("postgres://relayer:s3cr%40t@db.internal:5432/sidebridge?sslmode=require")
            .expect("valid");
    let shown = format!("{url} {url:?}");
    assert!(!shown.contains("s3cr"), "{shown}");
    assert_eq!(
        url.to_string(),
        "postgres://relayer:***@db.internal:5432/sidebridge?sslmode=require"
    );
    let plain = DatabaseUrl::new("sqlite://relayer.db").expect("valid");
    assert_eq!(plain.to_string(), "sqlite://relayer.db");
    let user_only = DatabaseUrl::new("postgres://relayer@db/x").expect("valid");
    assert_eq!(user_only.to_string(), "postgres://relayer@db/x");
    let c = Config::from_toml_str(
        &VALID.replace(
            "sqlite:///var/lib/sidebridge/relayer.db",
            "postgres://a:topsecret@h/d",
        ),
        &no_env,
    )
    .expect("valid");
    assert!(!format!("{c:?}").contains("topsecret"));
}

#[test]
fn rpc_urls_are_redacted_when_shown() {
    let text = VALID.replace(
        "https://side.example:8546/rpc",
        "https://user:pw@eth.example.com/v3/0123456789abcdef?key=zz",
    );
    let c = Config::from_toml_str(&text, &no_env).expect("valid");
    assert_eq!(c.side.rpc_url_redacted(), "https://eth.example.com/…");
    assert_eq!(c.main.rpc_url_redacted(), "http://127.0.0.1:8545");
    let shown = format!("{c:?}");
    assert!(
        !shown.contains("0123456789abcdef") && !shown.contains("pw@"),
        "{shown}"
    );
}

#[test]
fn load_names_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("relayer.toml");
    let err = Config::load(&missing).expect_err("missing");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!("cannot read config file {}: ", missing.display())),
        "{message}"
    );
    assert!(!message.contains('\n'));

    std::fs::write(&missing, "database_url = [").expect("write");
    let message = Config::load(&missing).expect_err("syntax").to_string();
    assert!(
        message.starts_with(&format!("config file {}: invalid TOML", missing.display())),
        "{message}"
    );

    std::fs::write(
        &missing,
        VALID.replace("chain_id = 31338", "chain_id = \"x\""),
    )
    .expect("write");
    let message = Config::load(&missing).expect_err("invalid").to_string();
    assert_eq!(
        message,
        format!(
            "config file {} has 1 error:\n  chains.side.chain_id: expected an integer, found a string",
            missing.display()
        )
    );
}

#[test]
fn key_lists_match_the_raw_structs() {
    // every listed key is accepted by its struct (deny_unknown_fields would object)...
    let table = |keys: &[&str]| {
        Value::Table(
            keys.iter()
                .map(|k| (k.to_string(), Value::Integer(1)))
                .collect(),
        )
    };
    assert!(RawConfig::deserialize(table(CONFIG_KEYS)).is_ok());
    assert!(RawKey::deserialize(table(KEY_KEYS)).is_ok());
    assert!(RawChain::deserialize(table(CHAIN_KEYS)).is_ok());
    assert!(RawRelay::deserialize(table(RELAY_KEYS)).is_ok());
    assert!(RawHa::deserialize(table(HA_KEYS)).is_ok());
    assert!(RawFees::deserialize(table(FEES_KEYS)).is_ok());
    // ...and every struct field is listed (the example sets them all)
    let text = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../ops/config/relayer.example.toml"
    ));
    let example: toml::Table = toml::from_str(text).expect("toml");
    let keys =
        |v: &Value| -> Vec<String> { v.as_table().expect("table").keys().cloned().collect() };
    assert_eq!(keys(&Value::Table(example.clone())), sorted(CONFIG_KEYS));
    assert_eq!(keys(&example["key"]), sorted(KEYSTORE_KEYS));
    assert_eq!(keys(&example["chains"]["main"]), sorted(CHAIN_KEYS));
    let side_keys: Vec<&str> = CHAIN_KEYS.iter().copied().filter(|k| *k != "hub").collect();
    assert_eq!(keys(&example["chains"]["side"]), sorted(&side_keys));
    assert_eq!(keys(&example["relay"]), sorted(RELAY_KEYS));
    assert_eq!(keys(&example["ha"]), sorted(HA_KEYS));
    assert_eq!(keys(&example["fees"]), sorted(FEES_KEYS));
}

fn sorted(keys: &[&str]) -> Vec<String> {
    let mut keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    keys.sort();
    keys
}

#[test]
fn suggestions_only_when_close() {
    assert_eq!(suggest("rpc_ur", CHAIN_KEYS), Some("rpc_url"));
    assert_eq!(
        suggest("max_fee_per_gas", CHAIN_KEYS),
        Some("max_fee_per_gas_gwei")
    );
    assert_eq!(suggest("colour", CHAIN_KEYS), None);
}
