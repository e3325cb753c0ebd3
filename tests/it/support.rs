//! Spawning the app and speaking to it.

use callgate::app::{self, Running};
use callgate::config::{Config, Env};
use callgate::store::db::args;
use callgate_adapters::kit::{FixedClock, InboundRequest, SecretSet};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use time::OffsetDateTime;

pub const TOKEN: &str = "test-bootstrap-token";
pub const PUBLIC: &str = "https://hooks.example.test";
pub const AUTH_TOKEN: &str = "twilio-auth-token-1";
pub const ACCOUNT_SID: &str = "AC00000000000000000000000000000001";
/// `t-austin`'s local number in [`TestApp::austin_directory`].
pub const AUSTIN_LOCAL: &str = "+15125550100";
/// The national (toll-free) number in [`TestApp::austin_directory`].
pub const TOLL_FREE: &str = "+18005550199";

pub struct MapEnv(pub HashMap<String, String>);

impl Env for MapEnv {
    fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

/// The variable of the documented test setting: outbound URLs may point at private
/// addresses (the mocks on loopback). Test apps run with it `true`; the tests of the SSRF
/// guard set it `false` ([`STRICT_EGRESS`]).
pub const ALLOW_PRIVATE: &str = "CALLGATE_EGRESS_ALLOW_PRIVATE";

/// The production default of [`ALLOW_PRIVATE`], for `TestApp::spawn_with`.
pub const STRICT_EGRESS: (&str, &str) = (ALLOW_PRIVATE, "false");

/// The environment a test app runs with.
pub fn test_env(data_dir: &std::path::Path) -> HashMap<String, String> {
    let mut env = HashMap::from([
        ("CALLGATE_LISTEN".to_owned(), "127.0.0.1:0".to_owned()),
        ("CALLGATE_PUBLIC_URL".to_owned(), PUBLIC.to_owned()),
        ("CALLGATE_BOOTSTRAP_TOKEN".to_owned(), TOKEN.to_owned()),
        (ALLOW_PRIVATE.to_owned(), "true".to_owned()),
    ]);
    env.extend(store_env(data_dir));
    env
}

/// The master key of every test app on PostgreSQL (and of the command-line tests).
pub const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// The variable that runs the whole suite on PostgreSQL: a server URL, such as
/// `postgres://postgres@127.0.0.1:5432/test`. Each store gets a schema of its own there.
pub const POSTGRES_VAR: &str = "CALLGATE_TEST_POSTGRES";

/// The server of the PostgreSQL pass ([`POSTGRES_VAR`], when set and not empty).
pub fn postgres_server() -> Option<String> {
    std::env::var(POSTGRES_VAR).ok().filter(|v| !v.is_empty())
}

/// The server of the PostgreSQL pass, for a test that needs one. Such a test is marked
/// `#[cfg_attr(not(callgate_test_postgres), ignore = "...")]` (the cfg comes from build.rs),
/// so that without the variable it is reported as ignored; run on purpose without it, it
/// fails here rather than pass having checked nothing.
pub fn required_postgres_server() -> String {
    postgres_server()
        .unwrap_or_else(|| panic!("this test needs PostgreSQL: set {POSTGRES_VAR} to a server URL"))
}

/// For a test of the embedded store only (its files), marked
/// `#[cfg_attr(callgate_test_postgres, ignore = "...")]`: run on purpose in the PostgreSQL
/// pass, it fails here rather than pass having checked nothing.
pub fn require_embedded_store() {
    assert!(
        postgres_server().is_none(),
        "this test checks the embedded store: unset {POSTGRES_VAR}"
    );
}

/// Where a test app whose files live in `data_dir` keeps its data: the embedded store in
/// `data_dir`, or, when [`POSTGRES_VAR`] is set, a PostgreSQL schema named after
/// `data_dir` (a restart on the same directory finds the same data).
pub fn store_env(data_dir: &std::path::Path) -> Vec<(String, String)> {
    let mut env = vec![(
        "CALLGATE_DATA_DIR".to_owned(),
        data_dir.display().to_string(),
    )];
    if let Some(url) = postgres_schema(data_dir) {
        env.push(("CALLGATE_DATABASE_URL".to_owned(), url));
        env.push(("CALLGATE_MASTER_KEY".to_owned(), MASTER_KEY.to_owned()));
    }
    env
}

/// The URL of `data_dir`'s schema (created if missing), when the suite runs on PostgreSQL.
pub fn postgres_schema(data_dir: &std::path::Path) -> Option<String> {
    use sha2::{Digest, Sha256};
    let server = postgres_server()?;
    let digest = Sha256::digest(data_dir.display().to_string().as_bytes());
    let schema: String = std::iter::once("t_".to_owned())
        .chain(digest[..10].iter().map(|b| format!("{b:02x}")))
        .collect();
    let ddl = format!("CREATE SCHEMA IF NOT EXISTS {schema}");
    let admin = server.clone();
    // The blocking client must not run on an async task's thread.
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&admin, postgres::NoTls)
            .unwrap_or_else(|e| panic!("{POSTGRES_VAR} is set but PostgreSQL is unreachable: {e}"));
        client.batch_execute(&ddl).unwrap();
    })
    .join()
    .unwrap();
    let sep = if server.contains('?') { '&' } else { '?' };
    Some(format!("{server}{sep}options=-csearch_path%3D{schema}"))
}

