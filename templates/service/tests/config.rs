//! The configuration layers: files, environment, the unknown-key check and the one-line
//! errors that say where a bad value is.

// `figment::Jail` closures return figment's large error type.
#![allow(clippy::result_large_err)]

use std::path::Path;

use {{ p.crate_ident }}::svcgen::config::{Config, LogFormat, Propagation, TraceExporter};
use figment::{Jail, Source};

/// The error `Config::load_from` gives for `config/` and `env`, which must be one line.
fn load_error(env: Option<&str>) -> String {
    let error = Config::load_from(Path::new("config"), env)
        .expect_err("the configuration is invalid")
        .to_string();
    assert!(!error.contains('\n'), "one line: {error}");
    error
}

/// `config/<file>` as the errors write it.
fn file(name: &str) -> String {
    Path::new("config").join(name).display().to_string()
}

/// Runs `check` of the shipped config files inside a `Jail` of its own: tests run in
/// parallel, and the others set `APP__…` variables inside theirs, which would otherwise
/// leak into these reads (and so would the shell's).
fn shipped_files(check: impl FnOnce()) {
    jail(|_| {
        check();
        Ok(())
    });
}

/// Runs `test` in a `Jail` (its own directory; the variables it sets are undone after)
/// without any of the shell's environment variables: an `APP__LOG__LEVEL` or a
/// `RUST_LOG` exported where `cargo test` runs must not change what these tests see.
fn jail(test: impl FnOnce(&mut Jail) -> figment::Result<()>) {
    Jail::expect_with(|jail| {
        jail.clear_env();
        test(jail)
    });
}

