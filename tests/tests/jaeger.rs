//! The real `server` binary traced into a real Jaeger v2 (built once with the machine's Go,
//! see `test_support::Jaeger`), over OTLP/gRPC and OTLP/HTTP, configured only through the
//! environment variables a user sets. The README's nested query runs with a `traceparent`
//! header, and the trace is read back from Jaeger's HTTP query API (what its UI shows):
//! one trace in the caller's trace id under the configured service name, HTTP -> GraphQL ->
//! fields -> batches (their references reaching every waiting field) -> SQL.
//!
//! Without Go or the Go module proxy the Jaeger tests skip loudly (and fail when `CI` is set).

mod request_trace;

use std::{
    net::TcpStream,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use request_trace::{Expected, TraceSpan as _};
use serde_json::Value;
use test_support::{Jaeger, JaegerTrace, ServerProcess, server_binary, start_jaeger_or_skip};

/// The README's nested query.
const QUERY: &str = "{ users(first: 50) { name posts(first: 10) { title \
                     comments(first: 5) { author { name } } tags { name } } } }";

/// How long a trace may take to show up while the server runs: its batch exporter sends
/// every 5 s (`OTEL_BSP_SCHEDULE_DELAY`), or sooner once 512 spans are waiting.
const LIVE_TIMEOUT: Duration = Duration::from_secs(30);

/// One run: the server exporting over `protocol` to `endpoint`, as `service`, continuing the
/// caller's trace `trace`/`span`.
struct Run<'a> {
    protocol: &'a str,
    endpoint: String,
    service: &'a str,
    trace: &'a str,
    span: &'a str,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nested_query_is_one_whole_trace_in_jaeger_over_grpc_and_http() {
    let Some(jaeger) = start_jaeger_or_skip(module_path!()).await else {
        return;
    };
    let server = tokio::task::spawn_blocking(server_binary).await.unwrap();
    let runs = [
        Run {
            protocol: "grpc",
            endpoint: jaeger.otlp_grpc_endpoint(),
            service: "adaptive-graphql-grpc",
            trace: "0af7651916cd43dd8448eb211c80319c",
            span: "b7ad6b7169203331",
        },
        Run {
            protocol: "http/protobuf",
            endpoint: jaeger.otlp_http_endpoint(),
            service: "adaptive-graphql-http",
            trace: "4bf92f3577b34da6a3ce929d0e0e4736",
            span: "00f067aa0ba902b7",
        },
    ];
    for run in &runs {
        let trace = traced_request(&jaeger, &server, run).await;
        // What Jaeger returned, kept for a look after the run (and before any assertion).
        let name = run.service.trim_start_matches("adaptive-graphql-");
        let raw = reqwest::get(format!("{}/api/traces/{}", jaeger.query_url(), run.trace))
            .await
            .expect("GET /api/traces/{id}")
            .text()
            .await
            .expect("the trace as text");
        save_artifact(&format!("jaeger-{name}.json"), &raw);
        let shape = request_trace::shape(&trace.spans);
        save_artifact(&format!("jaeger-{name}.txt"), &shape);

        let checked = request_trace::check(
            &trace.spans,
            &Expected {
                caller_trace: run.trace,
                caller_span: run.span,
                db_system: "sqlite",
                always_batched: &["posts", "comments", "tags"],
            },
        );
        // The README's query: 50 users, one loader group per relation.
        let posts: Vec<String> = trace
            .named("field")
            .filter_map(|f| f.tag("path"))
            .filter(|p| p.ends_with(".posts"))
            .collect();
        assert_eq!(
            posts.len(),
            50,
            "{}: one `posts` field per user",
            run.protocol
        );
        for relation in ["posts", "comments", "tags", "users"] {
            assert!(
                checked.groups.keys().any(|g| g.starts_with(relation)),
                "{}: no batch of {relation} in {:?}",
                run.protocol,
                checked.groups
            );
        }

        let summary = format!(
            "{} (OTLP {}): {} spans, {} field, {} loader.batch, {} db.query; \
             batches reach {} field spans\n{shape}",
            run.service,
            run.protocol,
            checked.spans,
            checked.fields,
            checked.batches,
            checked.queries,
            checked.linked_fields,
        );
        eprintln!("{summary}");
        save_artifact(&format!("jaeger-{name}.txt"), &summary);
    }

    let services = jaeger.services().await.expect("GET /api/services");
    for run in &runs {
        assert!(
            services.iter().any(|s| s == run.service),
            "{} not among {services:?}",
            run.service
        );
    }
}

