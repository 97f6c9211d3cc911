use std::{
    env,
    path::{Path, PathBuf},
};

use super::PgError;

/// The directory holding `initdb`, `pg_ctl` and `createdb` of one PostgreSQL version.
#[derive(Debug, Clone)]
pub(crate) struct PgBinaries {
    dir: PathBuf,
}

const REQUIRED: [&str; 3] = ["initdb", "pg_ctl", "createdb"];

impl PgBinaries {
    /// Finds the server binaries: `$PG_BIN_DIR`, then `initdb` on `PATH` (Debian keeps only
    /// client tools there unless symlinked; the link is followed to its real directory), then
    /// the highest version under `/usr/lib/postgresql/*/bin`.
    pub(crate) fn locate() -> Result<Self, PgError> {
        let mut searched = Vec::new();

        if let Some(dir) = env::var_os("PG_BIN_DIR").map(PathBuf::from) {
            searched.push(format!("$PG_BIN_DIR={}", dir.display()));
            if has_all(&dir) {
                return Ok(Self { dir });
            }
        }

        if let Some(path) = env::var_os("PATH") {
            searched.push("PATH".to_owned());
            for entry in env::split_paths(&path) {
                let initdb = entry.join("initdb");
                if !initdb.is_file() {
                    continue;
                }
                let real_dir = initdb
                    .canonicalize()
                    .ok()
                    .and_then(|p| p.parent().map(Path::to_path_buf));
                for dir in real_dir.into_iter().chain([entry.clone()]) {
                    if has_all(&dir) {
                        return Ok(Self { dir });
                    }
                }
            }
        }

        let root = Path::new("/usr/lib/postgresql");
        searched.push(format!("{}/*/bin", root.display()));
        if let Some(dir) = highest_version_bin(root) {
            return Ok(Self { dir });
        }

        Err(PgError::NotInstalled {
            searched: searched.join(", "),
        })
    }

    /// The full path of one tool.
    pub(crate) fn tool(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

fn has_all(dir: &Path) -> bool {
    REQUIRED.iter().all(|tool| dir.join(tool).is_file())
}

/// `/usr/lib/postgresql/<version>/bin` with the highest numeric version that has every tool.
fn highest_version_bin(root: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(root).ok()?;
    entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = version_key(&e.file_name().to_string_lossy())?;
            let bin = e.path().join("bin");
            has_all(&bin).then_some((version, bin))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, bin)| bin)
}

/// "15" -> [15], "9.6" -> [9, 6]; `None` for names that are not versions.
fn version_key(name: &str) -> Option<Vec<u32>> {
    name.split('.').map(|part| part.parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically_not_lexically() {
        assert!(version_key("10").unwrap() > version_key("9.6").unwrap());
        assert!(version_key("16").unwrap() > version_key("15").unwrap());
        assert_eq!(version_key("main"), None);
    }

    #[test]
    fn highest_version_with_every_tool_wins() {
        let root = tempfile::tempdir().unwrap();
        for (version, tools) in [
            ("9.6", &REQUIRED[..]),
            ("13", &REQUIRED[..]),
            ("16", &REQUIRED[..1]),
        ] {
            let bin = root.path().join(version).join("bin");
            std::fs::create_dir_all(&bin).unwrap();
            for tool in tools {
                std::fs::write(bin.join(tool), "").unwrap();
            }
        }
        assert_eq!(
            highest_version_bin(root.path()).unwrap(),
            root.path().join("13").join("bin")
        );
    }
}
