//! The HTTP server's limits: its timeouts and connection bounds, from the file's `[server]`
//! table and the `CALLGATE_*` variables that override it.

use super::{ConfigError, Env, err, flag};
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ServerFile {
    header_read_timeout_ms: Option<u64>,
    idle_timeout_secs: Option<u64>,
    body_timeout_ms: Option<u64>,
    max_connections: Option<usize>,
    keep_alive: Option<bool>,
    max_requests_per_connection: Option<u64>,
}

/// The bounds of the HTTP server's connections (see `server`).
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// From a request's first byte (or the accept) to the end of its headers.
    pub header_read_timeout: Duration,
    /// A keep-alive connection with nothing in flight is closed after this.
    pub idle_timeout: Duration,
    /// A request body must have arrived whole within this (408 past it).
    pub body_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// Whether a connection may serve more than one request.
    pub keep_alive: bool,
    /// Requests one connection serves before it is closed.
    pub max_requests_per_connection: u64,
}

impl ServerLimits {
    pub(super) fn load(file: ServerFile, env: &dyn Env) -> Result<Self, ConfigError> {
        fn number<T: std::str::FromStr>(
            env: &dyn Env,
            name: &str,
            file: Option<T>,
        ) -> Result<Option<T>, ConfigError> {
            match env.get(name) {
                None => Ok(file),
                Some(raw) => raw
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| err(format!("{name} must be a whole number, not {raw:?}"))),
            }
        }
        let header_ms = number(
            env,
            "CALLGATE_HEADER_READ_TIMEOUT_MS",
            file.header_read_timeout_ms,
        )?
        .unwrap_or(10_000);
        let idle_secs =
            number(env, "CALLGATE_IDLE_TIMEOUT_SECS", file.idle_timeout_secs)?.unwrap_or(75);
        let body_ms =
            number(env, "CALLGATE_BODY_TIMEOUT_MS", file.body_timeout_ms)?.unwrap_or(20_000);
        let max_connections =
            number(env, "CALLGATE_MAX_CONNECTIONS", file.max_connections)?.unwrap_or(1024);
        let max_requests = number(
            env,
            "CALLGATE_MAX_REQUESTS_PER_CONNECTION",
            file.max_requests_per_connection,
        )?
        .unwrap_or(10_000);
        let keep_alive = flag(env, "CALLGATE_KEEP_ALIVE", file.keep_alive, true)?;
        // Bounded so that deadline arithmetic never overflows: a day is far past any use.
        const DAY_MS: u64 = 24 * 3600 * 1000;
        for (name, value) in [
            ("header_read_timeout_ms", header_ms),
            ("idle_timeout_secs", idle_secs.saturating_mul(1000)),
            ("body_timeout_ms", body_ms),
        ] {
            if value == 0 || value > DAY_MS {
                return Err(err(format!("{name} must be positive and at most one day")));
            }
        }
        if max_connections == 0 || max_connections > 1_000_000 {
            return Err(err("max_connections must be 1-1000000"));
        }
        if max_requests == 0 {
            return Err(err("max_requests_per_connection must be positive"));
        }
        Ok(Self {
            header_read_timeout: Duration::from_millis(header_ms),
            idle_timeout: Duration::from_secs(idle_secs),
            body_timeout: Duration::from_millis(body_ms),
            max_connections,
            keep_alive,
            max_requests_per_connection: max_requests,
        })
    }
}
