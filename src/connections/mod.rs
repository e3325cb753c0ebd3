//! Provider connections as the service sees them: validation (`checks`), sealing and
//! opening of secrets, rotation with a grace period, and the cache the webhook path reads
//! (`cache`).

mod cache;
mod checks;

pub use cache::is_connection_id;
use cache::{CACHE_TTL, Cache};
pub use checks::{MAX_GRACE, check_grace};
use checks::{check_options, check_secrets};

use crate::crypto::MasterKey;
use crate::egress::EgressPolicy;
use crate::error::AppError;
use crate::store::Store;
use crate::store::connections::{self as rows, ConnectionRow};
use callgate_adapters::kit::{Adapter, ConnectionOptions, Secret, SecretSet};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use zeroize::Zeroizing;

/// A connection ready for the webhook path.
pub struct ReadyConnection {
    pub id: String,
    pub adapter: &'static dyn Adapter,
    pub enabled: bool,
    pub secrets: SecretSet,
    pub options: ConnectionOptions,
}

impl std::fmt::Debug for ReadyConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadyConnection")
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
                format!(
                    "no provider adapter {:?}: the providers are {}",
                    new.provider,
                    callgate_adapters::ADAPTERS
                        .iter()
                        .map(|a| a.info().id)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
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
        let options = check_options(adapter, new.options, self.egress)?;
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
            .write(move |db| {
                rows::insert(db, &stored)?;
                crate::store::audit::record(
                    db,
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
            .read(move |db| rows::get(db, &id))
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
            .write(move |db| {
                let row = rows::set_enabled(db, &owned, enabled, now)?.ok_or_else(not_found)?;
                let action = if enabled {
                    "connection.enabled"
                } else {
                    "connection.disabled"
                };
                crate::store::audit::record(
                    db,
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
            .read(move |db| rows::get(db, &owned))
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
            .write(move |db| {
                rows::rotate(db, &owned, &sealed_next, &names, &sealed_prev, until, now)?;
                crate::store::audit::record(db, now, &actor, "connection.rotated", None, None, &serde_json::json!({"connection_id": owned, "previous_until": until.unix_timestamp()}))
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
    pub async fn ready(
        &self,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Arc<ReadyConnection>>, AppError> {
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
        let row = self.store.read(move |db| rows::get(db, &owned)).await?;
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
    ) -> Result<Option<ReadyConnection>, AppError> {
        let owned = id.to_owned();
        let row = self.store.read(move |db| rows::get(db, &owned)).await?;
        row.map(|r| self.load(&r, now)).transpose()
    }

    fn load(&self, row: &ConnectionRow, now: OffsetDateTime) -> Result<ReadyConnection, AppError> {
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
        Ok(ReadyConnection {
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
