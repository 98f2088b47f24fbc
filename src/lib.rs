//! svcgen: generates Rust microservices (tonic gRPC + axum HTTP) from a service spec and
//! .proto files, and keeps them up to date without touching the code their users wrote.
//!
//! The pipeline, one module per step: [`spec`] + [`proto`] → [`model`] → [`render`]
//! (+ [`format`]) → [`plan`] → [`write`]. [`cli`] and [`commands`] drive it.

pub mod cli;
pub mod commands;
pub mod error;
pub mod http;
pub mod ident;
pub mod layout;
pub mod lock;
pub mod manifest;
pub mod model;
pub mod plan;
pub mod project;
pub mod proto;
pub mod proto_edit;
pub mod render;
pub mod report;
pub mod spec;
pub mod write;
