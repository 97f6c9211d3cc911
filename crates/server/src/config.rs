//! Settings from flags and environment variables (clap): database, listen address, request
//! guards, authentication, CORS, and every loader-engine option under the engine's own names.
//!
//! Each setting is a flag and an environment variable of the same name (`--listen-addr` and
//! `LISTEN_ADDR`); the flag wins. Loader options default to [`LoaderConfig::default`], so
//! the engine states its defaults once.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand};
use loader_core::{LoaderConfig, limit::StrategyKind};

use crate::{graphql::LoaderMode, seed::SeedPlan};

/// The command line: global settings plus an optional subcommand (default: `serve`).
#[derive(Debug, Parser)]
#[command(
    name = "server",
    version,
    about = "GraphQL server whose relations resolve through an adaptive dataloader"
)]
pub struct Cli {
    /// Settings shared by every subcommand.
    #[command(flatten)]
    pub settings: Settings,
    /// What to do; `serve` when absent.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve GraphQL over HTTP (the default).
    Serve,
    /// Migrate the database and fill it with generated data (for benchmarks).
    Seed(SeedArgs),
    /// Write the schema's SDL (GraphQL schema definition language) to a file.
    ExportSchema {
        /// Where to write it; `-` for standard output.
        #[arg(long, default_value = "schema/schema.graphql")]
        out: PathBuf,
    },
    /// Print a bearer token for a user, signed with the server's secret (the development
    /// secret when no key is configured), for `Authorization: Bearer <token>`.
    Token(TokenArgs),
    /// Ask a running server's `GET /healthz` (at `LISTEN_ADDR`) and exit 0 when it answers
    /// 200 within 2 s; for container health checks, which have no curl.
    Healthcheck,
}

/// What `server token` mints.
#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// The user the token speaks for (its `sub` claim).
    #[arg(long, value_parser = clap::value_parser!(i64).range(1..))]
    pub user: i64,
    /// How long the token is valid: seconds, or a number with `s`, `m`, `h` or `d`.
    #[arg(long, default_value = "24h", value_parser = parse_ttl)]
    pub ttl: Duration,
    /// Sign with this PEM private key (for a server that verifies with
    /// `JWT_PUBLIC_KEY_FILE`); the algorithm is the server's.
    #[arg(long)]
    pub private_key_file: Option<PathBuf>,
}

/// `90`, `90s`, `15m`, `24h`, `7d`.
fn parse_ttl(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => text.split_at(at),
        None => (text, "s"),
    };
    let seconds: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "`{text}`: write a number with s, m, h or d (e.g. 24h)"
            ));
        }
    };
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}`: write a number with s, m, h or d (e.g. 24h)"))?;
    if number == 0 {
        return Err("a token must be valid for some time".into());
    }
    number
        .checked_mul(seconds)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("`{text}` is too long"))
}

/// Sizes of a generated data set (`seed` subcommand).
#[derive(Debug, Clone, Args)]
pub struct SeedArgs {
    /// Number of users.
    #[arg(long, default_value_t = 10_000)]
    pub users: u64,
    /// Number of posts.
    #[arg(long, default_value_t = 200_000)]
    pub posts: u64,
    /// Number of comments.
    #[arg(long, default_value_t = 1_000_000)]
    pub comments: u64,
    /// Number of tags.
    #[arg(long, default_value_t = 100)]
    pub tags: u64,
    /// Number of follow relations.
    #[arg(long, default_value_t = 100_000)]
    pub follows: u64,
    /// Random seed: the same seed and sizes give the same data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Seed even when the database already holds users (new rows get fresh ids).
    #[arg(long)]
    pub force: bool,
}

impl SeedArgs {
    /// The plan these sizes describe.
    pub fn plan(&self) -> SeedPlan {
        SeedPlan {
            users: self.users,
            posts: self.posts,
            comments: self.comments,
            tags: self.tags,
            follows: self.follows,
            seed: self.seed,
        }
    }
}

/// Everything the server reads from flags and the environment.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Database URL: `sqlite://path?mode=rwc` or `postgres://user:pass@host/db`. A SQLite
    /// file's directory is created when missing.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// Most open database connections in the pool.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 16)]
    pub database_max_connections: u32,
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:8000")]
    pub listen_addr: SocketAddr,
    /// Do not apply pending migrations at start.
    #[arg(long, env = "NO_MIGRATE")]
    pub no_migrate: bool,
    /// Do not create demo data when the database has no users.
    #[arg(long, env = "NO_DEMO_DATA")]
    pub no_demo_data: bool,
    /// Random seed of the demo data.
    #[arg(long, env = "DEMO_SEED", default_value_t = 42)]
    pub demo_seed: u64,
    /// Log format: `pretty` or `json`. Levels come from `RUST_LOG`.
    #[arg(long, env = "LOG_FORMAT", default_value = "pretty")]
    pub log_format: LogFormat,
    /// How relations are loaded: `adaptive` or `fixed:N` (the engine with that strategy),
    /// `engine` (the engine with `LOADER_SCALING_STRATEGY`), `async-graphql` (its built-in
    /// DataLoader, same batch functions) or `none` (one query per row). For comparisons.
    #[arg(long = "loader", env = "LOADER", default_value = "engine")]
    pub loader_mode: LoaderMode,
    /// Request guards.
    #[command(flatten)]
    pub limits: Limits,
    /// Bearer tokens: keys, algorithm, claims, whether reads need a token.
    #[command(flatten)]
    pub auth: crate::auth::AuthSettings,
    /// Which browser origins may call the API.
    #[command(flatten)]
    pub cors: crate::cors::CorsSettings,
    /// Loader engine options.
    #[command(flatten)]
    pub loader: LoaderSettings,
    /// Sharing what the loader learned with other replicas.
    #[command(flatten)]
    pub learned: crate::learned_store::SharingSettings,
}

