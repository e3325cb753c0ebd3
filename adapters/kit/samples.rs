//! Webhook samples: `webhook-samples/<provider>/*.http` files, read into requests.
//!
//! A `.http` file is, in order:
//! 1. optional lines starting with `#` (comments; blank lines among them are skipped). In a
//!    `reject-*` file, `# expect: <reason>` names the expected failure: a
//!    [`crate::kit::VerifyError::reason`] or [`crate::kit::ParseError::reason`] label;
//! 2. the request line `METHOD FULL_URL` (an `HTTP/1.1` third word is allowed and ignored);
//!    the URL is the public URL the provider signed, byte for byte;
//! 3. header lines `Name: value` (value trimmed), up to the first empty line;
//! 4. the body, byte-exact, except that exactly one final `\n` is removed if present (so
//!    editors may end the file with a newline; a body that really ends in `\n` needs two).
//!
//! Head lines may end in `\r\n`; the body keeps whatever bytes it has.
//!
//! Beside the files, `provider.toml` gives the fixture: `now` (RFC 3339), `[secrets]`,
//! optional `[previous_secrets]` (rotation) and `[options]`. [`check`] runs the checks.

pub mod check;

use crate::kit::adapter::{ConnectionOptions, FixedClock, InboundRequest};
use crate::kit::secrets::{Secret, SecretSet};
use crate::kit::{Adapter, dates};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// A sample could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SampleError(pub String);

fn err<T>(message: impl Into<String>) -> Result<T, SampleError> {
    Err(SampleError(message.into()))
}

/// One `.http` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSample {
    /// The leading comment lines, verbatim (each starts with `#`).
    pub comments: Vec<String>,
    pub method: Method,
    /// The public URL the provider signed, as written.
    pub url: String,
    /// `(name, value)` in file order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The next line of `input` (without `\n` and a trailing `\r`) and what follows it.
fn next_line(input: &[u8]) -> (&[u8], &[u8]) {
    let (line, rest) = match input.iter().position(|&b| b == b'\n') {
        Some(i) => (&input[..i], &input[i + 1..]),
        None => (input, &input[input.len()..]),
    };
    (line.strip_suffix(b"\r").unwrap_or(line), rest)
}

fn utf8(line: &[u8]) -> Result<&str, SampleError> {
    std::str::from_utf8(line)
        .map_err(|_| SampleError("the head of a sample must be UTF-8".to_owned()))
}

impl HttpSample {
    /// Reads the `.http` format described in the module documentation.
    pub fn parse(bytes: &[u8]) -> Result<Self, SampleError> {
        let mut rest = bytes;
        let mut comments = Vec::new();
        let request_line = loop {
            if rest.is_empty() {
                return err("no request line");
            }
            let (line, after) = next_line(rest);
            rest = after;
            let line = utf8(line)?;
            if line.starts_with('#') {
                comments.push(line.to_owned());
            } else if !line.trim().is_empty() {
                break line;
            }
        };
        let mut words = request_line.split_whitespace();
        let (Some(method), Some(url)) = (words.next(), words.next()) else {
            return err(format!("request line {request_line:?} is not `METHOD URL`"));
        };
        if words.next().is_some_and(|w| !w.starts_with("HTTP/")) || words.next().is_some() {
            return err(format!("request line {request_line:?} has extra words"));
        }
        let Ok(method) = Method::from_bytes(method.as_bytes()) else {
            return err(format!("bad method {method:?}"));
        };

        let mut headers = Vec::new();
        while !rest.is_empty() {
            let (line, after) = next_line(rest);
            rest = after;
            let line = utf8(line)?;
            if line.is_empty() {
                break;
            }
            let Some((name, value)) = line.split_once(':') else {
                return err(format!("header line {line:?} has no `:`"));
            };
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
        let body = rest.strip_suffix(b"\n").unwrap_or(rest).to_vec();
        Ok(Self {
            comments,
            method,
            url: url.to_owned(),
            headers,
            body,
        })
    }

    /// The failure a `reject-*` sample names in its `# expect: <reason>` line.
    pub fn expect(&self) -> Option<&str> {
        self.comments.iter().find_map(|c| {
            let rest = c.trim_start_matches('#').trim_start();
            rest.strip_prefix("expect:").map(str::trim)
        })
    }

    /// The file again, in the same format (`parse(render(s)) == s`): for tools that re-sign.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + 512);
        for c in &self.comments {
            out.extend_from_slice(c.as_bytes());
            out.push(b'\n');
        }
        out.extend_from_slice(format!("{} {}\n", self.method, self.url).as_bytes());
        for (name, value) in &self.headers {
            out.extend_from_slice(format!("{name}: {value}\n").as_bytes());
        }
        out.push(b'\n');
        out.extend_from_slice(&self.body);
        out.push(b'\n');
        out
    }

