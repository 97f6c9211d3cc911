//! [`run`]: the whole `bench-e2e` sequence: tools, PostgreSQL, seed, the peer's rows
//! checked, matrix, picks, confirmation rounds, autocannon, slowdown, soak, report.

use std::{path::Path, time::Duration};

use anyhow::{Context as _, bail};
use tokio::time::Instant;

use super::{
    BenchPostgres, ConfirmCell, Contender, DataSet, E2eArgs, E2eResults, Figures, MatrixCell, Mode,
    OutsideRun, Picks, Plan, PostGraphileLaunch, ServerLaunch, ServerProcess, SlowdownRun, Soak,
    Workload, autocannon, cell::measure, confirm, equivalence, final_table, has_loader_switch,
    node_tools::NodeTools, plan::human, plot_slowdown, rss_kib,
};
use crate::load::{
    LoadConfig, LoadReport, Phase, QueryMix, ok_series, recovery_time, summarize_phases,
};

/// The servers a run can start.
struct Servers {
    ours: ServerLaunch,
    postgraphile: Option<PostGraphileLaunch>,
}

impl Servers {
    async fn start(&self, contender: Contender) -> anyhow::Result<ServerProcess> {
        match contender {
            Contender::Ours { mode, pool } => self.ours.start_pooled(mode, pool).await,
            Contender::PostGraphile { pool } => {
                self.postgraphile
                    .as_ref()
                    .context("PostGraphile is not installed")?
                    .start(pool)
                    .await
            }
        }
    }
}

/// The mix of `workload` in the schema of `contender`.
fn mix_for(workload: Workload, contender: Contender, args: &E2eArgs) -> QueryMix {
    match contender {
        Contender::Ours { .. } => workload.mix(&args.sizes()),
        Contender::PostGraphile { .. } => workload.postgraphile_mix(&args.sizes()),
    }
}

