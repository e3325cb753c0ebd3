//! The command line: `serve`, ops commands that work on the store directly (`ops`), the
//! store's backup, and developer commands on the repository's files (`adapter new`,
//! `sample sign`: see `dev`). Secrets are never taken as arguments (they would show in the
//! process list): they come from a file or standard input.

mod ops;

use crate::app;
use crate::app::Service;
use crate::config::{Config, Database, ProcessEnv};
use crate::store::Store;
use anyhow::{Context, bail};
use callgate_adapters::kit::Secret;
use clap::{Args, Parser, Subcommand};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

#[derive(Debug, Parser)]
#[command(
    name = "callgate",
    version,
    about = "Telephony provider webhooks in, one call model out: signature checks, durable storage and tenant routing for a contact center",
    long_about = "Telephony provider webhooks in, one call model out: callgate checks each provider's webhook signature, stores the webhook durably before acknowledging it, and works out which tenant each call is for.\n\n`callgate serve` runs the server; the other commands work on its store directly, with the same configuration (run them where the server runs, or give the same CALLGATE_DATA_DIR, CALLGATE_DATABASE_URL or --config)."
)]
pub struct Cli {
    /// TOML configuration file (also CALLGATE_CONFIG).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Create the store if there is none yet (only `serve` does so by itself: the other
    /// commands refuse a missing store, which usually means the wrong directory or URL).
    #[arg(long, global = true)]
    create_store: bool,
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
    /// Users and their API tokens.
    #[command(subcommand)]
    User(UserCmd),
    /// Copy the embedded store (database and key file) into a new data directory while the
    /// server runs; `CALLGATE_DATA_DIR=DIR callgate serve` serves the copy. With PostgreSQL,
    /// use pg_dump (deploy/README.md).
    Backup {
        /// The directory to write (created 0700 if missing; it must not hold a store).
        #[arg(long, value_name = "DIR")]
        to: PathBuf,
    },
    /// Personal data: erase a person's phone number.
    #[command(subcommand)]
    Privacy(PrivacyCmd),
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
        /// The provider's id (its secret and option names: the provider matrix in
        /// adapters/README.md).
        #[arg(long, value_parser = provider_ids())]
        provider: String,
        #[arg(long)]
        name: String,
        #[command(flatten)]
        secrets: SecretsArg,
        /// A non-secret option the provider declares, NAME=VALUE (e.g.
        /// api_base_url=https://api.twilio.com, or SignalWire's space_url=example.signalwire.com).
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
enum PrivacyCmd {
    /// Erase a phone number: calls from it (with their events, raw bodies and, at the
    /// provider, recordings), other raw bodies holding it, contacts, chats and web bookings;
    /// audited without the number. Prints the counts of what was erased.
    Erase {
        /// The number, in E.164 form (+15125550123).
        #[arg(long)]
        number: String,
    },
    /// Export what is held about a phone number, as an erasure of it would find it (calls,
    /// raw bodies, contacts, chats, web bookings, audit entries, refused webhooks, outbound
    /// webhooks), with the counts an erasure would print; audited without the number.
    Export {
        /// The number, in E.164 form (+15125550123).
        #[arg(long)]
        number: String,
        /// Write the export to this file (created with mode 0600, never overwritten) rather
        /// than to standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum TenantCmd {
    /// Import tenants from a JSON file: {"tenants": [{"tenant_id", "name", "zip_codes", "trades", "booking_url"}]}.
    Import { file: PathBuf },
    /// List the tenants as JSON lines.
    List,
}

#[derive(Debug, Subcommand)]
enum NumberCmd {
    /// Import numbers from a JSON file: {"numbers": [{"e164", "kind", "tenant_id" | "tenant_ids"}]}.
    Import { file: PathBuf },
    /// List the numbers as JSON lines.
    List,
}

#[derive(Debug, Subcommand)]
enum UserCmd {
    /// List the users as JSON lines.
    List,
    /// Create or replace a user from a JSON file (`-`: standard input), the body of
    /// PUT /api/v1/users/{id}: {"name", "permissions": [...], "tenant_ids": [...],
    /// "identities": [...]}.
    Put {
        id: String,
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
        /// An identity of the agent at a telephony provider (`client:ana`,
        /// `sip:ana@pbx.example.com`, `+15125550123`, ...); repeat for each. Given, they are
        /// the user's identities, and the file must not list any.
        #[arg(long = "identity", value_name = "IDENTITY")]
        identities: Vec<String>,
    },
    /// Make an API token for the user; prints it, the only time it is shown.
    Token { id: String },
    /// Revoke one of the user's tokens.
    Revoke { id: String, token_id: String },
}

/// The registered provider ids, for `--provider` (its help and errors list them).
fn provider_ids() -> clap::builder::PossibleValuesParser {
    callgate_adapters::ADAPTERS
        .iter()
        .map(|a| a.info().id)
        .collect::<Vec<_>>()
        .into()
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
    let Cli {
        config,
        create_store,
        command,
    } = cli;
    let config = config.as_deref();
    let store = (config, create_store);
    match command {
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
        }) => with_store(store, |st| async move {
            send_sample(st, &file, &connection, to).await
        }),
        Command::Serve => with_config(config, app::serve),
        Command::Backup { to } => {
            with_config(config, |config| async move { ops::backup(config, &to) })
        }
        Command::Connection(cmd) => with_store(store, |st| ops::connection(st, cmd)),
        Command::Tenant(TenantCmd::Import { file }) => {
            with_store(
                store,
                |st| async move { ops::import_tenants(st, &file).await },
            )
        }
        Command::Tenant(TenantCmd::List) => with_store(store, ops::list_tenants),
        Command::Number(NumberCmd::Import { file }) => {
            with_store(
                store,
                |st| async move { ops::import_numbers(st, &file).await },
            )
        }
        Command::Number(NumberCmd::List) => with_store(store, ops::list_numbers),
        Command::User(cmd) => with_store(store, |st| ops::user(st, cmd)),
        Command::Privacy(PrivacyCmd::Erase { number }) => {
            with_store(store, |st| async move { ops::erase(st, &number).await })
        }
        Command::Privacy(PrivacyCmd::Export { number, out }) => {
            with_store(store, |st| async move {
                ops::export(st, &number, out.as_deref()).await
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

/// Loads the configuration, opens its store ([`open_store`]) and runs `command` on it.
fn with_store<F, Fut>((path, create): (Option<&Path>, bool), command: F) -> anyhow::Result<()>
where
    F: FnOnce(Service) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    with_config(path, |config| async move {
        command(open_store(config, create)?).await
    })
}

/// Opens the configured store for a command, saying which on standard error. A missing
/// store (no embedded database file, or a PostgreSQL database without callgate's schema) is
/// refused unless `create`: a command run from the wrong directory, or with the wrong URL,
/// would otherwise make a new, empty one and report an empty directory.
fn open_store(config: Config, create: bool) -> anyhow::Result<Service> {
    match &config.database {
        Database::Embedded(path) => {
            let shown = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            if !create && !path.exists() {
                bail!(
                    "there is no store at {} (the data directory is CALLGATE_DATA_DIR, by default ./callgate-data in the working directory): run the command where the server runs, with its CALLGATE_DATA_DIR, CALLGATE_DATABASE_URL or --config, or pass --create-store to start a new, empty store there",
                    shown.display()
                );
            }
            note(&format!("store: {}", shown.display()));
        }
        Database::Postgres(url) => {
            let place = postgres_place(url.expose());
            if !create {
                // The client blocks while it connects: on a thread of its own.
                let url = url.clone();
                let found = std::thread::spawn(move || Store::postgres_has_store(url.expose()))
                    .join()
                    .map_err(|_| anyhow::anyhow!("connecting to PostgreSQL panicked"))?
                    .context("cannot open the PostgreSQL store")?;
                if !found {
                    bail!(
                        "the PostgreSQL database {place} holds no callgate store: check CALLGATE_DATABASE_URL (the server's), or pass --create-store to start a new, empty store there"
                    );
                }
            }
            note(&format!("store: PostgreSQL {place}"));
        }
    }
    app::open_for_cli(config)
}

/// Where a PostgreSQL URL points (host, port, database), without its user or password.
fn postgres_place(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => format!(
            "{}:{}{}",
            u.host_str().unwrap_or("localhost"),
            u.port().unwrap_or(5432),
            u.path()
        ),
        Err(_) => "(the URL does not parse)".to_owned(),
    }
}

/// A line for the operator on standard error (standard output is the command's JSON).
#[allow(clippy::print_stderr)]
fn note(line: &str) {
    eprintln!("{line}");
}

#[allow(clippy::print_stdout)] // command output
fn print_json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(v)?);
    Ok(())
}

/// Loads a sample, signs it as the provider would for `connection` on this server, sends it.
async fn send_sample(
    state: Service,
    file: &Path,
    connection: &str,
    to: Option<String>,
) -> anyhow::Result<()> {
    use callgate_adapters::kit::samples::HttpSample;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let sample =
        HttpSample::parse(&bytes).map_err(|e| anyhow::anyhow!("{}: {}", file.display(), e.0))?;
    let to = to.unwrap_or_else(|| format!("http://{}", state.config.listen));
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
