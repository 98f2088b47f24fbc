//! The service's configuration: one [`Config`] decoded in one call from these layers,
//! each overriding the one before:
//!
//! 1. built-in defaults ([`Config::default`]),
//! 2. `config/default.toml`,
//! 3. `config/$APP_ENV.toml` (`APP_ENV` defaults to `development`),
//! 4. environment variables `APP__<SECTION>__<KEY>`, e.g. `APP__SERVER__GRPC_ADDR=127.0.0.1:0`.
//!
//! `APP_CONFIG_DIR` moves the `config/` directory. `config/default.toml` may be missing,
//! and so may `config/development.toml` while `APP_ENV` is not set; an `APP_ENV` without
//! its file is an error (an empty file is an environment without overrides). Every error
//! is one line naming the file and line (or the environment variable) and the key.

use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr as _;

use figment::providers::{Env, Format as _, Serialized, Toml};
use figment::{Figment, Metadata, Source};
use serde::{Deserialize, Deserializer, Serialize};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::Directive;

use crate::Service;
pub use crate::metrics::MetricsConfig;
pub use crate::pprof::DebugConfig;
pub use crate::tls::TlsConfig;

/// The environment used when `APP_ENV` is not set.
pub const DEFAULT_ENV: &str = "development";

/// The whole configuration of the service `S`.
#[derive(Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, bound = "")]
pub struct Config<S: Service> {
    /// `[server]`: where the servers listen.
    pub server: ServerConfig,
    /// `[log]`: what is logged and how.
    pub log: LogConfig,
    /// `[tracing]`: distributed tracing (OpenTelemetry spans exported to Zipkin or OTLP).
    pub tracing: TracingConfig,
    /// `[rest]`: the REST routes transcoded to the RPCs.
    pub rest: RestConfig,
    /// `[auth]`: authentication of the calls (bearer tokens or JWTs).
    pub auth: crate::auth::AuthConfig,
    /// `[metrics]`: Prometheus metrics at `GET /metrics`.
    pub metrics: MetricsConfig,
    /// `[debug]`: development tools (CPU profiles).
    pub debug: DebugConfig,
    /// `[clients.<name>]`: the services this one calls.
    pub clients: S::ClientsConfig,
    /// `[app]`: the service's own settings (`AppConfig` in its `src/app.rs`).
    pub app: S::AppConfig,
}

impl<S: Service> Default for Config<S> {
    fn default() -> Self {
        Self {
            server: ServerConfig {
                grpc_addr: SocketAddr::from(([0, 0, 0, 0], S::GRPC_PORT)),
                http_addr: SocketAddr::from(([0, 0, 0, 0], S::HTTP_PORT)),
                ..ServerConfig::default()
            },
            log: LogConfig::default(),
            tracing: TracingConfig {
                service_name: S::NAME.to_owned(),
                ..TracingConfig::default()
            },
            rest: RestConfig::default(),
            auth: crate::auth::AuthConfig::default(),
            metrics: MetricsConfig::default(),
            debug: DebugConfig::default(),
            clients: S::ClientsConfig::default(),
            app: S::AppConfig::default(),
        }
    }
}

impl<S: Service> Clone for Config<S> {
    fn clone(&self) -> Self {
        Self {
            server: self.server.clone(),
            log: self.log.clone(),
            tracing: self.tracing.clone(),
            rest: self.rest.clone(),
            auth: self.auth.clone(),
            metrics: self.metrics.clone(),
            debug: self.debug.clone(),
            clients: self.clients.clone(),
            app: self.app.clone(),
        }
    }
}

impl<S: Service> fmt::Debug for Config<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("server", &self.server)
            .field("log", &self.log)
            .field("tracing", &self.tracing)
            .field("rest", &self.rest)
            .field("auth", &self.auth)
            .field("metrics", &self.metrics)
            .field("debug", &self.debug)
            .field("clients", &self.clients)
            .field("app", &self.app)
            .finish()
    }
}

