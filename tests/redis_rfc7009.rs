//! RFC 7009 once across replicas: every replica that holds the raw token may call the
//! identity provider, one does (a lease in Redis), and another takes over when the holder of
//! the lease has not succeeded within 10 s.

mod common;
mod redis_support;

use std::time::Duration;

use common::receiver::*;
use common::Gateway;
use idlegate::clock::Clock;
use idlegate::config::Rfc7009Config;
use idlegate::store::RevokeReason;
use redis_support::*;

const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvbmNlIn0.c2ln";
const QUEUE: &str = "idlegate_revocation_hook_queue{hook=\"rfc7009\"}";
const OK: &str = "idlegate_revocation_hook_total{hook=\"rfc7009\",result=\"ok\"}";

/// A replica calling RFC 7009 at `idp`, with a long idle timeout (only admins revoke here).
async fn replica(url: &str, prefix: &str, clock: &Clock, idp: std::net::SocketAddr) -> Gateway {
    std::env::set_var("IDLEGATE_TEST_RFC7009_ONCE", "s3cret");
    let up = common::upstream().await;
    let mut c = config(up, url, prefix);
    c.timeout.idle = Duration::from_secs(600);
    c.revocation.rfc7009 = Some(Rfc7009Config {
        url: format!("http://{idp}/oauth/revoke").parse().unwrap(),
        client_id: "gateway".into(),
        client_secret_env: "IDLEGATE_TEST_RFC7009_ONCE".into(),
    });
    let gw = gateway_on(c, clock).await;
    assert!(connected(&gw).await, "reaches Redis");
    gw
}

/// Both replicas see the token (so both hold it raw); then `a` revokes it.
async fn revoke_on_a_seen_by_both(a: &Gateway, b: &Gateway, clock: &Clock) {
    assert_eq!(a.get("/x", Some(TOKEN)).await.status, 200);
    assert_eq!(b.get("/x", Some(TOKEN)).await.status, 200);
    let key = common::keyer().key(TOKEN);
    a.running
        .app
        .state()
        .revoke(&key, RevokeReason::Admin, clock.now_ms());
    let learned = b
        .eventually(Duration::from_secs(3), || async {
            b.get("/x", Some(TOKEN)).await.status == 401
        })
        .await;
    assert!(learned, "b learns the revocation");
}

/// Both replicas have nothing left to deliver (so no later call can come).
async fn settled(gws: [&Gateway; 2], within: Duration) -> bool {
    for gw in gws {
        if !gw
            .eventually(within, || async { gw.metric(QUEUE).await == 0.0 })
            .await
        {
            return false;
        }
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_holding_the_token_call_the_identity_provider_once() {
    let Some(server) = Server::start().await else {
        return;
    };
    let (url, prefix, clock) = (server.url(), unique_prefix(), Clock::new());
    let (idp_a, mut calls_a) = receiver(200).await;
    let (idp_b, mut calls_b) = receiver(200).await;
    let a = replica(&url, &prefix, &clock, idp_a).await;
    let b = replica(&url, &prefix, &clock, idp_b).await;
    revoke_on_a_seen_by_both(&a, &b, &clock).await;
    assert!(settled([&a, &b], Duration::from_secs(10)).await);
    let (mut n, mut body) = (0, String::new());
    for rx in [&mut calls_a, &mut calls_b] {
        while let Ok(call) = rx.try_recv() {
            n += 1;
            body = call.body;
        }
    }
    assert_eq!(n, 1, "one call across the replicas");
    assert!(body.starts_with("token=eyJ"), "{body}");
    let ok = a.metric(OK).await + b.metric(OK).await;
    assert_eq!(ok, 1.0);
    for gw in [a, b] {
        gw.running.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_takes_over_when_the_lease_holder_has_not_succeeded_within_10_s() {
    let Some(server) = Server::start().await else {
        return;
    };
    let (url, prefix, clock) = (server.url(), unique_prefix(), Clock::new());
    // A's identity provider is unreachable (a port nobody listens on); B's answers.
    let dead_idp: std::net::SocketAddr = format!("127.0.0.1:{}", common::free_port())
        .parse()
        .unwrap();
    let (idp_b, mut calls_b) = receiver(200).await;
    let a = replica(&url, &prefix, &clock, dead_idp).await;
    let b = replica(&url, &prefix, &clock, idp_b).await;
    // A replica that died holding the lease: its 10 s must run out first.
    let lease = format!("{prefix}:{{{}}}:k", common::token_id(TOKEN));
    let mut conn = connect(&url).await;
    let _: () = redis::cmd("SET")
        .arg(&lease)
        .arg("gone")
        .arg("PX")
        .arg(10_000)
        .query_async(&mut conn)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    revoke_on_a_seen_by_both(&a, &b, &clock).await;
    let call = tokio::time::timeout(Duration::from_secs(35), calls_b.recv())
        .await
        .expect("b calls within three leases")
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(9),
        "not before the dead lease ended"
    );
    assert!(call.body.starts_with("token=eyJ"));
    assert!(
        settled([&a, &b], Duration::from_secs(15)).await,
        "a stops once b succeeded"
    );
    assert!(calls_b.try_recv().is_err(), "b called once");
    let done: String = redis::cmd("GET")
        .arg(&lease)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(done, "done");
    for gw in [a, b] {
        gw.running.stop().await.unwrap();
    }
}
