//! SDK differential: every adapter's webhook samples, re-signed now, and mutations of them
//! (another secret, a changed body, a changed URL, an old timestamp, ...) are judged both by
//! callgate's adapter `verify` and by the provider's own SDK (`tests/sdk/differential.py`,
//! pinned in `tests/sdk/requirements.txt`); in the other direction the SDK signs and callgate
//! verifies. Any disagreement fails the test, after a summary line per provider:
//! `sdk-differential: <provider>: N cases, M disagreements`.
//!
//! The SDKs live in a virtualenv that `.ci/run` installs (`target/sdk-venv`), and it sets
//! `CALLGATE_SDK_PYTHON` to its interpreter when it runs the tests: then the test runs, and a
//! missing interpreter is a failure. Without the variable (a fresh `cargo test --workspace`)
//! the test is reported as ignored, with the reason (`build.rs` sets `cfg(callgate_sdk)`).
//!
//! Providers without an SDK verifier are not judged here: Bandwidth (HTTP Basic; its SDKs
//! verify nothing), Amazon Connect (an EventBridge API-destination key; no AWS SDK checks it)
//! and Dialpad (a JWT in the body; Dialpad publishes no SDK verifier).

use base64::Engine as _;
use callgate_adapters::kit::samples::{SampleCase, SampleKind};
use callgate_adapters::kit::{Adapter, FixedClock, InboundRequest, Secret, SecretSet};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// The interpreter of the virtualenv holding the pinned SDKs; when set, the test must run.
const PYTHON_VAR: &str = "CALLGATE_SDK_PYTHON";

/// Providers whose official SDK has a webhook verifier (the script's `VERIFY` table).
const WITH_SDK: &[&str] = &[
    "plivo",
    "signalwire",
    "standard",
    "telnyx",
    "twilio",
    "vonage",
];

/// Providers whose SDK signs too (the script's `SIGN` table): the reverse direction.
const SDK_SIGNS: &[&str] = &["plivo", "signalwire", "standard", "twilio", "vonage"];

/// Disagreements that a fix under way explains, by provider and mutation: listed under the
/// summary with their cause, and not failed on. Each entry goes when its fix lands.
const KNOWN: &[(&str, &str, &str)] = &[];

/// A fake Twilio SharedKey secret (the connection secret `shared_key`).
const TWILIO_SHARED_KEY: &str = "sample-twilio-shared-key-not-a-real-one";

/// Headers that carry a proof, per provider: removed before the SDK signs.
fn proof_headers(provider: &str) -> &'static [&'static str] {
    match provider {
        "twilio" => &["x-twilio-signature", "x-twilio-webhooks-signature-settings"],
        "signalwire" => &[
            "x-signalwire-signature",
            "x-signalwire-sha256-signature",
            "x-twilio-signature",
        ],
        "plivo" => &["x-plivo-signature-v3", "x-plivo-signature-v3-nonce"],
        "standard" => &["webhook-id", "webhook-timestamp", "webhook-signature"],
        "vonage" => &["authorization"],
        _ => &[],
    }
}

/// Writes to the terminal whether or not the test harness captures output.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The interpreter of the SDK virtualenv (`CALLGATE_SDK_PYTHON`), which must exist.
fn python() -> PathBuf {
    let path = std::env::var_os(PYTHON_VAR)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            panic!("{PYTHON_VAR} is not set: run with it set to the SDK virtualenv's interpreter")
        });
    assert!(
        path.is_file(),
        "{PYTHON_VAR}={} is set but there is no interpreter there: the SDK virtualenv is missing (`bash .ci/run test` installs it)",
        path.display()
    );
    path
}

/// One request judged by both sides.
struct Case {
    provider: &'static str,
    /// The sample's name.
    name: String,
    /// What was done to it (`signed`, `wrong secret`, ...).
    mutation: String,
    req: InboundRequest,
    /// The connection's secrets, as the SDK is given them.
    secrets: BTreeMap<String, String>,
}

fn secret_map(set: &SecretSet) -> BTreeMap<String, String> {
    set.names()
        .filter_map(|n| Some((n.to_owned(), set.current(n)?.expose().to_owned())))
        .collect()
}

