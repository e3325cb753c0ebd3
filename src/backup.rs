//! `callgate backup --to DIR`: a consistent copy of the embedded store, taken while `serve`
//! runs on it, laid out as a data directory (`callgate.db`, and `master.key` when the key is
//! the store's file), so that `CALLGATE_DATA_DIR=DIR callgate serve` serves the copy at once.
//!
//! The copy is made by SQLite's online backup API in one step, inside one read transaction:
//! it sees the database as of one commit, the WAL's content included, and it never blocks the
//! running server's writer (WAL readers do not). It is written beside its final name, checked
//! (`PRAGMA quick_check`), synced and renamed into place, so that a failed or interrupted backup
//! never leaves a `callgate.db` that looks whole.

use crate::config::{Config, Database};
use anyhow::{Context, bail};
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The database's name in a data directory (what `serve` opens there).
const DB_FILE: &str = "callgate.db";
/// The key file's name beside it.
const KEY_FILE: &str = "master.key";

/// What a backup wrote.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The store copied.
    pub source: PathBuf,
    /// The copy of the database.
    pub database: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// The copy of the key file, or `None` when the key comes from `CALLGATE_MASTER_KEY`
    /// (it is then in the operator's custody, not in the data directory).
    pub key_file: Option<PathBuf>,
}

/// Copies the store `config` names (as `serve` reads it) into `to`.
pub fn backup(config: &Config, to: &Path) -> anyhow::Result<Report> {
    let source = match &config.database {
        Database::Embedded(path) => path.clone(),
        Database::Postgres(_) => bail!(
            "backup copies the embedded store; this configuration uses PostgreSQL \
             (CALLGATE_DATABASE_URL): back it up with pg_dump -Fc and pg_restore, and keep \
             CALLGATE_MASTER_KEY apart, as deploy/README.md (\"Backups\") describes"
        ),
    };
    if !source.is_file() {
        bail!(
            "there is no store at {} (set CALLGATE_DATA_DIR or --config as for serve)",
            source.display()
        );
    }
    let key_source = match config.master_key {
        Some(_) => None,
        None => {
            let dir = source.parent().unwrap_or(Path::new("."));
            let key = dir.join(KEY_FILE);
            if !key.is_file() {
                bail!(
                    "the store's key file {} is missing: without it the copy could not open \
                     the sealed provider secrets",
                    key.display()
                );
            }
            Some(key)
        }
    };
    private_dir(to)?;
    let database = to.join(DB_FILE);
    let key_file = key_source.as_ref().map(|_| to.join(KEY_FILE));
    for taken in std::iter::once(&database).chain(key_file.as_ref()) {
        if taken.exists() {
            bail!(
                "{} exists: back up into an empty directory",
                taken.display()
            );
        }
    }
    let bytes = copy_database(&source, &database)?;
    if let (Some(from), Some(into)) = (&key_source, &key_file) {
        let key = std::fs::read(from).with_context(|| format!("cannot read {}", from.display()))?;
        write_private(into, &key)?;
    }
    sync_dir(to)?;
    Ok(Report {
        source,
        database,
        bytes,
        key_file,
    })
}

/// The online copy of `source` into `target` (through a partial file renamed at the end):
/// its size in bytes.
fn copy_database(source: &Path, target: &Path) -> anyhow::Result<u64> {
    let partial = target.with_extension("db.partial");
    // Left by an interrupted backup: never served, so safe to replace.
    let _ = std::fs::remove_file(&partial);
    write_private(&partial, &[])?;
    let copied = (|| -> anyhow::Result<()> {
        let from = Connection::open_with_flags(
            source,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("cannot open {}", source.display()))?;
        from.busy_timeout(Duration::from_secs(10))?;
        let mut into = Connection::open(&partial)?;
        copy_pages(&from, &mut into).context("SQLite's backup failed")?;
        // The copy is a plain file until `serve` opens it (and turns its WAL on again).
        into.pragma_update(None, "journal_mode", "DELETE")?;
        let check: String = into.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        if check != "ok" {
            bail!("the copy fails SQLite's quick_check: {check}");
        }
        into.close().map_err(|(_, e)| e)?;
        std::fs::File::open(&partial)?.sync_all()?;
        Ok(())
    })();
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    std::fs::rename(&partial, target)
        .with_context(|| format!("cannot move the copy to {}", target.display()))?;
    Ok(std::fs::metadata(target)?.len())
}

/// All pages in one step: one read transaction, one consistent state. A step that finds the
/// source locked (a checkpoint truncating the WAL) is tried again, for at most 30 seconds.
fn copy_pages(from: &Connection, into: &mut Connection) -> anyhow::Result<()> {
    use rusqlite::backup::StepResult;
    const PATIENCE: Duration = Duration::from_secs(30);
    const PAUSE: Duration = Duration::from_millis(50);
    let backup = rusqlite::backup::Backup::new(from, into)?;
    let started = std::time::Instant::now();
    loop {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            StepResult::More | StepResult::Busy | StepResult::Locked => {
                if started.elapsed() > PATIENCE {
                    bail!("the store stayed locked for {} s", PATIENCE.as_secs());
                }
                std::thread::sleep(PAUSE);
            }
            // The enum is non-exhaustive: anything else is not a completed copy.
            _ => bail!("the backup step ended in an unknown state"),
        }
    }
}

/// Creates `dir` (and its parents) readable by its owner only, as the store's own directory.
fn private_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

/// Writes a new file readable by its owner only (0600), synced.
fn write_private(path: &Path, content: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(content)?;
    file.sync_all()?;
    Ok(())
}

/// Makes the new names in `dir` durable.
fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync {}", dir.display()))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
