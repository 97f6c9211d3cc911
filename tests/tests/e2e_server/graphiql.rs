//! GraphiQL in a real headless Chromium with no network beyond loopback, as a new user meets
//! it: the real server (`spawn_app`: SQLite with the demo data a first start makes) serves
//! `/graphql`; the page loads its scripts and styles from the server, the documentation
//! explorer lists `Query` and its fields, the README's nested query (the editor opens with
//! it) run with the run button shows the server's answer in the result pane, and a shorter
//! query pasted over it runs with Ctrl-Enter. The screenshot is saved to
//! `target/test-artifacts/graphiql.png` (its path is printed).
//!
//! No network: Chromium's only proxy is a trap on loopback (any connection to another host,
//! the browser's own background traffic included, ends there), no host name but `localhost`
//! resolves, and every request of the page is intercepted before it is sent: only loopback
//! URLs go on, and the test checks that every one was the server's. Every wait polls the
//! page through the DevTools protocol up to a deadline.
//!
//! Needs Debian's `chromium` (`apt-get install -y chromium`; `.ci/run` installs it). Without
//! it the test skips through `test_support::skip_missing` (a loud banner; a failure when `CI`
//! is set).

use std::{io::Write as _, time::Duration};

use serde_json::{Value, json};
use server::seed::SeedPlan;
use test_support::{DevTools, Launch, LoopbackOnly, Page, ProxyTrap};

use crate::app::{Backend, TestApp, spawn_app};

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

/// A shorter first-N query, pasted into the editor and run with Ctrl-Enter.
const PASTED_QUERY: &str = "{ users(first: 3) { name posts(first: 2) { title tags { name } } } }";

/// `query` without `#` comments and with its whitespace collapsed, to compare queries as
/// GraphQL reads them.
fn normalized(query: &str) -> String {
    query
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default())
        .flat_map(str::split_whitespace)
        .collect::<Vec<_>>()
        .join(" ")
}

/// What the server answers `query` with over HTTP, as `(text, JSON)`.
async fn answer(app: &TestApp, query: &str) -> (String, Value) {
    let text = app
        .client
        .post(format!("http://{}/graphql", app.addr))
        .json(&json!({ "query": query }))
        .send()
        .await
        .expect("the server answers")
        .text()
        .await
        .expect("a body");
    let value = serde_json::from_str(&text).expect("a JSON answer");
    (text, value)
}

/// Waits until the result pane shows the JSON of `expected` (the server's answer, as text),
/// and returns the pane's text; panics with what the pane shows after [`STEP`]. Objects
/// compare without their keys' order: the server does not always list a nested object's
/// fields in the query's order.
async fn result_pane_shows(page: &Page, what: &str, expected: &str) -> String {
    let pane = editor_text(".result-window");
    let same = format!(
        "(() => {{ \
           const canon = v => Array.isArray(v) ? v.map(canon) : v && typeof v === 'object' \
             ? Object.fromEntries(Object.keys(v).sort().map(k => [k, canon(v[k])])) : v; \
           const same = (a, b) => JSON.stringify(canon(JSON.parse(a))) === JSON.stringify(canon(JSON.parse(b))); \
           const t = {pane}; try {{ return t && same(t, {}) ? t : null; }} catch (_) {{ return null; }} }})()",
        json!(expected)
    );
    match page.wait_for(what, &same, STEP).await {
        Ok(text) => text.as_str().unwrap_or_default().to_owned(),
        Err(err) => {
            let shown = page.evaluate(&pane).await;
            panic!("{err}\nthe result pane shows: {shown:?}\nexpected: {expected}");
        }
    }
}

