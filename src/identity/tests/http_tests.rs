//! Key sets over HTTP from a local server: loading, keeping the last good set, the refetch on
//! an unknown `kid` (shared and rate-limited), the size cap and the timeout.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use http::StatusCode;
use parking_lot::Mutex;
use serde_json::json;

use super::jwks_loads;
use super::keys::*;
use crate::config::JwksSource;
use crate::identity::{Identity, JwksError, Verdict, FETCH_TIMEOUT, MAX_JWKS_BYTES};
use crate::telemetry::identity::VerifyResult;
use crate::telemetry::Metrics;

/// A JWKS endpoint whose answer the test changes, counting its requests.
#[derive(Clone)]
struct JwksServer {
    answer: Arc<Mutex<(StatusCode, String)>>,
    hits: Arc<AtomicUsize>,
    uri: http::Uri,
}

impl JwksServer {
    async fn start(body: String) -> JwksServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = JwksServer {
            answer: Arc::new(Mutex::new((StatusCode::OK, body))),
            hits: Arc::default(),
            uri: format!("http://{addr}/jwks.json").parse().expect("uri"),
        };
        let app = Router::new()
            .route("/jwks.json", get(answer))
            .with_state(server.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        server
    }

    fn set(&self, status: StatusCode, body: String) {
        *self.answer.lock() = (status, body);
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn identity(&self) -> (Arc<Identity>, Arc<Metrics>) {
        let metrics = Arc::new(Metrics::new());
        let config = config(JwksSource::Url(self.uri.clone()));
        (
            Arc::new(Identity::new(&config, Arc::clone(&metrics))),
            metrics,
        )
    }
}

async fn answer(State(server): State<JwksServer>) -> (StatusCode, String) {
    server.hits.fetch_add(1, Ordering::SeqCst);
    server.answer.lock().clone()
}

fn rsa1_token(kid: &str) -> String {
    sign_rs256(rsa(1), &json!({"alg": "RS256", "kid": kid}), &good_claims())
}

#[tokio::test]
async fn a_set_served_over_http_is_loaded_and_verifies() {
    let server = JwksServer::start(standard_jwks()).await;
    let (identity, metrics) = server.identity();
    assert!(!identity.is_ready());
    assert_eq!(identity.load_first().await.ok(), Some(2));
    assert!(identity.is_ready());
    let verdict = identity.verify(&es256(&good_claims()), NOW_MS).await;
    assert!(matches!(verdict, Verdict::Valid(_)));
    assert_eq!(jwks_loads(&metrics, true), 1);
}

#[tokio::test]
async fn a_failed_http_refresh_keeps_the_last_good_set() {
    let server = JwksServer::start(standard_jwks()).await;
    let (identity, metrics) = server.identity();
    identity.load_first().await.expect("first load");
    for (status, body) in [
        (StatusCode::OK, "{not json".to_string()),
        (StatusCode::OK, jwks(&[json!({"kty": "oct", "k": "AAAA"})])),
        (StatusCode::INTERNAL_SERVER_ERROR, standard_jwks()),
    ] {
        server.set(status, body);
        assert!(identity.load_first().await.is_err());
        let verdict = identity.verify(&rs256(&good_claims()), NOW_MS).await;
        assert!(matches!(verdict, Verdict::Valid(_)));
    }
    assert!(identity.is_ready());
    assert_eq!(jwks_loads(&metrics, false), 3);
}

#[tokio::test]
async fn an_http_error_status_is_an_error() {
    let server = JwksServer::start(String::new()).await;
    server.set(StatusCode::NOT_FOUND, String::new());
    let (identity, _) = server.identity();
    assert!(matches!(
        identity.load_first().await,
        Err(JwksError::Status(404))
    ));
}

/// The refetch interval runs on the clock the caller passes to `verify` (the project clock),
/// so moving `now_ms` is moving the clock: no real waiting, no paused runtime over sockets.
#[tokio::test]
async fn an_unknown_kid_refetches_at_most_once_per_30_s() {
    let server = JwksServer::start(standard_jwks()).await;
    let (identity, metrics) = server.identity();
    identity.load_first().await.expect("first load");
    // The provider rotates in a new key: the first token naming it refetches and verifies.
    server.set(
        StatusCode::OK,
        jwks(&[rsa_jwk(rsa(0), "rsa-0"), rsa_jwk(rsa(1), "rsa-1")]),
    );
    let rotated = identity.verify(&rsa1_token("rsa-1"), NOW_MS).await;
    assert!(matches!(rotated, Verdict::Valid(_)));
    assert_eq!(server.hits(), 2);
    // Another unknown kid within 30 s: no fetch, unknown key.
    let at_29s = identity.verify(&rsa1_token("rsa-x"), NOW_MS + 29_999).await;
    assert!(matches!(at_29s, Verdict::Invalid(r) if r.result == VerifyResult::UnknownKey));
    assert_eq!(server.hits(), 2);
    // 30 s after the refetch: one more.
    identity.verify(&rsa1_token("rsa-y"), NOW_MS + 30_000).await;
    assert_eq!(server.hits(), 3);
    assert_eq!(jwks_loads(&metrics, true), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_sight_of_an_unknown_kid_shares_one_fetch() {
    let server = JwksServer::start(standard_jwks()).await;
    let (identity, _) = server.identity();
    identity.load_first().await.expect("first load");
    server.set(
        StatusCode::OK,
        jwks(&[rsa_jwk(rsa(0), "rsa-0"), rsa_jwk(rsa(1), "rsa-1")]),
    );
    let token = rsa1_token("rsa-1");
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (identity, token) = (Arc::clone(&identity), token.clone());
        tasks.spawn(async move { identity.verify(&token, NOW_MS).await });
    }
    while let Some(verdict) = tasks.join_next().await {
        assert!(matches!(verdict.expect("task"), Verdict::Valid(_)));
    }
    assert_eq!(server.hits(), 2, "one first load and one shared refetch");
}

#[tokio::test]
async fn an_answer_over_1_mib_is_refused() {
    let padded = format!(r#"{{"pad":"{}","keys":[]}}"#, "x".repeat(MAX_JWKS_BYTES));
    let server = JwksServer::start(padded).await;
    let (identity, _) = server.identity();
    assert!(matches!(
        identity.load_first().await,
        Err(JwksError::TooLarge)
    ));
}

/// A server that accepts and never answers; the paused clock jumps to the deadline once the
/// runtime has nothing else to do.
#[tokio::test(start_paused = true)]
async fn a_silent_server_times_out_after_5_s() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let metrics = Arc::new(Metrics::new());
    let uri: http::Uri = format!("http://{addr}/jwks.json").parse().expect("uri");
    let identity = Identity::new(&config(JwksSource::Url(uri)), metrics);
    let started = tokio::time::Instant::now();
    assert!(matches!(
        identity.load_first().await,
        Err(JwksError::Timeout)
    ));
    assert!(started.elapsed() >= FETCH_TIMEOUT);
    assert!(!identity.is_ready());
}
