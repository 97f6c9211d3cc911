//! [`run`]: the whole `bench-overhead` sequence: for each slot of the [`schedule`], a fresh
//! server in that mode on the chosen database, a warm-up and a measured load; then the
//! summaries and ratios, saved after every run.

use std::path::Path;

use anyhow::{Context as _, bail};
use server::seed::SeedPlan;

use super::{
    BackingStore, OverheadArgs, OverheadResults, RoundResult, TARGET_MIN_RATIO, cpu_time,
    overhead_mix, results::load_average, schedule, summarize,
};
use crate::{
    e2e::{Mode, ServerLaunch, has_loader_switch},
    load::{LoadConfig, QueryMix},
};

/// Runs every mode `--rounds` times, alternating, and writes `results.json` and
/// `results.md` under `--out` (after every run, so an interrupted run keeps its figures).
pub async fn run(args: OverheadArgs, command: String) -> anyhow::Result<OverheadResults> {
    if !args.server_bin.is_file() {
        bail!(
            "no server binary at {}; build it first with `cargo build --release -p server` \
             (or pass --server-bin)",
            args.server_bin.display()
        );
    }
    if args.rounds == 0 {
        bail!("--rounds must be at least 1");
    }
    let modes = args.all_modes();
    let has_switch = has_loader_switch(&args.server_bin)?;
    if let Some(mode) = modes
        .iter()
        .find(|m| m.needs_loader_switch() && !has_switch)
    {
        bail!(
            "{} has no --loader switch, so it cannot run mode {mode}; rebuild it",
            args.server_bin.display()
        );
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;

    let store = BackingStore::new(args.database, &args.tmpfs_dir);
    let demo = SeedPlan::demo(DEMO_SEED);
    let mut extra_env = vec![
        // The database starts empty (in memory: at every start); the demo data fills it.
        ("NO_DEMO_DATA".to_string(), "false".to_string()),
        ("DEMO_SEED".to_string(), DEMO_SEED.to_string()),
    ];
    extra_env.extend(args.server_env.iter().cloned());
    let launch = ServerLaunch {
        binary: args.server_bin.clone(),
        database_url: store.database_url(),
        max_connections: args.db_connections,
        has_loader_switch: has_switch,
        log_dir: args.out.join("logs"),
        extra_env,
    };
    let mix = overhead_mix(&args.mix, &demo)?;

    let mut results = OverheadResults {
        command,
        mix: args.mix.clone(),
        database: store.backing(),
        database_url: store.database_url(),
        clients: args.clients,
        rounds: args.rounds,
        warmup_s: args.warmup.as_secs_f64(),
        duration_s: args.duration.as_secs_f64(),
        baseline: args.baseline,
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        load_average_start: load_average(),
        runs: Vec::new(),
        modes: Vec::new(),
        ratios: Vec::new(),
        target_min_ratio: TARGET_MIN_RATIO,
        target_met: None,
    };

    for slot in schedule(&modes, args.rounds) {
        eprintln!(
            "==> round {}/{}: {} ({} clients, {:.1} s + {:.1} s)",
            slot.round,
            args.rounds,
            slot.mode,
            args.clients,
            args.warmup.as_secs_f64(),
            args.duration.as_secs_f64()
        );
        let round = run_one(&args, &launch, &mix, slot.round, slot.mode).await?;
        let r = &round.report;
        eprintln!(
            "    {:>9.1} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  server CPU {} ms/req  errors {}",
            r.requests_per_s,
            r.latency.p50_ms,
            r.latency.p99_ms,
            round
                .server_cpu_ms_per_request
                .map_or_else(|| "n/a".to_string(), |c| format!("{c:.3}")),
            round.errors()
        );
        results.runs.push(round);
        finish(&mut results, &modes);
        save(&args.out, &results)?;
    }
    drop(store);
    Ok(results)
}

/// The demo data's random seed (the server's default).
const DEMO_SEED: u64 = 42;

async fn run_one(
    args: &OverheadArgs,
    launch: &ServerLaunch,
    mix: &QueryMix,
    round: usize,
    mode: Mode,
) -> anyhow::Result<RoundResult> {
    let server = launch
        .start(mode)
        .await
        .with_context(|| format!("the server did not start in mode {mode}"))?;
    let mut config = LoadConfig::new(server.graphql_url(), mix.clone());
    config.clients = args.clients;
    config.warmup = args.warmup;
    config.duration = args.duration;
    config.timeout = args.timeout;
    config.seed = round as u64;
    config.progress = args.progress;
    let pid = server.pid();
    let warmup = args.warmup;
    let cpu_at_warmup_end = async move {
        tokio::time::sleep(warmup).await;
        cpu_time(pid)
    };
    let (report, cpu_start) = tokio::join!(crate::load::run(config), cpu_at_warmup_end);
    let cpu_end = cpu_time(pid);
    let load_average = load_average();
    let loader_stats = server.get_json("/loader/stats").await.ok();
    server.stop().await?;
    let report = report?;
    let server_cpu_s = cpu_start
        .zip(cpu_end)
        .map(|(start, end)| end.saturating_sub(start).as_secs_f64());
    Ok(RoundResult {
        round,
        mode,
        load_average,
        loader_stats,
        server_cpu_s,
        server_cpu_ms_per_request: server_cpu_s
            .filter(|_| report.answered > 0)
            .map(|s| s * 1000.0 / report.answered as f64),
        report,
    })
}

fn finish(results: &mut OverheadResults, modes: &[Mode]) {
    let (summaries, ratios) = summarize(&results.runs, modes, results.baseline);
    results.modes = summaries;
    results.ratios = ratios;
    results.target_met = results
        .target_ratio()
        .map(|r| r.of_medians >= results.target_min_ratio);
}

/// Writes `results.json` and `results.md` into `out`.
pub fn save(out: &Path, results: &OverheadResults) -> anyhow::Result<()> {
    let json = out.join("results.json");
    std::fs::write(&json, serde_json::to_string_pretty(results)?)
        .with_context(|| format!("cannot write {}", json.display()))?;
    std::fs::write(out.join("results.md"), results.markdown())?;
    Ok(())
}
