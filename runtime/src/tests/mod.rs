//! Unit tests of the crate as a whole, beside those of each module. The configuration
//! tests are here rather than with the integration tests: `figment::Jail` changes the
//! process's working directory and environment, which the servers and clients of the
//! integration tests, running in parallel in one process, must not see.

mod auth;
mod config;
