//! Opening the database: the connection pool, the SQLite file's directory, migrations.

use std::{path::PathBuf, time::Duration};

use anyhow::Context as _;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, sqlx::sqlite::SqliteJournalMode};

use crate::config::Settings;

/// Opens the pool described by the settings. For a SQLite file, creates its directory
/// first and switches the file to WAL so readers do not wait for writers.
pub async fn connect(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    let url = settings.database_url.as_str();
    if let Some(path) = sqlite_file(url)
        && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the database directory {}", dir.display()))?;
    }
    let mut options = ConnectOptions::new(url);
    let in_memory = is_in_memory(url);
    options
        // An in-memory SQLite database exists once per connection: keep exactly one.
        .max_connections(if in_memory {
            1
        } else {
            settings.database_max_connections
        })
        .min_connections(if in_memory { 1 } else { 0 })
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| o.journal_mode(SqliteJournalMode::Wal));
    if in_memory {
        options.idle_timeout(None).max_lifetime(None);
    }
    Database::connect(options)
        .await
        .with_context(|| format!("cannot open the database {}", redact(url)))
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None)
        .await
        .context("applying database migrations failed")
}

/// An in-memory SQLite database with every migration applied, for unit tests.
#[cfg(test)]
pub(crate) async fn migrated_in_memory() -> DatabaseConnection {
    let db = connect(&Settings::for_database("sqlite::memory:"))
        .await
        .expect("in-memory SQLite");
    migrate(&db).await.expect("migrations");
    db
}

/// Whether the URL names an in-memory SQLite database.
pub(crate) fn is_in_memory(url: &str) -> bool {
    url.starts_with("sqlite:") && (url.contains(":memory:") || url.contains("mode=memory"))
}

/// The file of a `sqlite:` URL, if it names one.
pub(crate) fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" || is_in_memory(url) {
        return None;
    }
    Some(PathBuf::from(path))
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_url_names_its_file() {
        assert_eq!(
            sqlite_file("sqlite://data/forum.sqlite?mode=rwc"),
            Some(PathBuf::from("data/forum.sqlite"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://u@h/db"), None);
    }

    #[test]
    fn password_is_redacted() {
        assert_eq!(
            redact("postgres://app:secret@localhost:5432/forum"),
            "postgres://app:***@localhost:5432/forum"
        );
        assert_eq!(redact("sqlite://data/x.sqlite"), "sqlite://data/x.sqlite");
    }
}
