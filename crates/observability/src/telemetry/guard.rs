use opentelemetry_sdk::{error::OTelSdkResult, trace::SdkTracerProvider};
use tokio::runtime::{Handle, RuntimeFlavor};

/// Keeps the OTLP pipeline running; dropping it flushes buffered spans and shuts the
/// exporter down.
///
/// Hold it in `main` (`let _telemetry = init(..)?;`, not `let _ = ..`, which drops it at
/// once).
#[must_use = "dropping the guard shuts the trace exporter down"]
#[derive(Debug)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    pub(crate) fn new(provider: Option<SdkTracerProvider>) -> Self {
        Self { provider }
    }

    /// Whether spans are exported over OTLP.
    pub fn is_exporting(&self) -> bool {
        self.provider.is_some()
    }

    /// Exports every span ended so far, waiting for the exporter (a no-op without export).
    ///
    /// Blocking; on a multi-threaded Tokio runtime it moves the wait off the worker. On a
    /// current-thread runtime call it from `spawn_blocking`, since the gRPC exporter needs
    /// the runtime to make progress.
    pub fn flush(&self) -> OTelSdkResult {
        match &self.provider {
            Some(provider) => off_worker(|| provider.force_flush()),
            None => Ok(()),
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(err) = off_worker(|| provider.shutdown())
        {
            eprintln!("telemetry: trace exporter shutdown failed: {err}");
        }
    }
}

fn off_worker<T>(f: impl FnOnce() -> T) -> T {
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}
