//! Snapshot format version 2 and later: identity survives a restart, subjects and policy names are
//! written once, policies come back by name, version 1 files still load, damaged tables are
//! refused with the file named.

use std::sync::Arc;

use super::*;
use crate::store::snapshot_format::MAX_POLICY_NAME_LEN;
use crate::store::{
    NewIdent, PolicyTiming, RevokeReason, Status, Verified, MAX_POLICIES, MAX_SUBJECT_LEN,
};
use crate::token::TokenKey;

const T0: UnixMs = 1_700_000_000_000;
const MINUTE: u64 = 60_000;

/// Default idle 1 min; policy 1 idle 10 min; policy 2 idle 20 min.
fn timing() -> Timing {
    let mut t = Timing::simple(MINUTE, None, true, 86_400_000);
    t.policies[0] = PolicyTiming {
        idle_ms: 10 * MINUTE,
        absolute_ms: None,
    };
    t.policies[1] = PolicyTiming {
        idle_ms: 20 * MINUTE,
        absolute_ms: None,
    };
    t
}

fn key(n: u8) -> TokenKey {
    TokenKey([n; 16])
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn store_with(policies: &[&str]) -> Store {
    let s = Store::new(1_000, 1000, T0);
    s.set_policy_names(names(policies));
    s
}

fn ident(subject: &str, policy: u8, sig: u64) -> NewIdent<'_> {
    NewIdent {
        sig,
        subject: Some(subject),
        policy,
    }
}

/// alice: key 1 (policy "a"), key 2 (policy "b"), key 5 (revoked); bob: key 3 (default);
/// key 4 opaque.
fn identity_store() -> Store {
    let (s, t) = (store_with(&["a", "b"]), timing());
    s.track_with(&key(1), T0, None, &t, ident("alice", 1, 11));
    s.track_with(&key(2), T0, None, &t, ident("alice", 2, 22));
    s.track_with(&key(3), T0, None, &t, ident("bob", 0, 33));
    s.track(&key(4), T0, None, &t);
    s.track_with(&key(5), T0, None, &t, ident("alice", 1, 55));
    s.revoke(&key(5), RevokeReason::Admin, T0, &t);
    s
}

type State = (Vec<TrackedRecord>, Vec<RevokedRecord>);

fn sorted(mut state: State) -> State {
    state.0.sort_by_key(|r| r.key);
    state.1.sort_by_key(|r| r.key);
    state
}

/// The file written by `s`, loaded into a store whose live policies are `policies`.
fn restart(s: &Store, policies: &[&str]) -> Store {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.bin");
    write_snapshot(&path, s).unwrap();
    let b = store_with(policies);
    load_snapshot(&path, &b, T0 + 1, &timing()).unwrap();
    b
}

/// Replaces the checksum so that a deliberately damaged body reaches the decoder.
fn resealed(mut bytes: Vec<u8>) -> Vec<u8> {
    bytes.truncate(bytes.len() - 32);
    let checksum = blake3::hash(&bytes);
    bytes.extend_from_slice(checksum.as_bytes());
    bytes
}

#[test]
fn version_2_round_trip_keeps_subject_policy_and_signature() {
    let a = identity_store();
    let b = restart(&a, &["a", "b"]);
    assert_eq!(sorted(a.export()), sorted(b.export()));
    assert_eq!(b.verified(&key(1), 11), Verified::Same);
    assert_eq!(b.ident(&key(2), T0), (Some("alice".into()), 2));
    assert_eq!(b.ident(&key(5), T0 + 1).0.as_deref(), Some("alice"));
    let alice: Vec<_> = b.subject_tokens("alice", T0 + 1, &timing());
    assert_eq!(alice.len(), 3);
    assert_eq!(b.subjects_len(), 2);
}

#[test]
fn subjects_are_written_once_and_shared_by_their_records() {
    let (s, t) = (store_with(&[]), timing());
    let subject = "s".repeat(MAX_SUBJECT_LEN);
    for n in 0..100 {
        s.track_with(&key(n), T0, None, &t, ident(&subject, 0, 1));
    }
    let (tracked, revoked, policies) = s.export_named();
    let bytes = encode(&tracked, &revoked, &policies);
    let copies = bytes
        .windows(subject.len())
        .filter(|w| *w == subject.as_bytes())
        .count();
    assert_eq!(copies, 1);
    let contents = decode(&bytes).unwrap();
    let first = contents.tracked[0].subject.clone().unwrap();
    assert!(contents
        .tracked
        .iter()
        .all(|r| Arc::ptr_eq(r.subject.as_ref().unwrap(), &first)));
}

#[test]
fn a_restart_with_policies_reordered_keeps_each_tokens_policy_by_name() {
    let b = restart(&identity_store(), &["b", "a"]);
    assert_eq!(b.ident(&key(1), T0).1, 2, "\"a\" is now policy 2");
    assert_eq!(b.ident(&key(2), T0).1, 1, "\"b\" is now policy 1");
    assert_eq!(b.ident(&key(3), T0).1, 0);
    // And the deadlines follow: "a"'s token lives 20 min under the new order's timing.
    assert!(matches!(
        b.status(&key(1), T0, &timing()),
        Status::Active { deadline_ms, .. } if deadline_ms == T0 + 20 * MINUTE
    ));
}

