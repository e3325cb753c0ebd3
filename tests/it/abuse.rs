//! Hostile input at the HTTP edge: ids that cannot be ids, times and integers at the ends of
//! their ranges, secret values in error messages, header spellings, method and body abuse.

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Ill-shaped connection ids (too long, wrong alphabet, wrong prefix) are unknown before any
/// lookup: the contract's 404 `unknown_connection`, whose message says what an id looks like;
/// a well-shaped unknown id is the same 404.
#[tokio::test]
async fn webhook_connection_ids_that_cannot_be_ids_are_refused_before_any_lookup() {
    let app = TestApp::spawn().await;
    let long = "a".repeat(60 * 1024);
    for id in [
        long.as_str(),
        "conn_nope",
        "conn_01936F2A7C4B7E0E8D9F0A1B2C3D4E5F",
        "conn_01936f2a7c4b7e0e8d9f0a1b2c3d4e5f00",
        "01936f2a7c4b7e0e8d9f0a1b2c3d4e5f",
        "conn_01936f2a7c4b7e0e8d9f0a1b2c3d4e5%C3%A9",
    ] {
        let res = app
            .raw_webhook(
                "twilio",
                id,
                &[("content-type", "application/x-www-form-urlencoded")],
                "a=b",
            )
            .await;
        assert_eq!(
            res.status(),
            StatusCode::NOT_FOUND,
            "{}",
            &id[..id.len().min(40)]
        );
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["error"]["code"], "unknown_connection", "{v}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.contains("conn_ followed by 32"), "{message}");
    }
    let res = app
        .raw_webhook(
            "twilio",
            "conn_01936f2a7c4b7e0e8d9f0a1b2c3d4e5f",
            &[("content-type", "application/x-www-form-urlencoded")],
            "a=b",
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["code"], "unknown_connection", "{v}");
}

/// A correctly signed delivery whose timestamp converts past year 9999 is stored and
/// acknowledged (the time is informative: it is dropped, never a panic, never lost); the call
/// reads back.
#[tokio::test]
async fn a_signed_webhook_dated_past_year_9999_is_stored_without_its_time() {
    let app = TestApp::spawn().await;
    let conn = app.twilio_connection("https://api.twilio.com").await;
    let sid = "CA90000000000000000000000000009999";
    for (seq, ts) in [
        (0, "Fri, 31 Dec 9999 23:59:59 -2359"),
        (1, "Fri, 31 Dec 9999 23:59:59 -0001"),
    ] {
        let params = status(sid, "+15125550123", TOLL_FREE, "ringing", seq, ts);
        let res = app.twilio(&conn, &pairs(&params)).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT, "{ts}");
    }
    let calls = app.get("/api/v1/calls").await;
    let call = calls["calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["provider_call_id"] == sid)
        .unwrap_or_else(|| panic!("the call is stored: {calls}"));
    let id = call["id"].as_str().unwrap();
    app.get(&format!("/api/v1/calls/{id}")).await;
}

