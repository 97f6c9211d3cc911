//! The development secret: with no key configured, tokens are signed and verified with a
//! random secret generated at first start and kept with the data, so `server token` (a
//! separate process) signs tokens the running server accepts. Its file is readable by its
//! owner only; the secret itself is never logged or printed.

use std::{
    io::Write as _,
    path::{Path, PathBuf},
};

use anyhow::Context as _;

use super::{AuthSettings, Secret};
use crate::database;

/// The file name of the development secret in the data folder.
pub const FILE_NAME: &str = "jwt-dev-secret";

/// Where the development secret lives: `JWT_DEV_SECRET_FILE` when set; else beside the
/// SQLite database file, or `data/` for a server database; `None` for an in-memory
/// database, whose secret lives and dies with the process like its data.
pub fn location(auth: &AuthSettings, database_url: &str) -> Option<PathBuf> {
    if let Some(path) = &auth.jwt_dev_secret_file {
        return Some(path.clone());
    }
    if database::is_in_memory(database_url) {
        return None;
    }
    let dir = match database::sqlite_file(database_url) {
        Some(file) => file
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from(".")),
        None => PathBuf::from("data"),
    };
    Some(dir.join(FILE_NAME))
}

/// The secret in `path`, created first when the file does not exist. Returns whether it
/// was created now. Two processes starting at once agree on one secret: the new file is
/// written aside and linked into place, which fails for the second.
pub fn load_or_create(path: &Path) -> anyhow::Result<(Secret, bool)> {
    if let Some(secret) = read(path)? {
        return Ok((secret, false));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the directory {}", dir.display()))?;
    }
    let secret = Secret::random();
    let aside = path.with_extension(format!("tmp-{}", std::process::id()));
    write_private(&aside, secret.expose())
        .with_context(|| format!("cannot write {}", aside.display()))?;
    let linked = std::fs::hard_link(&aside, path);
    let _ = std::fs::remove_file(&aside);
    match linked {
        Ok(()) => Ok((secret, true)),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            let secret = read(path)?.with_context(|| format!("{} is empty", path.display()))?;
            Ok((secret, false))
        }
        Err(err) => Err(err).with_context(|| format!("cannot create {}", path.display())),
    }
}

/// The secret in `path`; `None` when the file does not exist.
fn read(path: &Path) -> anyhow::Result<Option<Secret>> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let text = text.trim();
            anyhow::ensure!(
                text.len() >= 32,
                "the development secret in {} is shorter than 32 bytes; delete the file to \
                 generate a new one",
                path.display()
            );
            Ok(Some(Secret::new(text)))
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err).with_context(|| format!("cannot read {}", path.display())),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.write_all(b"\n")?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn auth() -> AuthSettings {
        Settings::defaults().auth
    }

    #[test]
    fn the_secret_lives_beside_the_sqlite_file() {
        assert_eq!(
            location(&auth(), "sqlite://data/forum.sqlite?mode=rwc"),
            Some(PathBuf::from("data/jwt-dev-secret"))
        );
        assert_eq!(
            location(&auth(), "sqlite:forum.sqlite"),
            Some(PathBuf::from("./jwt-dev-secret"))
        );
        assert_eq!(
            location(&auth(), "postgres://u@h/db"),
            Some(PathBuf::from("data/jwt-dev-secret"))
        );
    }

    #[test]
    fn an_in_memory_database_keeps_its_secret_in_memory() {
        assert_eq!(location(&auth(), "sqlite::memory:"), None);
        assert_eq!(location(&auth(), "sqlite://x?mode=memory"), None);
    }

    #[test]
    fn the_setting_wins() {
        let mut auth = auth();
        auth.jwt_dev_secret_file = Some("/tmp/s".into());
        assert_eq!(
            location(&auth, "sqlite::memory:"),
            Some(PathBuf::from("/tmp/s"))
        );
    }

    #[test]
    fn created_once_then_read_back_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/jwt-dev-secret");
        let (first, created) = load_or_create(&path).unwrap();
        assert!(created);
        let (again, created) = load_or_create(&path).unwrap();
        assert!(!created);
        assert_eq!(first, again);
        assert_eq!(first.expose().len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left behind");
    }

    #[test]
    fn a_truncated_secret_file_is_refused_with_a_remedy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwt-dev-secret");
        std::fs::write(&path, "short\n").unwrap();
        let err = load_or_create(&path).unwrap_err().to_string();
        assert!(err.contains("delete the file"), "{err}");
    }
}
