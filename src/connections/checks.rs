//! What a connection may hold, checked before it is stored: its secrets and options
//! against what its adapter declares, the URLs among its options against the egress policy,
//! and a rotation's grace period.

use crate::egress::EgressPolicy;
use crate::error::AppError;
use callgate_adapters::kit::{Adapter, Secret};
use std::collections::BTreeMap;
use std::time::Duration;

/// The longest grace period a rotation may give the previous secrets: 30 days. A rotation is
/// often made because a secret leaked; past a month the old one should be dead.
pub const MAX_GRACE: Duration = Duration::from_secs(30 * 24 * 3600);

/// Refuses a grace period past [`MAX_GRACE`] (422), naming the bound.
pub fn check_grace(grace: Duration) -> Result<Duration, AppError> {
    if grace > MAX_GRACE {
        return Err(AppError::unprocessable(
            "invalid_grace_period",
            format!(
                "grace_period_secs must be between 0 and {} (30 days)",
                MAX_GRACE.as_secs()
            ),
        ));
    }
    Ok(grace)
}

pub(super) fn check_secrets(
    adapter: &dyn Adapter,
    secrets: &BTreeMap<String, Secret>,
    complete: bool,
) -> Result<(), AppError> {
    let info = adapter.info();
    for name in secrets.keys() {
        if !info.secret_names().any(|n| n == name) {
            let known: Vec<_> = info.secret_names().collect();
            return Err(AppError::unprocessable(
                "unknown_secret",
                format!(
                    "{} connections take the secrets {known:?}, not {name:?}",
                    info.id
                ),
            ));
        }
    }
    for (name, value) in secrets {
        if value.expose().is_empty() {
            return Err(AppError::unprocessable(
                "invalid_secret",
                format!("secret {name} is empty"),
            ));
        }
        if let Err(reason) = adapter.check_secret(name, value.expose()) {
            return Err(AppError::unprocessable(
                "invalid_secret",
                format!("secret {name}: {reason}"),
            ));
        }
    }
    if complete {
        for name in info.webhook_secrets {
            if !secrets.contains_key(*name) {
                return Err(AppError::unprocessable(
                    "missing_secret",
                    format!("{} connections need the secret {name}", info.id),
                ));
            }
        }
    }
    Ok(())
}

/// The options as stored: every `*_url` option must be an http(s) URL with a host and no
/// credentials, and the egress policy must allow its address when it is one (422
/// `url_not_allowed` for a private, loopback, link-local or reserved address; a name is
/// checked each time it is resolved, by the outbox's guarded client). One written as a bare
/// host (`example.signalwire.com`, as provider consoles show it) is taken as `https://` that
/// host.
pub(super) fn url_options(
    options: BTreeMap<String, String>,
    egress: EgressPolicy,
) -> Result<BTreeMap<String, String>, AppError> {
    options
        .into_iter()
        .map(|(name, value)| {
            if !name.ends_with("_url") {
                return Ok((name, value));
            }
            let value = if value.contains("://") {
                value
            } else {
                format!("https://{value}")
            };
            let url = reqwest::Url::parse(&value).map_err(|_| {
                AppError::unprocessable("invalid_option", format!("option {name} is not a URL"))
            })?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(AppError::unprocessable(
                    "invalid_option",
                    format!("option {name} must be an http(s) URL"),
                ));
            }
            // Options are shown by the API: credentials belong in the secrets.
            if !url.username().is_empty() || url.password().is_some() {
                return Err(AppError::unprocessable(
                    "invalid_option",
                    format!("option {name} must not carry credentials (they are secrets)"),
                ));
            }
            if let Err(e) = crate::egress::check_host(&url, egress) {
                return Err(AppError::unprocessable(
                    "url_not_allowed",
                    format!("option {name}: {e}"),
                ));
            }
            Ok((name, value))
        })
        .collect()
}