/// `[server]`: listening addresses and graceful shutdown.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address of the gRPC server.
    pub grpc_addr: SocketAddr,
    /// Address of the HTTP server (health checks, REST).
    pub http_addr: SocketAddr,
    /// On SIGTERM or Ctrl-C: how long the service goes on serving after it reported
    /// NOT_SERVING (gRPC health, `GET /readyz`), so that load balancers stop sending it
    /// requests before it stops accepting them.
    pub shutdown_delay_ms: u64,
    /// Then: how long in-flight calls (open streams included) may take to finish before
    /// the connections still open are closed.
    pub shutdown_grace_ms: u64,
    /// The longest a request may take to be answered (a gRPC caller's shorter
    /// `grpc-timeout` wins): then DEADLINE_EXCEEDED, or 504. 0 for none. A stream's
    /// messages after its response began are not timed.
    pub request_timeout_ms: u64,
    /// Requests handled at once, gRPC and HTTP together, beyond which new ones are shed
    /// at once with RESOURCE_EXHAUSTED, or 503, rather than queued. 0 for no bound.
    pub max_concurrent_requests: usize,
    /// The largest gRPC message received or sent, in bytes (`rest.max_body_bytes` bounds
    /// HTTP bodies).
    pub max_message_bytes: usize,
    /// How often an HTTP/2 connection is pinged, to find dead peers. 0 for never (the
    /// default, as tonic's: hyper's keepalive costs every request about 950
    /// instructions, 1.7% of a bare call; the kernel's TCP keepalive, always on, finds
    /// dead peers of idle connections for free). For proxies that drop idle
    /// connections silently.
    pub http2_keepalive_interval_ms: u64,
    /// How long a ping may go unanswered before the connection is closed.
    pub http2_keepalive_timeout_ms: u64,
    /// `[server.tls]`: both servers serve TLS with this certificate; plain text without.
    pub tls: Option<TlsConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            grpc_addr: SocketAddr::from(([0, 0, 0, 0], 50051)),
            http_addr: SocketAddr::from(([0, 0, 0, 0], 8080)),
            shutdown_delay_ms: 0,
            shutdown_grace_ms: 10_000,
            request_timeout_ms: 30_000,
            max_concurrent_requests: 1024,
            max_message_bytes: 4 << 20,
            http2_keepalive_interval_ms: 0,
            http2_keepalive_timeout_ms: 10_000,
            tls: None,
        }
    }
}

/// `[rest]`: the REST routes transcoded to the RPCs (`google.api.http`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RestConfig {
    /// The HTTP headers passed to the handler as gRPC metadata (lower case).
    pub forward_headers: Vec<String>,
    /// The largest request body taken, in bytes; a larger one is answered 413.
    pub max_body_bytes: usize,
}

impl Default for RestConfig {
    fn default() -> Self {
        Self {
            forward_headers: vec!["authorization".to_owned(), "x-request-id".to_owned()],
            max_body_bytes: 4 << 20,
        }
    }
}

/// `[log]`: logging.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// An `EnvFilter` directive such as `info` or `info,demo=debug`; `RUST_LOG` overrides it.
    /// A number is a level too, as for `EnvFilter`: 0 is `off`, 1 `error`, ..., 5 `trace`.
    #[serde(deserialize_with = "level_directive")]
    pub level: String,
    /// How log lines look on the console.
    pub format: LogFormat,
    /// `[log.file]`: an optional daily-rotated file of JSON lines, next to the console.
    pub file: Option<LogFileConfig>,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".to_owned(),
            format: LogFormat::Pretty,
            file: None,
        }
    }
}

/// `[log.file]`: a daily-rotated log file, always JSON lines.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogFileConfig {
    /// The directory of the log files (created when missing); files are named
    /// `<service>.YYYY-MM-DD.log`, `<service>` being `tracing.service_name`.
    pub dir: PathBuf,
    /// How many daily files are kept; older ones are deleted.
    #[serde(default = "LogFileConfig::default_keep_days")]
    pub keep_days: usize,
}

impl LogFileConfig {
    const fn default_keep_days() -> usize {
        14
    }
}

/// The console log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines, coloured when the output is a terminal.
    Pretty,
    /// One JSON object per line, for log shippers.
    Json,
}

/// `[tracing]`: OpenTelemetry tracing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TracingConfig {
    /// Whether spans are recorded and exported at all.
    pub enabled: bool,
    /// The service name spans are reported under (Zipkin's `localEndpoint.serviceName`).
    pub service_name: String,
    /// Where spans go.
    pub exporter: TraceExporter,
    /// The Zipkin v2 JSON endpoint, for `exporter = "zipkin"`.
    pub zipkin_endpoint: String,
    /// The OTLP/HTTP traces endpoint, for `exporter = "otlp"`.
    pub otlp_endpoint: String,
    /// The fraction of new traces that are recorded, from 0.0 to 1.0. A caller's
    /// sampling decision (B3 or W3C header) is always followed.
    pub sample_ratio: f64,
    /// The trace-context header formats read from incoming requests, in order of
    /// precedence: `b3` (single `b3` and multi `X-B3-*` headers) and `w3c` (`traceparent`).
    pub propagation: Vec<Propagation>,
    /// The CA certificates (PEM) an `https://` endpoint's certificate must chain to;
    /// the web's roots when not given.
    pub ca_file: Option<PathBuf>,
}

