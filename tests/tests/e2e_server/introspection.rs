//! What GraphQL tools see: the exact introspection queries of graphql-js 16
//! (`getIntrospectionQuery()`, vendored in `tests/fixtures/introspection/`), which GraphiQL,
//! Apollo's tools, GraphQL Code Generator, Postman and Insomnia send, answered by the real
//! server on its default limits.
//!
//! - Every type, field, argument, input field and enum value of `schema/schema.graphql` is in
//!   every answer, with the same type (checked in Rust).
//! - graphql-js builds a valid schema from every answer (`buildClientSchema`), and that
//!   schema printed equals `schema/schema.graphql` printed (`tests/js/`; needs Node.js and
//!   `npm ci --prefix tests/js`, else a loud skip that fails when `CI` is set).
//! - A deep query over the data types is still refused, and `--disable-introspection` still
//!   turns introspection off.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
};

use async_graphql::parser::{
    parse_schema,
    types::{TypeKind, TypeSystemDefinition},
};
use serde_json::{Value, json};
use server::seed::SeedPlan;

use crate::app::{Backend, spawn_app, spawn_app_with};

/// The vendored queries: `getIntrospectionQuery()` with and without its options.
const QUERIES: [(&str, &str); 4] = [
    (
        "default",
        include_str!("../../fixtures/introspection/default.graphql"),
    ),
    (
        "input-value-deprecation",
        include_str!("../../fixtures/introspection/input-value-deprecation.graphql"),
    ),
    (
        "schema-description",
        include_str!("../../fixtures/introspection/schema-description.graphql"),
    ),
    (
        "all-options",
        include_str!("../../fixtures/introspection/all-options.graphql"),
    ),
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn schema_file() -> PathBuf {
    repo().join("schema/schema.graphql")
}

/// Sends every vendored query as GraphiQL does (with its operation name); returns the
/// answers' bodies, each checked to have data and no errors.
async fn introspection_answers(test: &str) -> Vec<(&'static str, Value)> {
    let app = spawn_app(Backend::Sqlite, SeedPlan::small(1), test)
        .await
        .expect("SQLite is always there");
    let mut answers = Vec::new();
    for (name, query) in QUERIES {
        let response = app
            .client
            .post(format!("http://{}/graphql", app.addr))
            .header("accept", "application/graphql-response+json")
            .json(&json!({ "query": query, "operationName": "IntrospectionQuery" }))
            .send()
            .await
            .expect("the server answers");
        let status = response.status();
        let body: Value = response.json().await.expect("a JSON body");
        assert_eq!(status, 200, "{name}: {body}");
        assert!(body.get("errors").is_none(), "{name}: {body}");
        assert!(body["data"]["__schema"]["types"].is_array(), "{name}");
        answers.push((name, body));
    }
    app.stop().await;
    answers
}

/// `[Post!]!` from an introspection type reference.
fn type_ref(value: &Value) -> String {
    match value["kind"].as_str() {
        Some("NON_NULL") => format!("{}!", type_ref(&value["ofType"])),
        Some("LIST") => format!("[{}]", type_ref(&value["ofType"])),
        _ => value["name"].as_str().unwrap_or("?").to_string(),
    }
}

/// What one type declares, by member name: fields with their types (and argument
/// types), input fields, enum values.
type Members = BTreeMap<String, String>;

/// The committed schema's types: name -> (kind, members).
fn committed_types() -> BTreeMap<String, (&'static str, Members)> {
    let sdl = std::fs::read_to_string(schema_file()).expect("schema/schema.graphql exists");
    let document = parse_schema(&sdl).expect("schema/schema.graphql parses");
    let mut types = BTreeMap::new();
    for definition in document.definitions {
        let TypeSystemDefinition::Type(ty) = definition else {
            continue;
        };
        let ty = ty.node;
        let mut members = Members::new();
        let kind = match ty.kind {
            TypeKind::Scalar => "SCALAR",
            TypeKind::Object(object) => {
                for field in object.fields {
                    let field = field.node;
                    let args: Vec<String> = field
                        .arguments
                        .iter()
                        .map(|a| format!("{}: {}", a.node.name.node, a.node.ty.node))
                        .collect();
                    members.insert(
                        field.name.node.to_string(),
                        format!("({}) {}", args.join(", "), field.ty.node),
                    );
                }
                "OBJECT"
            }
            TypeKind::InputObject(input) => {
                for field in input.fields {
                    members.insert(
                        field.node.name.node.to_string(),
                        field.node.ty.node.to_string(),
                    );
                }
                "INPUT_OBJECT"
            }
            TypeKind::Enum(values) => {
                for value in values.values {
                    members.insert(value.node.value.node.to_string(), String::new());
                }
                "ENUM"
            }
            TypeKind::Interface(_) => "INTERFACE",
            TypeKind::Union(_) => "UNION",
        };
        types.insert(ty.name.node.to_string(), (kind, members));
    }
    types
}

/// The same view of an introspection answer.
fn introspected_types(answer: &Value) -> BTreeMap<String, (String, Members)> {
    let mut types = BTreeMap::new();
    for ty in answer["data"]["__schema"]["types"].as_array().unwrap() {
        let name = ty["name"].as_str().unwrap().to_string();
        let mut members = Members::new();
        for field in ty["fields"].as_array().into_iter().flatten() {
            let args: Vec<String> = field["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| format!("{}: {}", a["name"].as_str().unwrap(), type_ref(&a["type"])))
                .collect();
            members.insert(
                field["name"].as_str().unwrap().to_string(),
                format!("({}) {}", args.join(", "), type_ref(&field["type"])),
            );
        }
        for field in ty["inputFields"].as_array().into_iter().flatten() {
            members.insert(
                field["name"].as_str().unwrap().to_string(),
                type_ref(&field["type"]),
            );
        }
        for value in ty["enumValues"].as_array().into_iter().flatten() {
            members.insert(value["name"].as_str().unwrap().to_string(), String::new());
        }
        types.insert(name, (ty["kind"].as_str().unwrap().to_string(), members));
    }
    types
}

#[tokio::test]
async fn every_standard_introspection_query_answers_every_type_and_field_of_the_schema_file() {
    let committed = committed_types();
    assert!(committed.contains_key("Query") && committed.contains_key("Mutation"));
    for (name, answer) in introspection_answers(module_path!()).await {
        let introspected = introspected_types(&answer);
        for (ty, (kind, members)) in &committed {
            let Some((seen_kind, seen)) = introspected.get(ty) else {
                panic!("{name}: type {ty} is missing from the introspection answer");
            };
            assert_eq!(seen_kind, kind, "{name}: kind of {ty}");
            assert_eq!(seen, members, "{name}: members of {ty}");
        }
        let schema = &answer["data"]["__schema"];
        assert_eq!(schema["queryType"]["name"], "Query", "{name}");
        // The schema has no description (asked for by the `schemaDescription` variants).
        assert!(
            schema["description"].is_null(),
            "{name}: {}",
            schema["description"]
        );
        assert_eq!(schema["mutationType"]["name"], "Mutation", "{name}");
    }
}

/// `node`, when Node.js and the pinned graphql-js (`tests/js/node_modules`) are installed.
fn node_with_graphql_js() -> Option<PathBuf> {
    let installed = repo()
        .join("tests/js/node_modules/graphql/package.json")
        .exists();
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    (installed && node).then(|| PathBuf::from("node"))
}

#[tokio::test]
async fn graphql_js_builds_the_schema_file_from_every_standard_introspection_answer() {
    let test = module_path!();
    let Some(node) = node_with_graphql_js() else {
        test_support::skip_missing(
            "Node.js with graphql-js",
            test,
            "needs `node` on PATH and `npm ci --prefix tests/js` (graphql@16.11.0)",
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, answer) in introspection_answers(test).await {
        let file = dir.path().join(format!("{name}.json"));
        std::fs::write(&file, answer.to_string()).unwrap();
        files.push(file);
    }
    let output = Command::new(node)
        .arg(repo().join("tests/js/schema-from-introspection.mjs"))
        .arg(schema_file())
        .args(&files)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "graphql-js could not rebuild schema/schema.graphql from introspection:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout.lines().count(), QUERIES.len(), "{stdout}");
}

#[tokio::test]
async fn a_deep_query_over_the_data_types_is_still_refused() {
    let app = spawn_app(Backend::Sqlite, SeedPlan::small(1), module_path!())
        .await
        .unwrap();
    // 13 fields deep over the data (the default limit is 12), and one 12 deep that passes.
    let deep = |levels: usize| {
        format!(
            "{{ user(id: \"1\") {{ {} id {} }} }}",
            "followers(first: 1) { ".repeat(levels - 2),
            "}".repeat(levels - 2)
        )
    };
    let (status, body) = app.post(&deep(13), Value::Null).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["message"], "Query is nested too deep.");
    assert_eq!(
        body["errors"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
    let (status, body) = app.post(&deep(12), Value::Null).await;
    assert_eq!(status, 200, "{body}");

    // Introspection nested past what the standard query needs is refused too.
    let (status, body) = app
        .post(
            "{ __schema { types { fields { type { ofType { fields { args { name } } } } } } } }",
            Value::Null,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    app.stop().await;
}

#[tokio::test]
async fn disable_introspection_still_turns_it_off() {
    let app = spawn_app_with(Backend::Sqlite, SeedPlan::small(1), module_path!(), |s| {
        s.limits.disable_introspection = true;
    })
    .await
    .unwrap();
    let (_, body) = app.post(QUERIES[0].1, Value::Null).await;
    assert!(body["data"]["__schema"].is_null(), "{body}");
    app.stop().await;
}
