//! bookstore.
//!
//! svcgen generated this crate's skeleton. Your code lives in `app.rs` and in the
//! handler files under `handlers/`; everything under `svcgen/` is regenerated from
//! `svcgen.toml` and the protos by `svcgen generate`.

pub mod app;
pub mod handlers;
pub mod svcgen;

pub use svcgen::proto;
