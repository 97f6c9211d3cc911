/// Why a load run could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BenchError {
    /// The query-mix file is not valid; the message says where and why.
    #[error("invalid query mix: {0}")]
    InvalidMix(String),
    /// The query-mix file could not be read.
    #[error("cannot read the query mix {path}: {source}")]
    ReadMix {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A setting is out of range (no clients, zero duration, bad URL).
    #[error("invalid load setting: {0}")]
    InvalidConfig(String),
    /// The id ranges could not be learned from the server; the message says what to do.
    #[error("{0}")]
    Discovery(String),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}
