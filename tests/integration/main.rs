//! svcgen's integration tests, in one binary so it links once.

mod cli;
mod deploy;
mod e2e;
mod formatting;
mod lifecycle;
mod replicas;
mod sequences;
mod snapshots;
mod support;
mod tracing;