/// Holds the store's write lock from outside the app until dropped: the app's writes wait,
/// then give up.
pub struct StoreBlocker {
    release: Option<std::sync::mpsc::Sender<()>>,
    done: Option<std::thread::JoinHandle<()>>,
}

impl StoreBlocker {
    pub fn hold(data_dir: &std::path::Path) -> Self {
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (held, is_held) = std::sync::mpsc::channel::<()>();
        let pg = postgres_schema(data_dir);
        let db = data_dir.join("callgate.db");
        let done = std::thread::spawn(move || match pg {
            Some(url) => {
                let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
                client
                    .batch_execute("BEGIN; LOCK TABLE deliveries IN ACCESS EXCLUSIVE MODE")
                    .unwrap();
                held.send(()).unwrap();
                let _ = released.recv();
                client.batch_execute("ROLLBACK").unwrap();
            }
            None => {
                let blocker = rusqlite::Connection::open(&db).unwrap();
                blocker.execute_batch("BEGIN EXCLUSIVE").unwrap();
                held.send(()).unwrap();
                let _ = released.recv();
                blocker.execute_batch("ROLLBACK").unwrap();
            }
        });
        is_held.recv().unwrap();
        Self {
            release: Some(release),
            done: Some(done),
        }
    }
}

impl Drop for StoreBlocker {
    fn drop(&mut self) {
        drop(self.release.take());
        if let Some(done) = self.done.take() {
            let _ = done.join();
        }
    }
}

/// A running app with its own store.
pub struct TestApp {
    pub running: Option<Running>,
    pub base: String,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
}

