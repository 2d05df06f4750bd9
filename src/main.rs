//! The `idlegate` binary: parse the command line and hand over to the library.

use clap::Parser;
use idlegate::cli::{self, Cli, Command};

/// jemalloc gives freed memory back to the system: after a flood of connections closes, glibc's
/// per-thread arenas kept all of it (hundreds of MB) for good.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    let cli = Cli::parse();
    cli::init_logging(cli.log_format);
    // Background threads purge freed pages after the decay time (10 s) even when the thread
    // that freed them stays idle.
    if let Err(e) = tikv_jemalloc_ctl::background_thread::write(true) {
        tracing::warn!(error = %e, "cannot start the allocator's purge thread");
    }
    let code = match cli.command {
        Command::Run { config } => cli::run(&config),
        Command::Check { config } => cli::check(&config),
        Command::TokenId { config, token } => cli::token_id(&config, &token),
        Command::Har {
            file,
            config,
            idle,
            json,
            enable,
            custom,
        } => cli::har(&file, &config, idle, json, enable, custom),
        Command::Openapi => cli::openapi(),
        Command::Demo => idlegate::demo::run(),
        Command::Health { url, config } => cli::health(url.as_deref(), config.as_deref()),
    };
    cli::flush_logs();
    std::process::exit(code);
}