    /// The request as the service would hand it to an adapter.
    pub fn to_request(&self) -> Result<InboundRequest, SampleError> {
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) else {
                return err(format!("invalid header {name:?}"));
            };
            headers.append(n, v);
        }
        Ok(InboundRequest {
            method: self.method.clone(),
            public_url: self.url.clone(),
            headers,
            body: Bytes::from(self.body.clone()),
        })
    }
}

/// `provider.toml`: the fixed clock and the fake secrets a provider's samples are signed with.
#[derive(Debug, Clone)]
pub struct ProviderFixture {
    pub now: OffsetDateTime,
    /// What a connection holds: the secrets verification and the REST calls use.
    pub secrets: SecretSet,
    /// What `Adapter::sign` gets: `secrets` plus `[signing_secrets]`, the provider's side of
    /// an asymmetric scheme (a private key), which no connection ever holds.
    pub signing: SecretSet,
    pub options: ConnectionOptions,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FixtureFile {
    now: toml::Value,
    secrets: BTreeMap<String, String>,
    #[serde(default)]
    previous_secrets: Option<BTreeMap<String, String>>,
    #[serde(default)]
    signing_secrets: BTreeMap<String, String>,
    #[serde(default)]
    options: ConnectionOptions,
}

impl ProviderFixture {
    /// Reads `provider.toml` text. `now` may be a TOML date-time or an RFC 3339 string.
    pub fn parse(text: &str) -> Result<Self, SampleError> {
        let file: FixtureFile =
            toml::from_str(text).map_err(|e| SampleError(format!("provider.toml: {e}")))?;
        let now = match &file.now {
            toml::Value::String(s) => dates::rfc3339(s),
            toml::Value::Datetime(d) => dates::rfc3339(&d.to_string()),
            _ => None,
        };
        let Some(now) = now else {
            return err("provider.toml: `now` must be an RFC 3339 date-time with an offset");
        };
        let generation = |m: BTreeMap<String, String>| -> BTreeMap<String, Secret> {
            m.into_iter().map(|(k, v)| (k, Secret::new(v))).collect()
        };
        let mut signing_current = generation(file.secrets.clone());
        signing_current.extend(generation(file.signing_secrets));
        let previous = file.previous_secrets.map(generation);
        let secrets = SecretSet::new(generation(file.secrets), previous.clone());
        let signing = SecretSet::new(signing_current, previous);
        Ok(Self {
            now,
            secrets,
            signing,
            options: file.options,
        })
    }

    /// The clock the samples are checked at.
    pub fn clock(&self) -> FixedClock {
        FixedClock(self.now)
    }
}

/// What a sample file must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SampleKind {
    /// Verified and parsed into `X.expected.json`.
    Accepted,
    /// A `reject-*` file: refused with this reason label.
    Reject { expect: String },
}

/// A sample file with its provider and fixture, ready to check.
pub struct SampleCase {
    pub path: PathBuf,
    pub adapter: &'static dyn Adapter,
    pub fixture: ProviderFixture,
    pub sample: HttpSample,
}

impl fmt::Debug for SampleCase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SampleCase")
            .field("path", &self.path)
            .field("adapter", &self.adapter.info().id)
            .field("sample", &self.sample)
            .finish_non_exhaustive()
    }
}

fn read(path: &Path) -> Result<Vec<u8>, SampleError> {
    std::fs::read(path).map_err(|e| SampleError(format!("cannot read {}: {e}", path.display())))
}

impl SampleCase {
    /// Loads `webhook-samples/<provider>/<name>.http`: the provider is the registered adapter
    /// whose id is the folder name, the fixture is the folder's `provider.toml`.
    pub fn load(path: &Path) -> Result<Self, SampleError> {
        let folder = path.parent().unwrap_or_else(|| Path::new("."));
        let id = folder
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let Some(adapter) = crate::by_id(id) else {
            return err(format!(
                "folder {id:?} is not a registered provider (see adapters/lib.rs)"
            ));
        };
        Self::load_for(adapter, path)
    }