/// The default database: a SQLite file under the working directory, created on first start.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/forum.sqlite?mode=rwc";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Guards for public exposure.
#[derive(Debug, Clone, Args)]
pub struct Limits {
    /// Deepest allowed selection nesting of a query.
    #[arg(long, env = "MAX_DEPTH", default_value_t = 12)]
    pub max_depth: usize,
    /// Highest allowed query complexity (each field counts 1, list fields multiply their
    /// selection by `first`).
    #[arg(long, env = "MAX_COMPLEXITY", default_value_t = 50_000)]
    pub max_complexity: usize,
    /// Largest accepted request body in bytes.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 256 * 1024)]
    pub max_body_bytes: usize,
    /// Largest `first` accepted by any list field.
    #[arg(long, env = "MAX_PAGE_SIZE", default_value_t = 100)]
    pub max_page_size: u32,
    /// Time a GraphQL request may take before it is answered with a timeout error (ms).
    /// Loads still queued at the deadline fail instead of running late.
    #[arg(long, env = "REQUEST_TIMEOUT_MS", default_value_t = 10_000)]
    pub request_timeout_ms: u64,
    /// Turn off schema introspection (`__schema`, `__type`).
    #[arg(long, env = "DISABLE_INTROSPECTION")]
    pub disable_introspection: bool,
    /// Do not serve the GraphiQL page on `GET /graphql`.
    #[arg(long, env = "DISABLE_GRAPHIQL")]
    pub disable_graphiql: bool,
    /// On SIGTERM/Ctrl-C, how long in-flight requests may still run before the process
    /// exits anyway (ms).
    #[arg(long, env = "SHUTDOWN_GRACE_MS", default_value_t = 30_000)]
    pub shutdown_grace_ms: u64,
}

impl Limits {
    /// The request timeout as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Settings::defaults().limits
    }
}

