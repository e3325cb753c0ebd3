//! The console's static files, compiled into the binary. Each is served under a name that
//! carries a hash of its content (`/console/assets/console.<hash>.css`), so it can be cached
//! for a year: a new build with a changed file names it differently. The hash is also its
//! ETag.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// One static file.
#[derive(Debug)]
pub struct Asset {
    /// The name before the hash (`console`), and its extension (`css`).
    stem: &'static str,
    ext: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const FILES: [Asset; 2] = [
    Asset {
        stem: "console",
        ext: "css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("assets/console.css"),
    },
    Asset {
        stem: "console",
        ext: "js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("assets/console.js"),
    },
];

/// The files with their hashed names, made once.
fn table() -> &'static [(String, &'static Asset)] {
    static TABLE: OnceLock<Vec<(String, &'static Asset)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        FILES
            .iter()
            .map(|a| {
                let digest = Sha256::digest(a.body);
                let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
                (format!("{}.{hash}.{}", a.stem, a.ext), a)
            })
            .collect()
    })
}

/// The URL path of the file `stem.ext`.
pub fn url(stem: &str, ext: &str) -> String {
    table()
        .iter()
        .find(|(_, a)| a.stem == stem && a.ext == ext)
        .map(|(name, _)| format!("/console/assets/{name}"))
        .unwrap_or_default()
}

/// `GET /console/assets/{name}`: the file, cacheable for a year; 304 for a matching
/// `If-None-Match`; 404 for a name no file has (an old hash included).
pub async fn serve(Path(name): Path<String>, headers: HeaderMap) -> Response {
    let Some((name, asset)) = table().iter().find(|(n, _)| *n == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = format!("\"{name}\"");
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut res = if cached {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            )],
            asset.body,
        )
            .into_response()
    };
    let h = res.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_has_a_hashed_url() {
        for a in &FILES {
            let u = url(a.stem, a.ext);
            assert!(u.starts_with("/console/assets/console."), "{u}");
            assert!(u.ends_with(a.ext));
            assert_eq!(
                u.len(),
                "/console/assets/console..".len() + 16 + a.ext.len()
            );
        }
        assert_eq!(url("missing", "css"), "");
    }
}