/// The options as stored: each one the adapter declares (or a common one), the `*_url` ones
/// valid ([`url_options`]), and every required one present. 422 `unknown_option` or
/// `missing_option` names the provider's options.
pub(super) fn check_options(
    adapter: &dyn Adapter,
    options: BTreeMap<String, String>,
    egress: EgressPolicy,
) -> Result<BTreeMap<String, String>, AppError> {
    let info = adapter.info();
    let known = || {
        info.option_specs()
            .map(|o| o.name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(name) = options
        .keys()
        .find(|n| !info.option_specs().any(|o| o.name == n.as_str()))
    {
        return Err(AppError::unprocessable(
            "unknown_option",
            format!(
                "{} connections take the options {}, not {name:?}",
                info.id,
                known()
            ),
        ));
    }
    let options = url_options(options, egress)?;
    if let Some(missing) = info
        .option_specs()
        .find(|o| o.required && !options.contains_key(o.name))
    {
        return Err(AppError::unprocessable(
            "missing_option",
            format!(
                "{} connections need the option {} ({})",
                info.id, missing.name, missing.about
            ),
        ));
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::{EgressPolicy, check_options, url_options};
    use std::collections::BTreeMap;

    /// Under the test setting (private addresses allowed).
    fn one(name: &str, value: &str) -> Result<String, String> {
        let options = BTreeMap::from([(name.to_owned(), value.to_owned())]);
        url_options(
            options,
            EgressPolicy {
                allow_private: true,
            },
        )
        .map(|o| o[name].clone())
        .map_err(|e| e.to_string())
    }

    #[test]
    fn url_options_pointing_at_private_addresses_are_refused_by_default() {
        for bad in [
            "http://127.0.0.1:9000/prefix",
            "http://169.254.169.254/latest/meta-data/",
            "https://10.1.2.3",
            "http://[::1]:8080",
            "http://[::ffff:192.168.1.1]/",
            "http://2130706433/",
        ] {
            let options = BTreeMap::from([("api_base_url".to_owned(), bad.to_owned())]);
            let e = url_options(options, EgressPolicy::default()).unwrap_err();
            assert_eq!(e.code(), "url_not_allowed", "{bad}");
            assert!(e.to_string().contains("api_base_url"), "{e}");
        }
        let options =
            BTreeMap::from([("space_url".to_owned(), "example.signalwire.com".to_owned())]);
        assert!(url_options(options, EgressPolicy::default()).is_ok());
    }

    #[test]
    fn url_options_are_http_urls_and_a_bare_host_means_https() {
        assert_eq!(
            one("space_url", "example.signalwire.com").as_deref(),
            Ok("https://example.signalwire.com")
        );
        assert_eq!(
            one("api_base_url", "http://127.0.0.1:9000/prefix").as_deref(),
            Ok("http://127.0.0.1:9000/prefix")
        );
        for bad in [
            "ftp://example.com",
            "https://",
            "exa mple.com",
            "",
            "mailto:a@b.c",
            "https://user:pass@example.com",
        ] {
            assert!(one("space_url", bad).is_err(), "{bad:?}");
        }
        // Other options are kept as they are.
        assert_eq!(one("region", "us east").as_deref(), Ok("us east"));
    }

    fn options(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn options_are_those_the_adapter_declares() {
        let egress = EgressPolicy::default();
        let twilio = callgate_adapters::by_id("twilio").unwrap();
        let signalwire = callgate_adapters::by_id("signalwire").unwrap();
        let ok = check_options(
            twilio,
            options(&[("api_base_url", "api.twilio.com")]),
            egress,
        );
        assert_eq!(ok.unwrap()["api_base_url"], "https://api.twilio.com");
        assert!(check_options(twilio, options(&[]), egress).is_ok());
        let e = check_options(twilio, options(&[("foo", "bar")]), egress).unwrap_err();
        assert_eq!(e.code(), "unknown_option");
        assert!(
            e.to_string().contains("api_base_url") && e.to_string().contains("foo"),
            "{e}"
        );
        let e = check_options(
            twilio,
            options(&[("space_url", "x.signalwire.com")]),
            egress,
        )
        .unwrap_err();
        assert_eq!(e.code(), "unknown_option", "another provider's option");
        let e = check_options(signalwire, options(&[]), egress).unwrap_err();
        assert_eq!(e.code(), "missing_option");
        assert!(e.to_string().contains("space_url"), "{e}");
        let space = options(&[("space_url", "example.signalwire.com")]);
        assert!(check_options(signalwire, space, egress).is_ok());
    }
}
