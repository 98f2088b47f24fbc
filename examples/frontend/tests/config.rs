//! The configuration layers: files, environment and the unknown-key check.

// `figment::Jail` closures return figment's large error type.
#![allow(clippy::result_large_err)]

use std::path::Path;

use figment::Jail;
use frontend::svcgen::config::{Config, LogFormat};

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
        assert_eq!(config.server.http_addr.port(), 8081);
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
