//! `request.headers` and `request.cookies`: HAR's array of `{"name", "value"}` objects, or an
//! object mapping names to values (IE11's F12 tools write cookies that way). An element without
//! a name and a value is dropped: one odd header must not hide the request.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::lenient::{map_fields, Obj, Scalar, Text, Val};

/// At most this many pairs are kept per field; the rest are read and dropped. HTTP servers
/// accept about a hundred request headers, so a real request never comes near it, and it
/// bounds what one entry can hold in memory.
pub(super) const MAX_PAIRS: usize = 1024;

/// Name/value pairs in file order. `null` reads as none; another JSON type is remembered, and
/// the caller decides whether the entry can do without the field.
pub(super) struct Pairs(pub Val<Vec<(String, String)>>);

/// One `{"name", "value"}` element; a value may be a number or a boolean (written as text),
/// other keys (`comment`, `httpOnly`, `_fromType` …) are ignored.
#[derive(Default)]
struct Pair {
    name: Option<Text>,
    value: Option<Scalar>,
}

map_fields!(Pair {
    "name" => name,
    "value" => value,
});

impl Pair {
    fn into_pair(self) -> Option<(String, String)> {
        match (self.name, self.value) {
            (Some(Text(Val::Value(n))), Some(Scalar(Val::Value(v)))) => Some((n, v)),
            _ => None,
        }
    }
}

struct PairsVisitor;

impl PairsVisitor {
    fn wrong(kind: &'static str) -> Pairs {
        Pairs(Val::Wrong(kind))
    }
}

impl<'de> Visitor<'de> for PairsVisitor {
    type Value = Pairs;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Pairs, A::Error> {
        let mut pairs = Vec::new();
        loop {
            if pairs.len() >= MAX_PAIRS {
                if seq.next_element::<IgnoredAny>()?.is_none() {
                    break;
                }
                continue;
            }
            let Some(Obj(item)) = seq.next_element::<Obj<Pair>>()? else {
                break;
            };
            if let Some(pair) = match item {
                Val::Value(p) => p.into_pair(),
                Val::Wrong(_) => None,
            } {
                pairs.push(pair);
            }
        }
        Ok(Pairs(Val::Value(pairs)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pairs, A::Error> {
        let mut pairs = Vec::new();
        while let Some(name) = map.next_key::<String>()? {
            if pairs.len() >= MAX_PAIRS {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            if let Scalar(Val::Value(value)) = map.next_value()? {
                pairs.push((name, value));
            }
        }
        Ok(Pairs(Val::Value(pairs)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Pairs, E> {
        Ok(Pairs(Val::Value(Vec::new())))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Pairs, E> {
        Ok(Self::wrong("a boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Pairs, E> {
        Ok(Self::wrong("a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Pairs, E> {
        Ok(Self::wrong("a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Pairs, E> {
        Ok(Self::wrong("a number"))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Pairs, E> {
        Ok(Self::wrong("a string"))
    }
}

impl<'de> Deserialize<'de> for Pairs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PairsVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Val<Vec<(String, String)>> {
        serde_json::from_str::<Pairs>(json)
            .expect("any JSON value reads")
            .0
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn har_arrays_keep_name_and_value_and_ignore_other_keys() {
        let got = read(
            r#"[{"name":"Authorization","value":"Bearer a","comment":null,"_fromType":"array"},
                {"name":"Content-Length","value":17},{"name":"DNT","value":true},
                {"name":1,"value":"x"},{"value":"no name"},{"name":"no value"},
                {"name":"n","value":null},"text",null,[]]"#,
        );
        let want = pairs(&[
            ("Authorization", "Bearer a"),
            ("Content-Length", "17"),
            ("DNT", "true"),
        ]);
        assert!(matches!(got, Val::Value(p) if p == want));
    }

    #[test]
    fn an_object_maps_names_to_values() {
        let got = read(r#"{"sid":"abc","n":42,"skip":null,"deep":{"a":[1]},"z":"last"}"#);
        let want = pairs(&[("sid", "abc"), ("n", "42"), ("z", "last")]);
        assert!(matches!(got, Val::Value(p) if p == want));
    }

    #[test]
    fn null_is_none_and_scalars_are_wrong() {
        assert!(matches!(read("null"), Val::Value(p) if p.is_empty()));
        for (json, kind) in [
            (r#""Cookie: a=b""#, "a string"),
            ("3", "a number"),
            ("false", "a boolean"),
        ] {
            assert!(matches!(read(json), Val::Wrong(k) if k == kind), "{json}");
        }
    }

    #[test]
    fn pairs_are_bounded_but_the_rest_is_read() {
        let many: Vec<String> = (0..MAX_PAIRS + 10)
            .map(|i| format!(r#"{{"name":"h{i}","value":"v"}}"#))
            .collect();
        let got = read(&format!("[{}]", many.join(",")));
        assert!(matches!(got, Val::Value(p) if p.len() == MAX_PAIRS));
        let map: Vec<String> = (0..MAX_PAIRS + 10)
            .map(|i| format!(r#""c{i}":"v""#))
            .collect();
        let got = read(&format!("{{{}}}", map.join(",")));
        assert!(matches!(got, Val::Value(p) if p.len() == MAX_PAIRS));
    }
}
