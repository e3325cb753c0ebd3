//! Console sessions: an API token exchanged for a session cookie, the CSRF tokens of the
//! console's forms, and the extractor that turns a session into the token's [`Principal`].
//!
//! - The session id is 256 random bits, sent only as the cookie [`COOKIE`] (HttpOnly,
//!   SameSite=Strict, Path=/, Secure when the public URL is https). The store keeps its
//!   SHA-256, never the id.
//! - A session stands for the token it was signed in with: every request authenticates that
//!   token again (by its hash, as a bearer request does), so a revoked token, or a user's
//!   changed rights, apply to the very next request. Revoking a token also deletes its
//!   sessions.
//! - A session ends after [`IDLE`] without a request, and [`ABSOLUTE`] after sign-in
//!   whatever happens.
//! - CSRF: every state-changing console request carries a token in the form field `csrf` (or
//!   the header `x-csrf-token`), checked on the server. Signed in, it is derived from the
//!   session id (a synchronizer token the server needs not store); on the sign-in form, it is
//!   a double-submit of the random value of the cookie [`SIGN_IN_COOKIE`].

use crate::error::AppError;
use crate::http::AppState;
use crate::http::auth::{self, Principal};
use crate::store::sessions::{self, Session};
use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use callgate_adapters::kit::verify::ct_eq;
use rand::TryRngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

/// The session cookie.
pub const COOKIE: &str = "callgate_session";
/// The cookie of the sign-in form's double-submit CSRF token.
pub const SIGN_IN_COOKIE: &str = "callgate_sign_in";
/// A session unused this long ends.
pub const IDLE: Duration = Duration::hours(2);
/// A session ends this long after sign-in, however busy.
pub const ABSOLUTE: Duration = Duration::hours(12);
/// Activity is written down at most this often per session (idle expiry is this coarse).
const TOUCH_EVERY: Duration = Duration::minutes(1);