/// The same secrets, each with one character changed (base64 and `whsec_` keys stay valid).
fn wrong(set: &SecretSet) -> SecretSet {
    let changed = secret_map(set).into_iter().map(|(name, value)| {
        let mut chars: Vec<char> = value.chars().collect();
        let i = chars.len() / 2;
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        (name, Secret::new(chars.into_iter().collect::<String>()))
    });
    SecretSet::new(changed.collect(), None)
}

fn signed(
    adapter: &dyn Adapter,
    req: &InboundRequest,
    secrets: &SecretSet,
    at: OffsetDateTime,
) -> InboundRequest {
    let mut out = req.clone();
    adapter.sign(&mut out, secrets, &FixedClock(at)).unwrap();
    out
}

/// The body with its first digit changed, if it has one.
fn changed_body(req: &InboundRequest) -> Option<InboundRequest> {
    let mut body = req.body.to_vec();
    let digit = body.iter_mut().find(|b| b.is_ascii_digit())?;
    *digit = if *digit == b'0' { b'1' } else { b'0' };
    Some(InboundRequest {
        body: body.into(),
        ..req.clone()
    })
}

fn with_url(req: &InboundRequest, url: String) -> InboundRequest {
    InboundRequest {
        public_url: url,
        ..req.clone()
    }
}

/// A Vonage token with the request's `payload_hash` and the given time claims.
fn vonage_token(req: &InboundRequest, secret: &str, claims: Value) -> InboundRequest {
    use sha2::{Digest, Sha256};
    let hash: String = Sha256::digest(&req.body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut all = json!({"iss": "Vonage", "jti": format!("jti-{hash}"), "payload_hash": hash});
    all.as_object_mut()
        .unwrap()
        .extend(claims.as_object().unwrap().clone());
    let jwt = callgate_adapters::kit::jwt::sign_hs256(&all, secret.as_bytes());
    let mut out = req.clone();
    out.headers
        .insert("authorization", format!("Bearer {jwt}").parse().unwrap());
    out
}

/// The forward cases of one accepted sample: callgate signs, both judge.
fn forward(
    provider: &'static str,
    name: &str,
    case: &SampleCase,
    now: OffsetDateTime,
) -> Vec<Case> {
    let adapter = case.adapter;
    let fixture = &case.fixture;
    let secrets = secret_map(&fixture.secrets);
    let base = case.sample.to_request().unwrap();
    let good = signed(adapter, &base, &fixture.signing, now);
    let mut out = vec![
        ("signed".to_owned(), good.clone()),
        (
            "wrong secret".to_owned(),
            signed(adapter, &base, &wrong(&fixture.signing), now),
        ),
    ];
    if let Some(body) = changed_body(&good) {
        out.push(("changed body".to_owned(), body));
    }
    let sep = if good.public_url.contains('?') {
        '&'
    } else {
        '?'
    };
    out.push((
        "changed URL".to_owned(),
        with_url(&good, format!("{}{sep}cg=1", good.public_url)),
    ));
    if !base.public_url.contains('?') {
        let bare = with_url(&base, format!("{}?", base.public_url));
        out.push((
            "URL ending in ?".to_owned(),
            signed(adapter, &bare, &fixture.signing, now),
        ));
    }
    match provider {
        // `exp` and `nbf` 600 s away: past the 300 s leeway callgate allows on them (issue 17:
        // the same skew as `iat`), which vonage-jwt (PyJWT, no leeway) does not allow.
        "vonage" => {
            let secret = &secrets["signature_secret"];
            let iat = now.unix_timestamp();
            out.push((
                "expired token (exp)".to_owned(),
                vonage_token(&good, secret, json!({"iat": iat, "exp": iat - 600})),
            ));
            out.push((
                "token not yet valid (nbf)".to_owned(),
                vonage_token(&good, secret, json!({"iat": iat, "nbf": iat + 600})),
            ));
            out.push((
                "token within exp and nbf".to_owned(),
                vonage_token(
                    &good,
                    secret,
                    json!({"iat": iat, "nbf": iat - 60, "exp": iat + 600}),
                ),
            ));
        }
        // Vonage's SDK checks no `iat` window (callgate's 300 s is its own rule).
        _ if adapter.info().timestamp_tolerance_secs.is_some() => {
            out.push((
                "old timestamp".to_owned(),
                signed(
                    adapter,
                    &base,
                    &fixture.signing,
                    now - time::Duration::hours(1),
                ),
            ));
        }
        _ => {}
    }
    out.into_iter()
        .map(|(mutation, req)| Case {
            provider,
            name: name.to_owned(),
            mutation,
            req,
            secrets: secrets.clone(),
        })
        .collect()
}

fn request_json(
    id: usize,
    provider: &str,
    op: &str,
    req: &InboundRequest,
    secrets: &BTreeMap<String, String>,
    sign: Value,
) -> Value {
    let headers: Vec<[String; 2]> = req
        .headers
        .iter()
        .map(|(n, v)| {
            [
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            ]
        })
        .collect();
    json!({
        "id": id.to_string(), "provider": provider, "op": op,
        "method": req.method.as_str(), "url": req.public_url, "headers": headers,
        "body_b64": base64::engine::general_purpose::STANDARD.encode(&req.body),
        "secrets": secrets, "sign": sign,
    })
}

/// Runs the script over `cases`; its results in the same order.
fn ask(python: &Path, cases: Vec<Value>) -> Vec<Value> {
    use std::process::{Command, Stdio};
    let script = repo().join("tests/sdk/differential.py");
    let mut child = Command::new(python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let input = serde_json::to_vec(&json!({ "cases": cases })).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        output.status.success(),
        "{} failed: {}",
        script.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    let results = answer["results"].as_array().unwrap().clone();
    assert_eq!(results.len(), cases.len());
    results
}

fn samples(provider: &str) -> Vec<(String, SampleCase)> {
    let dir = repo().join("webhook-samples").join(provider);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "http"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let name = p.file_stem().unwrap().to_string_lossy().into_owned();
            (name, SampleCase::load(&p).unwrap())
        })
        .collect()
}