/// Runs everything the arguments ask for and writes `results.json`, `results.md` and the
/// slowdown plots under `--out`.
pub async fn run(args: E2eArgs, command: String) -> anyhow::Result<E2eResults> {
    let started = Instant::now();
    if !args.server_bin.is_file() {
        bail!(
            "no server binary at {}; build it first with `cargo build --release -p server` \
             (or pass --server-bin)",
            args.server_bin.display()
        );
    }
    std::fs::create_dir_all(&args.out)?;
    let has_switch = has_loader_switch(&args.server_bin)?;
    let mut results = E2eResults {
        command,
        commit: git_describe(),
        machine: machine(),
        ..E2eResults::default()
    };
    if !has_switch {
        let line = format!(
            "async-graphql and none: {} has no --loader switch; adaptive and fixed:N run through LOADER_SCALING_STRATEGY",
            args.server_bin.display()
        );
        eprintln!("!!! SKIPPED {line}");
        results.skipped.push(line);
    }

    // Node.js tools: PostGraphile (the peer) and autocannon (the outside load generator).
    let wants_autocannon =
        args.outside == super::Outside::Autocannon && args.mixes.contains(&Workload::Heavy);
    let mut packages: Vec<(&str, &str)> = Vec::new();
    if args.wants_postgraphile() {
        packages.push((super::postgraphile::PACKAGE, &args.postgraphile_version));
    }
    if wants_autocannon {
        packages.push((autocannon::PACKAGE, &args.autocannon_version));
    }
    let tools = if packages.is_empty() {
        None
    } else if super::node_tools::node_version().is_none() {
        for (name, _) in &packages {
            let line = format!(
                "{name}: Node.js is not installed (no `node` on the PATH); install Node.js and npm to compare with it"
            );
            eprintln!("!!! SKIPPED {line}");
            results.skipped.push(line);
        }
        None
    } else {
        step("installing the Node.js tools (npm, pinned versions)");
        let tools = NodeTools::install(&args.node_dir(), &packages)
            .await
            .context(
                "pass --peers none --outside none to run without PostGraphile and autocannon",
            )?;
        eprintln!("    node {} in {}", tools.node_version, tools.dir.display());
        Some(tools)
    };

    let plan = Plan::new(&args, tools.is_some() && args.wants_postgraphile());
    let plan = Plan {
        outside: plan.outside && tools.is_some(),
        ..plan
    };
    let estimate = plan.estimate(&args);
    eprintln!(
        "==> plan: {} mixes x {} servers, {} matrix cells of {:.0}+{:.0} s; {} confirmation rounds at {:?} clients; autocannon {}; slowdown {}",
        plan.mixes.len(),
        plan.contenders.len(),
        plan.cells().len(),
        args.warmup.as_secs_f64(),
        args.duration.as_secs_f64(),
        plan.confirm_rounds,
        plan.final_clients,
        if plan.outside { "yes" } else { "no" },
        if plan.slowdown { "yes" } else { "no" },
    );
    eprintln!(
        "==> estimated wall time {} (setup {}, matrix {}, confirmation {}, autocannon {}, slowdown {})",
        human(estimate.total_s()),
        human(estimate.setup_s),
        human(estimate.matrix_s),
        human(estimate.confirm_s),
        human(estimate.outside_s),
        human(estimate.slowdown_s)
    );
    results.plan = Some(plan.clone());
    results.estimate = Some(estimate);

    step("starting a throwaway PostgreSQL");
    let pg = BenchPostgres::start(&args.shared_buffers).await?;
    eprintln!("    port {}, database {}", pg.port(), pg.url());
    prepare_data(&args, &pg, &mut results).await?;

    let servers = Servers {
        ours: ServerLaunch {
            binary: args.server_bin.clone(),
            database_url: pg.url(),
            max_connections: args.db_connections,
            has_loader_switch: has_switch,
            log_dir: args.out.join("logs"),
            extra_env: args.server_env.clone(),
        },
        postgraphile: tools
            .as_ref()
            .filter(|_| args.wants_postgraphile())
            .map(|t| {
                PostGraphileLaunch::new(
                    t,
                    &args.postgraphile_version,
                    pg.url(),
                    args.out.join("logs"),
                )
            }),
    };
    let runnable = |c: Contender| {
        c.mode()
            .is_none_or(|m| !m.needs_loader_switch() || has_switch)
    };

    // PostGraphile answers the same rows, or nothing is timed.
    if let Some(peer) = &servers.postgraphile {
        step(&format!(
            "checking that PostGraphile {} answers the same rows as this server",
            peer.version
        ));
        let ours = servers.ours.start(Mode::Adaptive).await?;
        let theirs = peer.start(args.db_connections).await?;
        for &workload in &plan.mixes {
            let checks = equivalence::check(
                workload,
                &workload.mix(&args.sizes()),
                &workload.postgraphile_mix(&args.sizes()),
                &ours.graphql_url(),
                &theirs.graphql_url(),
            )
            .await?;
            eprintln!(
                "    {workload}: {} answers compared, same rows",
                checks.len() * 2
            );
            results.equivalence.extend(checks);
        }
        ours.stop().await?;
        theirs.stop().await?;
    }

    // The matrix.
    for &workload in &plan.mixes {
        for &contender in &plan.contenders {
            if !runnable(contender) {
                continue;
            }
            step(&format!("{workload} mix: {contender}"));
            let server = match servers.start(contender).await {
                Ok(server) => server,
                Err(e) => {
                    eprintln!("!!! {contender} did not start: {e:#}");
                    results.skipped.push(format!(
                        "{contender} ({workload} mix): did not start: {e:#}"
                    ));
                    continue;
                }
            };
            let mix = mix_for(workload, contender, &args);
            for cell in plan.cells_of(workload, contender) {
                let config = load_config(
                    &args,
                    &server.graphql_url(),
                    &mix,
                    cell.clients,
                    cell.honor_retry_after,
                );
                let (report, cost) = measure(&pg, &server, config, true).await?;
                let loader_stats = match contender {
                    Contender::Ours { .. } => server.get_json("/loader/stats").await.ok(),
                    Contender::PostGraphile { .. } => None,
                };
                let matrix_cell = MatrixCell {
                    workload,
                    contender,
                    clients: cell.clients,
                    honor_retry_after: cell.honor_retry_after,
                    cost,
                    loader_stats,
                    report,
                };
                print_cell(&matrix_cell);
                results.matrix.push(matrix_cell);
                save(&args.out, &results)?;
            }
            server.stop().await?;
        }
    }
    results.picks = plan
        .mixes
        .iter()
        .map(|&w| Picks::choose(&results.matrix, w, &args.final_clients, args.db_connections))
        .collect();
    for picks in &results.picks {
        eprint!("{}", picks.markdown());
    }
    results.conclude(&args.final_clients);
    save(&args.out, &results)?;

    // The confirmation: the final tables' servers again, in alternating order.
    results.confirmation.rounds = args.confirm_rounds;
    for round in 0..args.confirm_rounds {
        for &workload in &plan.mixes {
            let Some(picks) = results
                .picks
                .iter()
                .find(|p| p.workload == workload)
                .cloned()
            else {
                continue;
            };
            let final_servers = final_table::distinct(&final_table::final_servers(
                &picks,
                final_table::engine_of(&results.matrix, workload),
                final_table::postgraphile_of(&results.matrix, workload),
            ));
            for contender in confirm::order(&final_servers, round) {
                step(&format!(
                    "confirmation round {}/{}: {workload} mix, {contender}",
                    round + 1,
                    args.confirm_rounds
                ));
                let server = match servers.start(contender).await {
                    Ok(server) => server,
                    Err(e) => {
                        eprintln!("!!! {contender} did not start: {e:#}");
                        results.skipped.push(format!(
                            "{contender} ({workload} mix), confirmation round {}: did not start: {e:#}",
                            round + 1
                        ));
                        continue;
                    }
                };
                let mix = mix_for(workload, contender, &args);
                for &clients in &args.final_clients {
                    let config = load_config(&args, &server.graphql_url(), &mix, clients, true);
                    let (report, cost) = measure(&pg, &server, config, false).await?;
                    let figures = Figures::of(&report, &cost);
                    eprintln!("    {clients:>4} clients: {}", figures.cells());
                    results.confirmation.cells.push(ConfirmCell {
                        workload,
                        contender,
                        clients,
                        round,
                        figures,
                    });
                }
                server.stop().await?;
                results.conclude(&args.final_clients);
                save(&args.out, &results)?;
            }
        }
    }
    results.conclude(&args.final_clients);
    save(&args.out, &results)?;

    // autocannon on the heavy mix's final servers.
    if let (true, Some(tools)) = (plan.outside, tools.as_ref()) {
        let workload = Workload::Heavy;
        if let Some(picks) = results
            .picks
            .iter()
            .find(|p| p.workload == workload)
            .cloned()
        {
            let final_servers = final_table::distinct(&final_table::final_servers(
                &picks,
                final_table::engine_of(&results.matrix, workload),
                final_table::postgraphile_of(&results.matrix, workload),
            ));
            for contender in final_servers {
                step(&format!(
                    "autocannon: heavy query, {} connections, {contender}",
                    args.outside_clients
                ));
                let run = outside_run(&args, &pg, &servers, tools, contender).await;
                if let Some(a) = &run.autocannon {
                    eprintln!("    autocannon: {}", a.figures().cells());
                }
                if let Some(e) = &run.error {
                    eprintln!("!!! autocannon failed on {contender}: {e}");
                }
                if let Some(f) = &run.loadgen {
                    eprintln!("    loadgen:    {}", f.cells());
                }
                results.outside.push(run);
                save(&args.out, &results)?;
            }
        }
    }

    // The database gets slower.
    if plan.slowdown {
        step(&format!(
            "pgbench -i -s {} (the competing workload's tables)",
            args.pgbench_scale
        ));
        pg.pgbench_init(args.pgbench_scale).await?;
        for &workload in &plan.mixes {
            let contenders = slowdown_contenders(&args, &results, workload);
            let mut runs = Vec::new();
            for contender in contenders {
                if !runnable(contender) {
                    continue;
                }
                step(&format!(
                    "slowdown run, {workload} mix, {contender}: {} clients, pgbench -c {} in the middle third",
                    args.slowdown_clients, args.pgbench_clients
                ));
                let server = match servers.start(contender).await {
                    Ok(server) => server,
                    Err(e) => {
                        eprintln!("!!! {contender} did not start: {e:#}");
                        results.skipped.push(format!(
                            "{contender} ({workload} mix), slowdown run: did not start: {e:#}"
                        ));
                        continue;
                    }
                };
                let mix = mix_for(workload, contender, &args);
                let run =
                    slowdown_run(&args, &pg, &server.graphql_url(), &mix, workload, contender)
                        .await?;
                server.stop().await?;
                print_slowdown(&run);
                runs.push(run.clone());
                results.slowdown.push(run);
                save(&args.out, &results)?;
            }
            let svg = args.out.join(format!("slowdown-{workload}.svg"));
            plot_slowdown(&svg, &runs)?;
            eprintln!("    wrote {}", svg.display());
        }
    }

    // The memory soak.
    if let (Some(duration), Some(&workload)) = (args.soak, plan.mixes.first()) {
        step(&format!(
            "soak: adaptive, {workload} mix, {} clients, {:.0} s",
            args.soak_clients,
            duration.as_secs_f64()
        ));
        let server = servers.ours.start(Mode::Adaptive).await?;
        let soak = soak_run(&args, &server, &workload.mix(&args.sizes()), duration).await?;
        server.stop().await?;
        results.soak = Some(soak);
    }

    results.elapsed_s = started.elapsed().as_secs_f64();
    save(&args.out, &results)?;
    eprintln!(
        "==> done in {} (estimated {})",
        human(results.elapsed_s),
        human(estimate.total_s())
    );
    Ok(results)
}

