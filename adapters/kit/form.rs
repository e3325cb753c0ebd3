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
        Self {
            pairs: form_urlencoded::parse(body).collect(),
        }
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
