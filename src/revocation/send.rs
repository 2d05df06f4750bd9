//! Delivery of revocation hooks with retries.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use prometheus_client::metrics::counter::Counter;
use tokio::sync::mpsc;

use super::Job;
use crate::backoff::Backoff;
use crate::clock::rfc3339;
use crate::config::RevocationConfig;
use crate::telemetry::HookCounters;

const ATTEMPTS: u32 = 5;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// The longest wait between attempts: 200 ms doubled three times, so the cap never shortens one.
const MAX_BACKOFF: Duration = Duration::from_millis(1600);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// An event dropped from a full queue counts as an error of each configured hook.
pub(super) fn count_dropped(results: &HookCounters, cfg: &RevocationConfig) {
    if cfg.webhook.is_some() {
        results.webhook_error.inc();
    }
    if cfg.rfc7009.is_some() {
        results.rfc7009_error.inc();
    }
}

type HttpClient = Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
>;

/// Identity providers' revocation endpoints and webhooks are usually HTTPS: the hook client
/// speaks both.
fn hook_client() -> HttpClient {
    crate::outbound::client()
}

pub(super) async fn deliver(
    mut rx: mpsc::Receiver<Job>,
    config: Arc<ArcSwap<RevocationConfig>>,
    results: HookCounters,
) {
    let client = hook_client();
    while let Some(job) = rx.recv().await {
        let cfg = config.load_full();
        if let Some(url) = &cfg.webhook {
            let body = serde_json::json!({
                "token_id": job.rev.key.to_hex(),
                "reason": job.rev.reason.as_str(),
                "revoked_at": rfc3339(job.rev.at_ms),
                "last_activity": (job.rev.last_activity_ms > 0)
                    .then(|| rfc3339(job.rev.last_activity_ms)),
            })
            .to_string();
            let ok = post_with_retries(&client, url, "application/json", body, None).await;
            count(&results.webhook_ok, &results.webhook_error, ok);
        }
        if let (Some(rfc), Some(raw)) = (&cfg.rfc7009, &job.raw) {
            let secret = std::env::var(&rfc.client_secret_env).unwrap_or_default();
            let form = format!(
                "token={}&token_type_hint=access_token",
                percent_encoding::utf8_percent_encode(raw, percent_encoding::NON_ALPHANUMERIC)
            );
            let auth = basic_auth(&rfc.client_id, &secret);
            let ok = post_with_retries(
                &client,
                &rfc.url,
                "application/x-www-form-urlencoded",
                form,
                Some(auth),
            )
            .await;
            count(&results.rfc7009_ok, &results.rfc7009_error, ok);
        }
    }
}

fn count(ok_counter: &Counter, err_counter: &Counter, ok: bool) {
    if ok {
        ok_counter.inc();
    } else {
        err_counter.inc();
    }
}

fn basic_auth(id: &str, secret: &str) -> String {
    use base64::Engine;
    let enc = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let pair = format!("{}:{}", enc(id), enc(secret));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

async fn post_with_retries(
    client: &HttpClient,
    url: &http::Uri,
    content_type: &str,
    body: String,
    authorization: Option<String>,
) -> bool {
    let mut backoff = Backoff::new(FIRST_BACKOFF, MAX_BACKOFF);
    for attempt in 1..=ATTEMPTS {
        let mut req = http::Request::post(url.clone()).header("content-type", content_type);
        if let Some(auth) = &authorization {
            req = req.header("authorization", auth);
        }
        let Ok(req) = req.body(Full::new(Bytes::from(body.clone()))) else {
            return false;
        };
        match tokio::time::timeout(REQUEST_TIMEOUT, client.request(req)).await {
            Ok(Ok(resp)) if resp.status().is_success() => return true,
            Ok(Ok(resp)) => {
                tracing::warn!(%url, status = %resp.status(), attempt, "revocation hook refused")
            }
            Ok(Err(e)) => tracing::warn!(%url, error = %e, attempt, "revocation hook failed"),
            Err(_) => tracing::warn!(%url, attempt, "revocation hook timed out"),
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(backoff.next_delay()).await;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_encodes_form_escaped_credentials() {
        // RFC 6749 §2.3.1: client id and secret are form-encoded before base64.
        assert_eq!(
            basic_auth("gateway", "s3cret"),
            "Basic Z2F0ZXdheTpzM2NyZXQ="
        );
        assert_eq!(basic_auth("a:b", "c"), "Basic YSUzQWI6Yw==");
    }

    #[tokio::test]
    async fn hook_client_builds_with_a_tls_provider() {
        // Fails at run time when no rustls crypto provider is compiled in.
        let _client = hook_client();
    }
}