/// Seeds the data set, then `VACUUM ANALYZE`, prewarm and a checkpoint.
async fn prepare_data(
    args: &E2eArgs,
    pg: &BenchPostgres,
    results: &mut E2eResults,
) -> anyhow::Result<()> {
    let sizes = args.sizes();
    step(&format!(
        "seeding {} users, {} posts, {} comments, {} tags, {} follows",
        sizes.users, sizes.posts, sizes.comments, sizes.tags, sizes.follows
    ));
    let seed_started = Instant::now();
    seed(args, &pg.url()).await?;
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
    // Every table and index into shared buffers, so that the first server measured does not
    // run on a colder cache than the others.
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
            eprintln!("    pg_prewarm unavailable ({e:#}); the first server runs on a colder cache")
        }
    }
    // Seeding and VACUUM leave dirty buffers that a spread checkpoint would write out during
    // the first cells (checkpoint_completion_target: minutes of background writes).
    pg.psql("bench", "CHECKPOINT;").await?;
    Ok(())
}

/// The load of one cell: `clients` on `url`, with the arguments' warm-up, duration and
/// timeout; `honor_retry_after`: the clients wait the server's hint after a refusal.
fn load_config(
    args: &E2eArgs,
    url: &str,
    mix: &QueryMix,
    clients: usize,
    honor_retry_after: bool,
) -> LoadConfig {
    let mut config = LoadConfig::new(url.to_string(), mix.clone());
    config.honor_retry_after = honor_retry_after && !args.ignore_retry_after;
    config.clients = clients;
    config.warmup = args.warmup;
    config.duration = args.duration;
    config.timeout = args.timeout;
    config.progress = true;
    config
}

