//! The refresh task on a paused clock over a JWKS file: first load at start, retries until a
//! set loads, a reload every `refresh`, the last good set kept through a bad file.

use std::time::Duration;

use serde_json::json;

use super::keys::*;
use super::{jwks_loads, FileFixture};
use crate::identity::Verdict;

const REFRESH: Duration = Duration::from_secs(600);

/// Lets the refresh task run what is due now (bounded: it never sleeps for real).
async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

fn rsa1_token() -> String {
    sign_rs256(
        rsa(1),
        &json!({"alg": "RS256", "kid": "rsa-1"}),
        &good_claims(),
    )
}

async fn valid(f: &FileFixture, token: &str) -> bool {
    matches!(f.identity.verify(token, NOW_MS).await, Verdict::Valid(_))
}

#[tokio::test(start_paused = true)]
async fn the_task_loads_at_start_and_reloads_every_refresh() {
    let f = FileFixture::new(&standard_jwks(), |c| c.refresh = REFRESH);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = f.identity.spawn_refresh(async {
        let _ = stopped.await;
    });
    settle().await;
    assert!(f.identity.is_ready());
    f.rewrite(&jwks(&[rsa_jwk(rsa(1), "rsa-1")]));
    tokio::time::advance(REFRESH - Duration::from_secs(1)).await;
    settle().await;
    assert_eq!(
        jwks_loads(&f.metrics, true),
        1,
        "not reloaded before `refresh`"
    );
    tokio::time::advance(Duration::from_secs(1)).await;
    settle().await;
    assert_eq!(jwks_loads(&f.metrics, true), 2);
    assert_eq!(f.identity.key_count(), 1);
    let _ = stop.send(());
    task.await.expect("task ends on shutdown");
}

#[tokio::test(start_paused = true)]
async fn a_bad_file_at_refresh_keeps_the_last_good_set() {
    let f = FileFixture::new(&jwks(&[rsa_jwk(rsa(1), "rsa-1")]), |c| c.refresh = REFRESH);
    let _task = f.identity.spawn_refresh(std::future::pending());
    settle().await;
    f.rewrite("{\"keys\": 3}");
    tokio::time::advance(REFRESH).await;
    settle().await;
    assert_eq!(jwks_loads(&f.metrics, false), 1);
    assert!(valid(&f, &rsa1_token()).await);
}

#[tokio::test(start_paused = true)]
async fn the_first_load_is_retried_until_a_set_loads() {
    let f = FileFixture::new("", |c| c.refresh = REFRESH);
    let _task = f.identity.spawn_refresh(std::future::pending());
    settle().await;
    assert!(!f.identity.is_ready());
    f.rewrite(&standard_jwks());
    // Retries after 1 s, then 2 s …: far sooner than `refresh`.
    tokio::time::advance(Duration::from_secs(1)).await;
    settle().await;
    assert!(f.identity.is_ready());
    assert!(valid(&f, &rs256(&good_claims())).await);
}
