//! The upstream tenant directory (the field service platform's system of record), read by a
//! tenant sync: one bounded GET of `CALLGATE_DIRECTORY_URL`, then the whole document is
//! validated before anything is written.
//!
//! Bounds: no proxy, 5 s to connect, `directory_timeout_ms` for the whole exchange,
//! `directory_max_bytes` for the body, and redirects followed (at most 5) only within the
//! URL's own origin (scheme, host and port). The egress policy applies as to outbound
//! webhooks: an address outside it, written in the URL or resolved from its name, is refused
//! before any connection. The URL may hold credentials, so no error
//! message or log line repeats it.

use crate::config::DirectoryConfig;
use crate::directory::{self, TenantDocument};
use crate::error::AppError;
use crate::store::directory::Tenant;
use reqwest::redirect::{Attempt, Policy};

const MAX_REDIRECTS: usize = 5;

fn unavailable(message: impl Into<String>) -> AppError {
    AppError::bad_gateway("directory_unavailable", message)
}

fn invalid(message: impl Into<String>) -> AppError {
    AppError::bad_gateway("directory_invalid", message)
}

/// What went wrong with the exchange, without the URL.
fn describe(e: &reqwest::Error, cfg: &DirectoryConfig) -> AppError {
    let what = if let Some(refused) = crate::egress::refusal(e) {
        format!("the upstream directory's address is refused: {refused}")
    } else if e.is_timeout() {
        format!(
            "the upstream directory did not answer within {} ms",
            cfg.timeout.as_millis()
        )
    } else if e.is_redirect() {
        "the upstream directory redirected to another origin (or too often); not followed".into()
    } else if e.is_connect() {
        "cannot connect to the upstream directory".into()
    } else {
        format!(
            "the upstream directory could not be read: {}",
            e_without_url(e)
        )
    };
    unavailable(what)
}

fn e_without_url(e: &reqwest::Error) -> String {
    let mut msg = e.to_string();
    if let Some(url) = e.url() {
        msg = msg.replace(url.as_str(), "<directory url>");
    }
    msg
}

/// Reads and validates the upstream directory's tenants.
///
/// Errors: 409 `directory_not_configured` without a URL; 502 `directory_unavailable` when
/// it cannot be reached, times out, redirects elsewhere or answers a non-2xx status; 502
/// `directory_invalid` when the body is too large, not the expected JSON, or lists an
/// invalid tenant (the message names it).
pub async fn fetch_tenants(
    cfg: &DirectoryConfig,
    egress: crate::egress::EgressPolicy,
) -> Result<Vec<Tenant>, AppError> {
    let url = cfg.url.clone().ok_or_else(|| {
        AppError::conflict(
            "directory_not_configured",
            "no upstream directory is configured: set CALLGATE_DIRECTORY_URL (or directory_url in the configuration file)",
        )
    })?;
    crate::egress::check_host(&url, egress)
        .map_err(|e| unavailable(format!("the upstream directory's address is refused: {e}")))?;
    let origin = url.origin();
    let policy = Policy::custom(move |attempt: Attempt<'_>| {
        if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error("too many redirects")
        } else if attempt.url().origin() == origin {
            attempt.follow()
        } else {
            attempt.error("redirect to another origin")
        }
    });
    let client = crate::egress::guarded_client(
        egress,
        std::sync::Arc::new(crate::egress::SystemLookup),
        cfg.timeout,
        policy,
    );
    let mut res = client
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| describe(&e, cfg))?;
    let status = res.status();
    if !status.is_success() {
        return Err(unavailable(format!(
            "the upstream directory answered HTTP {}",
            status.as_u16()
        )));
    }
    let too_large = || {
        invalid(format!(
            "the upstream directory's document is larger than {} bytes",
            cfg.max_bytes
        ))
    };
    if res
        .content_length()
        .is_some_and(|n| n > u64::try_from(cfg.max_bytes).unwrap_or(u64::MAX))
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| describe(&e, cfg))? {
        if body.len() + chunk.len() > cfg.max_bytes {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    parse(&body)
}

/// Reads a directory document: `{"tenants": [TENANT, ...]}`, every tenant valid.
pub fn parse(body: &[u8]) -> Result<Vec<Tenant>, AppError> {
    let doc: TenantDocument = serde_json::from_slice(body).map_err(|e| {
        invalid(format!(
            "the upstream directory's document is not {{\"tenants\": [TENANT, ...]}}: {e}"
        ))
    })?;
    directory::tenants_of(doc).map_err(|e| {
        invalid(format!(
            "the upstream directory's document is not valid: {e}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_parsed_whole_and_problems_named() {
        let ok = parse(br#"{"tenants": [{"tenant_id": "t-a", "name": "A", "zip_codes": ["78701"], "trades": ["hvac"], "booking_url": "https://a.example.com/b"}]}"#).unwrap();
        assert_eq!(ok[0].tenant_id, "t-a");
        for (body, names) in [
            (&b"not json"[..], "not {\"tenants\""),
            (br#"{"tenants": {}}"#, "not {\"tenants\""),
            (
                br#"{"tenants": [{"tenant_id": "t-a", "name": "A", "zip_codes": ["7"]}]}"#,
                "tenant #0 (\"t-a\")",
            ),
            (
                br#"{"tenants": [{"tenant_id": "t a", "name": "A"}]}"#,
                "tenant #0 (\"t a\")",
            ),
        ] {
            let e = parse(body).unwrap_err();
            assert_eq!(e.code(), "directory_invalid");
            assert_eq!(e.status().as_u16(), 502);
            assert!(e.to_string().contains(names), "{e}");
        }
    }
}
