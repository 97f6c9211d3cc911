use std::path::PathBuf;

/// Why a scenario could not be loaded or a simulation could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The scenario file could not be read.
    #[error("cannot read scenario {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The scenario file is not valid TOML of the expected shape.
    #[error("scenario {path} is not valid: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parse error (with line and column).
        #[source]
        source: Box<toml::de::Error>,
    },
    /// A value in the scenario is out of range; the message names the field and the fix.
    #[error("invalid scenario: {0}")]
    Invalid(String),
    /// The engine rejected its configuration.
    #[error("invalid engine configuration: {0}")]
    Engine(#[from] loader_core::ConfigError),
    /// A chart could not be drawn or written.
    #[error("cannot draw the plot: {0}")]
    Plot(String),
    /// A report could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A run lost a request or a key (or left the engine busy, or its limit left its
    /// bounds): the engine broke an invariant, and no figure of that run can be trusted.
    #[error("LOST in {scenario} / {strategy}: {detail}")]
    Lost {
        /// The scenario.
        scenario: String,
        /// The strategy.
        strategy: String,
        /// What was lost.
        detail: String,
    },
    /// The simulation's runtime could not be created.
    #[error("cannot start the simulation runtime: {0}")]
    Runtime(#[source] std::io::Error),
}
