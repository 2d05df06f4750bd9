//! Walks `{"log": {"entries": [ … ]}}` with serde visitors, handing each entry to the sink as
//! soon as it is parsed. Any other shape is drained, leaving `found_entries` false, which the
//! caller reports as "not HAR".

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::entry::{skip, HarEntry, RawEntry, Skipped};
use super::lenient::{Obj, Val};

/// Where parsed entries go, and what the walk found.
pub(super) struct Sink<'a> {
    pub on_entry: &'a mut dyn FnMut(Result<HarEntry, Skipped>),
    pub seen: usize,
    pub found_entries: bool,
    pub in_entries: bool,
}

#[derive(Clone, Copy)]
enum Level {
    Root,
    Log,
}

/// Visits an object, descending into the value of `key`; any other shape is drained and
/// leaves `found_entries` false (reported as "not HAR" by the caller). It is its own seed:
/// the root walks into `log`, `log` into `entries`.
pub(super) struct KeyedVisitor<'s, 'a> {
    sink: &'s mut Sink<'a>,
    key: &'static str,
    level: Level,
}

impl<'s, 'a> KeyedVisitor<'s, 'a> {
    /// The document root: an object with `log`.
    pub(super) fn root(sink: &'s mut Sink<'a>) -> Self {
        KeyedVisitor {
            sink,
            key: "log",
            level: Level::Root,
        }
    }
}

impl<'de> DeserializeSeed<'de> for KeyedVisitor<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// A scalar where a map or a list was expected is passed over instead of failing the whole
/// read; what was not found is reported by the caller (a missing field or a counted skip).
macro_rules! ignore_scalars {
    () => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            Ok(())
        }
    };
}

impl<'de> Visitor<'de> for KeyedVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a HAR object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(k) = map.next_key::<String>()? {
            if k != self.key {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            match self.level {
                Level::Root => map.next_value_seed(KeyedVisitor {
                    sink: &mut *self.sink,
                    key: "entries",
                    level: Level::Log,
                })?,
                Level::Log => map.next_value_seed(EntriesSeed(&mut *self.sink))?,
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }

    ignore_scalars!();
}

struct EntriesSeed<'s, 'a>(&'s mut Sink<'a>);

impl<'de> DeserializeSeed<'de> for EntriesSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        // Not an array: drain it with IgnoredAny; `found_entries` stays false.
        d.deserialize_any(EntriesVisitor(self.0))
    }
}

struct EntriesVisitor<'s, 'a>(&'s mut Sink<'a>);

impl<'de> Visitor<'de> for EntriesVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of HAR entries")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let sink = self.0;
        sink.found_entries = true;
        sink.in_entries = true;
        loop {
            let Some(raw) = seq.next_element::<Obj<RawEntry>>()? else {
                break;
            };
            let index = sink.seen;
            sink.seen += 1;
            let result = match raw.0 {
                Val::Value(e) => e.into_entry(index),
                Val::Wrong(kind) => Err(skip(
                    index,
                    "entry",
                    format!("expected an object, found {kind}"),
                )),
            };
            (sink.on_entry)(result);
        }
        sink.in_entries = false;
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(())
    }
    ignore_scalars!();
}
