//! The command line on the store: connections, the directory, users, and `sample send`
//! to a running server.

use crate::crash::{api, command, serve};
use crate::support::*;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Stdio;

/// Runs `callgate ARGS` on the store of `dir` (its standard input `stdin`): whether it
/// succeeded, its standard output and error.
fn run_cli(dir: &Path, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_callgate"));
    cmd.env_clear()
        .env("CALLGATE_MASTER_KEY", MASTER_KEY)
        .envs(store_env(dir))
        .args(args);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        use std::io::Write;
        let written = child.stdin.take().unwrap().write_all(input.as_bytes());
        // A command refused before it reads its input (a bad argument) closes the pipe.
        if let Err(e) = written {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
        }
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Connections from the command line: a missing store refused, the store opened named,
/// secrets never on the command line nor in the output, bad input refused naming what is
/// valid.
#[tokio::test]
async fn the_cli_manages_connections() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], stdin: Option<&str>| run_cli(dir.path(), args, stdin);
    let add = [
        "connection",
        "add",
        "--provider",
        "twilio",
        "--name",
        "Main",
        "--secrets-file",
        "-",
        "--option",
        "api_base_url=https://api.twilio.com",
    ];
    let given = Some(r#"{"auth_token": "cli-secret-token"}"#);
    let embedded = postgres_server().is_none();
    // No store yet (no file; on PostgreSQL, an empty schema): refused, naming where it
    // looked and how to make one.
    let (ok, _, err) = run(&add, given);
    assert!(
        !ok && err.contains("--create-store") && err.contains("no"),
        "{err}"
    );
    assert!(
        err.contains(if embedded {
            "no store at"
        } else {
            "holds no callgate store"
        }),
        "{err}"
    );
    if embedded {
        assert!(!dir.path().join("callgate.db").exists());
    }
    let (ok, out, err) = run(&[&["--create-store"], &add[..]].concat(), given);
    assert!(ok, "{err}");
    assert!(
        err.starts_with("store: "),
        "the store opened is named: {err}"
    );
    if embedded {
        assert!(
            err.contains(&dir.path().join("callgate.db").display().to_string()),
            "{err}"
        );
    }
    assert!(!out.contains("cli-secret-token") && !err.contains("cli-secret-token"));
    let created: Value = serde_json::from_str(out.trim()).unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(
        created["webhook_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/webhooks/twilio/{id}"))
    );

    let secrets = dir.path().join("new.json");
    std::fs::write(&secrets, r#"{"auth_token": "cli-secret-token-2"}"#).unwrap();
    let (ok, out, err) = run(
        &[
            "connection",
            "rotate",
            &id,
            "--secrets-file",
            secrets.to_str().unwrap(),
        ],
        None,
    );
    assert!(ok, "{err}");
    assert!(!out.contains("cli-secret-token-2"));
    let (ok, _, err) = run(&["connection", "disable", &id], None);
    assert!(ok, "{err}");
    let (ok, out, _) = run(&["connection", "list"], None);
    assert!(ok);
    let listed: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(listed["enabled"], false);

    // A missing secret, an unknown option and an unknown provider are refused, naming what
    // is valid.
    let add_x = |provider: &str, extra: &[&str], stdin| {
        let args = [
            "connection",
            "add",
            "--provider",
            provider,
            "--name",
            "x",
            "--secrets-file",
            "-",
        ];
        run(&[&args[..], extra].concat(), stdin)
    };
    let (ok, _, err) = add_x("twilio", &[], Some("{}"));
    assert!(
        !ok && err.contains("auth_token"),
        "a missing secret is refused clearly: {err}"
    );
    let (ok, _, err) = add_x("twilio", &["--option", "foo=bar"], given);
    assert!(
        !ok && err.contains("\"foo\"") && err.contains("api_base_url"),
        "{err}"
    );
    let (ok, _, err) = add_x("twillio", &[], given);
    assert!(
        !ok && err.contains("twilio") && err.contains("signalwire"),
        "{err}"
    );
}

