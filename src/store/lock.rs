//! One daemon per SQLite store: `costd serve` holds an OS lock on
//! `<store>.lock` for as long as it runs (released by the OS when the process
//! ends, `kill -9` included). The file names the holder, so a second daemon
//! can say who has it. `costd windows` and `costd projection` do not take it:
//! they are short writers the store's transactions already serialise.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};

/// A held store lock; dropping it releases the lock.
#[derive(Debug)]
pub struct StoreLock {
    _file: std::fs::File,
    /// The lock file.
    pub path: PathBuf,
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error(
        "the store {store} is in use by another `costd serve` ({holder}); run one daemon per store (for replicas, share a PostgreSQL store), or stop the other one first"
    )]
    Held {
        /// The store.
        store: String,
        /// Who holds it, as the lock file says (`pid … on …, since …`).
        holder: String,
    },
    /// The lock file could not be opened or written.
    #[error("the store lock {path}: {source}")]
    Io {
        /// The lock file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// The lock file of a store: `<store>.lock` beside it.
pub fn lock_path(store: &Path) -> PathBuf {
    let mut p = store.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

impl StoreLock {
    /// Takes the lock of `store` at `now`, or says who holds it. Never waits.
    pub fn acquire(store: &Path, now: DateTime<Utc>) -> Result<StoreLock, LockError> {
        let path = lock_path(store);
        let io = |source| LockError::Io {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::create_dir_all(dir);
        }
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(LockError::Held {
                    store: store.display().to_string(),
                    holder: if holder.is_empty() {
                        "a process that has not written its name yet".into()
                    } else {
                        holder.chars().take(200).collect()
                    },
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        let me = format!(
            "pid {} on {}, since {}",
            std::process::id(),
            hostname(),
            now.to_rfc3339_opts(SecondsFormat::Secs, true)
        );
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        file.write_all(me.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(StoreLock { _file: file, path })
    }
}

/// Who holds the lock of `store`, if anyone (`costd check`): takes nothing
/// and writes nothing.
pub fn holder(store: &Path) -> Option<String> {
    let path = lock_path(store);
    let mut file = std::fs::OpenOptions::new().read(true).open(&path).ok()?;
    match file.try_lock_shared() {
        Ok(()) => None,
        Err(_) => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            Some(text.trim().chars().take(200).collect())
        }
    }
}

/// This machine's host name (`/proc/sys/kernel/hostname`, else `/etc/hostname`).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "an unknown host".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_name_until_it_lets_go() {
        let dir = std::env::temp_dir().join(format!("costd-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = dir.join("costd.db");
        let now = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z").unwrap().to_utc();
        let first = StoreLock::acquire(&store, now).unwrap();
        assert_eq!(first.path, dir.join("costd.db.lock"));
        // A second open file description in this process conflicts like another process would.
        let e = StoreLock::acquire(&store, now).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains(&format!("pid {}", std::process::id())) && text.contains("since 2026-11-22T10:00:00Z"),
            "{text}"
        );
        assert!(
            text.contains("costd.db") && text.contains("one daemon per store"),
            "{text}"
        );
        assert!(holder(&store).unwrap().contains(&format!("pid {}", std::process::id())));
        drop(first);
        assert_eq!(holder(&store), None, "released");
        let again = StoreLock::acquire(&store, now).unwrap();
        drop(again);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
