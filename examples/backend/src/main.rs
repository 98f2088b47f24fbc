//! Starts backend: loads the configuration, sets up logging and serves gRPC and
//! HTTP until Ctrl-C or SIGTERM.

fn main() -> std::process::ExitCode {
    backend::svcgen::runtime::run()
}
