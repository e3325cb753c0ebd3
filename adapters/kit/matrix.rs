//! The provider matrix in `adapters/README.md`, generated from each registered adapter's
//! `ProviderInfo`, `delete_recording`, `lookup_call` and `list_recordings`. It sits between [`START`] and [`END`]; the test
//! below fails when it is out of date, and `UPDATE_MATRIX=1 cargo test -p callgate-adapters
//! matrix` rewrites it.

use crate::kit::adapter::{
    ConfigError, ConnectionOptions, Fresh, HttpRequestSpec, Maturity, RecordingRef,
};
use crate::kit::{Adapter, LookupTarget, SecretSet};

/// The line before the matrix.
pub const START: &str = "<!-- provider-matrix:start: generated from each adapter's ProviderInfo; UPDATE_MATRIX=1 cargo test -p callgate-adapters matrix rewrites it -->";
/// The line after it.
pub const END: &str = "<!-- provider-matrix:end -->";

/// The matrix of `adapters`, one row per adapter in registry order, with a header.
pub fn render(adapters: &[&dyn Adapter]) -> String {
    let mut out = String::from(
        "| provider | maturity | verification | secrets | options | events | recording deletion | lost webhooks | legs | forwarding | agent identity |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for adapter in adapters {
        let info = adapter.info();
        let maturity = match info.maturity {
            Maturity::Stable => "stable",
            Maturity::Experimental => "experimental",
        };
        let mut verification = info.verification.to_owned();
        if !info.signs_body {
            verification.push_str("; the body is not signed");
        }
        if let Some(t) = info.timestamp_tolerance_secs {
            verification.push_str(&format!("; timestamp within {t} s"));
        }
        let names = |names: &[&str]| {
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut secrets = names(info.webhook_secrets);
        if !info.optional_webhook_secrets.is_empty() {
            secrets.push_str(&format!(
                "; optional: {}",
                names(info.optional_webhook_secrets)
            ));
        }
        if !info.api_secrets.is_empty() {
            secrets.push_str(&format!("; API: {}", names(info.api_secrets)));
        }
        let options = info
            .option_specs()
            .map(|o| {
                let required = if o.required { " (required)" } else { "" };
                format!("`{}`{required}", o.name)
            })
            .collect::<Vec<_>>()
            .join(", ");
        let events = info
            .emits
            .iter()
            .map(|t| format!("{t:?}").to_ascii_lowercase())
            .collect::<Vec<_>>()
            .join(", ");
        out.push_str(&format!(
            "| [{}]({}) `{}` | {maturity} | {verification} | {secrets} | {options} | {events} | {} | {} | {} | {} | {} |\n",
            info.display_name,
            info.docs_url,
            info.id,
            deletion(*adapter),
            lookups(*adapter),
            info.legs,
            info.forwarding,
            info.agent_identity,
        ));
    }
    out
}

/// The call a matrix lookup asks about: placeholders for the call's id, its customer's leg
/// and that leg's lookup handle.
const PLACEHOLDER_TARGET: LookupTarget<'static> = LookupTarget {
    call_id: "{call_id}",
    leg_id: "{leg_id}",
    handle: Some("{lookup_handle}"),
};

/// What the adapter asks about a call whose webhooks may be lost: its own lookup and
/// listing requests, made with placeholders, or what happens without them.
fn lookups(adapter: &dyn Adapter) -> String {
    let call = described(adapter, |a, s, o| {
        a.lookup_call(&PLACEHOLDER_TARGET, s, o, &FRESH)
    });
    let recordings = described(adapter, |a, s, o| {
        a.list_recordings("{call_id}", s, o, &FRESH)
    });
    match (call, recordings) {
        (None, None) => "none: ended after the maximum call duration".to_owned(),
        (None, Some(list)) => {
            format!("list: {list}; no call lookup: ended after the maximum call duration")
        }
        (Some(call), None) => format!("lookup: {call}; recordings not listed"),
        (Some(call), Some(list)) => format!("lookup: {call}; list: {list}"),
    }
}

/// The moment the matrix's example requests are described at.
const FRESH: Fresh = Fresh {
    now: time::OffsetDateTime::UNIX_EPOCH,
    nonce: [0; 16],
};

