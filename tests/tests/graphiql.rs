//! GraphiQL in a real headless Chromium with no network beyond loopback, as a new user meets
//! it: the real server (in-process, SQLite with the demo data it makes on first start) serves
//! `/graphql`; the page loads its scripts from the server, the documentation explorer lists
//! `Query` and its fields, and the README's nested query, run with the run button, shows the
//! database's data in the result pane. The screenshot is saved to
//! `target/test-artifacts/graphiql.png` (its path is printed).
//!
//! No network: Chromium's only proxy is a trap on loopback (any connection to another host,
//! the browser's own background traffic included, ends there), no host name but `localhost`
//! resolves, and every request of the page is intercepted and checked before it is sent.
//!
//! Needs Debian's `chromium` (`apt-get install -y chromium`; `.ci/run` installs it). Without
//! it the test skips through `test_support::skip_missing` (a loud banner; a failure when `CI`
//! is set).

use std::time::Duration;

use serde_json::{Value, json};
use server::{Application, config::Settings};
use test_support::{DevTools, Launch, LoopbackOnly, Page, ProxyTrap, is_loopback};

/// The README's nested query (the page opens with it, plus comments).
const README_QUERY: &str = "{ users(first: 50) { name posts(first: 10) { title comments(first: 5) { author { name } } tags { name } } } }";

/// How long the page may take for each step (loading, the schema, the query).
const STEP: Duration = Duration::from_secs(30);

/// The files the page loads from the server, and nothing else but its own queries.
const ASSETS: [&str; 4] = [
    "graphiql.min.css",
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",
];

/// A JavaScript expression: the first element matching `selector` whose text is `text`.
fn by_text(selector: &str, text: &str) -> String {
    format!(
        "[...document.querySelectorAll({})].find(e => e.textContent.trim() === {})",
        json!(selector),
        json!(text)
    )
}

/// A JavaScript expression: the text of the CodeMirror editor inside `selector`, when there
/// is one.
fn editor_text(selector: &str) -> String {
    format!(
        "(() => {{ const e = document.querySelector({}); return e && e.CodeMirror ? e.CodeMirror.getValue() : null; }})()",
        json!(format!("{selector} .CodeMirror"))
    )
}

/// Collects what the page reports as going wrong: uncaught exceptions, `console.error`
/// calls and browser log errors (a failed script or style load, for one).
struct PageProblems {
    receivers: Vec<tokio::sync::mpsc::UnboundedReceiver<test_support::Event>>,
}

impl PageProblems {
    fn watch(page: &Page) -> Self {
        let receivers = ["Runtime.exceptionThrown", "Runtime.consoleAPICalled", "Log.entryAdded"]
            .into_iter()
            .map(|event| page.subscribe(event))
            .collect();
        Self { receivers }
    }

