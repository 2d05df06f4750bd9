//! Typed readers for single config values: each reports its own error and returns `None`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::redis_url::{
    redacted_redis_url, ClusterUrl, SentinelUrl, CLUSTER_SHAPE, SENTINEL_SHAPE,
};
use super::walk::{Field, Report};

/// A positive humantime duration (`"30m"`, `"1500ms"`).
pub(crate) fn duration(f: &Field, r: &mut Report) -> Option<Duration> {
    let text = f.str(r)?;
    match humantime::parse_duration(text) {
        Ok(d) if d.is_zero() => {
            f.error(r, "must be a positive duration");
            None
        }
        Ok(d) => Some(d),
        Err(e) => {
            f.error(
                r,
                format!("invalid duration {text:?} ({e}); use e.g. \"30m\", \"8h\", \"1500ms\""),
            );
            None
        }
    }
}

pub(crate) fn socket_addr(f: &Field, r: &mut Report) -> Option<SocketAddr> {
    let text = f.str(r)?;
    match text.parse() {
        Ok(addr) => Some(addr),
        Err(_) => {
            let msg =
                format!("invalid address {text:?}; expected IP:PORT, e.g. \"127.0.0.1:8080\"");
            f.error(r, msg);
            None
        }
    }
}

/// An integer in `min..=max`.
pub(crate) fn integer_in(f: &Field, r: &mut Report, min: i64, max: i64) -> Option<usize> {
    let i = f.integer(r)?;
    if i < min || i > max {
        let range = if max == i64::MAX {
            format!("at least {min}")
        } else {
            format!("between {min} and {max}")
        };
        f.error(r, format!("must be {range}, found {i}"));
        return None;
    }
    usize::try_from(i).ok()
}

/// One of the `(text, value)` choices.
pub(crate) fn choice<T: Copy>(f: &Field, r: &mut Report, choices: &[(&str, T)]) -> Option<T> {
    let text = f.str(r)?;
    if let Some((_, v)) = choices.iter().find(|(name, _)| *name == text) {
        return Some(*v);
    }
    let names: Vec<String> = choices.iter().map(|(n, _)| format!("{n:?}")).collect();
    f.error(
        r,
        format!("expected one of {}, found {text:?}", names.join(", ")),
    );
    None
}

/// A non-empty string without surrounding whitespace (names of env variables, prefixes, ids).
pub(crate) fn name(f: &Field, r: &mut Report) -> Option<String> {
    let text = f.str(r)?;
    if text.trim().is_empty() {
        f.error(r, "must not be empty");
        return None;
    }
    if text.trim() != text {
        f.error(r, "must not start or end with whitespace");
        return None;
    }
    Some(text.to_string())
}

/// A name of an environment variable.
pub(crate) fn env_name(f: &Field, r: &mut Report) -> Option<String> {
    let text = name(f, r)?;
    if text.contains(['=', '\0']) {
        f.error(r, "not a valid environment variable name");
        return None;
    }
    Some(text)
}

/// A path, resolved against `base` (the folder of the file it was written in).
pub(crate) fn path(f: &Field, r: &mut Report, base: &Path) -> Option<PathBuf> {
    let text = f.str(r)?;
    if text.is_empty() {
        f.error(r, "must not be empty");
        return None;
    }
    Some(base.join(text))
}

/// `http://host:port[/prefix]`: the upstream that requests are forwarded to.
pub(crate) fn upstream(f: &Field, r: &mut Report) -> Option<http::Uri> {
    let text = f.str(r)?;
    let uri = parse_uri(f, r, text)?;
    let problem = match uri.scheme_str() {
        Some("http") => None,
        Some("https") => Some(
            "https upstreams are not supported; use http://host:port (terminate TLS in front of \
             the upstream)"
                .to_string(),
        ),
        _ => Some(format!(
            "invalid upstream {text:?}; expected http://host:port[/prefix]"
        )),
    }
    .or_else(|| authority_problem(&uri, text, "http://host:port[/prefix]"))
    .or_else(|| {
        uri.query()
            .map(|_| "the upstream must not have a query string".to_string())
    });
    report_or(f, r, problem, uri)
}

/// An `http://` or `https://` URL with a host (webhooks, RFC 7009 endpoints).
pub(crate) fn http_url(f: &Field, r: &mut Report) -> Option<http::Uri> {
    let text = f.str(r)?;
    let uri = parse_uri(f, r, text)?;
    let problem = match uri.scheme_str() {
        Some("http" | "https") => authority_problem(&uri, text, "http(s)://host[:port]/path"),
        _ => Some(format!(
            "invalid URL {text:?}; expected http(s)://host[:port]/path"
        )),
    };
    report_or(f, r, problem, uri)
}

