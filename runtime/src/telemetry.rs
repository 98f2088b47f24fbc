//! Logging and tracing: `tracing` events to the console (human-readable or JSON lines),
//! optionally to a daily-rotated JSON file, and `tracing` spans to OpenTelemetry.
//!
//! Every layer has its own filter, so `tracing`'s per-callsite cache keeps disabled
//! events nearly free. JSON lines, and human-readable lines at their end, carry the
//! `trace_id` and `span_id` of the current OpenTelemetry context: every event logged
//! while a request is handled has them.

use std::io::IsTerminal as _;

use anyhow::Context as _;
use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing::{Metadata, Subscriber};
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context, Filter, SubscriberExt as _};
use tracing_subscriber::{EnvFilter, Layer as _};

use crate::config::{LogConfig, LogFormat, TracingConfig};
use crate::log_format::{DirectJson, JsonLines, PrettyLines};
use crate::log_writer::{BatchWriter, FlushGuard};
use crate::otel::{self, RequestTracer};

/// The target of the server span of each sampled request; only OpenTelemetry sees it.
pub const REQUEST_SPAN_TARGET: &str = "svcgen::request";

/// The target of the access log lines; they are not copied into spans.
pub const ACCESS_TARGET: &str = "access";

/// How long [`Telemetry::shutdown`] waits for the last spans to be exported.
const SHUTDOWN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The logging and tracing pipeline; keep it alive while the service runs and call
/// [`Telemetry::shutdown`] at exit to flush the last spans and log lines.
#[derive(Debug)]
pub struct Telemetry {
    dispatch: tracing::Dispatch,
    provider: Option<SdkTracerProvider>,
    file_guard: Option<FlushGuard>,
    console_guard: FlushGuard,
}

/// Builds the pipeline described by `[log]` and `[tracing]` and installs it as the
/// global `tracing` subscriber.
///
/// Call it before starting the async runtime.
///
/// # Errors
/// An invalid setting, a log directory that cannot be created, or a subscriber that is
/// already installed.
pub fn init(log: &LogConfig, tracing: &TracingConfig) -> anyhow::Result<Telemetry> {
    let telemetry = Telemetry::new(log, tracing)?;
    tracing::dispatcher::set_global_default(telemetry.dispatch.clone())
        .context("a global tracing subscriber is already installed")?;
    Ok(telemetry)
}

impl Telemetry {
    /// Builds the pipeline without installing it (tests install it per thread with
    /// [`tracing::dispatcher::set_default`]).
    ///
    /// # Errors
    /// An invalid setting or a log directory that cannot be created.
    pub fn new(log: &LogConfig, tracing_config: &TracingConfig) -> anyhow::Result<Self> {
        // Validate the directive once, first, so that the layers' lossy copies below
        // cannot fail nor complain on stderr.
        if let Err(problem) = crate::config::check_directives(&log.level) {
            anyhow::bail!("log.level = {:?}: {problem}", log.level);
        }
        let provider = if tracing_config.enabled {
            Some(otel::provider(tracing_config)?)
        } else {
            None
        };
        let (file_writer, file_guard) = match &log.file {
            Some(file) => {
                std::fs::create_dir_all(&file.dir).with_context(|| {
                    format!("cannot create the log directory {}", file.dir.display())
                })?;
                let appender = RollingFileAppender::builder()
                    .rotation(Rotation::DAILY)
                    .filename_prefix(&tracing_config.service_name)
                    .filename_suffix("log")
                    .max_log_files(file.keep_days.max(1))
                    .build(&file.dir)
                    .with_context(|| format!("cannot open a log file in {}", file.dir.display()))?;
                let (writer, guard) = BatchWriter::spawn("log-file", appender)
                    .context("cannot start the log file writer")?;
                (Some(writer), Some(guard))
            }
            None => (None, None),
        };

        // Lines leave in batches from a background thread (see `log_writer`), so a request
        // never waits for a system call or wakes a thread to log.
        let (console, console_guard) = BatchWriter::spawn("log-console", std::io::stdout())
            .context("cannot start the console log writer")?;
        let pretty = (log.format == LogFormat::Pretty).then(|| {
            let ansi = std::io::stdout().is_terminal();
            tracing_subscriber::fmt::layer()
                .event_format(PrettyLines::new(ansi))
                .with_writer(console.clone())
                .with_ansi(ansi)
                .with_filter(log_filter(log))
        });
        // Every sink writes JSON: the access log may write to them directly, when the
        // level directive is plain `target=level` ones it can evaluate itself. The layer
        // sees nothing (an unfiltered layer would enable every callsite).
        let direct = (log.format == LogFormat::Json)
            .then(|| directives(log).parse::<Targets>().ok())
            .flatten()
            .map(|levels| {
                DirectJson::new(
                    std::iter::once(console.clone())
                        .chain(file_writer.clone())
                        .collect(),
                    levels,
                    ACCESS_TARGET,
                )
                .with_filter(LevelFilter::OFF)
            });
        let json = (log.format == LogFormat::Json).then(|| {
            tracing_subscriber::fmt::layer()
                .with_writer(console)
                .event_format(JsonLines)
                .with_filter(log_filter(log))
        });
        let file = file_writer.map(|writer| {
            tracing_subscriber::fmt::layer()
                .event_format(JsonLines)
                .with_writer(writer)
                .with_filter(log_filter(log))
        });
        let scope = otel::scope(tracing_config);
        let spans = provider.as_ref().map(|provider| {
            tracing_opentelemetry::layer()
                .with_tracer(provider.tracer_with_scope(scope.clone()))
                .with_location(false)
                .with_threads(false)
                .with_target(false)
                .with_tracked_inactivity(false)
                .with_filter(SpanFilter {
                    level: level_filter(log),
                })
        });
        // The request layer's SERVER spans; like `direct`, a layer that sees nothing.
        let request_tracer = provider.as_ref().map(|provider| {
            RequestTracer(provider.tracer_with_scope(scope.clone())).with_filter(LevelFilter::OFF)
        });
        // The layers the request layer looks up (`Dispatch::downcast_ref`, twice per
        // request) go last: a lookup starts at the outermost layer.
        let subscriber = tracing_subscriber::registry()
            .with(pretty)
            .with(json)
            .with(file)
            .with(spans)
            .with(direct)
            .with(request_tracer);
        Ok(Self {
            dispatch: tracing::Dispatch::new(subscriber),
            provider,
            file_guard,
            console_guard,
        })
    }

