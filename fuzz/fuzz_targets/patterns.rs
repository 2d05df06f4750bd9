//! Exclusion patterns and the classifier: see idlegate::fuzzing::patterns for the input format and the invariants.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| idlegate::fuzzing::patterns(data));
