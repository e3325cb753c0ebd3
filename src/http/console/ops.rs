//! The Ops page (`connections.manage`): connections with their webhook URLs and where each
//! goes in the provider's console, a form per provider built from its adapter's metadata
//! (`ProviderInfo`: secrets and options), rotation with a grace period, enable and disable;
//! and, per connection, the recent deliveries and refusals with what was checked. Every
//! change goes through `Connections`, as `/api/v1/connections` does.

use super::format::{fallback_time, machine_time};
use super::{Chrome, PageError, form_action, html, sentence, signed_in};
use crate::connections::{ConnectionView, NewConnection};
use crate::error::AppError;
use crate::http::AppState;
use crate::http::auth::Permission;
use crate::ids::check_id;
use crate::store::webhook_log::{self, DeliverySummary, Refusal};
use askama::Template;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use callgate_adapters::kit::{ProviderInfo, Secret};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// Deliveries and refusals shown on a connection's page (the API pages through the rest).
const RECENT: usize = 25;

/// Refusals of paths that named no connection, shown on the Ops page.
const UNMATCHED: usize = 10;

/// An instant for a `<time>` element.
#[derive(Debug)]
pub struct Stamp {
    pub machine: String,
    pub fallback: String,
}

impl Stamp {
    pub fn of(t: time::OffsetDateTime) -> Self {
        Self {
            machine: machine_time(t),
            fallback: fallback_time(t),
        }
    }
}

/// A field of a provider's form.
#[derive(Debug)]
struct Field {
    name: &'static str,
    required: bool,
    about: &'static str,
}

/// The form that creates a connection of one provider.
#[derive(Debug)]
struct ProviderForm {
    id: &'static str,
    display_name: &'static str,
    console_field: &'static str,
    secrets: Vec<Field>,
    options: Vec<Field>,
}

fn provider_form(info: &'static ProviderInfo) -> ProviderForm {
    let secret = |required: bool, about: &'static str| {
        move |name: &&'static str| Field {
            name,
            required,
            about,
        }
    };
    let secrets = info
        .webhook_secrets
        .iter()
        .map(secret(true, "checks every webhook"))
        .chain(
            info.optional_webhook_secrets
                .iter()
                .map(secret(false, "checks the webhooks signed with it")),
        )
        .chain(
            info.api_secrets
                .iter()
                .map(secret(false, "for the provider's REST API")),
        )
        .collect();
    let options = info
        .option_specs()
        .map(|o| Field {
            name: o.name,
            required: o.required,
            about: o.about,
        })
        .collect();
    ProviderForm {
        id: info.id,
        display_name: info.display_name,
        console_field: info.console_field,
        secrets,
        options,
    }
}

/// A connection in the list.
#[derive(Debug)]
struct ConnectionRow {
    id: String,
    name: String,
    display_name: String,
    console_field: String,
    webhook_url: String,
    enabled: bool,
}

fn connection_row(c: ConnectionView) -> ConnectionRow {
    let info = callgate_adapters::by_id(&c.provider).map(|a| a.info());
    ConnectionRow {
        display_name: info.map_or_else(|| c.provider.clone(), |i| i.display_name.to_owned()),
        console_field: info.map_or("", |i| i.console_field).to_owned(),
        id: c.id,
        name: c.name,
        webhook_url: c.webhook_url,
        enabled: c.enabled,
    }
}

#[derive(Template)]
#[template(path = "ops.html")]
struct OpsPage {
    chrome: Chrome,
    csrf: String,
    notice: Option<String>,
    error: Option<String>,
    connections: Vec<ConnectionRow>,
    providers: Vec<ProviderForm>,
    /// Refused requests whose path named no connection of callgate's.
    unmatched: Vec<RefusalRow>,
}

#[derive(Debug, Default, Deserialize)]
pub struct OpsQuery {
    created: Option<String>,
}

/// `GET /console/ops`.
pub async fn page(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<OpsQuery>,
) -> Result<Response, PageError> {
    let notice = q.created.filter(|id| check_id("connection id", id).is_ok()).map(|id| {
        format!("Connection {id} was created. Copy its webhook URL into the provider's console, in the field named beside it.")
    });
    render(&st, &headers, StatusCode::OK, notice, None).await
}

