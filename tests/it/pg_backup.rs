//! The PostgreSQL backup of deploy/README.md, run as written there: a store that took
//! webhooks is dumped with the README's `pg_dump` command while it serves, restored into a
//! new database with its `pg_restore` command, and served from there under the same master
//! key; under another key it starts, serves what it stored, and opens no connection.
//!
//! The tests run in the PostgreSQL pass of the suite with `pg_dump` and `pg_restore` on
//! `PATH` (`cfg(callgate_pg_tools)`, set by build.rs; `.ci/run` installs them), and are
//! reported as ignored, with the reason, otherwise.

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Stdio;

const README: &str = include_str!("../../deploy/README.md");

/// The README's dump of a database that holds one store (in its `public` schema).
const DUMP: &str = r#"pg_dump -Fc -d "$CALLGATE_DATABASE_URL" -f callgate.dump"#;
/// The README's dump of one store among several in a database, each in a schema of its own.
const DUMP_SCHEMA: &str =
    r#"pg_dump -Fc -n "$SCHEMA" -d "$CALLGATE_DATABASE_URL" -f callgate.dump"#;
/// The README's restore.
const RESTORE: &str = r#"pg_restore --no-owner --exit-on-error --single-transaction -d "$RESTORED_DATABASE_URL" callgate.dump"#;

/// A master key other than [`MASTER_KEY`].
const OTHER_KEY: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

/// Runs a command line of deploy/README.md in `dir`, each `"$NAME"` word replaced by the
/// value of `NAME` in `vars`, and fails unless it succeeds. Blocks.
fn run_documented(line: &str, dir: &Path, vars: &[(&str, &str)]) {
    assert!(
        README.contains(line),
        "deploy/README.md no longer says `{line}`: run what it says instead"
    );
    let words: Vec<String> = line
        .split_whitespace()
        .map(
            |word| match word.strip_prefix("\"$").and_then(|w| w.strip_suffix('"')) {
                Some(name) => vars
                    .iter()
                    .find(|(n, _)| *n == name)
                    .unwrap_or_else(|| panic!("no value for ${name}"))
                    .1
                    .to_owned(),
                None => word.to_owned(),
            },
        )
        .collect();
    let out = std::process::Command::new(&words[0])
        .args(&words[1..])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{} was on PATH at build time: {e}", words[0]));
    assert!(
        out.status.success(),
        "`{line}` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The major version of a client tool (`pg_dump (PostgreSQL) 15.20 (Debian ...)`).
fn tool_major(tool: &str) -> u32 {
    let out = std::process::Command::new(tool)
        .arg("--version")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.split(") ")
        .nth(1)
        .and_then(|v| v.split(['.', ' ']).next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no version in {text:?}"))
}

/// A blocking client of `url`, on a thread of its own (never an async task's), running `f`.
fn on_server<T: Send + 'static>(
    url: &str,
    f: impl FnOnce(&mut postgres::Client) -> T + Send + 'static,
) -> T {
    let url = url.to_owned();
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        f(&mut client)
    })
    .join()
    .unwrap()
}

/// The suite's PostgreSQL server, whose client tools are checked (a test marked ignored
/// without them fails here when run on purpose, rather than pass having checked nothing).
fn drill_server() -> String {
    let server = required_postgres_server();
    check_client_versions(&server);
    server
}

/// The client tools fit the server, as the README asks: `pg_dump` of its major version or
/// newer (an older one refuses the server), `pg_restore` of the same version as `pg_dump`.
fn check_client_versions(server: &str) {
    let server_major = on_server(server, |c| {
        let num: String = c.query_one("SHOW server_version_num", &[]).unwrap().get(0);
        num.parse::<u32>().unwrap() / 10_000
    });
    let dump = tool_major("pg_dump");
    assert!(
        dump >= server_major,
        "pg_dump {dump} is older than the server ({server_major}): install the server's \
         client tools (postgresql-client-{server_major})"
    );
    assert_eq!(
        tool_major("pg_restore"),
        dump,
        "pg_restore and pg_dump differ"
    );
}

/// Databases of one test on the suite's server, dropped when it ends, failed or not.
struct Databases {
    server: String,
    names: Vec<String>,
}

impl Databases {
    fn new(server: &str) -> Self {
        Self {
            server: server.to_owned(),
            names: Vec::new(),
        }
    }

    /// Creates an empty database, owned by the suite's role (its creator): its URL.
    fn create(&mut self) -> String {
        let name = format!("callgate_drill_{}", uuid::Uuid::new_v4().simple());
        let ddl = format!("CREATE DATABASE {name}");
        on_server(&self.server, move |c| c.batch_execute(&ddl).unwrap());
        self.names.push(name.clone());
        let mut url = reqwest::Url::parse(&self.server).unwrap();
        url.set_path(&format!("/{name}"));
        url.to_string()
    }
}

