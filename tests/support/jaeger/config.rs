//! The Jaeger v2 configuration the tests run: Jaeger's own all-in-one set-up (OTLP in,
//! in-memory storage, the query API), cut to what a test needs and with every listener on
//! `127.0.0.1` at a port of our choosing, so that test processes never collide.

/// The TCP ports one Jaeger listens on, all on `127.0.0.1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JaegerPorts {
    /// OTLP over gRPC (Jaeger's default 4317).
    pub otlp_grpc: u16,
    /// OTLP over HTTP (Jaeger's default 4318).
    pub otlp_http: u16,
    /// The query API and UI over HTTP (Jaeger's default 16686): what the tests read.
    pub query_http: u16,
    /// The query API over gRPC (Jaeger's default 16685): unused, but it always listens.
    pub query_grpc: u16,
}

impl JaegerPorts {
    /// Every port, for readiness checks.
    pub fn all(&self) -> [u16; 4] {
        [
            self.otlp_grpc,
            self.otlp_http,
            self.query_http,
            self.query_grpc,
        ]
    }
}

/// Renders the configuration file (`jaeger --config <file>`), for Jaeger v2 as built from
/// module version v1.75.0 (the schema of `cmd/jaeger/internal/all-in-one.yaml` there).
///
/// Compared with the built-in all-in-one configuration it leaves out what a test never
/// reads and what would listen on fixed ports: the Jaeger and Zipkin receivers, remote
/// sampling, the health check, expvar, zpages, and the collector's own Prometheus metrics
/// (`8888`). It also leaves out the `batch` processor: the OTLP receiver then hands spans
/// straight to the storage exporter (which has no queue by default), so an OTLP export is
/// answered only once its spans are stored. A test whose exporter has flushed therefore
/// reads every span at once, instead of racing the processor's 200 ms timer.
pub fn render(ports: &JaegerPorts, max_traces: u32) -> String {
    let JaegerPorts {
        otlp_grpc,
        otlp_http,
        query_http,
        query_grpc,
    } = ports;
    format!(
        "\
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: info

extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: {max_traces}
  jaeger_query:
    storage:
      traces: memstore
    enable_tracing: false
    http:
      endpoint: 127.0.0.1:{query_http}
    grpc:
      endpoint: 127.0.0.1:{query_grpc}

receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:{otlp_grpc}
      http:
        endpoint: 127.0.0.1:{otlp_http}

exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listener_is_on_loopback_at_the_chosen_port() {
        let ports = JaegerPorts {
            otlp_grpc: 40001,
            otlp_http: 40002,
            query_http: 40003,
            query_grpc: 40004,
        };
        let yaml = render(&ports, 500);
        let endpoints: Vec<&str> = yaml
            .lines()
            .filter_map(|l| l.trim().strip_prefix("endpoint: "))
            .collect();
        assert_eq!(
            endpoints,
            [
                "127.0.0.1:40003",
                "127.0.0.1:40004",
                "127.0.0.1:40001",
                "127.0.0.1:40002"
            ]
        );
        assert!(yaml.contains("max_traces: 500"));
        assert!(
            !yaml.contains("batch"),
            "spans are stored before the export returns"
        );
        // Nothing left on Jaeger's fixed default ports.
        for fixed in ["4317", "4318", "16686", "16685", "8888", "13133"] {
            assert!(!yaml.contains(&format!(":{fixed}\n")), "{fixed}");
        }
    }
}
