//! `bench-overhead` in its shortest form against the real `server` binary (built here with
//! `cargo build -p server` in the test's own profile): adaptive and async-graphql each
//! answer the mix on an in-memory SQLite database with the demo data, without errors, and
//! the JSON carries the ratio. Throughput itself is not asserted: that is the benchmark's
//! job, not a test's.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use bench::{
    e2e::Mode,
    overhead::{OverheadArgs, run},
};
use clap::Parser as _;

/// Builds the `server` binary next to this test's profile directory and returns its path;
/// `None` (the test is skipped) when there is no cargo to build it with.
fn server_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("BENCH_SERVER_BIN") {
        return Some(PathBuf::from(path));
    }
    // target/<profile>/deps/<this test> -> target/<profile>
    let exe = std::env::current_exe().ok()?;
    let profile_dir = exe.parent()?.parent()?.to_path_buf();
    let target_dir = profile_dir.parent()?;
    let cargo = std::env::var_os("CARGO")?;
    let mut build = Command::new(cargo);
    build
        .args(["build", "-q", "-p", "server", "--bin", "server"])
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if profile_dir.file_name() == Some("release".as_ref()) {
        build.arg("--release");
    }
    let status = build.status().ok()?;
    assert!(status.success(), "cargo build -p server failed: {status}");
    let binary = profile_dir.join(format!("server{}", std::env::consts::EXE_SUFFIX));
    binary.is_file().then_some(binary)
}

fn args(server: &Path, out: &Path) -> OverheadArgs {
    OverheadArgs::parse_from([
        "bench-overhead".as_ref(),
        "--rounds".as_ref(),
        "1".as_ref(),
        "--clients".as_ref(),
        "4".as_ref(),
        "--warmup".as_ref(),
        "300ms".as_ref(),
        "--duration".as_ref(),
        "1s".as_ref(),
        "--progress".as_ref(),
        "false".as_ref(),
        "--server-bin".as_ref(),
        server.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_modes_answer_without_errors_and_the_json_has_the_ratio() {
    let Some(server) = server_binary() else {
        eprintln!("skipped: no cargo to build the server binary with (set BENCH_SERVER_BIN)");
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let results = run(args(&server, out.path()), "test".into())
        .await
        .expect("bench-overhead runs");

    assert_eq!(results.runs.len(), 2, "one run per mode");
    for round in &results.runs {
        let r = &round.report;
        assert!(r.answered > 0, "{}: nothing answered\n{r}", round.mode);
        assert_eq!(round.errors(), 0, "{}: {r}", round.mode);
        assert_eq!(r.ok, r.answered, "{}: {r}", round.mode);
        let cpu = round
            .server_cpu_ms_per_request
            .expect("/proc/PID/stat is readable");
        assert!(cpu > 0.0, "{}: the server used no CPU?", round.mode);
    }

    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("results.json")).unwrap()).unwrap();
    let modes: Vec<&str> = json["modes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mode"].as_str().unwrap())
        .collect();
    assert_eq!(modes, ["adaptive", "async-graphql"]);
    let ratio = &json["ratios"][0];
    assert_eq!(ratio["mode"], "adaptive");
    assert_eq!(ratio["baseline"], "async-graphql");
    let of_medians = ratio["of_medians"].as_f64().expect("a numeric ratio");
    assert!(of_medians.is_finite() && of_medians > 0.0, "{ratio}");
    assert_eq!(ratio["per_round"].as_array().unwrap().len(), 1);
    assert!(ratio["cpu_per_request"].as_f64().is_some(), "{ratio}");
    assert!(json["target_met"].is_boolean(), "{json:#}");
    assert_eq!(results.target_ratio().map(|r| r.mode), Some(Mode::Adaptive));
    let markdown = std::fs::read_to_string(out.path().join("results.md")).unwrap();
    assert!(markdown.contains("| adaptive |"), "{markdown}");
}
