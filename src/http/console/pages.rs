//! The console's entry: the sign-in page at `/`, signing in and out, and the error page.

use super::session::{self, SIGN_IN_COOKIE};
use super::{Chrome, PageError, form_fields, html};
use crate::http::AppState;
use crate::http::auth::Permission;
use askama::Template;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

/// The console's pages, in the bar's order: path, label, the permission that opens it.
pub const NAV: [(&str, &str, Permission); 4] = [
    (
        "/console/agent",
        "Calls and hub",
        Permission::ContactCenterView,
    ),
    (
        "/console/settings",
        "Settings",
        Permission::ContactCenterSettings,
    ),
    ("/console/users", "Users", Permission::UsersManage),
    ("/console/ops", "Ops", Permission::ConnectionsManage),
];

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    chrome: Chrome,
    csrf: String,
    error: Option<&'static str>,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub chrome: Chrome,
    pub heading: &'static str,
    pub sentence: String,
}

#[derive(Template)]
#[template(path = "no_pages.html")]
struct NoPages {
    chrome: Chrome,
}

/// `GET /`: the sign-in page, or, signed in, the first page the user may open.
pub async fn home(State(st): State<AppState>, headers: HeaderMap) -> Result<Response, PageError> {
    match session::current(&st, &headers).await? {
        Some(user) => {
            let first = NAV
                .iter()
                .find(|(_, _, need)| user.principal.require(*need).is_ok());
            Ok(match first {
                Some((href, _, _)) => Redirect::to(href).into_response(),
                None => html(
                    StatusCode::OK,
                    &NoPages {
                        chrome: Chrome::of(&user, "/"),
                    },
                ),
            })
        }
        None => sign_in_page(&st, StatusCode::OK, None),
    }
}

/// The sign-in form, with a fresh double-submit CSRF value in its field and its cookie.
fn sign_in_page(
    st: &AppState,
    status: StatusCode,
    error: Option<&'static str>,
) -> Result<Response, PageError> {
    let csrf = session::random_value()?;
    let mut res = html(
        status,
        &SignInPage {
            chrome: Chrome::anonymous(),
            csrf: csrf.clone(),
            error,
        },
    );
    res.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(st, SIGN_IN_COOKIE, &csrf, None),
    );
    Ok(res)
}

/// `POST /console/sign-in` (form: `token`, `csrf`): a valid token becomes a session cookie
/// and the browser goes to `/`; an invalid one gets the form again, 401, with a sentence.
pub async fn sign_in(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, PageError> {
    let form = form_fields(body).await?;
    let expected = session::cookie(&headers, SIGN_IN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !session::csrf_matches(form.get("csrf").map(String::as_str), expected)
    {
        return sign_in_page(
            &st,
            StatusCode::FORBIDDEN,
            Some("The sign-in form had expired. It has been reloaded: sign in again."),
        );
    }
    let token = form.get("token").map(|t| t.trim()).unwrap_or_default();
    if token.is_empty() {
        return sign_in_page(
            &st,
            StatusCode::BAD_REQUEST,
            Some("Enter your API token to sign in."),
        );
    }
    let Some(id) = session::sign_in(&st, token).await? else {
        return sign_in_page(
            &st,
            StatusCode::UNAUTHORIZED,
            Some(
                "That token was not accepted: it is unknown or has been revoked. Check it, or ask a manager for a new one.",
            ),
        );
    };
    let mut res = Redirect::to("/").into_response();
    let h = res.headers_mut();
    h.append(
        header::SET_COOKIE,
        session::set_cookie(&st, session::COOKIE, &id, None),
    );
    h.append(
        header::SET_COOKIE,
        session::set_cookie(&st, SIGN_IN_COOKIE, "", Some(0)),
    );
    Ok(res)
}

/// `POST /console/sign-out` (form: `csrf`): ends the session and deletes its cookie.
pub async fn sign_out(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, PageError> {
    let form = form_fields(body).await?;
    if let Some(user) = session::current(&st, &headers).await? {
        user.check_csrf(form.get("csrf").map(String::as_str))?;
        session::sign_out(&st, &headers).await?;
    }
    let mut res = Redirect::to("/").into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(&st, session::COOKIE, "", Some(0)),
    );
    Ok(res)
}
