//! HAR bytes through the streaming reader and the analysis: see idlegate::fuzzing::har.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| idlegate::fuzzing::har(data));
