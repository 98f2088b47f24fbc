//! The `svcgen` binary; the work happens in the library.

fn main() -> std::process::ExitCode {
    svcgen::cli::main()
}
