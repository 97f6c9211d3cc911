/// Why a throwaway PostgreSQL cluster could not be made or used.
///
/// `Clone` so the outcome of starting the binary-wide shared cluster can be handed to every
/// test that asks for it.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PgError {
    /// `initdb`/`pg_ctl` are not installed: install the `postgresql` package (Debian/Ubuntu)
    /// or point `PG_BIN_DIR` at the directory holding them.
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl) not found; searched {searched}. \
         Install the `postgresql` package or set PG_BIN_DIR"
    )]
    NotInstalled {
        /// The places that were searched.
        searched: String,
    },
    /// A PostgreSQL tool ran but failed.
    #[error("`{command}` failed: {output}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status, stderr and stdout (and the server log, for start failures).
        output: String,
    },
    /// A file-system or process operation failed.
    #[error("{what}: {message}")]
    Io {
        /// What was being done.
        what: String,
        /// The I/O error.
        message: String,
    },
    /// A database name that is not `[a-z_][a-z0-9_]*` (at most 63 bytes).
    #[error("invalid database name {0:?}: use lowercase letters, digits and underscores")]
    InvalidName(String),
}

impl PgError {
    pub(crate) fn io(what: impl Into<String>, err: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            message: err.to_string(),
        }
    }
}
