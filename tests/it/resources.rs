//! Resource exhaustion through the public interface: the real binary under a low descriptor
//! limit, held by silent connections, then flooded with long unknown connection ids.

use crate::crash::{command, serve};
use crate::support::*;
use rand::Rng;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The descriptor limit the server runs under.
const NOFILE: usize = 256;
/// Silent sockets held at once: more than the server has descriptors.
const SILENT: usize = 300;
/// Unknown ids posted, and the length of each.
const FLOOD: usize = 10_000;
const ID_BYTES: usize = 60 * 1024;
/// The resident memory the server must stay under.
const RSS_LIMIT_KIB: u64 = 128 * 1024;

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn open_descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// A legitimate signed Twilio status callback; it must be acknowledged (204).
async fn legitimate_webhook(http: &reqwest::Client, base: &str, conn: &str, n: u32) {
    let sid = format!("CA{n:032}");
    let params = ringing(&sid, "+15125550123", TOLL_FREE);
    let body = form(&pairs(&params));
    let (target, headers, body) = signed_request(
        "twilio",
        conn,
        "application/x-www-form-urlencoded",
        &body,
        &[("auth_token", AUTH_TOKEN)],
    );
    let mut post = http.post(format!("{base}{target}"));
    for (name, value) in headers {
        post = post.header(name, value);
    }
    let res = post.body(body).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
}

/// Under `ulimit -n 256`, 300 silent sockets (half send nothing, half stop mid-headers) do
/// not keep a signed webhook out, and every one of them is closed by the server; then 10,000
/// posts to 60 KiB random connection ids leave the resident memory under 128 MiB. Every wait
/// is bounded: the test fails rather than hangs.
#[tokio::test]
async fn silent_sockets_and_long_unknown_ids_do_not_exhaust_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = command(dir.path());
    // The binary, started by a shell that lowers the limit first (`serve` follows as "$@").
    let binary = cmd.as_std().get_program().to_owned();
    let mut limited = tokio::process::Command::new("/bin/sh");
    limited
        .arg("-c")
        .arg(format!("ulimit -n {NOFILE} && exec \"$0\" \"$@\""))
        .arg(binary)
        .env_clear()
        .envs(
            cmd.as_std()
                .get_envs()
                .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned()))),
        )
        .env("CALLGATE_HEADER_READ_TIMEOUT_MS", "1000")
        .env("CALLGATE_IDLE_TIMEOUT_SECS", "2")
        .kill_on_drop(true);
    cmd = limited;
    let (mut child, addr) = serve(cmd).await;
    let pid = child.id().unwrap();
    let base = format!("http://{addr}");
    // The legitimate requests keep no pooled connection: each opens its own, so that none is
    // sent on a keep-alive connection that the server's idle timeout is closing at that moment.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    // The flood's workers keep theirs busy, request after request.
    let flood_http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let (s, v): (StatusCode, Value) = {
        let res = http
            .post(format!("{base}/api/v1/connections"))
            .bearer_auth(TOKEN)
            .json(&json!({"provider": "twilio", "name": "Main", "secrets": {"auth_token": AUTH_TOKEN, "account_sid": ACCOUNT_SID}}))
            .send()
            .await
            .unwrap();
        (res.status(), res.json().await.unwrap())
    };
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let conn = v["id"].as_str().unwrap().to_owned();
    legitimate_webhook(&http, &base, &conn, 1).await;
    let rss_start = rss_kib(pid);
    let fds_start = open_descriptors(pid);

    // Silent sockets: connected, then nothing, or a request that stops mid-headers.
    let started = Instant::now();
    let mut silent = Vec::with_capacity(SILENT);
    for i in 0..SILENT {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        if i % 2 == 1 {
            s.write_all(
                format!("POST /webhooks/twilio/{conn} HTTP/1.1\r\nHost: x\r\nX-Stall: ").as_bytes(),
            )
            .await
            .unwrap();
        }
        silent.push(s);
    }
    let fds_held = open_descriptors(pid);

    // A legitimate webhook is served while they are held.
    let served_at = Instant::now();
    legitimate_webhook(&http, &base, &conn, 2).await;
    let webhook_wait = served_at.elapsed();

    // Each silent socket is closed by the server (EOF or reset), within generous bounds.
    let mut closed = 0;
    for s in &mut silent {
        let mut buf = [0u8; 512];
        let ended = tokio::time::timeout(Duration::from_secs(60), async {
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    // A 408 or other answer before the close is fine; keep reading.
                    Ok(_) => {}
                }
            }
        })
        .await;
        if ended.is_ok() {
            closed += 1;
        }
    }
    assert_eq!(closed, SILENT, "silent sockets closed by the server");
    let all_closed = started.elapsed();
    drop(silent);

    // The flood: random ids of 60 KiB, 16 at a time.
    let flood_started = Instant::now();
    let refused = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    // Ids are windows of one random text, each with its own prefix: all distinct.
    let letters: std::sync::Arc<String> = {
        let mut rng = rand::rng();
        std::sync::Arc::new(
            (0..2 * ID_BYTES)
                .map(|_| char::from(b'a' + rng.random_range(0..26u8)))
                .collect(),
        )
    };
    let mut workers = Vec::new();
    for worker in 0..16 {
        let http = flood_http.clone();
        let base = base.clone();
        let refused = refused.clone();
        let letters = letters.clone();
        workers.push(tokio::spawn(async move {
            for i in 0..FLOOD / 16 {
                let start = rand::rng().random_range(0..ID_BYTES);
                let id = format!("{worker:02}{i:06}{}", &letters[start..start + ID_BYTES - 8]);
                let res = http
                    .post(format!("{base}/webhooks/twilio/{id}"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body("CallSid=CA1")
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), StatusCode::NOT_FOUND);
                refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    let flood_took = flood_started.elapsed();
    let rss_end = rss_kib(pid);
    legitimate_webhook(&http, &base, &conn, 3).await;
    eprintln!(
        "descriptor limit {NOFILE}; server descriptors {fds_start} at rest, {fds_held} with {SILENT} silent sockets; \
         webhook served in {webhook_wait:?} while they were held; all {closed} closed by the server {all_closed:?} after the first opened; \
         {} posts to {ID_BYTES}-byte ids in {flood_took:?}; VmRSS {rss_start} KiB before, {rss_end} KiB after",
        refused.load(std::sync::atomic::Ordering::Relaxed)
    );
    assert!(
        rss_end < RSS_LIMIT_KIB,
        "VmRSS {rss_end} KiB after the flood"
    );
    child.start_kill().unwrap();
    let _ = child.wait().await;
}