/// Loader engine options, named as in [`LoaderConfig`] with a `LOADER_` prefix.
#[derive(Debug, Clone, Args)]
pub struct LoaderSettings {
    /// Lower bound of the concurrency limit.
    #[arg(long, env = "LOADER_MIN_CONCURRENCY", default_value_t = LoaderConfig::default().min_concurrency)]
    pub loader_min_concurrency: usize,
    /// Concurrency limit used before anything is learned.
    #[arg(long, env = "LOADER_INITIAL_CONCURRENCY", default_value_t = LoaderConfig::default().initial_concurrency)]
    pub loader_initial_concurrency: usize,
    /// Upper bound of the concurrency limit.
    #[arg(long, env = "LOADER_MAX_CONCURRENCY", default_value_t = LoaderConfig::default().max_concurrency)]
    pub loader_max_concurrency: usize,
    /// Algorithm that moves the limit: adaptive, aimd, vegas, gradient2, fixed, fixed:N.
    #[arg(long, env = "LOADER_SCALING_STRATEGY", default_value_t = LoaderConfig::default().scaling_strategy)]
    pub loader_scaling_strategy: StrategyKind,
    /// Window over which throughput, error rate and percentiles are computed (ms).
    #[arg(long, env = "LOADER_METRICS_WINDOW_MS", default_value_t = millis(LoaderConfig::default().metrics_window))]
    pub loader_metrics_window_ms: u64,
    /// Longest time a batch stays open collecting keys (µs).
    #[arg(long, env = "LOADER_BATCH_DELAY_US", default_value_t = LoaderConfig::default().batch_delay.as_micros() as u64)]
    pub loader_batch_delay_us: u64,
    /// Most keys in one batch call.
    #[arg(long, env = "LOADER_MAX_BATCH_SIZE", default_value_t = LoaderConfig::default().max_batch_size)]
    pub loader_max_batch_size: usize,
    /// The adaptive batch size keeps one call's predicted time under this (ms).
    #[arg(long, env = "LOADER_TARGET_RESPONSE_TIME_MS", default_value_t = millis(LoaderConfig::default().target_response_time))]
    pub loader_target_response_time_ms: u64,
    /// Most standalone loads (outside a GraphQL request) waiting for a permit at once.
    #[arg(long, env = "LOADER_QUEUE_CAPACITY", default_value_t = LoaderConfig::default().queue_capacity)]
    pub loader_queue_capacity: usize,
    /// Most GraphQL requests in flight at once, whatever the door's law allows.
    #[arg(long, env = "LOADER_MAX_REQUESTS", default_value_t = LoaderConfig::default().max_requests)]
    pub loader_max_requests: usize,
    /// Most GraphQL requests waiting at the door at once; more are refused with OVERLOADED.
    #[arg(long, env = "LOADER_MAX_REQUESTS_WAITING", default_value_t = LoaderConfig::default().max_requests_waiting)]
    pub loader_max_requests_waiting: usize,
    /// A request that would wait longer than this at the door is refused with OVERLOADED (ms).
    #[arg(long, env = "LOADER_MAX_QUEUE_WAIT_MS", default_value_t = millis(LoaderConfig::default().max_queue_wait))]
    pub loader_max_queue_wait_ms: u64,
    /// A batch call running longer than this is cut (ms).
    #[arg(long, env = "LOADER_BATCH_TIMEOUT_MS", default_value_t = millis(LoaderConfig::default().batch_timeout))]
    pub loader_batch_timeout_ms: u64,
    /// On a failed batch, split it and retry the halves to find the keys that fail.
    #[arg(long, env = "LOADER_ISOLATE_ERRORS", default_value_t = LoaderConfig::default().isolate_errors, action = clap::ArgAction::Set)]
    pub loader_isolate_errors: bool,
}

fn millis(d: Duration) -> u64 {
    d.as_millis() as u64
}

impl LoaderSettings {
    /// The engine configuration these settings describe (not yet validated).
    pub fn to_config(&self) -> LoaderConfig {
        LoaderConfig {
            min_concurrency: self.loader_min_concurrency,
            initial_concurrency: self.loader_initial_concurrency,
            max_concurrency: self.loader_max_concurrency,
            scaling_strategy: self.loader_scaling_strategy,
            metrics_window: Duration::from_millis(self.loader_metrics_window_ms),
            batch_delay: Duration::from_micros(self.loader_batch_delay_us),
            max_batch_size: self.loader_max_batch_size,
            target_response_time: Duration::from_millis(self.loader_target_response_time_ms),
            queue_capacity: self.loader_queue_capacity,
            max_requests: self.loader_max_requests,
            max_requests_waiting: self.loader_max_requests_waiting,
            max_queue_wait: Duration::from_millis(self.loader_max_queue_wait_ms),
            batch_timeout: Duration::from_millis(self.loader_batch_timeout_ms),
            isolate_errors: self.loader_isolate_errors,
        }
    }
}

impl Settings {
    /// The settings with every default and no environment: what tests start from.
    pub fn defaults() -> Self {
        Cli::parse_from_defaults().settings
    }

    /// Defaults for a test or an embedded server: the given database, a free port on
    /// loopback, no demo data, and a random HS256 secret of this process (so no secret
    /// file is written; mint tokens with the state's
    /// [`Authenticator::mint`](crate::auth::Authenticator::mint)).
    pub fn for_database(database_url: impl Into<String>) -> Self {
        let mut settings = Self::defaults();
        settings.database_url = database_url.into();
        settings.listen_addr = SocketAddr::from(([127, 0, 0, 1], 0));
        settings.no_demo_data = true;
        settings.auth.jwt_secret = Some(crate::auth::Secret::random());
        settings
    }
}

