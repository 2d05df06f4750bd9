//! Measurements of the Redis backend, run by hand (`#[ignore]`): they print figures and hold
//! no timing bar (the README's Redis section quotes them with this command):
//!
//!   cargo test --release --test redis_measure -- --ignored --nocapture --test-threads 1

mod common;
mod redis_support;

use std::time::{Duration, Instant};

use idlegate::clock::Clock;
use idlegate::store::{RevokeReason, Status};
use redis_support::*;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Revocations decided on A, each timed until B's local state holds it (pub/sub).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run by hand"]
async fn revocation_propagation_across_replicas() {
    let Some(server) = Server::start().await else {
        return;
    };
    propagation("one server", &server.url()).await;
}

/// The same across a private 3-master Redis Cluster (sharded pub/sub).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run by hand"]
async fn revocation_propagation_across_replicas_on_a_cluster() {
    let Some(cluster) = redis_support::cluster::Cluster::start(3, 0).await else {
        return;
    };
    propagation("cluster", &cluster.url()).await;
}

async fn propagation(what: &str, url: &str) {
    let (url, prefix, clock) = (url.to_string(), unique_prefix(), Clock::new());
    let up = common::upstream().await;
    let a = gateway_on(config(up, &url, &prefix), &clock).await;
    let b = gateway_on(config(up, &url, &prefix), &clock).await;
    assert!(connected(&a).await && connected(&b).await);
    let mut took = Vec::new();
    for i in 0..300 {
        let token = format!("propagation-{i}");
        assert_eq!(b.get("/x", Some(&token)).await.status, 200);
        let key = common::keyer().key(&token);
        let started = Instant::now();
        a.running
            .app
            .state()
            .revoke(&key, RevokeReason::Admin, clock.now_ms());
        loop {
            let status = b.running.app.state().status(&key, clock.now_ms());
            if matches!(status, Status::Revoked { .. }) {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(5), "not learnt");
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        took.push(started.elapsed());
    }
    took.sort();
    println!(
        "revocation propagation A -> B ({what}) over {} revocations: p50 {:?}, p99 {:?}, \
         max {:?}",
        took.len(),
        percentile(&took, 0.5),
        percentile(&took, 0.99),
        took.last().unwrap()
    );
    for gw in [a, b] {
        gw.running.stop().await.unwrap();
    }
}

async fn commands_processed(url: &str) -> u64 {
    let mut conn = connect(url).await;
    let info: String = redis::cmd("INFO")
        .arg("stats")
        .query_async(&mut conn)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("total_commands_processed:"))
        .map(|n| n.trim().parse().unwrap())
        .unwrap()
}

/// `EVALSHA` calls so far: what a replica sends (commands inside a script are counted by
/// Redis too, in `total_commands_processed`).
async fn evalsha_calls(url: &str) -> u64 {
    let mut conn = connect(url).await;
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut conn)
        .await
        .unwrap();
    stats
        .lines()
        .find_map(|l| l.strip_prefix("cmdstat_evalsha:calls="))
        .and_then(|rest| rest.split(',').next())
        .map_or(0, |n| n.parse().unwrap())
}

/// Redis commands per proxied request once `TOKENS` tokens are tracked, while requests go to
/// random tokens among them for 10 s (flush every `sync_interval` = 1 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run by hand"]
async fn redis_commands_per_request_at_steady_state() {
    const TOKENS: usize = 100_000;
    let Some(server) = Server::start().await else {
        return;
    };
    let (url, prefix, clock) = (server.url(), unique_prefix(), Clock::new());
    let mut c = config(common::upstream().await, &url, &prefix);
    c.state.sync_interval = Duration::from_secs(1);
    c.timeout.idle = Duration::from_secs(3600);
    let gw = gateway_on(c, &clock).await;
    assert!(connected(&gw).await);
    let tokens: Vec<String> = (0..TOKENS).map(|i| format!("steady-{i}")).collect();
    for chunk in tokens.chunks(64) {
        let calls = chunk.iter().map(|t| gw.get("/x", Some(t)));
        futures_util::future::join_all(calls).await;
    }
    // The warm-up's own flushes are done: nothing left to flush, and Redis idle for 1 s.
    let flushed = gw
        .eventually(Duration::from_secs(120), || async {
            gw.metric("idlegate_state_sync_lag_seconds").await == 0.0
        })
        .await;
    assert!(flushed, "the warm-up was flushed");
    loop {
        let before = commands_processed(&url).await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        if commands_processed(&url).await - before <= 2 {
            break;
        }
    }
    let before = commands_processed(&url).await;
    let scripts_before = evalsha_calls(&url).await;
    let (started, mut requests, mut n) = (Instant::now(), 0u64, 0x9e3779b97f4a7c15u64);
    while started.elapsed() < Duration::from_secs(10) {
        let calls = (0..64).map(|_| {
            n ^= n << 13;
            n ^= n >> 7;
            n ^= n << 17;
            gw.get("/x", Some(&tokens[(n % TOKENS as u64) as usize]))
        });
        let calls: Vec<_> = calls.collect();
        futures_util::future::join_all(calls).await;
        requests += 64;
    }
    let flushed = gw
        .eventually(Duration::from_secs(60), || async {
            gw.metric("idlegate_state_sync_lag_seconds").await == 0.0
        })
        .await;
    assert!(flushed, "the last touches were flushed");
    let commands = commands_processed(&url).await - before - 2;
    let scripts = evalsha_calls(&url).await - scripts_before;
    println!(
        "{TOKENS} tokens tracked, {requests} requests over 10 s to random ones: \
         {scripts} commands sent ({:.3} per request; each a flush script), \
         {commands} commands executed in Redis counting those inside the scripts ({:.3} per request)",
        scripts as f64 / requests as f64,
        commands as f64 / requests as f64
    );
    gw.running.stop().await.unwrap();
}
