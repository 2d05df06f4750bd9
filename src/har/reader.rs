//! Streaming HAR reader: walks `{"log": {"entries": [ … ]}}` with serde visitors and hands each
//! entry to a callback as soon as it is parsed, so a recording is never held in memory.
//! Only the fields the analysis needs are kept; bodies and timings are skipped unread.
//!
//! Every field is read leniently (a wrong JSON type is remembered, not an error) so that one
//! odd entry becomes a counted skip instead of aborting the whole file. Only the fields the
//! analysis needs (time, method, URL, headers) can make an entry a skip; whatever an exporter
//! writes elsewhere (private `_` fields, null or missing `response`, odd `timings` …) is drained.

use std::io::{BufReader, Read};

use serde::de::DeserializeSeed;

use super::entry::{HarEntry, Skipped};
use super::error::HarError;
use super::input::without_bom;
use super::walk::{KeyedVisitor, Sink};

/// Reads a HAR document from `input`, calling `on_entry` once per element of `log.entries`,
/// in file order. Returns the number of entries seen. A UTF-8 byte-order mark in front is
/// skipped. Not JSON, no `log.entries` array, or a syntax error inside an entry (naming it) is
/// an error.
pub fn read_har<R, F>(input: R, mut on_entry: F) -> Result<usize, HarError>
where
    R: Read,
    F: FnMut(Result<HarEntry, Skipped>),
{
    let mut sink = Sink {
        on_entry: &mut on_entry,
        seen: 0,
        found_entries: false,
        in_entries: false,
    };
    let input = without_bom(input)?;
    let mut de = serde_json::Deserializer::from_reader(BufReader::with_capacity(64 * 1024, input));
    let parsed = KeyedVisitor::root(&mut sink)
        .deserialize(&mut de)
        .and_then(|()| de.end());
    if let Err(e) = parsed {
        return Err(json_error(&e, sink.in_entries.then_some(sink.seen)));
    }
    if !sink.found_entries {
        return Err(HarError::NotHar {
            reason: "no `log.entries` array".to_owned(),
        });
    }
    Ok(sink.seen)
}

fn json_error(e: &serde_json::Error, entry: Option<usize>) -> HarError {
    if e.is_io() {
        return HarError::Read {
            message: e.to_string(),
        };
    }
    let message = e.to_string();
    match entry {
        Some(entry) => HarError::Malformed {
            entry,
            line: e.line(),
            column: e.column(),
            message,
        },
        None if e.is_eof() || e.is_syntax() => HarError::NotJson {
            line: e.line(),
            column: e.column(),
            message,
        },
        None => HarError::NotHar { reason: message },
    }
}

#[cfg(test)]
#[path = "reader_tests.rs"]
mod tests;