#[test]
#[cfg_attr(
    not(callgate_sdk),
    ignore = "needs the providers' official SDKs: set CALLGATE_SDK_PYTHON to the interpreter of the virtualenv `bash .ci/run test` installs (target/sdk-venv)"
)]
fn sdk_differential() {
    let python = python();
    let now = OffsetDateTime::now_utc();
    let mut cases: Vec<Case> = Vec::new();
    // The reverse direction: the SDK signs these (round 1), then both judge them (round 2).
    let mut to_sign: Vec<(Case, Value)> = Vec::new();
    for &provider in WITH_SDK {
        for (name, case) in samples(provider) {
            let secrets = secret_map(&case.fixture.secrets);
            match case.kind().unwrap() {
                // A published refusal, as it is: only for schemes without a timestamp. The
                // others' samples carry the fixture's time, stale to both sides now (Vonage's
                // SDK checks no `iat`: callgate's 300 s window is its own rule).
                SampleKind::Reject { .. } => {
                    if case.adapter.info().timestamp_tolerance_secs.is_none() {
                        cases.push(Case {
                            provider,
                            name: name.clone(),
                            mutation: "as published".to_owned(),
                            req: case.sample.to_request().unwrap(),
                            secrets,
                        });
                    }
                }
                SampleKind::Accepted => {
                    cases.extend(forward(provider, &name, &case, now));
                    if !SDK_SIGNS.contains(&provider) {
                        continue;
                    }
                    let mut bare = case.sample.to_request().unwrap();
                    for h in proof_headers(provider) {
                        bare.headers.remove(*h);
                    }
                    let opts = json!({
                        "now": now.unix_timestamp(),
                        "nonce": format!("sdk-nonce-{name}"),
                        "msg_id": format!("msg_sdk_{name}"),
                        "jti": format!("sdk-jti-{name}"),
                    });
                    let wrong_secrets = secret_map(&wrong(&case.fixture.secrets));
                    for (label, signer_secrets) in [
                        ("SDK-signed", &secrets),
                        ("SDK-signed, wrong secret", &wrong_secrets),
                    ] {
                        to_sign.push((
                            Case {
                                provider,
                                name: name.clone(),
                                mutation: label.to_owned(),
                                req: bare.clone(),
                                secrets: secrets.clone(),
                            },
                            request_json(0, provider, "sign", &bare, signer_secrets, opts.clone()),
                        ));
                    }
                    if provider == "twilio" {
                        // twilio-python 9.x signs with HMAC-SHA256 under a SharedKey when told
                        // to, and says so in X-Twilio-Webhooks-Signature-Settings.
                        let mut with_key = secrets.clone();
                        with_key.insert("shared_key".to_owned(), TWILIO_SHARED_KEY.to_owned());
                        let mut opts = opts.clone();
                        opts["algorithm"] = json!("HMAC_SHA256");
                        opts["key_id"] = json!("webhooks_sharedkey_sample");
                        to_sign.push((
                            Case {
                                provider,
                                name: name.clone(),
                                mutation: "SDK-signed, HMAC_SHA256 SharedKey".to_owned(),
                                req: bare.clone(),
                                secrets: with_key.clone(),
                            },
                            request_json(0, provider, "sign", &bare, &with_key, opts),
                        ));
                    }
                }
            }
        }
    }

    // Round 1: the SDK signs.
    let sign_requests: Vec<Value> = to_sign.iter().map(|(_, v)| v.clone()).collect();
    for ((mut case, _), answer) in to_sign.into_iter().zip(ask(&python, sign_requests)) {
        assert_eq!(
            answer["ok"], true,
            "{}: {}: {}: the SDK could not sign: {answer}",
            case.provider, case.name, case.mutation
        );
        for pair in answer["headers"].as_array().unwrap() {
            let (n, v) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
            case.req.headers.insert(
                http::HeaderName::from_bytes(n.to_ascii_lowercase().as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        cases.push(case);
    }

    // Round 2: the SDK judges every case; callgate's adapter judges it too.
    let verify_requests: Vec<Value> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| request_json(i, c.provider, "verify", &c.req, &c.secrets, Value::Null))
        .collect();
    let verdicts = ask(&python, verify_requests);
    // Per provider: the number of cases, the disagreements, and how many of them are known.
    let mut per_provider: BTreeMap<&str, (usize, Vec<String>, usize)> = BTreeMap::new();
    for (case, sdk) in cases.iter().zip(&verdicts) {
        let adapter = callgate_adapters::by_id(case.provider).unwrap();
        let connection =
            SecretSet::from_pairs(case.secrets.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let ours = adapter.verify(&case.req, &connection, &FixedClock(now));
        let theirs = sdk["ok"].as_bool().unwrap();
        let entry = per_provider.entry(case.provider).or_default();
        entry.0 += 1;
        if ours.is_ok() == theirs {
            continue;
        }
        let ours = match &ours {
            Ok(_) => "accepted".to_owned(),
            Err(e) => format!("refused ({})", e.reason()),
        };
        let known = KNOWN
            .iter()
            .find(|(p, m, _)| *p == case.provider && *m == case.mutation);
        if known.is_some() {
            entry.2 += 1;
        }
        entry.1.push(format!(
            "{}: {}: callgate {ours}, SDK {} ({}){}",
            case.name,
            case.mutation,
            if theirs { "accepted" } else { "refused" },
            sdk["detail"].as_str().unwrap_or_default(),
            known.map_or(String::new(), |(_, _, why)| format!(" [known: {why}]")),
        ));
    }
    let mut unexplained = 0;
    for (provider, (n, disagreements, known)) in &per_provider {
        let note = if *known > 0 {
            format!(" ({known} known, explained below)")
        } else {
            String::new()
        };
        say(&format!(
            "sdk-differential: {provider}: {n} cases, {} disagreements{note}",
            disagreements.len()
        ));
        for d in disagreements {
            say(&format!("  {provider}: {d}"));
        }
        unexplained += disagreements.len() - known;
    }
    for (provider, mutation, why) in KNOWN {
        let marker = format!(": {mutation}: ");
        let still = per_provider
            .get(provider)
            .is_some_and(|(_, d, _)| d.iter().any(|line| line.contains(&marker)));
        if !still {
            say(&format!(
                "sdk-differential: {provider}: \"{mutation}\" agrees now ({why}): remove it from KNOWN"
            ));
        }
    }
    assert_eq!(
        unexplained, 0,
        "callgate and the official SDKs disagree (listed above)"
    );
}
