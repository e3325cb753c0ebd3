//! Directory input: the shapes tenants and numbers arrive in (API bodies, import files,
//! the upstream directory), and their validation. Pure.

use crate::domain::numbers::{self, NumberKind};
use crate::error::AppError;
use crate::store::directory::{NumberEntry, Tenant};
use serde::Deserialize;

/// A tenant as written by clients (`PUT /api/v1/tenants/{id}` body).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantInput {
    pub name: String,
    #[serde(default)]
    pub zip_codes: Vec<String>,
    #[serde(default)]
    pub trades: Vec<String>,
    pub booking_url: Option<String>,
}

/// A number as written by clients (`PUT /api/v1/numbers/{e164}` body).
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum NumberInput {
    Local { tenant_id: String },
    National {},
    Regional { tenant_ids: Vec<String> },
}

fn invalid(code: &'static str, msg: impl Into<String>) -> AppError {
    AppError::unprocessable(code, msg)
}

/// A lowercase slug: `hvac`, `pest-control`.
fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && !s.starts_with(['-', '_'])
}

/// Validates a tenant. Trades are lowercase slugs; ZIP codes are 3-10 letters, digits or
/// `-`; the booking page is an http(s) URL.
pub fn tenant(id: &str, input: TenantInput) -> Result<Tenant, AppError> {
    crate::http::api::check_id("tenant id", id)?;
    let name = input.name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(invalid("invalid_name", "name must be 1-200 characters"));
    }
    let mut zip_codes = Vec::new();
    for zip in input.zip_codes {
        let zip = zip.trim().to_owned();
        if !(3..=10).contains(&zip.len())
            || !zip.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(invalid(
                "invalid_zip_code",
                format!("{zip:?} is not a ZIP code"),
            ));
        }
        if !zip_codes.contains(&zip) {
            zip_codes.push(zip);
        }
    }
    let mut trades = Vec::new();
    for trade in input.trades {
        if !is_slug(&trade) {
            return Err(invalid(
                "invalid_trade",
                format!("{trade:?} is not a lowercase slug (e.g. hvac, pest-control)"),
            ));
        }
        if !trades.contains(&trade) {
            trades.push(trade);
        }
    }
    if let Some(url) = &input.booking_url {
        let ok = reqwest::Url::parse(url)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
        if !ok {
            return Err(invalid(
                "invalid_booking_url",
                "booking_url must be an http(s) URL",
            ));
        }
    }
    Ok(Tenant {
        tenant_id: id.to_owned(),
        name: name.to_owned(),
        zip_codes,
        trades,
        booking_url: input.booking_url,
    })
}

/// Normalizes a number given by a client: it must be a valid number in E.164 form.
pub fn e164(raw: &str) -> Result<String, AppError> {
    match numbers::to_e164(raw) {
        Some(n) if raw.trim().starts_with('+') => Ok(n),
        _ => Err(AppError::bad_request(
            "invalid_number",
            format!("{raw:?} is not a phone number in E.164 form (+15125550100)"),
        )),
    }
}

/// Validates a number entry (tenant existence is checked by the store).
pub fn number(raw: &str, input: NumberInput) -> Result<NumberEntry, AppError> {
    let e164 = e164(raw)?;
    let entry = match input {
        NumberInput::Local { tenant_id } => {
            crate::http::api::check_id("tenant_id", &tenant_id)?;
            NumberEntry {
                e164,
                kind: NumberKind::Local,
                tenant_id: Some(tenant_id),
                tenant_ids: Vec::new(),
            }
        }
        NumberInput::National {} => NumberEntry {
            e164,
            kind: NumberKind::National,
            tenant_id: None,
            tenant_ids: Vec::new(),
        },
        NumberInput::Regional { mut tenant_ids } => {
            if tenant_ids.is_empty() {
                return Err(invalid(
                    "invalid_tenant_ids",
                    "a regional number serves at least one tenant",
                ));
            }
            for t in &tenant_ids {
                crate::http::api::check_id("tenant_ids", t)?;
            }
            tenant_ids.sort();
            tenant_ids.dedup();
            NumberEntry {
                e164,
                kind: NumberKind::Regional,
                tenant_id: None,
                tenant_ids,
            }
        }
    };
    Ok(entry)
}

/// The tenants a number entry names.
pub fn named_tenants(n: &NumberEntry) -> impl Iterator<Item = &String> {
    n.tenant_id.iter().chain(n.tenant_ids.iter())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(zips: &[&str], trades: &[&str]) -> TenantInput {
        TenantInput {
            name: "Austin HVAC".into(),
            zip_codes: zips.iter().map(|s| (*s).to_owned()).collect(),
            trades: trades.iter().map(|s| (*s).to_owned()).collect(),
            booking_url: Some("https://t.example.com/book".into()),
        }
    }

    #[test]
    fn tenants_are_validated() {
        assert!(tenant("t-austin", input(&["78701"], &["hvac", "pest-control"])).is_ok());
        assert!(tenant("t austin", input(&["78701"], &["hvac"])).is_err());
        assert!(tenant("t-austin", input(&["7"], &["hvac"])).is_err());
        assert!(tenant("t-austin", input(&["78701"], &["HVAC"])).is_err());
        assert!(tenant("t-austin", input(&["78701"], &[""])).is_err());
        let mut bad_url = input(&["78701"], &["hvac"]);
        bad_url.booking_url = Some("javascript:alert(1)".into());
        assert!(tenant("t-austin", bad_url).is_err());
    }

    #[test]
    fn numbers_must_be_e164() {
        assert_eq!(e164("+1 512 555 0100").unwrap(), "+15125550100");
        assert!(e164("5125550100").is_err());
        assert!(e164("+1").is_err());
        let n = number("+18005550199", NumberInput::National {}).unwrap();
        assert_eq!(n.kind, NumberKind::National);
        assert!(number("+18005550199", NumberInput::Regional { tenant_ids: vec![] }).is_err());
    }
}
