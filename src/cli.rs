//! The command line: `serve`, ops commands that work on the store directly, and developer
//! commands on the repository's files (`adapter new`, `sample sign`: see `dev`).
//! Secrets are never taken as arguments (they would show in the process list): they come
//! from a file or standard input.

use crate::app;
use crate::config::{Config, ProcessEnv};
use crate::connections::NewConnection;
use crate::directory::{self as input, NumberInput};
use crate::error::AppError;
use crate::store::StoreError;
use crate::store::directory;
use anyhow::{Context, bail};
use callgate_adapters::kit::Secret;
use clap::{Args, Parser, Subcommand};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The audit trail's actor for changes made from the command line.
const CLI_ACTOR: &str = "ops";

#[derive(Debug, Parser)]
#[command(
    name = "callgate",
    version,
    about = "Certified telephony providers to a centralized contact center"
)]
pub struct Cli {
    /// TOML configuration file (also CALLGATE_CONFIG).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve,
    /// Provider connections.
    #[command(subcommand)]
    Connection(ConnectionCmd),
    /// Tenants of the directory.
    #[command(subcommand)]
    Tenant(TenantCmd),
    /// Numbers of the directory.
    #[command(subcommand)]
    Number(NumberCmd),
    /// Recorded webhook samples (webhook-samples/).
    #[command(subcommand)]
    Sample(SampleCmd),
    /// Provider adapters (adapters/): for developers, run from the repository root.
    #[command(subcommand)]
    Adapter(AdapterCmd),
}

#[derive(Debug, Subcommand)]
enum AdapterCmd {
    /// Create adapters/<ID>/ and webhook-samples/<ID>/ from the template, and add the provider
    /// to the registry in adapters/lib.rs; prints what it made as JSON.
    New {
        /// The provider id: lowercase letters, digits and `_` (the URL segment).
        id: String,
        /// The repository root.
        #[arg(long, default_value = ".")]
        root: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum SampleCmd {
    /// Re-sign a sample with the fake secrets and the clock of its folder's provider.toml
    /// (the folder names the provider) and write it back; prints the headers changed.
    Sign {
        /// The `.http` file, in `webhook-samples/<provider>/` beside its provider.toml.
        file: PathBuf,
        /// Print the signed sample instead of writing the file.
        #[arg(long)]
        stdout: bool,
    },
    /// Re-sign a sample for this server and a connection (its secrets are read from the
    /// store), send it, and print the answer.
    Send {
        file: PathBuf,
        /// The connection whose webhook URL and secrets to use.
        #[arg(long)]
        connection: String,
        /// Where the server listens (default: the configured listen address).
        #[arg(long)]
        to: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum ConnectionCmd {
    /// Create a connection; prints it (with its webhook URL) as JSON.
    Add {
        #[arg(long)]
        provider: String,
        #[arg(long)]
        name: String,
        #[command(flatten)]
        secrets: SecretsArg,
        /// A non-secret option, NAME=VALUE (e.g. api_base_url=https://api.twilio.com).
        #[arg(long = "option", value_parser = parse_pair)]
        options: Vec<(String, String)>,
    },
    /// List connections as JSON lines.
    List,
    /// Replace secrets; the previous ones stay accepted for the grace period.
    Rotate {
        id: String,
        #[command(flatten)]
        secrets: SecretsArg,
        /// Grace period of the previous secrets, in seconds (default 24 h).
        #[arg(long)]
        grace_secs: Option<u64>,
    },
    /// Refuse the connection's webhooks (404) until enabled again.
    Disable { id: String },
    /// Accept the connection's webhooks again.
    Enable { id: String },
}

#[derive(Debug, Args)]
struct SecretsArg {
    /// JSON object of secret values, e.g. {"auth_token": "..."}; `-` reads standard input.
    #[arg(long, value_name = "FILE")]
    secrets_file: PathBuf,
}

#[derive(Debug, Subcommand)]
enum TenantCmd {
    /// Import tenants from a JSON file: {"tenants": [{"tenant_id", "name", "zip_codes", "trades", "booking_url"}]}.
    Import { file: PathBuf },
}

#[derive(Debug, Subcommand)]
enum NumberCmd {
    /// Import numbers from a JSON file: {"numbers": [{"e164", "kind", "tenant_id" | "tenant_ids"}]}.
    Import { file: PathBuf },
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .ok_or_else(|| "expected NAME=VALUE".to_owned())
}

fn read_source(path: &Path) -> anyhow::Result<String> {
    if path == Path::new("-") {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        Ok(s)
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
    }
}

fn read_secrets(arg: &SecretsArg) -> anyhow::Result<BTreeMap<String, Secret>> {
    let text = read_source(&arg.secrets_file)?;
    let map: BTreeMap<String, String> = serde_json::from_str(&text)
        .map_err(|_| anyhow::anyhow!("the secrets file must be a JSON object of strings"))?;
    Ok(map.into_iter().map(|(k, v)| (k, Secret::new(v))).collect())
}

/// Runs the command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        // Developer commands work on the repository's files: no configuration, no store.
        Command::Adapter(AdapterCmd::New { id, root }) => {
            print_json(&crate::dev::adapter_new(&root, &id)?)
        }
        Command::Sample(SampleCmd::Sign { file, stdout }) => {
            match crate::dev::sample_sign(&file, stdout)? {
                Some(signed) => print_json(&signed),
                None => Ok(()),
            }
        }
        Command::Sample(SampleCmd::Send {
            file,
            connection,
            to,
        }) => with_config(cli.config.as_deref(), |config| async move {
            send_sample(config, &file, &connection, to).await
        }),
        Command::Serve => with_config(cli.config.as_deref(), app::serve),
        Command::Connection(cmd) => {
            with_config(cli.config.as_deref(), |config| connection(config, cmd))
        }
        Command::Tenant(TenantCmd::Import { file }) => {
            with_config(cli.config.as_deref(), |config| async move {
                import_tenants(config, &file).await
            })
        }
        Command::Number(NumberCmd::Import { file }) => {
            with_config(cli.config.as_deref(), |config| async move {
                import_numbers(config, &file).await
            })
        }
    }
}

/// Loads the configuration, starts logging and runs `command` on a runtime.
fn with_config<F, Fut>(path: Option<&Path>, command: F) -> anyhow::Result<()>
where
    F: FnOnce(Config) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let config = Config::load(path, &ProcessEnv)?;
    crate::telemetry::init_logs(config.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(command(config))
}

#[allow(clippy::print_stdout)] // command output
fn print_json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(v)?);
    Ok(())
}