fn parse_uri(f: &Field, r: &mut Report, text: &str) -> Option<http::Uri> {
    match text.parse::<http::Uri>() {
        Ok(uri) => Some(uri),
        Err(e) => {
            f.error(r, format!("invalid URL {text:?}: {e}"));
            None
        }
    }
}

fn authority_problem(uri: &http::Uri, text: &str, shape: &str) -> Option<String> {
    match uri.authority() {
        None => Some(format!("invalid URL {text:?}: no host; expected {shape}")),
        Some(a) if a.host().is_empty() => {
            Some(format!("invalid URL {text:?}: no host; expected {shape}"))
        }
        Some(a) if a.as_str().contains('@') => {
            Some(format!("invalid URL {text:?}: user info is not supported"))
        }
        Some(_) => None,
    }
}

fn report_or<T>(f: &Field, r: &mut Report, problem: Option<String>, value: T) -> Option<T> {
    match problem {
        Some(msg) => {
            f.error(r, msg);
            None
        }
        None => Some(value),
    }
}

/// `redis://…`, `rediss://…`, `redis+sentinel://…` ([`SentinelUrl`]) or `redis+cluster://…`
/// ([`ClusterUrl`]).
pub(crate) fn redis_url(f: &Field, r: &mut Report) -> Option<String> {
    let text = f.str(r)?;
    if let Some(parsed) = ClusterUrl::parse(text) {
        return match parsed {
            Ok(_) => Some(text.to_string()),
            Err(problem) => {
                f.error(
                    r,
                    format!("invalid Cluster URL: {problem}; {CLUSTER_SHAPE}"),
                );
                None
            }
        };
    }
    if let Some(parsed) = SentinelUrl::parse(text) {
        return match parsed {
            Ok(_) => Some(text.to_string()),
            Err(problem) => {
                f.error(
                    r,
                    format!("invalid Sentinel URL: {problem}; {SENTINEL_SHAPE}"),
                );
                None
            }
        };
    }
    let rest = text
        .strip_prefix("redis://")
        .or_else(|| text.strip_prefix("rediss://"));
    match rest {
        Some(rest) if !rest.is_empty() => Some(text.to_string()),
        _ => {
            let msg = format!(
                "invalid Redis URL {:?}; expected redis://host:port, rediss://host:port, \
                 redis+sentinel://host:port[,host:port…]/master_name or \
                 redis+cluster://host:port[,host:port…]",
                redacted_redis_url(text)
            );
            f.error(r, msg);
            None
        }
    }
}

/// `proxy.status_path`: an absolute request path of printable ASCII, at most 200 bytes, without
/// a query, a fragment or a trailing `/` (`{path}/extend` is appended to it).
pub(crate) fn status_path(f: &Field, r: &mut Report) -> Option<String> {
    let text = f.str(r)?;
    let problem = if !text.starts_with('/') {
        Some("must start with '/'")
    } else if text.len() > 200 {
        Some("must be at most 200 bytes")
    } else if !text.bytes().all(|b| b.is_ascii_graphic()) {
        Some("must be printable ASCII without spaces")
    } else if text.contains(['?', '#']) {
        Some("must not contain '?' or '#' (a path only)")
    } else if text.ends_with('/') {
        Some("must not end with '/' (\"/extend\" is appended to it)")
    } else {
        None
    };
    report_or(f, r, problem.map(str::to_string), text.to_string())
}

/// A valid HTTP header name, stored lowercase.
pub(crate) fn header_name(f: &Field, r: &mut Report) -> Option<http::HeaderName> {
    let text = f.str(r)?;
    match http::HeaderName::from_bytes(text.to_ascii_lowercase().as_bytes()) {
        Ok(name) => Some(name),
        Err(_) => {
            f.error(r, format!("invalid header name {text:?}"));
            None
        }
    }
}

/// `admin.allowed_hosts`: host names or IP addresses without a port (IPv6 with or without
/// brackets), stored lowercase with IPv6 in brackets; `"*"` allows any host.
pub(crate) fn host_names(f: &Field, r: &mut Report) -> Option<Vec<String>> {
    let items = f.strings(r)?;
    let mut hosts = Vec::with_capacity(items.len());
    let mut ok = true;
    for (item, text) in items {
        match host_name(text) {
            Some(h) => hosts.push(h),
            None => {
                ok = false;
                item.error(
                    r,
                    format!(
                        "invalid host {text:?}; expected a host name or IP address without a \
                         port (e.g. \"gateway.internal\", \"10.0.0.5\", \"[::1]\") or \"*\""
                    ),
                );
            }
        }
    }
    ok.then_some(hosts)
}

fn host_name(text: &str) -> Option<String> {
    if text == "*" {
        return Some(text.to_string());
    }
    let inner = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    if let Ok(v6) = inner.parse::<std::net::Ipv6Addr>() {
        return Some(format!("[{v6}]"));
    }
    let valid = !text.is_empty()
        && text.len() <= 253
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    valid.then(|| text.to_ascii_lowercase())
}
