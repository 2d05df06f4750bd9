//! The streamed writer gives `encode`'s bytes for the same state, across chunk boundaries,
//! dead slots, identity and the revoked set; writes in bounded steps; leaves no scratch file.

use std::io::{self, Cursor, Write};

use super::*;
use crate::store::snapshot::write_snapshot;
use crate::store::snapshot_decode::decode;
use crate::store::snapshot_format::encode;
use crate::store::{NewIdent, RevokeReason, Timing, TrialStep};

const T0: u64 = 1_700_000_000_000;

fn timing() -> Timing {
    Timing::simple(60_000, None, true, 86_400_000)
}

/// Key `n` in shard `shard`; bytes 8..16 (the table's hash) differ for every n.
fn key(n: u32, shard: u8) -> TokenKey {
    let mut k = [0u8; 16];
    k[0] = shard;
    k[1..5].copy_from_slice(&n.to_le_bytes());
    k[8..16].copy_from_slice(
        &u64::from(n)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .to_le_bytes(),
    );
    TokenKey(k)
}

/// Three shards past one chunk each, the rest thin; identity on every 7th token (policy
/// ids past the names written among them), dead slots, and a revoked set past one chunk
/// with subjects.
fn busy_store() -> Store {
    let (s, t) = (Store::new(1_000_000, 1000, T0), timing());
    s.set_policy_names(vec!["a".into(), "x".repeat(41), "b".into()]);
    let subjects: Vec<String> = (0..50).map(|i| format!("user-{i}")).collect();
    for n in 0..9_000u32 {
        let k = key(n, (n % 3) as u8 + if n % 100 == 0 { 10 } else { 0 });
        let exp = (n % 2 == 0).then_some((T0 + 3_600_000) / 1000);
        if n % 7 == 0 {
            let new = NewIdent {
                sig: u64::from(n) + 1,
                subject: Some(&subjects[(n % 50) as usize]),
                policy: (n % 5) as u8,
            };
            s.track_with(&k, T0 + u64::from(n), exp, &t, new);
        } else {
            s.track(&k, T0 + u64::from(n), exp, &t);
        }
    }
    for n in (0..9_000u32).step_by(3) {
        let k = key(n, (n % 3) as u8 + if n % 100 == 0 { 10 } else { 0 });
        s.revoke(&k, RevokeReason::Admin, T0 + 10_000, &t);
    }
    for n in (1..9_000u32).step_by(11) {
        s.untrack(&key(n, (n % 3) as u8));
    }
    s
}

fn encoded(s: &Store) -> Vec<u8> {
    let (tracked, revoked, policies) = s.export_named();
    encode(&tracked, &revoked, &policies)
}

fn streamed(s: &Store) -> (Vec<u8>, Written) {
    let mut out = Vec::new();
    let written = write_to(s, Cursor::new(Vec::new()), &mut out).unwrap();
    (out, written)
}

#[test]
fn streamed_bytes_equal_encode_of_the_export() {
    let s = busy_store();
    let (bytes, written) = streamed(&s);
    assert!(
        bytes == encoded(&s),
        "the streamed bytes differ from encode's"
    );
    let contents = decode(&bytes).unwrap();
    assert_eq!(written.tracked as usize, contents.tracked.len());
    assert_eq!(written.revoked as usize, contents.revoked.len());
    assert_eq!(contents.tracked.len(), s.tracked_len());
    assert_eq!(contents.revoked.len(), 3_000);
    assert!(contents.tracked.iter().any(|r| r.subject.is_some()));
    assert!(contents.revoked.iter().any(|r| r.subject.is_some()));
}

#[test]
fn streamed_bytes_carry_each_tokens_trial_reset_as_encode_does() {
    let (s, t) = (busy_store(), timing());
    s.set_trial(true, T0 + 10_000);
    // Token 2 (last active at T0 + 2 ms) reaches its trial deadline and waits; token 4 resets.
    let waiting = key(2, 2);
    assert!(s
        .trial_step(&waiting, T0 + 70_000, &t, TrialStep::Kept(1))
        .is_some());
    let reset = key(4, 1);
    assert!(s
        .trial_step(&reset, T0 + 20_000, &t, TrialStep::Reset)
        .is_none());
    let (bytes, _) = streamed(&s);
    assert!(
        bytes == encoded(&s),
        "the streamed bytes differ from encode's"
    );
    let contents = decode(&bytes).unwrap();
    let trial = |k: TokenKey| {
        let r = contents.tracked.iter().find(|r| r.key == k).unwrap();
        r.trial_last_ms
    };
    assert_eq!(trial(waiting), Some(0));
    assert_eq!(trial(reset), Some(T0 + 20_000));
    assert_eq!(
        trial(key(5, 2)),
        Some(T0 + 5),
        "timed from its last activity"
    );
}

#[test]
fn an_empty_store_streams_the_same_bytes_as_encode() {
    let s = Store::new(10, 1000, T0);
    assert!(streamed(&s).0 == encoded(&s));
}

#[test]
fn the_file_written_is_encodes_bytes_and_no_scratch_file_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.bin");
    let s = busy_store();
    let n = write_snapshot(&path, &s).unwrap();
    write_snapshot(&path, &s).unwrap();
    assert_eq!(n, s.tracked_len() + s.revoked_len());
    assert!(
        std::fs::read(&path).unwrap() == encoded(&s),
        "the file is not encode's bytes"
    );
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["snap.bin", "snap.bin.1"]);
}

/// Records the largest single write it is handed; fails once `fail_after` bytes are in.
struct Probe {
    largest: usize,
    total: usize,
    fail_after: usize,
}

impl Write for Probe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.total >= self.fail_after {
            return Err(io::Error::other("disk full"));
        }
        self.largest = self.largest.max(buf.len());
        self.total += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn output_is_written_in_steps_of_at_most_one_buffer() {
    let s = busy_store();
    let mut probe = Probe {
        largest: 0,
        total: 0,
        fail_after: usize::MAX,
    };
    write_to(&s, Cursor::new(Vec::new()), &mut probe).unwrap();
    assert_eq!(probe.total, encoded(&s).len());
    assert!(probe.total > 4 * IO_BUF, "the state spans several buffers");
    assert!(probe.largest <= IO_BUF, "largest write {}", probe.largest);
}

#[test]
fn a_failing_output_is_an_error() {
    let s = busy_store();
    let mut probe = Probe {
        largest: 0,
        total: 0,
        fail_after: 100_000,
    };
    let err = write_to(&s, Cursor::new(Vec::new()), &mut probe).unwrap_err();
    assert_eq!(err.to_string(), "disk full");
}
