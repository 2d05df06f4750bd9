//! Any bytes fed to the HAR reader give entries, skips or an error — never a panic, and every
//! accepted entry is a well-formed HTTP request.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut accepted = 0usize;
    let mut skipped = 0usize;
    let result = idlegate::har::read_har(data, |entry| match entry {
        Ok(e) => {
            assert!(!e.path.is_empty());
            // Times must format back as RFC 3339.
            let _ = idlegate::clock::rfc3339(e.started_ms);
            accepted += 1;
        }
        Err(s) => {
            assert!(!s.field.is_empty());
            skipped += 1;
        }
    });
    if let Ok(seen) = result {
        assert_eq!(seen, accepted + skipped);
    }
});
