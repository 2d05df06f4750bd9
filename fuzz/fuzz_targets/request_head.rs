//! The own HTTP/1.1 server's request heads: see idlegate::fuzzing::request_head.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| idlegate::fuzzing::request_head(data));
