//! The configuration layers: files, environment and the unknown-key check.

// `figment::Jail` closures return figment's large error type.
#![allow(clippy::result_large_err)]

use std::path::Path;

use {{ p.crate_ident }}::svcgen::config::{Config, LogFormat, Propagation, TraceExporter};
use figment::Jail;

#[test]
fn layers_override_in_order() {
    Jail::expect_with(|jail| {
        jail.create_dir("config")?;
        jail.create_file(
            "config/default.toml",
            "[log]\nlevel = \"warn\"\nformat = \"json\"\n",
        )?;
        jail.create_file("config/staging.toml", "[log]\nlevel = \"debug\"\n")?;
        jail.set_env("APP__SERVER__GRPC_ADDR", "127.0.0.1:7000");
        let config: Config = Config::figment(Path::new("config"), "staging").extract()?;
        assert_eq!(config.log.level, "debug");
        assert_eq!(config.log.format, LogFormat::Json);
        assert_eq!(config.server.grpc_addr.to_string(), "127.0.0.1:7000");
        assert_eq!(config.server.http_addr.port(), {{ p.http_port }});
        Ok(())
    });
}

#[test]
fn unknown_keys_are_rejected_with_their_name() {
    Jail::expect_with(|jail| {
        jail.create_dir("config")?;
        jail.create_file("config/default.toml", "[server]\ngrpc_port = 1\n")?;
        let error = Config::figment(Path::new("config"), "development")
            .extract::<Config>()
            .expect_err("an unknown key must fail");
        assert!(error.to_string().contains("grpc_port"), "{error}");
        Ok(())
    });
}

#[test]
fn shipped_config_files_are_valid() {
    for env in ["development", "production"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let config: Config = Config::figment(&dir, env)
            .extract()
            .unwrap_or_else(|error| panic!("config/{env}.toml: {error}"));
        assert!(!config.log.level.is_empty());
    }
}

#[test]
fn tracing_and_log_file_sections() {
    Jail::expect_with(|jail| {
        jail.create_dir("config")?;
        jail.create_file(
            "config/default.toml",
            "[log.file]\ndir = \"logs\"\n\n[tracing]\nenabled = true\nexporter = \"otlp\"\n",
        )?;
        jail.set_env("APP__TRACING__SAMPLE_RATIO", "0.5");
        jail.set_env("APP__TRACING__PROPAGATION", "[w3c]");
        let config: Config = Config::figment(Path::new("config"), "development").extract()?;
        let file = config.log.file.expect("[log.file]");
        assert_eq!(file.dir, Path::new("logs"));
        assert_eq!(file.keep_days, 14);
        assert!(config.tracing.enabled);
        assert_eq!(config.tracing.exporter, TraceExporter::Otlp);
        assert_eq!(config.tracing.service_name, "{{ p.name }}");
        assert!((config.tracing.sample_ratio - 0.5).abs() < f64::EPSILON);
        assert_eq!(config.tracing.propagation, [Propagation::W3c]);
        Ok(())
    });
}

#[test]
fn unknown_tracing_keys_are_rejected() {
    Jail::expect_with(|jail| {
        jail.create_dir("config")?;
        jail.create_file("config/default.toml", "[tracing]\nsample_rate = 1.0\n")?;
        let error = Config::figment(Path::new("config"), "development")
            .extract::<Config>()
            .expect_err("an unknown key must fail");
        assert!(error.to_string().contains("sample_rate"), "{error}");
        Ok(())
    });
}

#[test]
fn production_samples_one_percent_and_development_everything() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    for (env, ratio) in [("development", 1.0), ("production", 0.01)] {
        let config: Config = Config::figment(&dir, env)
            .extract()
            .unwrap_or_else(|error| panic!("config/{env}.toml: {error}"));
        assert!(
            (config.tracing.sample_ratio - ratio).abs() < f64::EPSILON,
            "{env}"
        );
        assert_eq!(
            config.tracing.propagation,
            [Propagation::B3, Propagation::W3c]
        );
    }
}
