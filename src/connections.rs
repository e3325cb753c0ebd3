//! Provider connections as the service sees them: validation, sealing and opening of
//! secrets, rotation with a grace period, and the cache the webhook path reads.

use crate::crypto::MasterKey;
use crate::egress::EgressPolicy;
use crate::error::AppError;
use crate::store::Store;
use crate::store::connections::{self as rows, ConnectionRow};
use callgate_adapters::kit::{Adapter, ConnectionOptions, Secret, SecretSet};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use zeroize::Zeroizing;

/// How long the webhook path trusts a cached connection before re-reading it. Changes made
/// through this process are seen at once; changes made by another process (the CLI) within
/// this time.
const CACHE_TTL: Duration = Duration::from_secs(5);

/// The longest grace period a rotation may give the previous secrets: 30 days. A rotation is
/// often made because a secret leaked; past a month the old one should be dead.
pub const MAX_GRACE: Duration = Duration::from_secs(30 * 24 * 3600);

/// Refuses a grace period past [`MAX_GRACE`] (422), naming the bound.
pub fn check_grace(grace: Duration) -> Result<Duration, AppError> {
    if grace > MAX_GRACE {
        return Err(AppError::unprocessable(
            "invalid_grace_period",
            format!(
                "grace_period_secs must be between 0 and {} (30 days)",
                MAX_GRACE.as_secs()
            ),
        ));
    }
    Ok(grace)
}

/// A connection ready for the webhook path.
pub struct Live {
    pub id: String,
    pub adapter: &'static dyn Adapter,
    pub enabled: bool,
    pub secrets: SecretSet,
    pub options: ConnectionOptions,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live")
            .field("id", &self.id)
            .field("provider", &self.adapter.info().id)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

/// What the API shows of a connection: never a secret value.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionView {
    pub id: String,
    pub provider: String,
    pub name: String,
    pub webhook_url: String,
    pub enabled: bool,
    pub options: BTreeMap<String, String>,
    pub secret_names: Vec<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub previous_secrets_until: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

/// A request to create a connection.
#[derive(Debug)]
pub struct NewConnection {
    pub provider: String,
    pub name: String,
    pub secrets: BTreeMap<String, Secret>,
    pub options: BTreeMap<String, String>,
}

#[derive(Debug)]
pub struct Connections {
    store: Store,
    key: MasterKey,
    public_url: String,
    grace: Duration,
    /// What the `*_url` options may point at.
    egress: EgressPolicy,
    cache: RwLock<Cache>,
}

/// A cache entry: when it was read, and the connection (or that there is none).
type Cached = (Instant, Option<Arc<Live>>);

/// The bytes of ids the cache may hold as unknown (negative entries) before it drops them
/// all: 256 KiB, some 7,000 well-formed ids. Anyone can post to an unknown id, so what it
/// costs is bounded by size, whatever the ids.
const NEGATIVE_BUDGET_BYTES: usize = 256 * 1024;
/// Known connections cached at most (they exist in the store: an operator made them).
const MAX_KNOWN: usize = 10_000;

/// The webhook path's cache: known connections, and recently asked unknown ids, the latter
/// bounded by the bytes of their ids.
#[derive(Debug, Default)]
struct Cache {
    entries: HashMap<String, Cached>,
    /// Bytes of the ids of the entries that are `None`.
    negative_bytes: usize,
    known: usize,
}

impl Cache {
    fn get(&self, id: &str) -> Option<&Cached> {
        self.entries.get(id)
    }

    fn remove(&mut self, id: &str) {
        if let Some((_, entry)) = self.entries.remove(id) {
            self.uncount(id, entry.is_some());
        }
    }

    fn uncount(&mut self, id: &str, known: bool) {
        if known {
            self.known = self.known.saturating_sub(1);
        } else {
            self.negative_bytes = self.negative_bytes.saturating_sub(id.len());
        }
    }

