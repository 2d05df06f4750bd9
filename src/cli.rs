//! The command line (SPEC §6): `run`, `check`, `token-id`, `har`, `demo`.

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::{self, Config, Diagnostic, Loaded};
use crate::token::{self, Keyer};

pub const DEFAULT_CONFIG: &str = "config/idlegate.toml";

#[derive(Parser, Debug)]
#[command(
    name = "idlegate",
    version,
    about = "Reverse-proxy sidecar that enforces an inactivity timeout on access tokens"
)]
pub struct Cli {
    /// Log format: human on a terminal by default, json otherwise.
    #[arg(long, global = true, value_enum)]
    pub log_format: Option<LogFormat>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve: proxy listener + admin listener. SIGHUP or a change of the file reloads;
    /// SIGTERM/Ctrl-C drains in-flight requests and exits 0.
    Run {
        #[arg(long, short, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Validate the config; print the effective policy; exit 1 on errors.
    Check {
        #[arg(long, short, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
    },
    /// Print the token id (32 hex digits) of a token; `-` reads it from standard input.
    TokenId {
        #[arg(long, short, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// The token, or `-` for standard input.
        token: String,
    },
    /// Analyse a HAR recording: which APIs keep idle tokens alive, what would be revoked.
    Har {
        /// The .har file.
        file: PathBuf,
        #[arg(long, short, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// Override timeout.idle (e.g. 15m).
        #[arg(long, value_parser = humantime::parse_duration)]
        idle: Option<std::time::Duration>,
        /// Print the JSON document instead of the table.
        #[arg(long)]
        json: bool,
        /// Also switch on this default group (repeatable).
        #[arg(long = "enable", value_name = "GROUP")]
        enable: Vec<String>,
        /// Also exclude this pattern, e.g. "GET /api/v2/x" (repeatable).
        #[arg(long = "custom", value_name = "PATTERN")]
        custom: Vec<String>,
    },
    /// Start a sample upstream and the gateway in front of it with a short timeout.
    Demo,
}

/// Prints diagnostics to stderr in `FILE:LINE:COLUMN: error: key: message` form.
pub fn print_diagnostics(diags: &[Diagnostic]) {
    for d in diags {
        eprintln!("{d}");
    }
}

/// Loads a config; on errors prints them all and returns None.
pub fn load_config(path: &Path) -> Option<Loaded> {
    match config::load(path) {
        Ok(loaded) => {
            print_diagnostics(&loaded.warnings);
            Some(loaded)
        }
        Err(diags) => {
            print_diagnostics(&diags);
            None
        }
    }
}

/// `check`: 0 when valid (policy on stdout), 1 with every error on stderr.
pub fn check(path: &Path) -> i32 {
    match load_config(path) {
        Some(loaded) => {
            print!("{}", loaded.config.effective_policy());
            0
        }
        None => 1,
    }
}

/// Where the generated hash key lives when the env variable is unset: the snapshot's folder,
/// else the config file's folder (SPEC §10 hash key).
pub fn key_dir(config: &Config) -> PathBuf {
    let folder = |p: &Path| p.parent().map(Path::to_path_buf).unwrap_or_default();
    match (&config.state.snapshot, &config.path) {
        (Some(snapshot), _) => folder(snapshot),
        (None, Some(path)) => folder(path),
        (None, None) => PathBuf::from("."),
    }
}

pub fn keyer_for(config: &Config) -> Result<Keyer, token::KeyError> {
    token::load_or_create_keyer(&config.tokens.hash_key_env, &key_dir(config))
}

/// `token-id`: prints the id and a newline, nothing else.
pub fn token_id(path: &Path, token_arg: &str) -> i32 {
    let Some(loaded) = load_config(path) else {
        return 1;
    };
    let raw = if token_arg == "-" {
        let mut buf = String::new();
        if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut buf) {
            eprintln!("error: cannot read the token from standard input: {e}");
            return 1;
        }
        buf.trim().to_string()
    } else {
        token_arg.trim().to_string()
    };
    if raw.is_empty() {
        eprintln!("error: empty token");
        return 1;
    }
    match keyer_for(&loaded.config) {
        Ok(keyer) => {
            println!("{}", keyer.key(&raw));
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("Ctrl-C: shutting down"),
        _ = term => tracing::info!("SIGTERM: shutting down"),
    }
}

/// The tokio runtime with `proxy.workers` worker threads (0 = one per core).
pub fn runtime(workers: usize) -> std::io::Result<tokio::runtime::Runtime> {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    b.enable_all();
    if workers > 0 {
        b.worker_threads(workers);
    }
    b.build()
}

/// `run`: serve until SIGTERM/Ctrl-C.
pub fn run(path: &Path) -> i32 {
    let Some(loaded) = load_config(path) else {
        return 1;
    };
    let config = loaded.config;
    let keyer = match keyer_for(&config) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    let rt = match runtime(config.proxy.workers) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return 1;
        }
    };
    rt.block_on(async move {
        let (proxy, admin) = match crate::server::bind(&config).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: {e}");
                return 1;
            }
        };
        let app = crate::app::App::new(config, keyer, crate::clock::Clock::new());
        match crate::server::run(proxy, admin, app, shutdown_signal()).await {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("error: {e}");
                1
            }
        }
    })
}

/// Logging: human format on a terminal, JSON otherwise or with `--log-format json`.
/// `RUST_LOG` filters (default `info`).
pub fn init_logging(format: Option<LogFormat>) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let format = format.unwrap_or(if std::io::stderr().is_terminal() {
        LogFormat::Human
    } else {
        LogFormat::Json
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// `har`: analyse a recording. Skipped entries go to stderr one line each; the report to
/// stdout (table, or JSON with `--json`).
pub fn har(
    file: &Path,
    config: &Path,
    idle: Option<std::time::Duration>,
    json: bool,
    enable: Vec<String>,
    custom: Vec<String>,
) -> i32 {
    let Some(loaded) = load_config(config) else {
        return 1;
    };
    let cfg = loaded.config;
    let keyer = match keyer_for(&cfg) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    let catalog = match &cfg.catalog.openapi {
        Some(path) => match crate::catalog::Catalog::load(path) {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("error: {e}");
                return 1;
            }
        },
        None => None,
    };
    let opts = crate::har::HarOptions {
        idle,
        enable,
        custom,
    };
    match crate::har::analyze_file(file, &opts, &cfg, &keyer, catalog.as_ref()) {
        Ok(report) => {
            for skipped in &report.skipped {
                eprintln!("skipped: {skipped}");
            }
            if json {
                print!("{}", report.to_json());
            } else {
                print!("{}", report.to_text());
            }
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}
