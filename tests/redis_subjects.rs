//! Subjects shared through Redis: a subject's tokens are listed and revoked from any replica,
//! including the tokens only another replica saw. Tests skip loudly without Redis (fail under
//! CI); each owns a unique key prefix.

mod common;
mod redis_support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Gateway;
use idlegate::clock::Clock;
use idlegate::store::{Check, NewIdent, RevokeReason, Timing};
use idlegate::token::TokenKey;
use redis_support::*;

/// The test config's timing (2 s idle, default retention).
fn timing() -> Timing {
    Timing::simple(2000, None, true, 24 * 3600 * 1000)
}

/// Tracks `token` on `gw` as a verified token of `subject`, then flushes it to Redis.
async fn track_as(gw: &Gateway, token: &str, subject: &str) -> TokenKey {
    let key = common::keyer().key(token);
    let ident = NewIdent {
        sig: 1,
        subject: Some(subject),
        policy: 0,
    };
    let state = gw.running.app.state();
    state.track_verified(&key, gw.clock.now_ms(), None, &timing(), ident);
    let stats = state.flush_to_redis().await.expect("redis backend");
    assert_eq!(stats.left, 0, "flushed");
    key
}

/// Checks `key` on `gw` without touching it.
async fn check(gw: &Gateway, key: &TokenKey) -> Check {
    let state = gw.running.app.state();
    state
        .check(key, gw.clock.now_ms(), &timing(), false)
        .await
        .expect("Redis answers")
}

async fn pair(url: &str, prefix: &str) -> (Gateway, Gateway) {
    let (up, clock) = (common::upstream().await, Clock::new());
    let a = gateway_on(config(up, url, prefix), &clock).await;
    let b = gateway_on(config(up, url, prefix), &clock).await;
    assert!(
        connected(&a).await && connected(&b).await,
        "both reach Redis"
    );
    (a, b)
}

