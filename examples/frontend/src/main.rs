//! Starts frontend: loads the configuration, sets up logging and serves gRPC and
//! HTTP until Ctrl-C or SIGTERM.

fn main() -> std::process::ExitCode {
    frontend::svcgen::runtime::run()
}
