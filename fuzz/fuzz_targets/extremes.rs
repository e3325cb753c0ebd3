//! Every registered adapter's `verify` and `parse` on its accepted samples with one value
//! replaced by an extreme date or integer: a value of the body (a JSON string or number, a
//! form value) or of a header (timestamps, ids), picked by the fuzzer's bytes, becomes a date
//! at or past the ends of years 0000..=9999 with any offset, an integer at or past the ends of
//! 32 and 64 bits, a float at the ends of f64, or a number made of the fuzzer's own bits.

#![no_main]

use bytes::Bytes;
use callgate_adapters::kit::conformance::Suite;
use http::HeaderValue;
use libfuzzer_sys::fuzz_target;
use std::ops::Range;
use std::path::Path;
use std::sync::LazyLock;

static SUITES: LazyLock<Vec<Suite>> = LazyLock::new(|| {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../webhook-samples");
    Suite::load_all(&root)
        .into_iter()
        .map(|suite| suite.unwrap_or_else(|e| panic!("cannot load the samples: {e}")))
        .collect()
});

const EXTREMES: &[&str] = &[
    "9999-12-31T23:59:59-23:59",
    "9999-12-31T23:59:59.999999999-00:01",
    "0000-01-01T00:00:00+23:59",
    "0000-01-01T00:00:00.000000001+00:01",
    "10000-01-01T00:00:00Z",
    "-0001-12-31T23:59:59Z",
    "9999-12-31 23:59:59.999999-2359",
    "Fri, 31 Dec 9999 23:59:59 -2359",
    "Sat, 01 Jan 0000 00:00:00 +2359",
    "253402300799",
    "253402300800",
    "253402300800000",
    "253402300800000000",
    "-62167219200",
    "-62167219201",
    "-62167219200000",
    "2147483647",
    "2147483648",
    "-2147483649",
    "4294967295",
    "4294967296",
    "9007199254740993",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "340282366920938463463374607431768211456",
    "1e308",
    "-1e308",
    "1.7976931348623157e309",
    "5e-324",
    "-0",
    "-1",
    "NaN",
    "Infinity",
    "P99999999999999999999D",
    "PT18446744073709551615S",
];

fn byte(data: &[u8], i: usize) -> u8 {
    data.get(i).copied().unwrap_or(0)
}

fn word(data: &[u8], i: usize) -> u64 {
    let mut raw = [0u8; 8];
    for (k, b) in raw.iter_mut().enumerate() {
        *b = byte(data, i + k);
    }
    u64::from_le_bytes(raw)
}

/// Where values are: the insides of JSON strings, runs of number characters, form values.
fn values(text: &[u8]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        let c = text[i];
        if c == b'"' {
            let start = i + 1;
            let mut j = start;
            while j < text.len() && text[j] != b'"' {
                j += if text[j] == b'\\' { 2 } else { 1 };
            }
            out.push(start..j.min(text.len()));
            i = j + 1;
        } else if c == b'=' {
            let start = i + 1;
            let end = text[start..]
                .iter()
                .position(|b| *b == b'&')
                .map_or(text.len(), |p| start + p);
            out.push(start..end);
            i = end;
        } else if c.is_ascii_digit() || c == b'-' {
            let start = i;
            while i < text.len() && (text[i].is_ascii_digit() || b"-+.eE".contains(&text[i])) {
                i += 1;
            }
            out.push(start..i);
        } else {
            i += 1;
        }
    }
    out
}

fn replaced(text: &[u8], at: Range<usize>, with: &[u8]) -> Vec<u8> {
    let mut out = text[..at.start].to_vec();
    out.extend_from_slice(with);
    out.extend_from_slice(&text[at.end..]);
    out
}

fuzz_target!(|data: &[u8]| {
    let Some(suite) = SUITES.get(usize::from(byte(data, 0)) % SUITES.len().max(1)) else {
        return;
    };
    let Some(base) = suite
        .accepted
        .get(usize::from(byte(data, 1)) % suite.accepted.len().max(1))
    else {
        return;
    };
    let n = word(data, 4);
    let extreme = match byte(data, 3) % 4 {
        0 => (n as i64).to_string(),
        1 => format!("{}", f64::from_bits(n)),
        2 => n.to_string(),
        _ => EXTREMES[usize::from(byte(data, 12)) % EXTREMES.len()].to_owned(),
    };
    let mut req = base.request.clone();
    let which = usize::from(byte(data, 2));
    let in_body = values(&req.body);
    let headers: Vec<_> = req.headers.keys().cloned().collect();
    if which < in_body.len() || headers.is_empty() {
        let Some(at) = in_body.get(which % in_body.len().max(1)).cloned() else {
            return;
        };
        req.body = Bytes::from(replaced(&req.body, at, extreme.as_bytes()));
    } else {
        let name = &headers[(which - in_body.len()) % headers.len()];
        let Some(value) = req.headers.get(name).map(|v| v.as_bytes().to_vec()) else {
            return;
        };
        let spans = values(&value);
        let new = match spans.get(usize::from(byte(data, 13)) % spans.len().max(1)) {
            Some(at) => replaced(&value, at.clone(), extreme.as_bytes()),
            None => extreme.clone().into_bytes(),
        };
        if let Ok(v) = HeaderValue::from_bytes(&new) {
            req.headers.insert(name.clone(), v);
        }
    }
    suite.exercise_request(&req);
});