impl Cli {
    /// Parses only the program name, ignoring the environment: every default.
    fn parse_from_defaults() -> Self {
        use clap::{CommandFactory, FromArgMatches};
        let mut command = Self::command();
        // Drop every `env = ...` binding so the process environment cannot leak in.
        let args: Vec<clap::Id> = command
            .get_arguments()
            .map(|a| a.get_id().clone())
            .collect();
        for id in args {
            command = command.mut_arg(id, |a| a.env(None::<&str>));
        }
        let matches = command
            .try_get_matches_from(["server"])
            .expect("the defaults parse");
        Self::from_arg_matches(&matches).expect("the defaults convert")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loader_defaults_equal_the_engine_defaults() {
        assert_eq!(
            Settings::defaults().loader.to_config(),
            LoaderConfig::default()
        );
    }

    #[test]
    fn default_database_is_a_sqlite_file_under_the_working_directory() {
        let settings = Settings::defaults();
        assert_eq!(settings.database_url, "sqlite://data/forum.sqlite?mode=rwc");
        assert_eq!(settings.listen_addr.to_string(), "127.0.0.1:8000");
    }

    #[test]
    fn loader_flags_use_the_engine_names() {
        let cli = Cli::try_parse_from([
            "server",
            "--loader-max-concurrency",
            "32",
            "--loader-scaling-strategy",
            "fixed:8",
            "--loader-isolate-errors",
            "true",
        ])
        .unwrap();
        let config = cli.settings.loader.to_config();
        assert_eq!(config.max_concurrency, 32);
        assert_eq!(config.scaling_strategy, StrategyKind::Fixed(Some(8)));
        assert!(config.isolate_errors);
    }

    #[test]
    fn loader_mode_switch_parses_every_mode() {
        for (arg, mode) in [
            ("adaptive", LoaderMode::EngineWith(StrategyKind::Adaptive)),
            (
                "fixed:16",
                LoaderMode::EngineWith(StrategyKind::Fixed(Some(16))),
            ),
            ("async-graphql", LoaderMode::AsyncGraphql),
            ("none", LoaderMode::PerRow),
        ] {
            let cli = Cli::try_parse_from(["server", "--loader", arg]).unwrap();
            assert_eq!(cli.settings.loader_mode, mode, "{arg}");
        }
        assert_eq!(Settings::defaults().loader_mode, LoaderMode::Engine);
    }

    #[test]
    fn unknown_strategy_is_rejected_with_the_valid_names() {
        let err = Cli::try_parse_from(["server", "--loader-scaling-strategy", "fastest"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("adaptive"), "{err}");
    }

    #[test]
    fn token_subcommand_takes_a_user_and_a_lifetime() {
        let cli = Cli::try_parse_from(["server", "token", "--user", "2", "--ttl", "15m"]).unwrap();
        match cli.command {
            Some(Command::Token(args)) => {
                assert_eq!(args.user, 2);
                assert_eq!(args.ttl, Duration::from_secs(900));
            }
            other => panic!("expected token, got {other:?}"),
        }
        assert!(Cli::try_parse_from(["server", "token", "--user", "0"]).is_err());
        assert!(Cli::try_parse_from(["server", "token"]).is_err());
    }

    #[test]
    fn token_lifetimes_parse() {
        assert_eq!(parse_ttl("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_ttl("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_ttl("7d"), Ok(Duration::from_secs(604_800)));
        assert!(parse_ttl("1w").is_err());
        assert!(parse_ttl("0s").is_err());
        assert!(parse_ttl("h").is_err());
    }

    #[test]
    fn auth_defaults_open_reads_and_no_configured_key() {
        let auth = Settings::defaults().auth;
        assert!(!auth.require_auth);
        assert!(!auth.has_configured_key());
        assert_eq!(auth.jwt_leeway_secs, 30);
        assert!(Settings::defaults().cors.cors_allowed_origins.is_empty());
    }

    #[test]
    fn auth_and_cors_flags_parse() {
        let cli = Cli::try_parse_from([
            "server",
            "--jwt-public-key-file",
            "k.pem",
            "--jwt-algorithm",
            "es256",
            "--require-auth",
            "--cors-allowed-origins",
            "https://a.org,http://localhost:5173",
        ])
        .unwrap();
        let s = cli.settings;
        assert_eq!(s.auth.jwt_algorithm, Some(crate::auth::JwtAlgorithm::Es256));
        assert!(s.auth.require_auth);
        assert_eq!(s.cors.cors_allowed_origins.len(), 2);
    }

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let cli = Cli::try_parse_from([
            "server",
            "--jwt-secret",
            "hunter2-hunter2-hunter2-hunter2-x",
        ])
        .unwrap();
        let debug = format!("{:?}", cli.settings);
        assert!(!debug.contains("hunter2"), "{debug}");
    }

    #[test]
    fn seed_subcommand_takes_sizes() {
        let cli = Cli::try_parse_from(["server", "seed", "--users", "5", "--posts", "7"]).unwrap();
        match cli.command {
            Some(Command::Seed(args)) => {
                assert_eq!(args.plan().users, 5);
                assert_eq!(args.plan().posts, 7);
            }
            other => panic!("expected seed, got {other:?}"),
        }
    }
}
