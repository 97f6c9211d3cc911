//! `server`: serve GraphQL (default), `seed` a database, mint a `token`, or `export-schema`.

use anyhow::Context as _;
use clap::Parser as _;
use sea_orm::{EntityTrait as _, PaginatorTrait as _};
use server::{
    Application,
    config::{Cli, Command},
    database, graphql, seed,
};

/// mimalloc instead of glibc's malloc: with glibc the server's resident memory kept climbing
/// for minutes under sustained load (fragmentation across worker threads); with mimalloc it
/// reaches its level and then stays in a band without a trend.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Keep the guard to the end of main: dropping it flushes the OTLP exporter.
    let _telemetry = observability::telemetry::init_with(
        observability::telemetry::TelemetryConfig::from_env("adaptive-graphql")?
            .default_log_filter(server::telemetry::DEFAULT_FILTER)
            .json_logs(matches!(
                cli.settings.log_format,
                server::config::LogFormat::Json
            )),
    )?;
    let settings = cli.settings;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(settings).await?;
            let addr = app.local_addr();
            let auth = &app.state().auth;
            tracing::info!(
                algorithm = ?auth.algorithm(),
                key = %auth.source(),
                development = auth.source().is_development(),
                require_auth = auth.requires_auth(),
                "authentication"
            );
            tracing::info!(%addr, loader = %app.state().settings.loader_mode, "listening");
            println!("{}", auth.announcement());
            println!("GraphiQL: http://{addr}/graphql");
            app.run_until_stopped().await
        }
        Command::Seed(args) => {
            let db = database::connect(&settings).await?;
            if !settings.no_migrate {
                database::migrate(&db).await?;
            }
            let existing = entity::user::Entity::find().count(&db).await?;
            if existing > 0 && !args.force {
                anyhow::bail!(
                    "the database already has {existing} users; pass --force to add more rows"
                );
            }
            seed::run(&db, args.plan(), true).await
        }
        Command::Token(args) => {
            let token = server::auth::token_command::mint(&settings, &args)?;
            println!("{token}");
            Ok(())
        }
        Command::Healthcheck => server::healthcheck::probe(settings.listen_addr).await,
        Command::ExportSchema { out } => {
            let sdl = graphql::sdl();
            if out.as_os_str() == "-" {
                print!("{sdl}");
            } else {
                if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)?;
                }
                std::fs::write(&out, sdl)
                    .with_context(|| format!("cannot write {}", out.display()))?;
                eprintln!("wrote {}", out.display());
            }
            Ok(())
        }
    }
}
