//! The developer commands: `callgate adapter new` (scaffold) and `callgate sample sign`,
//! through the real binary, with no configuration at all.

use callgate_adapters::kit::samples::{HttpSample, ProviderFixture, SampleCase};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the binary in `dir` with an empty environment (no CALLGATE_* variable, no config).
fn callgate(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_callgate"))
        .env_clear()
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn stderr(out: &Output) -> String {
    assert!(!out.status.success(), "expected a failure");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A repository root holding the real registry and an empty samples folder: all the scaffold
/// touches.
fn scratch_repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("adapters")).unwrap();
    std::fs::create_dir_all(dir.path().join("webhook-samples")).unwrap();
    std::fs::copy(
        root().join("adapters/lib.rs"),
        dir.path().join("adapters/lib.rs"),
    )
    .unwrap();
    dir
}

/// Everything under `dir`, as relative paths.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap();
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn adapter_new_writes_the_folders_and_the_registry_line() {
    let repo = scratch_repository();
    let before = std::fs::read_to_string(repo.path().join("adapters/lib.rs")).unwrap();
    let made = json(&callgate(repo.path(), &["adapter", "new", "acme_voice"]));
    assert_eq!(made["provider"], "acme_voice");
    assert_eq!(made["adapter"], "AcmeVoice");
    let mut created: Vec<String> = made["created"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    created.push("adapters/lib.rs".to_owned());
    created.sort();
    assert_eq!(tree(repo.path()), created);
    assert_eq!(
        created,
        [
            "adapters/acme_voice/README.md",
            "adapters/acme_voice/mapping.rs",
            "adapters/acme_voice/mod.rs",
            "adapters/acme_voice/payload.rs",
            "adapters/acme_voice/tests.rs",
            "adapters/lib.rs",
            "webhook-samples/acme_voice/call-ringing.http",
            "webhook-samples/acme_voice/provider.toml",
            "webhook-samples/acme_voice/reject-bad-signature.http",
        ]
    );

    // The registry gained exactly one line, in alphabetical order.
    let after = std::fs::read_to_string(repo.path().join("adapters/lib.rs")).unwrap();
    let added: Vec<&str> = after.lines().filter(|l| !before.contains(l)).collect();
    assert_eq!(added, ["    acme_voice::AcmeVoice,"]);
    let entries: Vec<&str> = after
        .lines()
        .filter(|l| l.starts_with("    ") && l.trim_end().ends_with(',') && l.contains("::"))
        .map(str::trim)
        .collect();
    let mut sorted = entries.clone();
    sorted.sort();
    assert_eq!(entries, sorted, "the registry is out of order");
    assert!(entries.contains(&"acme_voice::AcmeVoice,"));

    // The Rust parses; the samples and their fixture are in the samples format.
    let adapter = repo.path().join("adapters/acme_voice");
    for file in ["mod.rs", "payload.rs", "mapping.rs", "tests.rs"] {
        let text = std::fs::read_to_string(adapter.join(file)).unwrap();
        if let Err(e) = syn::parse_file(&text) {
            panic!("{file} does not parse: {e}");
        }
    }
    let module = std::fs::read_to_string(adapter.join("mod.rs")).unwrap();
    assert!(module.contains("pub struct AcmeVoice;") && module.contains("id: \"acme_voice\","));
    let samples = repo.path().join("webhook-samples/acme_voice");
    ProviderFixture::parse(&std::fs::read_to_string(samples.join("provider.toml")).unwrap())
        .unwrap();
    for name in ["call-ringing.http", "reject-bad-signature.http"] {
        let sample = HttpSample::parse(&std::fs::read(samples.join(name)).unwrap()).unwrap();
        assert!(sample.url.contains("/webhooks/acme_voice/"), "{name}");
        assert!(
            sample.comments.iter().any(|c| c.contains("FILL IN")),
            "{name} does not say what to fill in"
        );
    }

    // A second time, the id is taken: refused, and nothing changes.
    let err = stderr(&callgate(repo.path(), &["adapter", "new", "acme_voice"]));
    assert!(err.contains("already in the registry"), "{err}");
    assert_eq!(
        std::fs::read_to_string(repo.path().join("adapters/lib.rs")).unwrap(),
        after
    );
}

#[test]
fn adapter_new_refuses_bad_ids_taken_folders_and_a_missing_registry() {
    let repo = scratch_repository();
    let lib = std::fs::read_to_string(repo.path().join("adapters/lib.rs")).unwrap();
    for bad in ["Acme", "ac-me", "kit", "type", "9x"] {
        let err = stderr(&callgate(repo.path(), &["adapter", "new", bad]));
        assert!(err.contains("cannot be a provider id"), "{bad}: {err}");
    }
    let err = stderr(&callgate(repo.path(), &["adapter", "new", "twilio"]));
    assert!(err.contains("already in the registry"), "{err}");

    // An unregistered folder of the same name is not overwritten.
    std::fs::create_dir_all(repo.path().join("webhook-samples/acme")).unwrap();
    let err = stderr(&callgate(repo.path(), &["adapter", "new", "acme"]));
    assert!(err.contains("already exists"), "{err}");
    assert!(!repo.path().join("adapters/acme").exists());
    assert_eq!(
        std::fs::read_to_string(repo.path().join("adapters/lib.rs")).unwrap(),
        lib
    );

    // Elsewhere than the repository root, it says where to run it; --root points there.
    let elsewhere = tempfile::tempdir().unwrap();
    let err = stderr(&callgate(elsewhere.path(), &["adapter", "new", "acme"]));
    assert!(err.contains("repository root"), "{err}");
    std::fs::remove_dir(repo.path().join("webhook-samples/acme")).unwrap();
    let root_arg = repo.path().to_str().unwrap();
    let made = json(&callgate(
        elsewhere.path(),
        &["adapter", "new", "acme", "--root", root_arg],
    ));
    assert_eq!(made["adapter"], "Acme");
    assert!(repo.path().join("adapters/acme/mod.rs").exists());
}

/// A copy of a Twilio sample and its fixture in a `twilio/` folder of a temporary directory.
fn twilio_sample(name: &str, edit: impl Fn(&str) -> String) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("twilio");
    std::fs::create_dir_all(&folder).unwrap();
    let samples = root().join("webhook-samples/twilio");
    std::fs::copy(samples.join("provider.toml"), folder.join("provider.toml")).unwrap();
    let text = std::fs::read_to_string(samples.join(name)).unwrap();
    let file = folder.join(name);
    std::fs::write(&file, edit(&text)).unwrap();
    (dir, file)
}

