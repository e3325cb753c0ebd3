//! What monitoring reads: `/metrics` from a fresh process (every family described, every
//! documented counter at 0), checked by Prometheus's own `promtool`, and the alert rules of
//! `deploy/alerts.yml`.

use crate::crash::{command, serve};
use crate::support::*;
use callgate::telemetry::{FAMILIES, Kind};
use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

/// The families of an exposition: name → (kind of its `# TYPE` line, has a `# HELP` line,
/// its samples).
type Families = BTreeMap<String, (Option<String>, bool, Vec<(String, f64)>)>;

fn families(text: &str) -> Families {
    let mut out = Families::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some("#"), Some("HELP"), Some(name)) => {
                out.entry(name.to_owned()).or_default().1 = true;
            }
            (Some("#"), Some("TYPE"), Some(name)) => {
                out.entry(name.to_owned()).or_default().0 = words.next().map(str::to_owned);
            }
            (Some(series), Some(value), _) if !series.starts_with('#') => {
                let name = series.split('{').next().unwrap();
                let family = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| name.strip_suffix(s).filter(|f| out.contains_key(*f)))
                    .unwrap_or(name);
                out.entry(family.to_owned())
                    .or_default()
                    .2
                    .push((series.to_owned(), value.parse().unwrap()));
            }
            _ => {}
        }
    }
    out
}

fn documented(kind: Kind) -> impl Iterator<Item = &'static str> {
    FAMILIES
        .iter()
        .filter(move |(_, k, _)| *k == kind)
        .map(|(name, _, _)| *name)
}

async fn scrape(base: &str) -> String {
    let res = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

/// A fresh process shows every counter and gauge family at once, with `# HELP` and `# TYPE`,
/// every counter series at 0, and the known label values registered (each rejection reason
/// and outbox outcome of each provider); histograms appear, described, once recorded.
#[tokio::test]
async fn a_fresh_process_shows_every_documented_counter_at_zero() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr) = serve(command(dir.path())).await;
    let base = format!("http://{addr}");
    let first = families(&scrape(&base).await);
    for name in documented(Kind::Counter).chain(documented(Kind::Gauge)) {
        let (kind, help, samples) = first
            .get(name)
            .unwrap_or_else(|| panic!("{name} is missing from a fresh process"));
        assert!(*help, "{name} has no # HELP");
        assert!(kind.is_some(), "{name} has no # TYPE");
        assert!(!samples.is_empty(), "{name} has no series");
    }
    for name in documented(Kind::Counter) {
        for (series, value) in &first[name].2 {
            assert_eq!(*value, 0.0, "{series} in a fresh process");
        }
    }
    let rejected: Vec<&str> = first["callgate_webhooks_rejected_total"]
        .2
        .iter()
        .map(|(s, _)| s.as_str())
        .collect();
    for (provider, reason) in [
        ("twilio", "bad_signature"),
        ("telnyx", "stale"),
        ("vonage", "body_hash_mismatch"),
        ("twilio", "unknown_connection"),
        ("plivo", "malformed"),
        ("unknown", "unknown_provider"),
    ] {
        let found = rejected.iter().any(|s| {
            s.contains(&format!("provider=\"{provider}\""))
                && s.contains(&format!("reason=\"{reason}\""))
        });
        assert!(found, "no {provider}/{reason} series in {rejected:?}");
    }
    assert_eq!(first["callgate_store_writable"].2[0].1, 1.0);
    assert_eq!(first["callgate_oldest_unended_call_seconds"].2[0].1, 0.0);

    // A request and a write later, the histograms are there too, described.
    let conn = crate::crash::api(
        &reqwest::Client::new(),
        &base,
        reqwest::Method::POST,
        "/api/v1/connections",
        Some(serde_json::json!({"provider": "twilio", "name": "m", "secrets": {"auth_token": AUTH_TOKEN}})),
    )
    .await;
    assert!(conn["id"].is_string());
    let text = scrape(&base).await;
    let later = families(&text);
    // The embedded store's writer times every commit; PostgreSQL's, the webhook batches.
    let mut recorded = vec!["callgate_http_request_seconds"];
    if postgres_server().is_none() {
        recorded.push("callgate_store_commit_seconds");
    }
    for name in recorded {
        let (kind, help, _) = later
            .get(name)
            .unwrap_or_else(|| panic!("{name} is not recorded"));
        assert!(*help && kind.as_deref() == Some("histogram"), "{name}");
    }
    for (name, (kind, help, _)) in &later {
        assert!(*help && kind.is_some(), "{name} lacks # HELP or # TYPE");
        assert!(
            FAMILIES.iter().any(|(n, _, _)| n == name),
            "{name} is not in telemetry::FAMILIES"
        );
    }
    promtool_check_metrics(&text);
    child.start_kill().unwrap();
}

