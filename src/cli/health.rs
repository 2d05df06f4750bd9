//! `idlegate health`: asks the admin listener's `/healthz` and exits 0 on `200`, 1 otherwise
//! with a one-line reason, within 2 s (docs/reference.md, "CLI"). A container's HEALTHCHECK
//! runs it, so the image needs no curl: plain HTTP/1.1 over a `TcpStream` is all it takes.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::{Duration, Instant};

/// Asked when neither `--url` nor `--config` is given: the default `admin.listen`.
pub(super) const DEFAULT_URL: &str = "http://127.0.0.1:9901/healthz";
/// The whole probe (resolve, connect, send, read the status line) takes at most this long.
const TIMEOUT: Duration = Duration::from_secs(2);
/// A status line longer than this is no answer of idlegate's.
const STATUS_LINE_MAX_BYTES: usize = 8192;

#[derive(Debug, thiserror::Error)]
pub(super) enum HealthError {
    #[error("{url:?} is not a URL idlegate health can ask ({why})")]
    Url { url: String, why: &'static str },
    #[error("cannot read {config}: {why}")]
    Config { config: String, why: String },
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        host: String,
        source: std::io::Error,
    },
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("{url} gave no answer within {} s", TIMEOUT.as_secs())]
    Timeout { url: String },
    #[error("{url}: {source}")]
    Io { url: String, source: std::io::Error },
    #[error("{url} answered {status}")]
    Status { url: String, status: String },
    #[error("{url} answered something that is not HTTP")]
    NotHttp { url: String },
}

/// `idlegate health [--url URL | --config PATH]`: the exit status, the reason on stderr.
pub fn health(url: Option<&str>, config: Option<&Path>) -> i32 {
    let url = match (url, config) {
        (Some(url), _) => Ok(url.to_string()),
        (None, Some(config)) => url_of_config(config),
        (None, None) => Ok(DEFAULT_URL.to_string()),
    };
    match url.and_then(|url| probe(&url).map(|()| url)) {
        Ok(url) => {
            println!("healthy: {url} answered 200");
            0
        }
        Err(e) => {
            eprintln!("unhealthy: {e}");
            1
        }
    }
}

/// `http://ADDR/healthz` of the config's `admin.listen`; a wildcard address is asked on the
/// loopback of its family.
pub(super) fn url_of_config(config: &Path) -> Result<String, HealthError> {
    let loaded = crate::config::load(config).map_err(|diags| HealthError::Config {
        config: config.display().to_string(),
        why: diags
            .first()
            .map_or_else(|| "invalid".to_string(), ToString::to_string),
    })?;
    let mut addr = loaded.config.admin.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    Ok(format!("http://{addr}/healthz"))
}

/// `GET` the URL; Ok on `200`.
pub(super) fn probe(url: &str) -> Result<(), HealthError> {
    let deadline = Instant::now() + TIMEOUT;
    let target = Target::parse(url)?;
    let mut stream = connect(&target, deadline)?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: idlegate-health\r\nConnection: close\r\n\r\n",
        target.path, target.authority
    );
    let io = |source: std::io::Error| match source.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => HealthError::Timeout {
            url: url.to_string(),
        },
        _ => HealthError::Io {
            url: url.to_string(),
            source,
        },
    };
    stream.set_write_timeout(Some(left(deadline))).map_err(io)?;
    stream.write_all(request.as_bytes()).map_err(io)?;
    let line = read_status_line(&mut stream, deadline).map_err(io)?;
    let status = parse_status(&line).ok_or_else(|| HealthError::NotHttp {
        url: url.to_string(),
    })?;
    if status.starts_with("200") {
        return Ok(());
    }
    Err(HealthError::Status {
        url: url.to_string(),
        status,
    })
}

/// What is left of the probe's time (never zero: a zero timeout means none).
fn left(deadline: Instant) -> Duration {
    deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1))
}