impl Default for TracingConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            service_name: "service".to_owned(),
            exporter: TraceExporter::Zipkin,
            zipkin_endpoint: "http://127.0.0.1:9411/api/v2/spans".to_owned(),
            otlp_endpoint: "http://127.0.0.1:4318/v1/traces".to_owned(),
            sample_ratio: 1.0,
            propagation: vec![Propagation::B3, Propagation::W3c],
            ca_file: None,
        }
    }
}

/// Where spans are exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TraceExporter {
    /// Zipkin v2 JSON over HTTP.
    Zipkin,
    /// OTLP over HTTP (protobuf).
    Otlp,
}

/// A trace-context header format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Propagation {
    /// Zipkin's B3: the single `b3` header or the `X-B3-*` headers.
    B3,
    /// W3C Trace Context: `traceparent` and `tracestate`.
    W3c,
}

impl<S: Service> Config<S> {
    /// Loads the configuration from `$APP_CONFIG_DIR` (default `config/`), `$APP_ENV`
    /// (default `development`) and the `APP__*` environment variables.
    ///
    /// # Errors
    /// See [`Config::load_from`].
    pub fn load() -> Result<Self, ConfigError> {
        let from_env = std::env::var_os("APP_CONFIG_DIR");
        let named = from_env.is_some();
        let dir = from_env.map_or_else(|| PathBuf::from("config"), PathBuf::from);
        if !dir.is_dir() {
            // Run from elsewhere, the service would silently serve its built-in defaults.
            return Err(ConfigError(if named {
                format!("APP_CONFIG_DIR={} is not a directory", dir.display())
            } else {
                format!(
                    "there is no config/ directory in {}: run the service from its project \
                     directory, or set APP_CONFIG_DIR",
                    std::env::current_dir()
                        .map_or_else(|_| ".".to_owned(), |cwd| cwd.display().to_string())
                )
            }));
        }
        let env = std::env::var("APP_ENV").ok().filter(|env| !env.is_empty());
        Self::load_from(&dir, env.as_deref())
    }

    /// Loads the configuration of the environment `env` from the files in `dir` and the
    /// `APP__*` environment variables. `None` is [`DEFAULT_ENV`], whose file may be
    /// missing; the file of an environment named explicitly must exist.
    ///
    /// # Errors
    /// A missing environment file, a file that is not valid TOML, a value of the wrong
    /// type, an unknown key, a `log.level` that is not a valid directive, a
    /// `tracing.sample_ratio` outside 0..=1, an unusable `[server.tls]` certificate or
    /// key, `tracing.ca_file` or `metrics.latency_buckets`, or an invalid `[auth]` (an
    /// unusable key, an HS256 secret missing or read from a file).
    pub fn load_from(dir: &Path, env: Option<&str>) -> Result<Self, ConfigError> {
        if let Some(env) = env {
            let file = dir.join(format!("{env}.toml"));
            if !file.is_file() {
                return Err(ConfigError(format!(
                    "APP_ENV={env} but there is no {}; {} (an empty file is an environment \
                     without overrides)",
                    file.display(),
                    environments(dir),
                )));
            }
        }
        let env = env.unwrap_or(DEFAULT_ENV);
        for file in Self::files(dir, env) {
            if file.exists() {
                check_syntax(&file)?;
            }
        }
        let figment = Self::figment(dir, env);
        let mut config: Self = figment
            .extract()
            .map_err(|error| ConfigError::from_figment(&figment, &error))?;
        let invalid = |key: &str, value: String, problem: String| {
            let origin = origin(figment.find_metadata(key), &key_path(key));
            ConfigError(format!("{origin}: `{key}` = {value}: {problem}"))
        };
        match std::env::var("RUST_LOG") {
            // `RUST_LOG` replaces the level, as every `tracing` user expects.
            Ok(directives) if !directives.is_empty() => {
                if let Err(problem) = check_directives(&directives) {
                    return Err(ConfigError(format!("RUST_LOG = {directives:?}: {problem}")));
                }
                config.log.level = directives;
            }
            _ => {
                if let Err(problem) = check_directives(&config.log.level) {
                    return Err(invalid(
                        "log.level",
                        format!("{:?}", config.log.level),
                        problem,
                    ));
                }
            }
        }
        let ratio = config.tracing.sample_ratio;
        if !(0.0..=1.0).contains(&ratio) {
            return Err(invalid(
                "tracing.sample_ratio",
                ratio.to_string(),
                "must be between 0.0 and 1.0".to_owned(),
            ));
        }
        for (key, endpoint) in [
            ("tracing.zipkin_endpoint", &config.tracing.zipkin_endpoint),
            ("tracing.otlp_endpoint", &config.tracing.otlp_endpoint),
        ] {
            if let Err(problem) = check_http_url(endpoint) {
                return Err(invalid(key, format!("{endpoint:?}"), problem));
            }
        }
        if let Some(tls) = &config.server.tls
            && let Err(error) = crate::tls::ServerTls::load(tls)
        {
            let key = format!("server.tls.{}", error.key);
            return Err(invalid(&key, format!("{:?}", error.path), error.problem));
        }
        if let Some(ca_file) = &config.tracing.ca_file
            && let Err(error) = crate::tls::roots(Some(ca_file))
        {
            return Err(invalid(
                "tracing.ca_file",
                format!("{ca_file:?}"),
                error.problem,
            ));
        }
        if let Err(problem) = config.metrics.check_buckets() {
            let buckets = format!("{:?}", config.metrics.latency_buckets);
            return Err(invalid("metrics.latency_buckets", buckets, problem));
        }
        check_clients(&figment).map_err(|(key, problem)| {
            let value = figment
                .find_value(&key)
                .ok()
                .and_then(|value| serde_json::to_string(&value).ok())
                .unwrap_or_default();
            invalid(&key, value, problem)
        })?;
        crate::auth::check(&config.auth, &figment, S::METHODS, S::SERVICES).map_err(|error| {
            let origin = origin(figment.find_metadata(error.at), &key_path(error.at));
            ConfigError(format!("{origin}: {}", error.message))
        })?;
        Ok(config)
    }

