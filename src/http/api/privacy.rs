//! Erasure and export of one person's number (`privacy.manage`): see `crate::privacy`.

use crate::error::AppError;
use crate::http::auth::{Authorized, need};
use crate::http::{ApiJson, AppState};
use crate::privacy::Export;
use crate::store::erasure::Erased;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/privacy/erase", post(erase))
        .route("/api/v1/privacy/export", post(export))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NumberBody {
    /// Anything but a string holding an E.164 number is 422 `invalid_number`.
    #[serde(default)]
    number: serde_json::Value,
}

/// The number to erase or export, in E.164 form: 422 `invalid_number` for anything else (the message
/// does not repeat it).
fn number_to_erase(raw: &str) -> Result<String, AppError> {
    crate::privacy::number(raw).ok_or_else(|| {
        AppError::unprocessable(
            "invalid_number",
            "number must be a phone number in E.164 form (+15125550123)",
        )
    })
}

async fn erase(
    State(st): State<AppState>,
    p: Authorized<need::PrivacyManage>,
    ApiJson(body): ApiJson<NumberBody>,
) -> Result<Json<Erased>, AppError> {
    let number = number_to_erase(body.number.as_str().unwrap_or_default())?;
    let erased = st.privacy().erase(number, p.id.clone()).await?;
    Ok(Json(erased))
}

async fn export(
    State(st): State<AppState>,
    p: Authorized<need::PrivacyManage>,
    ApiJson(body): ApiJson<NumberBody>,
) -> Result<Json<Export>, AppError> {
    let number = number_to_erase(body.number.as_str().unwrap_or_default())?;
    Ok(Json(st.privacy().export(number, p.id.clone()).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_e164_number_is_erased() {
        assert_eq!(
            number_to_erase(" +1 512 555 0123 ").unwrap(),
            "+15125550123"
        );
        for bad in ["", "15125550123", "+1", "not a number", "+1512555012345678"] {
            let e = number_to_erase(bad).unwrap_err();
            assert_eq!(e.code(), "invalid_number", "{bad}");
            assert_eq!(e.status(), axum::http::StatusCode::UNPROCESSABLE_ENTITY);
        }
    }
}
