//! Requests to URLs that customers or operators choose (outbound webhooks, providers'
//! `api_base_url` and `space_url`, the upstream directory), made safe against server-side
//! request forgery: only `http`/`https`, no credentials in the URL, no redirects followed,
//! and every address a name resolves to checked before any connection. Private, loopback,
//! link-local (cloud metadata), shared and reserved ranges are refused, IPv6 forms that
//! embed an IPv4 address are judged by that address, and the client connects only to the
//! addresses that were checked (the check is its resolver), so a name cannot change its
//! answer between the check and the connection.
//!
//! `CALLGATE_EGRESS_ALLOW_PRIVATE=true` lifts the address ranges (never the scheme or
//! redirect rules), for local testing only.

use reqwest::Url;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// What outbound requests may reach.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EgressPolicy {
    /// Private and loopback addresses are allowed too (local testing only).
    pub allow_private: bool,
}

/// Why a request was not made, or failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EgressError {
    #[error("the URL is not valid")]
    Url,
    #[error("only http and https URLs are allowed")]
    Scheme,
    #[error("URLs with credentials are not allowed")]
    Credentials,
    #[error("the address {0} is not allowed (private, loopback, link-local or reserved)")]
    Forbidden(IpAddr),
    #[error("the host name could not be resolved")]
    Resolve,
    #[error("the endpoint redirected ({0}); redirects are not followed")]
    Redirect(u16),
    #[error("the endpoint did not answer in time")]
    Timeout,
    #[error("the request failed: {0}")]
    Http(String),
}

/// Checks what can be checked without resolving: the scheme, credentials, and the address
/// when the host is one. The `url` crate already turned odd IPv4 spellings (`2130706433`,
/// `0x7f.1`, `0177.0.0.1`, `127.1`) into addresses.
pub fn check_url(raw: &str, policy: EgressPolicy) -> Result<Url, EgressError> {
    let url = Url::parse(raw).map_err(|_| EgressError::Url)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(EgressError::Scheme);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(EgressError::Credentials);
    }
    check_host(&url, policy)?;
    Ok(url)
}

/// Checks a URL's host when it is an address (a name is checked when it is resolved, by
/// the guarded client). For URLs that may carry credentials, such as the directory's.
pub fn check_host(url: &Url, policy: EgressPolicy) -> Result<(), EgressError> {
    match url.host() {
        None => Err(EgressError::Url),
        Some(url::Host::Ipv4(a)) => check_ip(IpAddr::V4(a), policy),
        Some(url::Host::Ipv6(a)) => check_ip(IpAddr::V6(a), policy),
        Some(url::Host::Domain(_)) => Ok(()),
    }
}

/// The guard's refusal inside a failed request (it travels inside the connect error), if
/// that is why the request failed.
pub fn refusal(e: &reqwest::Error) -> Option<EgressError> {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(refused) = s.downcast_ref::<EgressError>() {
            return Some(refused.clone());
        }
        source = s.source();
    }
    None
}

/// Refuses an address outside the public internet, unless the policy allows private ones.
pub fn check_ip(ip: IpAddr, policy: EgressPolicy) -> Result<(), EgressError> {
    if policy.allow_private || is_public(ip) {
        Ok(())
    } else {
        Err(EgressError::Forbidden(ip))
    }
}

/// IPv4 ranges that are not the public internet: (network, prefix length, what it is).
const V4_BLOCKED: &[([u8; 4], u8, &str)] = &[
    ([0, 0, 0, 0], 8, "this network"),
    ([10, 0, 0, 0], 8, "private"),
    (
        [100, 64, 0, 0],
        10,
        "shared address space (carrier-grade NAT)",
    ),
    ([127, 0, 0, 0], 8, "loopback"),
    ([169, 254, 0, 0], 16, "link-local, cloud metadata"),
    ([172, 16, 0, 0], 12, "private"),
    ([192, 0, 0, 0], 24, "IETF protocol assignments"),
    ([192, 0, 2, 0], 24, "documentation"),
    ([192, 88, 99, 0], 24, "6to4 relay anycast"),
    ([192, 168, 0, 0], 16, "private"),
    ([198, 18, 0, 0], 15, "benchmarking"),
    ([198, 51, 100, 0], 24, "documentation"),
    ([203, 0, 113, 0], 24, "documentation"),
    ([224, 0, 0, 0], 4, "multicast"),
    ([240, 0, 0, 0], 4, "reserved, broadcast"),
];

/// IPv6 ranges refused outright: (network, prefix length, what it is). Forms that embed an
/// IPv4 address are judged by that address instead (see [`is_public`]).
const V6_BLOCKED: &[(u128, u8, &str)] = &[
    (0, 128, "unspecified"),
    (1, 128, "loopback"),
    (0x0100_0000_0000_0000_0000_0000_0000_0000, 64, "discard"),
    (0x2001_0000_0000_0000_0000_0000_0000_0000, 32, "Teredo"),
    (
        0x2001_0db8_0000_0000_0000_0000_0000_0000,
        32,
        "documentation",
    ),
    (
        0xfc00_0000_0000_0000_0000_0000_0000_0000,
        7,
        "unique local, AWS metadata",
    ),
    (0xfe80_0000_0000_0000_0000_0000_0000_0000, 10, "link-local"),
    (0xfec0_0000_0000_0000_0000_0000_0000_0000, 10, "site-local"),
    (0xff00_0000_0000_0000_0000_0000_0000_0000, 8, "multicast"),
];

