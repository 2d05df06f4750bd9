//! Snapshot format, atomic rotation and fallback rules.

use super::*;
use crate::store::snapshot_format::V1_HEADER_LEN;
use crate::store::{Check, RevokeReason, Status};
use crate::token::TokenKey;

type State = (Vec<TrackedRecord>, Vec<RevokedRecord>);

const T0: UnixMs = 1_700_000_000_000;
const IDLE: u64 = 60_000;

fn timing() -> Timing {
    Timing::simple(IDLE, None, true, 86_400_000)
}

fn key(n: u32) -> TokenKey {
    let mut k = [0u8; 16];
    k[..4].copy_from_slice(&n.to_le_bytes());
    k[8..12].copy_from_slice(&n.wrapping_mul(2_654_435_761).to_le_bytes());
    TokenKey(k)
}

fn sample_store() -> Store {
    let s = Store::new(1_000_000, 1000, T0);
    let t = timing();
    s.track(&key(1), T0, Some((T0 + 3_600_000) / 1000), &t);
    s.track(&key(2), T0 + 7, None, &t);
    s.check(&key(2), T0 + 1234, &t, true);
    s.revoke(&key(3), RevokeReason::Admin, T0, &t);
    s
}

fn sorted(mut state: State) -> State {
    state.0.sort_by_key(|r| r.key);
    state.1.sort_by_key(|r| r.key);
    state
}

#[test]
fn round_trip_restores_tracked_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state").join("snap.bin");
    let a = sample_store();
    assert_eq!(write_snapshot(&path, &a).unwrap(), 3);
    let b = Store::new(1_000_000, 1000, T0 + 2000);
    let report = load_snapshot(&path, &b, T0 + 2000, &timing()).unwrap();
    assert_eq!(report.source.as_deref(), Some(path.as_path()));
    assert_eq!((report.tracked, report.revoked), (2, 1));
    assert_eq!(sorted(a.export()), sorted(b.export()));
    assert_eq!(
        b.check(&key(3), T0 + 2000, &timing(), true),
        Check::Revoked(RevokeReason::Admin)
    );
}

#[test]
fn snapshot_dir_is_created_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("new");
    write_snapshot(&sub.join("snap.bin"), &sample_store()).unwrap();
    let mode = fs::metadata(&sub).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
}

#[test]
fn missing_files_mean_an_empty_start() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::new(10, 1000, T0);
    let report = load_snapshot(&dir.path().join("snap.bin"), &s, T0, &timing()).unwrap();
    assert_eq!(report, LoadReport::default());
}

#[test]
fn second_write_keeps_previous_generation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.bin");
    let s = sample_store();
    write_snapshot(&path, &s).unwrap();
    let first = fs::read(&path).unwrap();
    s.track(&key(4), T0 + 5, None, &timing());
    write_snapshot(&path, &s).unwrap();
    assert_eq!(fs::read(previous_path(&path)).unwrap(), first);
    assert_ne!(fs::read(&path).unwrap(), first);
}

#[test]
fn truncated_newest_falls_back_to_previous() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.bin");
    let s = sample_store();
    write_snapshot(&path, &s).unwrap();
    s.track(&key(4), T0 + 5, None, &timing());
    write_snapshot(&path, &s).unwrap();
    let newest = fs::read(&path).unwrap();
    fs::write(&path, &newest[..newest.len() - 10]).unwrap();
    let b = Store::new(1_000_000, 1000, T0);
    let report = load_snapshot(&path, &b, T0 + 10, &timing()).unwrap();
    assert_eq!(report.source, Some(previous_path(&path)));
    assert!(report.fallback_warning.unwrap().contains("snap.bin"));
    assert_eq!(report.tracked, 2);
}

#[test]
fn flipped_byte_fails_the_checksum() {
    let mut bytes = encode(
        &[],
        &[RevokedRecord {
            key: key(1),
            reason: RevokeReason::Admin,
            until_ms: 5,
            subject: None,
        }],
        &[],
    );
    bytes[V1_HEADER_LEN + 3] ^= 1;
    assert_eq!(decode(&bytes).unwrap_err(), "checksum mismatch");
    assert!(decode(b"IDLGSNAP").is_err());
    assert!(decode(&[0u8; 100]).unwrap_err().contains("magic"));
}

#[test]
fn both_corrupt_refuses_start_naming_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.bin");
    fs::write(&path, b"garbage").unwrap();
    fs::write(
        previous_path(&path),
        b"IDLGSNAP but not really a snapshot at all, no",
    )
    .unwrap();
    let s = Store::new(10, 1000, T0);
    let err = load_snapshot(&path, &s, T0, &timing()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, SnapshotError::Unreadable { .. }));
    assert!(msg.contains(&path.display().to_string()));
    assert!(msg.contains(&previous_path(&path).display().to_string()));
    assert!(msg.contains("move"));
    assert!(msg.contains("revoked tokens then become valid again"));
}

