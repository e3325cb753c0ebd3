//! The ops commands: connections, the directory (tenants, numbers), users and their tokens,
//! and the store's backup. Each opens the store the server uses and prints JSON.

use super::{ConnectionCmd, UserCmd, print_json, read_secrets, read_source};
use crate::accounts;
use crate::app::Service;
use crate::config::Config;
use crate::connections::NewConnection;
use crate::directory::{self as input, NumberInput};
use crate::error::AppError;
use crate::store::directory;
use crate::store::{StoreError, users as user_rows};
use anyhow::{Context, bail};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::path::Path;
use std::time::Duration;

/// The audit trail's actor for changes made from the command line.
const CLI_ACTOR: &str = "ops";

pub(super) async fn connection(state: Service, cmd: ConnectionCmd) -> anyhow::Result<()> {
    let now = state.clock.now();
    let c = &state.connections;
    match cmd {
        ConnectionCmd::Add {
            provider,
            name,
            secrets,
            options,
        } => {
            let new = NewConnection {
                provider,
                name,
                secrets: read_secrets(&secrets)?,
                options: options.into_iter().collect(),
            };
            print_json(&c.create(new, CLI_ACTOR, now).await?)
        }
        ConnectionCmd::List => print_lines(c.list(now).await?),
        ConnectionCmd::Rotate {
            id,
            secrets,
            grace_secs,
        } => print_json(
            &c.rotate(
                &id,
                read_secrets(&secrets)?,
                grace_secs.map(Duration::from_secs),
                CLI_ACTOR,
                now,
            )
            .await?,
        ),
        ConnectionCmd::Disable { id } => {
            print_json(&c.set_enabled(&id, false, CLI_ACTOR, now).await?)
        }
        ConnectionCmd::Enable { id } => {
            print_json(&c.set_enabled(&id, true, CLI_ACTOR, now).await?)
        }
    }
}

/// Each item as a JSON line.
fn print_lines<T: serde::Serialize>(items: Vec<T>) -> anyhow::Result<()> {
    items.iter().try_for_each(print_json)
}

/// Reads a JSON document whose root is an object with the list under `key`. A file whose
/// root is the list itself is the usual mistake: say so, rather than serde's "invalid type".
fn read_document<T: DeserializeOwned>(file: &Path, key: &str) -> anyhow::Result<T> {
    let text = read_source(file)?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
    if value.is_array() {
        bail!(
            "{} is a JSON array: the file must be an object with the list under \"{key}\", {{\"{key}\": [...]}}",
            file.display()
        );
    }
    serde_json::from_value(value).with_context(|| format!("{} is not a {key} file", file.display()))
}

pub(super) async fn import_tenants(state: Service, file: &Path) -> anyhow::Result<()> {
    let parsed: input::TenantDocument = read_document(file, "tenants")?;
    let tenants = input::tenants_of(parsed).map_err(anyhow::Error::msg)?;
    let now = state.clock.now();
    let (added, updated) = state
        .store
        .write(move |db| {
            let (mut added, mut updated) = (0, 0);
            for t in &tenants {
                if directory::put_tenant(db, t, now)? {
                    added += 1
                } else {
                    updated += 1
                }
            }
            Ok::<_, StoreError>((added, updated))
        })
        .await?;
    print_json(&serde_json::json!({ "added": added, "updated": updated }))
}

pub(super) async fn list_tenants(state: Service) -> anyhow::Result<()> {
    print_lines(state.store.read(directory::list_tenants).await?)
}

pub(super) async fn list_numbers(state: Service) -> anyhow::Result<()> {
    print_lines(state.store.read(directory::list_numbers).await?)
}

/// `{"numbers": [NUMBER, ...]}`, each naming its `e164` (what `GET /api/v1/numbers` gives).
#[derive(Debug, Deserialize)]
struct NumberFile {
    numbers: Vec<NumberInput>,
}

pub(super) async fn import_numbers(state: Service, file: &Path) -> anyhow::Result<()> {
    let parsed: NumberFile = read_document(file, "numbers")?;
    let mut entries = Vec::new();
    for (n, rec) in parsed.numbers.into_iter().enumerate() {
        let Some(raw) = rec.e164.clone() else {
            bail!("entry {} of {} names no e164", n + 1, file.display());
        };
        entries.push(input::number(&raw, rec).map_err(|e| anyhow::anyhow!("number {raw}: {e}"))?);
    }
    let now = state.clock.now();
    let result = state
        .store
        .write(move |db| {
            let (mut added, mut updated) = (0, 0);
            for n in &entries {
                for t in input::named_tenants(n) {
                    if !directory::tenant_exists(db, t)? {
                        return Err(AppError::unprocessable(
                            "tenant_not_found",
                            format!("number {} names unknown tenant {t}", n.e164),
                        ));
                    }
                }
                if directory::put_number(db, n, now)? {
                    added += 1
                } else {
                    updated += 1
                }
            }
            Ok((added, updated))
        })
        .await;
    match result {
        Ok((added, updated)) => {
            print_json(&serde_json::json!({ "added": added, "updated": updated }))
        }
        Err(e) => bail!("nothing imported: {e}"),
    }
}