    /// The layers [`Config::load`] decodes, for callers that want to add their own.
    #[must_use]
    pub fn figment(dir: &Path, env: &str) -> Figment {
        let mut figment = Figment::from(Serialized::defaults(Self::default()));
        for file in Self::files(dir, env) {
            // A missing file is an empty layer; a file that exists must be valid.
            if file.exists() {
                figment = figment.merge(Toml::file_exact(file));
            }
        }
        figment.merge(Env::prefixed(ENV_PREFIX).split("__"))
    }

    fn files(dir: &Path, env: &str) -> [PathBuf; 2] {
        [dir.join("default.toml"), dir.join(format!("{env}.toml"))]
    }

    /// The defaults with both servers on an ephemeral port of 127.0.0.1: for tests.
    #[must_use]
    pub fn ephemeral() -> Self {
        let mut config = Self::default();
        config.server.grpc_addr = SocketAddr::from(([127, 0, 0, 1], 0));
        config.server.http_addr = SocketAddr::from(([127, 0, 0, 1], 0));
        config
    }
}

/// The prefix of the environment variables that override the files.
const ENV_PREFIX: &str = "APP__";

/// Checks every `[clients.<name>]` that is a [`ClientConfig`](crate::client::ClientConfig)
/// (those of svcgen's `clients!` are): its values, and where `endpoint` and `endpoints`
/// come from. A non-empty `endpoints` replaces `endpoint`, so a layer may list replicas
/// in place of an earlier layer's `endpoint` (development.toml over default.toml); one
/// layer that sets both, or an `endpoint` set in a later layer than the `endpoints` it
/// would not replace, is refused. The error is the full key and what is wrong.
fn check_clients(figment: &Figment) -> Result<(), (String, String)> {
    let Ok(figment::value::Value::Dict(_, clients)) = figment.find_value("clients") else {
        return Ok(());
    };
    // The layer a key's value comes from: 0 the built-in defaults, then the files in
    // order, then the environment.
    let layer = |key: &str| match figment.find_metadata(key) {
        Some(Metadata {
            source: Some(Source::File(file)),
            ..
        }) => 1 + usize::from(!file.ends_with("default.toml")),
        Some(metadata) if metadata.name.contains(ENV_PREFIX) => 3,
        _ => 0,
    };
    for name in clients.keys() {
        let section = format!("clients.{name}");
        let Ok(client) = figment.extract_inner::<crate::client::ClientConfig>(&section) else {
            continue;
        };
        let (endpoint, endpoints) = (
            format!("{section}.endpoint"),
            format!("{section}.endpoints"),
        );
        let (endpoint_layer, endpoints_layer) = (layer(&endpoint), layer(&endpoints));
        if !client.endpoints.is_empty() && !client.endpoint.is_empty() && endpoint_layer > 0 {
            if endpoint_layer == endpoints_layer {
                return Err((
                    endpoint,
                    format!("`{endpoints}` is set too: give one of them"),
                ));
            }
            if endpoint_layer > endpoints_layer {
                return Err((
                    endpoint,
                    format!(
                        "`{endpoints}`, set by {}, would replace it: set `endpoints = []` \
                         beside it",
                        origin(figment.find_metadata(&endpoints), &key_path(&endpoints))
                    ),
                ));
            }
        }
        client
            .check()
            .map_err(|invalid| (format!("{section}.{}", invalid.key), invalid.problem))?;
    }
    Ok(())
}