/// Verifies and parses a sample file with its folder's fixture.
fn verifies(file: &Path) -> Result<(), String> {
    let case = SampleCase::load(file).map_err(|e| e.0)?;
    let req = case.sample.to_request().map_err(|e| e.0)?;
    let verified = case
        .adapter
        .verify(&req, &case.fixture.secrets, &case.fixture.clock())
        .map_err(|e| e.reason().to_owned())?;
    case.adapter
        .parse(&verified)
        .map(|_| ())
        .map_err(|e| e.reason().to_owned())
}

#[test]
fn sample_sign_re_signs_an_edited_sample_in_place() {
    let (dir, file) = twilio_sample("status-busy.http", |t| {
        t.replace("CallStatus=busy", "CallStatus=failed")
    });
    assert_eq!(verifies(&file), Err("bad_signature".to_owned()));
    let out = json(&callgate(
        dir.path(),
        &["sample", "sign", "twilio/status-busy.http"],
    ));
    assert_eq!(out["provider"], "twilio");
    assert_eq!(out["changed"], serde_json::json!(["X-Twilio-Signature"]));
    assert_eq!(verifies(&file), Ok(()));

    // Only the signature line changed; comments, other headers and the body are kept.
    let original = std::fs::read_to_string(root().join("webhook-samples/twilio/status-busy.http"))
        .unwrap()
        .replace("CallStatus=busy", "CallStatus=failed");
    let signed = std::fs::read_to_string(&file).unwrap();
    let differing: Vec<(&str, &str)> = original
        .lines()
        .zip(signed.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(differing.len(), 1, "{differing:?}");
    assert!(differing[0].1.starts_with("X-Twilio-Signature: "));
    assert_eq!(original.lines().count(), signed.lines().count());

    // Signing a sample that is already right changes nothing.
    let again = json(&callgate(
        dir.path(),
        &["sample", "sign", "twilio/status-busy.http"],
    ));
    assert_eq!(again["changed"], serde_json::json!([]));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), signed);
}

#[test]
fn sample_sign_prints_with_stdout_and_sets_what_the_scheme_needs() {
    // A JSON body without `bodySHA256`: Twilio's sign adds the hash to the URL first.
    let (dir, file) = twilio_sample("reject-json-content-type.http", |t| {
        t.replace(
            "?bodySHA256=7fc0c7383f8970acaee3de516dfc0319a3f0df93f81f4649ea8f10069b452618",
            "",
        )
        .replace("ringing", "in-progress")
    });
    let before = std::fs::read(&file).unwrap();
    let out = callgate(
        dir.path(),
        &["sample", "sign", file.to_str().unwrap(), "--stdout"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "--stdout wrote the file"
    );
    let printed = HttpSample::parse(&out.stdout).unwrap();
    let printed_bytes = out.stdout;
    assert!(printed.url.contains("?bodySHA256="), "{}", printed.url);
    assert_eq!(printed.expect(), Some("unsupported_content_type"));

    let out = json(&callgate(
        dir.path(),
        &["sample", "sign", file.to_str().unwrap()],
    ));
    assert_eq!(
        out["changed"],
        serde_json::json!(["X-Twilio-Signature", "url"])
    );
    assert_eq!(std::fs::read(&file).unwrap(), printed_bytes);
    // Verified now; refused only for its content type, as the sample says.
    assert_eq!(verifies(&file), Err("unsupported_content_type".to_owned()));
}

#[test]
fn sample_sign_needs_a_provider_folder_with_its_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let stray = dir.path().join("status.http");
    std::fs::copy(
        root().join("webhook-samples/twilio/status-busy.http"),
        &stray,
    )
    .unwrap();
    let err = stderr(&callgate(dir.path(), &["sample", "sign", "status.http"]));
    assert!(err.contains("not a registered provider"), "{err}");

    let folder = dir.path().join("twilio");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::copy(&stray, folder.join("status.http")).unwrap();
    let err = stderr(&callgate(
        dir.path(),
        &["sample", "sign", "twilio/status.http"],
    ));
    assert!(err.contains("provider.toml"), "{err}");
    std::fs::copy(
        root().join("webhook-samples/twilio/provider.toml"),
        folder.join("provider.toml"),
    )
    .unwrap();
    let err = stderr(&callgate(
        dir.path(),
        &["sample", "sign", "twilio/missing.http"],
    ));
    assert!(err.contains("missing.http"), "{err}");
}
