use std::time::Duration;

/// Why a test Chromium could not be started, driven or read.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ChromiumError {
    /// The browser did not come up (or exited) before printing its DevTools address.
    #[error("Chromium did not start: {reason}\n--- Chromium's stderr ---\n{log}")]
    Start {
        /// What went wrong.
        reason: String,
        /// What Chromium wrote so far.
        log: String,
    },
    /// The DevTools WebSocket did not open.
    #[error("cannot open the DevTools connection {url}: {message}")]
    Connect {
        /// The WebSocket URL.
        url: String,
        /// The connection error.
        message: String,
    },
    /// Chromium answered a command with an error, or a script threw.
    #[error("DevTools {method}: {message}")]
    Protocol {
        /// The command (`Runtime.evaluate`, ...).
        method: String,
        /// Chromium's error message, or the script's exception.
        message: String,
    },
    /// The connection closed before the answer came.
    #[error("DevTools {method}: the connection closed (did Chromium exit?)")]
    Closed {
        /// The command.
        method: String,
    },
    /// A command went unanswered, or a page condition did not hold, in time.
    #[error("{what}: not within {after:?} (last seen: {last})")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        after: Duration,
        /// The last value seen, to tell why.
        last: String,
    },
    /// A file-system, process or socket operation failed.
    #[error("{what}: {message}")]
    Io {
        /// What was being done.
        what: String,
        /// The I/O error.
        message: String,
    },
}

impl ChromiumError {
    pub(crate) fn io(what: impl Into<String>, err: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            message: err.to_string(),
        }
    }
}
