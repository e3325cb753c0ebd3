//! Form bodies and header access.

use std::borrow::Cow;

/// A decoded `application/x-www-form-urlencoded` body, in wire order, repeated keys kept.
/// Names and values borrow from the body unless they needed decoding (this runs for every
/// webhook).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form<'a> {
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Form<'a> {
    pub fn parse(body: &'a [u8]) -> Self {
        let pairs = body
            .split(|&b| b == b'&')
            .filter(|segment| !segment.is_empty())
            .map(|segment| {
                let (name, value) = match segment.iter().position(|&b| b == b'=') {
                    Some(i) => (&segment[..i], &segment[i + 1..]),
                    None => (segment, &segment[segment.len()..]),
                };
                (decode(name), decode(value))
            })
            .collect();
        Self { pairs }
    }

    pub fn pairs(&self) -> &[(Cow<'a, str>, Cow<'a, str>)] {
        &self.pairs
    }

    /// The first value of `name`, if present and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_ref())
            .filter(|v| !v.is_empty())
    }

    /// The first value of `name`, or a [`crate::kit::ParseError::MissingField`].
    pub fn require(&self, name: &'static str) -> Result<&str, crate::kit::ParseError> {
        self.get(name)
            .ok_or(crate::kit::ParseError::MissingField(name))
    }

    /// Parses the first value of `name` as an unsigned integer; absent is `None`, garbage is
    /// an error.
    pub fn get_u64(&self, name: &'static str) -> Result<Option<u64>, crate::kit::ParseError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => {
                v.trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| crate::kit::ParseError::InvalidField {
                        field: name,
                        reason: "not an unsigned integer",
                    })
            }
        }
    }
}

/// Decodes one name or value as the URL standard's `application/x-www-form-urlencoded`
/// parser does: `+` is a space, `%XX` a byte (a `%` not followed by two hex digits stays as
/// it is), then UTF-8 with U+FFFD for invalid sequences. Borrows when nothing needs decoding.
fn decode(raw: &[u8]) -> Cow<'_, str> {
    let Some(first) = raw.iter().position(|&b| b == b'+' || b == b'%') else {
        return utf8(Cow::Borrowed(raw));
    };
    let mut out = Vec::with_capacity(raw.len());
    out.extend_from_slice(&raw[..first]);
    let mut i = first;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let digit = |at: usize| raw.get(at).copied().and_then(hex);
                match (digit(i + 1), digit(i + 2)) {
                    (Some(hi), Some(lo)) => {
                        out.push(hi << 4 | lo);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            _ => {
                // Copy the run up to the next byte that needs decoding in one go.
                let run = raw[i..]
                    .iter()
                    .position(|&b| b == b'+' || b == b'%')
                    .map_or(raw.len(), |n| i + n);
                out.extend_from_slice(&raw[i..run]);
                i = run;
                continue;
            }
        }
        i += 1;
    }
    utf8(Cow::Owned(out))
}

/// UTF-8 text of decoded bytes, U+FFFD for invalid sequences; borrowed or moved when valid.
fn utf8(bytes: Cow<'_, [u8]>) -> Cow<'_, str> {
    match bytes {
        Cow::Borrowed(b) => match std::str::from_utf8(b) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(b),
        },
        Cow::Owned(v) => match String::from_utf8(v) {
            Ok(s) => Cow::Owned(s),
            Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
        },
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The query of a URL: what follows the first `?`, up to a `#` if any (empty when there is
/// none). Not decoded: feed it to [`Form::parse`] for the parameters.
pub fn url_query(url: &str) -> &str {
    let without_fragment = url.split('#').next().unwrap_or_default();
    without_fragment.split_once('?').map_or("", |(_, q)| q)
}

/// Lossy UTF-8 view of a header value, for logs and parsing.
pub fn header_str(value: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_repeated_keys_and_decodes() {
        let f = Form::parse(b"a=1&b=x+y&a=%2B1&c=");
        assert_eq!(f.pairs().len(), 4);
        assert_eq!(f.get("a"), Some("1"));
        assert_eq!(f.get("b"), Some("x y"));
        assert_eq!(f.get("c"), None);
        assert_eq!(f.pairs()[2].1, "+1");
    }

    #[test]
    fn percent_signs_without_two_hex_digits_stay() {
        let f = Form::parse(b"a=%&b=%4&c=%zz&d=%41%4a%4A&e=%E2%82%AC&f=%FF&=v&&g");
        let pairs: Vec<(&str, &str)> = f
            .pairs()
            .iter()
            .map(|(k, v)| (k.as_ref(), v.as_ref()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("a", "%"),
                ("b", "%4"),
                ("c", "%zz"),
                ("d", "AJJ"),
                ("e", "\u{20ac}"),
                ("f", "\u{fffd}"),
                ("", "v"),
                ("g", ""),
            ]
        );
    }

    proptest::proptest! {
        /// The same reading as the `form_urlencoded` crate (the URL standard's parser).
        #[test]
        fn reads_forms_as_the_url_standard_does(body in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::sample::select(b"&=+%aZ09\xe2\x82\xac\xff".to_vec()),
                proptest::num::u8::ANY,
            ],
            0..64,
        )) {
            let ours: Vec<(String, String)> = Form::parse(&body)
                .pairs()
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let reference: Vec<(String, String)> = form_urlencoded::parse(&body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            proptest::prop_assert_eq!(ours, reference);
        }
    }

    #[test]
    fn integers_are_checked() {
        let f = Form::parse(b"n=42&bad=x");
        assert_eq!(f.get_u64("n"), Ok(Some(42)));
        assert_eq!(f.get_u64("none"), Ok(None));
        assert!(f.get_u64("bad").is_err());
    }

    #[test]
    fn url_query_stops_at_the_fragment() {
        assert_eq!(url_query("https://h/p?a=1&b=2"), "a=1&b=2");
        assert_eq!(url_query("https://h/p?a=1#rc=2"), "a=1");
        assert_eq!(url_query("https://h/p#x?y"), "");
        assert_eq!(url_query("https://h/p"), "");
        assert_eq!(url_query("https://h/p?a=?b"), "a=?b");
    }
}