/// Starts the server pointed at Jaeger, sends the query, and returns its trace as Jaeger
/// shows it once the server has stopped (and so flushed every span).
async fn traced_request(jaeger: &Jaeger, server: &Path, run: &Run<'_>) -> JaegerTrace {
    let process = ServerProcess::start(
        server,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", run.endpoint.as_str()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", run.protocol),
            ("OTEL_SERVICE_NAME", run.service),
            ("RUST_LOG", "warn"),
        ],
    )
    .await;

    let response = reqwest::Client::new()
        .post(process.graphql_url())
        .header("traceparent", format!("00-{}-{}-01", run.trace, run.span))
        .json(&serde_json::json!({ "query": QUERY }))
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status(), 200);
    let reply: Value = response.json().await.expect("a JSON reply");
    assert!(reply.get("errors").is_none(), "{reply}");
    assert_eq!(reply["data"]["users"].as_array().map(Vec::len), Some(50));

    // While the server runs, the trace shows up on the exporter's own schedule.
    jaeger
        .wait_for_trace(run.trace, LIVE_TIMEOUT, |t| {
            t.named("http.request").count() == 1
        })
        .await
        .unwrap_or_else(|e| {
            panic!(
                "{}: the trace did not reach Jaeger while the server ran: {e}\n\
                 --- server stderr ---\n{}\n--- Jaeger log ---\n{}",
                run.protocol,
                process.stderr(),
                jaeger.log()
            )
        });

    // Stopping flushes what is still buffered; Jaeger stores spans before it answers an
    // export, so once the server has exited the trace is whole.
    let (status, stderr) = process.stop().await;
    save_artifact(
        &format!(
            "jaeger-{}-server.log",
            run.service.trim_start_matches("adaptive-graphql-")
        ),
        &stderr,
    );
    assert!(
        status.success(),
        "{}: server exit {status}\n{stderr}",
        run.protocol
    );
    for trouble in ["shutdown failed", "dropped", "BatchSpanProcessor", "Export"] {
        assert!(
            !stderr.contains(trouble),
            "{}: the exporter complained ({trouble}):\n{stderr}",
            run.protocol
        );
    }
    let trace = jaeger
        .wait_for_trace(run.trace, Duration::from_secs(10), |t| {
            request_trace::has_every_layer(&t.spans)
        })
        .await
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", run.protocol, jaeger.log()));

    // One trace, under the configured service name, in the caller's trace id.
    let listed = jaeger
        .traces_of(run.service, 20)
        .await
        .expect("GET /api/traces?service=");
    assert_eq!(
        listed.len(),
        1,
        "{}: the request made one trace, not {:?}",
        run.protocol,
        listed.iter().map(|t| &t.trace_id).collect::<Vec<_>>()
    );
    assert!(test_support::same_trace_id(&listed[0].trace_id, run.trace));
    assert!(test_support::same_trace_id(&trace.trace_id, run.trace));
    for span in &trace.spans {
        assert_eq!(span.service_name, run.service, "{}", span.name());
    }
    trace
}

fn save_artifact(name: &str, text: &str) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts");
    if std::fs::create_dir_all(&dir).is_ok() {
        let _ = std::fs::write(dir.join(name), text);
    }
}

/// Not a test on its own: the child half of the watchdog test below. It starts a Jaeger,
/// prints where it runs, and exits without dropping it.
#[test]
fn jaeger_watchdog_child_process() {
    if std::env::var_os("TEST_SUPPORT_JAEGER_CHILD").is_none() {
        return;
    }
    let jaeger = Jaeger::start().expect("Jaeger starts");
    println!(
        "JAEGER {} {} {}",
        jaeger.pid(),
        jaeger.ports().query_http,
        jaeger.dir().display()
    );
    std::mem::forget(jaeger);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_test_jaeger_is_killed_when_dropped_and_when_the_test_process_dies() {
    let Some(jaeger) = start_jaeger_or_skip(module_path!()).await else {
        return;
    };
    let (pid, port, dir) = (
        jaeger.pid(),
        jaeger.ports().query_http,
        jaeger.dir().to_path_buf(),
    );
    assert!(running(pid) && listening(port));
    drop(jaeger);
    assert!(!running(pid), "dropping kills Jaeger");
    // Its sockets closed with the process; the port itself may already serve another
    // test's listener (free ports are handed out again), so it is not checked here.
    assert!(!dir.exists());

    let output = tokio::task::spawn_blocking(|| {
        Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "jaeger_watchdog_child_process",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("TEST_SUPPORT_JAEGER_CHILD", "1")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.split_once("JAEGER ").map(|(_, rest)| rest.trim()))
        .unwrap_or_else(|| panic!("the child printed no Jaeger: {stdout}"));
    let parts: Vec<&str> = line.split(' ').collect();
    let (pid, _port, dir): (u32, u16, PathBuf) = (
        parts[0].parse().unwrap(),
        parts[1].parse().unwrap(),
        parts[2].into(),
    );
    // The watchdog polls once a second; give it a generous deadline (external process).
    let deadline = Instant::now() + Duration::from_secs(30);
    while (running(pid) || dir.exists()) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!running(pid), "Jaeger {pid} outlived its test process");
    assert!(!dir.exists(), "{dir:?} left behind");
}

/// Whether `pid` is a live process (a zombie counts as gone).
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            // pid (comm) state ...: the state follows the last ')'.
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next())
                .is_some_and(|state| state != 'Z' && state != 'X')
        })
        .unwrap_or(false)
}

fn listening(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}
