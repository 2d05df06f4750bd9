//! One audit event of a mass expiry formatted as a JSON log line (README, "Benchmarks"):
//! tracing-subscriber's JSON format against idlegate's own (`--log-format json`), both
//! writing to a sink through the same subscriber and filter.
//!
//! cargo bench --bench log_line

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use idlegate::cli::JsonLines;

/// The `audit` event of an inactivity revocation, as `app::effects` logs it.
fn audit_event(token_id: &str, at: &str) {
    let missing: Option<&str> = None;
    tracing::info!(
        target: "audit",
        event = "revocation",
        token_id = %token_id,
        reason = "inactivity",
        revoked_at = at,
        last_activity = Some(at),
        idle_seconds = Some(600u64),
        shadow = false,
        subject = missing,
        policy = missing,
        replica = "idlegate-7d9f8-x2k4q",
    );
}

fn bench(c: &mut Criterion) {
    let token_id = "5f2c9a1be07d43e8a6c1f0d2b9e84a7c".to_string();
    let at = "2026-12-07T21:00:00.123Z";
    let builder = || {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .with_writer(std::io::sink)
            .json()
            .flatten_event(true)
    };
    let mut group = c.benchmark_group("log_line");
    {
        let _on = tracing::subscriber::set_default(builder().finish());
        group.bench_function("tracing_subscriber_json", |b| {
            b.iter(|| audit_event(black_box(&token_id), at))
        });
    }
    {
        let ours = builder().event_format(JsonLines::new()).finish();
        let _on = tracing::subscriber::set_default(ours);
        group.bench_function("idlegate_json_lines", |b| {
            b.iter(|| audit_event(black_box(&token_id), at))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