type Describe = fn(
    &dyn Adapter,
    &SecretSet,
    &ConnectionOptions,
) -> Result<Option<HttpRequestSpec>, ConfigError>;

/// A request the adapter describes with placeholders for every secret and the options it
/// asks for, as `` `GET url` ``; `None` when it describes none. A secret the placeholder
/// cannot stand for (a private key that signs the request) gets a generated RSA key, the
/// one structured secret the kit knows.
fn described(adapter: &dyn Adapter, describe: Describe) -> Option<String> {
    let info = adapter.info();
    let placeholder = |name: &str| format!("{{{name}}}");
    let mut values: Vec<(&str, String)> =
        info.secret_names().map(|n| (n, placeholder(n))).collect();
    let mut options = ConnectionOptions::new();
    loop {
        let secrets = SecretSet::from_pairs(values.iter().map(|(n, v)| (*n, v.as_str())));
        match describe(adapter, &secrets, &options) {
            Ok(Some(spec)) => {
                return Some(format!("`{} {}`", spec.method, percent_decoded(&spec.url)));
            }
            Ok(None) => return None,
            Err(ConfigError::MissingOption(name)) if !options.contains_key(name) => {
                options.insert(name.to_owned(), placeholder(name));
            }
            Err(ConfigError::InvalidSecret(name))
                if values
                    .iter()
                    .any(|(n, v)| *n == name && *v == placeholder(n)) =>
            {
                let key = crate::kit::rsa::RsaKey::generate_pem().unwrap_or_default();
                for (n, v) in &mut values {
                    if *n == name {
                        *v = key.clone();
                    }
                }
            }
            Err(e) => return Some(format!("needs a connection setting: {e}")),
        }
    }
}

/// The adapter's own delete request, made with placeholders for the secrets, the options it
/// asks for and the ids: `DELETE https://api.example.com/{account_sid}/{recording_id}`.
fn deletion(adapter: &dyn Adapter) -> String {
    let info = adapter.info();
    let placeholder = |name: &str| format!("{{{name}}}");
    let values: Vec<(&str, String)> = info.secret_names().map(|n| (n, placeholder(n))).collect();
    let secrets = SecretSet::from_pairs(values.iter().map(|(n, v)| (*n, v.as_str())));
    let rec = RecordingRef {
        provider_call_id: placeholder("call_id"),
        recording_id: placeholder("recording_id"),
    };
    let mut options = ConnectionOptions::new();
    loop {
        match adapter.delete_recording(&rec, &secrets, &options) {
            Ok(Some(spec)) => return format!("`{} {}`", spec.method, percent_decoded(&spec.url)),
            Ok(None) => return "none: marked discarded only".to_owned(),
            Err(ConfigError::MissingOption(name)) if !options.contains_key(name) => {
                options.insert(name.to_owned(), placeholder(name));
            }
            Err(e) => return format!("needs a connection setting: {e}"),
        }
    }
}