fn in_v4(ip: Ipv4Addr, net: [u8; 4], len: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn in_v6(ip: Ipv6Addr, net: u128, len: u8) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    u128::from(ip) & mask == net & mask
}

/// The IPv4 address an IPv6 address carries: IPv4-mapped (`::ffff:a.b.c.d`),
/// IPv4-compatible (`::a.b.c.d`), NAT64 (`64:ff9b::/96`) and 6to4 (`2002::/16`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(ip);
    let low32 = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
    if in_v6(ip, 0xffff_0000_0000, 96) || (in_v6(ip, 0, 96) && bits > 1) {
        return Some(low32);
    }
    if in_v6(ip, 0x0064_ff9b_0000_0000_0000_0000_0000_0000, 96) {
        return Some(low32);
    }
    if in_v6(ip, 0x2002_0000_0000_0000_0000_0000_0000_0000, 16) {
        return Some(Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32));
    }
    None
}

/// True for an address of the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !V4_BLOCKED.iter().any(|(net, len, _)| in_v4(v4, *net, *len)),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => is_public(IpAddr::V4(v4)),
            None => !V6_BLOCKED.iter().any(|(net, len, _)| in_v6(v6, *net, *len)),
        },
    }
}

/// Looks names up; the guard wraps it. Tests give a fixed table.
pub trait Lookup: Send + Sync + 'static {
    fn lookup(
        &self,
        host: String,
    ) -> std::pin::Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>;
}

/// The system resolver.
#[derive(Debug)]
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(
        &self,
        host: String,
    ) -> std::pin::Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>> {
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(found.map(|a| a.ip()).collect())
        })
    }
}

/// A resolver that answers only with checked addresses: a name with any address outside
/// the policy is refused whole.
struct Guard {
    lookup: Arc<dyn Lookup>,
    policy: EgressPolicy,
}

impl Guard {
    async fn resolve(&self, host: String) -> Result<Vec<IpAddr>, EgressError> {
        let found = self
            .lookup
            .lookup(host)
            .await
            .map_err(|_| EgressError::Resolve)?;
        if found.is_empty() {
            return Err(EgressError::Resolve);
        }
        for ip in &found {
            check_ip(*ip, self.policy)?;
        }
        Ok(found)
    }
}

