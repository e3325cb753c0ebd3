//! The real binary: durability under SIGKILL, graceful SIGTERM, zero configuration, and the
//! logs (the command line is in cli.rs).

use crate::support::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub(crate) fn command(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_callgate"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CALLGATE_LISTEN", "127.0.0.1:0")
        .envs(store_env(data_dir))
        .env("CALLGATE_PUBLIC_URL", PUBLIC)
        .env("CALLGATE_BOOTSTRAP_TOKEN", TOKEN)
        .env("CALLGATE_MASTER_KEY", MASTER_KEY)
        .env("RUST_LOG", "warn")
        .kill_on_drop(true);
    cmd
}

/// Starts `callgate serve` and waits for its readiness line: the process and its address.
pub(crate) async fn serve(cmd: Command) -> (Child, String) {
    serve_with_stderr(cmd, Stdio::null()).await
}

/// [`serve`] with standard error piped: its logs, read with `wait_with_output` once it stops.
pub(crate) async fn serve_logging(cmd: Command) -> (Child, String) {
    serve_with_stderr(cmd, Stdio::piped()).await
}

/// Stops a process started by [`serve_logging`] with SIGTERM: how it exited, and its logs.
pub(crate) async fn stop_logging(child: Child) -> (std::process::ExitStatus, String) {
    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let out = child.wait_with_output().await.unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn serve_with_stderr(mut cmd: Command, stderr: Stdio) -> (Child, String) {
    let mut child = cmd
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("readiness line in time")
        .unwrap()
        .unwrap();
    let addr = line
        .split("listening on http://")
        .nth(1)
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .trim()
        .to_owned();
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, addr)
}

pub(crate) async fn api(
    http: &reqwest::Client,
    base: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let mut req = http
        .request(method, format!("{base}{path}"))
        .bearer_auth(TOKEN);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    assert!(res.status().is_success(), "{path}: {}", res.status());
    res.json().await.unwrap()
}