/// The command line's actor reaches every user.
fn everyone(_: &user_rows::User) -> Result<(), AppError> {
    Ok(())
}

pub(super) async fn user(state: Service, cmd: UserCmd) -> anyhow::Result<()> {
    let now = state.clock.now();
    match cmd {
        UserCmd::List => print_lines(state.store.read(user_rows::list).await?),
        UserCmd::Put {
            id,
            file,
            identities,
        } => {
            let mut body: crate::users::UserInput = serde_json::from_str(&read_source(&file)?)
                .with_context(|| format!("{} is not a user", file.display()))?;
            if !identities.is_empty() {
                anyhow::ensure!(
                    body.identities.is_none(),
                    "{} lists identities: give them there or with --identity, not both",
                    file.display()
                );
                body.identities = Some(identities);
            }
            let spec = crate::users::validate(&id, body)?;
            let put = state
                .store
                .write(move |db| accounts::put_user(db, spec.clone(), CLI_ACTOR, now, &everyone))
                .await?;
            print_json(&put.user)
        }
        UserCmd::Token { id } => {
            crate::ids::check_user_ref(&id)?;
            let token = crate::users::new_token()?;
            let (token_id, hash) = (token.token_id.clone(), token.hash);
            let info = state
                .store
                .write(move |db| {
                    let token = (token_id.as_str(), &hash);
                    accounts::add_token(db, &id, token, CLI_ACTOR, now, &everyone)
                })
                .await?;
            let mut shown = serde_json::to_value(&info)?;
            shown["token"] = token.value.expose().into();
            print_json(&shown)
        }
        UserCmd::Revoke { id, token_id } => {
            let revoked = state
                .store
                .write(move |db| {
                    accounts::revoke_token(db, &id, &token_id, CLI_ACTOR, now, &everyone)
                })
                .await?;
            print_json(&serde_json::json!({ "revoked": revoked }))
        }
    }
}

/// The `--number` of a `privacy` command, in E.164 form.
fn privacy_number(raw: &str) -> anyhow::Result<String> {
    crate::privacy::number(raw).ok_or_else(|| {
        anyhow::anyhow!("--number must be a phone number in E.164 form (+15125550123)")
    })
}

/// `callgate privacy erase --number N`: as `POST /api/v1/privacy/erase`.
pub(super) async fn erase(state: Service, number: &str) -> anyhow::Result<()> {
    let number = privacy_number(number)?;
    let erased = state.privacy().erase(number, CLI_ACTOR.to_owned()).await?;
    print_json(&erased)
}

/// `callgate privacy export --number N [--out FILE]`: as `POST /api/v1/privacy/export`,
/// to standard output or to a new file only its owner can read (never over an existing one).
pub(super) async fn export(state: Service, number: &str, out: Option<&Path>) -> anyhow::Result<()> {
    let number = privacy_number(number)?;
    let Some(out) = out else {
        let export = state.privacy().export(number, CLI_ACTOR.to_owned()).await?;
        return print_json(&export);
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(out).with_context(|| {
        format!(
            "creating {} (an existing file is never overwritten)",
            out.display()
        )
    })?;
    let written = async {
        let export = state.privacy().export(number, CLI_ACTOR.to_owned()).await?;
        serde_json::to_writer(&mut file, &export)?;
        std::io::Write::write_all(&mut file, b"\n")?;
        file.sync_all()?;
        anyhow::Ok(())
    };
    if let Err(e) = written.await {
        // Nothing half-written is left behind.
        let _ = std::fs::remove_file(out);
        return Err(e);
    }
    super::note(&format!("written to {}", out.display()));
    Ok(())
}

/// `callgate backup --to DIR`: the store the configuration names, as `serve` reads it.
pub(super) fn backup(config: Config, to: &Path) -> anyhow::Result<()> {
    let report = crate::backup::backup(&config, to)?;
    super::note(&format!("store: {}", report.source.display()));
    if report.key_file.is_none() {
        super::note(
            "the master key comes from CALLGATE_MASTER_KEY: it is not in the copy, and serving the copy needs it (keep it apart from the backups)",
        );
    }
    print_json(&report)
}