impl Drop for Databases {
    fn drop(&mut self) {
        let (server, names) = (self.server.clone(), std::mem::take(&mut self.names));
        // One statement each: DROP DATABASE runs outside any transaction.
        let dropped = std::thread::spawn(move || {
            let mut client = postgres::Client::connect(&server, postgres::NoTls)?;
            for name in names {
                client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
            }
            Ok::<_, postgres::Error>(())
        })
        .join();
        if !std::thread::panicking() {
            dropped.unwrap().unwrap();
        }
    }
}

/// Dumps with `line` (its `"$NAME"` words from `vars`) as the README says, into a directory
/// of its own.
fn dump(line: &str, vars: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    tokio::task::block_in_place(|| run_documented(line, dir.path(), vars));
    dir
}

/// Restores the dump in `dir` into the database at `url` as the README says.
fn restore(dir: &tempfile::TempDir, url: &str) {
    let vars = [("RESTORED_DATABASE_URL", url)];
    tokio::task::block_in_place(|| run_documented(RESTORE, dir.path(), &vars));
}

/// What a store was left holding, read back from the restored one.
struct Seeded {
    conn: String,
    agent_token: String,
    calls: Value,
    tenant: Value,
    numbers: Value,
}

const ENDED: &str = "CA20000000000000000000000000000001";
const GATED: &str = "CA20000000000000000000000000000002";
const GATED_RECORDING: &str = "RE20000000000000000000000000000002";

/// A Twilio connection with its secrets, Austin's tenant and numbers, a user's token, a local
/// call that ended, and a national call in progress whose recording is held by the gate.
async fn seed(app: &TestApp) -> Seeded {
    app.austin_directory().await;
    let conn = app.twilio_connection("http://127.0.0.1:9").await;
    let agent_token = app
        .user_token("u-drill", &["contact_center.view"], &["t-austin"])
        .await;
    let caller = "+15125550123";
    let at = |s: u32| format!("Mon, 23 Nov 2026 18:00:{s:02} +0000");
    deliver_all(
        app,
        &conn,
        &[
            status(ENDED, caller, AUSTIN_LOCAL, "ringing", 0, &at(1)),
            status(ENDED, caller, AUSTIN_LOCAL, "in-progress", 1, &at(5)),
            status(ENDED, caller, AUSTIN_LOCAL, "completed", 2, &at(40)),
            status(GATED, caller, TOLL_FREE, "ringing", 0, &at(2)),
            status(GATED, caller, TOLL_FREE, "in-progress", 1, &at(6)),
            recording(GATED, GATED_RECORDING, "in-progress"),
        ],
    )
    .await;
    let gated = app.call_by_sid(GATED).await;
    assert_eq!(gated["recording"]["status"], "gated", "{gated}");
    assert_eq!(gated["recording"]["url"], Value::Null, "{gated}");
    Seeded {
        conn,
        agent_token,
        calls: app.get("/api/v1/calls").await,
        tenant: app.get("/api/v1/tenants/t-austin").await,
        numbers: app.get("/api/v1/numbers").await,
    }
}

impl Seeded {
    /// The restored store holds it all, and the connection's secrets open: a new signed
    /// webhook is accepted and stored (the identity columns went on from the dump's values).
    async fn assert_served_by(&self, app: &TestApp) {
        assert_eq!(app.get("/api/v1/calls").await, self.calls);
        assert_eq!(app.get("/api/v1/tenants/t-austin").await, self.tenant);
        assert_eq!(app.get("/api/v1/numbers").await, self.numbers);
        let seen = app.get_as(&self.agent_token, "/api/v1/calls").await;
        let seen: Vec<&Value> = seen["calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| &c["provider_call_id"])
            .collect();
        assert!(seen.contains(&&json!(ENDED)), "{seen:?}");
        let gated = app.call_by_sid(GATED).await;
        assert_eq!(gated["recording"]["status"], "gated", "{gated}");
        let after = "CA20000000000000000000000000000003";
        deliver_all(
            app,
            &self.conn,
            &[ringing(after, "+15125550123", TOLL_FREE)],
        )
        .await;
        app.call_id_by_sid(after).await;
    }
}

/// The restore drill on PostgreSQL: a store serving webhooks is dumped, restored into a new
/// database and served from it with the same master key, everything there; served under
/// another key, it starts and answers from the store, but its connection's webhooks fail
/// with a JSON 500 (the providers retry) and the log says the key does not open the secrets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(all(callgate_test_postgres, callgate_pg_tools)),
    ignore = "needs PostgreSQL (CALLGATE_TEST_POSTGRES) and pg_dump and pg_restore on PATH (Debian package postgresql-client; .ci/run installs it)"
)]
async fn a_pg_dump_restored_into_a_new_database_serves_the_store_under_the_same_key() {
    let server = drill_server();
    let mut databases = Databases::new(&server);
    let live_url = databases.create();
    let restored_url = databases.create();
    let live = TestApp::spawn_with(&[("CALLGATE_DATABASE_URL", &live_url)], "").await;
    let seeded = seed(&live).await;
    // Taken while the instance serves; it stops before the restore, as the README asks.
    let dumped = dump(DUMP, &[("CALLGATE_DATABASE_URL", &live_url)]);
    live.stop().await;
    restore(&dumped, &restored_url);

    let restored = TestApp::spawn_with(&[("CALLGATE_DATABASE_URL", &restored_url)], "").await;
    seeded.assert_served_by(&restored).await;
    let calls = restored.get("/api/v1/calls").await;
    restored.stop().await;

    wrong_key_opens_no_connection(&restored_url, &seeded.conn, &calls).await;
}

