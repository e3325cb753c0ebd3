//! Tidy checks: the repository agrees with itself.

use callgate_adapters::kit::matrix;
use callgate_adapters::kit::scaffold::FILL_IN;
use std::collections::BTreeSet;
use std::path::Path;

mod sizes;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

/// The text of a call's arguments: from just after its `(` to its matching `)`.
fn call_arguments(text: &str) -> &str {
    let mut depth = 1;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &text[..i];
                }
            }
            _ => {}
        }
    }
    text
}

/// The (method, path) pairs the router serves, read from the `.route("path", get(..).post(..))`
/// calls in `src/http`. The web console's pages (`src/http/console/`) are HTML for browsers
/// signed in with a session cookie, not operations of the API: they are left out.
pub fn served_routes() -> BTreeSet<(String, String)> {
    let mut files = Vec::new();
    rust_files(&root().join("src/http"), &mut files);
    files.retain(|f| !f.starts_with(root().join("src/http/console")));
    let mut routes = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for piece in text.split(".route(").skip(1) {
            let Some(rest) = piece.trim_start().strip_prefix('"') else {
                continue;
            };
            let (path, handlers) = rest.split_once('"').unwrap();
            let handlers = call_arguments(handlers);
            let mut found = false;
            for (i, _) in handlers.char_indices() {
                let before = handlers[..i].chars().next_back();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                for m in METHODS {
                    if handlers[i..].starts_with(m) && handlers[i + m.len()..].starts_with('(') {
                        routes.insert((m.to_owned(), path.to_owned()));
                        found = true;
                    }
                }
            }
            assert!(found, "{}: no method for the route {path}", f.display());
        }
    }
    routes
}

/// The served OpenAPI document.
pub fn openapi() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(root().join("src/http/openapi.json")).unwrap())
        .unwrap()
}

/// Every (method, path) the router declares is in the OpenAPI document, and nothing else is.
/// (The document also describes the Twilio form of the webhook path, which the generic
/// route serves.)
#[test]
fn the_openapi_document_lists_every_route() {
    let routes = served_routes();
    assert!(routes.len() > 10, "routes found: {routes:?}");
    let doc = openapi();
    assert_eq!(
        doc["openapi"].as_str().map(|v| v.starts_with("3.")),
        Some(true)
    );
    let mut documented = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        if path.starts_with("/webhooks/") && path != "/webhooks/{provider}/{connection_id}" {
            continue;
        }
        for method in ops.as_object().unwrap().keys() {
            if METHODS.contains(&method.as_str()) {
                documented.insert((method.clone(), path.clone()));
            }
        }
    }
    let missing: Vec<_> = routes.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&routes).collect();
    assert!(
        missing.is_empty(),
        "routes missing from src/http/openapi.json: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "documented operations the router does not serve: {extra:?}"
    );
}

/// Every operation that reads a body (a webhook, or a route that takes one) documents what
/// reading it can answer: 413 past the size limit and 408 when it does not arrive in time
/// (`body_timeout_ms`), as `request_timeout`.
#[test]
fn the_openapi_document_lists_the_body_errors_where_bodies_are_read() {
    let doc = openapi();
    assert_eq!(
        doc["components"]["responses"]["RequestTimeout"]["content"]["application/json"]["example"]
            ["error"]["code"],
        "request_timeout"
    );
    let mut reading = 0;
    let mut missing = Vec::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            if op.get("requestBody").is_none() && !path.starts_with("/webhooks/") {
                continue;
            }
            reading += 1;
            for status in ["408", "413"] {
                if op["responses"].get(status).is_none() {
                    missing.push(format!("{method} {path}: {status}"));
                }
            }
        }
    }
    assert!(reading > 10, "operations that read a body: {reading}");
    assert!(missing.is_empty(), "undocumented: {missing:?}");
}

/// Every provider folder is registered, and has at least one accepted and one `reject-`
/// sample; every registered provider has a folder, samples and a row in the provider matrix,
/// and nothing the scaffold left to fill in.
#[test]
fn provider_folders_the_registry_the_samples_and_the_matrix_agree() {
    let registered: BTreeSet<String> = callgate_adapters::ADAPTERS
        .iter()
        .map(|a| a.info().id.to_owned())
        .collect();
    let mut folders = BTreeSet::new();
    for entry in std::fs::read_dir(root().join("adapters")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if path.is_dir() && path.join("mod.rs").exists() && name != "kit" && !name.starts_with('_')
        {
            folders.insert(name);
        }
    }
    assert_eq!(
        folders, registered,
        "adapters/<id>/ folders and the registry in adapters/lib.rs differ"
    );
    for id in &registered {
        let samples = root().join("webhook-samples").join(id);
        assert!(
            samples.join("provider.toml").exists(),
            "webhook-samples/{id}/provider.toml is missing"
        );
        let names: Vec<String> = std::fs::read_dir(&samples)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".http"))
            .collect();
        assert!(
            names.iter().any(|n| n.starts_with("reject-")),
            "{id}: no reject- sample"
        );
        assert!(
            names.iter().any(|n| !n.starts_with("reject-")),
            "{id}: no accepted sample"
        );
        for n in names.iter().filter(|n| !n.starts_with("reject-")) {
            let expected = samples.join(n.replace(".http", ".expected.json"));
            assert!(expected.exists(), "{id}/{n} has no expected output");
        }
        assert!(
            root().join("adapters").join(id).join("README.md").exists(),
            "adapters/{id}/README.md is missing"
        );
    }

    let readme = std::fs::read_to_string(root().join("adapters/README.md")).unwrap();
    let section = matrix::section(&readme).expect("adapters/README.md has no provider matrix");
    let in_matrix: BTreeSet<String> = matrix::ids(section).into_iter().collect();
    assert_eq!(
        in_matrix, registered,
        "the provider matrix in adapters/README.md and the registry differ: UPDATE_MATRIX=1 cargo test -p callgate-adapters matrix"
    );

    let mut left = Vec::new();
    for id in &registered {
        for dir in [
            root().join("adapters").join(id),
            root().join("webhook-samples").join(id),
        ] {
            let mut files = Vec::new();
            all_files(&dir, &mut files);
            for file in files {
                let Ok(text) = std::fs::read_to_string(&file) else {
                    continue;
                };
                for (n, line) in text.lines().enumerate() {
                    if line.contains(FILL_IN) {
                        let rel = file.strip_prefix(root()).unwrap().display().to_string();
                        left.push(format!("{rel}:{}: {}", n + 1, line.trim()));
                    }
                }
            }
        }
    }
    assert!(
        left.is_empty(),
        "the scaffold's {FILL_IN} lines are still there; replace each with the provider's real value and delete the marker (adapters/README.md, \"Adding a provider\"):\n{}",
        left.join("\n")
    );
}

