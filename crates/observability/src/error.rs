/// Why telemetry could not be installed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TelemetryError {
    /// The OTLP exporter could not be built from the configuration.
    #[error(
        "cannot build the OTLP trace exporter ({0}); check OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_EXPORTER_OTLP_PROTOCOL (grpc or http/protobuf)"
    )]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    /// A log or trace filter directive did not parse.
    #[error(
        "invalid filter directive {directive:?} ({source}); use the RUST_LOG syntax, e.g. `info,loader_core=debug`"
    )]
    Filter {
        /// The directive as given.
        directive: String,
        /// The parser's complaint.
        source: tracing_subscriber::filter::ParseError,
    },
    /// Another global `tracing` subscriber was installed first.
    #[error(
        "a global tracing subscriber is already installed; call telemetry::init once, at the start of main"
    )]
    AlreadyInstalled(#[from] tracing_subscriber::util::TryInitError),
    /// The OTLP protocol name is not one this build supports.
    #[error("unsupported OTLP protocol {0:?}; use `grpc` or `http/protobuf`")]
    Protocol(String),
}