/// `callgate serve` on `url` under [`OTHER_KEY`]: it starts and answers from the store (its
/// call list is `calls`), the connection's webhooks get a JSON 500 and store nothing, and its
/// log says why (no panic, no secret).
async fn wrong_key_opens_no_connection(url: &str, conn: &str, calls: &Value) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = crate::crash::command(dir.path());
    cmd.env("CALLGATE_DATABASE_URL", url)
        .env("CALLGATE_MASTER_KEY", OTHER_KEY);
    let (child, addr) = crate::crash::serve_logging(cmd).await;
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();
    let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let listed = crate::crash::api(&http, &base, Method::GET, "/api/v1/calls", None).await;
    assert_eq!(&listed, calls);

    let body = form(&pairs(&ringing(
        "CA20000000000000000000000000000004",
        "+15125550123",
        TOLL_FREE,
    )));
    let path = format!("/webhooks/twilio/{conn}");
    for _ in 0..2 {
        let res = http
            .post(format!("{base}{path}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header(
                "x-twilio-signature",
                twilio_signature(&format!("{PUBLIC}{path}"), &body, AUTH_TOKEN),
            )
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let error: Value = res.json().await.unwrap();
        assert_eq!(error["error"]["code"], "internal", "{error}");
    }
    let listed = crate::crash::api(&http, &base, Method::GET, "/api/v1/calls", None).await;
    assert_eq!(&listed, calls, "nothing of the refused webhooks is stored");

    let (exit, logs) = crate::crash::stop_logging(child).await;
    assert!(exit.success(), "{exit:?}: {logs}");
    assert!(
        logs.contains("does not open with this master key"),
        "the log says why: {logs}"
    );
    assert!(!logs.contains("panicked"), "{logs}");
    for secret in [AUTH_TOKEN, OTHER_KEY, MASTER_KEY] {
        assert!(!logs.contains(secret), "a secret reached the logs");
    }
}

/// One store among several in a database, in a schema of its own (the URL's search path):
/// the README's `pg_dump -n` takes that schema alone, and the store restored into a new
/// database is served with the same URL options.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(all(callgate_test_postgres, callgate_pg_tools)),
    ignore = "needs PostgreSQL (CALLGATE_TEST_POSTGRES) and pg_dump and pg_restore on PATH (Debian package postgresql-client; .ci/run installs it)"
)]
async fn a_store_in_a_schema_of_its_own_is_dumped_alone_and_restored() {
    let server = drill_server();
    let live = TestApp::spawn().await;
    // A second store in the same database, which the dump leaves out.
    let other = TestApp::spawn().await;
    other.tenant("t-other", &["75201"], &["hvac"]).await;
    let live_url = postgres_schema(live.dir.path()).unwrap();
    let (_, options) = live_url.split_once('?').unwrap();
    let schema = options.rsplit("%3D").next().unwrap().to_owned();
    let conn = live.twilio_connection("http://127.0.0.1:9").await;
    let sid = "CA20000000000000000000000000000005";
    let id = live.ring(&conn, sid, "+15125550123", AUSTIN_LOCAL).await;

    let mut databases = Databases::new(&server);
    let restored_db = databases.create();
    let restored_url = format!("{restored_db}?{options}");
    let vars = [
        ("SCHEMA", schema.as_str()),
        ("CALLGATE_DATABASE_URL", &live_url),
    ];
    let dumped = dump(DUMP_SCHEMA, &vars);
    live.stop().await;
    other.stop().await;
    restore(&dumped, &restored_db);

    let schemas = on_server(&restored_db, |c| {
        let rows = c
            .query(
                "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 't\\_%' ORDER BY 1",
                &[],
            )
            .unwrap();
        rows.iter().map(|r| r.get(0)).collect::<Vec<String>>()
    });
    assert_eq!(schemas, [schema], "the dump holds that store alone");
    let restored = TestApp::spawn_with(&[("CALLGATE_DATABASE_URL", &restored_url)], "").await;
    assert_eq!(restored.call_id_by_sid(sid).await, id);
    let (s, v) = restored
        .api(Method::GET, "/api/v1/tenants/t-other", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let next = "CA20000000000000000000000000000006";
    deliver_all(
        &restored,
        &conn,
        &[ringing(next, "+15125550123", TOLL_FREE)],
    )
    .await;
    restored.call_id_by_sid(next).await;
    restored.stop().await;
}
