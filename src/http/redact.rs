//! Messages for JSON bodies that do not decode, which never repeat a value of the input.
//!
//! serde's messages quote what they refuse (`invalid type: string "the-token", expected a
//! map`, `invalid value: integer `123456`, expected u32`, `unknown variant `x``), and any
//! field may carry a secret (a connection's `secrets`, a subscription's `secret`, or a secret
//! sent where another field belongs). So a body that fails to decode is decoded once more,
//! from its parsed [`Value`], by a deserializer whose error type names only the kind of what
//! it found (a string, an integer) and where (`secrets.auth_token`).

use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, Unexpected, Visitor};
use serde_json::Value;
use std::fmt;

/// Why `value` does not decode as `T`, without any value of it; `None` when it does.
pub(super) fn reason<T: de::DeserializeOwned>(value: Value) -> Option<String> {
    T::deserialize(Node(value)).err().map(|e| e.to_string())
}

/// A decoding error: a message made of the input's shape and the expected type only.
#[derive(Debug)]
pub(super) struct Redacted {
    path: Vec<String>,
    message: String,
}

impl Redacted {
    fn at(mut self, step: String) -> Self {
        self.path.push(step);
        self
    }
}

impl fmt::Display for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.path.is_empty() {
            let steps: Vec<&str> = self.path.iter().rev().map(String::as_str).collect();
            write!(f, "{}: ", steps.join("."))?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for Redacted {}

/// What was found, by kind only.
fn kind(unexpected: &Unexpected<'_>) -> String {
    match unexpected {
        Unexpected::Bool(_) => "a boolean".into(),
        Unexpected::Unsigned(_) | Unexpected::Signed(_) => "an integer".into(),
        Unexpected::Float(_) => "a number".into(),
        Unexpected::Char(_) => "a character".into(),
        Unexpected::Str(_) => "a string".into(),
        Unexpected::Bytes(_) => "bytes".into(),
        Unexpected::Seq => "an array".into(),
        Unexpected::Map => "an object".into(),
        Unexpected::Unit => "null".into(),
        // The others carry no value of the input.
        other => other.to_string(),
    }
}

/// A key as a step of a path: shown when it reads as a field name, else by its place.
fn step(key: &str) -> String {
    let named = !key.is_empty()
        && key.len() <= 64
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
    if named {
        key.to_owned()
    } else {
        "(key)".to_owned()
    }
}

impl de::Error for Redacted {
    /// Messages of callgate's own decoders (none repeats a secret).
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self {
            path: Vec::new(),
            message: msg.to_string(),
        }
    }

    fn invalid_type(unexpected: Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        Self::custom(format_args!(
            "invalid type: {}, expected {expected}",
            kind(&unexpected)
        ))
    }

    fn invalid_value(unexpected: Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        Self::custom(format_args!(
            "invalid value: {}, expected {expected}",
            kind(&unexpected)
        ))
    }

    fn unknown_variant(_variant: &str, expected: &'static [&'static str]) -> Self {
        Self::custom(format_args!(
            "unknown value, expected one of: {}",
            expected.join(", ")
        ))
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        Self::custom(format_args!(
            "unknown field {}, expected one of: {}",
            step(field),
            expected.join(", ")
        ))
    }
}

/// A parsed JSON value, deserialized with [`Redacted`] errors.
struct Node(Value);

