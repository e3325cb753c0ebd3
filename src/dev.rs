//! Developer commands, on the repository's files rather than the store: `adapter new`
//! scaffolds a provider, `sample sign` re-signs a captured sample. They need no
//! configuration. The text they write comes from the adapters crate
//! (`kit::scaffold`, `kit::samples`); this module only reads and writes files.
//!
//! Also how `sample send` addresses a sample to a running server ([`addressed`],
//! [`deliver`]), which the end-to-end tests share.

use anyhow::{Context, bail};
use callgate_adapters::kit::samples::{HttpSample, SampleCase};
use callgate_adapters::kit::scaffold::{FILL_IN, NewProvider, capitalized};
use callgate_adapters::kit::{Adapter, Clock, InboundRequest, SecretSet};
use http::{HeaderMap, HeaderName};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What `adapter new` made.
#[derive(Debug, Serialize)]
pub struct Scaffolded {
    pub provider: String,
    pub adapter: String,
    /// The files written, from the repository root.
    pub created: Vec<String>,
    /// The registry, with the new line.
    pub registered: String,
    pub next: String,
}

/// Writes `adapters/<id>/` and `webhook-samples/<id>/` under `root` from the template and
/// adds the provider to `adapters/lib.rs`. Refuses an id that is taken, and leaves nothing
/// behind when a write fails.
pub fn adapter_new(root: &Path, id: &str) -> anyhow::Result<Scaffolded> {
    let provider = NewProvider::new(id)?;
    let lib = root.join("adapters/lib.rs");
    let registry = std::fs::read_to_string(&lib).with_context(|| {
        format!(
            "cannot read {} (run this from the repository root, or give --root)",
            lib.display()
        )
    })?;
    let registry = provider.register(&registry)?;
    let folders = [
        root.join("adapters").join(id),
        root.join("webhook-samples").join(id),
    ];
    for folder in &folders {
        if folder.exists() {
            bail!("{} already exists", folder.display());
        }
    }
    let files = provider.files();
    let written = (|| -> anyhow::Result<()> {
        for file in &files {
            let path = root.join(&file.path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, &file.text)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        write_replacing(&lib, registry.as_bytes())
    })();
    if let Err(e) = written {
        for folder in &folders {
            let _ = std::fs::remove_dir_all(folder);
        }
        return Err(e);
    }
    Ok(Scaffolded {
        provider: provider.id.clone(),
        adapter: provider.type_name.clone(),
        created: files.into_iter().map(|f| f.path).collect(),
        registered: "adapters/lib.rs".to_owned(),
        next: format!(
            "replace every `{FILL_IN}` line with the provider's real scheme, fields and values, then delete it: adapters/README.md, \"Adding a provider, step by step\""
        ),
    })
}

/// Replaces `path`'s content through a temporary file beside it and a rename, so a reader
/// sees the old file or the new one, never half of one.
fn write_replacing(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))
}

/// What `sample sign` changed.
#[derive(Debug, Serialize)]
pub struct Signed {
    pub file: PathBuf,
    pub provider: &'static str,
    /// The headers `sign` set to new values (and `url`, `body` when it changed them).
    pub changed: Vec<String>,
}