async fn stop(gws: impl IntoIterator<Item = Gateway>) {
    for gw in gws {
        gw.running.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flushed_token_carries_its_subject_and_joins_the_subjects_set_with_a_ttl() {
    if !shared_redis().await {
        return;
    }
    let prefix = unique_prefix();
    let (a, b) = pair(SHARED_URL, &prefix).await;
    let token = "tok-alice-set";
    let key = track_as(&a, token, "alice").await;
    let mut conn = connect(SHARED_URL).await;
    let tracked = format!("{prefix}:{{{}}}:t", key.to_hex());
    let u: Option<String> = redis::cmd("HGET")
        .arg(&tracked)
        .arg("u")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(u.as_deref(), Some("alice"), "the hash holds the subject");

    let set = subject_set(&prefix, "alice");
    let members: Vec<String> = redis::cmd("SMEMBERS")
        .arg(&set)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(members, [key.to_hex()], "token ids only, never a raw token");
    let ttl_ms: i64 = redis::cmd("PTTL")
        .arg(&set)
        .query_async(&mut conn)
        .await
        .unwrap();
    // The tracked TTL: idle (2 s) + retention (24 h).
    let tracked_ttl = 2000 + 24 * 3600 * 1000;
    assert!(ttl_ms > 0 && ttl_ms <= tracked_ttl, "set TTL {ttl_ms} ms");

    // The next flush of a touch refreshes the set's TTL.
    let _: bool = redis::cmd("PEXPIRE")
        .arg(&set)
        .arg(5000)
        .query_async(&mut conn)
        .await
        .unwrap();
    let state = a.running.app.state();
    let touched = state.check(&key, a.clock.now_ms(), &timing(), true).await;
    assert!(matches!(touched, Ok(Check::Active { .. })));
    state.flush_to_redis().await;
    let refreshed: i64 = redis::cmd("PTTL")
        .arg(&set)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(refreshed > 5000, "set TTL refreshed: {refreshed} ms");
    stop([a, b]).await;
    cleanup(SHARED_URL, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_learns_a_tokens_subject_on_first_sight() {
    if !shared_redis().await {
        return;
    }
    let prefix = unique_prefix();
    let (a, b) = pair(SHARED_URL, &prefix).await;
    let key = track_as(&a, "tok-alice-first-sight", "alice").await;
    assert!(matches!(check(&b, &key).await, Check::Active { .. }));
    let (subject, policy) = b.running.app.state().ident(&key, b.clock.now_ms());
    assert_eq!(subject.as_deref(), Some("alice"));
    assert_eq!(
        policy, 0,
        "the policy is derived where the token is verified"
    );
    let listed = b
        .running
        .app
        .state()
        .subject_tokens("alice", b.clock.now_ms())
        .await;
    assert_eq!(listed.len(), 1, "listed once, from B's own memory now");
    stop([a, b]).await;
    cleanup(SHARED_URL, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subject_revoked_on_b_is_refused_by_a_and_other_subjects_are_untouched() {
    if !shared_redis().await {
        return;
    }
    let prefix = unique_prefix();
    let (a, b) = pair(SHARED_URL, &prefix).await;
    let alice = track_as(&a, "tok-alice-on-a", "alice").await;
    let bob = track_as(&a, "tok-bob-on-a", "bob").await;
    let state_b = b.running.app.state();

    let listed = state_b.subject_tokens("alice", b.clock.now_ms()).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].key, alice);
    assert_eq!(listed[0].revoked, None, "active");
    let on_a = a.running.app.state().record(&alice).expect("tracked on A");
    assert_eq!(
        listed[0].last_activity_ms,
        Some(on_a.last_activity_ms),
        "A's activity, read from Redis"
    );

    let (revoked, durability) = state_b.revoke_subject("alice", b.clock.now_ms()).await;
    assert_eq!(revoked, 1);
    assert_eq!(format!("{durability:?}"), "Done", "stored in Redis");
    let mut refused = false;
    for _ in 0..150 {
        if check(&a, &alice).await == Check::Revoked(RevokeReason::Admin) {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "A refuses alice's token");
    assert!(matches!(check(&a, &bob).await, Check::Active { .. }));
    let bobs = state_b.subject_tokens("bob", b.clock.now_ms()).await;
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0].revoked, None, "bob's token is untouched");
    let alices = state_b.subject_tokens("alice", b.clock.now_ms()).await;
    assert_eq!(alices.len(), 1, "{alices:?}");
    assert_eq!(alices[0].revoked, Some(RevokeReason::Admin));
    stop([a, b]).await;
    cleanup(SHARED_URL, &prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_revoked_elsewhere_are_listed_with_their_reason_and_gone_ones_are_dropped() {
    if !shared_redis().await {
        return;
    }
    let prefix = unique_prefix();
    let (a, b) = pair(SHARED_URL, &prefix).await;
    let revoked = track_as(&a, "tok-alice-revoked", "alice").await;
    a.running
        .app
        .state()
        .revoke(&revoked, RevokeReason::Inactivity, a.clock.now_ms());
    a.running.app.state().flush_to_redis().await;
    let gone = TokenKey([0x5a; 16]);
    let set = subject_set(&prefix, "alice");
    let mut conn = connect(SHARED_URL).await;
    let _: i64 = redis::cmd("SADD")
        .arg(&set)
        .arg(gone.to_hex())
        .query_async(&mut conn)
        .await
        .unwrap();

    let listed = b
        .running
        .app
        .state()
        .subject_tokens("alice", b.clock.now_ms())
        .await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].key, revoked);
    assert_eq!(listed[0].revoked, Some(RevokeReason::Inactivity));
    let still: bool = redis::cmd("SISMEMBER")
        .arg(&set)
        .arg(gone.to_hex())
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(!still, "a member with neither key is removed from the set");
    stop([a, b]).await;
    cleanup(SHARED_URL, &prefix).await;
}

#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_during_a_listing_falls_back_to_the_local_list_and_says_so() {
    let Some(mut server) = Server::start().await else {
        return;
    };
    let (prefix, url) = (unique_prefix(), server.url());
    let up = common::upstream().await;
    let gw = gateway_on(config(up, &url, &prefix), &Clock::new()).await;
    assert!(connected(&gw).await);
    let key = track_as(&gw, "tok-alice-outage", "alice").await;
    server.stop();

    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_writer(move || writer.clone())
        .finish();
    let listed = {
        // This thread only: the listing runs on it.
        let _guard = tracing::subscriber::set_default(subscriber);
        gw.running
            .app
            .state()
            .subject_tokens("alice", gw.clock.now_ms())
            .await
    };
    assert_eq!(listed.len(), 1, "the local list: {listed:?}");
    assert_eq!(listed[0].key, key);
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("listed from this replica only"),
        "a log line says so:\n{text}"
    );
    gw.running.stop().await.unwrap();
}
