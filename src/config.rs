//! Configuration: built-in defaults, then an optional TOML file, then `CALLGATE_*`
//! environment variables. Validated once at start-up.

use crate::crypto::MasterKey;
use callgate_adapters::kit::Secret;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

mod reconcile;
mod retention;
mod server;

pub use reconcile::ReconcileConfig;
use reconcile::ReconcileFile;
pub use retention::Retention;
use server::ServerFile;
pub use server::ServerLimits;

/// The file's shape (every key optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    public_url: Option<String>,
    body_limit_bytes: Option<usize>,
    rotation_grace_secs: Option<u64>,
    log_format: Option<String>,
    directory_url: Option<String>,
    directory_timeout_ms: Option<u64>,
    directory_max_bytes: Option<usize>,
    egress_allow_private: Option<bool>,
    reconcile_after_secs: Option<u64>,
    reconcile_interval_secs: Option<u64>,
    max_call_secs: Option<u64>,
    retain_deliveries_secs: Option<u64>,
    retain_calls_secs: Option<u64>,
    retain_audit_secs: Option<u64>,
    outbox: Option<OutboxFile>,
    server: Option<ServerFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutboxFile {
    poll_interval_ms: Option<u64>,
    retry_base_ms: Option<u64>,
    retry_max_secs: Option<u64>,
    request_timeout_ms: Option<u64>,
    subscription_disable_after_secs: Option<u64>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Outbox worker timing.
#[derive(Debug, Clone)]
pub struct OutboxConfig {
    pub poll_interval: Duration,
    pub retry_base: Duration,
    pub retry_max: Duration,
    pub request_timeout: Duration,
    /// An outbound webhook subscription whose deliveries have failed for this long without a
    /// success in between is disabled.
    pub subscription_disable_after: Duration,
}

/// The upstream tenant directory read by a tenant sync.
#[derive(Clone)]
pub struct DirectoryConfig {
    /// Where the directory document is read. `None`: sync is not configured. The URL may
    /// carry credentials, so it is never logged or shown (`Debug` prints only its origin).
    pub url: Option<reqwest::Url>,
    /// Bound on the whole request, connection included.
    pub timeout: Duration,
    /// Largest accepted document, in bytes.
    pub max_bytes: usize,
}

impl std::fmt::Debug for DirectoryConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectoryConfig")
            .field(
                "url",
                &self.url.as_ref().map(|u| u.origin().ascii_serialization()),
            )
            .field("timeout", &self.timeout)
            .field("max_bytes", &self.max_bytes)
            .finish()
    }
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// Where the data lives.
    pub database: Database,
    pub data_dir: PathBuf,
    /// The external base URL providers call, without a trailing slash. `None`: the
    /// listening address is used.
    pub public_url: Option<String>,
    pub bootstrap_token: Option<Secret>,
    pub master_key: Option<Secret>,
    pub body_limit: usize,
    pub rotation_grace: Duration,
    pub log_format: LogFormat,
    pub outbox: OutboxConfig,
    pub directory: DirectoryConfig,
    /// What outbound webhooks may reach.
    pub egress: crate::egress::EgressPolicy,
    /// The HTTP server's timeouts and connection limits.
    pub server: ServerLimits,
    /// When calls whose webhooks stopped are looked up, and ended.
    pub reconcile: ReconcileConfig,
    /// How long raw bodies, ended calls and audit entries are kept.
    pub retention: Retention,
}