/// Signs the sample at `file` again with the fake secrets and the clock of its folder's
/// `provider.toml` (the folder names the provider), and returns the file's new text.
pub fn resign(file: &Path) -> anyhow::Result<(Vec<u8>, Signed)> {
    let case = SampleCase::load(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let before = case
        .sample
        .to_request()
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let mut after = before.clone();
    case.adapter
        .sign(&mut after, &case.fixture.signing, &case.fixture.clock())
        .with_context(|| format!("{}: cannot sign with provider.toml", file.display()))?;
    let mut sample = case.sample.clone();
    let mut changed = merge_headers(&mut sample.headers, &before, &after);
    if after.public_url != before.public_url {
        sample.url = after.public_url;
        changed.push("url".to_owned());
    }
    // Schemes whose body is the signed token (Dialpad) sign by rewriting it.
    if after.body != before.body {
        sample.body = after.body.to_vec();
        changed.push("body".to_owned());
    }
    let signed = Signed {
        file: file.to_owned(),
        provider: case.adapter.info().id,
        changed,
    };
    Ok((sample.render(), signed))
}

/// `sample sign FILE [--stdout]`: writes the re-signed sample back to `file` (or prints it).
pub fn sample_sign(file: &Path, stdout: bool) -> anyhow::Result<Option<Signed>> {
    let (text, signed) = resign(file)?;
    if stdout {
        std::io::stdout().lock().write_all(&text)?;
        return Ok(None);
    }
    if !signed.changed.is_empty() {
        write_replacing(file, &text)?;
    }
    Ok(Some(signed))
}

/// The sample as its provider would send it to this server for one connection: to
/// `{public_base}/webhooks/{provider}/{connection}` plus the sample's own query, signed with
/// the connection's secrets at `clock`. Returns the path and query, and the request.
pub fn addressed(
    sample: &HttpSample,
    adapter: &dyn Adapter,
    connection: &str,
    public_base: &str,
    secrets: &SecretSet,
    clock: &dyn Clock,
) -> anyhow::Result<(String, InboundRequest)> {
    let mut req = sample.to_request().map_err(|e| anyhow::anyhow!("{e}"))?;
    let query = sample
        .url
        .split_once('?')
        .map(|(_, q)| format!("?{q}"))
        .unwrap_or_default();
    let target = format!("/webhooks/{}/{connection}{query}", adapter.info().id);
    req.public_url = format!("{}{target}", public_base.trim_end_matches('/'));
    adapter.sign(&mut req, secrets, clock)?;
    Ok((target, req))
}

/// Posts `req` to the server at `to` (`http://host:port`), at `target`: the status and the
/// body of the answer.
pub async fn deliver(
    to: &str,
    target: &str,
    req: &InboundRequest,
) -> anyhow::Result<(u16, String)> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(15))
        .build()?;
    let mut outgoing = client.request(
        req.method.clone(),
        format!("{}{target}", to.trim_end_matches('/')),
    );
    for (name, value) in &req.headers {
        if name != http::header::HOST && name != http::header::CONTENT_LENGTH {
            outgoing = outgoing.header(name, value);
        }
    }
    let res = outgoing
        .body(req.body.to_vec())
        .send()
        .await
        .with_context(|| format!("cannot reach {to}"))?;
    let status = res.status().as_u16();
    let body = res.text().await.unwrap_or_default();
    Ok((status, body))
}

/// Puts the values `sign` set into the sample's header lines: a header it changed keeps its
/// place and spelling, a new one goes last. Returns the names changed.
fn merge_headers(
    lines: &mut Vec<(String, String)>,
    before: &InboundRequest,
    after: &InboundRequest,
) -> Vec<String> {
    let values = |headers: &HeaderMap, name: &HeaderName| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect()
    };
    let mut changed = Vec::new();
    for name in after.headers.keys() {
        let new = values(&after.headers, name);
        if new == values(&before.headers, name) {
            continue;
        }
        let same = |line: &(String, String)| line.0.eq_ignore_ascii_case(name.as_str());
        let spelled = lines
            .iter()
            .find(|l| same(l))
            .map_or_else(|| title_case(name.as_str()), |l| l.0.clone());
        let at = lines.iter().position(same);
        lines.retain(|l| !same(l));
        let at = at.unwrap_or(lines.len());
        for (i, value) in new.into_iter().enumerate() {
            lines.insert(at + i, (spelled.clone(), value));
        }
        changed.push(spelled);
    }
    changed
}

/// `x-acme-signature` → `X-Acme-Signature`.
fn title_case(name: &str) -> String {
    name.split('-')
        .map(capitalized)
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_are_title_cased() {
        assert_eq!(title_case("x-twilio-signature"), "X-Twilio-Signature");
        assert_eq!(title_case("authorization"), "Authorization");
        assert_eq!(title_case("webhook-id"), "Webhook-Id");
    }
}
