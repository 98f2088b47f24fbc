//! The configuration layers: defaults, files, environment, the unknown-key check and
//! the one-line errors that say where a bad value is — for a service with clients and
//! settings of its own ([`Demo`]) and for one with neither ([`Bare`]).

// `figment::Jail` closures return figment's large error type.
#![allow(clippy::result_large_err)]

use std::marker::PhantomData;
use std::path::Path;
use std::sync::Arc;

use figment::{Jail, Source};
use serde::{Deserialize, Serialize};

use crate::client::ClientConfig;
use crate::config::{LogFormat, Propagation, TraceExporter};
use crate::{Config, Empty, Method, Section, Service};

/// A service whose `[clients]` is `C` and `[app]` is `A`.
struct Svc<C, A>(PhantomData<fn() -> (C, A)>);

/// A service with two clients and a setting of its own.
type Demo = Svc<DemoClients, DemoApp>;

/// A service that calls no other and has no settings of its own.
type Bare = Svc<Empty, Empty>;

/// `[clients]` of [`Demo`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct DemoClients {
    billing: ClientConfig,
    users: ClientConfig,
}

impl Default for DemoClients {
    fn default() -> Self {
        Self {
            billing: ClientConfig::new("http://billing:50051"),
            users: ClientConfig::new("http://users:50051"),
        }
    }
}

/// `[app]` of [`Demo`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct DemoApp {
    greeting: String,
}

impl<C: Section, A: Section> Service for Svc<C, A> {
    const NAME: &'static str = "demo";
    const GRPC_PORT: u16 = 50061;
    const HTTP_PORT: u16 = 8081;
    const SERVICES: &'static [&'static str] = &[];
    const METHODS: &'static [Method] = &[];
    const FILE_DESCRIPTOR_SET: &'static [u8] = &[];
    type AppConfig = A;
    type ClientsConfig = C;

    async fn init(_config: &Config<Self>) -> anyhow::Result<Self> {
        Ok(Self(PhantomData))
    }

    fn grpc(_state: &Arc<Self>, _max_message_bytes: usize) -> tonic::service::Routes {
        tonic::service::Routes::default()
    }

    fn http() -> axum::Router<Arc<Self>> {
        axum::Router::new()
    }
}

/// The error `Config::<S>::load_from` gives for `config/` and `env`, which must be one line.
fn load_error_of<S: Service>(env: Option<&str>) -> String {
    let error = Config::<S>::load_from(Path::new("config"), env)
        .expect_err("the configuration is invalid")
        .to_string();
    assert!(!error.contains('\n'), "one line: {error}");
    error
}

/// [`load_error_of`] [`Demo`].
fn load_error(env: Option<&str>) -> String {
    load_error_of::<Demo>(env)
}

fn load(env: Option<&str>) -> Config<Demo> {
    Config::load_from(Path::new("config"), env).expect("a valid configuration")
}

/// `config/<file>` as the errors write it.
fn file(name: &str) -> String {
    Path::new("config").join(name).display().to_string()
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
fn the_defaults_are_the_services_and_the_documented_ones() {
    let config = Config::<Demo>::default();
    assert_eq!(config.server.grpc_addr.to_string(), "0.0.0.0:50061");
    assert_eq!(config.server.http_addr.to_string(), "0.0.0.0:8081");
    assert_eq!(config.server.shutdown_grace_ms, 10_000);
    assert_eq!(config.server.shutdown_delay_ms, 0);
    assert_eq!(config.log.level, "info");
    assert_eq!(config.log.format, LogFormat::Pretty);
    assert!(config.log.file.is_none());
    assert!(!config.tracing.enabled);
    assert_eq!(config.tracing.service_name, "demo");
    assert_eq!(config.tracing.exporter, TraceExporter::Zipkin);
    assert!((config.tracing.sample_ratio - 1.0).abs() < f64::EPSILON);
    assert_eq!(
        config.tracing.propagation,
        [Propagation::B3, Propagation::W3c]
    );
    assert_eq!(config.clients.billing.endpoint, "http://billing:50051");
    // For tests: both servers on an ephemeral port of 127.0.0.1, the rest the same.
    let ephemeral = Config::<Demo>::ephemeral();
    assert_eq!(ephemeral.server.grpc_addr.to_string(), "127.0.0.1:0");
    assert_eq!(ephemeral.server.http_addr.to_string(), "127.0.0.1:0");
    assert_eq!(ephemeral.tracing.service_name, "demo");
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
        let config: Config<Demo> =
            Config::<Demo>::figment(Path::new("config"), "staging").extract()?;
        assert_eq!(config.log.level, "debug");
        assert_eq!(config.log.format, LogFormat::Json);
        assert_eq!(config.server.grpc_addr.to_string(), "127.0.0.1:7000");
        assert_eq!(config.server.http_addr.port(), Demo::HTTP_PORT);
        Ok(())
    });
}

