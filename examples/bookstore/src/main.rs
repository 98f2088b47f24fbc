//! Starts bookstore: loads the configuration, sets up logging and serves gRPC and
//! HTTP until Ctrl-C or SIGTERM.

/// mimalloc instead of the system allocator: a request makes dozens of small
/// allocations, which it serves in far fewer instructions (the `mimalloc` feature, on by
/// default; `cargo build --no-default-features` goes back to the system allocator).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    bookstore::svcgen::runtime::run()
}
