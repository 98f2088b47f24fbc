//! The configuration files the service ships load, each environment as the service
//! reads it at start-up.
//!
//! Your code: svcgen created this file once and never touches it again.

// `figment::Jail` closures return figment's large error type.
#![allow(clippy::result_large_err)]

use std::path::{Path, PathBuf};

use svcgen_runtime::config::{LogFormat, Propagation};

use frontend::svcgen::config::Config;

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
    assert!(config.debug.pprof, "GET /debug/pprof/profile");
}

#[test]
fn production_logs_json_at_the_default_level_and_samples_a_few_traces() {
    let config = load("production");
    assert_eq!(config.log.format, LogFormat::Json);
    assert_eq!(config.log.level, "info", "config/default.toml's");
    assert!(config.tracing.enabled);
    assert!((config.tracing.sample_ratio - 0.01).abs() < f64::EPSILON);
    assert!(!config.debug.pprof, "no CPU profiles in production");
}

#[test]
fn every_environment_listens_where_the_deployment_expects_and_drains_on_stop() {
    for env in ["development", "production"] {
        let config = load(env);
        assert_eq!(config.server.grpc_addr.port(), 50051, "{env}");
        assert_eq!(config.server.http_addr.port(), 8081, "{env}");
        assert_eq!(config.server.shutdown_grace_ms, 10_000, "{env}");
        let formats = [Propagation::B3, Propagation::W3c];
        assert_eq!(config.tracing.propagation, formats, "{env}");
        assert!(config.metrics.enabled, "{env}: GET /metrics");
    }
}
