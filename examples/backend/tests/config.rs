//! The configuration files the service ships load, each environment as the service
//! reads it at start-up.
//!
//! Your code: svcgen created this file once and never touches it again.

// `figment::Jail` closures return figment's large error type.
#![allow(clippy::result_large_err)]

use std::path::{Path, PathBuf};

use svcgen_runtime::config::LogFormat;

use backend::svcgen::config::Config;

/// `config/` of this project.
fn config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config")
}

/// Loads `env` from the shipped files, without the shell's `APP__*` variables or
/// `RUST_LOG`, which would change what the files say.
fn load(env: &str) -> Config {
    let mut loaded = None;
    figment::Jail::expect_with(|jail| {
        jail.clear_env();
        loaded = Some(
            Config::load_from(&config_dir(), Some(env))
                .unwrap_or_else(|error| panic!("config/{env}.toml: {error}")),
        );
        Ok(())
    });
    loaded.expect("loaded")
}

#[test]
fn development_logs_for_people_and_traces_every_request() {
    let config = load("development");
    assert_eq!(config.log.format, LogFormat::Pretty);
    assert!(config.tracing.enabled);
    assert!((config.tracing.sample_ratio - 1.0).abs() < f64::EPSILON);
}

#[test]
fn production_logs_json_and_samples_a_few_traces() {
    let config = load("production");
    assert_eq!(config.log.format, LogFormat::Json);
    assert!(config.tracing.enabled);
    assert!((config.tracing.sample_ratio - 0.01).abs() < f64::EPSILON);
}

#[test]
fn the_defaults_listen_where_the_deployment_files_expect() {
    let config = load("development");
    assert_eq!(config.server.grpc_addr.port(), 50052);
    assert_eq!(config.server.http_addr.port(), 8082);
}
