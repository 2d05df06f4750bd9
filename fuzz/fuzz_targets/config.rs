//! Config text through the loader `idlegate check` uses: see idlegate::fuzzing::config.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| idlegate::fuzzing::config(data));
