//! Lenient JSON field types: each accepts any JSON value, keeps it when it has the expected
//! type and otherwise drains it and remembers what it was. serde_json cannot resume after an
//! error, so a type mismatch inside one entry must not be an error.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A value of the expected type, or the JSON type found instead.
#[derive(Debug)]
pub(super) enum Val<T> {
    Value(T),
    Wrong(&'static str),
}

/// A JSON string.
pub(super) struct Text(pub Val<String>);
/// A JSON string, number or boolean, as text (`200`, `true`): exporters write header values
/// and status codes either way.
pub(super) struct Scalar(pub Val<String>);
/// A JSON object read field by field into `T`.
pub(super) struct Obj<T>(pub Val<T>);

/// A struct filled from an object's fields; unknown keys must be consumed with `IgnoredAny`.
pub(super) trait MapFields: Default {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error>;
}

/// Implements [`MapFields`] for a struct of `Option` fields: each listed JSON key fills its
/// field, every other key is drained unread.
macro_rules! map_fields {
    ($type:ty { $($key:literal => $field:ident),+ $(,)? }) => {
        impl $crate::har::lenient::MapFields for $type {
            fn field<'de, A: serde::de::MapAccess<'de>>(
                &mut self,
                key: &str,
                map: &mut A,
            ) -> Result<(), A::Error> {
                match key {
                    $($key => self.$field = Some(map.next_value()?),)+
                    _ => {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
                Ok(())
            }
        }
    };
}
pub(super) use map_fields;

fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// The `visit_*` methods that answer "wrong type" for every JSON kind not listed.
macro_rules! wrong {
    (bool) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Self::Value::wrong("a boolean"))
        }
    };
    (num) => {
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Self::Value::wrong("a number"))
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Self::Value::wrong("a number"))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Self::Value::wrong("a number"))
        }
    };
    (str) => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(Self::Value::wrong("a string"))
        }
    };
    (null) => {
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Self::Value::wrong("null"))
        }
    };
    (seq) => {
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            drain_seq(seq)?;
            Ok(Self::Value::wrong("an array"))
        }
    };
    (map) => {
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            drain_map(map)?;
            Ok(Self::Value::wrong("an object"))
        }
    };
    ($($kind:tt)+) => { $( wrong!($kind); )+ };
}

trait Wrong {
    fn wrong(kind: &'static str) -> Self;
}

impl Wrong for Text {
    fn wrong(kind: &'static str) -> Self {
        Text(Val::Wrong(kind))
    }
}
impl Wrong for Scalar {
    fn wrong(kind: &'static str) -> Self {
        Scalar(Val::Wrong(kind))
    }
}
impl<T> Wrong for Obj<T> {
    fn wrong(kind: &'static str) -> Self {
        Obj(Val::Wrong(kind))
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
        Ok(Text(Val::Value(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
        Ok(Text(Val::Value(v)))
    }
    wrong!(bool num null seq map);
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar(Val::Value(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
        Ok(Scalar(Val::Value(v)))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar(Val::Value(v.to_string())))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar(Val::Value(v.to_string())))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar(Val::Value(v.to_string())))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar(Val::Value(v.to_string())))
    }
    wrong!(null seq map);
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

struct ObjVisitor<T>(PhantomData<T>);

impl<'de, T: MapFields> Visitor<'de> for ObjVisitor<T> {
    type Value = Obj<T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Obj<T>, A::Error> {
        let mut value = T::default();
        while let Some(key) = map.next_key::<String>()? {
            value.field(&key, &mut map)?;
        }
        Ok(Obj(Val::Value(value)))
    }
    wrong!(bool num str null seq);
}

impl<'de, T: MapFields> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ObjVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Named {
        name: Option<Text>,
    }

    impl MapFields for Named {
        fn field<'de, A: MapAccess<'de>>(
            &mut self,
            key: &str,
            map: &mut A,
        ) -> Result<(), A::Error> {
            match key {
                "name" => self.name = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(())
        }
    }

    #[test]
    fn wrong_types_are_remembered_not_errors() {
        let list: Vec<Obj<Named>> =
            serde_json::from_str(r#"[{"name":"a","x":[1,{"y":2}]},{"name":7},3,{"name":null}]"#)
                .unwrap();
        let items: Vec<Val<Named>> = list.into_iter().map(|o| o.0).collect();
        assert_eq!(items.len(), 4);
        assert!(
            matches!(&items[0], Val::Value(Named { name: Some(Text(Val::Value(n))) }) if n == "a")
        );
        assert!(matches!(
            &items[1],
            Val::Value(Named {
                name: Some(Text(Val::Wrong("a number")))
            })
        ));
        assert!(matches!(&items[2], Val::Wrong("a number")));
        assert!(matches!(
            &items[3],
            Val::Value(Named {
                name: Some(Text(Val::Wrong("null")))
            })
        ));
    }

    #[test]
    fn containers_where_a_string_is_expected_are_drained() {
        let text: Text = serde_json::from_str(r#"{"a":[1,2,{"b":"c"}]}"#).unwrap();
        assert!(matches!(text.0, Val::Wrong("an object")));
        let obj: Obj<Named> = serde_json::from_str(r#"[[],{"name":"x"}]"#).unwrap();
        assert!(matches!(obj.0, Val::Wrong("an array")));
    }

    #[test]
    fn scalars_read_numbers_and_booleans_as_text() {
        for (json, text) in [
            (r#""x""#, "x"),
            ("200", "200"),
            ("-1", "-1"),
            ("1.5", "1.5"),
            ("true", "true"),
        ] {
            let v: Scalar = serde_json::from_str(json).unwrap();
            assert!(matches!(&v.0, Val::Value(t) if t == text), "{json}");
        }
        for (json, kind) in [
            ("null", "null"),
            ("[1]", "an array"),
            (r#"{"a":1}"#, "an object"),
        ] {
            let v: Scalar = serde_json::from_str(json).unwrap();
            assert!(matches!(v.0, Val::Wrong(k) if k == kind), "{json}");
        }
    }
}
