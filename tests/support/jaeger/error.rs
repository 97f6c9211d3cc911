/// Why a test Jaeger could not be built, started or read.
///
/// `Clone` so the outcome of building the binary once can be handed to every test that asks.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum JaegerError {
    /// No Go toolchain, or the Go module proxy did not serve Jaeger or its dependencies:
    /// Jaeger cannot be built on this machine. The Jaeger tests skip loudly (and fail when
    /// `CI` is set).
    #[error("Jaeger cannot be built here: {reason}")]
    Unavailable {
        /// What is missing.
        reason: String,
    },
    /// Go and every module were there, but the build failed.
    #[error("building Jaeger failed: `{command}`: {output}")]
    Build {
        /// The command line.
        command: String,
        /// Its exit status and output.
        output: String,
    },
    /// The binary ran but did not come up (or exited).
    #[error("Jaeger did not start: {reason}\n--- Jaeger log ---\n{log}")]
    Start {
        /// What went wrong.
        reason: String,
        /// Jaeger's log so far.
        log: String,
    },
    /// The query API did not answer as documented.
    #[error("Jaeger query API, {url}: {message}")]
    Query {
        /// The URL asked.
        url: String,
        /// What was wrong with the answer.
        message: String,
    },
    /// A file-system or process operation failed.
    #[error("{what}: {message}")]
    Io {
        /// What was being done.
        what: String,
        /// The I/O error.
        message: String,
    },
}

impl JaegerError {
    pub(crate) fn io(what: impl Into<String>, err: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            message: err.to_string(),
        }
    }
}
