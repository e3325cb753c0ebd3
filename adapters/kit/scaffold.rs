//! The scaffold behind `callgate adapter new <id>`: a new provider's files, made from the
//! template in `adapters/_template/`, and its line in the registry. Pure text in, text out:
//! the command line reads and writes the files.
//!
//! The template is a working adapter for a made-up provider, `acme`, compiled and tested with
//! this crate (`lib.rs` includes it in test builds), so what the scaffold writes builds and
//! passes its own unit tests. Each line that holds a guess says `FILL IN`; the skeleton sample
//! fails the sample test with those lines, and the tidy test refuses a registered provider
//! whose folders still have one.

use std::fmt;

/// The marker on every line of the template that needs the provider's real value.
pub const FILL_IN: &str = "FILL IN";

/// The template's provider id and type name, replaced in every file; in header names, the id
/// is written with `-` for `_` (`x-acme-signature`, `X-Acme-Signature`).
const TEMPLATE_ID: &str = "acme";
const TEMPLATE_TYPE: &str = "Acme";
const TEMPLATE_HEADER: &str = "x-acme-";
const TEMPLATE_HEADER_TITLE: &str = "X-Acme-";

/// A word with its first letter in upper case: `voice` → `Voice`.
pub fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// Each file of the template: its path from the repository root (`{id}` stands for the new
/// provider's id) and its text.
const TEMPLATE: &[(&str, &str)] = &[
    ("adapters/{id}/mod.rs", include_str!("../_template/mod.rs")),
    (
        "adapters/{id}/payload.rs",
        include_str!("../_template/payload.rs"),
    ),
    (
        "adapters/{id}/mapping.rs",
        include_str!("../_template/mapping.rs"),
    ),
    (
        "adapters/{id}/tests.rs",
        include_str!("../_template/tests.rs"),
    ),
    (
        "adapters/{id}/README.md",
        include_str!("../_template/README.md"),
    ),
    (
        "webhook-samples/{id}/provider.toml",
        include_str!("../_template/samples/provider.toml"),
    ),
    (
        "webhook-samples/{id}/call-ringing.http",
        include_str!("../_template/samples/call-ringing.http"),
    ),
    (
        "webhook-samples/{id}/reject-bad-signature.http",
        include_str!("../_template/samples/reject-bad-signature.http"),
    ),
];

/// Names a provider id cannot take: Rust keywords (it is a module name), and the crate's own
/// modules.
const RESERVED: &[&str] = &[
    "abstract",
    "as",
    "async",
    "await",
    "become",
    "box",
    "break",
    "const",
    "continue",
    "crate",
    "do",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "final",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "macro",
    "match",
    "mod",
    "move",
    "mut",
    "override",
    "priv",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "try",
    "type",
    "typeof",
    "union",
    "unsafe",
    "unsized",
    "use",
    "virtual",
    "where",
    "while",
    "yield",
    "kit",
    "scaffold_template",
];

/// Why a provider cannot be scaffolded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScaffoldError {
    #[error(
        "{0:?} cannot be a provider id: use 2 to 32 lowercase letters, digits and single `_`, starting with a letter (it is the URL segment, the module and the folder name), and no Rust keyword"
    )]
    InvalidId(String),
    #[error("{0:?} is already in the registry (adapters/lib.rs)")]
    AlreadyRegistered(String),
    #[error("adapters/lib.rs has no `providers! {{` list with one provider per line")]
    NoRegistry,
}

/// A provider to scaffold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProvider {
    /// The provider id: URL segment, module and folder name.
    pub id: String,
    /// The adapter's type name: the id in UpperCamelCase (`amazon_connect` → `AmazonConnect`).
    pub type_name: String,
}

/// One file to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFile {
    /// From the repository root, with `/` separators.
    pub path: String,
    pub text: String,
}

impl fmt::Display for NewProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}::{}", self.id, self.type_name)
    }
}

impl NewProvider {
    /// Checks the id and derives the type name.
    pub fn new(id: &str) -> Result<Self, ScaffoldError> {
        let valid = (2..=32).contains(&id.len())
            && id.starts_with(|c: char| c.is_ascii_lowercase())
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && !id.ends_with('_')
            && !id.contains("__")
            && !RESERVED.contains(&id);
        if !valid {
            return Err(ScaffoldError::InvalidId(id.to_owned()));
        }
        let type_name = id.split('_').map(capitalized).collect();
        Ok(Self {
            id: id.to_owned(),
            type_name,
        })
    }

