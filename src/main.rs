//! The `idlegate` binary: parse the command line and hand over to the library.

use clap::Parser;
use idlegate::cli::{self, Cli, Command};

fn main() {
    let cli = Cli::parse();
    cli::init_logging(cli.log_format);
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
        Command::Demo => idlegate::demo::run(),
    };
    std::process::exit(code);
}
