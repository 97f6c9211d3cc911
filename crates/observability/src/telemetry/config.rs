use std::{fmt, str::FromStr};

use crate::TelemetryError;

/// The OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OtlpProtocol {
    /// OTLP over gRPC (`grpc`; Jaeger and collectors listen on port 4317).
    Grpc,
    /// OTLP over HTTP with protobuf bodies (`http/protobuf`; port 4318).
    HttpProtobuf,
}

impl FromStr for OtlpProtocol {
    type Err = TelemetryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "grpc" => Ok(Self::Grpc),
            "http/protobuf" => Ok(Self::HttpProtobuf),
            other => Err(TelemetryError::Protocol(other.to_owned())),
        }
    }
}

impl fmt::Display for OtlpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Grpc => "grpc",
            Self::HttpProtobuf => "http/protobuf",
        })
    }
}

/// Where and how to export spans over OTLP.
///
/// Fields left unset are resolved by `opentelemetry-otlp` from the standard variables
/// (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, then `OTEL_EXPORTER_OTLP_ENDPOINT`; the same for
/// `_PROTOCOL`, `_HEADERS`, `_TIMEOUT`, `_COMPRESSION`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OtlpExport {
    endpoint: Option<String>,
    protocol: Option<OtlpProtocol>,
}

impl OtlpExport {
    /// Export with every setting taken from the environment.
    pub fn from_env() -> Self {
        Self::default()
    }

    /// Sends spans to this URL. For gRPC, `http://host:4317`; for HTTP/protobuf, the full
    /// traces URL, `http://host:4318/v1/traces`.
    ///
    /// By default, this is unset: the exporter reads the endpoint variables.
    #[must_use]
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Uses this transport.
    ///
    /// By default, this is unset: the exporter reads the protocol variables and falls back
    /// to `http/protobuf`, the OpenTelemetry default.
    #[must_use]
    pub fn protocol(mut self, protocol: OtlpProtocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// The endpoint, when set explicitly.
    pub fn endpoint_url(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    /// The transport, when set explicitly.
    pub fn transport(&self) -> Option<OtlpProtocol> {
        self.protocol
    }
}

/// What [`init_with`](super::init_with) installs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetryConfig {
    service_name: String,
    log_filter: String,
    log_filter_from_env: bool,
    json_logs: bool,
    trace_filter: String,
    otlp: Option<OtlpExport>,
}

impl TelemetryConfig {
    /// Console logs only, for the given service name.
    pub fn new(service_name: impl Into<String>) -> Self {
        Self {
            service_name: service_name.into(),
            log_filter: "info".to_owned(),
            log_filter_from_env: false,
            json_logs: false,
            trace_filter: "info".to_owned(),
            otlp: None,
        }
    }

    /// Reads the process environment; see [`TelemetryConfig::from_lookup`].
    pub fn from_env(default_service_name: &str) -> Result<Self, TelemetryError> {
        Self::from_lookup(default_service_name, |key| std::env::var(key).ok())
    }

