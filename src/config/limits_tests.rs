//! Tests of the connection limits and the admin `Host` allow-list keys.

use std::path::Path;
use std::time::Duration;

use super::*;

fn parse_text(rest: &str) -> Result<Loaded, Vec<Diagnostic>> {
    let text = format!("[proxy]\nupstream = \"http://127.0.0.1:9000\"\n{rest}");
    parse(&text, Path::new("cfg/idlegate.toml"))
}

fn ok(rest: &str) -> Config {
    match parse_text(rest) {
        Ok(loaded) => loaded.config,
        Err(diags) => panic!("unexpected errors: {diags:#?}"),
    }
}

fn error_keys(rest: &str) -> Vec<String> {
    match parse_text(rest) {
        Ok(_) => panic!("expected errors"),
        Err(diags) => diags
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| d.key)
            .collect(),
    }
}

#[test]
fn connection_limits_have_their_defaults() {
    let c = ok("");
    assert_eq!(c.proxy.max_connections, 10_000);
    assert_eq!(c.proxy.keepalive_timeout, Duration::from_secs(60));
    assert_eq!(c.proxy.header_timeout, Duration::from_secs(30));
    assert_eq!(c.proxy.body_timeout, Duration::from_secs(30));
}

#[test]
fn connection_limits_are_read() {
    let c = ok(
        "max_connections = 50\nkeepalive_timeout = \"5s\"\nheader_timeout = \"2s\"\n\
                body_timeout = \"1500ms\"\n",
    );
    assert_eq!(c.proxy.max_connections, 50);
    assert_eq!(c.proxy.keepalive_timeout, Duration::from_secs(5));
    assert_eq!(c.proxy.header_timeout, Duration::from_secs(2));
    assert_eq!(c.proxy.body_timeout, Duration::from_millis(1500));
}

#[test]
fn bad_connection_limits_are_errors_naming_each_key() {
    let keys = error_keys(
        "max_connections = 0\nkeepalive_timeout = \"0s\"\nheader_timeout = \"soon\"\n\
         body_timeout = 5\n",
    );
    assert_eq!(
        keys,
        [
            "proxy.max_connections",
            "proxy.keepalive_timeout",
            "proxy.header_timeout",
            "proxy.body_timeout"
        ]
    );
}

#[test]
fn allowed_hosts_default_to_the_listen_address_and_loopback_names() {
    let c = ok("");
    assert_eq!(
        c.admin.allowed_hosts,
        ["127.0.0.1", "localhost", "[::1]"].map(String::from)
    );
    let c = ok("[admin]\nlisten = \"10.1.2.3:9901\"\n");
    assert_eq!(
        c.admin.allowed_hosts,
        ["10.1.2.3", "localhost", "127.0.0.1", "[::1]"].map(String::from)
    );
    let c = ok("[admin]\nlisten = \"[::]:9901\"\n");
    assert_eq!(c.admin.allowed_hosts[0], "[::]");
}

#[test]
fn allowed_hosts_are_normalised_lowercase_without_port() {
    let c = ok("[admin]\nallowed_hosts = [\"Gateway.Internal\", \"::1\", \"[fe80::1]\", \"*\"]\n");
    assert_eq!(
        c.admin.allowed_hosts,
        ["gateway.internal", "[::1]", "[fe80::1]", "*"].map(String::from)
    );
}

#[test]
fn allowed_hosts_with_a_port_or_scheme_are_errors() {
    for bad in ["\"localhost:9901\"", "\"http://x\"", "\"\"", "\"a b\""] {
        let keys = error_keys(&format!("[admin]\nallowed_hosts = [{bad}]\n"));
        assert_eq!(keys, ["admin.allowed_hosts[0]"], "{bad}");
    }
}
