//! Without OTLP export, a span that no layer's filter wants is not created at all:
//! async-graphql's per-field spans (the console leaves them out: they cost CPU per field and
//! no log line uses them) and spans of targets the log filter turns off; other spans at the
//! same level are. Its own binary: it installs the global subscriber.

use observability::telemetry::{self, TelemetryConfig};

#[tokio::test]
async fn spans_no_layer_wants_are_not_created_without_export() {
    let config = TelemetryConfig::from_lookup("console-spans", |_| None)
        .expect("an empty environment is a valid configuration")
        .log_filter("info,noisy_crate=off");
    let guard = telemetry::init_with(config).expect("telemetry installs");
    assert!(!guard.is_exporting());

    // What async-graphql's `Tracing` extension creates around each object or list field.
    let field = tracing::span!(
        target: "async_graphql::graphql",
        tracing::Level::INFO,
        "field",
        path = "users.0.posts"
    );
    assert!(field.is_disabled(), "a field span was created: {field:?}");

    // A span the log filter turns off, and no other layer wants.
    let noisy = tracing::span!(target: "noisy_crate", tracing::Level::INFO, "work");
    assert!(
        noisy.is_disabled(),
        "a filtered-out span was created: {noisy:?}"
    );

    // async-graphql's request-level spans, and everyone else's, still are.
    let execute = tracing::span!(target: "async_graphql::graphql", tracing::Level::INFO, "execute");
    assert!(!execute.is_disabled());
    assert!(!tracing::info_span!("request").is_disabled());
}