#[test]
fn each_key_comes_from_the_last_layer_that_sets_it() {
    // The layout svcgen ships: default.toml sets the level, development.toml overrides
    // it, production.toml does not.
    jail(|jail| {
        jail.create_dir("config")?;
        jail.create_file(
            "config/default.toml",
            "[log]\nlevel = \"info\"\n\n[tracing]\nsample_ratio = 1.0\n",
        )?;
        jail.create_file("config/development.toml", "[log]\nlevel = \"debug\"\n")?;
        jail.create_file(
            "config/production.toml",
            "[log]\nformat = \"json\"\n\n[tracing]\nsample_ratio = 0.01\n",
        )?;
        let dir = jail.directory().join("config");
        for (env, file, level, ratio) in [
            ("production", "default.toml", "info", 0.01),
            ("development", "development.toml", "debug", 1.0),
        ] {
            let figment = Config::<Demo>::figment(&dir, env);
            let source = figment
                .find_metadata("log.level")
                .and_then(|metadata| metadata.source.clone());
            assert_eq!(source, Some(Source::File(dir.join(file))), "{env}");
            let config = load(Some(env));
            assert_eq!(config.log.level, level, "{env}");
            assert!(
                (config.tracing.sample_ratio - ratio).abs() < f64::EPSILON,
                "{env}"
            );
        }
        Ok(())
    });
}

#[test]
fn unknown_keys_are_rejected_with_their_name() {
    jail(|jail| {
        jail.create_dir("config")?;
        jail.create_file("config/default.toml", "[server]\ngrpc_port = 1\n")?;
        let error = Config::<Demo>::figment(Path::new("config"), "development")
            .extract::<Config<Demo>>()
            .expect_err("an unknown key must fail");
        assert!(error.to_string().contains("grpc_port"), "{error}");
        Ok(())
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
        let error = Config::<Demo>::load().expect_err("there is no config/staging.toml");
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
        Config::<Demo>::load().expect("config/staging.toml exists");
        Ok(())
    });
}

#[test]
fn app_config_dir_and_app_env_choose_the_files() {
    jail(|jail| {
        jail.create_dir("elsewhere")?;
        jail.create_file("elsewhere/default.toml", "[log]\nlevel = \"warn\"\n")?;
        jail.create_file("elsewhere/qa.toml", "[log]\nformat = \"json\"\n")?;
        jail.set_env("APP_CONFIG_DIR", "elsewhere");
        let config = Config::<Demo>::load().expect("a valid configuration");
        assert_eq!(config.log.level, "warn");
        assert_eq!(config.log.format, LogFormat::Pretty);
        jail.set_env("APP_ENV", "qa");
        let config = Config::<Demo>::load().expect("a valid configuration");
        assert_eq!(config.log.level, "warn");
        assert_eq!(config.log.format, LogFormat::Json);
        Ok(())
    });
}

#[test]
fn without_app_env_the_development_file_may_be_missing() {
    jail(|jail| {
        jail.create_dir("config")?;
        jail.create_file("config/default.toml", "[log]\nlevel = \"warn\"\n")?;
        assert_eq!(load(None).log.level, "warn");
        Ok(())
    });
}