/// The hosts of the trap's request lines (`CONNECT host:443 HTTP/1.1`,
/// `GET http://host/path HTTP/1.1`), each once.
fn hosts(request_lines: &[String]) -> Vec<String> {
    let mut hosts: Vec<String> = request_lines
        .iter()
        .filter_map(|line| line.split_whitespace().nth(1))
        .map(|target| {
            let authority = target.strip_prefix("http://").unwrap_or(target);
            let authority = authority.split('/').next().unwrap_or(authority);
            authority
                .rsplit_once(':')
                .map_or(authority, |(host, _)| host)
                .to_owned()
        })
        .collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

/// Collects what the page reports as going wrong: uncaught exceptions, `console.error`
/// calls and browser log errors (a failed script or style load, for one).
struct PageProblems {
    receivers: Vec<tokio::sync::mpsc::UnboundedReceiver<test_support::Event>>,
}

impl PageProblems {
    fn watch(page: &Page) -> Self {
        let receivers = [
            "Runtime.exceptionThrown",
            "Runtime.consoleAPICalled",
            "Log.entryAdded",
        ]
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
                    "Runtime.consoleAPICalled" if p["type"] == "error" => {
                        Some(p["args"].to_string())
                    }
                    "Log.entryAdded" if p["entry"]["level"] == "error" => {
                        Some(p["entry"].to_string())
                    }
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

    // The real server on SQLite with the demo data a first start makes (seed 42).
    let app = spawn_app(Backend::Sqlite, SeedPlan::demo(42), module_path!())
        .await
        .expect("SQLite is always there");
    let graphiql_url = format!("http://{}/graphql", app.addr);

    // What the server answers the README's query with, straight over HTTP.
    let (expected_text, expected) = answer(&app, README_QUERY).await;
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
        .wait_for(
            "the query editor",
            &editor_text(".graphiql-query-editor"),
            STEP,
        )
        .await
        .expect("GraphiQL renders its query editor");
    let query = query.as_str().expect("editor text");
    assert_eq!(
        normalized(query),
        README_QUERY,
        "the editor opens with the README's query"
    );
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    assert!(
        readme.contains(README_QUERY),
        "the README shows {README_QUERY}"
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
    let result = result_pane_shows(&page, "the README query's result", &expected_text).await;
    let shown: Value = serde_json::from_str(&result).expect("the result pane holds JSON");
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
    assert!(
        png.len() > 30_000,
        "a screenshot of GraphiQL is not {} bytes",
        png.len()
    );
    let path = test_support::artifacts_dir().join("graphiql.png");
    std::fs::write(&path, &png).expect("the screenshot is written");
    test_support::announce_artifact("GraphiQL screenshot", &path);

    // A query pasted over the editor's text and run from the keyboard, as people do.
    let (pasted_text, pasted) = answer(&app, PASTED_QUERY).await;
    assert_ne!(pasted, expected, "the pasted query answers something else");
    page.click("document.querySelector('.graphiql-query-editor .CodeMirror-code')")
        .await
        .expect("the query editor takes the focus");
    page.press("Control+A").await.expect("select all");
    page.insert_text(PASTED_QUERY).await.expect("paste");
    let query = page
        .evaluate(&editor_text(".graphiql-query-editor"))
        .await
        .expect("the query editor's text");
    assert_eq!(
        query,
        json!(PASTED_QUERY),
        "the editor holds the pasted query"
    );
    page.press("Control+Enter").await.expect("Ctrl-Enter");
    let result = result_pane_shows(&page, "the pasted query's result", &pasted_text).await;
    let shown: Value = serde_json::from_str(&result).expect("the result pane holds JSON");
    assert_eq!(shown, pasted, "Ctrl-Enter runs the pasted query");

    // Everything the page loaded came from the server; nothing else was attempted.
    assert_eq!(
        problems.drain(),
        Vec::<String>::new(),
        "the page reports no errors"
    );
    let requests = network.requests();
    let server_origin = format!("http://{}/", app.addr);
    let elsewhere: Vec<_> = requests
        .iter()
        .filter(|r| !r.url.starts_with(&server_origin) && !r.url.starts_with("data:"))
        .collect();
    assert!(
        elsewhere.is_empty(),
        "every request of the page goes to the server: {elsewhere:?}"
    );
    let fetched = |method: &str, url: &str| {
        requests
            .iter()
            .any(|r| r.method == method && r.url == url && !r.blocked)
    };
    assert!(fetched("GET", &graphiql_url), "the page: {requests:#?}");
    for asset in ASSETS {
        let url = format!("{graphiql_url}/assets/{asset}");
        assert!(
            fetched("GET", &url),
            "{asset} from the server: {requests:#?}"
        );
    }
    let posts = requests
        .iter()
        .filter(|r| r.method == "POST" && r.url == graphiql_url)
        .count();
    assert!(
        posts >= 3,
        "introspection and both queries were POSTed to the server: {requests:#?}"
    );
    // Chromium's own background services (update checks, network time, sign-in) connect
    // whatever the flags say; they end in the trap, as anything else would. Said, not failed.
    let background = trap.attempts();
    let _ = writeln!(
        std::io::stderr(),
        "Chromium's own connections caught by the proxy trap: {} to {:?}",
        background.len(),
        hosts(&background)
    );

    // Both barriers hold: the page's own interception blocks a CDN script...
    let cdn = "https://unpkg.com/graphiql@3.8.3/graphiql.min.js";
    let outcome = page
        .evaluate(&format!(
            "fetch({}).then(() => 'loaded', () => 'failed')",
            json!(cdn)
        ))
        .await
        .expect("the probe runs");
    assert_eq!(outcome, json!("failed"));
    assert_eq!(network.blocked(), vec![cdn.to_owned()]);
    // ...and without it, the request ends in the trap, not on the network.
    page.call("Fetch.disable", json!({}))
        .await
        .expect("interception turns off");
    let outcome = page
        .evaluate(
            "fetch('https://graphiql-test.invalid/probe').then(() => 'loaded', () => 'failed')",
        )
        .await
        .expect("the probe runs");
    assert_eq!(outcome, json!("failed"));
    let probe = "CONNECT graphiql-test.invalid:443 HTTP/1.1";
    // The trap records a connection before closing it, so before the fetch fails.
    let attempts = trap.attempts();
    assert!(
        attempts[background.len()..].contains(&probe.to_owned()),
        "the browser's only way out is the trap: {attempts:?}"
    );

    drop(chromium);
    app.stop().await;
}
