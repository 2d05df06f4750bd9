//! Token extraction (every source kind) and keying: see idlegate::fuzzing::tokens.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| idlegate::fuzzing::tokens(data));