    fn insert(&mut self, id: &str, cached: Cached) {
        self.remove(id);
        if cached.1.is_some() {
            if self.known >= MAX_KNOWN {
                self.entries.retain(|_, (_, e)| e.is_none());
                self.known = 0;
            }
            self.known += 1;
        } else {
            if self.negative_bytes.saturating_add(id.len()) > NEGATIVE_BUDGET_BYTES {
                self.entries.retain(|_, (_, e)| e.is_some());
                self.negative_bytes = 0;
            }
            self.negative_bytes += id.len();
        }
        self.entries.insert(id.to_owned(), cached);
    }
}

/// True when `id` has the shape of a minted connection id: `conn_` and 32 lowercase
/// hexadecimal digits (a UUID v7, simple form). Anything else is refused before any lookup.
pub fn is_connection_id(id: &str) -> bool {
    id.strip_prefix("conn_").is_some_and(|hex| {
        hex.len() == 32
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn context(id: &str, generation: &str) -> String {
    format!("connection:{id}:{generation}")
}

impl Connections {
    pub fn new(
        store: Store,
        key: MasterKey,
        public_url: String,
        grace: Duration,
        egress: EgressPolicy,
    ) -> Self {
        Self {
            store,
            key,
            public_url,
            grace,
            egress,
            cache: RwLock::new(Cache::default()),
        }
    }

    fn view(&self, row: &ConnectionRow, now: OffsetDateTime) -> ConnectionView {
        ConnectionView {
            id: row.id.clone(),
            provider: row.provider.clone(),
            name: row.name.clone(),
            webhook_url: format!("{}/webhooks/{}/{}", self.public_url, row.provider, row.id),
            enabled: row.enabled,
            options: row.options.clone(),
            secret_names: row.secret_names.clone(),
            previous_secrets_until: row.previous_until.filter(|u| *u > now),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }

    fn seal(
        &self,
        id: &str,
        generation: &str,
        secrets: &BTreeMap<String, Secret>,
    ) -> Result<String, AppError> {
        let plain: BTreeMap<&str, &str> = secrets
            .iter()
            .map(|(k, v)| (k.as_str(), v.expose()))
            .collect();
        let json = Zeroizing::new(serde_json::to_vec(&plain)?);
        Ok(self.key.seal(&json, &context(id, generation)))
    }

    fn unseal(
        &self,
        id: &str,
        generation: &str,
        sealed: &str,
    ) -> Result<BTreeMap<String, Secret>, AppError> {
        let plain = self
            .key
            .open(sealed, &context(id, generation))
            .map_err(|e| AppError::Internal(format!("connection {id}: {e}")))?;
        let map: BTreeMap<String, String> = serde_json::from_slice(&plain)?;
        Ok(map.into_iter().map(|(k, v)| (k, Secret::new(v))).collect())
    }

    /// Creates a connection; `actor` (who asked) is audited.
    pub async fn create(
        &self,
        new: NewConnection,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<ConnectionView, AppError> {
        let adapter = callgate_adapters::by_id(&new.provider).ok_or_else(|| {
            AppError::unprocessable(
                "unknown_provider",
                format!("no provider adapter {:?}", new.provider),
            )
        })?;
        let name = new.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(AppError::unprocessable(
                "invalid_name",
                "name must be 1-200 characters",
            ));
        }
        check_secrets(adapter, &new.secrets, true)?;
        let options = url_options(new.options, self.egress)?;
        let id = format!("conn_{}", uuid::Uuid::now_v7().simple());
        let row = ConnectionRow {
            id: id.clone(),
            provider: new.provider,
            name: name.to_owned(),
            enabled: true,
            options,
            secret_names: new.secrets.keys().cloned().collect(),
            sealed_current: self.seal(&id, "current", &new.secrets)?,
            sealed_previous: None,
            previous_until: None,
            created_at: now,
            updated_at: now,
        };
        let stored = row.clone();
        let actor = actor.to_owned();
        self.store
            .write(move |c| {
                rows::insert(c, &stored)?;
                crate::store::audit::record(
                    c,
                    now,
                    &actor,
                    "connection.created",
                    None,
                    None,
                    &serde_json::json!({"connection_id": stored.id, "provider": stored.provider}),
                )
            })
            .await?;
        Ok(self.view(&row, now))
    }

    pub async fn list(&self, now: OffsetDateTime) -> Result<Vec<ConnectionView>, AppError> {
        let all = self.store.read(rows::list).await?;
        Ok(all.iter().map(|r| self.view(r, now)).collect())
    }

    pub async fn get(&self, id: &str, now: OffsetDateTime) -> Result<ConnectionView, AppError> {
        let id = id.to_owned();
        let row = self
            .store
            .read(move |c| rows::get(c, &id))
            .await?
            .ok_or_else(not_found)?;
        Ok(self.view(&row, now))
    }

    pub async fn set_enabled(
        &self,
        id: &str,
        enabled: bool,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<ConnectionView, AppError> {
        let owned = id.to_owned();
        let actor = actor.to_owned();
        let row = self
            .store
            .write(move |c| {
                let row = rows::set_enabled(c, &owned, enabled, now)?.ok_or_else(not_found)?;
                let action = if enabled {
                    "connection.enabled"
                } else {
                    "connection.disabled"
                };
                crate::store::audit::record(
                    c,
                    now,
                    &actor,
                    action,
                    None,
                    None,
                    &serde_json::json!({"connection_id": owned}),
                )?;
                Ok::<_, AppError>(row)
            })
            .await?;
        self.forget(id);
        Ok(self.view(&row, now))
    }

    /// New secrets take effect now; the previous ones stay accepted for the grace period.
    /// Secret names not given keep their current value (e.g. rotating only `auth_token`).
    pub async fn rotate(
        &self,
        id: &str,
        given: BTreeMap<String, Secret>,
        grace: Option<Duration>,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<ConnectionView, AppError> {
        let owned = id.to_owned();
        let row = self
            .store
            .read(move |c| rows::get(c, &owned))
            .await?
            .ok_or_else(not_found)?;
        let adapter = callgate_adapters::by_id(&row.provider)
            .ok_or_else(|| AppError::Internal("provider vanished".into()))?;
        check_secrets(adapter, &given, false)?;
        if given.is_empty() {
            return Err(AppError::unprocessable(
                "missing_secret",
                "give at least one secret to rotate",
            ));
        }
        let current = self.unseal(&row.id, "current", &row.sealed_current)?;
        let mut next = current.clone();
        next.extend(given);
        let grace = check_grace(grace.unwrap_or(self.grace))?;
        let until = time::Duration::try_from(grace)
            .ok()
            .and_then(|g| now.checked_add(g))
            .ok_or_else(|| {
                AppError::unprocessable(
                    "invalid_grace_period",
                    "the grace period ends past the last representable time",
                )
            })?;
        let names: Vec<String> = next.keys().cloned().collect();
        let sealed_next = self.seal(&row.id, "current", &next)?;
        let sealed_prev = self.seal(&row.id, "previous", &current)?;
        let owned = row.id.clone();
        let actor = actor.to_owned();
        self.store
            .write(move |c| {
                rows::rotate(c, &owned, &sealed_next, &names, &sealed_prev, until, now)?;
                crate::store::audit::record(c, now, &actor, "connection.rotated", None, None, &serde_json::json!({"connection_id": owned, "previous_until": until.unix_timestamp()}))
            })
            .await?;
        self.forget(id);
        self.get(id, now).await
    }

    /// The key that seals secrets at rest (subscriptions' secrets too).
    pub fn master_key(&self) -> &crate::crypto::MasterKey {
        &self.key
    }

    /// Drops the cached connection: the next webhook reads it again.
    pub fn forget(&self, id: &str) {
        if let Ok(mut cache) = self.cache.write() {
            cache.remove(id);
        }
    }

    /// The connection for the webhook path (cached), or `None` when unknown.
    pub async fn live(&self, id: &str, now: OffsetDateTime) -> Result<Option<Arc<Live>>, AppError> {
        if !is_connection_id(id) {
            return Ok(None);
        }
        if let Ok(cache) = self.cache.read()
            && let Some((at, entry)) = cache.get(id)
            && at.elapsed() < CACHE_TTL
        {
            return Ok(entry.clone());
        }
        let owned = id.to_owned();
        let row = self.store.read(move |c| rows::get(c, &owned)).await?;
        let entry = match row {
            None => None,
            Some(row) => Some(Arc::new(self.load(&row, now)?)),
        };
        if let Ok(mut cache) = self.cache.write() {
            // Unknown ids are cached too (briefly), within their byte budget.
            cache.insert(id, (Instant::now(), entry.clone()));
        }
        Ok(entry)
    }

    /// The connection with its secrets opened, for the outbox worker.
    pub async fn load_by_id(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Live>, AppError> {
        let owned = id.to_owned();
        let row = self.store.read(move |c| rows::get(c, &owned)).await?;
        row.map(|r| self.load(&r, now)).transpose()
    }

    fn load(&self, row: &ConnectionRow, now: OffsetDateTime) -> Result<Live, AppError> {
        let adapter = callgate_adapters::by_id(&row.provider).ok_or_else(|| {
            AppError::Internal(format!(
                "connection {} names unknown provider {}",
                row.id, row.provider
            ))
        })?;
        let current = self.unseal(&row.id, "current", &row.sealed_current)?;
        let previous = match (&row.sealed_previous, row.previous_until) {
            (Some(sealed), Some(until)) if until > now => {
                Some(self.unseal(&row.id, "previous", sealed)?)
            }
            _ => None,
        };
        Ok(Live {
            id: row.id.clone(),
            adapter,
            enabled: row.enabled,
            secrets: SecretSet::new(current, previous),
            options: row.options.clone(),
        })
    }
}

fn not_found() -> AppError {
    AppError::not_found("connection_not_found", "no such connection")
}

fn check_secrets(
    adapter: &dyn Adapter,
    secrets: &BTreeMap<String, Secret>,
    complete: bool,
) -> Result<(), AppError> {
    let info = adapter.info();
    for name in secrets.keys() {
        if !info.secret_names().any(|n| n == name) {
            let known: Vec<_> = info.secret_names().collect();
            return Err(AppError::unprocessable(
                "unknown_secret",
                format!(
                    "{} connections take the secrets {known:?}, not {name:?}",
                    info.id
                ),
            ));
        }
    }
    for (name, value) in secrets {
        if value.expose().is_empty() {
            return Err(AppError::unprocessable(
                "invalid_secret",
                format!("secret {name} is empty"),
            ));
        }
        if let Err(reason) = adapter.check_secret(name, value.expose()) {
            return Err(AppError::unprocessable(
                "invalid_secret",
                format!("secret {name}: {reason}"),
            ));
        }
    }
    if complete {
        for name in info.webhook_secrets {
            if !secrets.contains_key(*name) {
                return Err(AppError::unprocessable(
                    "missing_secret",
                    format!("{} connections need the secret {name}", info.id),
                ));
            }
        }
    }
    Ok(())
}

/// The options as stored: every `*_url` option must be an http(s) URL with a host and no
/// credentials, and the egress policy must allow its address when it is one (422
/// `url_not_allowed` for a private, loopback, link-local or reserved address; a name is
/// checked each time it is resolved, by the outbox's guarded client). One written as a bare
/// host (`example.signalwire.com`, as provider consoles show it) is taken as `https://` that
/// host.
fn url_options(
    options: BTreeMap<String, String>,
    egress: EgressPolicy,
) -> Result<BTreeMap<String, String>, AppError> {
    options
        .into_iter()
        .map(|(name, value)| {
            if !name.ends_with("_url") {
                return Ok((name, value));
            }
            let value = if value.contains("://") {
                value
            } else {
                format!("https://{value}")
            };
            let url = reqwest::Url::parse(&value).map_err(|_| {
                AppError::unprocessable("invalid_option", format!("option {name} is not a URL"))
            })?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(AppError::unprocessable(
                    "invalid_option",
                    format!("option {name} must be an http(s) URL"),
                ));
            }
            // Options are shown by the API: credentials belong in the secrets.
            if !url.username().is_empty() || url.password().is_some() {
                return Err(AppError::unprocessable(
                    "invalid_option",
                    format!("option {name} must not carry credentials (they are secrets)"),
                ));
            }
            if let Err(e) = crate::egress::check_host(&url, egress) {
                return Err(AppError::unprocessable(
                    "url_not_allowed",
                    format!("option {name}: {e}"),
                ));
            }
            Ok((name, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{Cache, EgressPolicy, NEGATIVE_BUDGET_BYTES, is_connection_id, url_options};
    use std::collections::BTreeMap;
    use std::time::Instant;

    #[test]
    fn connection_ids_have_the_minted_shape() {
        let minted = format!("conn_{}", uuid::Uuid::now_v7().simple());
        assert!(is_connection_id(&minted));
        for bad in [
            "",
            "conn_",
            "conn_nope",
            "conn_0192",
            "conn_01936F2A7C4B7E0E8D9F0A1B2C3D4E5F",
            "conn_01936f2a7c4b7e0e8d9f0a1b2c3d4e5f0",
            "xonn_01936f2a7c4b7e0e8d9f0a1b2c3d4e5f",
            "conn_01936f2a7c4b7e0e8d9f0a1b2c3d4e5g",
        ] {
            assert!(!is_connection_id(bad), "{bad:?}");
        }
    }

    /// Unknown ids are dropped when their bytes pass the budget, however many or long.
    #[test]
    fn the_negative_cache_is_bounded_by_bytes() {
        let mut cache = Cache::default();
        for i in 0..100_000u32 {
            let id = format!("conn_{i:032x}");
            cache.insert(&id, (Instant::now(), None));
            assert!(cache.negative_bytes <= NEGATIVE_BUDGET_BYTES);
            let held: usize = cache.entries.keys().map(String::len).sum();
            if i % 997 == 0 {
                assert_eq!(held, cache.negative_bytes);
            }
        }
        cache.remove("conn_00000000000000000000000000000001");
        let held: usize = cache.entries.keys().map(String::len).sum();
        assert_eq!(held, cache.negative_bytes);
    }

    /// Under the test setting (private addresses allowed).
    fn one(name: &str, value: &str) -> Result<String, String> {
        let options = BTreeMap::from([(name.to_owned(), value.to_owned())]);
        url_options(
            options,
            EgressPolicy {
                allow_private: true,
            },
        )
        .map(|o| o[name].clone())
        .map_err(|e| e.to_string())
    }

    #[test]
    fn url_options_pointing_at_private_addresses_are_refused_by_default() {
        for bad in [
            "http://127.0.0.1:9000/prefix",
            "http://169.254.169.254/latest/meta-data/",
            "https://10.1.2.3",
            "http://[::1]:8080",
            "http://[::ffff:192.168.1.1]/",
            "http://2130706433/",
        ] {
            let options = BTreeMap::from([("api_base_url".to_owned(), bad.to_owned())]);
            let e = url_options(options, EgressPolicy::default()).unwrap_err();
            assert_eq!(e.code(), "url_not_allowed", "{bad}");
            assert!(e.to_string().contains("api_base_url"), "{e}");
        }
        let options =
            BTreeMap::from([("space_url".to_owned(), "example.signalwire.com".to_owned())]);
        assert!(url_options(options, EgressPolicy::default()).is_ok());
    }

    #[test]
    fn url_options_are_http_urls_and_a_bare_host_means_https() {
        assert_eq!(
            one("space_url", "example.signalwire.com").as_deref(),
            Ok("https://example.signalwire.com")
        );
        assert_eq!(
            one("api_base_url", "http://127.0.0.1:9000/prefix").as_deref(),
            Ok("http://127.0.0.1:9000/prefix")
        );
        for bad in [
            "ftp://example.com",
            "https://",
            "exa mple.com",
            "",
            "mailto:a@b.c",
            "https://user:pass@example.com",
        ] {
            assert!(one("space_url", bad).is_err(), "{bad:?}");
        }
        // Other options are kept as they are.
        assert_eq!(one("region", "us east").as_deref(), Ok("us east"));
    }
}