#[test]
fn corrupt_newest_without_previous_refuses_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.bin");
    fs::write(&path, b"garbage").unwrap();
    let s = Store::new(10, 1000, T0);
    let err = load_snapshot(&path, &s, T0, &timing()).unwrap_err();
    assert!(err.to_string().contains(&path.display().to_string()));
}

#[test]
fn tokens_idle_while_down_expire_on_the_next_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.bin");
    write_snapshot(&path, &sample_store()).unwrap();
    let later = T0 + 10 * IDLE;
    let b = Store::new(1_000_000, 1000, later);
    load_snapshot(&path, &b, later, &timing()).unwrap();
    let revs = b.expire_due(later, &timing());
    assert_eq!(revs.len(), 2);
    assert!(matches!(
        b.status(&key(1), later, &timing()),
        Status::Revoked { .. }
    ));
}

#[test]
#[ignore = "1M tokens: run with --ignored (slow in debug builds)"]
fn million_tokens_write_and_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.bin");
    let s = Store::new(2_000_000, 1000, T0);
    for i in 0..1_000_000 {
        s.track(&key(i), T0, None, &timing());
    }
    assert_eq!(write_snapshot(&path, &s).unwrap(), 1_000_000);
    let b = Store::new(2_000_000, 1000, T0);
    let report = load_snapshot(&path, &b, T0 + 1, &timing()).unwrap();
    assert_eq!(report.tracked, 1_000_000);
    assert_eq!(b.tracked_len(), 1_000_000);
}

/// Tokens 1, 2 and 3 without a trial reset, listed and waiting, and reset at T0 + 5 s.
fn trial_records() -> Vec<TrackedRecord> {
    [None, Some(0), Some(T0 + 5_000)]
        .into_iter()
        .enumerate()
        .map(|(n, trial_last_ms)| TrackedRecord {
            key: key(n as u32 + 1),
            last_activity_ms: T0 + 9_000,
            first_seen_ms: T0,
            trial_last_ms,
            ..TrackedRecord::default()
        })
        .collect()
}

#[test]
fn version_3_keeps_no_trial_waiting_and_the_last_trial_reset_apart() {
    let tracked = trial_records();
    let bytes = encode(&tracked, &[], &[]);
    assert_eq!(bytes[8..12], 3u32.to_le_bytes());
    assert_eq!(decode(&bytes).unwrap().tracked, tracked);
}

#[test]
fn a_restart_keeps_each_tokens_last_trial_reset() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.bin");
    let a = Store::new(1_000, 1000, T0);
    a.set_trial(true, T0);
    a.import(&trial_records(), &[], T0 + 9_000, &timing());
    write_snapshot(&path, &a).unwrap();
    // The trial starts afresh at the restart; each token keeps its own reset all the same.
    let b = Store::new(1_000, 1000, T0 + 20_000);
    b.set_trial(true, T0 + 20_000);
    load_snapshot(&path, &b, T0 + 20_000, &timing()).unwrap();
    let trial = |s: &Store| {
        sorted(s.export())
            .0
            .iter()
            .map(|r| r.trial_last_ms)
            .collect()
    };
    let kept: Vec<_> = trial(&b);
    assert_eq!(kept, trial(&a));
    // Token 1 had no reset: its trial timer starts from its last activity, as tracking does.
    assert_eq!(kept, [Some(T0 + 9_000), Some(0), Some(T0 + 5_000)]);
}

/// A version 2 file (before the trial list): token 1, no identity, no revoked token.
fn version_2_file() -> Vec<u8> {
    let mut out = b"IDLGSNAP".to_vec();
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&1u64.to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.push(0);
    out.extend_from_slice(&key(1).0);
    for v in [T0 + 500, T0, 0, 0] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    out.push(0);
    let checksum = blake3::hash(&out);
    out.extend_from_slice(checksum.as_bytes());
    out
}

#[test]
fn a_version_2_file_still_loads_its_tokens_timed_from_their_last_activity() {
    let contents = decode(&version_2_file()).unwrap();
    let expected = TrackedRecord {
        key: key(1),
        last_activity_ms: T0 + 500,
        first_seen_ms: T0,
        ..TrackedRecord::default()
    };
    assert_eq!(contents.tracked, [expected]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.bin");
    fs::write(&path, version_2_file()).unwrap();
    let s = Store::new(1_000, 1000, T0);
    s.set_trial(true, T0 + 1_000);
    load_snapshot(&path, &s, T0 + 1_000, &timing()).unwrap();
    assert_eq!(s.export().0[0].trial_last_ms, Some(T0 + 500));
}
