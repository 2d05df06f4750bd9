//! Live evidence on the request path allocates nothing: interning a known template (same
//! exclusion) and recording an unsampled token's request (src/evidence/mod.rs). A test binary
//! of its own, because it counts every allocation of the process.

use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

use idlegate::evidence::{Evidence, EvidenceSettings};
use idlegate::token::TokenKey;

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

/// 2026-01-01T00:00:00Z.
const T0: u64 = 1_767_225_600_000;

fn token(i: u64) -> TokenKey {
    let mut key = [0u8; 16];
    key.copy_from_slice(&blake3::hash(&i.to_le_bytes()).as_bytes()[..16]);
    TokenKey(key)
}

#[test]
fn interning_a_known_template_and_recording_an_unsampled_token_allocate_nothing() {
    let evidence = Evidence::new(EvidenceSettings::default()).unwrap();
    let settings = evidence.settings().clone();
    let unsampled = (0..).map(token).find(|t| !settings.samples(t)).unwrap();
    let template = "/api/v2/users/{userId}/presences/purecloud";
    evidence.intern("GET", template, None);
    evidence.intern("PUT", template, Some("presence"));
    let region = Region::new(GLOBAL);
    for i in 0..1_000 {
        let id = evidence.intern("GET", template, None);
        evidence.record(id, &unsampled, T0 + i * 1_000);
        let id = evidence.intern("PUT", template, Some("presence"));
        evidence.record(id, &unsampled, T0 + i * 1_000);
    }
    let change = region.change();
    assert_eq!(change.allocations + change.reallocations, 0, "{change:?}");
    a_known_template_of_a_raw_path_allocates_nothing_whatever_its_ids();
}

/// A path no catalog matches: its template is normalised on the stack, so that distinct paths
/// of a known template (other ids) allocate nothing either (docs/reference.md, "Live evidence").
/// Called from the test above: the count is the whole process's, and the test harness
/// allocates when another test ends.
fn a_known_template_of_a_raw_path_allocates_nothing_whatever_its_ids() {
    let evidence = Evidence::new(EvidenceSettings::default()).unwrap();
    let settings = evidence.settings().clone();
    let unsampled = (0..).map(token).find(|t| !settings.samples(t)).unwrap();
    let paths: Vec<String> = (0..1_000u64)
        .map(|i| format!("/api/v2/orders/{i}/lines/3f1c2a8e-1b2c-4d5e-8f90-{i:012x}/status"))
        .collect();
    evidence.intern_path("GET", &paths[0], Some("orders-poll"));
    let region = Region::new(GLOBAL);
    for (i, path) in paths.iter().enumerate() {
        let id = evidence.intern_path("GET", path, Some("orders-poll"));
        evidence.intern_request(("GET", path), 0, Some("orders-poll"), || None);
        evidence.record(id, &unsampled, T0 + i as u64 * 1_000);
    }
    let change = region.change();
    assert_eq!(change.allocations + change.reallocations, 0, "{change:?}");
    assert_eq!(evidence.templates(), 1);
}