/// Grace periods past 30 days (and the values that overflowed the time arithmetic) are 422
/// with a message naming the bound; nothing is rotated. Values past u64 are malformed JSON
/// numbers for the field: 400.
#[tokio::test]
async fn rotation_grace_periods_out_of_range_are_refused_not_a_panic() {
    let app = TestApp::spawn().await;
    let conn = app.twilio_connection("https://api.twilio.com").await;
    let path = format!("/api/v1/connections/{conn}/rotate");
    for grace in [
        "1000000000000",
        "9007199254740993",
        "9223372036854775807",
        "18446744073709551615",
        "2592001",
    ] {
        let body: Value = serde_json::from_str(&format!(
            r#"{{"secrets": {{"auth_token": "twilio-auth-token-9"}}, "grace_period_secs": {grace}}}"#
        ))
        .unwrap();
        let (s, v) = app.api(Method::POST, &path, Some(body)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{grace}: {v}");
        assert_eq!(v["error"]["code"], "invalid_grace_period", "{v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains("2592000"),
            "{v}"
        );
    }
    for raw in [
        r#"{"secrets": {"auth_token": "twilio-auth-token-9"}, "grace_period_secs": 18446744073709551616}"#,
        r#"{"secrets": {"auth_token": "twilio-auth-token-9"}, "grace_period_secs": -1}"#,
        r#"{"secrets": {"auth_token": "twilio-auth-token-9"}, "grace_period_secs": 1e300}"#,
    ] {
        let res = app
            .http
            .post(format!("{}{path}", app.base))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{raw}");
    }
    // Nothing was rotated: the first token still signs, and no previous secrets are held.
    let v = app.get(&format!("/api/v1/connections/{conn}")).await;
    assert!(v["previous_secrets_until"].is_null(), "{v}");
    let (s, v) = app
        .api(
            Method::POST,
            &path,
            Some(json!({"secrets": {"auth_token": "twilio-auth-token-9"}, "grace_period_secs": 2_592_000})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

/// Reads from a raw socket until the peer closes it (or 20 s pass): what it answered.
async fn answer_of(mut s: tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(20), s.read_to_end(&mut got)).await;
    String::from_utf8_lossy(&got).into_owned()
}

/// A request body that never arrives is 408 `request_timeout` once the body timeout passes
/// (not 503 from the handler's timeout).
#[tokio::test]
async fn a_body_that_never_arrives_is_408() {
    use tokio::io::AsyncWriteExt;
    let app = TestApp::spawn_with(&[("CALLGATE_BODY_TIMEOUT_MS", "300")], "").await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    s.write_all(
        format!(
            "POST /api/v1/connections HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let answer = answer_of(s).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"request_timeout\""), "{answer}");
}

/// Silent and stalled connections are closed by the header-read timeout, an idle keep-alive
/// connection by the idle timeout; an event stream outlives both (it has a request in
/// flight) and still delivers.
#[tokio::test]
async fn connection_timeouts_close_silent_sockets_but_not_an_event_stream() {
    use tokio::io::AsyncWriteExt;
    let app = TestApp::spawn_with(
        &[
            ("CALLGATE_HEADER_READ_TIMEOUT_MS", "300"),
            ("CALLGATE_IDLE_TIMEOUT_SECS", "1"),
        ],
        "",
    )
    .await;
    let conn = app.twilio_connection("https://api.twilio.com").await;
    let mut stream = crate::events::Stream::open(&app, None).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let silent = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut stalled = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stalled
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let mut idle = tokio::net::TcpStream::connect(&addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(answer_of(silent).await, "");
    assert_eq!(answer_of(stalled).await, "");
    // The idle one got its answer, then was closed.
    assert!(answer_of(idle).await.starts_with("HTTP/1.1 200"));
    // The stream has now been open longer than both timeouts (it was opened before the idle
    // connection). That it is not closed can only be shown over time: a second keep-alive
    // connection, opened after the first was closed, is left idle until the server closes it
    // too, a whole idle timeout later; the stream still carries a new call after that.
    let mut later = tokio::net::TcpStream::connect(&addr).await.unwrap();
    later
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert!(answer_of(later).await.starts_with("HTTP/1.1 200"));
    let sid = "CA70000000000000000000000000000001";
    let res = app
        .twilio(&conn, &pairs(&ringing(sid, "+15125550123", TOLL_FREE)))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    stream.call_update(sid).await;
}

/// A test app with `env`, and the address to open raw sockets on.
async fn raw_app(env: &[(&str, &str)]) -> (TestApp, String) {
    let app = TestApp::spawn_with(env, "").await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    (app, addr)
}

/// A raw socket to `addr` that has sent `bytes`.
async fn sent(addr: &str, bytes: &[u8]) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    s
}

/// A request with a body of two bytes, of which only the first is sent: it stays in flight
/// until the test sends the second (`}`). Its `Expect: 100-continue` makes the server answer
/// `100 Continue` once the handler reads the body, when the request is surely in flight.
fn held_body_request() -> String {
    format!(
        "POST /api/v1/connections HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n{{"
    )
}

/// The first bytes a socket receives (or "" when it closes or 20 s pass).
async fn first_bytes(s: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0; 4096];
    let read = tokio::time::timeout(std::time::Duration::from_secs(20), s.read(&mut buf)).await;
    let n = read.ok().and_then(Result::ok).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// The cap is full of connections with a request in flight when a new one arrives, so none
/// can be closed for it; when those requests end a moment later, one of the connections is
/// closed for the new one at once, not after its idle timeout (40 s here, past the 20 s
/// that `answer_of` waits, so the test fails rather than hangs).
#[tokio::test]
async fn a_full_cap_closes_a_connection_for_a_waiting_one_as_soon_as_its_request_ends() {
    use tokio::io::AsyncWriteExt;
    let (_app, addr) = raw_app(&[
        ("CALLGATE_MAX_CONNECTIONS", "2"),
        ("CALLGATE_IDLE_TIMEOUT_SECS", "40"),
    ])
    .await;
    let mut busy = Vec::new();
    for _ in 0..2 {
        let mut s = sent(&addr, held_body_request().as_bytes()).await;
        // The body is being read: the request is in flight.
        assert!(first_bytes(&mut s).await.starts_with("HTTP/1.1 100"));
        busy.push(s);
    }
    let waiting = sent(
        &addr,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    // Time for the server to accept it and find every connection busy (when it is slower,
    // the test passes without showing anything, never fails).
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    for s in &mut busy {
        s.write_all(b"}").await.unwrap();
        assert!(first_bytes(s).await.starts_with("HTTP/1.1 4"));
    }
    // Both stay open on the client's side: only the server can make room.
    assert!(answer_of(waiting).await.starts_with("HTTP/1.1 200"));
    drop(busy);
}

/// A new connection's header-read timeout runs from its accept, not from its first byte: a
/// socket silent for 1.8 s that then sends one byte is closed at 2 s, before the rest of
/// its request (sent at 2.8 s) could be answered.
#[tokio::test]
async fn the_first_header_read_timeout_runs_from_the_accept() {
    use tokio::io::AsyncWriteExt;
    let (_app, addr) = raw_app(&[("CALLGATE_HEADER_READ_TIMEOUT_MS", "2000")]).await;
    let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1800)).await;
    s.write_all(b"G").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    // Refused or not: the server has closed it.
    let _ = s
        .write_all(b"ET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await;
    assert_eq!(answer_of(s).await, "");
}

/// A graceful stop closes at once the connections with no request in flight, idle or still
/// sending headers (the header-read timeout is a minute here, the stop is given 20 s), and
/// lets a request in flight finish with its answer.
#[tokio::test]
async fn a_graceful_stop_closes_quiet_connections_at_once_and_finishes_requests() {
    use tokio::io::AsyncWriteExt;
    let (app, addr) = raw_app(&[
        ("CALLGATE_HEADER_READ_TIMEOUT_MS", "60000"),
        ("CALLGATE_IDLE_TIMEOUT_SECS", "60"),
    ])
    .await;
    let sending = sent(&addr, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ").await;
    let mut idle = sent(&addr, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(first_bytes(&mut idle).await.starts_with("HTTP/1.1 200"));
    let mut in_flight = sent(&addr, held_body_request().as_bytes()).await;
    assert!(
        first_bytes(&mut in_flight)
            .await
            .starts_with("HTTP/1.1 100")
    );
    let stopped = tokio::spawn(app.stop());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    in_flight.write_all(b"}").await.unwrap();
    assert!(answer_of(in_flight).await.starts_with("HTTP/1.1 4"));
    // The stop ends while both quiet sockets are still open on the client's side.
    tokio::time::timeout(std::time::Duration::from_secs(20), stopped)
        .await
        .expect("stopped without waiting for the client sending headers")
        .unwrap();
    assert_eq!(answer_of(sending).await, "");
    assert_eq!(answer_of(idle).await, "");
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A data directory callgate creates is 0700, and the database, its WAL and SHM files and the
/// key file are 0600.
#[tokio::test]
#[cfg_attr(
    callgate_test_postgres,
    ignore = "the embedded store's files: runs without CALLGATE_TEST_POSTGRES"
)]
async fn the_store_callgate_creates_is_private_to_its_owner() {
    require_embedded_store();
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("new/data");
    let app = TestApp::spawn_with(&[("CALLGATE_DATA_DIR", data.to_str().unwrap())], "").await;
    app.twilio_connection("https://api.twilio.com").await;
    assert_eq!(mode(&data), 0o700, "data directory");
    for file in [
        "callgate.db",
        "callgate.db-wal",
        "callgate.db-shm",
        "master.key",
    ] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    app.stop().await;
}

/// An existing data directory open to others is kept, with a warning at start-up; files an
/// earlier run left readable to others are narrowed to 0600.
#[tokio::test]
async fn a_data_directory_open_to_others_is_warned_about_at_start_up() {
    use std::os::unix::fs::PermissionsExt;
    use tokio::io::AsyncBufReadExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let db = dir.path().join("callgate.db");
    std::fs::write(&db, b"").unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut cmd = crate::crash::command(dir.path());
    cmd.env(
        "CALLGATE_DATABASE_URL",
        format!("sqlite://{}", db.display()),
    )
    .env("RUST_LOG", "warn")
    .arg("serve")
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let warned = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("data directory is open to other users") {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    assert!(warned, "no warning about the 0755 data directory");
    // Started: the database file was narrowed before SQLite opened it.
    crate::support::eventually("the database narrowed to 0600", || async {
        mode(&db) == 0o600
    })
    .await;
    assert_eq!(
        mode(dir.path()),
        0o755,
        "the operator's directory is left as it is"
    );
    child.start_kill().unwrap();
    let _ = child.wait().await;
}

/// Secret values never come back in an error, whatever shape they were sent in.
#[tokio::test]
async fn secrets_of_the_wrong_shape_are_refused_without_echoing_them() {
    let app = TestApp::spawn().await;
    let value = "s3cret-token-value-1234";
    for secrets in [
        json!(value),
        json!([value]),
        json!({"auth_token": [value]}),
        json!({"auth_token": {"v": value}}),
    ] {
        let (s, v) = app
            .api(
                Method::POST,
                "/api/v1/connections",
                Some(json!({"provider": "twilio", "name": "Main", "secrets": secrets})),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert!(
            !v.to_string().contains("s3cret"),
            "the secret is echoed: {v}"
        );
        assert!(
            v["error"]["message"].as_str().unwrap().contains("secret"),
            "{v}"
        );
    }
}

/// The scheme of `Authorization` is case-insensitive.
#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = TestApp::spawn().await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let res = app
            .http
            .get(format!("{}/api/v1/connections", app.base))
            .header("authorization", format!("{scheme} {TOKEN}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{scheme}");
    }
    for bad in [
        format!("Basic {TOKEN}"),
        format!("Bearer{TOKEN}"),
        "Bearer ".to_owned(),
    ] {
        let res = app
            .http
            .get(format!("{}/api/v1/connections", app.base))
            .header("authorization", bad.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{bad}");
    }
}

/// A 405 names the methods the route takes.
#[tokio::test]
async fn method_not_allowed_answers_carry_allow() {
    let app = TestApp::spawn().await;
    let res = app
        .http
        .delete(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    let allow = res.headers()["allow"].to_str().unwrap().to_owned();
    assert!(allow.contains("GET"), "{allow}");
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["code"], "method_not_allowed", "{v}");
}

/// User ids that spell a reserved actor in another case are refused, as the actor is.
#[tokio::test]
async fn look_alike_actor_ids_are_reserved() {
    let app = TestApp::spawn().await;
    for id in ["Bootstrap", "SYSTEM", "Ops", "system"] {
        let (s, v) = app
            .api(
                Method::PUT,
                &format!("/api/v1/users/{id}"),
                Some(json!({"name": "Look-alike", "permissions": [], "tenant_ids": []})),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{id}: {v}");
        assert_eq!(v["error"]["code"], "reserved_user_id", "{v}");
    }
}

/// Makes the app's store refuse new data as a full disk does, until [`DiskFull::free`]: on
/// SQLite the writer's size limit (`max_page_count`) is set to the database's size after a
/// ballast table has taken the free pages; on PostgreSQL triggers answer inserts with
/// SQLSTATE 53100 (disk_full), what the server says when it cannot extend a file.
enum DiskFull {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl DiskFull {
    async fn fill(app: &TestApp) -> Self {
        let store = app.running.as_ref().unwrap().state.store.clone();
        if let Some(url) = postgres_schema(app.dir.path()) {
            run_sql(
                &url,
                "CREATE FUNCTION test_disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' \
                 USING ERRCODE = 'disk_full'; END $$; \
                 CREATE TRIGGER test_full BEFORE INSERT ON deliveries \
                 FOR EACH ROW EXECUTE FUNCTION test_disk_full(); \
                 CREATE TRIGGER test_full BEFORE INSERT ON readiness_probe \
                 FOR EACH ROW EXECUTE FUNCTION test_disk_full();",
            );
            return Self::Postgres(url);
        }
        let db = app.dir.path().join("callgate.db");
        rusqlite::Connection::open(&db)
            .unwrap()
            .execute_batch(
                "CREATE TABLE test_ballast (b BLOB); \
                 INSERT INTO test_ballast VALUES (zeroblob(2097152));",
            )
            .unwrap();
        store
            .write(|c| {
                let pages: i64 = c.query_one("PRAGMA page_count", &[], |r| r.get(0))?;
                c.query_one(&format!("PRAGMA max_page_count = {pages}"), &[], |r| {
                    r.get::<i64>(0)
                })
            })
            .await
            .unwrap();
        Self::Sqlite(db)
    }

    /// Frees space from outside the app, as an operator would: no request reaches it.
    fn free(self) {
        match self {
            Self::Sqlite(db) => rusqlite::Connection::open(db)
                .unwrap()
                .execute_batch("DROP TABLE test_ballast")
                .unwrap(),
            Self::Postgres(url) => run_sql(
                &url,
                "DROP TRIGGER test_full ON deliveries; DROP TRIGGER test_full ON readiness_probe;",
            ),
        }
    }
}

/// Runs `sql` on PostgreSQL off the async threads.
fn run_sql(url: &str, sql: &str) {
    let (url, sql) = (url.to_owned(), sql.to_owned());
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        client.batch_execute(&sql).unwrap();
    })
    .join()
    .unwrap();
}

/// While every write fails on a full disk, `/readyz` answers 503 with the reason (and keeps
/// answering it: its own probe write fails too); once space is freed it is ready again by
/// itself, on the next `/readyz` alone, and deliveries are stored again.
#[tokio::test]
async fn readyz_is_503_while_writes_fail_on_a_full_disk_and_recovers_by_itself() {
    let app = TestApp::spawn().await;
    let conn = app.twilio_connection("https://api.twilio.com").await;
    let readyz = || async {
        let res = app
            .http
            .get(format!("{}/readyz", app.base))
            .send()
            .await
            .unwrap();
        (res.status(), res.json::<Value>().await.unwrap())
    };
    assert_eq!(readyz().await.0, StatusCode::OK);

    let full = DiskFull::fill(&app).await;
    let mut refused = None;
    for n in 0..2000 {
        let sid = format!("CA{n:032}");
        let params = ringing(&sid, "+15125550123", TOLL_FREE);
        let res = app.twilio(&conn, &pairs(&params)).await;
        if res.status() != StatusCode::NO_CONTENT {
            refused = Some((res.status(), res.json::<Value>().await.unwrap()));
            break;
        }
    }
    let (s, v) = refused.expect("a delivery is refused once the disk is full");
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(v["error"]["code"], "store_unavailable", "{v}");

    for _ in 0..2 {
        let (s, v) = readyz().await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
        assert_eq!(v["status"], "not_ready", "{v}");
        assert_eq!(v["reason"], "disk_full", "{v}");
        assert_eq!(v["error"]["code"], "store_not_writable", "{v}");
    }

    // A write that takes no new space (an outbox claim that finds nothing) succeeds on a
    // full disk too: it says nothing of the space deliveries need.
    let store = app.running.as_ref().unwrap().state.store.clone();
    store
        .write(|_| Ok::<_, callgate::store::StoreError>(()))
        .await
        .unwrap();
    assert_eq!(readyz().await.0, StatusCode::SERVICE_UNAVAILABLE);

    full.free();
    let (s, v) = readyz().await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "ready", "{v}");
    let params = ringing(&format!("CA{:032}", 99_999), "+15125550123", TOLL_FREE);
    assert_eq!(
        app.twilio(&conn, &pairs(&params)).await.status(),
        StatusCode::NO_CONTENT
    );
    app.stop().await;
}

/// No JSON body error repeats a value of the input, whatever field carries it and whatever
/// its type: a subscription's `secret` and a connection's `secrets` sent as numbers,
/// booleans, arrays or objects, a secret in a field of the wrong type or in an unknown
/// variant. Each message still says where: the field's path and the expected type.
#[tokio::test]
async fn json_body_errors_never_repeat_input_values() {
    let app = TestApp::spawn().await;
    let conn = app.twilio_connection("https://api.twilio.com").await;
    let secret = "98765432109876543";
    let secret_text = "s3cretvalue98765";
    let cases: Vec<(Method, String, String, &str)> = vec![
        (
            Method::POST,
            "/api/v1/subscriptions".into(),
            format!(
                r#"{{"url": "https://example.com/h", "event_types": ["call.updated"], "secret": {secret}}}"#
            ),
            "secret: invalid type: an integer, expected a string",
        ),
        (
            Method::POST,
            "/api/v1/subscriptions".into(),
            format!(
                r#"{{"url": "https://example.com/h", "event_types": ["call.updated"], "secret": [{secret}]}}"#
            ),
            "secret: invalid type: an array, expected a string",
        ),
        (
            Method::POST,
            "/api/v1/subscriptions".into(),
            format!(
                r#"{{"url": "https://example.com/h", "event_types": [{secret}], "secret": "{secret_text}"}}"#
            ),
            "event_types.0: invalid type: an integer",
        ),
        (
            Method::POST,
            "/api/v1/connections".into(),
            format!(
                r#"{{"provider": "twilio", "name": "Main", "secrets": {{"auth_token": {secret}}}}}"#
            ),
            "secrets.auth_token: invalid type: an integer, expected a string",
        ),
        (
            Method::POST,
            "/api/v1/connections".into(),
            format!(r#"{{"provider": "twilio", "name": "Main", "secrets": {secret}}}"#),
            "secrets: invalid type: an integer, expected a map",
        ),
        (
            Method::POST,
            "/api/v1/connections".into(),
            format!(
                r#"{{"provider": "twilio", "name": "Main", "secrets": {{"auth_token": "{secret_text}"}}, "options": {{"api_base_url": {secret}}}}}"#
            ),
            "options.api_base_url: invalid type: an integer",
        ),
        (
            Method::POST,
            format!("/api/v1/connections/{conn}/rotate"),
            format!(
                r#"{{"secrets": {{"auth_token": true}}, "grace_period_secs": "{secret_text}"}}"#
            ),
            "invalid type",
        ),
        (
            Method::PUT,
            "/api/v1/settings".into(),
            format!(r#"{{"national_search_mode": "{secret_text}"}}"#),
            "national_search_mode: unknown value, expected one of",
        ),
    ];
    for (method, path, body, says) in cases {
        let res = app
            .http
            .request(method, format!("{}{path}", app.base))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{body}");
        let v: Value = res.json().await.unwrap();
        let text = v.to_string();
        assert!(
            !text.contains(secret) && !text.contains(secret_text),
            "a value is repeated: {v}"
        );
        assert_eq!(v["error"]["code"], "malformed_json", "{v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(says),
            "{body}: {v}"
        );
    }
}

/// Times and integers at and past the ends of their ranges in query strings: list limits,
/// cursors, and the audit trail's `since` and `until` (dates whose offset carries them past
/// year 9999 or before year 0000 included) are answered 200 or 400 with a JSON error, never
/// a 5xx.
#[tokio::test]
async fn extreme_times_and_integers_in_query_strings_are_never_a_5xx() {
    let app = TestApp::spawn().await;
    app.tenant("t-austin", &["78701"], &["hvac"]).await;
    let integers = [
        "0",
        "-1",
        "1001",
        "4294967296",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "18446744073709551615",
        "18446744073709551616",
        "1e3",
        "NaN",
    ];
    let times = [
        "9999-12-31T23:59:59-23:59",
        "9999-12-31T23:59:59.999999999-00:01",
        "0000-01-01T00:00:00+23:59",
        "0000-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "10000-01-01T00:00:00Z",
        "-0001-01-01T00:00:00Z",
    ];
    let mut paths = Vec::new();
    for n in integers {
        for list in [
            "/api/v1/calls",
            "/api/v1/audit",
            "/api/v1/tenants/t-austin/chat-threads",
            "/api/v1/subscriptions/sub_1/deliveries",
        ] {
            paths.push(format!("{list}?limit={n}"));
            paths.push(format!("{list}?cursor={n}"));
        }
    }
    for t in times {
        let t = t.replace('+', "%2B");
        paths.push(format!("/api/v1/audit?since={t}"));
        paths.push(format!("/api/v1/audit?until={t}"));
        paths.push(format!("/api/v1/audit?since={t}&until={t}"));
        paths.push(format!(
            "/api/v1/audit?since=2026-01-01T00:00:00Z&until={t}"
        ));
    }
    for path in paths {
        let res = app
            .http
            .get(format!("{}{path}", app.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let v: Value = res.json().await.unwrap();
        assert!(
            status == StatusCode::OK
                || status == StatusCode::BAD_REQUEST
                || status == StatusCode::NOT_FOUND,
            "{path}: {status} {v}"
        );
        if status != StatusCode::OK {
            assert!(v["error"]["code"].is_string(), "{path}: {v}");
        }
    }
}