/// Outbox retries fast enough for tests.
pub fn fast_outbox_config(dir: &std::path::Path) -> PathBuf {
    let file = dir.join("callgate.toml");
    std::fs::write(&file, "[outbox]\npoll_interval_ms = 50\nretry_base_ms = 50\nretry_max_secs = 1\nrequest_timeout_ms = 2000\n").unwrap();
    file
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_in(tempfile::tempdir().unwrap()).await
    }

    /// Starts the app on an existing store (a restart).
    pub async fn spawn_in(dir: tempfile::TempDir) -> Self {
        Self::spawn_configured(dir, &[], "").await
    }

    /// Starts the app again on an existing store, with more environment variables.
    pub async fn spawn_configured_in(dir: tempfile::TempDir, env: &[(&str, &str)]) -> Self {
        Self::spawn_configured(dir, env, "").await
    }

    /// Starts the app with more environment variables and configuration file lines.
    pub async fn spawn_with(env: &[(&str, &str)], file_lines: &str) -> Self {
        Self::spawn_configured(tempfile::tempdir().unwrap(), env, file_lines).await
    }

    /// Starts the app with more environment variables and more keys of the `[outbox]` table.
    pub async fn spawn_with_outbox(env: &[(&str, &str)], outbox_lines: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let file = fast_outbox_config(dir.path());
        let outbox = std::fs::read_to_string(&file).unwrap();
        // The file ends with the [outbox] table: lines appended belong to it.
        std::fs::write(&file, format!("{outbox}{outbox_lines}\n")).unwrap();
        Self::start(dir, env).await
    }

    /// Starts the app with this `[outbox]` table (its keys, one a line) instead of the fast
    /// one.
    pub async fn spawn_with_outbox_table(env: &[(&str, &str)], outbox_table: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("callgate.toml");
        std::fs::write(&file, format!("[outbox]\n{outbox_table}\n")).unwrap();
        Self::start(dir, env).await
    }

    async fn spawn_configured(
        dir: tempfile::TempDir,
        env: &[(&str, &str)],
        file_lines: &str,
    ) -> Self {
        let file = fast_outbox_config(dir.path());
        if !file_lines.is_empty() {
            // Top-level keys go before the [outbox] table.
            let outbox = std::fs::read_to_string(&file).unwrap();
            std::fs::write(&file, format!("{file_lines}\n{outbox}")).unwrap();
        }
        Self::start(dir, env).await
    }

    /// Starts the app on `dir`, whose configuration file is written.
    async fn start(dir: tempfile::TempDir, env: &[(&str, &str)]) -> Self {
        let file = dir.path().join("callgate.toml");
        let mut vars = test_env(dir.path());
        vars.extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let config = Config::load(Some(&file), &MapEnv(vars)).unwrap();
        let running = app::start(config).await.unwrap();
        let base = format!("http://{}", running.addr);
        Self {
            running: Some(running),
            base,
            http: reqwest::Client::new(),
            dir,
        }
    }

    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await.unwrap();
        }
    }

    /// Stops the app and hands back its store, for a restart.
    pub async fn stop_keeping_store(mut self) -> tempfile::TempDir {
        if let Some(r) = self.running.take() {
            r.stop().await.unwrap();
        }
        self.dir
    }

    /// An API call with the bootstrap token.
    pub async fn api(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.api_as(TOKEN, method, path, body).await
    }

    pub async fn api_as(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    pub async fn get(&self, path: &str) -> Value {
        self.get_as(TOKEN, path).await
    }

    /// A GET that must answer 200, with `token`.
    pub async fn get_as(&self, token: &str, path: &str) -> Value {
        let (s, v) = self.api_as(token, Method::GET, path, None).await;
        assert_eq!(s, StatusCode::OK, "GET {path}: {v}");
        v
    }

    /// Creates or replaces a user (with the bootstrap token).
    pub async fn user(&self, id: &str, permissions: &[&str], tenant_ids: &[&str]) -> Value {
        let body = json!({"name": format!("User {id}"), "permissions": permissions, "tenant_ids": tenant_ids});
        let (s, v) = self
            .api(Method::PUT, &format!("/api/v1/users/{id}"), Some(body))
            .await;
        assert!(s == StatusCode::CREATED || s == StatusCode::OK, "{v}");
        v
    }

    /// A new token of an existing user: (token_id, token).
    pub async fn token(&self, user_id: &str) -> (String, String) {
        let (s, v) = self
            .api(
                Method::POST,
                &format!("/api/v1/users/{user_id}/tokens"),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        (
            v["token_id"].as_str().unwrap().to_owned(),
            v["token"].as_str().unwrap().to_owned(),
        )
    }

    /// Revokes a user's token (with the bootstrap token): the answer and its body.
    pub async fn revoke(&self, user_id: &str, token_id: &str) -> (StatusCode, Value) {
        let path = format!("/api/v1/users/{user_id}/tokens/{token_id}");
        self.api(Method::DELETE, &path, None).await
    }

    /// Creates a user and returns a token of theirs.
    pub async fn user_token(&self, id: &str, permissions: &[&str], tenant_ids: &[&str]) -> String {
        self.user(id, permissions, tenant_ids).await;
        self.token(id).await.1
    }

    /// A Twilio connection whose REST base is `api_base`.
    pub async fn twilio_connection(&self, api_base: &str) -> String {
        let (s, v) = self
            .api(
                Method::POST,
                "/api/v1/connections",
                Some(json!({"provider": "twilio", "name": "Main", "secrets": {"auth_token": AUTH_TOKEN, "account_sid": ACCOUNT_SID}, "options": {"api_base_url": api_base}})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["id"].as_str().unwrap().to_owned()
    }

    /// A connection of `provider` created through the API, with the contract's secret and
    /// option names.
    pub async fn connection(&self, provider: &str, secrets: Value, options: Value) -> String {
        let body = json!({"provider": provider, "name": format!("{provider} account"), "secrets": secrets, "options": options});
        let (s, v) = self
            .api(Method::POST, "/api/v1/connections", Some(body))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v["provider"], provider);
        v["id"].as_str().unwrap().to_owned()
    }

    /// The tenant `t-austin` with its local number [`AUSTIN_LOCAL`], and the national
    /// number [`TOLL_FREE`].
    pub async fn austin_directory(&self) {
        self.tenant("t-austin", &["78701"], &["hvac", "plumbing"])
            .await;
        self.number(
            AUSTIN_LOCAL,
            json!({"kind": "local", "tenant_id": "t-austin"}),
        )
        .await;
        self.number(TOLL_FREE, json!({"kind": "national"})).await;
    }

    /// Posts `body` to the connection's webhook URL, signed as the provider would by the
    /// adapter's own `sign`, with `secrets` and the wall clock (timestamped schemes).
    pub async fn signed_webhook(
        &self,
        provider: &str,
        conn: &str,
        content_type: &str,
        body: &str,
        secrets: &[(&str, &str)],
    ) -> reqwest::Response {
        let (target, headers, body) = signed_request(provider, conn, content_type, body, secrets);
        self.post_webhook(&target, &headers, &body).await
    }

    /// Posts `body` to the connection's webhook URL with exactly `headers` (forged or
    /// unsigned requests).
    pub async fn raw_webhook(
        &self,
        provider: &str,
        conn: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> reqwest::Response {
        let headers: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        self.post_webhook(&format!("/webhooks/{provider}/{conn}"), &headers, body)
            .await
    }

    /// Posts `body` to `target` (path and query) with `headers`.
    pub async fn post_webhook(
        &self,
        target: &str,
        headers: &[(String, String)],
        body: &str,
    ) -> reqwest::Response {
        let mut post = self.http.post(format!("{}{target}", self.base));
        for (name, value) in headers {
            post = post.header(name, value);
        }
        post.body(body.to_owned()).send().await.unwrap()
    }

    /// The first entry of the call's audit trail with `action`, once it is there.
    pub async fn audit_entry(&self, call_id: &str, action: &str) -> Value {
        self.audit_reaches(call_id, action).await;
        let audit = self.get(&format!("/api/v1/calls/{call_id}/audit")).await;
        audit["audit"]
            .as_array()
            .and_then(|entries| entries.iter().find(|a| a["action"] == action))
            .cloned()
            .unwrap_or_default()
    }

    /// Waits until the call's audit trail holds `action`.
    pub async fn audit_reaches(&self, call_id: &str, action: &str) {
        eventually(&format!("audit action {action}"), || async {
            self.audit_actions(call_id)
                .await
                .iter()
                .any(|a| a == action)
        })
        .await;
    }

    pub async fn tenant(&self, id: &str, zips: &[&str], trades: &[&str]) {
        let body = json!({"name": format!("Tenant {id}"), "zip_codes": zips, "trades": trades, "booking_url": format!("https://{id}.example.com/bookings")});
        let (s, v) = self
            .api(Method::PUT, &format!("/api/v1/tenants/{id}"), Some(body))
            .await;
        assert!(s == StatusCode::CREATED || s == StatusCode::OK, "{v}");
    }

    /// A customer's chat message to `tenant` in `thread` (must answer 201).
    pub async fn inbound_chat(&self, tenant: &str, thread: &str) -> Value {
        let (s, v) = self
            .api(
                Method::POST,
                &format!("/api/v1/tenants/{tenant}/chat-messages"),
                Some(json!({"thread_id": thread, "from": "+15125550123", "direction": "inbound", "body": "Is anyone there?"})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v
    }

    /// A web booking `id` for `tenant` by the customer `name`.
    pub async fn web_booking(&self, tenant: &str, id: &str, name: &str) -> (StatusCode, Value) {
        self.api(
            Method::POST,
            &format!("/api/v1/tenants/{tenant}/web-bookings"),
            Some(json!({"booking_id": id, "customer_name": name, "phone": "+15125550123", "zip": "78701", "trade": "hvac"})),
        )
        .await
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub async fn number(&self, e164: &str, body: Value) {
        let path = format!("/api/v1/numbers/{}", e164.replace('+', "%2B"));
        let (s, v) = self.api(Method::PUT, &path, Some(body)).await;
        assert!(s == StatusCode::CREATED || s == StatusCode::OK, "{v}");
    }

    /// Posts a Twilio form webhook signed with `token` for the public URL.
    pub async fn twilio(&self, conn: &str, params: &[(&str, &str)]) -> reqwest::Response {
        self.twilio_signed(conn, params, AUTH_TOKEN).await
    }

    pub async fn twilio_signed(
        &self,
        conn: &str,
        params: &[(&str, &str)],
        token: &str,
    ) -> reqwest::Response {
        self.signed_webhook(
            "twilio",
            conn,
            "application/x-www-form-urlencoded",
            &form(params),
            &[("auth_token", token)],
        )
        .await
    }

    /// The actions of a call's audit trail, oldest first.
    pub async fn audit_actions(&self, call_id: &str) -> Vec<String> {
        self.audit_actions_as(TOKEN, call_id).await
    }

    /// The actions of a call's audit trail as `token` sees it, oldest first.
    pub async fn audit_actions_as(&self, token: &str, call_id: &str) -> Vec<String> {
        let audit = self
            .get_as(token, &format!("/api/v1/calls/{call_id}/audit"))
            .await;
        audit["audit"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["action"].as_str().unwrap().to_owned())
            .collect()
    }

    pub async fn call_by_sid(&self, sid: &str) -> Value {
        let v = self
            .get(&format!("/api/v1/calls?provider_call_id={sid}"))
            .await;
        let calls = v["calls"].as_array().unwrap();
        assert_eq!(calls.len(), 1, "{v}");
        calls[0].clone()
    }

    /// callgate's id of the call the provider knows as `sid`.
    pub async fn call_id_by_sid(&self, sid: &str) -> String {
        self.call_by_sid(sid).await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A Twilio call `sid` from `from` to `to` rings: its id.
    pub async fn ring(&self, conn: &str, sid: &str, from: &str, to: &str) -> String {
        deliver_all(self, conn, &[ringing(sid, from, to)]).await;
        self.call_id_by_sid(sid).await
    }

    /// A customer calls Austin's local number (Twilio call `sid`); its agent leg `leg` rings
    /// the phone `identity`, which answers: the call's id.
    pub async fn phone_answers(&self, conn: &str, sid: &str, leg: &str, identity: &str) -> String {
        let ts = "Mon, 23 Nov 2026 18:05:01 +0000";
        deliver_all(
            self,
            conn,
            &[
                ringing(sid, "+15125550123", AUSTIN_LOCAL),
                agent_leg(sid, leg, identity, "ringing", 1, ts),
                agent_leg(sid, leg, identity, "in-progress", 2, ts),
            ],
        )
        .await;
        self.call_id_by_sid(sid).await
    }
}

pub fn form(params: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

/// The signature Twilio would send, computed by the adapter's own signer.
pub fn twilio_signature(url: &str, body: &str, token: &str) -> String {
    twilio_signature_for("application/x-www-form-urlencoded", url, body, token)
}

/// The signature Twilio would send for a body of `content_type` (JSON bodies are signed over
/// the URL with its `bodySHA256`).
pub fn twilio_signature_for(content_type: &str, url: &str, body: &str, token: &str) -> String {
    let adapter = callgate_adapters::by_id("twilio").unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert("content-type", content_type.parse().unwrap());
    let mut req = InboundRequest {
        method: http::Method::POST,
        public_url: url.to_owned(),
        headers,
        body: body.to_owned().into(),
    };
    let secrets = SecretSet::from_pairs([("auth_token", token)]);
    adapter
        .sign(&mut req, &secrets, &FixedClock(OffsetDateTime::UNIX_EPOCH))
        .unwrap();
    req.headers["x-twilio-signature"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// Signs a webhook to the connection as the provider would, with the adapter's own `sign`,
/// `secrets` and the wall clock: the target to post to (`sign` may extend the URL, as
/// Twilio's `bodySHA256`) and every header to send.
pub fn sign_webhook(
    provider: &str,
    conn: &str,
    content_type: &str,
    body: &str,
    secrets: &[(&str, &str)],
) -> (String, Vec<(String, String)>) {
    let (target, headers, _) = signed_request(provider, conn, content_type, body, secrets);
    (target, headers)
}

/// [`sign_webhook`], with the body as signed: a scheme whose proof is the body itself
/// (Dialpad's token) rewrites it.
pub fn signed_request(
    provider: &str,
    conn: &str,
    content_type: &str,
    body: &str,
    secrets: &[(&str, &str)],
) -> (String, Vec<(String, String)>, String) {
    let adapter = callgate_adapters::by_id(provider).unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert("content-type", content_type.parse().unwrap());
    let mut req = InboundRequest {
        method: http::Method::POST,
        public_url: format!("{PUBLIC}/webhooks/{provider}/{conn}"),
        headers,
        body: body.to_owned().into(),
    };
    let clock = FixedClock(OffsetDateTime::now_utc());
    adapter
        .sign(
            &mut req,
            &SecretSet::from_pairs(secrets.iter().copied()),
            &clock,
        )
        .unwrap();
    let target = req.public_url.strip_prefix(PUBLIC).unwrap().to_owned();
    let headers = req
        .headers
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect();
    (
        target,
        headers,
        String::from_utf8_lossy(&req.body).into_owned(),
    )
}

/// Asserts that a webhook was refused as the contract says: 401 with the JSON error
/// `invalid_signature`.
pub async fn assert_invalid_signature(res: reqwest::Response) {
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_signature", "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
}

/// A provider REST API that expects exactly one `DELETE path` with HTTP Basic `user` and
/// `password`, and answers it 204 (checked by `verify`, and when the server is dropped). Any
/// other request gets 404.
pub async fn deletion_expected(path: &str, user: &str, password: &str) -> wiremock::MockServer {
    use wiremock::matchers::{header, method};
    let authorization = callgate_adapters::kit::adapter::basic_auth(user, password);
    let mock = wiremock::MockServer::start().await;
    wiremock::Mock::given(method("DELETE"))
        .and(wiremock::matchers::path(path))
        .and(header("authorization", authorization.as_str()))
        .respond_with(wiremock::ResponseTemplate::new(204))
        .expect(1)
        .mount(&mock)
        .await;
    mock
}

/// Asserts the contract's view of a call that ended without a tenant and whose recording
/// was discarded: no location anywhere in it.
pub fn assert_discarded(call: &Value) {
    assert_eq!(call["tenant"]["status"], "unresolved", "{call}");
    assert_eq!(call["recording"]["status"], "discarded", "{call}");
    assert_eq!(call["recording"]["url"], Value::Null, "{call}");
}

/// `base` with the fields of `extra` added or replaced (both JSON objects).
pub fn merged(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Value::Object(e)) = (base.as_object_mut(), extra) {
        b.extend(e);
    }
    base
}

/// A provider REST API that answers every DELETE with `status`.
pub async fn provider_api(status: u16) -> wiremock::MockServer {
    let mock = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("DELETE"))
        .respond_with(wiremock::ResponseTemplate::new(status))
        .mount(&mock)
        .await;
    mock
}

/// The value of the series `series` (name and labels, as exposed), 0 when absent.
pub fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix(series)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0.0)
}

/// The variable that tells a test it runs in a process of its own ([`alone_in_a_process`]).
const ALONE: &str = "CALLGATE_TEST_ALONE";

/// For a test that reads the metrics' exact values, which every test of the process adds to:
/// in the suite's process, runs the test `name` (its `module_path!()` and name) again, alone,
/// in a process of its own (this test binary, with its filter), and answers true once it
/// passed there; in that process, answers false: the test goes on, and reads what it alone
/// counted.
pub fn alone_in_a_process(name: &str) -> bool {
    // `module_path!()` starts with the crate's name, which the test's name leaves out.
    let test = name.split_once("::").map_or(name, |(_, rest)| rest);
    if std::env::var(ALONE).is_ok_and(|v| v == test) {
        return false;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--test-threads=1"])
        .env(ALONE, test)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{test}, alone:\n{text}");
    assert!(
        text.contains("1 passed"),
        "{test} did not run alone:\n{text}"
    );
    true
}

/// How many rows `table` of the app's store holds.
pub async fn count_rows(app: &TestApp, table: &'static str) -> i64 {
    let store = app.running.as_ref().unwrap().state.store.clone();
    store
        .read(move |c| c.query_one(&format!("SELECT COUNT(*) FROM {table}"), &[], |r| r.get(0)))
        .await
        .unwrap()
}

/// Everything the app's store holds, as bytes: the embedded database's files, or every row
/// of every table of its PostgreSQL schema as text. For checks that a value is never stored.
pub async fn stored_bytes(app: &TestApp) -> Vec<u8> {
    let store = app.running.as_ref().unwrap().state.store.clone();
    match store.dialect() {
        callgate::store::Dialect::Sqlite => ["callgate.db", "callgate.db-wal"]
            .iter()
            .flat_map(|f| std::fs::read(app.dir.path().join(f)).unwrap_or_default())
            .collect(),
        callgate::store::Dialect::Postgres => store
            .read(|c| {
                let tables: Vec<String> = c.query(
                    "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()",
                    &[],
                    |r| r.get(0),
                )?;
                let mut out = Vec::new();
                for t in tables {
                    let rows: Vec<String> =
                        c.query(&format!("SELECT CAST(x AS TEXT) FROM {t} x"), &[], |r| r.get(0))?;
                    out.extend(rows.join("\n").into_bytes());
                }
                Ok::<_, callgate::store::StoreError>(out)
            })
            .await
            .unwrap(),
    }
}

/// Fails if the app's store holds `secret` in clear anywhere (see [`stored_bytes`]).
pub async fn assert_not_stored(app: &TestApp, secret: &str) {
    let stored = stored_bytes(app).await;
    assert!(
        !stored.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "a secret is stored in clear"
    );
}

/// The audit rows of `action`, oldest first, as (actor, tenant_id, detail).
pub async fn audit_rows(
    app: &TestApp,
    action: &'static str,
) -> Vec<(String, Option<String>, Value)> {
    let store = app.running.as_ref().unwrap().state.store.clone();
    store
        .read(move |c| {
            c.query(
                "SELECT actor, tenant_id, detail FROM audit WHERE action = ?1 ORDER BY id",
                args![action],
                |r| {
                    let detail: String = r.get(2)?;
                    Ok((r.get(0)?, r.get(1)?, serde_json::from_str(&detail).unwrap()))
                },
            )
        })
        .await
        .unwrap()
}

/// Parameters of a Twilio status callback.
pub fn status(
    sid: &str,
    from: &str,
    to: &str,
    call_status: &str,
    seq: u32,
    ts: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("AccountSid", ACCOUNT_SID.to_owned()),
        ("ApiVersion", "2010-04-01".to_owned()),
        ("CallSid", sid.to_owned()),
        ("CallStatus", call_status.to_owned()),
        ("CallbackSource", "call-progress-events".to_owned()),
        ("Direction", "inbound".to_owned()),
        ("From", from.to_owned()),
        ("To", to.to_owned()),
        ("SequenceNumber", seq.to_string()),
        ("Timestamp", ts.to_owned()),
    ]
}

/// A Twilio status callback of the agent leg `leg` of the call `parent`, dialed from the
/// toll-free number to `identity` (whose phone it rings).
pub fn agent_leg(
    parent: &str,
    leg: &str,
    identity: &str,
    call_status: &str,
    seq: u32,
    ts: &str,
) -> Vec<(&'static str, String)> {
    let mut form = status(leg, TOLL_FREE, identity, call_status, seq, ts);
    for (name, value) in &mut form {
        if *name == "Direction" {
            *value = "outbound-dial".into();
        }
    }
    form.push(("ParentCallSid", parent.to_owned()));
    form
}

/// A Twilio `ringing` status callback: the first of a call.
pub fn ringing(sid: &str, from: &str, to: &str) -> Vec<(&'static str, String)> {
    status(
        sid,
        from,
        to,
        "ringing",
        0,
        "Mon, 23 Nov 2026 18:00:01 +0000",
    )
}

/// Parameters of a Twilio recording status callback.
pub fn recording(sid: &str, rec: &str, rec_status: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AccountSid", ACCOUNT_SID.to_owned()),
        ("CallSid", sid.to_owned()),
        ("RecordingSid", rec.to_owned()),
        ("RecordingStatus", rec_status.to_owned()),
        (
            "RecordingUrl",
            format!("https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{rec}"),
        ),
        ("RecordingDuration", "41".to_owned()),
        ("RecordingChannels", "1".to_owned()),
        ("RecordingSource", "DialVerb".to_owned()),
    ]
}

pub fn pairs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// Sends a list of parameter sets in order and asserts each is acknowledged.
pub async fn deliver_all(app: &TestApp, conn: &str, deliveries: &[Vec<(&'static str, String)>]) {
    for d in deliveries {
        let res = app.twilio(conn, &pairs(d)).await;
        assert!(
            res.status().is_success(),
            "delivery refused: {} {:?}",
            res.status(),
            d
        );
    }
}

/// Waits until `check` holds, polling, for up to 10 s.
pub async fn eventually<F, Fut>(what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    eventually_within(what, std::time::Duration::from_secs(10), check).await;
}

/// Waits until `check` holds, polling every 50 ms, for up to `limit`.
pub async fn eventually_within<F, Fut>(what: &str, limit: std::time::Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let step = std::time::Duration::from_millis(50);
    for _ in 0..(limit.as_millis() / step.as_millis()).max(1) {
        if check().await {
            return;
        }
        tokio::time::sleep(step).await;
    }
    panic!("timed out waiting for: {what}");
}
