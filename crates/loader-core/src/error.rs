//! The crate's errors: [`LoadError`] (why a load produced no value, with [`OverloadReason`]),
//! [`SharedError`] (a batch function's error shared by its keys) and [`ConfigError`].

use std::{fmt, sync::Arc, time::Duration};

/// Which bound refused a request or a load with [`LoadError::Overloaded`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OverloadReason {
    /// A request: every place at the door was taken and `max_requests_waiting` requests
    /// already waited.
    DoorFull,
    /// A request (or a standalone load): its expected wait exceeded `max_queue_wait`.
    ExpectedWait,
    /// A request: it waited `max_queue_wait` at the door without getting a place.
    DoorWait,
    /// A standalone load: `queue_capacity` loads already waited.
    QueueFull,
    /// A standalone load: its expected wait exceeded the caller's deadline.
    Deadline,
    /// A standalone load during an open-loop overload: it could not start at once.
    Overload,
}

impl OverloadReason {
    /// A short name, as in logs and metrics labels: `"door full"`, `"expected wait"`,
    /// `"door wait"`, `"queue full"`, `"deadline"`, `"overload"`.
    pub fn as_str(self) -> &'static str {
        match self {
            OverloadReason::DoorFull => "door full",
            OverloadReason::ExpectedWait => "expected wait",
            OverloadReason::DoorWait => "door wait",
            OverloadReason::QueueFull => "queue full",
            OverloadReason::Deadline => "deadline",
            OverloadReason::Overload => "overload",
        }
    }
}

impl fmt::Display for OverloadReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a load did not produce a value.
///
/// Errors are cheap to clone: the batch function's own error is shared behind an [`Arc`], so
/// every key of a failed batch receives the same error without the user's error type having
/// to implement `Clone`.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The engine refused a new request at its door ([`Engine::admit_request`]), or a
    /// standalone load, because the downstream is saturated. Nothing of it ran: retry after
    /// `retry_after`. The loads of an admitted request never fail this way.
    ///
    /// [`Engine::admit_request`]: crate::Engine::admit_request
    #[error("overloaded: the downstream is saturated ({reason}); retry after {} ms", retry_after.as_millis())]
    Overloaded {
        /// A hint for when capacity is expected to be free again.
        retry_after: Duration,
        /// Which bound refused it.
        reason: OverloadReason,
    },
    /// The batch function returned an error for the batch this key was in.
    #[error("batch function for `{group}` failed: {source}")]
    Batch {
        /// The query group of the failed batch.
        group: Arc<str>,
        /// The batch function's error, shared by every key of the batch.
        #[source]
        source: SharedError,
    },
    /// The batch function panicked while loading the batch this key was in.
    #[error("batch function for `{group}` panicked: {message}")]
    Panicked {
        /// The query group of the failed batch.
        group: Arc<str>,
        /// The panic payload, when it was a string.
        message: Arc<str>,
    },
    /// The batch call exceeded the per-batch timeout and was cut.
    #[error("batch for `{group}` timed out after {} ms", after.as_millis())]
    Timeout {
        /// The query group of the cut batch.
        group: Arc<str>,
        /// The per-batch timeout that fired.
        after: Duration,
    },
    /// The caller's own deadline passed while the load was waiting.
    #[error("deadline exceeded while waiting for `{group}`")]
    DeadlineExceeded {
        /// The query group that was waited on.
        group: Arc<str>,
    },
    /// The engine was shut down before the load was answered.
    #[error("the loader engine is shutting down")]
    Shutdown,
}

impl LoadError {
    /// `true` when the load was refused by back-pressure (retrying later may succeed).
    pub fn is_overloaded(&self) -> bool {
        matches!(self, LoadError::Overloaded { .. })
    }
}

/// A batch function's error, shared between every key of the failed batch.
#[derive(Clone)]
pub struct SharedError(pub Arc<dyn std::error::Error + Send + Sync + 'static>);

impl SharedError {
    /// Wraps an error.
    pub fn new<E: std::error::Error + Send + Sync + 'static>(error: E) -> Self {
        Self(Arc::new(error))
    }

    /// Returns the original error if it is of type `E`.
    pub fn downcast_ref<E: std::error::Error + 'static>(&self) -> Option<&E> {
        self.0.downcast_ref::<E>()
    }
}

impl fmt::Debug for SharedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for SharedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl std::error::Error for SharedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// An error in the engine's configuration: the message names the setting and what it must be.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A bound is inconsistent, e.g. `min_concurrency > max_concurrency`.
    #[error("invalid loader configuration: {0}")]
    Invalid(String),
}
