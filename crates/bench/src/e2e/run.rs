//! [`run`]: the whole `bench-e2e` sequence: PostgreSQL, seed, matrix, confirmation,
//! slowdown, soak, report.

use std::{path::Path, time::Duration};

use anyhow::{Context as _, bail};
use tokio::time::Instant;

use super::{
    BenchPostgres, ConfirmCell, Confirmation, DataSet, E2eArgs, E2eResults, MatrixCell, Mode,
    ServerLaunch, SlowdownRun, Soak, confirm, has_loader_switch, plot_slowdown, rss_kib,
};
use crate::load::{
    LoadConfig, LoadReport, Phase, QueryMix, ok_series, recovery_time, summarize_phases,
};

/// Runs everything the arguments ask for and writes `results.json`, `results.md` and
/// `slowdown.svg` under `--out`.
pub async fn run(args: E2eArgs, command: String) -> anyhow::Result<E2eResults> {
    if !args.server_bin.is_file() {
        bail!(
            "no server binary at {}; build it first with `cargo build --release -p server` \
             (or pass --server-bin)",
            args.server_bin.display()
        );
    }
    std::fs::create_dir_all(&args.out)?;
    let has_switch = has_loader_switch(&args.server_bin)?;
    if !has_switch {
        eprintln!(
            "!!! {} has no --loader switch: async-graphql and none modes are SKIPPED; \
             adaptive and fixed:N run through LOADER_SCALING_STRATEGY",
            args.server_bin.display()
        );
    }

    let mut results = E2eResults {
        command,
        ..E2eResults::default()
    };

    step("starting a throwaway PostgreSQL");
    let pg = BenchPostgres::start(&args.shared_buffers).await?;
    eprintln!("    port {}, database {}", pg.port(), pg.url());

    let sizes = args.sizes();
    step(&format!(
        "seeding {} users, {} posts, {} comments, {} tags, {} follows",
        sizes.users, sizes.posts, sizes.comments, sizes.tags, sizes.follows
    ));
    let seed_started = Instant::now();
    seed(&args, &pg.url()).await?;
    results.data_set = DataSet {
        users: sizes.users,
        posts: sizes.posts,
        comments: sizes.comments,
        tags: sizes.tags,
        follows: sizes.follows,
        seed_s: seed_started.elapsed().as_secs_f64(),
    };
    eprintln!("    seeded in {:.1} s", results.data_set.seed_s);
    pg.psql("bench", "VACUUM ANALYZE;").await?;
    // Every table and index into shared buffers, so that the first mode measured does not run
    // on a colder cache than the others.
    match pg
        .psql(
            "bench",
            "CREATE EXTENSION IF NOT EXISTS pg_prewarm; \
             SELECT sum(pg_prewarm(c.oid::regclass)) FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i');",
        )
        .await
    {
        Ok(out) => eprintln!(
            "    prewarmed {} blocks",
            out.lines().last().unwrap_or("?").trim()
        ),
        Err(e) => {
            eprintln!("    pg_prewarm unavailable ({e:#}); the first mode runs on a colder cache")
        }
    }
    // Seeding and VACUUM leave dirty buffers that a spread checkpoint would write out during
    // the first cells (checkpoint_completion_target: minutes of background writes).
    pg.psql("bench", "CHECKPOINT;").await?;

    let mix = QueryMix::builtin()
        .with_id_range("user", sizes.users)
        .with_id_range("post", sizes.posts);
    let launch = ServerLaunch {
        binary: args.server_bin.clone(),
        database_url: pg.url(),
        max_connections: args.db_connections,
        has_loader_switch: has_switch,
        log_dir: args.out.join("logs"),
        extra_env: args.server_env.clone(),
    };
    let runnable = |mode: Mode, skipped: &mut Vec<String>| {
        if mode.needs_loader_switch() && !has_switch {
            skipped.push(format!(
                "{mode}: the server has no --loader switch (LOADER=adaptive|fixed:N|async-graphql|none)"
            ));
            false
        } else {
            true
        }
    };

    // The matrix.
    for &mode in &args.modes {
        if !runnable(mode, &mut results.skipped) {
            continue;
        }
        step(&format!("mode {mode}"));
        let server = match launch.start(mode).await {
            Ok(server) => server,
            Err(e) => {
                eprintln!("!!! mode {mode} did not start: {e:#}");
                results
                    .skipped
                    .push(format!("{mode}: did not start: {e:#}"));
                continue;
            }
        };
        for &clients in &args.clients {
            let config = cell_config(&args, &server.graphql_url(), &mix, clients);
            // Count statements from the end of the warm-up.
            let reset = {
                let warmup = args.warmup;
                let pg = &pg;
                async move {
                    tokio::time::sleep(warmup).await;
                    pg.reset_statements().await
                }
            };
            let (report, reset) = tokio::join!(crate::load::run(config), reset);
            let report = report?;
            reset?;
            let counted = pg.statements().await?;
            let statements = counted.map(|(n, _)| n);
            let statements_exact = counted.is_none_or(|(_, exact)| exact);
            if !statements_exact {
                eprintln!(
                    "    pg_stat_statements evicted entries: the statement count is a lower bound"
                );
            }
            let statements_per_request = statements
                .filter(|_| report.answered > 0)
                .map(|s| s as f64 / report.answered as f64);
            let loader_stats = server.get_json("/loader/stats").await.ok();
            eprintln!(
                "    {clients:>4} clients: {:>8.1} req/s {:>8.1} ok/s  p50 {:>7.1} ms  p99 {:>7.1} ms  errors {}  overloaded {}  stmts/req {}",
                report.requests_per_s,
                report.ok_per_s,
                report.latency.p50_ms,
                report.latency.p99_ms,
                report.error_requests + report.transport_errors + report.timeouts,
                report.overloaded,
                statements_per_request.map_or_else(|| "n/a".into(), |s| format!("{s:.2}")),
            );
            results.matrix.push(MatrixCell {
                mode,
                clients,
                statements,
                statements_exact,
                statements_per_request,
                loader_stats,
                report,
            });
            save(&args.out, &results)?;
        }
        server.stop().await?;
    }
    results.best_fixed = results.pick_best_fixed();

    // The confirmation: the compared modes again, at the most clients, in alternating order.
    let most = args.clients.iter().copied().max();
    if let Some(clients) = most.filter(|_| args.confirm_rounds > 0) {
        let modes: Vec<Mode> = [
            Some(Mode::Adaptive),
            results.best_fixed,
            Some(Mode::AsyncGraphql),
        ]
        .into_iter()
        .flatten()
        .filter(|m| results.matrix.iter().any(|c| c.mode == *m))
        .collect();
        let mut confirmation = Confirmation {
            clients,
            cells: Vec::new(),
        };
        for round in 0..args.confirm_rounds {
            for mode in confirm::order(&modes, round) {
                step(&format!(
                    "confirmation round {}: {mode} at {clients} clients",
                    round + 1
                ));
                let server = launch.start(mode).await?;
                let config = cell_config(&args, &server.graphql_url(), &mix, clients);
                let report = crate::load::run(config).await?;
                server.stop().await?;
                eprintln!(
                    "    {:>8.1} ok/s  p99 {:>7.1} ms  ok p99 {:>7.1} ms  overloaded {}",
                    report.ok_per_s,
                    report.latency.p99_ms,
                    report.ok_latency.p99_ms,
                    report.overloaded
                );
                confirmation.cells.push(ConfirmCell {
                    mode,
                    round,
                    ok_per_s: report.ok_per_s,
                    p99_ms: report.latency.p99_ms,
                    ok_p99_ms: report.ok_latency.p99_ms,
                    overloaded: report.overloaded,
                });
                results.confirmation = Some(confirmation.clone());
                save(&args.out, &results)?;
            }
        }
    }

    // The database gets slower.
    if !args.no_slowdown {
        step(&format!(
            "pgbench -i -s {} (the competing workload's tables)",
            args.pgbench_scale
        ));
        pg.pgbench_init(args.pgbench_scale).await?;
        let modes = if args.slowdown_modes.is_empty() {
            let ran = |m: &Mode| results.matrix.iter().any(|c| c.mode == *m);
            [
                Some(Mode::Adaptive),
                results.best_fixed,
                Some(Mode::AsyncGraphql),
                Some(Mode::None),
            ]
            .into_iter()
            .flatten()
            .filter(ran)
            .collect()
        } else {
            args.slowdown_modes.clone()
        };
        for mode in modes {
            if !runnable(mode, &mut results.skipped) {
                continue;
            }
            step(&format!(
                "slowdown run, mode {mode}: {} clients, pgbench -c {} in the middle third",
                args.slowdown_clients, args.pgbench_clients
            ));
            let server = launch.start(mode).await?;
            let run = slowdown_run(&args, &pg, &server.graphql_url(), &mix, mode).await?;
            server.stop().await?;
            print_slowdown(&run);
            results.slowdown.push(run);
            save(&args.out, &results)?;
        }
        let svg = args.out.join("slowdown.svg");
        plot_slowdown(&svg, &results.slowdown)?;
        eprintln!("    wrote {}", svg.display());
    }

    // The memory soak.
    if let Some(duration) = args.soak {
        step(&format!(
            "soak: adaptive, {} clients, {:.0} s",
            args.soak_clients,
            duration.as_secs_f64()
        ));
        let server = launch.start(Mode::Adaptive).await?;
        let soak = soak_run(&args, &server, &mix, duration).await?;
        server.stop().await?;
        results.soak = Some(soak);
    }

    save(&args.out, &results)?;
    Ok(results)
}