/// `%XX` sequences decoded, for reading (the placeholders were percent-encoded as ids).
fn percent_decoded(url: &str) -> String {
    let bytes = url.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The text between the markers (the table), or `None` when a marker is missing.
pub fn section(readme: &str) -> Option<&str> {
    let start = readme.find(START)? + START.len();
    let end = start + readme[start..].find(END)?;
    Some(readme[start..end].trim_matches('\n'))
}

/// `readme` with `table` between the markers.
pub fn with_section(readme: &str, table: &str) -> Option<String> {
    let start = readme.find(START)? + START.len();
    let end = start + readme[start..].find(END)?;
    Some(format!(
        "{}\n{}\n{}",
        &readme[..start],
        table.trim_end_matches('\n'),
        &readme[end..]
    ))
}

/// The provider ids of a matrix's rows, in order.
pub fn ids(table: &str) -> Vec<String> {
    table
        .lines()
        .filter(|l| l.starts_with("| ["))
        .filter_map(|l| l.split('`').nth(1).map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readme_path() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")
    }

    /// `adapters/README.md` shows the matrix of the registry as it is. `UPDATE_MATRIX=1`
    /// rewrites it (review the diff).
    #[test]
    #[allow(clippy::disallowed_methods)] // a test's switch comes from the environment
    fn the_readme_matrix_is_current() {
        let path = readme_path();
        let readme = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
        let table = render(crate::ADAPTERS);
        let Some(current) = section(&readme) else {
            panic!("adapters/README.md has no matrix markers:\n{START}\n{END}")
        };
        if current == table.trim_end_matches('\n') {
            return;
        }
        if std::env::var("UPDATE_MATRIX").as_deref() == Ok("1") {
            let updated = with_section(&readme, &table).unwrap_or_else(|| panic!("no markers"));
            std::fs::write(&path, updated).unwrap_or_else(|e| panic!("{e}"));
            return;
        }
        panic!(
            "the provider matrix in adapters/README.md is out of date; UPDATE_MATRIX=1 cargo test -p callgate-adapters matrix rewrites it to:\n{table}"
        );
    }

    #[test]
    fn the_matrix_reads_the_adapters() {
        let table = render(crate::ADAPTERS);
        assert_eq!(
            ids(&table),
            crate::ADAPTERS
                .iter()
                .map(|a| a.info().id)
                .collect::<Vec<_>>()
        );
        assert_eq!(
            deletion(&crate::scaffold_template::Acme),
            "none: marked discarded only"
        );
        let twilio = table.lines().find(|l| l.contains("`twilio`"));
        assert_eq!(
            twilio,
            Some(
                "| [Twilio](https://www.twilio.com/docs/usage/webhooks/webhooks-security) `twilio` | stable | HMAC-SHA1 of the URL and form parameters (JSON: `bodySHA256`), `X-Twilio-Signature`; HMAC-SHA256 under the SharedKey when `X-Twilio-Webhooks-Signature-Settings` names it | `auth_token`; optional: `shared_key`; API: `account_sid` | `api_base_url` | call, recording, unmapped | `DELETE https://api.twilio.com/2010-04-01/Accounts/{account_sid}/Recordings/{recording_id}.json` | lookup: `GET https://api.twilio.com/2010-04-01/Accounts/{account_sid}/Calls/{call_id}.json`; list: `GET https://api.twilio.com/2010-04-01/Accounts/{account_sid}/Recordings.json?CallSid={call_id}&PageSize=1000` | `ParentCallSid` (the parent call); `Direction` `outbound-dial` marks an agent's leg | `ForwardedFrom` | `To` of an `outbound-dial` child leg |"
            )
        );
        let signalwire = table.lines().find(|l| l.contains("`signalwire`")).unwrap();
        assert!(
            signalwire.contains("| `space_url` (required), `api_base_url` |"),
            "{signalwire}"
        );
    }

    /// `ProviderInfo::lookups` says what the adapter's own requests do: a declaration the
    /// code does not back (or the reverse) fails here.
    #[test]
    fn lookups_are_declared_as_described() {
        for adapter in crate::ADAPTERS
            .iter()
            .copied()
            .chain([&crate::scaffold_template::Acme as &dyn Adapter])
        {
            let info = adapter.info();
            let call = described(adapter, |a, s, o| {
                a.lookup_call(&PLACEHOLDER_TARGET, s, o, &FRESH)
            });
            let list = described(adapter, |a, s, o| {
                a.list_recordings("{call_id}", s, o, &FRESH)
            });
            assert_eq!(call.is_some(), info.lookups.call(), "{}: lookup", info.id);
            assert_eq!(
                list.is_some(),
                info.lookups.recordings(),
                "{}: list",
                info.id
            );
        }
        assert_eq!(
            lookups(&crate::scaffold_template::Acme),
            "none: ended after the maximum call duration"
        );
    }

    #[test]
    fn the_section_is_found_and_replaced() {
        let readme = format!("# A\n\n{START}\nold\n{END}\n\nafter\n");
        assert_eq!(section(&readme), Some("old"));
        let new = with_section(&readme, "| [X](u) `x` | ... |\n");
        assert_eq!(
            new,
            Some(format!(
                "# A\n\n{START}\n| [X](u) `x` | ... |\n{END}\n\nafter\n"
            ))
        );
        assert_eq!(
            ids(section(new.as_deref().unwrap_or_default()).unwrap_or_default()),
            ["x"]
        );
        assert_eq!(section("no markers"), None);
        assert_eq!(with_section(&format!("{START} but no end"), "t"), None);
        assert_eq!(percent_decoded("a%7Bb%5Fc%7D%zz%"), "a{b_c}%zz%");
    }
}
