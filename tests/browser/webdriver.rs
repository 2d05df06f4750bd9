//! A small W3C WebDriver client over the hyper client already in the dependencies, and a
//! chromedriver process that is killed on drop. Just what the browser test needs: sessions,
//! navigation, elements by CSS selector, click, keys, text, script and screenshots.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

/// The W3C key for an element reference in JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// WebDriver key codes (W3C WebDriver §17.4.2).
pub mod keys {
    pub const ENTER: &str = "\u{E007}";
    pub const ESCAPE: &str = "\u{E00C}";
    pub const ARROW_DOWN: &str = "\u{E015}";
    pub const SPACE: &str = "\u{E00D}";
}

/// The browser binaries, when both are installed.
pub struct Browser {
    pub chromedriver: PathBuf,
    pub chromium: PathBuf,
}

impl Browser {
    pub fn find() -> Option<Browser> {
        let chromedriver = find_program("chromedriver", &["/usr/bin/chromedriver"])?;
        let chromium = find_program(
            "chromium",
            &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
        )?;
        Some(Browser {
            chromedriver,
            chromium,
        })
    }
}

fn find_program(name: &str, fallbacks: &[&str]) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| fallbacks.iter().map(PathBuf::from).find(|p| p.is_file()))
}

/// A running chromedriver on a free loopback port.
pub struct Driver {
    child: Child,
    pub base: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub type WdResult<T> = Result<T, String>;

impl Driver {
    pub async fn start(chromedriver: &Path) -> WdResult<Driver> {
        let port = free_port()?;
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", chromedriver.display()))?;
        let driver = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            client: Client::builder(TokioExecutor::new()).build_http(),
        };
        let ready = poll(Duration::from_secs(20), || async {
            matches!(driver.call(Method::GET, "/status", None).await,
                     Ok(v) if v["ready"] == json!(true))
        })
        .await;
        if ready {
            Ok(driver)
        } else {
            Err("chromedriver did not become ready within 20 s".into())
        }
    }

    /// One WebDriver command; answers the `value` of the reply or its error message.
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> WdResult<Value> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let req = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("content-type", "application/json; charset=utf-8")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let resp = tokio::time::timeout(Duration::from_secs(60), self.client.request(req))
            .await
            .map_err(|_| format!("webdriver {path}: no answer within 60 s"))?
            .map_err(|e| format!("webdriver {path}: {e}"))?;
        let status = resp.status();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        let v: Value =
            serde_json::from_slice(&bytes).map_err(|e| format!("webdriver {path}: {e}"))?;
        let value = v.get("value").cloned().unwrap_or(Value::Null);
        if status.is_success() {
            Ok(value)
        } else {
            Err(format!(
                "webdriver {path}: {status}: {} {}",
                value["error"].as_str().unwrap_or(""),
                value["message"].as_str().unwrap_or("")
            ))
        }
    }

    pub async fn new_session(&self, chromium: &Path, profile: &Path) -> WdResult<Session<'_>> {
        let args = [
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--no-first-run".into(),
            "--window-size=1280,900".into(),
            format!("--user-data-dir={}", profile.display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium.display().to_string(), "args": args},
        }}});
        let v = self.call(Method::POST, "/session", Some(caps)).await?;
        let id = v["sessionId"]
            .as_str()
            .ok_or("new session: no sessionId")?
            .to_string();
        Ok(Session { driver: self, id })
    }
}

/// A port for chromedriver to bind, from below the ephemeral range (`common::ports`).
fn free_port() -> WdResult<u16> {
    Ok(crate::common::free_port())
}

