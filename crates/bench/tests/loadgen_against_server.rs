//! The load driver against the real server (in-process, SQLite file with the demo data):
//! every request sent is answered, the built-in mix is valid for the schema, and the
//! per-second series adds up to the totals.

use std::time::Duration;

use bench::load::{LoadConfig, QueryMix, run};
use server::{Application, config::Settings, seed::SeedPlan};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_issued_request_is_answered_without_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_database(test_support::sqlite_url(dir.path()));
    settings.no_demo_data = false;
    let app = Application::build(settings).await.expect("server builds");
    let url = format!("http://{}/graphql", app.local_addr());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(app.run_until(async {
        let _ = stop_rx.await;
    }));

    let demo = SeedPlan::demo(42);
    let mix = QueryMix::builtin()
        .with_id_range("user", demo.users)
        .with_id_range("post", demo.posts);
    let mut config = LoadConfig::new(url, mix);
    config.clients = 4;
    config.warmup = Duration::from_millis(500);
    config.duration = Duration::from_secs(2);
    let report = run(config).await.expect("load runs");

    let _ = stop_tx.send(());
    serving.await.unwrap().unwrap();

    assert!(report.issued > 0, "{report}");
    assert_eq!(report.answered_total, report.issued, "{report}");
    assert_eq!(report.completed, report.issued, "{report}");
    assert_eq!(report.transport_errors, 0, "{report}");
    assert_eq!(report.timeouts, 0, "{report}");
    assert!(
        report.errors_by_code.is_empty(),
        "the built-in mix must be valid for the schema: {report}"
    );
    assert_eq!(report.ok, report.answered, "{report}");
    let series_total: u64 = report.seconds.iter().map(|s| s.answered).sum();
    assert_eq!(series_total, report.answered_total);
    assert!(report.latency.p50_ms > 0.0 && report.latency.p99_ms >= report.latency.p50_ms);
}

/// A mix of mutations with a bearer token: every write is answered without errors; the same
/// mix without a token is refused (`UNAUTHENTICATED`) and writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_mix_needs_the_token_it_is_given() {
    use bench::load::MixQuery;
    use sea_orm::{EntityTrait as _, PaginatorTrait as _};

    let dir = tempfile::tempdir().unwrap();
    let settings = Settings::for_database(test_support::sqlite_url(dir.path()));
    let app = Application::build(settings).await.expect("server builds");
    let db = app.state().db.clone();
    server::seed::run(&db, SeedPlan::small(42), false)
        .await
        .unwrap();
    let token = app.state().auth.mint(2, Duration::from_secs(600)).unwrap();
    let url = format!("http://{}/graphql", app.local_addr());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(app.run_until(async {
        let _ = stop_rx.await;
    }));

    let mix = QueryMix {
        id_ranges: [("post".to_string(), SeedPlan::small(42).posts)].into(),
        queries: vec![MixQuery {
            name: "comment".into(),
            weight: 1,
            query: r#"mutation($p: ID!) { addComment(input: {postId: $p, body: "load"}) { id } }"#
                .into(),
            variables: Default::default(),
            random_ids: [("p".to_string(), "post".to_string())].into(),
        }],
    };
    let config = |token: Option<String>| {
        let mut config = LoadConfig::new(url.clone(), mix.clone());
        config.clients = 2;
        config.warmup = Duration::from_millis(100);
        config.duration = Duration::from_millis(700);
        config.bearer_token = token;
        config
    };
    let comments = || async { entity::comment::Entity::find().count(&db).await.unwrap() };

    let before = comments().await;
    let refused = run(config(None)).await.expect("load runs");
    assert!(refused.issued > 0, "{refused}");
    assert_eq!(refused.ok, 0, "{refused}");
    assert!(
        refused.errors_by_code.contains_key("UNAUTHENTICATED"),
        "{refused}"
    );
    assert_eq!(comments().await, before, "an anonymous write landed");

    let written = run(config(Some(token))).await.expect("load runs");
    assert!(written.issued > 0, "{written}");
    assert!(written.errors_by_code.is_empty(), "{written}");
    assert_eq!(written.ok, written.answered, "{written}");
    assert!(comments().await > before);

    let _ = stop_tx.send(());
    serving.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_id_ranges_are_learned_from_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_database(test_support::sqlite_url(dir.path()));
    settings.no_demo_data = false;
    let app = Application::build(settings).await.expect("server builds");
    let url = format!("http://{}/graphql", app.local_addr());
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(app.run_until(async {
        let _ = stop_rx.await;
    }));

    let ranges = bench::load::discover_id_ranges(&reqwest::Client::new(), &url)
        .await
        .expect("the server answers");
    let demo = SeedPlan::demo(42);
    assert_eq!((ranges.users, ranges.posts), (demo.users, demo.posts));

    let _ = stop_tx.send(());
    serving.await.unwrap().unwrap();
}

#[tokio::test]
async fn an_unreachable_server_is_a_clear_error() {
    let error =
        bench::load::discover_id_ranges(&reqwest::Client::new(), "http://127.0.0.1:1/graphql")
            .await
            .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("pass --users and --posts"), "{message}");
}