/// `promtool check metrics` on `text`: no error, no lint.
#[cfg(callgate_promtool)]
fn promtool_check_metrics(text: &str) {
    let (ok, out) = promtool(&["check", "metrics"], Some(text));
    assert!(
        ok && out.trim().is_empty(),
        "promtool check metrics:\n{out}"
    );
}

/// Without promtool the check is the ignored test below; here it is not claimed.
#[cfg(not(callgate_promtool))]
fn promtool_check_metrics(_text: &str) {}

/// Runs promtool from the repository root: whether it succeeded, and what it printed.
fn promtool(args: &[&str], stdin: Option<&str>) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool was found at build time (cfg callgate_promtool) and must run");
    let mut input = child.stdin.take().unwrap();
    input
        .write_all(stdin.unwrap_or_default().as_bytes())
        .unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The exposition of a process that took webhooks, refused some and ran outbox jobs passes
/// `promtool check metrics` (a fresh one is checked above).
#[tokio::test]
#[cfg_attr(
    not(callgate_promtool),
    ignore = "promtool is not on PATH (Debian package prometheus; .ci/run installs it)"
)]
async fn the_metrics_pass_promtool_after_traffic() {
    let app = TestApp::spawn().await;
    let conn = app.twilio_connection("https://api.twilio.com").await;
    let params = ringing(
        "CA00000000000000000000000000000001",
        "+15125550123",
        TOLL_FREE,
    );
    assert_eq!(app.twilio(&conn, &pairs(&params)).await.status(), 204);
    let res = app
        .http
        .post(format!("{}/webhooks/twilio/{conn}", app.base))
        .header("x-twilio-signature", "forged")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("CallSid=CA1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let text = scrape(&app.base).await;
    assert!(text.contains("reason=\"bad_signature\""), "{text}");
    let (ok, out) = promtool(&["check", "metrics"], Some(&text));
    assert!(
        ok && out.trim().is_empty(),
        "promtool check metrics:\n{out}"
    );
    app.stop().await;
}

/// `deploy/alerts.yml` passes `promtool check rules`, and its unit tests
/// (`deploy/alerts.test.yml`: each alert fires on the series it watches, and not before its
/// `for`) pass `promtool test rules`.
#[test]
#[cfg_attr(
    not(callgate_promtool),
    ignore = "promtool is not on PATH (Debian package prometheus; .ci/run installs it)"
)]
fn the_alert_rules_pass_promtool() {
    let (ok, out) = promtool(&["check", "rules", "deploy/alerts.yml"], None);
    assert!(ok && out.contains("SUCCESS"), "{out}");
    let (ok, out) = promtool(&["test", "rules", "deploy/alerts.test.yml"], None);
    assert!(ok && out.contains("SUCCESS"), "{out}");
}

/// Every metric the alert rules read is one callgate exports (or Prometheus's own `up`).
#[test]
fn the_alert_rules_read_exported_metrics() {
    let rules =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/alerts.yml")).unwrap();
    let mut read = 0;
    for word in rules.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if word.starts_with("callgate_") && word.len() > "callgate_".len() {
            assert!(
                FAMILIES.iter().any(|(n, _, _)| *n == word),
                "alerts.yml reads {word}, which callgate does not export"
            );
            read += 1;
        }
    }
    assert!(read >= 6, "{read}");
}

/// The store's backlog, as the gauges read it: the oldest call with no end (a ringing one),
/// none once it completed; the outbox jobs not done.
#[tokio::test]
async fn the_backlog_gauges_read_open_calls_and_pending_jobs() {
    let app = TestApp::spawn().await;
    let store = app.running.as_ref().unwrap().state.store.clone();
    let read = || async { store.read(callgate::store::gauges::backlog).await.unwrap() };
    let empty = read().await;
    assert_eq!(empty.oldest_unended_call, None);
    assert_eq!(empty.outbox_pending, 0);
    assert_eq!(empty.oldest_outbox_job, None);

    let conn = app.twilio_connection("https://api.twilio.com").await;
    let sid = "CA00000000000000000000000000000007";
    let params = ringing(sid, "+15125550123", TOLL_FREE);
    assert_eq!(app.twilio(&conn, &pairs(&params)).await.status(), 204);
    assert!(read().await.oldest_unended_call.is_some());

    let done = status(
        sid,
        "+15125550123",
        TOLL_FREE,
        "completed",
        1,
        "Mon, 23 Nov 2026 18:00:09 +0000",
    );
    assert_eq!(app.twilio(&conn, &pairs(&done)).await.status(), 204);
    assert_eq!(read().await.oldest_unended_call, None);
    app.stop().await;
}
