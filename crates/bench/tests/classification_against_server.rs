//! The load driver sorts the real server's answers into complete, partial and refused
//! (in-process server, SQLite file with the demo data):
//!
//! - a query whose fields all resolve is complete;
//! - a query with one bad id in a nullable field comes back `200` with data and a
//!   `BAD_USER_INPUT` error: a partial answer, not a success;
//! - a full door (two places, held by the test, none to wait in, as the admission test does)
//!   refuses requests with `503`: refusals, whatever the retry behaviour of the client.
//!
//! Nothing here depends on timing: the partial answer is deterministic, and the refusals
//! come from a saturation that lasts until the test releases it.

use std::time::Duration;

use bench::load::{LoadConfig, LoadReport, MixQuery, QueryMix, run};
use loader_core::{Engine, limit::StrategyKind};
use server::{Application, config::Settings, graphql::LoaderMode};

/// A server on a fresh SQLite file with the demo data, and its stop switch.
struct Running {
    url: String,
    engine: Engine,
    stop: tokio::sync::oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

async fn start(adjust: impl FnOnce(&mut Settings)) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_database(test_support::sqlite_url(dir.path()));
    settings.no_demo_data = false;
    adjust(&mut settings);
    let app = Application::build(settings).await.expect("server builds");
    let url = format!("http://{}/graphql", app.local_addr());
    let engine = app.state().engine.clone();
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(app.run_until(async {
        let _ = stop_rx.await;
    }));
    Running {
        url,
        engine,
        stop,
        serving,
        _dir: dir,
    }
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(());
        self.serving.await.unwrap().unwrap();
    }
}

fn query(name: &str, text: &str) -> MixQuery {
    MixQuery {
        name: name.into(),
        weight: 1,
        query: text.into(),
        variables: Default::default(),
        random_ids: Default::default(),
    }
}

async fn load(url: &str, queries: Vec<MixQuery>, honor_retry_after: bool) -> LoadReport {
    let mix = QueryMix {
        id_ranges: Default::default(),
        queries,
    };
    let mut config = LoadConfig::new(url, mix);
    config.clients = 2;
    config.warmup = Duration::ZERO;
    config.duration = Duration::from_millis(700);
    config.honor_retry_after = honor_retry_after;
    run(config).await.expect("load runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complete_and_partial_answers_are_told_apart() {
    let server = start(|_| {}).await;
    let report = load(
        &server.url,
        vec![
            query(
                "complete",
                "{ users(first: 2) { name posts(first: 2) { title } } }",
            ),
            query(
                "partial",
                r#"{ a: user(id: "1") { name } b: user(id: "not-a-number") { name } }"#,
            ),
        ],
        true,
    )
    .await;
    server.stop().await;

    assert!(report.ok > 0, "{report}");
    assert!(report.partial > 0, "{report}");
    assert_eq!(report.ok + report.partial, report.answered, "{report}");
    assert_eq!((report.refused, report.other_errors), (0, 0), "{report}");
    assert_eq!(report.error_requests, report.partial, "{report}");
    assert_eq!(
        report.errors_by_code.keys().collect::<Vec<_>>(),
        ["BAD_USER_INPUT"],
        "{report}"
    );
    assert!(
        report.ok_latency.p50_ms > 0.0,
        "complete answers have their own latency: {report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_at_the_door_are_refusals_for_either_client() {
    let server = start(|s| {
        s.loader_mode = LoaderMode::EngineWith(StrategyKind::Fixed(Some(1)));
        s.loader.loader_max_requests = 2;
        s.loader.loader_max_requests_waiting = 0;
    })
    .await;
    let engine = server.engine.clone();
    // Both places at the door are held until the test lets go.
    let held = vec![
        engine.admit_request().await.unwrap(),
        engine.admit_request().await.unwrap(),
    ];

    let users = || {
        vec![query(
            "users",
            "{ users(first: 3) { name posts(first: 2) { title } } }",
        )]
    };
    let ignoring = load(&server.url, users(), false).await;
    let honouring = load(&server.url, users(), true).await;

    drop(held);
    server.stop().await;

    for report in [&ignoring, &honouring] {
        assert!(report.refused > 0, "{report}");
        assert_eq!(report.refused, report.answered, "{report}");
        assert_eq!(
            (report.ok, report.partial, report.other_errors),
            (0, 0, 0),
            "{report}"
        );
        assert_eq!(report.overloaded, report.refused, "{report}");
        assert!(report.refused_per_s > 0.0, "{report}");
    }
}