fn print_cell(cell: &MatrixCell) {
    let f = cell.figures();
    eprintln!(
        "    {:>4} clients{}: {:>7.1} complete/s  partial/s {:.1}  refused/s {:.1}  other/s {:.1}  p50 {:.1} ms  p99 {:.1} ms  CPU ms/req server {}  PG {}  stmts/req {}",
        cell.clients,
        if cell.honor_retry_after {
            ""
        } else {
            " (ignoring Retry-After)"
        },
        f.complete_per_s,
        f.partial_per_s,
        f.refused_per_s,
        f.other_errors_per_s,
        f.p50_ms,
        f.p99_ms,
        f.server_cpu_ms
            .map_or_else(|| "n/a".into(), |v| format!("{v:.2}")),
        f.pg_cpu_ms
            .map_or_else(|| "n/a".into(), |v| format!("{v:.2}")),
        cell.cost
            .statements_per_request
            .map_or_else(|| "n/a".into(), |s| format!("{s:.2}")),
    );
}

fn step(what: &str) {
    eprintln!("==> {what}");
}

/// `git describe --always --dirty` of the current directory, if it is a repository.
fn git_describe() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["describe", "--always", "--dirty"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `N logical CPUs, load average a b c at the start`.
fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "n/a".into());
    format!("{cpus} logical CPUs, load average {load} at the start")
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