/// 256 random bits, base64url.
pub fn random_value() -> Result<String, AppError> {
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    OsRng
        .try_fill_bytes(bytes.as_mut_slice())
        .map_err(|e| AppError::Internal(format!("the OS random source failed: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes.as_slice()))
}

fn sha256(value: &str) -> [u8; 32] {
    Sha256::digest(value.as_bytes()).into()
}

/// The CSRF token of the session whose id is `session_id`: a one-way function of it, so a
/// page's token proves the request came from a page served to this session.
pub fn csrf_of(session_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"callgate console csrf\0");
    h.update(session_id.as_bytes());
    URL_SAFE_NO_PAD.encode(h.finalize())
}

/// The value of the cookie `name` in the request, if it holds one.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value for the console: HttpOnly, SameSite=Strict, Path=/, Secure when the
/// console is served over https (the public URL says so). `max_age` 0 deletes the cookie;
/// `None` makes it last as long as the browser session.
pub fn set_cookie(st: &AppState, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let secure = if st.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let age = max_age
        .map(|s| format!("; Max-Age={s}"))
        .unwrap_or_default();
    let text = format!("{name}={value}; HttpOnly; SameSite=Strict; Path=/{age}{secure}");
    // Names and values are base64url or fixed: always a valid header value.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Compares a submitted CSRF token with the expected one, in constant time.
pub fn csrf_matches(submitted: Option<&str>, expected: &str) -> bool {
    submitted.is_some_and(|s| ct_eq(s.as_bytes(), expected.as_bytes()))
}

/// A signed-in console user.
#[derive(Debug, Clone)]
pub struct ConsoleUser {
    pub principal: Principal,
    /// The SHA-256 of the token the session stands for.
    pub token_hash: [u8; 32],
    /// The CSRF token the session's forms carry.
    pub csrf: String,
    pub expires_at: OffsetDateTime,
}

impl ConsoleUser {
    /// 403 (as the CSRF failure it is) unless the request carries this session's CSRF token.
    pub fn check_csrf(&self, submitted: Option<&str>) -> Result<(), AppError> {
        if csrf_matches(submitted, &self.csrf) {
            return Ok(());
        }
        Err(AppError::Forbidden(
            "this form has expired or did not come from this console: reload the page and try again"
                .into(),
        ))
    }
}

/// The signed-in user of a request's session cookie; `None` without a cookie, or for a
/// session that ended (expired, signed out, its token revoked). A store failure is an error.
pub async fn current(st: &AppState, headers: &HeaderMap) -> Result<Option<ConsoleUser>, AppError> {
    let Some(id) = cookie(headers, COOKIE) else {
        return Ok(None);
    };
    let id_hash = sha256(id);
    let now = st.clock.now();
    let found = st
        .store
        .read(move |db| sessions::get(db, &id_hash, now))
        .await?;
    let Some(session) = found else {
        return Ok(None);
    };
    if !is_live(&session, now) {
        st.store
            .write(move |db| sessions::delete(db, &id_hash))
            .await?;
        return Ok(None);
    }
    let Some(principal) = auth::authenticate_hash(st, session.token_hash).await? else {
        // The token was revoked or is unknown: the session is over.
        st.store
            .write(move |db| sessions::delete(db, &id_hash))
            .await?;
        return Ok(None);
    };
    if now - session.seen_at >= TOUCH_EVERY {
        st.store
            .write(move |db| sessions::touch(db, &id_hash, now))
            .await?;
    }
    Ok(Some(ConsoleUser {
        principal,
        token_hash: session.token_hash,
        csrf: csrf_of(id),
        expires_at: session.expires_at,
    }))
}

/// Whether a session may still be used at `now`: before its absolute end, and used within
/// [`IDLE`].
fn is_live(session: &Session, now: OffsetDateTime) -> bool {
    now < session.expires_at && now - session.seen_at < IDLE
}

/// Exchanges an API token for a new session: its id (the cookie's value), or `None` when the
/// token is not valid.
pub async fn sign_in(st: &AppState, token: &str) -> Result<Option<String>, AppError> {
    let Some(principal) = auth::authenticate(st, token).await? else {
        return Ok(None);
    };
    let id = random_value()?;
    let id_hash = sha256(&id);
    let now = st.clock.now();
    let session = Session {
        token_hash: crate::users::token_hash(token),
        user_id: principal.id,
        seen_at: now,
        expires_at: now + ABSOLUTE,
    };
    st.store
        .write(move |db| sessions::insert(db, &id_hash, &session, now))
        .await?;
    Ok(Some(id))
}

/// Ends the request's session, if it has one.
pub async fn sign_out(st: &AppState, headers: &HeaderMap) -> Result<(), AppError> {
    if let Some(id) = cookie(headers, COOKIE) {
        let id_hash = sha256(id);
        st.store
            .write(move |db| sessions::delete(db, &id_hash))
            .await?;
    }
    Ok(())
}

/// What a live stream opened with a session cookie follows: the token hash to check again,
/// and the session's absolute end, where the stream ends too. 401 without a live session.
pub async fn stream_credential(
    st: &AppState,
    headers: &HeaderMap,
) -> Result<([u8; 32], OffsetDateTime), AppError> {
    let user = current(st, headers).await?.ok_or(AppError::Unauthorized)?;
    Ok((user.token_hash, user.expires_at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; callgate_session_x=2; callgate_session=abc"),
        );
        assert_eq!(cookie(&h, COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "a"), Some("1"));
        assert_eq!(cookie(&h, "b"), None);
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("callgate_session="),
        );
        assert_eq!(cookie(&h, COOKIE), None, "an empty value is no cookie");
    }

    #[test]
    fn a_session_ends_when_idle_or_at_its_absolute_end() {
        let signed_in = time::macros::datetime!(2026-12-07 08:00 UTC);
        let s = Session {
            token_hash: [0; 32],
            user_id: "ana".into(),
            seen_at: signed_in,
            expires_at: signed_in + ABSOLUTE,
        };
        assert!(is_live(&s, signed_in));
        assert!(is_live(&s, signed_in + IDLE - Duration::seconds(1)));
        assert!(!is_live(&s, signed_in + IDLE), "idle too long");
        let busy = Session {
            seen_at: signed_in + ABSOLUTE - Duration::minutes(5),
            ..s.clone()
        };
        assert!(is_live(&busy, signed_in + ABSOLUTE - Duration::seconds(1)));
        assert!(
            !is_live(&busy, signed_in + ABSOLUTE),
            "past the absolute end"
        );
    }

    #[test]
    fn csrf_tokens_differ_per_session_and_compare_exactly() {
        let a = csrf_of("session-a");
        assert_ne!(a, csrf_of("session-b"));
        assert!(!a.contains("session"));
        assert!(csrf_matches(Some(&a), &a));
        assert!(!csrf_matches(None, &a));
        assert!(!csrf_matches(Some(""), &a));
        assert!(!csrf_matches(Some(&a[1..]), &a));
        assert!(!csrf_matches(Some(&csrf_of("session-b")), &a));
    }
}