impl<'de> IntoDeserializer<'de, Redacted> for Node {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> Deserializer<'de> for Node {
    type Error = Redacted;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Redacted> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    visitor.visit_u64(u)
                } else if let Some(i) = n.as_i64() {
                    visitor.visit_i64(i)
                } else {
                    visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                }
            }
            Value::String(s) => visitor.visit_string(s),
            Value::Array(items) => {
                let mut seq = Seq {
                    items: items.into_iter(),
                    index: 0,
                };
                let out = visitor.visit_seq(&mut seq)?;
                if !seq.items.as_slice().is_empty() {
                    let length = seq.index + seq.items.len();
                    return Err(de::Error::invalid_length(length, &"fewer elements"));
                }
                Ok(out)
            }
            Value::Object(map) => visitor.visit_map(Map {
                entries: map.into_iter(),
                value: None,
            }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Redacted> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Redacted> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Redacted> {
        match self.0 {
            Value::String(s) => visitor.visit_enum(s.into_deserializer()),
            Value::Object(map) if map.len() == 1 => {
                visitor.visit_enum(de::value::MapAccessDeserializer::new(Map {
                    entries: map.into_iter(),
                    value: None,
                }))
            }
            other => Err(de::Error::invalid_type(
                unexpected(&other),
                &"a string or an object of one key",
            )),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// The kind of a value, for a message.
fn unexpected(v: &Value) -> Unexpected<'static> {
    match v {
        Value::Null => Unexpected::Unit,
        Value::Bool(_) => Unexpected::Bool(false),
        Value::Number(_) => Unexpected::Float(0.0),
        Value::String(_) => Unexpected::Str(""),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

struct Seq {
    items: std::vec::IntoIter<Value>,
    index: usize,
}

impl<'de> de::SeqAccess<'de> for Seq {
    type Error = Redacted;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Redacted> {
        let Some(item) = self.items.next() else {
            return Ok(None);
        };
        let index = self.index;
        self.index += 1;
        seed.deserialize(Node(item))
            .map(Some)
            .map_err(|e| e.at(index.to_string()))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct Map {
    entries: serde_json::map::IntoIter,
    /// The value of the key just read, and the key's step in a path.
    value: Option<(String, Value)>,
}

impl<'de> de::MapAccess<'de> for Map {
    type Error = Redacted;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Redacted> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some((step(&key), value));
        // A key's error (an unknown field) is the map's: its path is the map's.
        seed.deserialize(Node(Value::String(key))).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Redacted> {
        let Some((at, value)) = self.value.take() else {
            return Err(de::Error::custom("a value without its key"));
        };
        seed.deserialize(Node(value)).map_err(|e| e.at(at))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        secret: Option<String>,
        count: Option<u32>,
        mode: Option<Mode>,
        tags: Option<Vec<String>>,
        inner: Option<std::collections::BTreeMap<String, String>>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Mode {
        Strict,
    }

    #[test]
    fn no_message_repeats_a_value_and_each_names_where() {
        for (body, place) in [
            (
                json!({"secret": 98765432123_u64}),
                "secret: invalid type: an integer",
            ),
            (json!({"secret": true}), "secret: invalid type: a boolean"),
            (json!({"secret": 1.5e9}), "secret: invalid type: a number"),
            (
                json!({"count": 98765432123_u64}),
                "count: invalid value: an integer",
            ),
            (
                json!({"count": "98765432123"}),
                "count: invalid type: a string",
            ),
            (
                json!({"mode": "98765432123"}),
                "mode: unknown value, expected one of: strict",
            ),
            (
                json!({"tags": ["a", 98765432123_u64]}),
                "tags.1: invalid type: an integer",
            ),
            (
                json!({"inner": {"k": 98765432123_u64}}),
                "inner.k: invalid type: an integer",
            ),
            (json!({"98765432123": 1}), "unknown field 98765432123"),
            (json!({"x 98765432123 y": 1}), "unknown field (key)"),
            (
                json!("98765432123"),
                "invalid type: a string, expected struct Body",
            ),
        ] {
            let message = reason::<Body>(body.clone()).unwrap();
            assert!(message.starts_with(place), "{body}: {message}");
            if !place.contains("98765432123") {
                assert!(!message.contains("98765432123"), "{body}: {message}");
            }
        }
        assert!(
            reason::<Body>(
                json!({"secret": "s", "count": 3, "mode": "strict", "tags": [], "inner": {}})
            )
            .is_none()
        );
    }
}