/// `a.b.c` as the path `[a, b, c]`.
fn key_path(key: &str) -> Vec<String> {
    key.split('.').map(str::to_owned).collect()
}

/// An invalid configuration, in one line: where (file:line:column, or the environment
/// variable), which key, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    fn from_figment(figment: &Figment, error: &figment::Error) -> Self {
        use figment::error::Kind;

        let key = error.path.join(".");
        let (keys_of, none_in) = match error.path.split_last() {
            Some((_, [])) | None => (
                "the top-level keys".to_owned(),
                "at the top level".to_owned(),
            ),
            Some((_, parent)) => (
                format!("the keys of [{}]", parent.join(".")),
                format!("in [{}]", parent.join(".")),
            ),
        };
        let problem = match &error.kind {
            Kind::UnknownField(_, []) => {
                format!("unknown key `{key}` (no key is expected {none_in})")
            }
            Kind::UnknownField(_, expected) => format!(
                "unknown key `{key}` ({keys_of} are {})",
                expected.join(", ")
            ),
            Kind::UnknownVariant(found, expected) => {
                format!("`{key}` = {found:?} is not one of {}", expected.join(", "))
            }
            Kind::InvalidType(found, expected) | Kind::InvalidValue(found, expected) => {
                format!("`{key}` must be {expected}, found {found}")
            }
            Kind::MissingField(field) if key.is_empty() => format!("missing key `{field}`"),
            Kind::MissingField(field) => format!("missing key `{key}.{field}`"),
            Kind::Message(message) if !key.is_empty() => {
                match figment
                    .find_value(&key)
                    .ok()
                    .and_then(|value| value.into_string())
                {
                    Some(value) => format!("`{key}` = {value:?}: {message}"),
                    None => format!("`{key}`: {message}"),
                }
            }
            other => other.to_string(),
        };
        let more = match error.count() {
            1 => String::new(),
            count => format!(" (and {} more errors)", count - 1),
        };
        Self(format!(
            "{}: {problem}{more}",
            origin(error.metadata.as_ref(), &error.path)
        ))
    }
}

/// Where the value at `path` came from: `file:line:column`, an environment variable, or
/// the built-in defaults.
fn origin(metadata: Option<&Metadata>, path: &[String]) -> String {
    match metadata {
        Some(Metadata {
            source: Some(Source::File(file)),
            ..
        }) => {
            let position = std::fs::read_to_string(file)
                .ok()
                .and_then(|text| locate(&text, path).map(|span| line_column(&text, span.start)));
            match position {
                Some((line, column)) => format!("{}:{line}:{column}", file.display()),
                None => file.display().to_string(),
            }
        }
        Some(metadata) if metadata.name.contains(ENV_PREFIX) => env_variable(path),
        _ => "the built-in defaults".to_owned(),
    }
}

/// The environment variable that set the key at `path`: the one set, when the key is a
/// section (`APP__CLIENTS__NOPE__ENDPOINT` for `clients.nope`), else the key's own.
fn env_variable(path: &[String]) -> String {
    let name = format!("{ENV_PREFIX}{}", path.join("__").to_uppercase());
    let section = format!("{name}__");
    let mut below: Vec<String> = std::env::vars_os()
        .filter_map(|(variable, _)| variable.into_string().ok())
        .filter(|variable| variable.to_uppercase().starts_with(&section))
        .collect();
    below.sort();
    match below.as_slice() {
        [one] => one.clone(),
        [] => name,
        _ => format!("{section}*"),
    }
}

