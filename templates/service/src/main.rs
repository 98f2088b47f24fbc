//! Starts {{ p.name }}: loads the configuration, sets up logging and serves gRPC and
//! HTTP until Ctrl-C or SIGTERM.

fn main() -> std::process::ExitCode {
    {{ p.crate_ident }}::svcgen::runtime::run()
}
