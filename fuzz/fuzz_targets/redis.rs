//! Redis payloads (stored values, pub/sub messages, script and lookup replies as RESP): see idlegate::fuzzing::redis.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| idlegate::fuzzing::redis(data));