/// The span of the key at `path` in the TOML `text` (of its deepest part found).
fn locate(text: &str, path: &[String]) -> Option<Range<usize>> {
    let document = toml_edit::ImDocument::parse(text).ok()?;
    let mut table = Some(document.as_table() as &dyn toml_edit::TableLike);
    let mut span = None;
    for part in path {
        let Some((key, item)) = table.and_then(|table| table.get_key_value(part)) else {
            break;
        };
        span = key.span().or(span);
        table = item.as_table_like();
    }
    span
}

/// The 1-based line and column of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

/// Fails when `file` is not valid TOML, with the line and column of the problem.
fn check_syntax(file: &Path) -> Result<(), ConfigError> {
    let text = std::fs::read_to_string(file)
        .map_err(|error| ConfigError(format!("{}: cannot read it: {error}", file.display())))?;
    toml_edit::ImDocument::parse(text.as_str()).map_err(|error| {
        let at = match error.span() {
            Some(span) => {
                let (line, column) = line_column(&text, span.start);
                format!("{}:{line}:{column}", file.display())
            }
            None => file.display().to_string(),
        };
        let message = error.message().trim().replace('\n', "; ");
        ConfigError(format!("{at}: invalid TOML: {message}"))
    })?;
    Ok(())
}

/// The environments `dir` has files for, for error messages.
fn environments(dir: &Path) -> String {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let name = path.file_stem()?.to_str()?.to_owned();
            (path.extension()? == "toml" && name != "default").then_some(name)
        })
        .collect();
    names.sort();
    if names.is_empty() {
        format!("{} has no environment files", dir.display())
    } else {
        format!("the environments are {}", names.join(", "))
    }
}

/// Checks level directives as `EnvFilter` parses them, naming the one that is wrong.
///
/// # Errors
/// Why the directives are invalid, in one line.
pub(crate) fn check_directives(directives: &str) -> Result<(), String> {
    if directives.trim().is_empty() {
        // EnvFilter takes it, and then logs errors only: surely not what was meant.
        return Err("empty; give a level such as \"info\" (or \"off\")".to_owned());
    }
    // A bare word is a target name to EnvFilter (`my_crate` alone enables it at every
    // level and turns everything else off), so a misspelt level or a level number out of
    // range would silently turn logging off: those are refused.
    for part in directives.split(',').map(str::trim) {
        let level = part.rsplit_once('=').map_or(part, |(_, level)| level);
        if level.bytes().all(|byte| byte.is_ascii_digit()) && !level.is_empty() {
            if level.parse::<u8>().map_or(true, |number| number > 5) {
                return Err(format!("`{part}`: a level number is 0 (off) to 5 (trace)"));
            }
        } else if !part.contains('=')
            && !part.contains('[')
            && NOT_LEVELS.contains(&part.to_ascii_lowercase().as_str())
        {
            return Err(format!(
                "`{part}` is not a level (they are off, error, warn, info, debug, trace); \
                 a bare word names a target"
            ));
        }
    }
    let Err(error) = EnvFilter::builder().parse(directives) else {
        return Ok(());
    };
    let invalid = directives
        .split(',')
        .find(|part| !part.is_empty() && Directive::from_str(part).is_err());
    Err(match invalid {
        Some(part) if part != directives => format!("`{part}`: {error}"),
        _ => error.to_string(),
    })
}

/// Whether `url` is an absolute `http://` or `https://` URL (the exporters post to it).
fn check_http_url(url: &str) -> Result<(), String> {
    let uri: http::Uri = url.parse().map_err(|error| format!("not a URL: {error}"))?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http" | "https"), Some(host)) if !host.is_empty() => Ok(()),
        _ => Err("must be an http:// or https:// URL with a host".to_owned()),
    }
}

/// Words taken for levels that are not `tracing`'s (which would name a target).
const NOT_LEVELS: &[&str] = &[
    "warning",
    "verbose",
    "err",
    "fatal",
    "critical",
    "crit",
    "notice",
    "information",
    "informational",
    "all",
    "none",
    "debugging",
];

/// `log.level` as a string, or a number as `EnvFilter` reads it (`APP__LOG__LEVEL=5`
/// arrives as a number).
fn level_directive<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    struct Level;

    impl serde::de::Visitor<'_> for Level {
        type Value = String;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a level directive such as \"info\" or \"info,my_crate=debug\"")
        }

        fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<String, E> {
            Ok(value.to_owned())
        }

        fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<String, E> {
            Ok(value.to_string())
        }

        fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<String, E> {
            Ok(value.to_string())
        }
    }

    deserializer.deserialize_any(Level)
}
