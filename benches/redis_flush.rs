//! Redis flush throughput: touched tokens written per second by one replica (one max() Lua
//! script per token, 512 per pipeline on one connection; on a cluster one command per token,
//! 512 at once). Needs a Redis at `IDLEGATE_BENCH_REDIS` (default redis://127.0.0.1:6379);
//! skips loudly without one. Against a private local cluster:
//! `bash benches/redis_cluster.sh cargo bench --bench redis_flush`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use idlegate::app::App;
use idlegate::clock::Clock;
use idlegate::config::{Backend, Config};
use idlegate::token::{Keyer, TokenKey};

const TOKENS: usize = 20_000;

fn redis_url() -> String {
    std::env::var("IDLEGATE_BENCH_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

fn prefix() -> String {
    let mut b = [0u8; 6];
    getrandom::getrandom(&mut b).expect("random bytes");
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("idlegate-bench-{hex}")
}

fn app(prefix: &str) -> Arc<App> {
    let mut config = Config::with_upstream("http://127.0.0.1:9".parse().expect("uri"));
    config.state.backend = Backend::Redis;
    config.state.redis_url = Some(redis_url());
    config.state.prefix = prefix.to_owned();
    // The bench calls flush itself; the flusher task must not race it.
    config.state.sync_interval = Duration::from_secs(3600);
    config.tokens.max_tracked = TOKENS * 2;
    App::new(config, Keyer::from_secret(b"bench"), Clock::new())
}

fn key(n: usize) -> TokenKey {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&(n as u64).to_le_bytes());
    k[8..].copy_from_slice(&(n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).to_le_bytes());
    TokenKey(k)
}

async fn delete_prefix(url: &str, prefix: &str) {
    let Ok(client) = redis::Client::open(url) else {
        return;
    };
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return;
    };
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut conn)
        .await
        .unwrap_or_default();
    for chunk in keys.chunks(1000) {
        let _: redis::RedisResult<()> = redis::cmd("DEL").arg(chunk).query_async(&mut conn).await;
    }
}

fn flush_throughput(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let prefix = prefix();
    let app = app(&prefix);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let task = rt.block_on(async {
        app.state().spawn(async {
            let _ = stop_rx.await;
        })
    });
    let Some(shared) = app.state().redis().cloned() else {
        return;
    };
    if !rt.block_on(shared.wait_up(Duration::from_secs(3))) {
        eprintln!("!!! SKIPPED redis_flush: no Redis at {} !!!", redis_url());
        return;
    }
    let timing = app.live().timing;
    let now = app.clock.now_ms();
    for n in 0..TOKENS {
        app.state().track(&key(n), now, None, &timing);
    }

    let mut group = c.benchmark_group("redis_flush");
    group.throughput(Throughput::Elements(TOKENS as u64));
    group.sample_size(10);
    let name = match redis_url().starts_with("redis+cluster://") {
        true => "touched_tokens_cluster",
        false => "touched_tokens",
    };
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let now = app.clock.now_ms();
                for n in 0..TOKENS {
                    shared.touched(&key(n), now);
                }
                let started = Instant::now();
                let stats = rt
                    .block_on(app.state().flush_to_redis())
                    .expect("redis backend");
                total += started.elapsed();
                assert_eq!(stats.touches, TOKENS, "every touched token written");
            }
            total
        })
    });
    group.finish();

    let _ = stop_tx.send(());
    if let Some(task) = task {
        let _ = rt.block_on(task);
    }
    rt.block_on(delete_prefix(&redis_url(), &prefix));
}

criterion_group!(benches, flush_throughput);
criterion_main!(benches);
