//! Docker does not run on the build machines, so the images are never built here. What can be
//! checked without an engine is checked: the compose file parses and wires the services the
//! README describes, loadgen's arguments parse and draw ids that the demo data holds, and the
//! Dockerfile builds packages and binaries that exist.

use std::{collections::BTreeSet, path::PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace root")
        .to_path_buf()
}

fn compose() -> Yaml {
    let text = std::fs::read_to_string(root().join("docker/compose.yaml")).unwrap();
    let mut docs = YamlLoader::load_from_str(&text).expect("docker/compose.yaml is valid YAML");
    assert_eq!(docs.len(), 1, "one YAML document");
    docs.remove(0)
}

fn env_of<'a>(service: &'a Yaml, key: &str) -> Option<&'a str> {
    service["environment"][key].as_str()
}

#[test]
fn compose_has_postgres_jaeger_server_and_loadgen() {
    let doc = compose();
    let services: BTreeSet<&str> = doc["services"]
        .as_hash()
        .expect("services is a map")
        .keys()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(
        services,
        BTreeSet::from(["jaeger", "loadgen", "postgres", "server"])
    );
}

#[test]
fn server_is_wired_to_postgres_and_jaeger_over_otlp() {
    let doc = compose();
    let server = &doc["services"]["server"];
    let db = env_of(server, "DATABASE_URL").expect("DATABASE_URL");
    assert!(
        db.starts_with("postgres://") && db.contains("@postgres:5432/"),
        "{db}"
    );
    let otlp = env_of(server, "OTEL_EXPORTER_OTLP_ENDPOINT").expect("OTLP endpoint");
    assert_eq!(otlp, "http://jaeger:4317");
    assert_eq!(env_of(server, "OTEL_EXPORTER_OTLP_PROTOCOL"), Some("grpc"));
    assert_eq!(
        server["depends_on"]["postgres"]["condition"].as_str(),
        Some("service_healthy")
    );
    // Jaeger v2 (OTLP always on), the major version tests/tests/jaeger.rs runs for real.
    let jaeger = &doc["services"]["jaeger"];
    let image = jaeger["image"].as_str().expect("jaeger image");
    assert!(image.starts_with("jaegertracing/jaeger:2."), "{image}");
    let ports: Vec<&str> = jaeger["ports"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert!(
        ["16686:16686", "4317:4317", "4318:4318"]
            .iter()
            .all(|p| ports.contains(p)),
        "{ports:?}"
    );
    // The load generator targets the server's GraphQL endpoint.
    let args: Vec<&str> = doc["services"]["loadgen"]["command"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert!(args.contains(&"http://server:8000/graphql"), "{args:?}");
}

#[test]
fn loadgen_draws_ids_the_demo_data_holds() {
    use bench::load::{LoadgenArgs, QueryMix};
    use clap::Parser;

    let doc = compose();
    let loadgen = &doc["services"]["loadgen"];
    assert_eq!(
        loadgen["entrypoint"][0].as_str(),
        Some("/usr/local/bin/loadgen")
    );
    let command: Vec<&str> = loadgen["command"]
        .as_vec()
        .expect("loadgen has a command list")
        .iter()
        .map(|a| a.as_str().expect("every argument is a string"))
        .collect();
    // The arguments are loadgen's own: they parse with its command line.
    let args = LoadgenArgs::try_parse_from(std::iter::once("loadgen").chain(command.clone()))
        .unwrap_or_else(|e| panic!("loadgen refuses {command:?}: {e}"));
    // The ids come from the server, or stay within the demo data the server seeds.
    let demo = server::seed::SeedPlan::demo(42);
    if !args.asks_server() {
        let mix = QueryMix::load(&args.query_mix).expect("the mix loads");
        let users = args.users.or(mix.id_ranges.get("user").copied());
        let posts = args.posts.or(mix.id_ranges.get("post").copied());
        assert!(
            users.is_some_and(|u| u <= demo.users) && posts.is_some_and(|p| p <= demo.posts),
            "loadgen draws ids beyond the demo data ({} users, {} posts): {command:?}",
            demo.users,
            demo.posts
        );
    }
    assert_eq!(args.url, "http://server:8000/graphql");
}

#[test]
fn dockerfile_builds_workspace_packages_and_copies_what_it_built() {
    let dockerfile = std::fs::read_to_string(root().join("docker/Dockerfile")).unwrap();
    let build = dockerfile
        .lines()
        .find(|l| l.trim_start().starts_with("RUN cargo build"))
        .expect("a cargo build step");
    let words: Vec<&str> = build.split_whitespace().collect();
    let values = |flag: &str| -> Vec<&str> {
        words
            .windows(2)
            .filter(|w| w[0] == flag)
            .map(|w| w[1])
            .collect()
    };
    assert!(words.contains(&"--release") && words.contains(&"--locked"));
    for package in values("-p") {
        let manifest = ["crates", "."]
            .iter()
            .map(|dir| root().join(dir).join(package).join("Cargo.toml"))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("package `{package}` is not in the workspace"));
        let text = std::fs::read_to_string(manifest).unwrap();
        assert!(text.contains(&format!("name = \"{package}\"")));
    }
    let bins = values("--bin");
    for bin in &bins {
        let found = ["crates/server", "crates/bench"].iter().any(|dir| {
            let d = root().join(dir);
            d.join(format!("src/bin/{bin}.rs")).exists()
                || std::fs::read_to_string(d.join("Cargo.toml"))
                    .is_ok_and(|t| t.contains(&format!("name = \"{bin}\"")))
        });
        assert!(found, "binary `{bin}` is not defined in the workspace");
    }
    for line in dockerfile.lines().filter(|l| l.contains("target/release/")) {
        let copied = line
            .split("target/release/")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap();
        assert!(
            bins.contains(&copied),
            "copies `{copied}`, which is not built"
        );
    }
    // The health check calls a subcommand the server has.
    assert!(dockerfile.contains("\"healthcheck\""));
    let config = std::fs::read_to_string(root().join("crates/server/src/config.rs")).unwrap();
    assert!(config.contains("Healthcheck"));
}