/// autocannon, then the project's load generator, on a fresh `contender`. What fails is
/// in the run's `error`: the other servers are still checked.
async fn outside_run(
    args: &E2eArgs,
    pg: &BenchPostgres,
    servers: &Servers,
    tools: &NodeTools,
    contender: Contender,
) -> OutsideRun {
    let mut run = OutsideRun {
        contender,
        clients: args.outside_clients,
        command: String::new(),
        autocannon: None,
        error: None,
        loadgen: None,
    };
    let server = match servers.start(contender).await {
        Ok(server) => server,
        Err(e) => {
            run.error = Some(format!("did not start: {e:#}"));
            return run;
        }
    };
    let workload = Workload::Heavy;
    let mix = mix_for(workload, contender, args);
    let body = mix.body(
        0,
        &mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(1),
    );
    let url = server.graphql_url();
    let ran = match autocannon::expected_body(&url, &body).await {
        Ok(expected) => {
            autocannon::run(
                tools,
                &args.out.join("autocannon"),
                &contender.slug(),
                &url,
                &body,
                &expected,
                args.outside_clients,
                args.warmup,
                args.duration,
                args.timeout,
            )
            .await
        }
        Err(e) => Err(e),
    };
    match ran {
        Ok((summary, command)) => {
            run.autocannon = Some(summary);
            run.command = command;
        }
        Err(e) => run.error = Some(format!("{e:#}")),
    }
    let config = load_config(args, &url, &mix, args.outside_clients, false);
    match measure(pg, &server, config, false).await {
        Ok((report, cost)) => run.loadgen = Some(Figures::of(&report, &cost)),
        Err(e) => {
            let loadgen = format!("loadgen: {e:#}");
            run.error = Some(
                run.error
                    .map_or(loadgen.clone(), |a| format!("{a}; {loadgen}")),
            );
        }
    }
    if let Err(e) = server.stop().await {
        eprintln!("!!! {contender} did not stop cleanly: {e:#}");
    }
    run
}

/// The slowdown run's servers: `--slowdown-modes`, else adaptive, the mix's best fixed
/// limit, async-graphql on its default pool and none (those that ran in the matrix).
fn slowdown_contenders(args: &E2eArgs, results: &E2eResults, workload: Workload) -> Vec<Contender> {
    let pool = args.db_connections;
    if !args.slowdown_modes.is_empty() {
        return args
            .slowdown_modes
            .iter()
            .map(|&m| Contender::ours(m, pool))
            .collect();
    }
    let best_fixed = results
        .picks
        .iter()
        .find(|p| p.workload == workload)
        .and_then(|p| p.best_fixed);
    [
        Some(Contender::ours(Mode::Adaptive, pool)),
        best_fixed,
        Some(Contender::ours(Mode::AsyncGraphql, pool)),
        Some(Contender::ours(Mode::None, pool)),
    ]
    .into_iter()
    .flatten()
    .filter(|c| {
        results
            .matrix
            .iter()
            .any(|m| m.workload == workload && m.contender == *c)
    })
    .collect()
}

async fn slowdown_run(
    args: &E2eArgs,
    pg: &BenchPostgres,
    url: &str,
    mix: &QueryMix,
    workload: Workload,
    contender: Contender,
) -> anyhow::Result<SlowdownRun> {
    let third = args.slowdown_duration / 3;
    let mut config = load_config(args, url, mix, args.slowdown_clients, true);
    config.duration = args.slowdown_duration;
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
        workload,
        contender,
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
            "    {:<6} {:>8.1} complete/s  partial/s {:.1}  refused/s {:.1}  p99 {:>8.1} ms  error rate {:>6.2}%  timeouts {}",
            p.phase.name,
            p.ok_per_s,
            p.partial_per_s,
            p.refused_per_s,
            p.ok_latency.p99_ms,
            p.error_rate * 100.0,
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
    server: &ServerProcess,
    mix: &QueryMix,
    duration: Duration,
) -> anyhow::Result<Soak> {
    let warmup = Duration::from_secs(10);
    let rss_ready_kib = server.rss_kib();
    let mut config = load_config(args, &server.graphql_url(), mix, args.soak_clients, true);
    config.warmup = warmup;
    config.duration = duration;
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
