//! The embedded store's files are private to their owner: the data directory 0700, the
//! database, its WAL and its shared-memory file 0600.

use super::StoreError;
use std::path::{Path, PathBuf};

/// Creates the data directory readable by its owner only (0700). An existing one open to
/// others is kept as it is (the operator may mean it), with a warning.
pub(super) fn private_dir(dir: &Path) -> Result<(), StoreError> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let cannot = |e: std::io::Error| {
        StoreError::Unavailable(format!("cannot create {}: {e}", dir.display()))
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        if dir.is_dir() {
            let mode = std::fs::metadata(dir).map_err(cannot)?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    dir = %dir.display(),
                    mode = format!("{mode:o}"),
                    "the data directory is open to other users (callers' numbers, chats, the audit trail and token hashes are in it): chmod 700 it"
                );
            }
            return Ok(());
        }
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(cannot)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir).map_err(cannot)
    }
}

/// The database, its WAL and its shared-memory file, readable by the owner only (0600):
/// created so before SQLite opens them (SQLite gives the WAL and SHM the database's mode), and
/// narrowed if an earlier run left them wider.
pub(super) fn private_files(db: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    for suffix in ["", "-wal", "-shm"] {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        let p = PathBuf::from(p);
        let failed = |e: std::io::Error| {
            StoreError::Unavailable(format!("cannot open {}: {e}", p.display()))
        };
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&p)
            .map_err(failed)?;
        let mode = file.metadata().map_err(failed)?.permissions().mode() & 0o777;
        if mode != 0o600 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(failed)?;
        }
    }
    #[cfg(not(unix))]
    let _ = db;
    Ok(())
}
