//! A JWKS and a token checked against it: see idlegate::fuzzing::identity.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| idlegate::fuzzing::identity(data));