/// The directory and users from the command line: tenants and numbers imported and listed
/// (bad ZIP codes and array-root files explained), users put, given a token shown once, and
/// revoked.
#[tokio::test]
async fn the_cli_manages_the_directory_and_users() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], stdin: Option<&str>| run_cli(dir.path(), args, stdin);
    let (ok, _, err) = run(&["--create-store", "tenant", "list"], None);
    assert!(ok, "{err}");
    let tenants = dir.path().join("tenants.json");
    std::fs::write(&tenants, r#"{"tenants": [{"tenant_id": "t-austin", "name": "Austin HVAC", "zip_codes": ["78701"], "trades": ["hvac"], "booking_url": "https://a.example.com"}]}"#).unwrap();
    let (ok, out, err) = run(&["tenant", "import", tenants.to_str().unwrap()], None);
    assert!(ok, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(out.trim()).unwrap(),
        json!({"added": 1, "updated": 0})
    );
    let (ok, out, err) = run(&["tenant", "list"], None);
    assert!(ok, "{err}");
    let listed: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(listed["tenant_id"], "t-austin");
    assert_eq!(listed["zip_codes"], json!(["78701"]));
    // A ZIP code that lost its leading zero, and a file whose root is the list itself.
    std::fs::write(
        &tenants,
        r#"{"tenants": [{"tenant_id": "t-boston", "name": "Boston", "zip_codes": ["2134"]}]}"#,
    )
    .unwrap();
    let (ok, _, err) = run(&["tenant", "import", tenants.to_str().unwrap()], None);
    assert!(
        !ok && err.contains("\"2134\"") && err.contains("5 digits"),
        "{err}"
    );
    std::fs::write(&tenants, r#"[{"tenant_id": "t-boston", "name": "Boston"}]"#).unwrap();
    let (ok, _, err) = run(&["tenant", "import", tenants.to_str().unwrap()], None);
    assert!(
        !ok && err.contains("array") && err.contains(r#"{"tenants": [...]}"#),
        "{err}"
    );

    let numbers = dir.path().join("numbers.json");
    // The last entry as `GET /api/v1/numbers` lists numbers.
    std::fs::write(&numbers, r#"{"numbers": [{"e164": "+15125550100", "kind": "local", "tenant_id": "t-austin"}, {"e164": "+18005550199", "kind": "national"}, {"e164": "+18885550100", "kind": "national", "tenant_id": null, "tenant_ids": []}]}"#).unwrap();
    let (ok, out, err) = run(&["number", "import", numbers.to_str().unwrap()], None);
    assert!(ok, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(out.trim()).unwrap(),
        json!({"added": 3, "updated": 0})
    );
    std::fs::write(&numbers, r#"{"numbers": [{"kind": "national"}]}"#).unwrap();
    let (ok, _, err) = run(&["number", "import", numbers.to_str().unwrap()], None);
    assert!(!ok && err.contains("names no e164"), "{err}");
    std::fs::write(
        &numbers,
        r#"{"numbers": [{"e164": "+15125550101", "kind": "local", "tenant_id": "t-nope"}]}"#,
    )
    .unwrap();
    let (ok, _, err) = run(&["number", "import", numbers.to_str().unwrap()], None);
    assert!(!ok && err.contains("t-nope"), "{err}");
    let (ok, out, err) = run(&["number", "list"], None);
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 3, "{out}");

    // Users and tokens: the token is printed once and works on the API.
    let (ok, out, err) = run(
        &["user", "put", "ana", "--file", "-"],
        Some(
            r#"{"name": "Ana", "permissions": ["contact_center.view"], "tenant_ids": ["t-austin"]}"#,
        ),
    );
    assert!(ok, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(out.trim()).unwrap()["user_id"],
        "ana"
    );
    let (ok, out, err) = run(&["user", "token", "ana"], None);
    assert!(ok, "{err}");
    let token: Value = serde_json::from_str(out.trim()).unwrap();
    assert!(
        token["token"].as_str().unwrap().starts_with("cgt_"),
        "{token}"
    );
    let (ok, out, _) = run(&["user", "list"], None);
    assert!(
        ok && out.contains("\"ana\"") && !out.contains("cgt_"),
        "{out}"
    );
    // Identities: given with --identity (in canonical form), listed, one user's only.
    let ana =
        r#"{"name": "Ana", "permissions": ["contact_center.view"], "tenant_ids": ["t-austin"]}"#;
    let put_ana = ["user", "put", "ana", "--file", "-"];
    let with_identities = [
        &put_ana[..],
        &["--identity", "client:ana", "--identity", "15125550123"],
    ]
    .concat();
    let (ok, out, err) = run(&with_identities, Some(ana));
    assert!(ok, "{err}");
    let shown: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(shown["identities"], json!(["client:ana", "+15125550123"]));
    let (ok, out, _) = run(&["user", "list"], None);
    assert!(
        ok && out.contains(r#""identities":["client:ana","+15125550123"]"#),
        "{out}"
    );
    let (ok, _, err) = run(
        &[
            "user",
            "put",
            "ben",
            "--file",
            "-",
            "--identity",
            "+15125550123",
        ],
        Some(r#"{"name": "Ben", "permissions": []}"#),
    );
    assert!(
        !ok && err.contains("\"+15125550123\" belongs to another user"),
        "{err}"
    );
    let (ok, _, err) = run(
        &with_identities,
        Some(r#"{"name": "Ana", "permissions": [], "identities": ["client:ana"]}"#),
    );
    assert!(!ok && err.contains("not both"), "{err}");
    let (ok, _, err) = run(&[&put_ana[..], &["--identity", " "]].concat(), Some(ana));
    assert!(!ok && err.contains("must not be empty"), "{err}");

    let token_id = token["token_id"].as_str().unwrap();
    let (ok, out, err) = run(&["user", "revoke", "ana", token_id], None);
    assert!(ok, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(out.trim()).unwrap(),
        json!({"revoked": true})
    );
    let (ok, _, err) = run(&["user", "token", "nobody"], None);
    assert!(!ok && err.contains("no such user"), "{err}");
}

/// `callgate sample send` re-signs a recorded sample for a running server and a connection,
/// posts it and prints the status and the body: to `--to`, or else to the configured listen
/// address, as the README's tour does. A second send of the same file is acknowledged too and
/// adds no call; an unknown connection is a clear error.
#[tokio::test]
async fn the_cli_sends_signed_samples_to_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    // A fixed port, so that the CLI and the server share `CALLGATE_LISTEN`.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut cmd = command(dir.path());
    cmd.env("CALLGATE_LISTEN", &listen);
    let (mut child, addr) = serve(cmd).await;
    assert_eq!(addr, listen);
    let http = reqwest::Client::new();
    let base = format!("http://{addr}");
    let conn = api(
        &http,
        &base,
        reqwest::Method::POST,
        "/api/v1/connections",
        Some(
            json!({"provider": "twilio", "name": "tour", "secrets": {"auth_token": "tour-token"}}),
        ),
    )
    .await;
    let id = conn["id"].as_str().unwrap().to_owned();
    let send = |file: &str, connection: &str, to: Option<&str>| {
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let mut cli = std::process::Command::new(env!("CARGO_BIN_EXE_callgate"));
        cli.env_clear()
            .env("CALLGATE_MASTER_KEY", MASTER_KEY)
            .envs(store_env(dir.path()))
            .env("CALLGATE_PUBLIC_URL", PUBLIC)
            .env("CALLGATE_LISTEN", &listen)
            .args([
                "sample",
                "send",
                sample.to_str().unwrap(),
                "--connection",
                connection,
            ]);
        if let Some(to) = to {
            cli.args(["--to", to]);
        }
        cli.output().unwrap()
    };
    let printed = |out: &std::process::Output| -> Value {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };

    let out = send(
        "webhook-samples/twilio/status-ringing.http",
        &id,
        Some(&base),
    );
    assert_eq!(printed(&out)["status"], 204);
    let calls = api(&http, &base, reqwest::Method::GET, "/api/v1/calls", None).await;
    assert_eq!(
        calls["calls"][0]["provider_call_id"],
        "CAe9ecf4ed13c5b8830ecb62fdbaf24482"
    );

    for _ in 0..2 {
        let out = send("webhook-samples/twilio/incoming-call.http", &id, None);
        let answer = printed(&out);
        assert_eq!(answer["status"], 200);
        assert!(
            answer["body"].as_str().unwrap().contains("<Response/>"),
            "{answer}"
        );
    }
    let calls = api(&http, &base, reqwest::Method::GET, "/api/v1/calls", None).await;
    assert_eq!(calls["calls"].as_array().unwrap().len(), 2);

    let out = send(
        "webhook-samples/twilio/incoming-call.http",
        "conn_unknown",
        None,
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no connection conn_unknown"), "{err}");
    assert!(!err.contains("tour-token"));
    child.start_kill().unwrap();
}

/// `--help` says what callgate is and lists the provider ids `--provider` takes.
#[test]
fn the_help_names_the_tool_and_the_provider_ids() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out, err) = run_cli(dir.path(), &["--help"], None);
    assert!(ok, "{err}");
    assert!(
        out.contains("webhooks") && out.contains("backup") && out.contains("user"),
        "{out}"
    );
    let (ok, out, err) = run_cli(dir.path(), &["connection", "add", "--help"], None);
    assert!(ok, "{err}");
    for id in callgate_adapters::ADAPTERS.iter().map(|a| a.info().id) {
        assert!(
            out.contains(id),
            "{id} missing from --provider's help: {out}"
        );
    }
    assert!(
        !dir.path().join("callgate.db").exists(),
        "help opens no store"
    );
}

/// A stopped server's store holding +15125550123's chat (one thread, one message) and web
/// booking at Austin's tenant.
async fn store_with_a_person() -> tempfile::TempDir {
    let app = TestApp::spawn().await;
    app.tenant("t-austin", &["78701"], &["hvac"]).await;
    app.inbound_chat("t-austin", "th-jane").await;
    let (s, v) = app.web_booking("t-austin", "wb-jane", "Jane Doe").await;
    assert_eq!(s, reqwest::StatusCode::CREATED, "{v}");
    app.stop_keeping_store().await
}

/// Runs `privacy VERB` (`erase`, `export`): refused for a number not in E.164 form, then
/// printing its JSON for +15125550123.
fn privacy_cli(dir: &Path, verb: &str) -> Value {
    let (ok, _, err) = run_cli(dir, &["privacy", verb, "--number", "5125550123"], None);
    assert!(!ok && err.contains("E.164"), "{err}");
    let (ok, out, err) = run_cli(dir, &["privacy", verb, "--number", "+15125550123"], None);
    assert!(ok, "{err}");
    serde_json::from_str(out.trim()).unwrap()
}

/// `privacy erase` erases a number from the store as the API does, printing the counts, and
/// refuses a number not in E.164 form.
#[tokio::test]
async fn the_cli_erases_a_number() {
    let dir = store_with_a_person().await;
    let erased = privacy_cli(dir.path(), "erase");
    assert_eq!(
        (
            &erased["chat_threads"],
            &erased["chat_messages"],
            &erased["web_bookings"]
        ),
        (&json!(1), &json!(1), &json!(1)),
        "{erased}"
    );
    let (ok, out, err) = run_cli(
        dir.path(),
        &["privacy", "erase", "--number", "+15125550123"],
        None,
    );
    assert!(ok, "{err}");
    let again: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(again["web_bookings"], 0, "{again}");
}

/// `privacy export` prints what the API's export answers, or writes it to a new file only
/// its owner can read, never over an existing one; an erasure after it erases what it listed.
#[tokio::test]
async fn the_cli_exports_a_number() {
    let dir = store_with_a_person().await;
    let printed = privacy_cli(dir.path(), "export");
    assert_eq!(
        printed["web_bookings"][0]["phone"], "+15125550123",
        "{printed}"
    );
    assert_eq!(printed["counts"]["chat_messages"], 1, "{printed}");

    let file = dir.path().join("export.json");
    let to_file = [
        "privacy",
        "export",
        "--number",
        "+15125550123",
        "--out",
        file.to_str().unwrap(),
    ];
    let (ok, _, err) = run_cli(dir.path(), &to_file, None);
    assert!(ok, "{err}");
    let written: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(written["counts"], printed["counts"], "{written}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let before = std::fs::read(&file).unwrap();
    let (ok, _, err) = run_cli(dir.path(), &to_file, None);
    assert!(!ok && err.contains("never overwritten"), "{err}");
    assert_eq!(std::fs::read(&file).unwrap(), before);

    let (ok, out, err) = run_cli(
        dir.path(),
        &["privacy", "erase", "--number", "+15125550123"],
        None,
    );
    assert!(ok, "{err}");
    let erased: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(erased, written["counts"], "{erased}");
}
