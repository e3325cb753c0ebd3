//! The HTTP edge's error type, with one status table, and the mapping of the layers' own
//! errors into it (the store's `StoreError`, the domain's `Refusal`). Errors are logged once,
//! by the HTTP layer, never inside `IntoResponse`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::domain::refusal::Refusal;
pub use crate::store::{JobError, StorageFault, StoreError};

/// Everything a request can end in, other than success.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    #[error("missing or invalid bearer token")]
    Unauthorized,
    #[error("the request signature was not accepted")]
    InvalidSignature,
    #[error("{0}")]
    Forbidden(String),
    #[error("{message}")]
    NotFound { code: &'static str, message: String },
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("the request body is larger than the limit")]
    PayloadTooLarge,
    /// The request body did not arrive whole within the body timeout.
    #[error("the request body did not arrive in time")]
    RequestTimeout,
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    /// An upstream service callgate reads (the tenant directory) failed or answered
    /// something unusable. The message names the problem, never the upstream's address.
    #[error("{message}")]
    BadGateway { code: &'static str, message: String },
    /// The store cannot take the write or answer the read now: the caller should retry.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// The store cannot write for a storage reason (a full disk, an I/O error, a read-only
    /// database): 503 like [`AppError::Unavailable`], and what `/readyz` reports until a
    /// write succeeds again.
    #[error("the store cannot write ({fault}): {1}", fault = .0.as_str())]
    Storage(StorageFault, String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// Text holding a NUL character: no store keeps it alike (PostgreSQL refuses it), so it
    /// is refused as bad input.
    pub fn nul_character() -> Self {
        Self::bad_request(
            "nul_character",
            "text values must not contain NUL characters",
        )
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::NotFound {
            code,
            message: message.into(),
        }
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }
    pub fn bad_gateway(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadGateway {
            code,
            message: message.into(),
        }
    }
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::Unprocessable {
            code,
            message: message.into(),
        }
    }

    /// The status table.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized | Self::InvalidSignature => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BadGateway { .. } => StatusCode::BAD_GATEWAY,
            Self::Unavailable(_) | Self::Storage(..) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. }
            | Self::NotFound { code, .. }
            | Self::Conflict { code, .. }
            | Self::Unprocessable { code, .. }
            | Self::BadGateway { code, .. } => code,
            Self::Unauthorized => "unauthorized",
            Self::InvalidSignature => "invalid_signature",
            Self::Forbidden(_) => "forbidden",
            Self::PayloadTooLarge => "payload_too_large",
            Self::RequestTimeout => "request_timeout",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::Unavailable(_) | Self::Storage(..) => "store_unavailable",
            Self::Internal(_) => "internal",
        }
    }

    /// What the caller is told. Server-side details stay in the logs.
    fn public_message(&self) -> String {
        match self {
            Self::Unavailable(_) | Self::Storage(..) => {
                "the store is unavailable; retry later".to_owned()
            }
            Self::Internal(_) => "internal error".to_owned(),
            other => other.to_string(),
        }
    }
}

/// The JSON error body of every route: `{"error": {"code", "message"}}`.
pub fn error_body(code: &str, message: &str) -> serde_json::Value {
    json!({ "error": { "code": code, "message": message } })
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = error_body(self.code(), &self.public_message());
        let mut res = (status, axum::Json(body)).into_response();
        if matches!(self, Self::Unauthorized) {
            // The API's bearer token (RFC 6750); a webhook's 401 names no scheme.
            res.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        // The logging middleware reads this to log server-side details once.
        if status.is_server_error() {
            res.extensions_mut().insert(LoggedError(self.to_string()));
        }
        res
    }
}

/// Detail of a 5xx for the logging middleware.
#[derive(Debug, Clone)]
pub struct LoggedError(pub String);

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) => Self::Unavailable(m),
            StoreError::Storage(fault, m) => Self::Storage(fault, m),
            StoreError::Refused(r) => r.into(),
            StoreError::Internal(m) => Self::Internal(m),
        }
    }
}

/// The domain's refusals as answered: each one's status and code, in one place.
impl From<Refusal> for AppError {
    fn from(r: Refusal) -> Self {
        use crate::domain::chat::ActionRefused as A;
        use Refusal as R;
        let message = r.to_string();
        match r {
            R::CallNotFound => Self::not_found("call_not_found", message),
            R::TenantNotFound(_) => Self::not_found("tenant_not_found", message),
            R::ThreadNotFound => Self::not_found("thread_not_found", message),
            R::BookingNotFound => Self::not_found("booking_not_found", message),
            R::CallEnded | R::CallEndedBeforeSelection => Self::conflict("call_ended", message),
            R::TenantSelectionDisabled => Self::conflict("tenant_selection_disabled", message),
            R::NoTenant => Self::conflict("no_tenant", message),
            R::CallClaimed => Self::conflict("call_claimed", message),
            R::ClaimedByAnotherAgent => Self::conflict("claimed_by_another_agent", message),
            R::AgentBusy => Self::conflict("agent_busy", message),
            R::AmbiguousId(_) => Self::conflict("ambiguous_id", message),
            R::BookingIdConflict(_) => Self::conflict("booking_id_conflict", message),
            R::MessageIdReused(_) => Self::conflict("message_id_reused", message),
            R::IdentityTaken(_) => Self::conflict("identity_taken", message),
            R::ThreadAction(A::ThreadIsSpam) => Self::conflict("thread_is_spam", message),
            R::ThreadAction(A::NoCustomer) => Self::conflict("no_customer", message),
            R::TenantNotAssigned => Self::Forbidden(message),
            R::TenantNotServed => Self::unprocessable("tenant_not_served", message),
            R::NulCharacter => Self::nul_character(),
        }
    }
}

/// What the store needs of a caller's job error: whether it may run the job again, and the
/// storage fault it failed with.
impl JobError for AppError {
    fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Storage(..))
    }

    fn storage_fault(&self) -> Option<StorageFault> {
        match self {
            Self::Storage(fault, _) => Some(*fault),
            _ => None,
        }
    }
}

impl From<serde_json::Error> for AppError {
    fn from(e: serde_json::Error) -> Self {
        Self::Internal(format!("JSON: {e}"))
    }
}