#[test]
fn an_unknown_key_is_named_with_its_file_line_and_the_valid_keys() {
    jail(|jail| {
        jail.create_dir("config")?;
        jail.create_file(
            "config/default.toml",
            "[server]\ngrpc_addr = \"127.0.0.1:1\"\n",
        )?;
        jail.create_file(
            "config/development.toml",
            "[log]\nformat = \"json\"\n\n[server]\n  bogus = 1\n",
        )?;
        assert_eq!(
            load_error(None),
            format!(
                "{}:5:3: unknown key `server.bogus` (the keys of [server] are grpc_addr, \
                 http_addr, shutdown_delay_ms, shutdown_grace_ms, request_timeout_ms, \
                 max_concurrent_requests, max_message_bytes, http2_keepalive_interval_ms, \
                 http2_keepalive_timeout_ms, tls)",
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
             grpc_addr, http_addr, shutdown_delay_ms, shutdown_grace_ms, request_timeout_ms, \
             max_concurrent_requests, max_message_bytes, http2_keepalive_interval_ms, \
             http2_keepalive_timeout_ms, tls)"
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
            "APP__CLIENTS__NOPE__ENDPOINT: unknown key `clients.nope` (the keys of [clients] \
             are billing, users)"
        );
        assert_eq!(
            load_error_of::<Bare>(None),
            "APP__CLIENTS__NOPE__ENDPOINT: unknown key `clients.nope` (no key is expected in \
             [clients])"
        );
        Ok(())
    });
}

#[test]
fn the_clients_and_app_sections_are_the_services_own() {
    jail(|jail| {
        jail.create_dir("config")?;
        jail.create_file(
            "config/default.toml",
            "[clients.users]\nendpoint = \"http://users.internal:50051\"\ntimeout_ms = 250\n\
             connect_timeout_ms = 50\n\n[app]\ngreeting = \"Hi\"\n",
        )?;
        jail.set_env("APP__CLIENTS__BILLING__ENDPOINT", "http://127.0.0.1:9000");
        jail.set_env("APP__CLIENTS__BILLING__TIMEOUT_MS", "100");
        jail.set_env("APP__CLIENTS__BILLING__CONNECT_TIMEOUT_MS", "10");
        let config = load(None);
        assert_eq!(config.clients.users.endpoint, "http://users.internal:50051");
        assert_eq!(config.clients.users.timeout_ms, 250);
        assert_eq!(config.clients.users.connect_timeout_ms, 50);
        assert_eq!(config.clients.billing.endpoint, "http://127.0.0.1:9000");
        assert_eq!(config.clients.billing.timeout_ms, 100);
        assert_eq!(config.app.greeting, "Hi");

        jail.set_env("APP__APP__GREETNG", "Hello");
        assert_eq!(
            load_error(None),
            "APP__APP__GREETNG: unknown key `app.greetng` (the keys of [app] are greeting)"
        );
        Ok(())
    });
}

#[test]
fn a_clients_replicas_are_one_endpoint_a_list_or_a_dns_name() {
    jail(|jail| {
        jail.create_dir("config")?;
        // The list replaces the built-in `endpoint`; the other keys keep their defaults.
        jail.create_file(
            "config/default.toml",
            "[clients.users]\nendpoints = [\"http://10.0.0.1:50051\", \
             \"http://10.0.0.2:50051\"]\nmax_attempts = 1\n\n\
             [clients.billing]\nendpoint = \"dns:///billing-headless:50051\"\n\
             resolve_interval_ms = 1000\n",
        )?;
        let config = load(None);
        assert_eq!(
            config.clients.users.endpoints,
            ["http://10.0.0.1:50051", "http://10.0.0.2:50051"]
        );
        assert_eq!(config.clients.users.max_attempts, 1);
        assert_eq!(config.clients.users.retry_budget, 0.2);
        assert_eq!(config.clients.users.eject_after_failures, 5);
        assert_eq!(
            config.clients.billing.endpoint,
            "dns:///billing-headless:50051"
        );
        assert_eq!(config.clients.billing.resolve_interval_ms, 1000);
        assert_eq!(config.clients.billing.breaker_k, 1.5);

        // A list from the environment.
        jail.set_env(
            "APP__CLIENTS__BILLING__ENDPOINTS",
            "[http://127.0.0.1:50052, http://127.0.0.1:50062]",
        );
        jail.create_file("config/default.toml", "")?;
        let config = load(None);
        assert_eq!(
            config.clients.billing.endpoints,
            ["http://127.0.0.1:50052", "http://127.0.0.1:50062"]
        );
        Ok(())
    });
}