fn all_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            all_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// The conformance kit parses requests it never verified: the service must not be able to.
/// Its feature is not enabled for the service, and nothing in `src/` names it.
#[test]
fn the_service_cannot_reach_the_conformance_kit() {
    let manifest: toml::Value =
        toml::from_str(&std::fs::read_to_string(root().join("Cargo.toml")).unwrap()).unwrap();
    for table in ["dependencies", "dev-dependencies", "build-dependencies"] {
        let features = manifest
            .get(table)
            .and_then(|t| t.get("callgate-adapters"))
            .and_then(|d| d.get("features"));
        assert!(
            features.is_none_or(|f| !f.to_string().contains("conformance")),
            "Cargo.toml [{table}] enables callgate-adapters' conformance feature"
        );
    }
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for needle in ["conformance", "unchecked("] {
            assert!(
                !text.contains(needle),
                "{} mentions {needle}: the service must not reach the conformance kit",
                file.display()
            );
        }
    }
}

/// The lines of `file` that are code, not comments, with their numbers.
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.starts_with("//"))
}

/// The layers point one way: the HTTP edge uses everything below it, and nothing below it
/// uses the edge. `src/app.rs` is the one exception: it assembles the service, the router
/// included. (`main.rs` and `cli.rs` start it through `app`.) Below the edge, the call use
/// cases (`src/calls/`, `src/feeds/`) use the store, and the store uses neither them nor the edge: it is
/// only storage, and names no HTTP error (it answers `StoreError`, which the edge maps).
#[test]
fn the_layers_point_one_way() {
    let mut upward = Vec::new();
    for (rel, n, line) in src_code_lines() {
        if rel.starts_with("http") || rel == Path::new("app.rs") {
            continue;
        }
        let store = rel.starts_with("store");
        let names_http = names_module(&line, "http", true);
        if names_http
            || (store
                && (line.contains("AppError")
                    || names_module(&line, "calls", false)
                    || names_module(&line, "feeds", false)))
        {
            upward.push(format!("src/{}:{n}: {line}", rel.display()));
        }
    }
    assert!(
        upward.is_empty(),
        "modules below src/http/ import it, or the store imports the use cases or names AppError:\n{}",
        upward.join("\n")
    );
}

/// Whether a line of code names the crate's module `module` from anywhere in the crate
/// (`crate::module`, or in a grouped `use crate::{...}`), or, with `relative`, as a sibling
/// (`super::module`).
fn names_module(line: &str, module: &str, relative: bool) -> bool {
    let prefixes: &[&str] = if relative {
        &["crate::", "callgate::", "super::"]
    } else {
        &["crate::", "callgate::"]
    };
    prefixes
        .iter()
        .any(|p| line.contains(&format!("{p}{module}")))
        || (line.starts_with("use crate::{") && line.contains(module))
}

/// Every code line of `src/`, with its file (relative to `src/`) and number.
fn src_code_lines() -> Vec<(std::path::PathBuf, usize, String)> {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut lines = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap().to_owned();
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in code_lines(&text) {
            lines.push((rel.clone(), n, line.to_owned()));
        }
    }
    lines
}

/// The domain (`src/domain/`) does no I/O: it names no store, network, file system,
/// thread, async runtime or clock. Time and data come in as values.
#[test]
fn the_domain_does_no_io() {
    const IO: [&str; 14] = [
        "crate::store",
        "crate::http",
        "crate::calls",
        "crate::outbox",
        "crate::egress",
        "std::fs",
        "std::net",
        "std::io",
        "std::thread",
        "tokio",
        "rusqlite",
        "postgres",
        "reqwest",
        "now_utc",
    ];
    let found: Vec<String> = src_code_lines()
        .into_iter()
        .filter(|(rel, _, _)| rel.starts_with("domain"))
        .filter(|(_, _, line)| {
            IO.iter().any(|io| line.contains(io))
                || line.contains("Instant::now")
                || line.contains("SystemTime")
        })
        .map(|(rel, n, line)| format!("src/{}:{n}: {line}", rel.display()))
        .collect();
    assert!(
        found.is_empty(),
        "the domain does I/O:\n{}",
        found.join("\n")
    );
}