/// The load of one matrix (or confirmation) cell: `clients` on `url`, with the arguments'
/// warm-up, duration, timeout and retry behaviour.
fn cell_config(args: &E2eArgs, url: &str, mix: &QueryMix, clients: usize) -> LoadConfig {
    let mut config = LoadConfig::new(url.to_string(), mix.clone());
    config.honor_retry_after = !args.ignore_retry_after;
    config.clients = clients;
    config.warmup = args.warmup;
    config.duration = args.duration;
    config.timeout = args.timeout;
    config.progress = true;
    config
}

fn step(what: &str) {
    eprintln!("==> {what}");
}

async fn seed(args: &E2eArgs, url: &str) -> anyhow::Result<()> {
    let sizes = args.sizes();
    let status = tokio::process::Command::new(&args.server_bin)
        .arg("seed")
        .args(["--users", &sizes.users.to_string()])
        .args(["--posts", &sizes.posts.to_string()])
        .args(["--comments", &sizes.comments.to_string()])
        .args(["--tags", &sizes.tags.to_string()])
        .args(["--follows", &sizes.follows.to_string()])
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .status()
        .await
        .context("cannot run `server seed`")?;
    if !status.success() {
        bail!("`server seed` failed: {status}");
    }
    Ok(())
}

async fn slowdown_run(
    args: &E2eArgs,
    pg: &BenchPostgres,
    url: &str,
    mix: &QueryMix,
    mode: Mode,
) -> anyhow::Result<SlowdownRun> {
    let third = args.slowdown_duration / 3;
    let mut config = LoadConfig::new(url, mix.clone());
    config.honor_retry_after = !args.ignore_retry_after;
    config.clients = args.slowdown_clients;
    config.warmup = args.warmup;
    config.duration = args.slowdown_duration;
    config.timeout = args.timeout;
    config.progress = true;
    let started = Instant::now();
    let competitor = async {
        tokio::time::sleep(args.warmup + third).await;
        let from = started.elapsed().as_secs_f64();
        let summary = pg.pgbench_run(args.pgbench_clients, third).await;
        let to = started.elapsed().as_secs_f64();
        (from, to, summary)
    };
    let (report, (from_s, to_s, summary)) = tokio::join!(crate::load::run(config), competitor);
    let report = report?;
    let summary = summary?;
    let end_s = (args.warmup + args.slowdown_duration).as_secs_f64();
    let warmup_s = args.warmup.as_secs_f64();
    let phases = summarize_phases(
        &report,
        &[
            Phase::new("before", warmup_s, from_s),
            Phase::new("during", from_s, to_s),
            Phase::new("after", to_s, end_s),
        ],
    );
    let recovery_s = recovery_time(&ok_series(&report), to_s, phases[0].ok_per_s, 0.9, 3);
    Ok(SlowdownRun {
        mode,
        clients: args.slowdown_clients,
        competitor_from_s: from_s,
        competitor_to_s: to_s,
        competitor: format!(
            "pgbench -c {} -j 2 -T {} (scale {}): {summary}",
            args.pgbench_clients,
            third.as_secs(),
            args.pgbench_scale
        ),
        phases,
        recovery_s,
        report,
    })
}

