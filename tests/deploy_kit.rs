//! The deployment kit (docs/deploy.md) checked so that it cannot rot: the Kubernetes manifests
//! against the Kubernetes schemas (kubernetes-validate, strict), the configs their ConfigMaps
//! carry with `idlegate check`, the alert rules with promtool, the Grafana dashboard's shape,
//! and every metric name of the dashboard and the alerts against a live gateway's `/metrics`.
//! A test whose checker is not installed skips loudly (and fails under CI, where .ci/run
//! installs them).

mod common;
mod deploy_kit_support;

use std::path::Path;

use common::skip::skip;
use deploy_kit_support::*;
use serde_json::Value;

/// kubernetes-validate, run as a module so that it is found whatever the PATH's shims know.
const KUBERNETES_VALIDATE: [&str; 2] = ["-m", "kubernetes_validate"];

fn kubernetes_validate_installed() -> bool {
    let args = [KUBERNETES_VALIDATE[0], KUBERNETES_VALIDATE[1], "--version"];
    run("python3", &args, Path::new(".")).is_some_and(|out| out.status.success())
}

/// `kubernetes-validate --strict` over `files` (or `-`, standard input): passes only when
/// every object was validated against a schema, with no warning (an unknown `kind` is a
/// warning there, not an error).
fn assert_valid_kubernetes(files: &[&str], stdin: Option<&[u8]>, what: &str) {
    use std::io::Write;
    let mut args = KUBERNETES_VALIDATE.to_vec();
    args.push("--strict");
    args.extend_from_slice(files);
    let mut child = std::process::Command::new("python3")
        .args(&args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kubernetes-validate starts");
    if let Some(bytes) = stdin {
        child.stdin.take().unwrap().write_all(bytes).unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    let report = text(&out);
    assert!(out.status.success(), "{what}:\n{report}");
    let bad: Vec<&str> = report.lines().filter(|l| !l.starts_with("INFO ")).collect();
    assert!(bad.is_empty(), "{what}:\n{}", bad.join("\n"));
    assert!(
        report.contains("passed"),
        "{what}: nothing validated\n{report}"
    );
}

fn kubectl_installed() -> bool {
    run("kubectl", &["version", "--client"], Path::new(".")).is_some()
}

#[test]
fn every_kubernetes_manifest_passes_the_schema_check_in_strict_mode() {
    if !kubernetes_validate_installed() {
        skip("kubernetes-validate is not installed (pip install kubernetes-validate==1.37.0)");
        return;
    }
    let variants = variants();
    assert!(
        variants.len() >= 2,
        "single and redis variants: {variants:?}"
    );
    for variant in &variants {
        let files = manifests(variant);
        assert!(!files.is_empty(), "{} has no manifest", variant.display());
        let names: Vec<&str> = files.iter().map(|p| p.to_str().unwrap()).collect();
        assert_valid_kubernetes(&names, None, &variant.display().to_string());
    }
}

#[test]
fn every_kustomization_renders_to_valid_objects() {
    if !kubernetes_validate_installed() || !kubectl_installed() {
        skip("kubectl or kubernetes-validate is not installed");
        return;
    }
    for variant in variants() {
        let dir = variant.to_str().unwrap();
        let out = run("kubectl", &["kustomize", dir], Path::new(".")).unwrap();
        assert!(
            out.status.success(),
            "kubectl kustomize {dir}:\n{}",
            text(&out)
        );
        let rendered = String::from_utf8(out.stdout).unwrap();
        assert!(rendered.contains("kind: ConfigMap"), "{dir}: no ConfigMap");
        assert!(rendered.contains("name: idlegate-config"), "{dir}");
        assert_valid_kubernetes(&["-"], Some(rendered.as_bytes()), dir);
    }
}

#[test]
fn the_config_of_every_configmap_passes_idlegate_check() {
    for variant in variants() {
        let kustomization = std::fs::read_to_string(variant.join("kustomization.yaml")).unwrap();
        assert!(
            kustomization.contains("name: idlegate-config")
                && kustomization.contains("- idlegate.toml"),
            "{}: the ConfigMap is generated from idlegate.toml",
            variant.display()
        );
        let config = variant.join("idlegate.toml");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_idlegate"))
            .args(["check", "--config", config.to_str().unwrap()])
            .output()
            .unwrap();
        let report = text(&out);
        assert!(out.status.success(), "{}:\n{report}", config.display());
        assert!(
            !report.contains("warning:"),
            "{}:\n{report}",
            config.display()
        );
        assert!(
            !variant.join("idlegate.key").exists(),
            "check wrote a key file"
        );
    }
}

/// The pod's probes and Prometheus reach the admin listener by the pod's address, and the
/// Service reaches the proxy: both listen on every interface, on the ports the Deployment
/// names; the app is reached on loopback; the token secrets come from the Secret.
#[test]
fn configs_and_deployments_agree_on_listeners_probes_and_secrets() {
    for variant in variants() {
        let name = variant.display().to_string();
        let config = idlegate::config::load(&variant.join("idlegate.toml"))
            .unwrap_or_else(|e| panic!("{name}: {e:?}"))
            .config;
        let deployment = std::fs::read_to_string(variant.join("deployment.yaml")).unwrap();
        assert!(config.admin.listen.ip().is_unspecified(), "{name}: admin");
        assert!(config.proxy.listen.ip().is_unspecified(), "{name}: proxy");
        let admin_port = config.admin.listen.port();
        let proxy_port = config.proxy.listen.port();
        for needed in [
            format!("containerPort: {admin_port}"),
            format!("containerPort: {proxy_port}"),
            format!("prometheus.io/port: \"{admin_port}\""),
            "prometheus.io/scrape: \"true\"".to_string(),
            "prometheus.io/path: /metrics".to_string(),
            "path: /readyz".to_string(),
            "path: /healthz".to_string(),
            "readOnlyRootFilesystem: true".to_string(),
            "runAsNonRoot: true".to_string(),
            "mountPath: /config".to_string(),
            "\"--config\", \"/config/idlegate.toml\"".to_string(),
            format!("name: {}", config.admin.token_env),
            format!("name: {}", config.tokens.hash_key_env),
        ] {
            assert!(
                deployment.contains(&needed),
                "{name}: deployment lacks {needed}"
            );
        }
        assert_eq!(
            config.admin.allowed_hosts,
            ["*"],
            "{name}: scraped by pod IP"
        );
        let upstream = config.proxy.upstream.host().unwrap();
        assert_eq!(upstream, "127.0.0.1", "{name}: the app listens on loopback");
    }
}

#[test]
fn promtool_accepts_the_alert_rules() {
    let dir = repo("deploy/prometheus");
    let Some(out) = run("promtool", &["check", "rules", "alerts.yml"], &dir) else {
        skip("promtool is not installed (apt-get install prometheus)");
        return;
    };
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn promtool_unit_tests_of_the_alerts_pass() {
    let dir = repo("deploy/prometheus");
    let Some(out) = run("promtool", &["test", "rules", "alerts_test.yml"], &dir) else {
        skip("promtool is not installed (apt-get install prometheus)");
        return;
    };
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    assert!(report.contains("SUCCESS"), "{report}");
}

#[test]
fn every_alert_has_a_duration_a_severity_and_a_summary() {
    let yaml = read("deploy/prometheus/alerts.yml");
    let alerts = yaml.matches("- alert: ").count();
    assert!(alerts >= 9, "{alerts} alerts");
    for key in ["for: ", "severity: ", "summary: ", "description: "] {
        assert_eq!(yaml.matches(key).count(), alerts, "one {key:?} per alert");
    }
    assert_eq!(rule_exprs(&yaml).len(), alerts, "one expr per alert");
}

fn dashboard() -> Value {
    serde_json::from_str(&read("deploy/grafana/idlegate.json")).expect("valid JSON")
}

#[test]
fn the_dashboard_has_a_datasource_variable_and_the_expected_panels() {
    let d = dashboard();
    assert_eq!(d["uid"], "idlegate");
    assert!(d["schemaVersion"].as_u64().is_some());
    let vars = d["templating"]["list"].as_array().unwrap();
    assert!(vars.iter().any(|v| v["type"] == "datasource"
        && v["query"] == "prometheus"
        && v["name"] == "datasource"));
    let panels = all_panels(&d);
    let mut ids: Vec<u64> = panels.iter().map(|p| p["id"].as_u64().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), panels.len(), "panel ids are unique");
    for p in panels.iter().filter(|p| p["type"] != "row") {
        let title = p["title"].as_str().unwrap();
        assert_eq!(p["datasource"]["uid"], "${datasource}", "{title}");
        assert!(p["gridPos"]["w"].as_u64().is_some(), "{title}");
        let targets = p["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{title}");
        for t in targets {
            assert_eq!(t["datasource"]["uid"], "${datasource}", "{title}");
        }
    }
    let titles: Vec<&str> = panels.iter().filter_map(|p| p["title"].as_str()).collect();
    for needed in [
        "Requests by class",
        "Tracked tokens",
        "Revocations by reason",
        "Tokens by timeout policy",
        "Shadow revocations",
        "Upstream latency",
        "Upstream errors",
        "Revocation hooks",
        "Redis sync lag",
        "Redis errors",
        "Connections",
        "Config reloads",
        "JWKS refreshes",
        "Token verifications",
        "Log lines dropped",
    ] {
        assert!(titles.contains(&needed), "no panel {needed:?}");
    }
    let latency = dashboard_exprs(&d).join("\n");
    assert!(latency.contains("histogram_quantile(0.5,"));
    assert!(latency.contains("histogram_quantile(0.99,"));
}

#[test]
fn the_metric_extractor_reads_names_and_a_made_up_one_is_unknown() {
    let expr = r#"histogram_quantile(0.99, sum by (le) (rate(idlegate_upstream_request_duration_seconds_bucket{instance=~"$instance", kind!="x"}[$__rate_interval])))
        / on (instance) group_left sum without (class) (rate(idlegate_requests_total[5m] offset 1h)) > 0.5
        and idlegate_made_up_total unless ignoring(op) max(idlegate_state_errors_total) > bool 2"#;
    let names = metric_names(expr);
    assert_eq!(
        names,
        [
            "idlegate_upstream_request_duration_seconds_bucket",
            "idlegate_requests_total",
            "idlegate_made_up_total",
            "idlegate_state_errors_total"
        ]
    );
    let families = families(&read("src/telemetry/fresh_metrics.txt"));
    assert_eq!(unknown_names(&names, &families), ["idlegate_made_up_total"]);
    let yaml = "  - alert: A\n    expr: >-\n      rate(a_total[5m])\n      > 1\n    for: 1m\n  - alert: B\n    expr: b > 0\n";
    assert_eq!(rule_exprs(yaml), ["rate(a_total[5m]) > 1", "b > 0"]);
}

#[tokio::test]
async fn every_metric_of_the_dashboard_and_the_alerts_exists_in_a_live_gateway() {
    let gw = common::gateway(common::config(common::upstream().await)).await;
    let live = families(&gw.metrics().await);
    assert!(live.len() >= 20, "{live:?}");
    let mut used = Vec::new();
    for expr in dashboard_exprs(&dashboard())
        .into_iter()
        .chain(rule_exprs(&read("deploy/prometheus/alerts.yml")))
    {
        let names = metric_names(&expr);
        assert!(!names.is_empty(), "no metric in {expr:?}");
        used.extend(names);
    }
    let unknown = unknown_names(&used, &live);
    assert!(unknown.is_empty(), "not in a live /metrics: {unknown:?}");
    let dashboard_names: Vec<String> = dashboard_exprs(&dashboard())
        .iter()
        .flat_map(|e| metric_names(e))
        .collect();
    let unshown: Vec<&String> = live
        .iter()
        .filter(|f| {
            unknown_names(&dashboard_names, &[f.to_string()]).len() == dashboard_names.len()
        })
        .collect();
    assert!(
        unshown.is_empty(),
        "metrics without a dashboard panel: {unshown:?}"
    );
}