    /// Reads the configuration from `lookup` (an environment):
    ///
    /// | variable | effect |
    /// |---|---|
    /// | `OTEL_SERVICE_NAME` | service name (else `default_service_name`) |
    /// | `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` | either one set: export spans over OTLP |
    /// | `OTEL_EXPORTER_OTLP_PROTOCOL`, `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` | `grpc` or `http/protobuf` (default) |
    /// | `OTEL_SDK_DISABLED=true`, `OTEL_TRACES_EXPORTER=none` | never export |
    /// | `RUST_LOG` | console log filter (default `info`) |
    /// | `OTEL_TRACES_FILTER` | which spans are exported, same syntax (default `info`) |
    ///
    /// ```
    /// use observability::telemetry::{OtlpProtocol, TelemetryConfig};
    ///
    /// let env = |key: &str| match key {
    ///     "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://jaeger:4317".to_owned()),
    ///     "OTEL_EXPORTER_OTLP_PROTOCOL" => Some("grpc".to_owned()),
    ///     _ => None,
    /// };
    /// let config = TelemetryConfig::from_lookup("server", env)?;
    /// assert_eq!(config.service(), "server");
    /// assert_eq!(config.otlp_export().unwrap().transport(), Some(OtlpProtocol::Grpc));
    /// # Ok::<(), observability::TelemetryError>(())
    /// ```
    pub fn from_lookup(
        default_service_name: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, TelemetryError> {
        let get = |key: &str| lookup(key).filter(|v| !v.trim().is_empty());
        let mut config =
            Self::new(get("OTEL_SERVICE_NAME").unwrap_or_else(|| default_service_name.to_owned()));
        if let Some(filter) = get("RUST_LOG") {
            config.log_filter = filter;
            config.log_filter_from_env = true;
        }
        if let Some(filter) = get("OTEL_TRACES_FILTER") {
            config.trace_filter = filter;
        }
        let disabled = get("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"))
            || get("OTEL_TRACES_EXPORTER").is_some_and(|v| v.eq_ignore_ascii_case("none"));
        let endpoint_set = get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").is_some()
            || get("OTEL_EXPORTER_OTLP_ENDPOINT").is_some();
        if endpoint_set && !disabled {
            let mut export = OtlpExport::from_env();
            if let Some(protocol) = get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
                .or_else(|| get("OTEL_EXPORTER_OTLP_PROTOCOL"))
            {
                export = export.protocol(protocol.parse()?);
            }
            config.otlp = Some(export);
        }
        Ok(config)
    }

    /// Names the service in exported spans (the `service.name` resource attribute).
    ///
    /// By default, this is the name given to [`TelemetryConfig::new`].
    #[must_use]
    pub fn service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = name.into();
        self
    }

    /// Filters console logs, in `RUST_LOG` syntax.
    ///
    /// By default, this is `info`.
    #[must_use]
    pub fn log_filter(mut self, directives: impl Into<String>) -> Self {
        self.log_filter = directives.into();
        self
    }

    /// Filters console logs when `RUST_LOG` did not: unlike [`log_filter`](Self::log_filter)
    /// it leaves a filter read from the environment alone.
    ///
    /// By default, this is `info`.
    #[must_use]
    pub fn default_log_filter(mut self, directives: impl Into<String>) -> Self {
        if !self.log_filter_from_env {
            self.log_filter = directives.into();
        }
        self
    }

    /// Writes console logs as JSON lines instead of human-readable text.
    ///
    /// By default, this is `false`.
    #[must_use]
    pub fn json_logs(mut self, json: bool) -> Self {
        self.json_logs = json;
        self
    }

    /// Filters the spans and events sent to OTLP, in `RUST_LOG` syntax.
    ///
    /// By default, this is `info` (every span of the HTTP → GraphQL → loader → SQL tree).
    /// The exporter's own crates (`h2`, `hyper`, `tonic`, `reqwest`, `opentelemetry*`, ...)
    /// are always excluded, so exporting never traces itself.
    #[must_use]
    pub fn trace_filter(mut self, directives: impl Into<String>) -> Self {
        self.trace_filter = directives.into();
        self
    }

    /// Exports spans over OTLP (`Some`) or not at all (`None`).
    ///
    /// By default, this is `None`.
    #[must_use]
    pub fn otlp(mut self, export: Option<OtlpExport>) -> Self {
        self.otlp = export;
        self
    }

    /// The service name.
    pub fn service(&self) -> &str {
        &self.service_name
    }

    /// The console log filter.
    pub fn logs(&self) -> &str {
        &self.log_filter
    }

    /// Whether console logs are JSON lines.
    pub fn is_json(&self) -> bool {
        self.json_logs
    }

    /// The exported-span filter.
    pub fn traces(&self) -> &str {
        &self.trace_filter
    }

    /// The OTLP export, if enabled.
    pub fn otlp_export(&self) -> Option<&OtlpExport> {
        self.otlp.as_ref()
    }
}