fn print_slowdown(run: &SlowdownRun) {
    for p in &run.phases {
        eprintln!(
            "    {:<6} {:>8.1} ok/s  p99 {:>8.1} ms  error rate {:>6.2}%  overloaded {}  timeouts {}",
            p.phase.name,
            p.ok_per_s,
            p.latency.p99_ms,
            p.error_rate * 100.0,
            p.overloaded,
            p.timeouts
        );
    }
    eprintln!(
        "    competitor {:.1}..{:.1} s: {}; recovery {}",
        run.competitor_from_s,
        run.competitor_to_s,
        run.competitor,
        run.recovery_s
            .map_or_else(|| "never".into(), |s| format!("{s:.0} s"))
    );
}

async fn soak_run(
    args: &E2eArgs,
    server: &super::ServerProcess,
    mix: &QueryMix,
    duration: Duration,
) -> anyhow::Result<Soak> {
    let warmup = Duration::from_secs(10);
    let rss_ready_kib = server.rss_kib();
    let mut config = LoadConfig::new(server.graphql_url(), mix.clone());
    config.honor_retry_after = !args.ignore_retry_after;
    config.clients = args.soak_clients;
    config.warmup = warmup;
    config.duration = duration;
    config.timeout = args.timeout;
    config.progress = true;
    let pid = server.pid();
    let started = Instant::now();
    let end = started + warmup + duration;
    let sampler = async move {
        let mut samples = Vec::new();
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        while Instant::now() < end {
            tick.tick().await;
            if let Some(kib) = rss_kib(pid) {
                samples.push((started.elapsed().as_secs_f64(), kib));
            }
        }
        samples
    };
    let (report, rss_samples) = tokio::join!(crate::load::run(config), sampler);
    let report: LoadReport = report?;
    let rss_start_kib = rss_samples
        .iter()
        .find(|(t, _)| *t >= warmup.as_secs_f64())
        .map(|(_, kib)| *kib);
    let rss_end_kib = server.rss_kib();
    Ok(Soak {
        mode: Mode::Adaptive,
        clients: args.soak_clients,
        duration_s: duration.as_secs_f64(),
        rss_ready_kib,
        rss_start_kib,
        rss_end_kib,
        rss_samples,
        report,
    })
}

/// Writes `results.json` and `results.md` (after every cell, so a cut-short run keeps
/// what it measured).
pub fn save(out: &Path, results: &E2eResults) -> anyhow::Result<()> {
    let json = out.join("results.json");
    std::fs::write(&json, serde_json::to_string_pretty(results)?)
        .with_context(|| format!("cannot write {}", json.display()))?;
    std::fs::write(out.join("results.md"), results.markdown())?;
    Ok(())
}
