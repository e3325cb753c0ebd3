//! The web console: server-rendered pages (askama templates under `templates/`), a small
//! script and a stylesheet compiled in (`assets/`), signed in with a session cookie
//! (`session.rs`). Every page calls the same use cases as the API, with the session's
//! principal, so it shows and does exactly what that principal's API token may.

mod agent;
mod assets;
mod format;
mod managers;
mod ops;
mod outbound;
mod pages;
pub(crate) mod session;
mod settings;

use crate::error::AppError;
use crate::http::AppState;
use crate::http::auth::Permission;
use askama::Template;
use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use session::ConsoleUser;
use std::collections::HashMap;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/console/sign-in", post(pages::sign_in))
        .route("/console/sign-out", post(pages::sign_out))
        .route("/console/agent", get(agent::page))
        .route("/console/calls/{call_id}/claim", post(agent::claim))
        .route("/console/calls/{call_id}/tenant", post(agent::enter_tenant))
        .route(
            "/console/calls/{call_id}/tenant-page",
            get(agent::tenant_page),
        )
        .route(
            "/console/settings",
            get(settings::page).post(settings::save),
        )
        .route("/console/settings/sync", post(settings::sync))
        .route("/console/users", get(managers::page))
        .route(
            "/console/users/{user_id}/tenants",
            post(managers::save_tenants),
        )
        .route("/console/users/{user_id}/tokens", post(managers::new_token))
        .route("/console/ops", get(ops::page))
        .route("/console/ops/connections", post(ops::create))
        .route("/console/ops/connections/{id}", get(ops::connection))
        .route("/console/ops/connections/{id}/rotate", post(ops::rotate))
        .route("/console/ops/connections/{id}/enable", post(ops::enable))
        .route("/console/ops/connections/{id}/disable", post(ops::disable))
        .route("/console/ops/outbound", get(outbound::page))
        .route(
            "/console/ops/webhook-deliveries/{id}/replay",
            post(outbound::replay),
        )
        .route(
            "/console/ops/recording-deletions/{id}/retry",
            post(outbound::retry),
        )
        .route("/console/assets/{name}", get(assets::serve))
        .layer(middleware::from_fn(security_headers))
}

/// The Content-Security-Policy of every console answer: scripts, styles and fetches from this
/// origin only (no inline script or style anywhere), forms posting here only, never framed.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// What every page's frame shows: the assets, and the signed-in user's bar.
#[derive(Debug, Clone)]
pub struct Chrome {
    pub css: String,
    pub js: String,
    pub user: Option<UserBar>,
}

/// The signed-in user's bar: who, the pages they may open, sign-out.
#[derive(Debug, Clone)]
pub struct UserBar {
    pub id: String,
    pub csrf: String,
    pub nav: Vec<NavItem>,
}

#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

impl Chrome {
    pub fn anonymous() -> Self {
        Self {
            css: assets::url("console", "css"),
            js: assets::url("console", "js"),
            user: None,
        }
    }

    /// The frame of a signed-in page; `current` is the path of the page shown.
    pub fn of(user: &ConsoleUser, current: &str) -> Self {
        let nav = pages::NAV
            .iter()
            .filter(|(_, _, need)| user.principal.require(*need).is_ok())
            .map(|&(href, label, _)| NavItem {
                href,
                label,
                current: href == current,
            })
            .collect();
        Self {
            user: Some(UserBar {
                id: user.principal.id.clone(),
                csrf: user.csrf.clone(),
                nav,
            }),
            ..Self::anonymous()
        }
    }
}

/// A console page's failure, shown as a page with a sentence (never a code), with the
/// status the API would answer.
#[derive(Debug)]
pub enum PageError {
    /// No live session: back to the sign-in page.
    SignedOut,
    Failed(AppError),
}

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Unauthorized => Self::SignedOut,
            other => Self::Failed(other),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            Self::SignedOut => Redirect::to("/").into_response(),
            Self::Failed(e) => {
                let status = e.status();
                if status.is_server_error() {
                    tracing::error!(error = %e, "a console page failed");
                }
                let page = pages::ErrorPage {
                    chrome: Chrome::anonymous(),
                    heading: heading_of(status),
                    sentence: sentence(&e),
                };
                html(status, &page)
            }
        }
    }
}

/// A heading for people, by status.
fn heading_of(status: StatusCode) -> &'static str {
    match status.as_u16() {
        403 => "Not allowed",
        404 => "Not found",
        409 => "That cannot be done now",
        400 | 422 => "That was not accepted",
        503 => "Temporarily unavailable",
        _ => "Something went wrong",
    }
}

/// An error as a sentence: its public message, capitalized and closed with a period.
pub fn sentence(e: &AppError) -> String {
    let message = match e {
        AppError::Unavailable(_) | AppError::Storage(..) => {
            "the store is unavailable right now; try again in a moment".to_owned()
        }
        AppError::Internal(_) => {
            "an internal error occurred; try again, and tell ops if it persists".to_owned()
        }
        other => other.to_string(),
    };
    let mut chars = message.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// A rendered template as an HTML answer with `status`.
pub fn html(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(body) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a console template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// The signed-in user of a request, or [`PageError::SignedOut`].
pub async fn signed_in(st: &AppState, headers: &HeaderMap) -> Result<ConsoleUser, PageError> {
    session::current(st, headers)
        .await?
        .ok_or(PageError::SignedOut)
}

/// What every console form that changes something checks first: a live session, the form's
/// CSRF token, and the permission `need`. The signed-in user and the form's fields.
pub async fn form_action(
    st: &AppState,
    headers: &HeaderMap,
    body: Body,
    need: Permission,
) -> Result<(ConsoleUser, HashMap<String, String>), PageError> {
    let user = signed_in(st, headers).await?;
    let form = form_fields(body).await?;
    user.check_csrf(form.get("csrf").map(String::as_str))?;
    user.principal.require(need)?;
    Ok((user, form))
}

/// The fields of a form body (`application/x-www-form-urlencoded`), at most 16 KiB; a repeated
/// field keeps its last value.
pub async fn form_fields(body: Body) -> Result<HashMap<String, String>, AppError> {
    let bytes = crate::http::read_body(body, 16 * 1024).await?;
    Ok(form_urlencoded::parse(&bytes).into_owned().collect())
}
