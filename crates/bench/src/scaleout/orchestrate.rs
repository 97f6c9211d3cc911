//! [`run`]: the whole scale-out experiment, step by step.

use std::time::Duration;

use anyhow::Context as _;
use server::{config::Settings, database, learned_store::LearnedStore, seed};
use test_support::PgCluster;

use super::{
    Replica, ReplicaOptions, SCOPE, ScaleoutArgs, ScaleoutReport, Sharing, best_fixed,
    join_replica, run_replicas,
};
use crate::{cpu_cap::CpuCap, load::QueryMix};

/// Starts (or uses) PostgreSQL, seeds it, runs the replicas adaptive, the fixed sweep,
/// adaptive again (replicas saving learned state, kept up), then a cold and a warm replica
/// joining them; prints progress on stderr.
pub async fn run(args: &ScaleoutArgs) -> anyhow::Result<ScaleoutReport> {
    anyhow::ensure!(args.replicas >= 1, "--replicas must be at least 1");
    let cluster = match &args.database_url {
        Some(_) => None,
        None => Some(
            tokio::task::spawn_blocking(PgCluster::start)
                .await?
                .context(
                    "cannot start a throwaway PostgreSQL (is the `postgresql` package installed?)",
                )?,
        ),
    };
    let url = match (&args.database_url, &cluster) {
        (Some(url), _) => url.clone(),
        (None, Some(cluster)) => cluster.create_database("scaleout")?,
        (None, None) => unreachable!("a cluster is started when no URL is given"),
    };
    let plan = seed::SeedPlan {
        users: args.users,
        posts: args.users * 10,
        comments: args.users * 30,
        tags: 50,
        follows: args.users * 5,
        seed: 42,
    };
    {
        let db = database::connect(&Settings::for_database(&url)).await?;
        database::migrate(&db).await?;
        eprintln!("seeding {} rows ...", plan.rows());
        seed::run(&db, plan, false).await?;
        LearnedStore::new(db, SCOPE).clear().await?;
    }
    let cap = match (args.db_cpu, &cluster) {
        (None, _) => None,
        (Some(_), None) => {
            anyhow::bail!("--db-cpu caps the throwaway cluster; not with --database-url")
        }
        (Some(cores), Some(cluster)) => {
            let cap = CpuCap::apply(
                &format!("scaleout-pg-{}", cluster.port()),
                cluster.postmaster_pid()?,
                cores,
            )?;
            eprintln!("PostgreSQL capped at {cores} CPU");
            Some(cap)
        }
    };
    let mix = QueryMix::builtin()
        .with_id_range("user", plan.users)
        .with_id_range("post", plan.posts);

    let mut adaptive_options = ReplicaOptions::new("adaptive", args.max_concurrency);
    adaptive_options.sharing = Sharing::Save;
    adaptive_options.initial_concurrency = args.initial_concurrency;
    adaptive_options.fleet_sync = (!args.fleet_sync.is_zero()).then_some(args.fleet_sync);
    // Adaptive before and after the sweep: the machine's load drifts, the pair shows by how much.
    let first = adaptive_run(&url, args, &adaptive_options, &mix, "adaptive (first)").await?;
    let mut fixed = Vec::new();
    if !args.no_sweep {
        for &total in &args.fixed_totals {
            let each = (total / args.replicas).max(1);
            let options =
                ReplicaOptions::new(format!("fixed:{each}"), args.max_concurrency.max(each));
            let replicas = start_all(&url, args.replicas, &options, "f").await?;
            eprintln!("fixed total {total} ({each} x {}) ...", args.replicas);
            let result = run_replicas(
                format!(
                    "fixed {} ({each} x {})",
                    each * args.replicas,
                    args.replicas
                ),
                Some(each * args.replicas),
                &replicas,
                &mix,
                args.clients,
                args.warmup,
                args.duration,
            )
            .await?;
            eprintln!("  {:.1} ok/s, p99 {:.1} ms", result.ok_per_s, result.p99_ms);
            fixed.push(result);
            stop_all(replicas).await;
        }
    }

    let replicas = start_all(&url, args.replicas, &adaptive_options, "a").await?;
    eprintln!(
        "adaptive again, {} replicas sharing learned state ...",
        args.replicas
    );
    let adaptive = run_replicas(
        "adaptive (after sweep)",
        None,
        &replicas,
        &mix,
        args.clients,
        args.warmup,
        args.duration,
    )
    .await?;
    eprintln!(
        "  {:.1} ok/s, p99 {:.1} ms, limits {:?}",
        adaptive.ok_per_s,
        adaptive.p99_ms,
        adaptive
            .replicas
            .iter()
            .map(|r| r.converged_limit)
            .collect::<Vec<_>>()
    );
    // Let the savers write the converged state.
    tokio::time::sleep(Duration::from_millis(1_500)).await;

    let mut target: Vec<usize> = adaptive
        .replicas
        .iter()
        .filter_map(|r| r.converged_limit)
        .collect();
    target.sort_unstable();
    let target = target.get(target.len() / 2).copied().unwrap_or(1);
    let per_replica = (args.clients / (args.replicas + 1)).max(1);
    let mut joins = Vec::new();
    for (label, sharing) in [("cold", Sharing::Off), ("warm", Sharing::RestoreAndSave)] {
        let mut options = adaptive_options.clone();
        options.sharing = sharing;
        if sharing == Sharing::Off {
            // Cold: nothing shared, neither learned state nor live limits.
            options.fleet_sync = None;
        }
        eprintln!("a replica joins {label} ...");
        let join = join_replica(
            label,
            &url,
            &options,
            &replicas,
            &mix,
            per_replica,
            args.join_duration,
            target,
        )
        .await?;
        joins.push(join);
    }
    stop_all(replicas).await;

    // The same adaptive replicas, each judging by its own goodput only.
    let alone_options = ReplicaOptions {
        fleet_sync: None,
        ..adaptive_options.clone()
    };
    let without_fleet_sync =
        adaptive_run(&url, args, &alone_options, &mix, "adaptive (no fleet sync)").await?;

    let db_throttled_s = cap.as_ref().and_then(CpuCap::throttled_s);
    drop(cap);
    Ok(ScaleoutReport {
        db_cpu: args.db_cpu,
        db_throttled_s,
        replicas: args.replicas,
        clients: args.clients,
        duration_s: args.duration.as_secs_f64(),
        data_set: (plan.users, plan.posts, plan.comments),
        best_fixed_total: best_fixed(&fixed).and_then(|r| r.fixed_total),
        adaptive_first: first,
        adaptive,
        without_fleet_sync: Some(without_fleet_sync),
        fleet_sync_s: (!args.fleet_sync.is_zero()).then_some(args.fleet_sync.as_secs_f64()),
        fixed,
        joins,
    })
}

async fn adaptive_run(
    url: &str,
    args: &ScaleoutArgs,
    options: &ReplicaOptions,
    mix: &QueryMix,
    label: &str,
) -> anyhow::Result<super::RunResult> {
    let replicas = start_all(url, args.replicas, options, "a").await?;
    eprintln!("{label}, {} replicas ...", args.replicas);
    let result = run_replicas(
        label,
        None,
        &replicas,
        mix,
        args.clients,
        args.warmup,
        args.duration,
    )
    .await?;
    eprintln!("  {:.1} ok/s, p99 {:.1} ms", result.ok_per_s, result.p99_ms);
    stop_all(replicas).await;
    Ok(result)
}

async fn start_all(
    url: &str,
    n: usize,
    options: &ReplicaOptions,
    prefix: &str,
) -> anyhow::Result<Vec<Replica>> {
    let mut replicas = Vec::with_capacity(n);
    for i in 0..n {
        replicas.push(Replica::start(format!("{prefix}{i}"), url, options).await?);
    }
    Ok(replicas)
}

async fn stop_all(replicas: Vec<Replica>) {
    for replica in replicas {
        replica.stop().await;
    }
}