#[test]
fn a_restart_without_a_policy_puts_its_tokens_under_the_default() {
    let b = restart(&identity_store(), &["b"]);
    assert_eq!(b.ident(&key(1), T0).1, 0, "\"a\" is gone");
    assert_eq!(b.ident(&key(2), T0).1, 1);
    assert_eq!(b.policy_counts()[..2], [3, 1]);
}

/// The version 1 layout: no tables, no identity fields.
fn version_1_file() -> Vec<u8> {
    let mut out = b"IDLGSNAP".to_vec();
    out.extend_from_slice(&1u32.to_le_bytes());
    out.extend_from_slice(&1u64.to_le_bytes());
    out.extend_from_slice(&1u64.to_le_bytes());
    out.extend_from_slice(&key(1).0);
    for v in [T0 + 500, T0, T0 + 3_600_000] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&key(2).0);
    out.push(2); // admin
    out.extend_from_slice(&(T0 + 86_400_000).to_le_bytes());
    let checksum = blake3::hash(&out);
    out.extend_from_slice(checksum.as_bytes());
    out
}

#[test]
fn a_version_1_file_still_loads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.bin");
    fs::write(&path, version_1_file()).unwrap();
    let b = store_with(&["a"]);
    let report = load_snapshot(&path, &b, T0 + 1, &timing()).unwrap();
    assert_eq!((report.tracked, report.revoked), (1, 1));
    let (tracked, revoked) = b.export();
    let expected = TrackedRecord {
        key: key(1),
        last_activity_ms: T0 + 500,
        first_seen_ms: T0,
        jwt_exp_ms: Some(T0 + 3_600_000),
        ..TrackedRecord::default()
    };
    assert_eq!(tracked, [expected]);
    assert_eq!((revoked[0].key, revoked[0].subject.clone()), (key(2), None));
    // Written again, it is version 3.
    write_snapshot(&path, &b).unwrap();
    assert_eq!(fs::read(&path).unwrap()[8..12], 3u32.to_le_bytes());
}

#[test]
fn a_subject_over_the_limit_in_a_damaged_file_is_refused_naming_the_file() {
    let (s, t) = (store_with(&[]), timing());
    s.track_with(
        &key(1),
        T0,
        None,
        &t,
        ident(&"x".repeat(MAX_SUBJECT_LEN), 0, 1),
    );
    let (tracked, revoked, policies) = s.export_named();
    let mut bytes = encode(&tracked, &revoked, &policies);
    // No policy names: the subjects table starts right after the 33-byte header.
    assert_eq!(bytes[33..35], (MAX_SUBJECT_LEN as u16).to_le_bytes());
    bytes[33..35].copy_from_slice(&(MAX_SUBJECT_LEN as u16 + 1).to_le_bytes());
    bytes.insert(35, b'x');
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.bin");
    fs::write(&path, resealed(bytes)).unwrap();
    let err = load_snapshot(&path, &store_with(&[]), T0, &t).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("a subject of 257 bytes, at most 256"), "{msg}");
}

#[test]
fn a_policy_names_table_beyond_its_limits_is_refused() {
    let bytes = encode(&[], &[], &names(&["a"]));
    let mut too_many = bytes.clone();
    too_many[32] = MAX_POLICIES as u8 + 1;
    let err = decode(&resealed(too_many)).unwrap_err();
    assert_eq!(err, "33 policy names, at most 32");
    let mut too_long = bytes;
    too_long[33] = MAX_POLICY_NAME_LEN as u8 + 1;
    let err = decode(&resealed(too_long)).unwrap_err();
    assert_eq!(err, "a policy name of 41 bytes, at most 40");
}

#[test]
fn references_outside_the_tables_are_refused() {
    let (s, t) = (identity_store(), timing());
    s.track(&key(9), T0, None, &t);
    let (tracked, revoked, policies) = s.export_named();
    let bytes = encode(&tracked, &revoked, &policies);
    // The last tracked record's policy id sits before its u64 trial reset; an id past the
    // names table is refused.
    let tracked_end = bytes.len() - 32 - revoked.len() * (16 + 1 + 8 + 4);
    let mut bad_policy = bytes.clone();
    bad_policy[tracked_end - 9] = 3;
    let err = decode(&resealed(bad_policy)).unwrap_err();
    assert!(
        err.contains("policy 3 is not in the policy names table"),
        "{err}"
    );
    let mut bad_subject = bytes;
    let at = bad_subject.len() - 32 - 4;
    bad_subject[at..at + 4].copy_from_slice(&7u32.to_le_bytes());
    let err = decode(&resealed(bad_subject)).unwrap_err();
    assert!(
        err.contains("subject 7 is not in the subjects table"),
        "{err}"
    );
}

#[test]
fn every_cut_of_a_file_is_an_error_never_a_panic() {
    let s = identity_store();
    let (tracked, revoked, policies) = s.export_named();
    let bytes = encode(&tracked, &revoked, &policies);
    for cut in 0..bytes.len() {
        let head = bytes[..cut].to_vec();
        assert!(decode(&head).is_err(), "cut at {cut}");
        if cut >= 32 {
            assert!(decode(&resealed(head)).is_err(), "resealed cut at {cut}");
        }
    }
}