impl reqwest::dns::Resolve for Guard {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = Guard {
            lookup: self.lookup.clone(),
            policy: self.policy,
        };
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let ips = guard
                .resolve(host)
                .await
                .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { Box::new(e) })?;
            let addrs: reqwest::dns::Addrs =
                Box::new(ips.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

/// The client for outbound webhooks and providers' REST APIs: resolves through the guard,
/// follows no redirect, ignores proxies, bounded in time.
pub fn client(policy: EgressPolicy, lookup: Arc<dyn Lookup>, timeout: Duration) -> reqwest::Client {
    guarded_client(policy, lookup, timeout, reqwest::redirect::Policy::none())
}

/// A client for callgate's outgoing calls: no proxies, at most 5 s to connect, `timeout` for
/// the whole exchange (body included), the given redirect policy, and every name resolved
/// through the guard. An address written in the URL is not resolved: check it first
/// ([`check_url`], [`check_host`]).
pub fn guarded_client(
    policy: EgressPolicy,
    lookup: Arc<dyn Lookup>,
    timeout: Duration,
    redirect: reqwest::redirect::Policy,
) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(redirect)
        .dns_resolver(Arc::new(Guard { lookup, policy }))
        .connect_timeout(Duration::from_secs(5).min(timeout))
        .timeout(timeout)
        .user_agent(concat!("callgate/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// What a receiver answered: its status, and its `Retry-After` header as sent (seconds or
/// an HTTP-date; [`crate::outbox`] reads it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<String>,
}

/// Sends `request` to `url` after the URL check: the receiver's answer, or why there is none.
/// A 3xx is a failure (redirects are not followed); other statuses are returned as they are.
pub async fn send(
    http: &reqwest::Client,
    policy: EgressPolicy,
    url: &str,
    request: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
) -> Result<Answer, EgressError> {
    let url = check_url(url, policy)?;
    let res = request(http.post(url)).send().await.map_err(|e| {
        if e.is_timeout() {
            return EgressError::Timeout;
        }
        if let Some(refused) = refusal(&e) {
            return refused;
        }
        EgressError::Http(if e.is_connect() {
            "cannot connect".to_owned()
        } else {
            "no answer".to_owned()
        })
    })?;
    let status = res.status().as_u16();
    if res.status().is_redirection() {
        return Err(EgressError::Redirect(status));
    }
    let retry_after = res
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned());
    Ok(Answer {
        status,
        retry_after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const STRICT: EgressPolicy = EgressPolicy {
        allow_private: false,
    };
    const LOCAL: EgressPolicy = EgressPolicy {
        allow_private: true,
    };

    /// Every URL that must be refused, and why.
    #[test]
    fn the_matrix_of_forbidden_targets() {
        let forbidden = [
            "http://127.0.0.1/",
            "http://127.255.255.254:8080/x",
            "http://10.1.2.3/",
            "http://172.16.0.1/",
            "http://172.31.255.255/",
            "http://192.168.1.1/",
            "http://100.64.0.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://0.0.0.0/",
            "http://224.0.0.1/",
            "http://255.255.255.255/",
            "http://198.18.0.1/",
            "http://192.0.2.10/",
            // Odd IPv4 spellings: decimal, hex, octal, short.
            "http://2130706433/",
            "http://0x7f.1/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://0x7f000001/",
            // IPv6 and IPv6 carrying IPv4.
            "http://[::1]/",
            "http://[::]/",
            "http://[fe80::1]/",
            "http://[fd00:ec2::254]/",
            "http://[fc00::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://[::ffff:169.254.169.254]/",
            "http://[::127.0.0.1]/",
            "http://[64:ff9b::10.0.0.1]/",
            "http://[2002:c0a8:0101::1]/",
            "http://[2001::1]/",
            "http://[ff02::1]/",
        ];
        for url in forbidden {
            assert!(
                matches!(check_url(url, STRICT), Err(EgressError::Forbidden(_))),
                "{url} should be refused"
            );
        }
        for (url, err) in [
            ("ftp://example.com/", EgressError::Scheme),
            ("file:///etc/passwd", EgressError::Scheme),
            ("gopher://example.com/", EgressError::Scheme),
            ("http://user:pass@example.com/", EgressError::Credentials),
            ("http://user@example.com/", EgressError::Credentials),
            ("not a url", EgressError::Url),
        ] {
            assert_eq!(check_url(url, STRICT).unwrap_err(), err, "{url}");
        }
    }

    #[test]
    fn public_targets_pass_and_private_ones_only_when_allowed() {
        for url in [
            "https://hooks.example.com/callgate",
            "http://93.184.215.14/",
            "https://[2606:4700::1111]/",
            "http://[64:ff9b::8.8.8.8]/",
            "http://[::ffff:8.8.8.8]/",
        ] {
            assert!(check_url(url, STRICT).is_ok(), "{url}");
        }
        assert!(check_url("http://127.0.0.1:9000/", LOCAL).is_ok());
        assert!(check_url("http://[::1]/", LOCAL).is_ok());
        // The scheme and credential rules hold even then.
        assert_eq!(
            check_url("ftp://127.0.0.1/", LOCAL).unwrap_err(),
            EgressError::Scheme
        );
    }

    struct Table(Vec<(&'static str, Vec<IpAddr>)>);

    impl Lookup for Table {
        fn lookup(
            &self,
            host: String,
        ) -> std::pin::Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>> {
            let found = self
                .0
                .iter()
                .find(|(h, _)| *h == host)
                .map(|(_, ips)| ips.clone());
            Box::pin(async move { found.ok_or_else(|| std::io::Error::other("no such host")) })
        }
    }

    /// A name is refused when any of its addresses is: the one the client would connect to
    /// might be that one.
    #[tokio::test]
    async fn names_are_checked_on_every_address_they_resolve_to() {
        let table = Arc::new(Table(vec![
            ("public.test", vec!["93.184.215.14".parse().unwrap()]),
            (
                "mixed.test",
                vec![
                    "93.184.215.14".parse().unwrap(),
                    "10.0.0.7".parse().unwrap(),
                ],
            ),
            ("localhost", vec!["127.0.0.1".parse().unwrap()]),
            ("metadata.test", vec!["fd00:ec2::254".parse().unwrap()]),
        ]));
        let guard = Guard {
            lookup: table.clone(),
            policy: STRICT,
        };
        assert!(guard.resolve("public.test".into()).await.is_ok());
        assert!(matches!(
            guard.resolve("mixed.test".into()).await,
            Err(EgressError::Forbidden(_))
        ));
        assert!(matches!(
            guard.resolve("localhost".into()).await,
            Err(EgressError::Forbidden(_))
        ));
        assert!(matches!(
            guard.resolve("metadata.test".into()).await,
            Err(EgressError::Forbidden(_))
        ));
        assert_eq!(
            guard.resolve("unknown.test".into()).await,
            Err(EgressError::Resolve)
        );
    }

    proptest! {
        /// An IPv4 address and its IPv4-mapped IPv6 form are judged alike.
        #[test]
        fn mapped_addresses_are_judged_as_their_ipv4(bits in any::<u32>()) {
            let v4 = Ipv4Addr::from(bits);
            prop_assert_eq!(is_public(IpAddr::V4(v4)), is_public(IpAddr::V6(v4.to_ipv6_mapped())));
        }
    }
}