pub(crate) async fn stored_call_sids(http: &reqwest::Client, base: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            None => "/api/v1/calls?limit=1000".to_owned(),
            Some(c) => format!("/api/v1/calls?limit=1000&cursor={c}"),
        };
        let page = api(http, base, reqwest::Method::GET, &path, None).await;
        for c in page["calls"].as_array().unwrap() {
            out.insert(c["provider_call_id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

/// Sends a signed `ringing` callback for `sid`: true when it was acknowledged, false when the
/// server could not be reached (it died); any answer other than a 2xx fails the test.
pub(crate) async fn send_ringing(
    http: &reqwest::Client,
    base: &str,
    conn: &str,
    sid: &str,
) -> bool {
    let params = status(
        sid,
        "+15125550123",
        "+18005550199",
        "ringing",
        0,
        "Mon, 23 Nov 2026 18:00:01 +0000",
    );
    let path = format!("/webhooks/twilio/{conn}");
    let body = form(&pairs(&params));
    let sig = twilio_signature(&format!("{PUBLIC}{path}"), &body, AUTH_TOKEN);
    let sent = http
        .post(format!("{base}{path}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", sig)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(res) if res.status().is_success() => true,
        Ok(res) => panic!("unexpected status {}", res.status()),
        Err(_) => false,
    }
}

/// Kills the server with SIGKILL while signed webhooks are in flight, restarts it on the
/// same store, and finds every acknowledged delivery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_acknowledged_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let (mut child, addr) = serve(command(dir.path())).await;
    let mut base = format!("http://{addr}");
    let conn = api(
        &http,
        &base,
        reqwest::Method::POST,
        "/api/v1/connections",
        Some(json!({"provider": "twilio", "name": "crash", "secrets": {"auth_token": AUTH_TOKEN}})),
    )
    .await;
    let conn = conn["id"].as_str().unwrap().to_owned();

    let acked: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let mut total_acked = 0;
    for round in 0..4 {
        let acked_before = acked.lock().unwrap().len();
        let mut senders = Vec::new();
        for worker in 0..16 {
            let (http, base, conn, acked) =
                (http.clone(), base.clone(), conn.clone(), acked.clone());
            senders.push(tokio::spawn(async move {
                for i in 0.. {
                    let sid = format!("CA{round:02}{worker:02}{i:028}");
                    if !send_ringing(&http, &base, &conn, &sid).await {
                        return; // the server died under us
                    }
                    acked.lock().unwrap().insert(sid);
                }
            }));
        }
        // The kill comes once this round has had its share acknowledged (more each round),
        // with the senders still sending. A sender that failed ends the wait: joining it
        // below reports why.
        let share = 40 + 20 * round;
        eventually_within(
            &format!("{share} deliveries acknowledged in round {round}"),
            Duration::from_secs(30),
            || async {
                senders.iter().any(tokio::task::JoinHandle::is_finished)
                    || acked.lock().unwrap().len() >= acked_before + share
            },
        )
        .await;
        child.start_kill().unwrap(); // SIGKILL
        child.wait().await.unwrap();
        for s in senders {
            s.await.unwrap();
        }
        let (next, addr) = serve(command(dir.path())).await;
        child = next;
        let restarted = format!("http://{addr}");
        let stored = stored_call_sids(&http, &restarted).await;
        let acked_now = acked.lock().unwrap().clone();
        let lost: Vec<_> = acked_now.difference(&stored).collect();
        assert!(
            lost.is_empty(),
            "round {round}: {} acknowledged deliveries lost, e.g. {:?}",
            lost.len(),
            lost.first()
        );
        assert!(
            acked_now.len() > total_acked,
            "round {round} acknowledged nothing"
        );
        total_acked = acked_now.len();
        eprintln!("round {round}: {total_acked} acknowledged so far, 0 lost");
        base = restarted;
    }
    child.start_kill().unwrap();
}

/// Two instances on one PostgreSQL database under load; one is killed with SIGKILL: the
/// other keeps acknowledging, and every delivery either acknowledged is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(callgate_test_postgres),
    ignore = "needs PostgreSQL: set CALLGATE_TEST_POSTGRES"
)]
async fn one_of_two_instances_killed_the_other_keeps_acknowledging() {
    required_postgres_server();
    let dir = tempfile::tempdir().unwrap();
    let url = postgres_schema(dir.path()).expect("a schema on the PostgreSQL server");
    let other = tempfile::tempdir().unwrap();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let (mut doomed, addr1) = serve(command(dir.path())).await;
    let mut second = command(other.path());
    second.env("CALLGATE_DATABASE_URL", &url);
    let (mut survivor, addr2) = serve(second).await;
    let (base1, base2) = (format!("http://{addr1}"), format!("http://{addr2}"));
    let conn = api(
        &http,
        &base1,
        reqwest::Method::POST,
        "/api/v1/connections",
        Some(json!({"provider": "twilio", "name": "pair", "secrets": {"auth_token": AUTH_TOKEN}})),
    )
    .await;
    let conn = conn["id"].as_str().unwrap().to_owned();

    let acked: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let killed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let after_kill = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // Each sender's acknowledgements (even senders to the doomed instance, odd ones to the
    // survivor).
    let by_worker: Arc<Vec<AtomicUsize>> = Arc::new((0..12).map(|_| AtomicUsize::new(0)).collect());
    let stop = tokio_util::sync::CancellationToken::new();
    let mut senders = Vec::new();
    for worker in 0..12 {
        let base = if worker % 2 == 0 { &base1 } else { &base2 }.clone();
        let (http, conn, acked, killed, after_kill, by_worker, stop) = (
            http.clone(),
            conn.clone(),
            acked.clone(),
            killed.clone(),
            after_kill.clone(),
            by_worker.clone(),
            stop.clone(),
        );
        senders.push(tokio::spawn(async move {
            for i in 0.. {
                if stop.is_cancelled() {
                    return;
                }
                let sid = format!("CA{worker:02}{i:030}");
                if !send_ringing(&http, &base, &conn, &sid).await {
                    return;
                }
                if killed.load(std::sync::atomic::Ordering::SeqCst) {
                    after_kill.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                acked.lock().unwrap().insert(sid);
                by_worker[worker].fetch_add(1, SeqCst);
            }
        }));
    }
    // Both instances acknowledge under load, then one is killed; the survivor's senders are
    // then each acknowledged several times. A sender that failed ends a wait: joining it below
    // reports why.
    let failed = || senders.iter().any(tokio::task::JoinHandle::is_finished);
    let limit = Duration::from_secs(30);
    eventually_within("both instances acknowledge", limit, || async {
        failed() || (0..12).all(|w| by_worker[w].load(SeqCst) > 0)
    })
    .await;
    doomed.start_kill().unwrap(); // SIGKILL
    doomed.wait().await.unwrap();
    killed.store(true, std::sync::atomic::Ordering::SeqCst);
    let at_kill: Vec<usize> = by_worker.iter().map(|n| n.load(SeqCst)).collect();
    // The doomed instance's senders have ended; one of the survivor's ending is a failure.
    let survivor_failed = || {
        senders
            .iter()
            .skip(1)
            .step_by(2)
            .any(tokio::task::JoinHandle::is_finished)
    };
    eventually_within("the survivor keeps acknowledging", limit, || async {
        survivor_failed()
            || (1..12)
                .step_by(2)
                .all(|w| by_worker[w].load(SeqCst) >= at_kill[w] + 5)
    })
    .await;
    stop.cancel();
    for s in senders {
        s.await.unwrap();
    }
    assert!(
        after_kill.load(std::sync::atomic::Ordering::SeqCst) > 0,
        "the surviving instance acknowledged nothing after the other died"
    );
    let stored = stored_call_sids(&http, &base2).await;
    let acked = acked.lock().unwrap().clone();
    let lost: Vec<_> = acked.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged deliveries lost, e.g. {:?}",
        lost.len(),
        lost.first()
    );
    eprintln!(
        "{} acknowledged by two instances, one killed: 0 lost",
        acked.len()
    );
    survivor.start_kill().unwrap();
}

