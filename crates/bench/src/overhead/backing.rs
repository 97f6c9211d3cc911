//! [`Backing`]: where the benchmark's SQLite database lives, and [`BackingStore`], its
//! `DATABASE_URL` for the server (a tmpfs file is removed when the store is dropped).

use std::{fmt, path::PathBuf, str::FromStr};

use serde::{Deserialize, Serialize};

/// Where the database lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backing {
    /// SQLite in memory, private to each server process: the demo data is created at every
    /// start, and the server keeps exactly one connection (an in-memory database exists
    /// once per connection).
    Memory,
    /// A SQLite file in WAL mode on a tmpfs (`/dev/shm`): no disk, a real connection pool,
    /// readers in parallel. The demo data is created by the first server and reused.
    Tmpfs,
}

impl fmt::Display for Backing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backing::Memory => "memory",
            Backing::Tmpfs => "tmpfs",
        })
    }
}

impl FromStr for Backing {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "memory" => Ok(Backing::Memory),
            "tmpfs" | "shm" => Ok(Backing::Tmpfs),
            other => Err(format!("unknown database `{other}`: use memory or tmpfs")),
        }
    }
}

/// The database of one benchmark run. Dropping it removes a tmpfs file and its WAL.
#[derive(Debug)]
#[must_use = "dropping the store removes its database file"]
pub struct BackingStore {
    backing: Backing,
    file: Option<PathBuf>,
}

impl BackingStore {
    /// The store for `backing`; a tmpfs file goes into `tmpfs_dir`, named after this process.
    pub fn new(backing: Backing, tmpfs_dir: &std::path::Path) -> Self {
        let file = (backing == Backing::Tmpfs)
            .then(|| tmpfs_dir.join(format!("bench-overhead-{}.sqlite", std::process::id())));
        let store = Self { backing, file };
        store.remove_files();
        store
    }

    /// Where the database lives.
    pub fn backing(&self) -> Backing {
        self.backing
    }

    /// The server's `DATABASE_URL`.
    pub fn database_url(&self) -> String {
        match &self.file {
            None => "sqlite:file:bench-overhead?mode=memory&cache=shared".to_string(),
            Some(file) => format!("sqlite://{}?mode=rwc", file.display()),
        }
    }

    fn remove_files(&self) {
        if let Some(file) = &self.file {
            for suffix in ["", "-wal", "-shm"] {
                let mut path = file.clone().into_os_string();
                path.push(suffix);
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

impl Drop for BackingStore {
    fn drop(&mut self) {
        self.remove_files();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_url_asks_sqlite_for_a_memory_database() {
        let store = BackingStore::new(Backing::Memory, std::path::Path::new("/nonexistent"));
        assert!(store.database_url().contains("mode=memory"));
    }

    #[test]
    fn dropping_a_tmpfs_store_removes_its_file_and_wal() {
        let dir = tempfile::tempdir().unwrap();
        let store = BackingStore::new(Backing::Tmpfs, dir.path());
        let url = store.database_url();
        let file = url
            .strip_prefix("sqlite://")
            .and_then(|rest| rest.split('?').next())
            .map(PathBuf::from)
            .unwrap();
        assert!(file.starts_with(dir.path()), "{url}");
        std::fs::write(&file, b"db").unwrap();
        let wal = PathBuf::from(format!("{}-wal", file.display()));
        std::fs::write(&wal, b"wal").unwrap();
        drop(store);
        assert!(!file.exists() && !wal.exists());
    }

    #[test]
    fn backing_names_round_trip() {
        for backing in [Backing::Memory, Backing::Tmpfs] {
            assert_eq!(backing.to_string().parse::<Backing>(), Ok(backing));
        }
        assert_eq!("shm".parse::<Backing>(), Ok(Backing::Tmpfs));
        assert!("disk".parse::<Backing>().unwrap_err().contains("tmpfs"));
    }
}