    /// The subscriber, to install with [`tracing::dispatcher::set_default`].
    #[must_use]
    pub const fn dispatch(&self) -> &tracing::Dispatch {
        &self.dispatch
    }

    /// Exports the spans still queued (waiting at most a few seconds for the collector)
    /// and writes the log lines still buffered.
    ///
    /// Blocks the calling thread: call it outside the async runtime, or from
    /// `spawn_blocking`.
    pub fn shutdown(self) {
        if let Some(provider) = &self.provider
            && let Err(error) = provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT)
        {
            tracing::warn!(%error, "cannot export the last spans");
        }
        drop(self.file_guard);
        drop(self.console_guard);
    }
}

/// The `[log] level` directive (`RUST_LOG`, when set, replaced it as the configuration
/// was loaded: a configuration built in code, as tests do, is not changed by the shell).
fn directives(config: &LogConfig) -> String {
    config.level.clone()
}

fn level_filter(config: &LogConfig) -> EnvFilter {
    // `Telemetry::new` checks the directive; an invalid part is skipped here.
    EnvFilter::builder().parse_lossy(directives(config))
}

/// The filter of a log sink: the level directive, minus the request spans (the access
/// log line already describes each request). A plain `EnvFilter` of static directives,
/// so `tracing` caches its verdict per callsite and disabled spans and events cost
/// nearly nothing.
fn log_filter(config: &LogConfig) -> EnvFilter {
    EnvFilter::builder().parse_lossy(format!("{},{REQUEST_SPAN_TARGET}=off", directives(config)))
}

/// The filter of the OpenTelemetry layer: request spans always (they exist only when
/// sampled); other spans and events when the level directive enables them and they
/// belong to a sampled trace (or, for a span, start a new one) — so nothing is built
/// for the spans of a request that is not sampled.
struct SpanFilter {
    level: EnvFilter,
}

impl SpanFilter {
    fn in_sampled_trace(metadata: &Metadata<'_>) -> bool {
        opentelemetry::Context::map_current(|cx| {
            if cx.has_active_span() {
                cx.span().span_context().is_sampled()
            } else {
                metadata.is_span()
            }
        })
    }
}

impl<S: Subscriber> Filter<S> for SpanFilter {
    fn enabled(&self, metadata: &Metadata<'_>, cx: &Context<'_, S>) -> bool {
        if metadata.target() == REQUEST_SPAN_TARGET {
            return true;
        }
        if metadata.target() == crate::trace::SPAN_TARGET {
            return Self::in_sampled_trace(metadata);
        }
        if metadata.target() == ACCESS_TARGET {
            return false;
        }
        Filter::<S>::enabled(&self.level, metadata, cx) && Self::in_sampled_trace(metadata)
    }

    fn callsite_enabled(&self, metadata: &'static Metadata<'static>) -> Interest {
        if metadata.target() == REQUEST_SPAN_TARGET {
            return Interest::always();
        }
        if metadata.target() == crate::trace::SPAN_TARGET {
            return Interest::sometimes();
        }
        if metadata.target() == ACCESS_TARGET
            || Filter::<S>::callsite_enabled(&self.level, metadata).is_never()
        {
            return Interest::never();
        }
        Interest::sometimes()
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Filter::<S>::max_level_hint(&self.level).map(|level| level.max(LevelFilter::INFO))
    }

    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: Context<'_, S>,
    ) {
        Filter::<S>::on_new_span(&self.level, attrs, id, ctx);
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        ctx: Context<'_, S>,
    ) {
        Filter::<S>::on_record(&self.level, id, values, ctx);
    }

    fn on_enter(&self, id: &tracing::span::Id, ctx: Context<'_, S>) {
        Filter::<S>::on_enter(&self.level, id, ctx);
    }

    fn on_exit(&self, id: &tracing::span::Id, ctx: Context<'_, S>) {
        Filter::<S>::on_exit(&self.level, id, ctx);
    }

    fn on_close(&self, id: tracing::span::Id, ctx: Context<'_, S>) {
        Filter::<S>::on_close(&self.level, id, ctx);
    }
}
