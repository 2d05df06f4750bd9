//! Catalog hot paths over the shipped Genesys Cloud catalog (3,280 operations): the admin
//! type-ahead and template matching as `idlegate har` uses it.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion};
use idlegate::catalog::Catalog;

fn shipped_catalog() -> Catalog {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/catalog/genesys-cloud-apis.json");
    match Catalog::load(&file) {
        Ok(catalog) => catalog,
        Err(e) => panic!("cannot load the shipped catalog: {e}"),
    }
}

/// Concrete paths mixing literal hits, parameter hits, deep paths and misses.
const REQUESTS: [(&str, &str); 8] = [
    ("GET", "/api/v2/users/me"),
    (
        "GET",
        "/api/v2/users/3b4c9d1e-0000-4000-8000-000000000001/presences/purecloud",
    ),
    (
        "PATCH",
        "/api/v2/users/3b4c9d1e-0000-4000-8000-000000000001/presences/purecloud",
    ),
    (
        "GET",
        "/api/v2/conversations/calls/c0ffee/participants/p1/communications/x1/wrapup",
    ),
    ("POST", "/api/v2/analytics/conversations/details/query"),
    (
        "GET",
        "/api/v2/notifications/channels?includechannels=token",
    ),
    ("GET", "/api/v2/no/such/route"),
    ("DELETE", "/api/v2/tokens/me"),
];

fn bench_search(c: &mut Criterion) {
    let catalog = shipped_catalog();
    c.bench_function("search \"get presence\" 20", |b| {
        b.iter(|| black_box(catalog.search(black_box("get presence"), 20)).len())
    });
    c.bench_function("search \"users\" 20", |b| {
        b.iter(|| black_box(catalog.search(black_box("users"), 20)).len())
    });
}

fn bench_match_path(c: &mut Criterion) {
    let catalog = shipped_catalog();
    c.bench_function("match_path x8 (mixed hits and a miss)", |b| {
        b.iter(|| {
            REQUESTS
                .iter()
                .filter(|(method, path)| {
                    catalog
                        .match_path(black_box(method), black_box(path))
                        .is_some()
                })
                .count()
        })
    });
}

criterion_group!(benches, bench_search, bench_match_path);
criterion_main!(benches);
