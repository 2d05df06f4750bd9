//! Per-request work of the gateway (README, "Benchmarks": ≤ 2 µs): extract → key → check/touch → classify,
//! with 100,000 tracked tokens, every shipped default group switched on and 200 custom patterns.
//!
//! cargo bench --bench hot_path
//!
//! `evidence_off` / `evidence_on*`: the same request with live evidence off and on
//! (docs/reference.md, "Live evidence"; README, "Benchmarks").
//!
//! `identity_on` is the same request with `[identity]`: the token was verified on first sight
//! and carries a subject and a policy (README, "Benchmarks": within 10 % of identity off).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use http::{HeaderMap, HeaderValue, Method};
use idlegate::catalog::Catalog;
use idlegate::classify::{Classifier, Pattern};
use idlegate::config::builtin_groups;
use idlegate::evidence::{Evidence, EvidenceSettings};
use idlegate::store::{Check, NewIdent, PolicyTiming, Store, Timing};
use idlegate::token::{extract, Keyer, TokenKey, TokenSource};

const TOKENS: usize = 100_000;

/// A realistic ES256 JWT shape (~700 bytes).
fn jwt(i: usize) -> String {
    let header = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImRlbW8ta2V5LTEifQ";
    let payload = format!(
        "eyJzdWIiOiJ1c2VyLXtpfSIsImlzcyI6Imh0dHBzOi8vbG9naW4uZXhhbXBsZS5jb20iLCJhdWQiOiJhcGkiLCJleHAiOjE5OTk5OTk5OTksImlhdCI6MTcwMDAwMDAwMCwic2NvcGUiOiJ1c2VycyBwcmVzZW5jZSBjb252ZXJzYXRpb25zIGFuYWx5dGljcyByb3V0aW5nIG5vdGlmaWNhdGlvbnMiLCJvcmciOiJvcmctMTIzNDU2Nzg5MCIsImp0aSI6Ij{i:08}{}",
        "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODktXw".repeat(3)
    );
    format!("{header}.{payload}.MEUCIQDx7fL0yM2Y8p4q3yW0kzZ4oQ5m7n6b5v4c3x2z1a0s9dwIgR4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c2v3b4n5m6")
}

fn custom_patterns() -> Vec<Pattern> {
    (0..200)
        .map(|i| match i % 4 {
            0 => format!("GET /api/v2/custom{i}/items/{{itemId}}"),
            1 => format!("POST /api/v2/custom{i}/{{*rest}}"),
            2 => format!("* /api/v2/widgets/{i}/state"),
            _ => format!("GET /api/v2/reports{i}?mode=poll"),
        })
        .map(|p| Pattern::parse(&p).unwrap())
        .collect()
}

fn bench_hot_path(c: &mut Criterion) {
    let groups = builtin_groups();
    let enabled: Vec<String> = groups.iter().map(|g| g.id.clone()).collect();
    let classifier = Classifier::new(&groups, &enabled, &custom_patterns(), true);
    let keyer = Keyer::from_secret(b"bench");
    let sources = vec![TokenSource::Authorization];
    let timing = Timing::simple(30 * 60_000, None, true, 86_400_000);
    let now = 1_800_000_000_000u64;
    let store = Store::new(10_000_000, 1000, now);
    let tokens: Vec<String> = (0..TOKENS).map(jwt).collect();
    for t in &tokens {
        store.track(&keyer.key(t), now, None, &timing);
    }
    let requests: Vec<(HeaderMap, Method, &str)> = tokens
        .iter()
        .take(1024)
        .enumerate()
        .map(|(i, t)| {
            let mut h = HeaderMap::new();
            h.insert(
                "authorization",
                HeaderValue::from_str(&format!("Bearer {t}")).unwrap(),
            );
            h.insert("host", HeaderValue::from_static("api.example.com"));
            h.insert(
                "user-agent",
                HeaderValue::from_static("Mozilla/5.0 agent-desktop"),
            );
            let (m, p) = match i % 3 {
                0 => (
                    Method::GET,
                    "/api/v2/users/3f2a6c1e-8d1b-4c3e-9f5a-2b7d8e9f0a1b/presences/purecloud",
                ),
                1 => (
                    Method::POST,
                    "/api/v2/conversations/calls/1234/participants/5678",
                ),
                _ => (Method::GET, "/api/v2/routing/queues/abcd/members"),
            };
            (h, m, p)
        })
        .collect();

    let mut i = 0usize;
    c.bench_function("hot_path/extract+key+check+classify+touch", |b| {
        b.iter(|| {
            let (headers, method, path) = &requests[i & 1023];
            i = i.wrapping_add(1);
            let token = extract(&sources, headers, None).unwrap();
            let key = keyer.key(&token);
            let exclusion = classifier.classify(method, path, None, false);
            black_box(store.check(&key, now + 1000, &timing, exclusion.is_none()))
        })
    });

    // Identity on: every token tracked verified, with a subject (10 tokens each) and one of
    // four policies. A known token with the same bytes costs the rest of the token hashed
    // (key and signature hash in one pass) and a comparison inside the same check.
    let mut id_timing = timing;
    for (n, p) in id_timing.policies.iter_mut().take(3).enumerate() {
        *p = PolicyTiming {
            idle_ms: 60_000 * (n as u64 + 10),
            absolute_ms: None,
        };
    }
    let id_store = Store::new(10_000_000, 1000, now);
    for (n, t) in tokens.iter().enumerate() {
        let subject = format!("user-{}", n / 10);
        let ident = NewIdent {
            sig: keyer.signature_hash(t),
            subject: Some(&subject),
            policy: (n % 4) as u8,
        };
        id_store.track_with(&keyer.key(t), now, None, &id_timing, ident);
    }
    let mut i = 0usize;
    c.bench_function(
        "hot_path/identity_on/extract+key+check+classify+touch",
        |b| {
            b.iter(|| {
                let (headers, method, path) = &requests[i & 1023];
                i = i.wrapping_add(1);
                let token = extract(&sources, headers, None).unwrap();
                let (key, sig) = keyer.key_and_signature_hash(&token);
                let exclusion = classifier.classify(method, path, None, false);
                let touch = exclusion.is_none();
                let check = id_store.check_signed(&key, now + 1000, &id_timing, touch, sig);
                assert!(matches!(check, Check::Active { .. }));
                black_box(check)
            })
        },
    );

    bench_evidence(c, &requests, &classifier, &keyer, &store, &timing);

    let token = &tokens[7];
    c.bench_function("hot_path/key_only_700B_jwt", |b| {
        b.iter(|| black_box(keyer.key(black_box(token))))
    });
    c.bench_function("hot_path/classify_only", |b| {
        b.iter(|| {
            black_box(classifier.classify(
                &Method::GET,
                black_box("/api/v2/users/3f2a6c1e-8d1b-4c3e-9f5a-2b7d8e9f0a1b/presences/purecloud"),
                None,
                false,
            ))
        })
    });
}

