use super::*;

const RULES: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../ops/alerts/sidebridge.rules.yml"
));

/// Every alert rule reads only metrics the relayer exports, and links a runbook that
/// exists and is titled after it; every runbook belongs to a rule.
#[test]
fn alert_rules_use_exported_metrics_and_link_their_runbooks() {
    let exported = Metrics::new().encode().expect("encode");
    let names: Vec<&str> = exported
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut alerts = Vec::new();
    let mut current = None;
    for line in RULES.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix("- alert: ") {
            current = Some(name.to_string());
            alerts.push(name.to_string());
        } else if let Some(expr) = line.strip_prefix("expr: ") {
            let used = expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.starts_with("sidebridge_"));
            for metric in used {
                assert!(
                    names.contains(&metric),
                    "{current:?} uses {metric}, which the relayer does not export"
                );
            }
        } else if let Some(path) = line.strip_prefix("runbook: ") {
            let name = current.as_deref().expect("a runbook inside an alert");
            assert_eq!(path, format!("ops/runbooks/{name}.md"));
            let text =
                std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert!(text.starts_with(&format!("# {name}\n")), "{path}");
        }
    }
    assert!(alerts.len() >= 10, "{alerts:?}");
    for entry in std::fs::read_dir(root.join("ops/runbooks")).expect("runbooks") {
        let file = entry.expect("entry").file_name();
        let file = file.to_string_lossy();
        let name = file.trim_end_matches(".md");
        assert!(alerts.iter().any(|a| a == name), "{file} has no alert");
    }
    let linked = RULES.matches("runbook: ").count();
    assert_eq!(linked, alerts.len(), "every alert links its runbook");
}

const DASHBOARD: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../ops/grafana/sidebridge.json"
));

/// The metric names a PromQL text reads (`sidebridge_…` identifiers).
fn metrics_in(promql: &str) -> impl Iterator<Item = &str> {
    promql
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter(|w| w.starts_with("sidebridge_"))
}

/// Every PromQL query in the dashboard, panels' and template variables'.
fn dashboard_queries(node: &serde_json::Value, out: &mut Vec<String>) {
    match node {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("expr" | "query" | "definition", serde_json::Value::String(q)) => {
                        out.push(q.clone())
                    }
                    _ => dashboard_queries(value, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| dashboard_queries(v, out)),
        _ => {}
    }
}

/// Every metric the Grafana dashboard queries is one the relayer exports (a renamed metric
/// would leave a panel silently empty), every panel reads Prometheus through the
/// `DS_PROMETHEUS` variable, and whatever an alert watches is on the dashboard.
#[test]
fn dashboard_queries_only_exported_metrics_and_shows_what_alerts_watch() {
    let exported = Metrics::new().encode().expect("encode");
    let series: Vec<&str> = exported
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    let dashboard: serde_json::Value =
        serde_json::from_str(DASHBOARD).expect("ops/grafana/sidebridge.json is JSON");
    let mut queries = Vec::new();
    dashboard_queries(&dashboard, &mut queries);
    let mut used = std::collections::BTreeSet::new();
    for query in &queries {
        for metric in metrics_in(query) {
            assert!(
                series.contains(&metric),
                "the dashboard queries {metric}, which the relayer does not export: {query}"
            );
            used.insert(metric);
        }
    }
    assert!(used.len() >= 15, "{used:?}");
    for metric in RULES
        .lines()
        .filter_map(|l| l.trim().strip_prefix("expr: "))
        .flat_map(metrics_in)
    {
        assert!(
            used.contains(metric),
            "{metric} is alerted on but not on the dashboard"
        );
    }
    let panels = dashboard["panels"].as_array().expect("panels");
    for panel in panels.iter().filter(|p| p["type"] != "row") {
        let title = &panel["title"];
        assert_eq!(panel["datasource"]["uid"], "${DS_PROMETHEUS}", "{title}");
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{title} has no query");
        for target in targets {
            let expr = target["expr"].as_str().expect("expr");
            assert!(metrics_in(expr).next().is_some(), "{title}: {expr}");
        }
    }
}

/// A transfer index scraped beside the relayers raises no validator alert: the validator's
/// series do not exist in it (an absent series is not `== 0`), the watchers' do.
#[test]
fn a_keyless_reader_exports_no_validator_series() {
    let keyless = Metrics::keyless().encode().expect("encode");
    let validator = Metrics::new().encode().expect("encode");
    for series in [
        "sidebridge_validator{",
        "sidebridge_gas_runway_wei{",
        "sidebridge_account_balance_wei{",
        "sidebridge_tx_sent_total{",
        "sidebridge_transfers{",
    ] {
        assert!(validator.contains(series), "{series}");
        assert!(!keyless.contains(series), "{series}");
    }
    for series in [
        "sidebridge_ready{",
        "sidebridge_chain_lag_blocks{",
        "sidebridge_rpc_errors_total{",
    ] {
        assert!(keyless.contains(series), "{series}");
    }
}