async fn connection(config: Config, cmd: ConnectionCmd) -> anyhow::Result<()> {
    let state = app::open_for_cli(config)?;
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
        ConnectionCmd::List => {
            for v in c.list(now).await? {
                print_json(&v)?;
            }
            Ok(())
        }
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

async fn import_tenants(config: Config, file: &Path) -> anyhow::Result<()> {
    let parsed: input::TenantDocument = serde_json::from_str(&read_source(file)?)
        .with_context(|| format!("{} is not a tenants file", file.display()))?;
    let tenants = input::tenants_of(parsed).map_err(anyhow::Error::msg)?;
    let state = app::open_for_cli(config)?;
    let now = state.clock.now();
    let (added, updated) = state
        .store
        .write(move |c| {
            let (mut added, mut updated) = (0, 0);
            for t in &tenants {
                if directory::put_tenant(c, t, now)? {
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

/// `{"numbers": [NUMBER, ...]}`, each naming its `e164` (what `GET /api/v1/numbers` gives).
#[derive(Debug, Deserialize)]
struct NumberFile {
    numbers: Vec<NumberInput>,
}

async fn import_numbers(config: Config, file: &Path) -> anyhow::Result<()> {
    let parsed: NumberFile = serde_json::from_str(&read_source(file)?)
        .with_context(|| format!("{} is not a numbers file", file.display()))?;
    let mut entries = Vec::new();
    for (n, rec) in parsed.numbers.into_iter().enumerate() {
        let Some(raw) = rec.e164.clone() else {
            anyhow::bail!("entry {} of {} names no e164", n + 1, file.display());
        };
        entries.push(input::number(&raw, rec).map_err(|e| anyhow::anyhow!("number {raw}: {e}"))?);
    }
    let state = app::open_for_cli(config)?;
    let now = state.clock.now();
    let result = state
        .store
        .write(move |c| {
            let (mut added, mut updated) = (0, 0);
            for n in &entries {
                for t in input::named_tenants(n) {
                    if !directory::tenant_exists(c, t)? {
                        return Err(AppError::unprocessable(
                            "tenant_not_found",
                            format!("number {} names unknown tenant {t}", n.e164),
                        ));
                    }
                }
                if directory::put_number(c, n, now)? {
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

/// Loads a sample, signs it as the provider would for `connection` on this server, sends it.
async fn send_sample(
    config: Config,
    file: &Path,
    connection: &str,
    to: Option<String>,
) -> anyhow::Result<()> {
    use callgate_adapters::kit::samples::HttpSample;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let sample =
        HttpSample::parse(&bytes).map_err(|e| anyhow::anyhow!("{}: {}", file.display(), e.0))?;
    let to = to.unwrap_or_else(|| format!("http://{}", config.listen));
    let state = app::open_for_cli(config)?;
    let now = state.clock.now();
    let live = state
        .connections
        .load_by_id(connection, now)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no connection {connection}"))?;
    let (target, req) = crate::dev::addressed(
        &sample,
        live.adapter,
        &live.id,
        &state.public_url,
        &live.secrets,
        state.clock.as_ref(),
    )
    .with_context(|| file.display().to_string())?;
    let (status, body) = crate::dev::deliver(&to, &target, &req).await?;
    print_json(&serde_json::json!({ "status": status, "body": body }))?;
    if (200..300).contains(&status) {
        Ok(())
    } else {
        bail!("the server answered {status}")
    }
}
