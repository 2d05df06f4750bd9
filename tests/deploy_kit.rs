//! The deployment kit (docs/deploy.md) checked so that it cannot rot: the Kubernetes manifests
//! against the Kubernetes schemas (kubernetes-validate, strict), the configs their ConfigMaps
//! carry with `idlegate check`, the alert rules with promtool, the Grafana dashboard's shape,
//! and every metric name of the dashboard and the alerts against a live gateway's `/metrics`.
//! A test whose checker is not installed skips loudly (and fails under CI, where .ci/run
//! installs them).

mod common;
mod deploy_kit_support;

use std::path::Path;
use std::time::Duration;

use common::skip::skip;
use deploy_kit_support::*;
use serde_json::Value;

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
        let app = format!(
            "-listen=127.0.0.1:{}",
            config.proxy.upstream.port_u16().unwrap()
        );
        assert!(
            deployment.contains(&app),
            "{name}: the app listens on {app}"
        );
    }
}

/// Save under a ConfigMap (docs/deploy.md, "Save under a ConfigMap"): the mounted file is
/// read-only, so a `PUT /api/v1/settings` applies live and answers `saved: false` with a
/// `save_error` naming the read-only file system; the file is left as it was.
/// The pods run as the image's own user, so the config and state folders it owns are theirs.
#[test]
fn the_pods_run_as_the_images_user() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    let user = dockerfile
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("USER "))
        .expect("a USER line");
    let uid = user.split(':').next().unwrap().trim();
    for variant in ["single", "redis"] {
        let path = root.join(format!("deploy/kubernetes/{variant}/deployment.yaml"));
        let yaml = std::fs::read_to_string(&path).unwrap();
        for key in ["runAsUser:", "runAsGroup:", "fsGroup:"] {
            let values: Vec<&str> = yaml
                .lines()
                .filter_map(|l| l.trim().strip_prefix(key))
                .map(str::trim)
                .collect();
            assert!(!values.is_empty(), "{variant}: no {key}");
            assert!(
                values.iter().all(|v| *v == uid),
                "{variant}: {key} {values:?} is not the image's {uid}"
            );
        }
    }
}

#[test]
fn save_under_a_read_only_configmap_is_live_only_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    if let Err(why) = processes::read_only_mounts_work(dir.path()) {
        skip(&why);
        return;
    }
    let (proxy, admin) = (common::free_port(), common::free_port());
    let state = dir.path().join("state");
    let shipped = read("deploy/kubernetes/single/idlegate.toml");
    let text = shipped
        .replace("0.0.0.0:8080", &format!("127.0.0.1:{proxy}"))
        .replace("0.0.0.0:9901", &format!("127.0.0.1:{admin}"))
        .replace("/var/lib/idlegate", state.to_str().unwrap());
    assert_ne!(text, shipped);
    let mounted = dir.path().join("config");
    let file = processes::lay_out(&mounted, &text);
    let _gateway = processes::run_read_only(&mounted);
    assert!(
        processes::ready_within(admin, Duration::from_secs(10)),
        "ready"
    );

    let put = processes::http(admin, "PUT", "/api/v1/settings", r#"{"idle_seconds": 900}"#);
    let (status, body) = put.expect("PUT answered");
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answer["saved"], false, "{body}");
    let error = answer["save_error"].as_str().expect("save_error");
    assert!(error.contains("Read-only file system"), "{error}");
    assert_eq!(answer["idle_seconds"], 900);

    let (_, live) = processes::http(admin, "GET", "/api/v1/settings", "").unwrap();
    let live: Value = serde_json::from_str(&live).unwrap();
    assert_eq!(live["idle_seconds"], 900, "the change is live");
    assert_eq!(
        std::fs::read_to_string(file).unwrap(),
        text,
        "file untouched"
    );
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

/// Every query of the dashboard is valid PromQL: each becomes a recording rule (Grafana's
/// `$__rate_interval` as `5m`, `$instance` as `.*`) that `promtool check rules` must accept.
#[test]
fn promtool_parses_every_dashboard_query() {
    let dir = tempfile::tempdir().unwrap();
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, expr) in dashboard_exprs(&dashboard()).iter().enumerate() {
        let expr = expr
            .replace("$__rate_interval", "5m")
            .replace("$instance", ".*")
            .replace('\'', "''");
        rules.push_str(&format!(
            "      - record: dashboard:query{i}\n        expr: '{expr}'\n"
        ));
    }
    std::fs::write(dir.path().join("dashboard.yml"), rules).unwrap();
    let Some(out) = run("promtool", &["check", "rules", "dashboard.yml"], dir.path()) else {
        skip("promtool is not installed (apt-get install prometheus)");
        return;
    };
    assert!(out.status.success(), "{}", text(&out));
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
        "Revocations by policy",
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
        "Log lines dropped, audit lines lost",
        "Negative cache",
        "Evidence templates",
        "Evidence overflow",
        "Evidence memory",
        "Trial would-be revocations",
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