    /// Loads a sample for a given adapter, with the `provider.toml` of the sample's folder.
    pub fn load_for(adapter: &'static dyn Adapter, path: &Path) -> Result<Self, SampleError> {
        let folder = path.parent().unwrap_or_else(|| Path::new("."));
        let fixture_text = String::from_utf8(read(&folder.join("provider.toml"))?)
            .map_err(|_| SampleError("provider.toml is not UTF-8".to_owned()))?;
        let fixture = ProviderFixture::parse(&fixture_text)?;
        let sample = HttpSample::parse(&read(path)?)
            .map_err(|e| SampleError(format!("{}: {e}", path.display())))?;
        Ok(Self {
            path: path.to_owned(),
            adapter,
            fixture,
            sample,
        })
    }

    /// `reject-*` files must be refused; the others accepted.
    pub fn kind(&self) -> Result<SampleKind, SampleError> {
        let name = self
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        match (name.starts_with("reject-"), self.sample.expect()) {
            (true, Some(expect)) => Ok(SampleKind::Reject {
                expect: expect.to_owned(),
            }),
            (true, None) => err("a reject- sample needs a `# expect: <reason>` line"),
            (false, Some(_)) => err("`# expect:` is only for reject- samples (rename the file?)"),
            (false, None) => Ok(SampleKind::Accepted),
        }
    }

    /// `X.expected.json` beside `X.http`.
    pub fn expected_path(&self) -> PathBuf {
        self.path.with_extension("expected.json")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &[u8] = b"# a comment\n# expect: bad_signature\n\nPOST https://h.test/p?q=1 HTTP/1.1\r\nContent-Type: text/plain\nX-A:  b c \n\nline1\r\nline2\n\n";

    #[test]
    fn parses_the_format() {
        let s = HttpSample::parse(SAMPLE);
        let Ok(s) = s else { panic!("{s:?}") };
        assert_eq!(s.comments, ["# a comment", "# expect: bad_signature"]);
        assert_eq!(s.expect(), Some("bad_signature"));
        assert_eq!(s.method, Method::POST);
        assert_eq!(s.url, "https://h.test/p?q=1");
        assert_eq!(
            s.headers,
            [
                ("Content-Type".to_owned(), "text/plain".to_owned()),
                ("X-A".to_owned(), "b c".to_owned())
            ]
        );
        // Exactly one final newline is removed.
        assert_eq!(s.body, b"line1\r\nline2\n");
        assert_eq!(HttpSample::parse(&s.render()), Ok(s.clone()));
        let req = s.to_request();
        assert!(
            matches!(req, Ok(r) if r.header("x-a") == Some(b"b c".as_slice()) && r.body.len() == 13)
        );
    }

    #[test]
    fn body_without_final_newline_and_empty_body() {
        let s = HttpSample::parse(b"GET https://h/\n\nabc");
        assert_eq!(s.map(|s| s.body), Ok(b"abc".to_vec()));
        let s = HttpSample::parse(b"GET https://h/\nA: b\n");
        assert_eq!(s.map(|s| (s.headers.len(), s.body)), Ok((1, Vec::new())));
    }

    #[test]
    fn refuses_broken_heads() {
        for bad in [
            &b""[..],
            b"# only comments\n",
            b"POST\n\n",
            b"POST u v w\n",
            b"POST u\nNoColon\n\n",
            b"P()ST u\n",
        ] {
            assert!(
                HttpSample::parse(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        let s = HttpSample::parse(b"POST u\nBad Name: x\n\n").map(|s| s.to_request().map(|_| ()));
        assert!(matches!(s, Ok(Err(_))));
    }

    #[test]
    fn reads_the_fixture() {
        let f = ProviderFixture::parse(
            "now = 2026-11-23T18:06:00Z\n[secrets]\nauth_token = \"x\"\n[previous_secrets]\nauth_token = \"y\"\n",
        );
        let Ok(f) = f else { panic!("{f:?}") };
        assert_eq!(f.now, time::macros::datetime!(2026-11-23 18:06:00 UTC));
        assert_eq!(f.secrets.accepted("auth_token").count(), 2);
        let quoted = ProviderFixture::parse("now = \"2026-11-23T18:06:00+01:00\"\n[secrets]\n");
        assert_eq!(
            quoted.map(|f| f.now),
            Ok(time::macros::datetime!(2026-11-23 17:06:00 UTC))
        );
        assert!(ProviderFixture::parse("now = 2026-11-23\n[secrets]\n").is_err());
        assert!(
            ProviderFixture::parse("now = 2026-11-23T18:06:00Z\n[secrets]\n[other]\n").is_err()
        );
    }
}
