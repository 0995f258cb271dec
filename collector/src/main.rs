use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = exfleet_collector::cli::Cli::parse();
    let filter = |default: &str| {
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default))
    };
    match cli.log_file() {
        Some((paths, max_mib)) => tracing_subscriber::fmt()
            .with_env_filter(filter("info"))
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(exfleet_collector::service::log_file(
                &paths, max_mib,
            )))
            .init(),
        None => tracing_subscriber::fmt()
            .with_env_filter(filter("warn"))
            .with_writer(std::io::stderr)
            .init(),
    }
    ExitCode::from(exfleet_collector::cli::main(cli))
}
