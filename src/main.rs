//! The `intentdesk` binary: parses flags, runs one subcommand, owns the exit code.

use clap::Parser;
use intentdesk::commands;
use intentdesk::config::{Cli, Command};

fn main() -> std::process::ExitCode {
    // Structured logs on stderr: `INTENTDESK_LOG_FORMAT=json` for one JSON object per line.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "intentdesk=info,tower_http=info".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("INTENTDESK_LOG_FORMAT").is_ok_and(|f| f == "json") {
        logs.json().init();
    } else {
        logs.init();
    }
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::FetchModel(args) => commands::fetch_model(args),
        Command::Train(args) => commands::train_command(args),
        Command::Eval(args) => commands::eval_command(args),
        Command::Classify(args) => commands::classify_command(args),
        Command::Calibrate(args) => commands::calibrate_command(args),
        Command::Combine(args) => commands::combine_command(args),
        Command::Serve(args) => commands::serve_command(args),
        Command::Simulate(args) => commands::simulate_command(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
