//! The command line (docs/reference.md, "CLI"): `run`, `check`, `token-id`, `har`, `openapi`,
//! `demo`, `health`.

mod health;

/// The JSON log format, public for `benches/log_line.rs`.
#[doc(hidden)]
pub use crate::telemetry::json_line::JsonLines;
pub use health::health;

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::{self, Config, Diagnostic, Loaded};
use crate::telemetry::audit_file;
use crate::telemetry::log_pipe::{self, LogPipe};
use crate::token::{self, Keyer};

pub const DEFAULT_CONFIG: &str = "config/idlegate.toml";

/// Worker threads of the main runtime (everything but the proxy listener).
const MAIN_RUNTIME_THREADS: usize = 2;

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
    /// Print the admin API's OpenAPI 3.1 document (JSON), as `GET /api/v1/openapi.json`
    /// serves it.
    Openapi,
    /// Start a sample upstream and the gateway in front of it with a short timeout.
    Demo,
    /// Ask the admin listener's /healthz: exit 0 on 200, 1 otherwise (within 2 s).
    Health {
        /// The URL to ask [default: http://127.0.0.1:9901/healthz].
        #[arg(long, conflicts_with = "config")]
        url: Option<String>,
        /// Ask the config's admin.listen address.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
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

/// `check`: 0 when valid (policy on stdout), 1 with every error on stderr. Custom patterns
/// that match no catalog operation are warned about (a typo would otherwise keep resetting
/// the timer silently); warnings never change the exit status.
pub fn check(path: &Path) -> i32 {
    let checked = match std::fs::read_to_string(path) {
        Ok(text) => crate::config_change::check(&text, path),
        Err(e) => Err(vec![Diagnostic::unreadable(path, &e)]),
    };
    match checked {
        Ok(loaded) => {
            print_diagnostics(&loaded.warnings);
            if let Some(config::IdentityConfig {
                jwks: config::JwksSource::File(jwks),
                ..
            }) = &loaded.config.identity
            {
                // A key set that cannot verify anything would only show as 401s at run time.
                if let Err(e) = crate::identity::check_jwks_file(jwks) {
                    eprintln!("error: [identity] jwks {}: {e}", jwks.display());
                    return 1;
                }
            }
            print!("{}", loaded.config.effective_policy());
            0
        }
        Err(diags) => {
            print_diagnostics(&diags);
            1
        }
    }
}

/// Where the generated hash key lives when the env variable is unset: the snapshot's folder,
/// else the config file's folder (docs/reference.md, "Token keys").
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

/// The config's errors were already printed, each with file, line and column.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration")]
struct ConfigRejected;

fn load(path: &Path) -> anyhow::Result<Loaded> {
    load_config(path).ok_or_else(|| ConfigRejected.into())
}

/// The exit status of a command: 0, or 1 after one `error:` line on stderr (none for a
/// rejected config, whose diagnostics are already out).
fn exit_status(result: anyhow::Result<()>) -> i32 {
    match result {
        Ok(()) => 0,
        Err(e) if e.is::<ConfigRejected>() => 1,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

/// `token-id`: prints the id and a newline, nothing else.
pub fn token_id(path: &Path, token_arg: &str) -> i32 {
    exit_status(print_token_id(path, token_arg))
}

fn print_token_id(path: &Path, token_arg: &str) -> anyhow::Result<()> {
    let loaded = load(path)?;
    let raw = if token_arg == "-" {
        let max = crate::files::STDIN_TOKEN_MAX_BYTES;
        let bytes = crate::files::read_all(std::io::stdin(), max)
            .map_err(|e| anyhow::anyhow!("cannot read the token from standard input: {e}"))?;
        String::from_utf8_lossy(&bytes).trim().to_string()
    } else {
        token_arg.trim().to_string()
    };
    anyhow::ensure!(!raw.is_empty(), "empty token");
    println!("{}", keyer_for(&loaded.config)?.key(&raw));
    Ok(())
}

/// `openapi`: the document on stdout, nothing else; needs no config.
pub fn openapi() -> i32 {
    print!("{}", crate::admin::openapi::document_json());
    0
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

/// The main tokio runtime: admin listener, sweeper, snapshot, state sync, hooks. The proxy
/// listener runs on its own `proxy.workers` threads (see `proxy::serve`), so this one stays
/// small.
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
    exit_status(serve(path))
}

fn serve(path: &Path) -> anyhow::Result<()> {
    let config = load(path)?.config;
    open_audit_file(&config.audit)?;
    let keyer = keyer_for(&config)?;
    let rt = runtime(MAIN_RUNTIME_THREADS)
        .map_err(|e| anyhow::anyhow!("cannot start the runtime: {e}"))?;
    rt.block_on(async move {
        let (proxy, admin) = crate::server::bind(&config).await?;
        let app = crate::app::App::new(config, keyer, crate::clock::Clock::new());
        crate::server::run(proxy, admin, app, shutdown_signal()).await?;
        Ok(())
    })
}

/// `[audit]`: opened before serving, so a file that cannot be written stops the start
/// (docs/reference.md, "Audit events").
fn open_audit_file(audit: &config::AuditConfig) -> anyhow::Result<()> {
    let dest = audit.file.clone().map(|target| match target {
        config::AuditTarget::Stdout => audit_file::Destination::Stdout,
        config::AuditTarget::File(path) => audit_file::Destination::File(path),
    });
    audit_file::install(dest, audit.replica.clone())
        .map_err(|e| anyhow::anyhow!("cannot open audit.file {e}"))
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
    // Lines go to stderr through a bounded buffer and a writer thread of their own, so no
    // thread that logs waits for stderr (telemetry::log_pipe).
    let pipe = LogPipe::start(std::io::stderr(), log_pipe::CAPACITY);
    pipe.install();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(pipe);
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .event_format(JsonLines::new())
            .try_init(),
    };
}

/// Waits until every audit line and log line is written: call before `std::process::exit`.
pub fn flush_logs() {
    // First: a failed audit write is reported in the log.
    audit_file::flush();
    log_pipe::flush();
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
    let opts = crate::har::HarOptions {
        idle,
        enable,
        custom,
    };
    exit_status(print_har_report(file, config, &opts, json))
}

fn print_har_report(
    file: &Path,
    config: &Path,
    opts: &crate::har::HarOptions,
    json: bool,
) -> anyhow::Result<()> {
    let cfg = load(config)?.config;
    let keyer = keyer_for(&cfg)?;
    let catalog = match &cfg.catalog.openapi {
        Some(path) => Some(crate::catalog::Catalog::load(path)?),
        None => None,
    };
    let report = crate::har::analyze_file(file, opts, &cfg, &keyer, catalog.as_ref())?;
    for skipped in &report.skipped {
        eprintln!("skipped: {skipped}");
    }
    if json {
        print!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    Ok(())
}
