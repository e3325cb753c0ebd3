//! `callgate backup --to DIR`: a consistent copy of the embedded store and its key file,
//! taken while `serve` runs, that `serve` serves at once; with PostgreSQL, a refusal that
//! points at pg_dump.

use crate::crash::{api, send_ringing, serve, stored_call_sids};
use crate::support::*;
use std::path::Path;
use std::process::Stdio;
use tokio::process::Command;

/// `callgate serve` on the embedded store in `data_dir`, its master key in the key file
/// there (no CALLGATE_MASTER_KEY), as a zero-configuration install runs.
fn embedded(data_dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_callgate"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CALLGATE_LISTEN", "127.0.0.1:0")
        .env("CALLGATE_DATA_DIR", data_dir)
        .env("CALLGATE_PUBLIC_URL", PUBLIC)
        .env("CALLGATE_BOOTSTRAP_TOKEN", TOKEN)
        .env("RUST_LOG", "warn")
        .kill_on_drop(true);
    cmd
}

/// Runs `callgate ARGS` with `envs`: whether it succeeded, its standard output and error.
async fn cli(envs: &[(&str, &Path)], args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_callgate"))
        .env_clear()
        .envs(envs.iter().map(|(k, v)| (*k, v.as_os_str())))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The restore drill: serve, take webhooks, back up while webhooks keep arriving, serve the
/// copy from its directory alone, and find every call acknowledged before the backup began,
/// with the connection's sealed secrets opening under the copied key (a webhook signed with
/// them is accepted by the copy).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(callgate_test_postgres, ignore = "copies the embedded store's files")]
async fn a_backup_taken_while_serving_is_served_at_once() {
    require_embedded_store();
    let live = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let (mut child, addr) = serve(embedded(live.path())).await;
    let base = format!("http://{addr}");
    let body = serde_json::json!({"provider": "twilio", "name": "drill", "secrets": {"auth_token": AUTH_TOKEN}});
    let created = api(
        &http,
        &base,
        reqwest::Method::POST,
        "/api/v1/connections",
        Some(body),
    )
    .await;
    let conn = created["id"].as_str().unwrap().to_owned();
    for i in 0..50 {
        assert!(send_ringing(&http, &base, &conn, &format!("CA{i:032}")).await);
    }
    let before = stored_call_sids(&http, &base).await;
    assert_eq!(before.len(), 50);

    // Webhooks keep arriving while the backup runs.
    let load = {
        let (http, base, conn) = (http.clone(), base.clone(), conn.clone());
        tokio::spawn(async move {
            for i in 50..250 {
                assert!(send_ringing(&http, &base, &conn, &format!("CA{i:032}")).await);
            }
        })
    };
    let copy = tempfile::tempdir().unwrap();
    let target = copy.path().join("nested").join("backup");
    let (ok, out, err) = cli(
        &[("CALLGATE_DATA_DIR", live.path())],
        &["backup", "--to", target.to_str().unwrap()],
    )
    .await;
    assert!(ok, "{err}");
    load.await.unwrap();
    let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(report["bytes"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(
        report["key_file"],
        target.join("master.key").display().to_string()
    );
    assert!(err.contains("store: "), "{err}");
    assert_eq!(mode(&target), 0o700);
    assert_eq!(mode(&target.join("callgate.db")), 0o600);
    assert_eq!(mode(&target.join("master.key")), 0o600);
    assert_eq!(
        std::fs::read(target.join("master.key")).unwrap(),
        std::fs::read(live.path().join("master.key")).unwrap()
    );
    // Into a directory that already holds a store: refused, nothing overwritten.
    let (ok, _, err) = cli(
        &[("CALLGATE_DATA_DIR", live.path())],
        &["backup", "--to", target.to_str().unwrap()],
    )
    .await;
    assert!(!ok && err.contains("exists"), "{err}");
    child.start_kill().unwrap();
    child.wait().await.unwrap();

    let (mut restored, addr) = serve(embedded(&target)).await;
    let base = format!("http://{addr}");
    let after = stored_call_sids(&http, &base).await;
    assert!(
        before.is_subset(&after),
        "every call acknowledged before the backup is in it"
    );
    // A consistent copy: whatever it holds of the calls sent during the backup is a prefix
    // of them (one sender, in order), never a gap.
    let during = after.len() - before.len();
    for i in 50..50 + during {
        assert!(after.contains(&format!("CA{i:032}")), "a gap at CA{i:032}");
    }
    assert!(send_ringing(&http, &base, &conn, &format!("CA{:032}", 999)).await);
    restored.start_kill().unwrap();
}

/// The backup needs the store and its key; with PostgreSQL it refuses, pointing at pg_dump.
#[tokio::test]
async fn a_backup_refuses_what_it_cannot_copy() {
    let empty = tempfile::tempdir().unwrap();
    let target = empty.path().join("copy");
    let to = target.to_str().unwrap();
    let (ok, _, err) = cli(
        &[("CALLGATE_DATA_DIR", empty.path())],
        &["backup", "--to", to],
    )
    .await;
    assert!(!ok && err.contains("no store at"), "{err}");
    assert!(!target.exists());

    let (ok, _, err) = cli(
        &[
            ("CALLGATE_DATA_DIR", empty.path()),
            (
                "CALLGATE_DATABASE_URL",
                Path::new("postgres://callgate:pw@db.invalid:5432/callgate"),
            ),
            ("CALLGATE_MASTER_KEY", Path::new(MASTER_KEY)),
        ],
        &["backup", "--to", to],
    )
    .await;
    assert!(
        !ok && err.contains("pg_dump") && err.contains("deploy/README.md"),
        "{err}"
    );
    assert!(!err.contains("pw"), "no password in the message: {err}");
    assert!(!target.exists());
}

/// With the master key in CALLGATE_MASTER_KEY, the copy holds the database only (no key
/// file, `key_file: null`), and the command says that serving it needs the key.
#[tokio::test]
#[cfg_attr(callgate_test_postgres, ignore = "copies the embedded store's files")]
async fn a_backup_with_the_key_in_the_environment_holds_no_key_file() {
    require_embedded_store();
    let live = tempfile::tempdir().unwrap();
    let key = Path::new(MASTER_KEY);
    let env = [
        ("CALLGATE_DATA_DIR", live.path()),
        ("CALLGATE_MASTER_KEY", key),
    ];
    let (ok, _, err) = cli(&env, &["--create-store", "tenant", "list"]).await;
    assert!(ok, "{err}");
    let target = live.path().join("copy");
    let (ok, out, err) = cli(&env, &["backup", "--to", target.to_str().unwrap()]).await;
    assert!(ok, "{err}");
    let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(report["key_file"], serde_json::Value::Null, "{report}");
    assert!(err.contains("CALLGATE_MASTER_KEY"), "{err}");
    assert!(target.join("callgate.db").is_file());
    assert!(!target.join("master.key").exists());
}
