//! Snapshot file bytes through the decoder and the store import: see idlegate::fuzzing::snapshot.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| idlegate::fuzzing::snapshot(data));