    /// The problems reported so far, as text.
    fn drain(&mut self) -> Vec<String> {
        let mut problems = Vec::new();
        for receiver in &mut self.receivers {
            while let Ok(event) = receiver.try_recv() {
                let p = &event.params;
                let problem = match event.method.as_str() {
                    "Runtime.exceptionThrown" => Some(p["exceptionDetails"].to_string()),
                    "Runtime.consoleAPICalled" if p["type"] == "error" => Some(p["args"].to_string()),
                    "Log.entryAdded" if p["entry"]["level"] == "error" => Some(p["entry"].to_string()),
                    _ => None,
                };
                problems.extend(problem.map(|text| format!("{}: {text}", event.method)));
            }
        }
        problems
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_shows_the_schema_and_runs_the_readme_query_in_chromium_without_network() {
    let Some(chromium) = test_support::chromium_or_skip(module_path!()) else {
        return;
    };

    // The server as `cargo run -p server` starts it: migrations, demo data, GraphiQL on.
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut settings = Settings::for_database(test_support::sqlite_url(dir.path()));
    settings.no_demo_data = false;
    let app = Application::build(settings)
        .await
        .expect("the server builds");
    let addr = app.local_addr();
    let server = tokio::spawn(app.run_until(std::future::pending()));
    let graphiql_url = format!("http://{addr}/graphql");

    // What the server answers the README's query with, straight over HTTP.
    let expected: Value = reqwest::Client::new()
        .post(&graphiql_url)
        .json(&json!({ "query": README_QUERY }))
        .send()
        .await
        .expect("the server answers")
        .json()
        .await
        .expect("a JSON answer");
    let expected_users = expected["data"]["users"]
        .as_array()
        .expect("the README query answers users");
    assert_eq!(expected_users.len(), 50, "the demo data has 300 users");
    let first_name = expected_users[0]["name"]
        .as_str()
        .expect("a user has a name")
        .to_owned();

    let trap = ProxyTrap::start().await.expect("the proxy trap listens");
    let chromium = Launch::new(chromium)
        .proxy(trap.addr())
        .start()
        .await
        .expect("Chromium starts");
    let devtools = DevTools::connect(chromium.devtools_url())
        .await
        .expect("the DevTools protocol answers");
    let page = Page::open(&devtools).await.expect("a tab opens");
    let network = LoopbackOnly::install(&page)
        .await
        .expect("the page's requests are intercepted");
    let mut problems = PageProblems::watch(&page);
    for domain in ["Runtime.enable", "Log.enable"] {
        page.call(domain, json!({})).await.expect(domain);
    }

    page.navigate(&graphiql_url)
        .await
        .expect("the GraphiQL page loads");

    // The editor opens with the README's query.
    let query = page
        .wait_for("the query editor", &editor_text(".graphiql-query-editor"), STEP)
        .await
        .expect("GraphiQL renders its query editor");
    let query = query.as_str().expect("editor text");
    assert!(
        query.contains("users(first: 50)") && query.contains("comments(first: 5)"),
        "the editor opens with the README's query, not:\n{query}"
    );

    // The documentation explorer lists the root types from the schema, `Query` first.
    page.click(r#"document.querySelector('button[aria-label="Show Documentation Explorer"]')"#)
        .await
        .expect("the docs button is there");
    let root_types = page
        .wait_for(
            "the docs explorer's root types",
            "(() => { const rows = [...document.querySelectorAll('section.graphiql-doc-explorer .graphiql-doc-explorer-root-type')]\
               .map(e => e.parentElement.textContent.trim()); return rows.length ? rows : null; })()",
            STEP,
        )
        .await
        .expect("the schema loads into the docs explorer");
    assert_eq!(
        root_types,
        json!(["query: Query", "mutation: Mutation"]),
        "the docs explorer's root types"
    );

    // `Query` opens on its fields.
    page.click(&by_text(
        "section.graphiql-doc-explorer a.graphiql-doc-explorer-type-name",
        "Query",
    ))
    .await
    .expect("`Query` is a link");
    let fields = page
        .wait_for(
            "the fields of Query",
            "(() => { const title = document.querySelector('.graphiql-doc-explorer-title'); \
               if (!title || title.textContent.trim() !== 'Query') return null; \
               const names = [...document.querySelectorAll('section.graphiql-doc-explorer a.graphiql-doc-explorer-field-name')]\
                 .map(e => e.textContent.trim()); return names.length ? names : null; })()",
            STEP,
        )
        .await
        .expect("the docs explorer shows Query");
    let fields: Vec<&str> = fields
        .as_array()
        .expect("names")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for field in ["users", "user", "posts", "post", "tags", "tag"] {
        assert!(fields.contains(&field), "Query lists `{field}`: {fields:?}");
    }

    // The run button runs the query; the result pane shows what the server answers.
    page.click("document.querySelector('button.graphiql-execute-button')")
        .await
        .expect("the run button is there");
    let result = page
        .wait_for(
            "the result pane",
            &format!(
                "(() => {{ const t = {}; return t && t.includes('\"data\"') ? t : null; }})()",
                editor_text(".result-window")
            ),
            STEP,
        )
        .await
        .expect("the query's result shows");
    let shown: Value = serde_json::from_str(result.as_str().expect("result text"))
        .expect("the result pane holds JSON");
    assert_eq!(
        shown, expected,
        "the result pane shows what the server answers the README's query with"
    );
    let visible = page
        .evaluate("document.querySelector('.result-window').innerText")
        .await
        .expect("the result pane's text");
    assert!(
        visible.as_str().is_some_and(|t| t.contains(&first_name)),
        "the first user's name, {first_name}, is on screen in the result pane"
    );

    // A screenshot for people.
    let png = page.screenshot_png().await.expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    assert!(png.len() > 30_000, "a screenshot of GraphiQL is not {} bytes", png.len());
    let path = test_support::artifacts_dir().join("graphiql.png");
    std::fs::write(&path, &png).expect("the screenshot is written");
    test_support::announce_artifact("GraphiQL screenshot", &path);

    // Everything the page loaded came from the server; nothing else was attempted.
    assert_eq!(problems.drain(), Vec::<String>::new(), "the page reports no errors");
    let requests = network.requests();
    let outside: Vec<_> = requests.iter().filter(|r| !is_loopback(&r.url)).collect();
    assert!(outside.is_empty(), "the page tried to leave the machine: {outside:?}");
    let fetched = |method: &str, url: &str| {
        requests
            .iter()
            .any(|r| r.method == method && r.url == url && !r.blocked)
    };
    assert!(fetched("GET", &graphiql_url), "the page: {requests:#?}");
    for asset in ASSETS {
        let url = format!("{graphiql_url}/assets/{asset}");
        assert!(fetched("GET", &url), "{asset} from the server: {requests:#?}");
    }
    let posts = requests.iter().filter(|r| r.method == "POST").count();
    assert!(posts >= 2, "introspection and the query were POSTed: {requests:#?}");
    assert_eq!(trap.attempts(), Vec::<String>::new(), "no connection left loopback");

    // Both barriers hold: the page's own interception blocks a CDN script...
    let cdn = "https://unpkg.com/graphiql@3.8.3/graphiql.min.js";
    let outcome = page
        .evaluate(&format!("fetch({}).then(() => 'loaded', () => 'failed')", json!(cdn)))
        .await
        .expect("the probe runs");
    assert_eq!(outcome, json!("failed"));
    assert_eq!(network.blocked(), vec![cdn.to_owned()]);
    // ...and without it, the request ends in the trap, not on the network.
    page.call("Fetch.disable", json!({}))
        .await
        .expect("interception turns off");
    let outcome = page
        .evaluate("fetch('https://graphiql-test.invalid/probe').then(() => 'loaded', () => 'failed')")
        .await
        .expect("the probe runs");
    assert_eq!(outcome, json!("failed"));
    assert_eq!(
        trap.attempts(),
        vec!["CONNECT graphiql-test.invalid:443 HTTP/1.1".to_owned()],
        "the browser's only way out is the trap"
    );

    drop(chromium);
    server.abort();
}