/// Polls `cond` every 50 ms for at most `within`; true once it holds.
pub async fn poll<F, Fut>(within: Duration, mut cond: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if cond().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A browser session. Call `quit` at the end (the driver's drop kills the browser anyway).
pub struct Session<'d> {
    driver: &'d Driver,
    id: String,
}

/// An element reference.
#[derive(Clone, Debug)]
pub struct Element(String);

/// How long element look-ups wait for the page to catch up.
pub const WAIT: Duration = Duration::from_secs(10);

impl Session<'_> {
    async fn cmd(&self, method: Method, path: &str, body: Option<Value>) -> WdResult<Value> {
        self.driver
            .call(method, &format!("/session/{}{path}", self.id), body)
            .await
    }

    pub async fn goto(&self, url: &str) -> WdResult<()> {
        self.cmd(Method::POST, "/url", Some(json!({ "url": url })))
            .await
            .map(drop)
    }

    /// The first element matching `css` right now, if any.
    pub async fn try_find(&self, css: &str) -> Option<Element> {
        let by = json!({"using": "css selector", "value": css});
        let v = self.cmd(Method::POST, "/element", Some(by)).await.ok()?;
        v[ELEMENT_KEY].as_str().map(|s| Element(s.to_string()))
    }

    /// Waits up to `WAIT` for an element matching `css` that is displayed.
    pub async fn find(&self, css: &str) -> WdResult<Element> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(e) = self.try_find(css).await {
                if self.displayed(&e).await {
                    return Ok(e);
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(format!("no visible element `{css}` within {WAIT:?}"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn displayed(&self, e: &Element) -> bool {
        let path = format!("/element/{}/displayed", e.0);
        matches!(
            self.cmd(Method::GET, &path, None).await,
            Ok(Value::Bool(true))
        )
    }

    pub async fn click(&self, e: &Element) -> WdResult<()> {
        let path = format!("/element/{}/click", e.0);
        self.cmd(Method::POST, &path, Some(json!({})))
            .await
            .map(drop)
    }

    pub async fn send_keys(&self, e: &Element, text: &str) -> WdResult<()> {
        let path = format!("/element/{}/value", e.0);
        self.cmd(Method::POST, &path, Some(json!({ "text": text })))
            .await
            .map(drop)
    }

    pub async fn text(&self, e: &Element) -> WdResult<String> {
        let path = format!("/element/{}/text", e.0);
        let v = self.cmd(Method::GET, &path, None).await?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and answers its result.
    pub async fn execute(&self, script: &str, args: Value) -> WdResult<Value> {
        let body = json!({ "script": script, "args": args });
        self.cmd(Method::POST, "/execute/sync", Some(body)).await
    }

    /// Waits up to `WAIT` for `script` to return true.
    pub async fn wait_until(&self, what: &str, script: &str) -> WdResult<()> {
        let ok = poll(WAIT, || async {
            matches!(self.execute(script, json!([])).await, Ok(Value::Bool(true)))
        })
        .await;
        if ok {
            Ok(())
        } else {
            Err(format!("timed out after {WAIT:?} waiting for {what}"))
        }
    }

    /// Waits up to `WAIT` for the text of `css` to contain `needle`; answers the text.
    pub async fn wait_text(&self, css: &str, needle: &str) -> WdResult<String> {
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut last = String::new();
        loop {
            if let Some(e) = self.try_find(css).await {
                last = self.text(&e).await.unwrap_or_default();
                if last.contains(needle) {
                    return Ok(last);
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(format!(
                    "`{css}` never showed {needle:?}; last text: {last:?}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> WdResult<Vec<u8>> {
        let v = self.cmd(Method::GET, "/screenshot", None).await?;
        let b64 = v.as_str().ok_or("screenshot: no data")?;
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| e.to_string())
    }

    /// Chrome DevTools command through chromedriver's vendor endpoint.
    pub async fn cdp(&self, cmd: &str, params: Value) -> WdResult<Value> {
        let body = json!({ "cmd": cmd, "params": params });
        self.cmd(Method::POST, "/goog/cdp/execute", Some(body))
            .await
    }

    pub async fn quit(self) {
        let _ = self.cmd(Method::DELETE, "", None).await;
    }
}
