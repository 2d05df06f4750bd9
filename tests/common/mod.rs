//! Test harness: a real local upstream and the real gateway on port-0 listeners.
#![allow(dead_code)]

pub mod logs;
pub mod ports;
pub mod raw;
pub mod receiver;
pub mod skip;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use idlegate::clock::Clock;
use idlegate::config::Config;
use idlegate::server::Running;
use idlegate::token::Keyer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub const SECRET: &[u8] = b"integration-test-secret";

pub fn keyer() -> Keyer {
    Keyer::from_secret(SECRET)
}

pub fn token_id(token: &str) -> String {
    keyer().key(token).to_hex()
}

/// A local upstream:
/// - `/status/NNN` answers NNN;
/// - `/slow/MS` answers after MS milliseconds;
/// - `/big/N` streams N bytes in 64 KiB chunks;
/// - `POST /count` answers the number of request body bytes it read;
/// - an `Upgrade` request gets 101 and an echo of every byte;
/// - anything else answers 200 with a JSON echo of method, path, query and headers.
pub async fn upstream() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let svc = service_fn(upstream_service);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .with_upgrades()
                    .await;
            });
        }
    });
    addr
}

type UpBody = http_body_util::combinators::BoxBody<Bytes, Infallible>;

fn full(s: impl Into<Bytes>) -> UpBody {
    Full::new(s.into()).boxed()
}

/// `101` and an echo of every byte on the upgraded connection.
fn upgrade_to_echo(req: &mut Request<Incoming>) -> Response<UpBody> {
    let on = hyper::upgrade::on(req);
    tokio::spawn(async move {
        let Ok(up) = on.await else { return };
        let mut io = TokioIo::new(up);
        let mut buf = [0u8; 1024];
        loop {
            match io.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if io.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    Response::builder()
        .status(101)
        .header("connection", "upgrade")
        .header("upgrade", "echo")
        .body(full(""))
        .unwrap()
}

async fn upstream_service(mut req: Request<Incoming>) -> Result<Response<UpBody>, Infallible> {
    let path = req.uri().path().to_string();
    if req.headers().contains_key(http::header::UPGRADE) {
        return Ok(upgrade_to_echo(&mut req));
    }
    if let Some(code) = path.strip_prefix("/status/") {
        let code: u16 = code.parse().unwrap_or(500);
        return Ok(Response::builder()
            .status(code)
            .body(full("status"))
            .unwrap());
    }
    if let Some(ms) = path.strip_prefix("/slow/") {
        tokio::time::sleep(Duration::from_millis(ms.parse().unwrap_or(0))).await;
        return Ok(Response::new(full("slow")));
    }
    if let Some(n) = path.strip_prefix("/big/") {
        let n: usize = n.parse().unwrap_or(0);
        let chunks: Vec<Result<Frame<Bytes>, Infallible>> = (0..n)
            .step_by(65536)
            .map(|start| Ok(Frame::data(Bytes::from(vec![b'x'; (n - start).min(65536)]))))
            .collect();
        let body = StreamBody::new(futures_stream(chunks));
        return Ok(Response::new(body.boxed()));
    }
    if path == "/count" {
        let mut n = 0usize;
        let mut body = req.into_body();
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.map(|f| f.into_data()) {
                n += data.map(|d| d.len()).unwrap_or(0);
            }
        }
        return Ok(Response::new(full(n.to_string())));
    }
    let headers: BTreeMap<String, Vec<String>> = req
        .headers()
        .keys()
        .map(|k| {
            let vals = req
                .headers()
                .get_all(k)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            (k.as_str().to_string(), vals)
        })
        .collect();
    let echo = serde_json::json!({
        "method": req.method().as_str(),
        "path": path,
        "query": req.uri().query(),
        "version": format!("{:?}", req.version()),
        "headers": headers,
    });
    Ok(Response::builder()
        .header("content-type", "application/json")
        .header("connection", "keep-alive, x-upstream-private")
        .header("x-upstream-private", "hop")
        .header("keep-alive", "timeout=5")
        .body(full(echo.to_string()))
        .unwrap())
}

fn futures_stream(
    items: Vec<Result<Frame<Bytes>, Infallible>>,
) -> impl futures_util::Stream<Item = Result<Frame<Bytes>, Infallible>> {
    futures_util::stream::iter(items)
}

/// Config with the test defaults: the given upstream, a 2 s idle timeout.
pub fn config(upstream: SocketAddr) -> Config {
    let mut c = Config::with_upstream(format!("http://{upstream}").parse().unwrap());
    c.timeout.idle = Duration::from_secs(2);
    c.timeout.resolution = Duration::from_millis(100);
    c.proxy.upstream_timeout = Duration::from_secs(5);
    c
}

pub struct Gateway {
    pub running: Running,
    pub clock: Clock,
    pub client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

pub async fn gateway(config: Config) -> Gateway {
    gateway_on(config, &Clock::new()).await
}

/// A gateway on a given clock: several gateways (replicas, or one restarted) share one time.
pub async fn gateway_on(config: Config, clock: &Clock) -> Gateway {
    let proxy = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = Running::start(proxy, admin, config, keyer(), clock.clone())
        .await
        .unwrap();
    let client = Client::builder(TokioExecutor::new()).build_http();
    Gateway {
        running,
        clock: clock.clone(),
        client,
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

impl Gateway {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.running.proxy_addr, path)
    }

    pub async fn send(&self, req: Request<Full<Bytes>>) -> Reply {
        let resp = self.client.request(req).await.expect("gateway answers");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// `METHOD path` with an optional bearer token.
    pub async fn call(&self, method: &str, path: &str, token: Option<&str>) -> Reply {
        let mut b = Request::builder().method(method).uri(self.url(path));
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        self.send(b.body(Full::new(Bytes::new())).unwrap()).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call("GET", path, token).await
    }

    pub async fn metrics(&self) -> String {
        let url = format!("http://{}/metrics", self.running.admin_addr);
        let resp = self.client.get(url.parse().unwrap()).await.unwrap();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8_lossy(&body).into_owned()
    }

    /// The value of one sample line (`name{labels}`), 0 when absent.
    pub async fn metric(&self, sample: &str) -> f64 {
        let text = self.metrics().await;
        text.lines()
            .find_map(|l| l.strip_prefix(sample).and_then(|r| r.strip_prefix(' ')))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    }

    /// Polls `cond` every 20 ms for at most `within`.
    pub async fn eventually<F, Fut>(&self, within: Duration, mut cond: F) -> bool
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = tokio::time::Instant::now() + within;
        while tokio::time::Instant::now() < deadline {
            if cond().await {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        cond().await
    }
}

/// A port that was free a moment ago (for the binary, which binds its configured address).
/// Sends SIGTERM (a graceful stop) to the process `pid`, as a platform would.
pub fn send_sigterm(pid: u32) {
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -TERM {pid}");
}

/// A free port for a child that binds it itself; see [`ports`] for why not port 0.
pub fn free_port() -> u16 {
    ports::quiet_port()
}

/// An address nothing listens on: a refused connection. From below the ephemeral range, so
/// no other test's port-0 listener can be given it meanwhile.
pub fn closed_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}
