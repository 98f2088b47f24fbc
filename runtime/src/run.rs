//! The process: configuration, logging and tracing, the async runtime and the servers.

use std::process::ExitCode;
use std::time::Duration;

use crate::{Config, Service, server, shutdown, telemetry};

/// Runs the service `S` as a process: loads its configuration ([`Config::load`]), sets
/// up logging and tracing, serves gRPC and HTTP until Ctrl-C or SIGTERM, then shuts down
/// gracefully (readiness withdrawn, in-flight calls drained, spans and logs flushed) and
/// exits 0. Errors are printed and turn into a non-zero exit code.
#[must_use]
pub fn run<S: Service>() -> ExitCode {
    let config = match Config::<S>::load() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: invalid configuration: {error}");
            return ExitCode::FAILURE;
        }
    };
    // Before the runtime: the span exporter's blocking HTTP client must not be built on
    // a runtime thread.
    let telemetry = match telemetry::init(&config.log, &config.tracing) {
        Ok(telemetry) => telemetry,
        Err(error) => {
            eprintln!("error: cannot set up logging and tracing: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let code = match runtime.block_on(serve(&config)) {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "stopped with an error");
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    };
    // Tasks still running (calls whose connection was closed) are dropped.
    runtime.shutdown_timeout(Duration::from_millis(100));
    // Exports the last spans and writes the last log lines.
    telemetry.shutdown();
    code
}

async fn serve<S: Service>(config: &Config<S>) -> anyhow::Result<()> {
    // Listening before the service says it serves: a signal then is never missed.
    let signals = shutdown::signals();
    server::start(config).await?.run_until(signals).await
}
