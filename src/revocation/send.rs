//! One attempt of one hook delivery over HTTP(S).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;

use super::job::Payload;
use super::retry::{parse_retry_after, Attempt};
use crate::config::RevocationConfig;

/// Bounds one attempt, connect to response head.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

pub(super) type HttpClient = Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
>;

/// Identity providers' revocation endpoints and webhooks are usually HTTPS: the hook client
/// speaks both.
pub(super) fn hook_client() -> HttpClient {
    crate::outbound::client()
}

/// Sends `payload` once to its hook as configured now; `None` when that hook is no longer
/// configured (a reload removed it).
pub(super) async fn attempt(
    client: &HttpClient,
    cfg: &RevocationConfig,
    payload: &Payload,
) -> Option<Attempt> {
    let request = match payload {
        Payload::Webhook(event) => {
            let url = cfg.webhook.as_ref()?;
            post(url, "application/json", event.body(), None)
        }
        Payload::Rfc7009 { raw, .. } => {
            let rfc = cfg.rfc7009.as_ref()?;
            let secret = std::env::var(&rfc.client_secret_env).unwrap_or_default();
            let form = format!(
                "token={}&token_type_hint=access_token",
                percent_encoding::utf8_percent_encode(raw, percent_encoding::NON_ALPHANUMERIC)
            );
            let auth = basic_auth(&rfc.client_id, &secret);
            post(
                &rfc.url,
                "application/x-www-form-urlencoded",
                form,
                Some(auth),
            )
        }
    };
    let request = match request {
        Ok(request) => request,
        Err(e) => return Some(Attempt::Failed(e.to_string())),
    };
    Some(
        match tokio::time::timeout(ATTEMPT_TIMEOUT, client.request(request)).await {
            Ok(Ok(resp)) => Attempt::Answered {
                status: resp.status().as_u16(),
                retry_after: parse_retry_after(resp.headers().get(http::header::RETRY_AFTER)),
            },
            Ok(Err(e)) => Attempt::Failed(e.to_string()),
            Err(_) => Attempt::Failed(format!("no answer within {ATTEMPT_TIMEOUT:?}")),
        },
    )
}

fn post(
    url: &http::Uri,
    content_type: &str,
    body: String,
    authorization: Option<String>,
) -> http::Result<http::Request<Full<Bytes>>> {
    let mut req = http::Request::post(url.clone()).header("content-type", content_type);
    if let Some(auth) = authorization {
        req = req.header("authorization", auth);
    }
    req.body(Full::new(Bytes::from(body)))
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