    /// The provider's files: its folder under `adapters/` and its samples.
    pub fn files(&self) -> Vec<NewFile> {
        TEMPLATE
            .iter()
            .map(|(path, text)| NewFile {
                path: path.replace("{id}", &self.id),
                text: self.substitute(text),
            })
            .collect()
    }

    /// `text` with the template's type name and id replaced by this provider's, in one pass
    /// (so that a new name containing the template's is not replaced again).
    fn substitute(&self, text: &str) -> String {
        let header = format!("x-{}-", self.id.replace('_', "-"));
        let title: Vec<String> = self.id.split('_').map(capitalized).collect();
        let header_title = format!("X-{}-", title.join("-"));
        let replacements = [
            (TEMPLATE_HEADER, header.as_str()),
            (TEMPLATE_HEADER_TITLE, header_title.as_str()),
            (TEMPLATE_TYPE, self.type_name.as_str()),
            (TEMPLATE_ID, self.id.as_str()),
        ];
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        'text: while !rest.is_empty() {
            for (from, to) in replacements {
                if let Some(after) = rest.strip_prefix(from) {
                    out.push_str(to);
                    rest = after;
                    continue 'text;
                }
            }
            let mut chars = rest.chars();
            if let Some(c) = chars.next() {
                out.push(c);
            }
            rest = chars.as_str();
        }
        out
    }

    /// `lib_rs` with the provider's line added to `providers!`, in alphabetical order.
    pub fn register(&self, lib_rs: &str) -> Result<String, ScaffoldError> {
        const OPEN: &str = "providers! {";
        let open = lib_rs.find(OPEN).ok_or(ScaffoldError::NoRegistry)? + OPEN.len();
        let close = open + lib_rs[open..].find('}').ok_or(ScaffoldError::NoRegistry)?;
        let list = &lib_rs[open..close];
        let last_newline = list.rfind('\n').ok_or(ScaffoldError::NoRegistry)?;
        let mut at = None;
        let mut offset = open;
        for line in list.split_inclusive('\n') {
            if let Some((module, _)) = line.trim().split_once("::") {
                if module == self.id {
                    return Err(ScaffoldError::AlreadyRegistered(self.id.clone()));
                }
                if at.is_none() && module > self.id.as_str() {
                    at = Some(offset);
                }
            }
            offset += line.len();
        }
        let at = at.unwrap_or(open + last_newline + 1);
        Ok(format!("{}    {self},\n{}", &lib_rs[..at], &lib_rs[at..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kit::samples::check::{Refusal, process};
    use crate::kit::samples::{HttpSample, ProviderFixture};
    use crate::scaffold_template::Acme;

    #[test]
    fn ids_are_checked_and_named() {
        for (id, type_name) in [
            ("acme", "Acme"),
            ("amazon_connect", "AmazonConnect"),
            ("eight_x8", "EightX8"),
            ("v2", "V2"),
        ] {
            assert_eq!(
                NewProvider::new(id).map(|p| p.type_name),
                Ok(type_name.to_owned())
            );
        }
        for bad in [
            "",
            "a",
            "Acme",
            "8x8",
            "_acme",
            "acme_",
            "a__b",
            "ac-me",
            "ac me",
            "kit",
            "type",
            "self",
            "scaffold_template",
            "é",
            "abcdefghijklmnopqrstuvwxyzabcdefg",
        ] {
            assert_eq!(
                NewProvider::new(bad),
                Err(ScaffoldError::InvalidId(bad.to_owned())),
                "{bad:?}"
            );
        }
    }

    const LIB: &str = "pub mod kit;\n\n// One line per provider, alphabetical.\nproviders! {\n    bandwidth::Bandwidth,\n    twilio::Twilio,\n}\n\npub fn by_id() {}\n";

    fn registered(id: &str) -> Result<String, ScaffoldError> {
        NewProvider::new(id).and_then(|p| p.register(LIB))
    }

    #[test]
    fn the_registry_line_goes_in_alphabetical_order() {
        let lines = |text: String| -> Vec<String> {
            text.lines()
                .filter(|l| l.contains("::"))
                .map(|l| l.trim().to_owned())
                .collect()
        };
        assert_eq!(
            registered("acme").map(lines),
            Ok(vec![
                "acme::Acme,".to_owned(),
                "bandwidth::Bandwidth,".to_owned(),
                "twilio::Twilio,".to_owned()
            ])
        );
        assert_eq!(
            registered("plivo").map(lines),
            Ok(vec![
                "bandwidth::Bandwidth,".to_owned(),
                "plivo::Plivo,".to_owned(),
                "twilio::Twilio,".to_owned()
            ])
        );
        let last = registered("vonage");
        assert_eq!(
            last.as_deref()
                .map(|t| t.contains("    twilio::Twilio,\n    vonage::Vonage,\n}\n")),
            Ok(true)
        );
        assert_eq!(
            registered("twilio"),
            Err(ScaffoldError::AlreadyRegistered("twilio".to_owned()))
        );
        let provider = NewProvider::new("acme").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            provider.register("providers! { twilio::Twilio }"),
            Err(ScaffoldError::NoRegistry)
        );
        assert_eq!(
            provider.register("mod kit;"),
            Err(ScaffoldError::NoRegistry)
        );
    }

    #[test]
    fn the_crate_registry_takes_a_new_line() {
        let lib = include_str!("../lib.rs");
        let provider = NewProvider::new("zz_example").unwrap_or_else(|e| panic!("{e}"));
        let text = provider.register(lib).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(text.len(), lib.len() + "    zz_example::ZzExample,\n".len());
        assert!(text.contains("    zz_example::ZzExample,\n}"));
    }

    #[test]
    fn files_name_the_new_provider_only() {
        let provider = NewProvider::new("zed_voice").unwrap_or_else(|e| panic!("{e}"));
        let files = provider.files();
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "adapters/zed_voice/mod.rs",
                "adapters/zed_voice/payload.rs",
                "adapters/zed_voice/mapping.rs",
                "adapters/zed_voice/tests.rs",
                "adapters/zed_voice/README.md",
                "webhook-samples/zed_voice/provider.toml",
                "webhook-samples/zed_voice/call-ringing.http",
                "webhook-samples/zed_voice/reject-bad-signature.http",
            ]
        );
        for file in &files {
            assert!(
                !file.text.to_ascii_lowercase().contains(TEMPLATE_ID),
                "{} still names the template",
                file.path
            );
            assert!(
                file.text.contains(FILL_IN),
                "{} has nothing to fill in",
                file.path
            );
        }
        let bacme = NewProvider::new("bacme").unwrap_or_else(|e| panic!("{e}"));
        assert!(bacme.files()[0].text.contains("pub struct Bacme;\n"));
        let module = &files[0].text;
        assert!(module.contains("pub struct ZedVoice;"));
        assert!(module.contains("id: \"zed_voice\","));
        assert!(module.contains("const SIGNATURE_HEADER: &str = \"x-zed-voice-signature\";"));
        assert!(files[6].text.contains("/webhooks/zed_voice/"));
        assert!(files[6].text.contains("\nX-Zed-Voice-Signature: "));
    }

    /// The skeleton samples match the template's scheme: once their `FILL IN` lines are gone,
    /// the accepted one verifies and parses and the reject one is refused for its reason.
    #[test]
    fn the_skeleton_samples_fit_the_template() {
        let files = NewProvider::new(TEMPLATE_ID)
            .unwrap_or_else(|e| panic!("{e}"))
            .files();
        let fixture = ProviderFixture::parse(&files[5].text).unwrap_or_else(|e| panic!("{e}"));
        let request = |text: &str| {
            let sample = HttpSample::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
            sample.to_request().unwrap_or_else(|e| panic!("{e}"))
        };
        let accepted = process(&Acme, &fixture, &request(&files[6].text));
        assert!(
            accepted.is_ok_and(|p| p.events.len() == 1),
            "the skeleton sample does not verify and parse"
        );
        let refused = process(&Acme, &fixture, &request(&files[7].text));
        assert!(
            matches!(refused, Err(Refusal::Verify(ref e)) if e.reason() == "bad_signature"),
            "{refused:?}"
        );
    }

    /// Until its `FILL IN` lines are gone, a skeleton sample fails its test with those lines.
    #[test]
    fn a_skeleton_sample_fails_with_what_to_fill_in() {
        use crate::kit::samples::check::{ExpectedMode, run};
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("_template/samples");
        for name in ["call-ringing.http", "reject-bad-signature.http"] {
            let failure = run(&dir.join(name), ExpectedMode::Compare);
            let Err(failure) = failure else {
                panic!("{name} passed")
            };
            assert!(
                failure
                    .message
                    .starts_with("this is still the scaffold's skeleton sample")
                    && failure.message.contains("\n  # FILL IN: "),
                "{}",
                failure.message
            );
        }
        assert!(!dir.join("call-ringing.expected.json.new").exists());
    }
}