/// The evidence step of a request, as the gateway takes it (`App::record_evidence`), or as
/// for a path not remembered.
struct Step<'a> {
    evidence: &'a Evidence,
    catalog: Option<&'a Catalog>,
    remembered: bool,
}

impl Step<'_> {
    fn run(&self, method: &Method, path: &str, label: Option<&str>, key: &TokenKey, now: u64) {
        let m = method.as_str();
        let catalog = self.catalog;
        let template = || Some(catalog?.match_path(m, path)?.path.as_str());
        let id = if self.remembered {
            self.evidence.intern_request((m, path), 1, label, template)
        } else {
            match template() {
                Some(t) => self.evidence.intern(m, t, label),
                None => self.evidence.intern_path(m, path, label),
            }
        };
        self.evidence.record(id, key, now + 1000);
    }
}

/// The same request with live evidence off (one branch) and on at the default settings
/// (1 token in 16 sampled), as the gateway does it (docs/reference.md, "Live evidence"):
/// `evidence_on` without a catalog, `evidence_on_catalog` with the shipped one, both finding
/// the template remembered by method and path; `evidence_on_first_sight` as for a path not
/// remembered (the catalog matched, or the path normalised, every time). Bar: on within 5 %
/// of off. `evidence_only` is the evidence step alone (with its classification).
fn bench_evidence(
    c: &mut Criterion,
    requests: &[(HeaderMap, Method, &str)],
    classifier: &Classifier,
    keyer: &Keyer,
    store: &Store,
    timing: &Timing,
) {
    let sources = vec![TokenSource::Authorization];
    let now = 1_800_000_000_000u64;
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/catalog/genesys-cloud-apis.json"
    );
    let catalog = Catalog::load(std::path::Path::new(file)).unwrap();
    let on = Evidence::new(EvidenceSettings::default()).unwrap();
    // (name, evidence, catalog, remembered)
    let variants: [(&str, Option<&Evidence>, Option<&Catalog>, bool); 5] = [
        ("evidence_off", None, None, true),
        ("evidence_on", Some(&on), None, true),
        ("evidence_on_catalog", Some(&on), Some(&catalog), true),
        ("evidence_on_first_sight", Some(&on), None, false),
        (
            "evidence_on_first_sight_catalog",
            Some(&on),
            Some(&catalog),
            false,
        ),
    ];
    let keys: Vec<_> = (requests.iter())
        .map(|(h, m, p)| (keyer.key(&extract(&sources, h, None).unwrap()), m, *p))
        .collect();
    let mut i = 0usize;
    let only = Step {
        evidence: &on,
        catalog: None,
        remembered: true,
    };
    c.bench_function("hot_path/evidence_only/classify+intern+record", |b| {
        b.iter(|| {
            let (key, method, path) = &keys[i & 1023];
            i = i.wrapping_add(1);
            let exclusion = classifier.classify(method, path, None, false);
            let labels = classifier.labels();
            let label = exclusion.and_then(|id| labels.get(id)).map(String::as_str);
            only.run(method, path, label, key, now);
        })
    });
    for (name, evidence, catalog, remembered) in variants {
        let evidence = evidence.map(|evidence| Step {
            evidence,
            catalog,
            remembered,
        });
        let mut i = 0usize;
        let name = format!("hot_path/{name}/extract+key+check+classify+touch");
        c.bench_function(&name, |b| {
            b.iter(|| {
                let (headers, method, path) = &requests[i & 1023];
                i = i.wrapping_add(1);
                let token = extract(&sources, headers, None).unwrap();
                let key = keyer.key(&token);
                let exclusion = classifier.classify(method, path, None, false);
                let check = store.check(&key, now + 1000, timing, exclusion.is_none());
                if let Some(evidence) = &evidence {
                    let labels = classifier.labels();
                    let label = exclusion.and_then(|id| labels.get(id)).map(String::as_str);
                    evidence.run(method, path, label, &key, now);
                }
                black_box(check)
            })
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(std::time::Duration::from_secs(1)).measurement_time(std::time::Duration::from_secs(3));
    targets = bench_hot_path
}
criterion_main!(benches);