async fn render(
    st: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> Result<Response, PageError> {
    let user = signed_in(st, headers).await?;
    user.principal.require(Permission::ConnectionsManage)?;
    let connections = st.connections.list(st.clock.now()).await?;
    let unmatched = st
        .store
        .read(|db| webhook_log::refusals(db, "", None, UNMATCHED))
        .await
        .map_err(AppError::from)?;
    let page = OpsPage {
        chrome: Chrome::of(&user, "/console/ops"),
        csrf: user.csrf.clone(),
        notice,
        error,
        connections: connections.into_iter().map(connection_row).collect(),
        providers: callgate_adapters::ADAPTERS
            .iter()
            .map(|a| provider_form(a.info()))
            .collect(),
        unmatched: unmatched.into_iter().map(refusal_row).collect(),
    };
    Ok(html(status, &page))
}

/// The non-empty `prefix<name>` fields of a form, by name.
fn prefixed(form: &HashMap<String, String>, prefix: &str) -> BTreeMap<String, String> {
    form.iter()
        .filter_map(|(k, v)| {
            let name = k.strip_prefix(prefix)?;
            (!v.trim().is_empty()).then(|| (name.to_owned(), v.trim().to_owned()))
        })
        .collect()
}

fn secrets_of(form: &HashMap<String, String>) -> BTreeMap<String, Secret> {
    prefixed(form, "secret:")
        .into_iter()
        .map(|(k, v)| (k, Secret::new(v)))
        .collect()
}

/// `POST /console/ops/connections` (form: `csrf`, `provider`, `name`, `secret:<name>`,
/// `option:<name>`): creates the connection; its page lists it with its URL. A refused form
/// comes back with the reason as a sentence.
pub async fn create(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, PageError> {
    let (user, form) = form_action(&st, &headers, body, Permission::ConnectionsManage).await?;
    let field = |name: &str| {
        form.get(name)
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let new = NewConnection {
        provider: field("provider"),
        name: field("name"),
        secrets: secrets_of(&form),
        options: prefixed(&form, "option:"),
    };
    match st
        .connections
        .create(new, &user.principal.id, st.clock.now())
        .await
    {
        Ok(view) => Ok(
            Redirect::to(&format!("/console/ops?created={}#{}", view.id, view.id)).into_response(),
        ),
        Err(e) => refused(&st, &headers, e).await,
    }
}

/// The Ops page again, with the API's refusal as a sentence and its status.
async fn refused(st: &AppState, headers: &HeaderMap, e: AppError) -> Result<Response, PageError> {
    let status = e.status();
    if status.is_server_error() {
        return Err(PageError::Failed(e));
    }
    let message = format!("Nothing was changed: {}", sentence(&e));
    render(st, headers, status, None, Some(message)).await
}

/// `POST /console/ops/connections/{id}/rotate` (form: `csrf`, `secret:<name>` for each secret
/// replaced, `grace_hours`): the secrets replaced, the previous ones still accepted for the
/// grace period (default: the configured one).
pub async fn rotate(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, PageError> {
    let (user, form) = form_action(&st, &headers, body, Permission::ConnectionsManage).await?;
    check_id("connection id", &id)?;
    let grace = match form.get("grace_hours").map(|v| v.trim()) {
        None | Some("") => None,
        Some(h) => Some(
            h.parse::<u64>()
                .ok()
                .map(|h| Duration::from_secs(h * 3600))
                .ok_or_else(|| {
                    AppError::bad_request(
                        "invalid_grace",
                        "the grace period is a whole number of hours",
                    )
                })?,
        ),
    };
    let now = st.clock.now();
    match st
        .connections
        .rotate(&id, secrets_of(&form), grace, &user.principal.id, now)
        .await
    {
        Ok(_) => Ok(
            Redirect::to(&format!("/console/ops/connections/{id}?done=rotated")).into_response(),
        ),
        Err(e) => refused(&st, &headers, e).await,
    }
}

/// `POST /console/ops/connections/{id}/enable` and `.../disable` (form: `csrf`).
pub async fn enable(
    st: State<AppState>,
    headers: HeaderMap,
    id: Path<String>,
    body: Body,
) -> Result<Response, PageError> {
    set_enabled(st, headers, id, body, true).await
}

pub async fn disable(
    st: State<AppState>,
    headers: HeaderMap,
    id: Path<String>,
    body: Body,
) -> Result<Response, PageError> {
    set_enabled(st, headers, id, body, false).await
}

async fn set_enabled(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Body,
    enabled: bool,
) -> Result<Response, PageError> {
    let (user, _) = form_action(&st, &headers, body, Permission::ConnectionsManage).await?;
    check_id("connection id", &id)?;
    st.connections
        .set_enabled(&id, enabled, &user.principal.id, st.clock.now())
        .await?;
    let done = if enabled { "enabled" } else { "disabled" };
    Ok(Redirect::to(&format!("/console/ops/connections/{id}?done={done}")).into_response())
}

/// A refusal for people.
#[derive(Debug)]
struct RefusalRow {
    at: Stamp,
    reason: &'static str,
    check: String,
    url: String,
    /// A hint when the signature was computed over another URL than this one.
    url_hint: bool,
    skew: Option<String>,
    method: String,
    content_type: String,
    size: String,
    body: String,
}

/// A refusal's reason as a sentence.
fn reason_text(code: &str) -> &'static str {
    match code {
        "invalid_signature" => "The signature was not accepted",
        "replayed" => "Already received: a single-use value was used again",
        "unknown_connection" => "No such connection for this provider",
        "connection_disabled" => "The connection is disabled",
        "unknown_provider" => "No such provider",
        "body_too_large" => "The body is larger than the limit",
        "body_timeout" => "The body did not arrive in time",
        "unreadable_body" => "The body could not be read",
        "unsupported_content_type" => "A content type this provider does not send",
        "malformed_webhook" => "The body is not what this provider sends",
        _ => "Refused",
    }
}

fn refusal_row(r: Refusal) -> RefusalRow {
    let f = r.refusal;
    let check = match (&f.failed_check, &f.detail) {
        (Some(c), Some(d)) => format!("{c}: {d}"),
        (Some(c), None) => c.clone(),
        (None, Some(d)) => d.clone(),
        (None, None) => String::new(),
    };
    let truncated = f.body_size > i64::try_from(f.body_prefix.len()).unwrap_or(i64::MAX);
    let mut body = String::from_utf8_lossy(&f.body_prefix).into_owned();
    if truncated {
        body.push('…');
    }
    RefusalRow {
        at: Stamp::of(f.at),
        reason: reason_text(&f.reason),
        url_hint: f.failed_check.as_deref() == Some("bad_signature"),
        check,
        url: f.url,
        skew: f.skew_secs.map(|s| match s {
            s if s >= 0 => format!("signed {s} s before callgate's clock"),
            s => format!("signed {} s after callgate's clock", -s),
        }),
        method: f.method,
        content_type: f.content_type.unwrap_or_else(|| "none".into()),
        size: bytes(f.body_size),
        body,
    }
}

fn bytes(n: i64) -> String {
    if n == 1 {
        "1 byte".into()
    } else {
        format!("{n} bytes")
    }
}

/// An accepted delivery for people.
#[derive(Debug)]
struct DeliveryRow {
    at: Stamp,
    method: String,
    target: String,
    content_type: String,
    size: String,
    events: i64,
}

fn delivery_row(d: DeliverySummary) -> DeliveryRow {
    DeliveryRow {
        at: Stamp::of(d.received_at),
        method: d.method,
        target: d.target,
        content_type: d.content_type.unwrap_or_else(|| "none".into()),
        size: if d.body_size == 0 {
            "pruned".into()
        } else {
            bytes(d.body_size)
        },
        events: d.events,
    }
}

#[derive(Template)]
#[template(path = "ops_connection.html")]
struct ConnectionPage {
    chrome: Chrome,
    csrf: String,
    notice: Option<&'static str>,
    c: ConnectionRow,
    secret_names: String,
    options: Vec<(String, String)>,
    previous_until: Option<Stamp>,
    rotate: Vec<Field>,
    deliveries: Vec<DeliveryRow>,
    refusals: Vec<RefusalRow>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ConnectionQuery {
    done: Option<String>,
}

/// `GET /console/ops/connections/{id}`: the connection, its URL, rotation, enable or
/// disable, and its recent deliveries and refusals.
pub async fn connection(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<ConnectionQuery>,
) -> Result<Response, PageError> {
    let user = signed_in(&st, &headers).await?;
    user.principal.require(Permission::ConnectionsManage)?;
    check_id("connection id", &id)?;
    let view = st.connections.get(&id, st.clock.now()).await?;
    let (deliveries, refusals) = st
        .store
        .read(move |db| {
            Ok::<_, AppError>((
                webhook_log::deliveries(db, &id, None, RECENT)?.deliveries,
                webhook_log::refusals(db, &id, None, RECENT)?,
            ))
        })
        .await?;
    let notice = match q.done.as_deref() {
        Some("rotated") => Some(
            "The secrets were rotated: the previous ones are still accepted until the time shown.",
        ),
        Some("enabled") => Some("The connection is enabled: its webhooks are accepted again."),
        Some("disabled") => {
            Some("The connection is disabled: its webhooks are refused (404) until it is enabled.")
        }
        _ => None,
    };
    let rotate = callgate_adapters::by_id(&view.provider)
        .map(|a| provider_form(a.info()).secrets)
        .unwrap_or_default();
    let page = ConnectionPage {
        chrome: Chrome::of(&user, "/console/ops"),
        csrf: user.csrf.clone(),
        notice,
        secret_names: view.secret_names.join(", "),
        options: view.options.clone().into_iter().collect(),
        previous_until: view.previous_secrets_until.map(Stamp::of),
        c: connection_row(view),
        rotate,
        deliveries: deliveries.into_iter().map(delivery_row).collect(),
        refusals: refusals.into_iter().map(refusal_row).collect(),
    };
    Ok(html(StatusCode::OK, &page))
}