struct Target {
    /// `host:port` as the URL wrote it (the `Host` header).
    authority: String,
    host: String,
    port: u16,
    path: String,
}

impl Target {
    fn parse(url: &str) -> Result<Target, HealthError> {
        let bad = |why| HealthError::Url {
            url: url.to_string(),
            why,
        };
        let uri: http::Uri = url
            .parse()
            .map_err(|_| bad("expected http://HOST:PORT/PATH"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some(_) => return Err(bad("only http:// is supported")),
            None => return Err(bad("expected http://HOST:PORT/PATH")),
        }
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        Ok(Target {
            authority: authority.as_str().to_string(),
            host: host.to_string(),
            port: authority.port_u16().unwrap_or(80),
            path: uri
                .path_and_query()
                .map_or("/".to_string(), |p| p.as_str().to_string()),
        })
    }
}

/// Tries each address of the host in turn within the deadline.
fn connect(target: &Target, deadline: Instant) -> Result<TcpStream, HealthError> {
    let addrs: Vec<SocketAddr> = (target.host.as_str(), target.port)
        .to_socket_addrs()
        .map_err(|source| HealthError::Resolve {
            host: target.host.clone(),
            source,
        })?
        .collect();
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, left(deadline)) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(HealthError::Connect {
        addr: target.authority.clone(),
        source: last,
    })
}

/// Reads up to the end of the status line (bounded in bytes and time).
fn read_status_line(stream: &mut TcpStream, deadline: Instant) -> std::io::Result<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.contains(&b'\n') && head.len() < STATUS_LINE_MAX_BYTES {
        stream.set_read_timeout(Some(left(deadline)))?;
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let end = head.iter().position(|b| *b == b'\n').unwrap_or(head.len());
    Ok(String::from_utf8_lossy(&head[..end]).trim_end().to_string())
}

/// `HTTP/1.1 503 Service Unavailable` → `503 Service Unavailable`.
fn parse_status(line: &str) -> Option<String> {
    let (version, status) = line.split_once(' ')?;
    let code = status.get(..3)?;
    let valid = version.starts_with("HTTP/1.") && code.bytes().all(|b| b.is_ascii_digit());
    valid.then(|| status.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_line_gives_its_code_and_reason() {
        assert_eq!(parse_status("HTTP/1.1 200 OK").as_deref(), Some("200 OK"));
        assert_eq!(
            parse_status("HTTP/1.0 503 Service Unavailable").as_deref(),
            Some("503 Service Unavailable")
        );
        assert_eq!(parse_status("SSH-2.0-OpenSSH"), None);
        assert_eq!(parse_status("HTTP/1.1 2x0 OK"), None);
        assert_eq!(parse_status(""), None);
    }

    #[test]
    fn only_plain_http_urls_are_asked() {
        let t = Target::parse("http://[::1]:9901/healthz").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("::1", 9901, "/healthz")
        );
        assert_eq!(t.authority, "[::1]:9901");
        assert_eq!(Target::parse("http://localhost").unwrap().port, 80);
        assert!(Target::parse("https://127.0.0.1:9901/healthz").is_err());
        assert!(Target::parse("127.0.0.1:9901").is_err());
        assert!(Target::parse("not a url").is_err());
    }

    #[test]
    fn a_wildcard_admin_address_is_asked_on_the_loopback() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("idlegate.toml");
        let text =
            "[proxy]\nupstream = \"http://127.0.0.1:9\"\n[admin]\nlisten = \"0.0.0.0:9911\"\n";
        std::fs::write(&path, text).unwrap();
        assert_eq!(
            url_of_config(&path).unwrap(),
            "http://127.0.0.1:9911/healthz"
        );
        std::fs::write(&path, "[admin]\nlisten = \"[::]:9912\"\n").unwrap();
        let e = url_of_config(&path).unwrap_err().to_string();
        assert!(e.contains("proxy.upstream"), "{e}");
    }
}