/// The store's backend.
#[derive(Clone)]
pub enum Database {
    /// The embedded SQLite database file.
    Embedded(PathBuf),
    /// A PostgreSQL URL (`postgres://...`), shared by every instance.
    Postgres(Secret),
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Embedded(path) => f.debug_tuple("Embedded").field(path).finish(),
            // The URL may carry a password.
            Database::Postgres(_) => f.write_str("Postgres(..)"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(String);

fn err(msg: impl Into<String>) -> ConfigError {
    ConfigError(msg.into())
}

/// Where values come from besides the file: the environment, injected for tests.
pub trait Env {
    fn get(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        #[allow(clippy::disallowed_methods)] // this is the one place that reads the environment
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

impl Config {
    /// Loads defaults, then `file` (or `CALLGATE_CONFIG`), then the environment. Values are
    /// checked in the order they are read; the first bad one is the error.
    pub fn load(file: Option<&Path>, env: &dyn Env) -> Result<Self, ConfigError> {
        let fc = FileConfig::read(file, env)?;
        let listen = listen(env.get("CALLGATE_LISTEN").or(fc.listen))?;
        let data_dir = env
            .get("CALLGATE_DATA_DIR")
            .map(PathBuf::from)
            .or(fc.data_dir)
            .unwrap_or_else(|| "./callgate-data".into());
        let database = database(
            env.get("CALLGATE_DATABASE_URL").or(fc.database_url),
            &data_dir,
        )?;
        let public_url = public_url(env.get("CALLGATE_PUBLIC_URL").or(fc.public_url))?;
        let master_key = env.get("CALLGATE_MASTER_KEY").map(Secret::new);
        if let Some(k) = &master_key {
            MasterKey::from_base64(k.expose()).map_err(|e| err(e.to_string()))?;
        }
        let log_format = log_format(env.get("CALLGATE_LOG_FORMAT").or(fc.log_format))?;
        let directory = DirectoryConfig::load(
            env.get("CALLGATE_DIRECTORY_URL").or(fc.directory_url),
            fc.directory_timeout_ms,
            fc.directory_max_bytes,
        )?;
        let outbox = OutboxConfig::from_file(fc.outbox.unwrap_or_default());
        let server = ServerLimits::load(fc.server.unwrap_or_default(), env)?;
        let reconcile = ReconcileConfig::load(
            ReconcileFile {
                after_secs: fc.reconcile_after_secs,
                interval_secs: fc.reconcile_interval_secs,
                max_call_secs: fc.max_call_secs,
            },
            env,
        )?;
        let retention = Retention::load(
            env,
            [
                fc.retain_deliveries_secs,
                fc.retain_calls_secs,
                fc.retain_audit_secs,
            ],
        )?;
        let egress = crate::egress::EgressPolicy {
            allow_private: flag(
                env,
                "CALLGATE_EGRESS_ALLOW_PRIVATE",
                fc.egress_allow_private,
                false,
            )?,
        };
        directory.check_egress(egress)?;
        let rotation_grace = Duration::from_secs(fc.rotation_grace_secs.unwrap_or(24 * 3600));
        if rotation_grace > crate::connections::MAX_GRACE {
            return Err(err(format!(
                "rotation_grace_secs must be at most {} (30 days)",
                crate::connections::MAX_GRACE.as_secs()
            )));
        }
        let body_limit = fc.body_limit_bytes.unwrap_or(1024 * 1024);
        if body_limit == 0 {
            return Err(err("body_limit_bytes must be positive"));
        }
        Ok(Self {
            listen,
            database,
            data_dir,
            public_url,
            bootstrap_token: env.get("CALLGATE_BOOTSTRAP_TOKEN").map(Secret::new),
            master_key,
            body_limit,
            rotation_grace,
            log_format,
            outbox,
            directory,
            egress,
            server,
            reconcile,
            retention,
        })
    }

    /// The master key: from the environment, or the embedded mode's key file.
    pub fn master_key(&self) -> Result<MasterKey, ConfigError> {
        match &self.master_key {
            Some(k) => MasterKey::from_base64(k.expose()).map_err(|e| err(e.to_string())),
            None => match &self.database {
                Database::Embedded(path) => {
                    let dir = path
                        .parent()
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| self.data_dir.clone());
                    MasterKey::load_or_create_file(&dir).map_err(|e| err(e.to_string()))
                }
                // Instances share the database: each must hold the same key, from outside.
                Database::Postgres(_) => Err(err(
                    "CALLGATE_MASTER_KEY is required with PostgreSQL (every instance needs the same key)",
                )),
            },
        }
    }
}

/// The directory URL: http(s) with a host. The message never repeats it (it may hold
/// credentials).
fn directory_url(raw: &str) -> Result<reqwest::Url, ConfigError> {
    match reqwest::Url::parse(raw) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(u),
        _ => Err(err(
            "the directory URL (CALLGATE_DIRECTORY_URL or directory_url) must be an http(s) URL",
        )),
    }
}

impl FileConfig {
    /// The file named by `file`, or else by `CALLGATE_CONFIG`; empty when there is none.
    fn read(file: Option<&Path>, env: &dyn Env) -> Result<Self, ConfigError> {
        let path = file
            .map(Path::to_path_buf)
            .or_else(|| env.get("CALLGATE_CONFIG").map(PathBuf::from));
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| err(format!("cannot read {}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| err(format!("{}: {e}", path.display())))
    }
}

/// The address to listen on, `127.0.0.1:8080` unless given.
fn listen(raw: Option<String>) -> Result<SocketAddr, ConfigError> {
    let raw = raw.unwrap_or_else(|| "127.0.0.1:8080".into());
    raw.parse().map_err(|_| {
        err(format!(
            "listen address {raw:?} is not HOST:PORT (e.g. 127.0.0.1:8080)"
        ))
    })
}

/// The store: the embedded database under `data_dir` unless a URL names another.
fn database(url: Option<String>, data_dir: &Path) -> Result<Database, ConfigError> {
    let Some(url) = url else {
        return Ok(Database::Embedded(data_dir.join("callgate.db")));
    };
    if let Some(path) = url.strip_prefix("sqlite://") {
        Ok(Database::Embedded(PathBuf::from(path)))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Database::Postgres(Secret::new(url)))
    } else {
        Err(err(
            "CALLGATE_DATABASE_URL must start with sqlite:// or postgres://",
        ))
    }
}

/// The public URL without its trailing slash: http(s) with a host, no query or fragment.
fn public_url(raw: Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(url) = raw.map(|u| u.trim_end_matches('/').to_owned()) else {
        return Ok(None);
    };
    let parsed =
        reqwest::Url::parse(&url).map_err(|_| err(format!("public URL {url:?} is not a URL")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(err("the public URL must be http(s)://HOST[:PORT][/PATH]"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(err("the public URL must not carry a query or fragment"));
    }
    Ok(Some(url))
}

fn log_format(raw: Option<String>) -> Result<LogFormat, ConfigError> {
    match raw.as_deref() {
        None | Some("text") => Ok(LogFormat::Text),
        Some("json") => Ok(LogFormat::Json),
        Some(other) => Err(err(format!("log format {other:?}: use text or json"))),
    }
}

/// A true-or-false setting: the variable `name` (`true`, `1`, `false` or `0`), else the
/// file's value, else `default`.
fn flag(env: &dyn Env, name: &str, file: Option<bool>, default: bool) -> Result<bool, ConfigError> {
    match env.get(name).as_deref() {
        None => Ok(file.unwrap_or(default)),
        Some("true" | "1") => Ok(true),
        Some("false" | "0") => Ok(false),
        Some(_) => Err(err(format!("{name} must be true or false"))),
    }
}

impl OutboxConfig {
    fn from_file(file: OutboxFile) -> Self {
        Self {
            poll_interval: Duration::from_millis(file.poll_interval_ms.unwrap_or(1000)),
            retry_base: Duration::from_millis(file.retry_base_ms.unwrap_or(5000)),
            retry_max: Duration::from_secs(file.retry_max_secs.unwrap_or(3600)),
            request_timeout: Duration::from_millis(file.request_timeout_ms.unwrap_or(10_000)),
            subscription_disable_after: Duration::from_secs(
                file.subscription_disable_after_secs
                    .unwrap_or(5 * 24 * 3600),
            ),
        }
    }
}

impl DirectoryConfig {
    fn load(
        url: Option<String>,
        timeout_ms: Option<u64>,
        max_bytes: Option<usize>,
    ) -> Result<Self, ConfigError> {
        let directory = Self {
            url: url.map(|u| directory_url(&u)).transpose()?,
            timeout: Duration::from_millis(timeout_ms.unwrap_or(15_000)),
            max_bytes: max_bytes.unwrap_or(8 * 1024 * 1024),
        };
        if directory.timeout.is_zero() || directory.max_bytes == 0 {
            return Err(err(
                "directory_timeout_ms and directory_max_bytes must be positive",
            ));
        }
        Ok(directory)
    }

    /// The directory's host must be one `egress` may reach.
    fn check_egress(&self, egress: crate::egress::EgressPolicy) -> Result<(), ConfigError> {
        if let Some(url) = &self.url
            && let Err(e) = crate::egress::check_host(url, egress)
        {
            // The message names the address, never the URL (it may hold credentials).
            return Err(err(format!(
                "the directory URL (CALLGATE_DIRECTORY_URL or directory_url): {e}; set CALLGATE_EGRESS_ALLOW_PRIVATE=true only for local testing"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// An environment of fixed variables, for the tests of every settings module.
    pub(super) struct MapEnv(pub(super) HashMap<&'static str, &'static str>);

    impl Env for MapEnv {
        fn get(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|v| (*v).to_owned())
        }
    }

    #[test]
    fn defaults_need_no_configuration() {
        let c = Config::load(None, &MapEnv(HashMap::new())).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert!(
            matches!(&c.database, Database::Embedded(p) if p == Path::new("./callgate-data/callgate.db"))
        );
        assert_eq!(c.body_limit, 1024 * 1024);
        assert!(c.public_url.is_none());
        assert!(c.directory.url.is_none());
    }

    #[test]
    fn the_example_file_loads_with_the_defaults_it_documents() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/config.example.toml");
        let c = Config::load(Some(&file), &MapEnv(HashMap::new())).unwrap();
        let d = Config::load(None, &MapEnv(HashMap::new())).unwrap();
        assert_eq!(c.directory.timeout, d.directory.timeout);
        assert_eq!(c.directory.max_bytes, d.directory.max_bytes);
        assert_eq!(c.body_limit, d.body_limit);
        assert_eq!(format!("{:?}", c.server), format!("{:?}", d.server));
    }

    #[test]
    fn server_limits_have_defaults_and_are_checked() {
        let d = Config::load(None, &MapEnv(HashMap::new())).unwrap().server;
        assert_eq!(d.header_read_timeout, Duration::from_secs(10));
        assert_eq!(d.idle_timeout, Duration::from_secs(75));
        assert_eq!(d.body_timeout, Duration::from_secs(20));
        assert_eq!(d.max_connections, 1024);
        assert!(d.keep_alive);
        assert_eq!(d.max_requests_per_connection, 10_000);
        let env = MapEnv(HashMap::from([
            ("CALLGATE_HEADER_READ_TIMEOUT_MS", "500"),
            ("CALLGATE_MAX_CONNECTIONS", "7"),
            ("CALLGATE_KEEP_ALIVE", "false"),
        ]));
        let c = Config::load(None, &env).unwrap().server;
        assert_eq!(c.header_read_timeout, Duration::from_millis(500));
        assert_eq!(c.max_connections, 7);
        assert!(!c.keep_alive);
        for (k, v) in [
            ("CALLGATE_HEADER_READ_TIMEOUT_MS", "0"),
            ("CALLGATE_IDLE_TIMEOUT_SECS", "18446744073709551615"),
            ("CALLGATE_BODY_TIMEOUT_MS", "ten"),
            ("CALLGATE_MAX_CONNECTIONS", "0"),
            ("CALLGATE_MAX_REQUESTS_PER_CONNECTION", "0"),
            ("CALLGATE_KEEP_ALIVE", "maybe"),
        ] {
            let e = Config::load(None, &MapEnv(HashMap::from([(k, v)]))).unwrap_err();
            assert!(!e.to_string().is_empty(), "{k}");
        }
    }

    #[test]
    fn the_directory_url_is_read_and_never_printed_whole() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "directory_url = \"https://file.example/tenants\"\ndirectory_timeout_ms = 500\n",
        )
        .unwrap();
        let c = Config::load(Some(&file), &MapEnv(HashMap::new())).unwrap();
        assert_eq!(
            c.directory.url.as_ref().map(reqwest::Url::as_str),
            Some("https://file.example/tenants")
        );
        assert_eq!(c.directory.timeout, Duration::from_millis(500));
        let env = MapEnv(HashMap::from([(
            "CALLGATE_DIRECTORY_URL",
            "https://u:s3cret@dir.example/t?key=s3cret",
        )]));
        let c = Config::load(Some(&file), &env).unwrap();
        assert_eq!(
            c.directory.url.as_ref().unwrap().host_str(),
            Some("dir.example")
        );
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn environment_overrides_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\npublic_url = \"https://file.example\"\n",
        )
        .unwrap();
        let env = MapEnv(HashMap::from([
            ("CALLGATE_PUBLIC_URL", "https://hooks.example.com/"),
            ("CALLGATE_DATABASE_URL", "sqlite:///tmp/x.db"),
        ]));
        let c = Config::load(Some(&file), &env).unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.public_url.as_deref(), Some("https://hooks.example.com"));
        assert!(matches!(&c.database, Database::Embedded(p) if p == Path::new("/tmp/x.db")));
    }

    /// Instances on one database must share the key that seals their secrets: it has to come
    /// from outside, never from a key file of one of them.
    #[test]
    fn postgresql_requires_the_master_key_from_the_environment() {
        let url = "postgres://callgate@db.internal:5432/callgate";
        let without = Config::load(
            None,
            &MapEnv(HashMap::from([("CALLGATE_DATABASE_URL", url)])),
        )
        .unwrap();
        assert!(matches!(without.database, Database::Postgres(_)));
        let e = without.master_key().unwrap_err().to_string();
        assert!(e.contains("CALLGATE_MASTER_KEY"), "{e}");
        // The URL (it may hold a password) is never shown.
        assert!(!format!("{without:?}").contains("db.internal"));
        let with = Config::load(
            None,
            &MapEnv(HashMap::from([
                ("CALLGATE_DATABASE_URL", url),
                (
                    "CALLGATE_MASTER_KEY",
                    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
                ),
            ])),
        )
        .unwrap();
        assert!(with.master_key().is_ok());
    }

    #[test]
    fn bad_values_fail_fast_with_a_clear_message() {
        for (k, v) in [
            ("CALLGATE_LISTEN", "nope"),
            ("CALLGATE_MASTER_KEY", "c2hvcnQ="),
            ("CALLGATE_PUBLIC_URL", "ftp://x"),
            ("CALLGATE_DATABASE_URL", "mysql://x"),
            ("CALLGATE_DIRECTORY_URL", "file:///etc/tenants.json"),
        ] {
            let e = Config::load(None, &MapEnv(HashMap::from([(k, v)]))).unwrap_err();
            assert!(!e.to_string().is_empty(), "{k}");
        }
    }
}