#[test]
fn layers_override_in_order() {
    jail(|jail| {
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
    jail(|jail| {
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
    shipped_files(|| {
        for env in ["development", "production"] {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
            let config = Config::load_from(&dir, Some(env))
                .unwrap_or_else(|error| panic!("config/{env}.toml: {error}"));
            assert!(!config.log.level.is_empty());
            assert!(config.server.shutdown_grace_ms > 0, "{env}");
        }
    });
}

#[test]
fn the_log_level_of_default_toml_is_the_one_of_production() {
    shipped_files(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        for (env, file) in [("production", "default.toml"), ("development", "development.toml")] {
            let figment = Config::figment(&dir, env);
            let source = figment
                .find_metadata("log.level")
                .and_then(|metadata| metadata.source.clone());
            assert_eq!(source, Some(Source::File(dir.join(file))), "{env}");
        }
    });
}

#[test]
fn an_app_env_without_its_file_is_an_error_naming_the_environments() {
    jail(|jail| {
        jail.create_dir("config")?;
        jail.create_file("config/default.toml", "")?;
        jail.create_file("config/development.toml", "")?;
        jail.create_file("config/production.toml", "")?;
        jail.set_env("APP_ENV", "staging");
        jail.set_env("APP_CONFIG_DIR", "config");
        let error = Config::load().expect_err("there is no config/staging.toml");
        assert_eq!(
            error.to_string(),
            format!(
                "APP_ENV=staging but there is no {}; the environments are development, \
                 production (an empty file is an environment without overrides)",
                file("staging.toml")
            )
        );
        // The documented way to add an environment: a file, even an empty one.
        jail.create_file("config/staging.toml", "")?;
        Config::load().expect("config/staging.toml exists");
        Ok(())
    });
}

#[test]
fn without_app_env_the_development_file_may_be_missing() {
    jail(|jail| {
        jail.create_dir("config")?;
        jail.create_file("config/default.toml", "[log]\nlevel = \"warn\"\n")?;
        let config = Config::load_from(Path::new("config"), None).expect("a valid configuration");
        assert_eq!(config.log.level, "warn");
        Ok(())
    });
}

#[test]
fn an_unknown_key_is_named_with_its_file_line_and_the_valid_keys() {
    jail(|jail| {
        jail.create_dir("config")?;
        jail.create_file("config/default.toml", "[server]\ngrpc_addr = \"127.0.0.1:1\"\n")?;
        jail.create_file(
            "config/development.toml",
            "[log]\nformat = \"json\"\n\n[server]\n  bogus = 1\n",
        )?;
        assert_eq!(
            load_error(None),
            format!(
                "{}:5:3: unknown key `server.bogus` (the keys of [server] are grpc_addr, \
                 http_addr, shutdown_delay_ms, shutdown_grace_ms)",
                file("development.toml")
            )
        );
        Ok(())
    });
}

#[test]
fn an_unknown_key_in_the_environment_names_the_variable() {
    jail(|jail| {
        jail.set_env("APP__SERVER__BOGUS", "1");
        assert_eq!(
            load_error(None),
            "APP__SERVER__BOGUS: unknown key `server.bogus` (the keys of [server] are \
             grpc_addr, http_addr, shutdown_delay_ms, shutdown_grace_ms)"
        );
        Ok(())
    });
}

#[test]
fn an_unknown_client_is_named_with_the_clients_there_are() {
    jail(|jail| {
        jail.set_env("APP__CLIENTS__NOPE__ENDPOINT", "http://127.0.0.1:1");
        assert_eq!(
            load_error(None),
{%- if p.clients.is_empty() %}
            "APP__CLIENTS__NOPE__ENDPOINT: unknown key `clients.nope` (no key is expected in \
             [clients])"
{%- else %}
            "APP__CLIENTS__NOPE__ENDPOINT: unknown key `clients.nope` (the keys of [clients] are \
             {% for client in p.clients %}{% if !loop.first %}, {% endif %}{{ client.name }}{% endfor %})"
{%- endif %}
        );
        Ok(())
    });
}

#[test]
fn a_sample_ratio_outside_zero_to_one_and_an_empty_log_level_are_refused() {
    jail(|jail| {
        jail.set_env("APP__TRACING__SAMPLE_RATIO", "1.5");
        assert_eq!(
            load_error(None),
            "APP__TRACING__SAMPLE_RATIO: `tracing.sample_ratio` = 1.5: must be between 0.0 and 1.0"
        );
        Ok(())
    });
    jail(|jail| {
        jail.set_env("APP__LOG__LEVEL", "");
        assert_eq!(
            load_error(None),
            "APP__LOG__LEVEL: `log.level` = \"\": empty; give a level such as \"info\" (or \"off\")"
        );
        Ok(())
    });
}

#[test]
fn a_misspelt_level_or_a_level_number_out_of_range_is_refused() {
    for (level, expected) in [
        (
            "warning",
            "APP__LOG__LEVEL: `log.level` = \"warning\": `warning` is not a level (they are off, \
             error, warn, info, debug, trace); a bare word names a target",
        ),
        (
            "info,h2=7",
            "APP__LOG__LEVEL: `log.level` = \"info,h2=7\": `h2=7`: a level number is 0 (off) to 5 \
             (trace)",
        ),
    ] {
        jail(|jail| {
            jail.set_env("APP__LOG__LEVEL", level);
            assert_eq!(load_error(None), expected);
            Ok(())
        });
    }
    // A bare word that is not taken for a level is a target, as EnvFilter reads it.
    jail(|jail| {
        jail.set_env("APP__LOG__LEVEL", "{{ p.crate_ident }}");
        Config::load_from(Path::new("config"), None).expect("a target name is a directive");
        Ok(())
    });
}

#[test]
fn an_exporter_endpoint_must_be_an_http_url() {
    jail(|jail| {
        jail.set_env("APP__TRACING__ZIPKIN_ENDPOINT", "notaurl");
        assert_eq!(
            load_error(None),
            "APP__TRACING__ZIPKIN_ENDPOINT: `tracing.zipkin_endpoint` = \"notaurl\": must be an \
             http:// or https:// URL with a host"
        );
        Ok(())
    });
}

#[test]
fn a_missing_config_directory_is_an_error() {
    jail(|jail| {
        jail.set_env("APP_CONFIG_DIR", "nowhere");
        let error = Config::load().expect_err("no such directory").to_string();
        assert_eq!(error, "APP_CONFIG_DIR=nowhere is not a directory");
        Ok(())
    });
    jail(|_| {
        // The jail's directory has no config/.
        let error = Config::load().expect_err("no config/ here").to_string();
        assert!(error.starts_with("there is no config/ directory in "), "{error}");
        assert!(error.ends_with("or set APP_CONFIG_DIR"), "{error}");
        Ok(())
    });
}

#[test]
fn a_value_of_the_wrong_type_is_named_with_its_line() {
    jail(|jail| {
        jail.create_dir("config")?;
        jail.create_file(
            "config/default.toml",
            "[server]\nshutdown_grace_ms = \"10s\"\n",
        )?;
        assert_eq!(
            load_error(None),
            format!(
                "{}:2:1: `server.shutdown_grace_ms` must be u64, found string \"10s\"",
                file("default.toml")
            )
        );
        jail.create_file("config/default.toml", "[log]\nformat = \"xml\"\n")?;
        assert_eq!(
            load_error(None),
            format!(
                "{}:2:1: `log.format` = \"xml\" is not one of pretty, json",
                file("default.toml")
            )
        );
        Ok(())
    });
}

#[test]
fn invalid_toml_is_one_line_with_its_position() {
    jail(|jail| {
        jail.create_dir("config")?;
        jail.create_file("config/default.toml", "[server]\ngrpc_addr = \n")?;
        let error = load_error(None);
        let at = format!("{}:2:", file("default.toml"));
        assert!(error.starts_with(&at) && error.contains("invalid TOML"), "{error}");
        Ok(())
    });
}

#[test]
fn a_bad_log_level_names_the_value_and_where_it_came_from() {
    jail(|jail| {
        jail.set_env("APP__LOG__LEVEL", "{{ p.crate_ident }}=verbose");
        let error = load_error(None);
        assert!(
            error.starts_with("APP__LOG__LEVEL: `log.level` = \"{{ p.crate_ident }}=verbose\": "),
            "{error}"
        );
        assert_eq!(error.matches("error parsing level filter").count(), 1, "{error}");
        Ok(())
    });
    jail(|jail| {
        jail.create_dir("config")?;
        jail.create_file("config/development.toml", "[log]\nlevel = \"info,h2=loud\"\n")?;
        let error = load_error(None);
        let expected = format!(
            "{}:2:1: `log.level` = \"info,h2=loud\": `h2=loud`: ",
            file("development.toml")
        );
        assert!(error.starts_with(&expected), "{error}");
        Ok(())
    });
}

#[test]
fn a_numeric_log_level_is_a_level() {
    jail(|jail| {
        jail.set_env("APP__LOG__LEVEL", "5");
        let config = Config::load_from(Path::new("config"), None).expect("a valid level");
        assert_eq!(config.log.level, "5");
        Ok(())
    });
    jail(|jail| {
        jail.create_dir("config")?;
        jail.create_file("config/default.toml", "[log]\nlevel = 2\n")?;
        let config = Config::load_from(Path::new("config"), None).expect("a valid level");
        assert_eq!(config.log.level, "2");
        Ok(())
    });
}

#[test]
fn rust_log_replaces_the_level_when_the_configuration_is_loaded() {
    jail(|jail| {
        jail.set_env("RUST_LOG", "debug,h2=info");
        let config = Config::load_from(Path::new("config"), None).expect("valid");
        assert_eq!(config.log.level, "debug,h2=info");
        Ok(())
    });
}

#[test]
fn a_bad_rust_log_is_reported_once() {
    jail(|jail| {
        jail.set_env("RUST_LOG", "{{ p.crate_ident }}=verbose");
        let error = load_error(None);
        assert!(
            error.starts_with("RUST_LOG = \"{{ p.crate_ident }}=verbose\": "),
            "{error}"
        );
        assert_eq!(error.matches("error parsing level filter").count(), 1, "{error}");
        Ok(())
    });
}

#[test]
fn shutdown_settings_have_defaults_and_are_overridden_like_the_rest() {
    shipped_files(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let config: Config = Config::figment(&dir, "production")
            .extract()
            .expect("the shipped configuration");
        assert_eq!(config.server.shutdown_grace_ms, 10_000);
        assert_eq!(config.server.shutdown_delay_ms, 0);
    });
    jail(|jail| {
        jail.set_env("APP__SERVER__SHUTDOWN_GRACE_MS", "250");
        jail.set_env("APP__SERVER__SHUTDOWN_DELAY_MS", "5000");
        let config = Config::load_from(Path::new("config"), None).expect("valid");
        assert_eq!(config.server.shutdown_grace_ms, 250);
        assert_eq!(config.server.shutdown_delay_ms, 5000);
        Ok(())
    });
}

#[test]
fn tracing_and_log_file_sections() {
    jail(|jail| {
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
    jail(|jail| {
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
    shipped_files(|| {
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
    });
}
