//! One error type for the service, with one status table. Errors are logged once, by the
//! HTTP layer, never inside `IntoResponse`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

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

/// Why the store cannot write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageFault {
    /// No space left: the disk (or the database's size limit) is full.
    Full,
    /// The storage answered an I/O error.
    Io,
    /// The database or its files are read-only.
    ReadOnly,
}

impl StorageFault {
    /// The reason as `/readyz` reports it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Full => "disk_full",
            Self::Io => "io_error",
            Self::ReadOnly => "read_only",
        }
    }

    /// The fault an I/O error of the store's files stands for.
    pub fn of_io(e: &std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => Self::Full,
            std::io::ErrorKind::ReadOnlyFilesystem => Self::ReadOnly,
            _ => Self::Io,
        }
    }
}

impl AppError {
    /// The store could not do it now (unavailable, or failing for a storage reason): the
    /// caller may retry later.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_) | Self::Storage(..))
    }

    /// What the other writes of a failed batch hear: the store could not take them, for the
    /// batch's reason.
    pub fn for_batch(&self) -> Self {
        match self {
            Self::Unavailable(m) => Self::Unavailable(m.clone()),
            Self::Storage(fault, m) => Self::Storage(*fault, m.clone()),
            other => Self::Unavailable(other.to_string()),
        }
    }

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

impl From<rusqlite::Error> for AppError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        if let rusqlite::Error::SqliteFailure(f, _) = &e {
            let fault = match f.code {
                C::DiskFull => Some(StorageFault::Full),
                C::SystemIoFailure => Some(StorageFault::Io),
                C::ReadOnly => Some(StorageFault::ReadOnly),
                _ => None,
            };
            if let Some(fault) = fault {
                return Self::Storage(fault, e.to_string());
            }
        }
        match &e {
            rusqlite::Error::SqliteFailure(f, _)
                if matches!(
                    f.code,
                    C::DatabaseBusy
                        | C::DatabaseLocked
                        | C::CannotOpen
                        | C::OutOfMemory
                        | C::FileLockingProtocolFailed
                ) =>
            {
                Self::Unavailable(e.to_string())
            }
            _ => Self::Internal(e.to_string()),
        }
    }
}

impl From<serde_json::Error> for AppError {
    fn from(e: serde_json::Error) -> Self {
        Self::Internal(format!("stored JSON: {e}"))
    }
}