#[test]
fn a_client_with_both_an_endpoint_and_endpoints_or_a_bad_value_is_refused() {
    jail(|jail| {
        jail.create_dir("config")?;
        jail.create_file(
            "config/default.toml",
            "[clients.users]\nendpoint = \"http://users:50051\"\n\
             endpoints = [\"http://10.0.0.1:50051\"]\n",
        )?;
        assert_eq!(
            load_error(None),
            format!(
                "{}:2:1: `clients.users.endpoint` = \"http://users:50051\": \
                 `clients.users.endpoints` is set too: give one of them",
                file("default.toml")
            )
        );
        for (toml, expected) in [
            (
                "endpoint = \"dns://8.8.8.8/users:50051\"",
                "`clients.users.endpoint` = \"dns://8.8.8.8/users:50051\": a DNS server of \
                 its own (dns://server/...) is not supported: must be dns:///host:port (an \
                 empty authority, an explicit port)",
            ),
            (
                "endpoint = \"users:50051\"",
                "`clients.users.endpoint` = \"users:50051\": must be an http:// or https:// \
                 URL with a host (or, in `endpoint`, dns:///host:port)",
            ),
            (
                "endpoints = [\"http://a:1\", \"dns:///b:2\"]",
                "`clients.users.endpoints` = [\"http://a:1\",\"dns:///b:2\"]: \"dns:///b:2\": \
                 a `dns:///` name goes in `endpoint`, alone",
            ),
            (
                "max_attempts = 0",
                "`clients.users.max_attempts` = 0: must be at least 1 (1: no retries)",
            ),
            (
                "breaker_k = 0.5",
                "`clients.users.breaker_k` = 0.5: must be 0 (off) or at least 1",
            ),
            (
                "retry_budget = 2.0",
                "`clients.users.retry_budget` = 2.0: must be between 0.0 and 1.0",
            ),
        ] {
            jail.create_file("config/default.toml", &format!("[clients.users]\n{toml}\n"))?;
            assert_eq!(
                load_error(None),
                format!("{}:2:1: {expected}", file("default.toml")),
                "{toml}"
            );
        }
        // A later layer's list replaces an earlier layer's `endpoint`; an `endpoint` over
        // an earlier list is refused, unless the list is cleared beside it.
        jail.create_file(
            "config/default.toml",
            "[clients.users]\nendpoint = \"http://users:50051\"\n",
        )?;
        jail.create_file(
            "config/development.toml",
            "[clients.users]\nendpoints = [\"http://10.0.0.1:50051\"]\n",
        )?;
        assert_eq!(
            load(Some("development")).clients.users.endpoints,
            ["http://10.0.0.1:50051"]
        );
        jail.set_env("APP__CLIENTS__USERS__ENDPOINT", "http://users:50052");
        assert_eq!(
            load_error(Some("development")),
            format!(
                "APP__CLIENTS__USERS__ENDPOINT: `clients.users.endpoint` = \
                 \"http://users:50052\": `clients.users.endpoints`, set by {}:2:1, would \
                 replace it: set `endpoints = []` beside it",
                file("development.toml")
            )
        );
        jail.set_env("APP__CLIENTS__USERS__ENDPOINTS", "[]");
        let config = load(Some("development"));
        assert_eq!(config.clients.users.endpoint, "http://users:50052");
        assert!(config.clients.users.endpoints.is_empty());
        jail.clear_env();
        std::fs::remove_file("config/development.toml").expect("removed");

        // From the environment: named by its variable.
        jail.create_file("config/default.toml", "")?;
        jail.set_env("APP__CLIENTS__BILLING__ENDPOINT", "dns:///billing");
        assert_eq!(
            load_error(None),
            "APP__CLIENTS__BILLING__ENDPOINT: `clients.billing.endpoint` = \"dns:///billing\": \
             must be dns:///host:port (an empty authority, an explicit port)"
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
            "APP__TRACING__SAMPLE_RATIO: `tracing.sample_ratio` = 1.5: must be between 0.0 \
             and 1.0"
        );
        Ok(())
    });
    jail(|jail| {
        jail.set_env("APP__LOG__LEVEL", "");
        assert_eq!(
            load_error(None),
            "APP__LOG__LEVEL: `log.level` = \"\": empty; give a level such as \"info\" (or \
             \"off\")"
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
        jail.set_env("APP__LOG__LEVEL", "demo");
        assert_eq!(load(None).log.level, "demo");
        Ok(())
    });
}

#[test]
fn an_exporter_endpoint_must_be_an_http_url() {
    for (variable, key) in [
        ("APP__TRACING__ZIPKIN_ENDPOINT", "tracing.zipkin_endpoint"),
        ("APP__TRACING__OTLP_ENDPOINT", "tracing.otlp_endpoint"),
    ] {
        jail(|jail| {
            jail.set_env(variable, "notaurl");
            assert_eq!(
                load_error(None),
                format!(
                    "{variable}: `{key}` = \"notaurl\": must be an http:// or https:// URL \
                     with a host"
                )
            );
            Ok(())
        });
    }
}

#[test]
fn a_missing_config_directory_is_an_error() {
    jail(|jail| {
        jail.set_env("APP_CONFIG_DIR", "nowhere");
        let error = Config::<Demo>::load()
            .expect_err("no such directory")
            .to_string();
        assert_eq!(error, "APP_CONFIG_DIR=nowhere is not a directory");
        Ok(())
    });
    jail(|_| {
        // The jail's directory has no config/.
        let error = Config::<Demo>::load()
            .expect_err("no config/ here")
            .to_string();
        assert!(
            error.starts_with("there is no config/ directory in "),
            "{error}"
        );
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
        assert!(
            error.starts_with(&at) && error.contains("invalid TOML"),
            "{error}"
        );
        Ok(())
    });
}

#[test]
fn a_bad_log_level_names_the_value_and_where_it_came_from() {
    jail(|jail| {
        jail.set_env("APP__LOG__LEVEL", "demo=verbose");
        let error = load_error(None);
        assert!(
            error.starts_with("APP__LOG__LEVEL: `log.level` = \"demo=verbose\": "),
            "{error}"
        );
        assert_eq!(
            error.matches("error parsing level filter").count(),
            1,
            "{error}"
        );
        Ok(())
    });
    jail(|jail| {
        jail.create_dir("config")?;
        jail.create_file(
            "config/development.toml",
            "[log]\nlevel = \"info,h2=loud\"\n",
        )?;
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
        assert_eq!(load(None).log.level, "5");
        Ok(())
    });
    jail(|jail| {
        jail.create_dir("config")?;
        jail.create_file("config/default.toml", "[log]\nlevel = 2\n")?;
        assert_eq!(load(None).log.level, "2");
        Ok(())
    });
}

#[test]
fn rust_log_replaces_the_level_when_the_configuration_is_loaded() {
    jail(|jail| {
        jail.create_dir("config")?;
        jail.create_file("config/default.toml", "[log]\nlevel = \"warn\"\n")?;
        jail.set_env("RUST_LOG", "debug,h2=info");
        assert_eq!(load(None).log.level, "debug,h2=info");
        Ok(())
    });
}

#[test]
fn a_bad_rust_log_is_reported_once() {
    jail(|jail| {
        jail.set_env("RUST_LOG", "demo=verbose");
        let error = load_error(None);
        assert!(
            error.starts_with("RUST_LOG = \"demo=verbose\": "),
            "{error}"
        );
        assert_eq!(
            error.matches("error parsing level filter").count(),
            1,
            "{error}"
        );
        Ok(())
    });
}

#[test]
fn shutdown_settings_are_overridden_like_the_rest() {
    jail(|jail| {
        jail.set_env("APP__SERVER__SHUTDOWN_GRACE_MS", "250");
        jail.set_env("APP__SERVER__SHUTDOWN_DELAY_MS", "5000");
        let config = load(None);
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
        let config: Config<Demo> =
            Config::<Demo>::figment(Path::new("config"), "development").extract()?;
        let file = config.log.file.expect("[log.file]");
        assert_eq!(file.dir, Path::new("logs"));
        assert_eq!(file.keep_days, 14);
        assert!(config.tracing.enabled);
        assert_eq!(config.tracing.exporter, TraceExporter::Otlp);
        assert_eq!(config.tracing.service_name, Demo::NAME);
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
        let error = Config::<Demo>::figment(Path::new("config"), "development")
            .extract::<Config<Demo>>()
            .expect_err("an unknown key must fail");
        assert!(error.to_string().contains("sample_rate"), "{error}");
        Ok(())
    });
}

/// Every key of the configuration: its serialized form, with every optional key set.
fn every_key() -> std::collections::BTreeSet<String> {
    fn leaves(
        value: &serde_json::Value,
        path: &str,
        keys: &mut std::collections::BTreeSet<String>,
    ) {
        match value {
            serde_json::Value::Object(fields) => {
                for (name, value) in fields {
                    let path = if path.is_empty() {
                        name.clone()
                    } else {
                        format!("{path}.{name}")
                    };
                    leaves(value, &path, keys);
                }
            }
            _ => {
                keys.insert(path.to_owned());
            }
        }
    }
    let mut config = Config::<Demo>::default();
    config.server.tls = Some(crate::config::TlsConfig {
        cert_file: "c".into(),
        key_file: "k".into(),
    });
    config.log.file = Some(crate::config::LogFileConfig {
        dir: "logs".into(),
        keep_days: 14,
    });
    config.tracing.ca_file = Some("ca".into());
    config.clients.billing.ca_file = Some("ca".into());
    config.auth.jwt.public_key_file = Some("p".into());
    config.auth.jwt.jwks_file = Some("j".into());
    config.auth.jwt.issuer = Some("i".into());
    let mut keys = std::collections::BTreeSet::new();
    leaves(
        &serde_json::to_value(&config).expect("serializable"),
        "",
        &mut keys,
    );
    // Never serialized: the secret comes from the environment only.
    keys.insert("auth.jwt.secret".to_owned());
    keys.into_iter()
        .filter(|key| !key.starts_with("app.") && !key.starts_with("clients.users."))
        .map(|key| key.replace("clients.billing.", "clients.<name>."))
        .collect()
}

/// A generated service's `config/default.toml` shows every key, set or commented out,
/// and its README lists each with its environment variable. (The templates are svcgen's;
/// this is where the keys are known. `src/tests/` is not vendored into services.)
#[test]
fn the_generated_default_toml_and_readme_document_every_key() {
    let default_toml = include_str!("../../../templates/service/config/default.toml");
    let mut table = String::new();
    let mut in_toml = std::collections::BTreeSet::new();
    for line in default_toml.lines() {
        let line = line.strip_prefix("# ").unwrap_or(line).trim();
        if let Some(header) = line
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
        {
            table = header.replace("{{ client.name }}", "<name>");
        } else if let Some((key, _)) = line.split_once(" = ")
            && !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
        {
            in_toml.insert(format!("{table}.{key}"));
        }
    }
    in_toml.retain(|key| !key.starts_with("app."));
    // The secret is refused in a file, so default.toml only names its variable.
    assert!(default_toml.contains("APP__AUTH__JWT__SECRET"));
    in_toml.insert("auth.jwt.secret".to_owned());
    let keys = every_key();
    assert_eq!(in_toml, keys, "config/default.toml");

    let readme = include_str!("../../../templates/service/README.md");
    let mut in_readme = std::collections::BTreeSet::new();
    for row in readme.lines().filter(|line| line.starts_with("| `")) {
        let cells: Vec<&str> = row.split(" | ").collect();
        let key = cells[0].trim_start_matches("| ").trim_matches('`');
        if !keys.contains(key) {
            continue; // a row of another table
        }
        let variable = format!("APP__{}", key.to_uppercase().replace('.', "__"));
        assert_eq!(cells[1], format!("`{variable}`"), "{key}'s variable");
        in_readme.insert(key.to_owned());
    }
    assert_eq!(in_readme, keys, "the README's table");
}
