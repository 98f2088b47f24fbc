//! svcgen's integration tests, in one binary so it links once.

mod cli;
mod e2e;
mod snapshots;
mod support;