/// SIGTERM: in-flight requests finish, open event streams end, the process exits 0.
#[tokio::test]
async fn sigterm_stops_gracefully_with_exit_code_0() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = serve(command(dir.path())).await;
    let res = reqwest::get(format!("http://{addr}/readyz")).await.unwrap();
    assert_eq!(res.status(), 200);
    let mut stream = reqwest::Client::new()
        .get(format!("http://{addr}/api/v1/events"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits in time")
        .unwrap();
    assert_eq!(status.code(), Some(0));
    // The stream was ended by the server, not cut by the client.
    while let Ok(Some(_)) = stream.chunk().await {}
}

/// No configuration at all: the embedded store and a private key file appear under
/// ./callgate-data.
#[tokio::test]
async fn serve_needs_no_configuration() {
    let cwd = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_callgate"));
    // Port 0 only so that tests never collide on 8080; everything else is the default.
    cmd.env_clear()
        .env("CALLGATE_LISTEN", "127.0.0.1:0")
        .current_dir(cwd.path())
        .kill_on_drop(true);
    let (mut child, addr) = serve(cmd).await;
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    assert_eq!(
        reqwest::get(format!("http://{addr}/healthz"))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        reqwest::get(format!("http://{addr}/readyz"))
            .await
            .unwrap()
            .status(),
        200
    );
    let data = cwd.path().join("callgate-data");
    assert!(data.join("callgate.db").exists());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(data.join("master.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    child.start_kill().unwrap();
}

/// Secrets appear in no log line, even at debug level, whatever happens to the requests.
#[tokio::test]
async fn secrets_never_reach_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = command(dir.path());
    cmd.env("RUST_LOG", "debug");
    let (child, addr) = serve_logging(cmd).await;
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();
    let secret = "log-probe-secret-7f3a";
    let conn = api(&http, &base, reqwest::Method::POST, "/api/v1/connections", Some(json!({"provider": "twilio", "name": "logs", "secrets": {"auth_token": secret, "account_sid": "AC00000000000000000000000000000001"}}))).await;
    let id = conn["id"].as_str().unwrap();
    let _ = api(
        &http,
        &base,
        reqwest::Method::POST,
        &format!("/api/v1/connections/{id}/rotate"),
        Some(json!({"secrets": {"auth_token": format!("{secret}-2")}})),
    )
    .await;
    let path = format!("/webhooks/twilio/{id}");
    let body = form(&pairs(&status(
        "CA70000000000000000000000000000001",
        "+15125550123",
        "+18005550199",
        "ringing",
        0,
        "Mon, 23 Nov 2026 18:00:01 +0000",
    )));
    for token in [secret, "wrong-token"] {
        let sig = twilio_signature(&format!("{PUBLIC}{path}"), &body, token);
        let _ = http
            .post(format!("{base}{path}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-twilio-signature", sig)
            .body(body.clone())
            .send()
            .await
            .unwrap();
    }
    // A user token, used, revoked, then refused.
    api(
        &http,
        &base,
        reqwest::Method::PUT,
        "/api/v1/users/log-probe",
        Some(
            json!({"name": "Log probe", "permissions": ["contact_center.view"], "tenant_ids": []}),
        ),
    )
    .await;
    let created = api(
        &http,
        &base,
        reqwest::Method::POST,
        "/api/v1/users/log-probe/tokens",
        None,
    )
    .await;
    let user_token = created["token"].as_str().unwrap().to_owned();
    let list_calls = || {
        http.get(format!("{base}/api/v1/calls"))
            .bearer_auth(&user_token)
            .send()
    };
    let res = list_calls().await.unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    let revoke = format!(
        "{base}/api/v1/users/log-probe/tokens/{}",
        created["token_id"].as_str().unwrap()
    );
    let res = http.delete(revoke).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::NO_CONTENT);
    let res = list_calls().await.unwrap();
    assert_eq!(res.status(), reqwest::StatusCode::UNAUTHORIZED);

    let (_, logs) = stop_logging(child).await;
    assert!(!logs.contains(&user_token), "a user token reached the logs");
    assert!(
        logs.contains("webhook signature refused"),
        "the refusal is logged: {logs}"
    );
    assert!(!logs.contains(secret), "a secret reached the logs");
    assert!(
        !logs.contains(MASTER_KEY) && !logs.contains(TOKEN),
        "a key or token reached the logs"
    );
    // Standard error is a pipe here, as under a service manager: no terminal colour codes.
    assert!(
        !logs.contains('\u{1b}'),
        "ANSI escape codes in piped logs: {logs:?}"
    );
}
