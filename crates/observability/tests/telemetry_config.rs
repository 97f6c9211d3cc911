//! `TelemetryConfig::from_lookup`: the standard OpenTelemetry variables decide whether and
//! how spans are exported.

use std::collections::HashMap;

use observability::{
    TelemetryError,
    telemetry::{OtlpProtocol, TelemetryConfig},
};

fn config(vars: &[(&str, &str)]) -> Result<TelemetryConfig, TelemetryError> {
    let env: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    TelemetryConfig::from_lookup("server", |key| env.get(key).cloned())
}

#[test]
fn no_endpoint_means_no_export() {
    let config = config(&[]).unwrap();
    assert!(config.otlp_export().is_none());
    assert_eq!(config.service(), "server");
    assert_eq!(config.logs(), "info");
    assert_eq!(config.traces(), "info");
}

#[test]
fn generic_endpoint_enables_export_with_protocol_left_to_the_exporter() {
    let config = config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://jaeger:4318")]).unwrap();
    let export = config.otlp_export().expect("export enabled");
    assert_eq!(export.transport(), None);
    assert_eq!(
        export.endpoint_url(),
        None,
        "the exporter reads the endpoint itself"
    );
}

#[test]
fn traces_endpoint_alone_enables_export() {
    let config = config(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:4317")]).unwrap();
    assert!(config.otlp_export().is_some());
}

#[test]
fn empty_endpoint_does_not_enable_export() {
    let config = config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "  ")]).unwrap();
    assert!(config.otlp_export().is_none());
}

#[test]
fn signal_protocol_overrides_generic_protocol() {
    let config = config(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
    ])
    .unwrap();
    assert_eq!(
        config.otlp_export().unwrap().transport(),
        Some(OtlpProtocol::Grpc)
    );
}

#[test]
fn unsupported_protocol_is_an_error_naming_the_choices() {
    let err = config(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
    ])
    .unwrap_err();
    assert!(matches!(err, TelemetryError::Protocol(ref p) if p == "http/json"));
    assert!(err.to_string().contains("grpc"), "{err}");
}

#[test]
fn sdk_disabled_or_exporter_none_turns_export_off() {
    for off in [
        ("OTEL_SDK_DISABLED", "true"),
        ("OTEL_TRACES_EXPORTER", "none"),
    ] {
        let config = config(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"), off]).unwrap();
        assert!(config.otlp_export().is_none(), "{off:?}");
    }
}

#[test]
fn service_name_and_filters_come_from_the_environment() {
    let config = config(&[
        ("OTEL_SERVICE_NAME", "forum-api"),
        ("RUST_LOG", "warn,loader_core=debug"),
        ("OTEL_TRACES_FILTER", "debug"),
    ])
    .unwrap();
    assert_eq!(config.service(), "forum-api");
    assert_eq!(config.logs(), "warn,loader_core=debug");
    assert_eq!(config.traces(), "debug");
}

#[test]
fn protocol_names_round_trip() {
    for p in [OtlpProtocol::Grpc, OtlpProtocol::HttpProtobuf] {
        assert_eq!(p.to_string().parse::<OtlpProtocol>().unwrap(), p);
    }
}

#[test]
fn default_log_filter_yields_to_rust_log() {
    let from_env = config(&[("RUST_LOG", "debug")])
        .unwrap()
        .default_log_filter("info,sqlx=warn");
    assert_eq!(from_env.logs(), "debug");
    let unset = config(&[]).unwrap().default_log_filter("info,sqlx=warn");
    assert_eq!(unset.logs(), "info,sqlx=warn");
    let forced = config(&[("RUST_LOG", "debug")]).unwrap().log_filter("warn");
    assert_eq!(forced.logs(), "warn");
}

#[test]
fn json_logs_are_off_unless_asked_for() {
    assert!(!config(&[]).unwrap().is_json());
    assert!(config(&[]).unwrap().json_logs(true).is_json());
}
