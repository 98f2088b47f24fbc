//! OpenTelemetry plumbing: the tracer provider (sampler, exporter, batch processor), the
//! trace-context propagators, the sampling decision taken once per incoming request and
//! the SERVER span of each sampled one.
//!
//! Sampling is decided up front, before any span exists: a request that is not sampled
//! gets no OpenTelemetry span at all, only a context holding its trace id (so its logs
//! still carry `trace_id`/`span_id` and a downstream call can continue the trace).
//! Every span — the request layer's SERVER spans, the handlers' own, the clients'
//! CLIENT spans — ends in the SDK's batch processor, which exports from its own thread.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use http::{HeaderMap, HeaderName};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::{SpanBuilder, SpanContext, SpanKind, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, InstrumentationScope, KeyValue};
use opentelemetry_propagator_b3::{B3Encoding, Propagator as B3Propagator};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, IdGenerator as _, RandomIdGenerator, Sampler,
    SdkTracer, SdkTracerProvider,
};

use crate::access_log::{Protocol, Route};
use crate::config::{Propagation, TraceExporter, TracingConfig};
use crate::zipkin;

/// How long one export may take before it is abandoned (a hung collector costs at most
/// this much of the exporter thread's time; requests never wait for it).
pub const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// Spans waiting for export; beyond this, new spans are dropped (and counted).
const MAX_QUEUE_SIZE: usize = 2048;

/// Spans sent per export request.
const MAX_EXPORT_BATCH_SIZE: usize = 512;

/// How often queued spans are exported.
const SCHEDULED_DELAY: Duration = Duration::from_secs(2);

/// Builds the tracer provider described by `[tracing]`: a batch span processor with a
/// bounded queue, exporting from its own thread to Zipkin or OTLP.
///
/// # Errors
/// An invalid setting, or an exporter that cannot be built.
pub fn provider(config: &TracingConfig) -> anyhow::Result<SdkTracerProvider> {
    validate(config)?;
    let batch = BatchConfigBuilder::default()
        .with_max_queue_size(MAX_QUEUE_SIZE)
        .with_max_export_batch_size(MAX_EXPORT_BATCH_SIZE)
        .with_scheduled_delay(SCHEDULED_DELAY)
        .build();
    let processor = match config.exporter {
        TraceExporter::Zipkin => {
            let exporter = zipkin::Exporter::new(
                &config.zipkin_endpoint,
                &config.service_name,
                EXPORT_TIMEOUT,
                config.ca_file.as_deref(),
            )?;
            BatchSpanProcessor::builder(exporter)
                .with_batch_config(batch)
                .build()
        }
        TraceExporter::Otlp => {
            use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
            let client = blocking_http_client(EXPORT_TIMEOUT, config.ca_file.as_deref())?;
            let exporter = opentelemetry_otlp::SpanExporter::builder()
                .with_http()
                .with_http_client(client)
                .with_endpoint(&config.otlp_endpoint)
                .with_timeout(EXPORT_TIMEOUT)
                .build()
                .context("cannot build the OTLP exporter")?;
            BatchSpanProcessor::builder(exporter)
                .with_batch_config(batch)
                .build()
        }
    };
    let resource = Resource::builder()
        .with_service_name(config.service_name.clone())
        .build();
    Ok(SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            config.sample_ratio,
        ))))
        .with_resource(resource)
        .build())
}

/// The instrumentation scope of the service's spans, named after it.
#[must_use]
pub fn scope(config: &TracingConfig) -> InstrumentationScope {
    InstrumentationScope::builder(config.service_name.clone()).build()
}

fn validate(config: &TracingConfig) -> anyhow::Result<()> {
    anyhow::ensure!(
        (0.0..=1.0).contains(&config.sample_ratio),
        "tracing.sample_ratio must be between 0.0 and 1.0, not {}",
        config.sample_ratio
    );
    anyhow::ensure!(
        !config.service_name.is_empty(),
        "tracing.service_name must not be empty"
    );
    Ok(())
}

/// A blocking HTTP client for the exporter thread, giving up on a request after `timeout`;
/// `https://` endpoints are called over TLS, trusting `ca_file` (PEM), or the web's roots.
///
/// Built on a short-lived thread of its own: a `reqwest::blocking::Client` built on a
/// thread that runs an async runtime panics (debug builds), and the batch processor
/// calls it from its own plain thread anyway.
///
/// # Errors
/// `ca_file` cannot be used, or the client cannot be built.
pub fn blocking_http_client(
    timeout: Duration,
    ca_file: Option<&std::path::Path>,
) -> anyhow::Result<reqwest::blocking::Client> {
    let tls =
        crate::tls::client_config(ca_file).map_err(|error| anyhow::anyhow!("tracing.{error}"))?;
    std::thread::Builder::new()
        .name("otel-http-client".to_owned())
        .spawn(move || {
            reqwest::blocking::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout.min(Duration::from_secs(2)))
                .tls_backend_preconfigured(tls)
                .build()
        })
        .context("cannot spawn a thread")?
        .join()
        .map_err(|_| anyhow::anyhow!("building the HTTP client panicked"))?
        .context("cannot build the HTTP client")
}

/// The tracer of a logging and tracing pipeline's SERVER spans: a do-nothing layer of
/// the pipeline, found with `Dispatch::downcast_ref`, so that each pipeline (tests build
/// several) has its own.
#[derive(Debug, Clone)]
pub struct RequestTracer(pub SdkTracer);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for RequestTracer {}

impl RequestTracer {
    /// Starts the SERVER span of the request `served` describes, with the SDK's sampler
    /// (`ParentBased(TraceIdRatioBased)`): a child of `parent`'s span when it has one
    /// (the caller's), else a root. Returns the context holding it, which the request's
    /// code runs in. A request that is not sampled gets a span that records nothing,
    /// which carries its trace id all the same; its attributes and name are only
    /// written when it records.
    #[must_use]
    pub fn start(&self, served: &Served, parent: Context) -> Context {
        let name = match served.route {
            Route::Grpc(route) => Cow::Borrowed(route),
            _ => Cow::Borrowed("request"),
        };
        let span = self.0.build_with_context(
            SpanBuilder::from_name(name).with_kind(SpanKind::Server),
            &parent,
        );
        let context = parent.with_span(span);
        let span = context.span();
        if span.is_recording() {
            if !matches!(served.route, Route::Grpc(_)) {
                span.update_name(served.name());
            }
            span.set_attributes(served.attributes());
        }
        context
    }
}

/// What a SERVER span is about, known when its request arrives.
#[derive(Debug, Clone)]
pub struct Served {
    /// Which server the request came to.
    pub protocol: Protocol,
    /// The HTTP method.
    pub method: http::Method,
    /// `package.Service/Method` for gRPC, the route template (or path) for HTTP.
    pub route: Route,
    /// The client's address, when known.
    pub peer: Option<SocketAddr>,
}

impl Served {
    /// The span's name: `package.Service/Method` for gRPC, `METHOD /route` for HTTP.
    #[must_use]
    pub fn name(&self) -> Cow<'static, str> {
        match (self.protocol, &self.route) {
            (Protocol::Grpc, &Route::Grpc(route)) => Cow::Borrowed(route),
            (Protocol::Grpc, route) => Cow::Owned(route.as_str().to_owned()),
            (Protocol::Http, route) => Cow::Owned(format!("{} {}", self.method, route.as_str())),
        }
    }

    /// The span's attributes (OpenTelemetry semantic conventions).
    #[must_use]
    pub fn attributes(&self) -> Vec<KeyValue> {
        let mut attributes = Vec::with_capacity(5);
        match self.protocol {
            Protocol::Grpc => {
                let route = self.route.as_str();
                let (service, method) = route.split_once('/').unwrap_or((route, ""));
                attributes.push(KeyValue::new(RPC_SYSTEM, "grpc"));
                attributes.push(KeyValue::new(RPC_SERVICE, service.to_owned()));
                attributes.push(KeyValue::new(RPC_METHOD, method.to_owned()));
            }
            Protocol::Http => {
                attributes.push(KeyValue::new(HTTP_METHOD, self.method.as_str().to_owned()));
                attributes.push(KeyValue::new(HTTP_ROUTE, self.route.as_str().to_owned()));
            }
        }
        if let Some(peer) = self.peer {
            attributes.push(KeyValue::new(PEER_ADDRESS, peer.ip().to_string()));
            attributes.push(KeyValue::new(PEER_PORT, i64::from(peer.port())));
        }
        attributes
    }
}

/// Attribute keys of SERVER spans (OpenTelemetry semantic conventions).
pub const RPC_SYSTEM: &str = "rpc.system";
/// The gRPC service, `package.Service`.
pub const RPC_SERVICE: &str = "rpc.service";
/// The gRPC method.
pub const RPC_METHOD: &str = "rpc.method";
/// The HTTP method.
pub const HTTP_METHOD: &str = "http.request.method";
/// The HTTP route template.
pub const HTTP_ROUTE: &str = "http.route";
/// The client's IP address.
pub const PEER_ADDRESS: &str = "network.peer.address";
/// The client's port.
pub const PEER_PORT: &str = "network.peer.port";

/// The trace context of requests, shared by the gRPC and HTTP servers and the clients:
/// read from incoming headers, written into outgoing ones.
#[derive(Clone)]
pub struct RequestTracing {
    enabled: bool,
    propagators: Arc<[Box<dyn TextMapPropagator + Send + Sync>]>,
    /// The headers that carry a trace id in the configured formats: without one of them
    /// a request starts a new trace, and the propagators need not look further.
    carriers: Arc<[HeaderName]>,
}

impl std::fmt::Debug for RequestTracing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestTracing")
            .field("enabled", &self.enabled)
            .field("propagators", &self.propagators.len())
            .finish()
    }
}

impl RequestTracing {
    /// The decisions described by `[tracing]`.
    #[must_use]
    pub fn new(config: &TracingConfig) -> Self {
        let carriers: Vec<HeaderName> = config
            .propagation
            .iter()
            .flat_map(|propagation| match propagation {
                Propagation::B3 => &["b3", "x-b3-traceid"][..],
                Propagation::W3c => &["traceparent"][..],
            })
            .map(|name| HeaderName::from_static(name))
            .collect();
        let propagators: Vec<Box<dyn TextMapPropagator + Send + Sync>> = config
            .propagation
            .iter()
            .map(|propagation| -> Box<dyn TextMapPropagator + Send + Sync> {
                match propagation {
                    Propagation::B3 => Box::new(B3Propagator::with_encoding(
                        B3Encoding::SingleAndMultiHeader,
                    )),
                    Propagation::W3c => Box::new(TraceContextPropagator::new()),
                }
            })
            .collect();
        Self {
            enabled: config.enabled,
            propagators: propagators.into(),
            carriers: carriers.into(),
        }
    }

    /// The caller's trace context, from the first configured format present in `headers`.
    #[must_use]
    pub fn extract(&self, headers: &HeaderMap) -> Context {
        // Requests carry a handful of headers: one pass over them is cheaper than a
        // lookup per carrier.
        if !headers
            .keys()
            .any(|name| self.carriers.iter().any(|carrier| carrier == name))
        {
            return Context::new();
        }
        let extractor = HeaderExtractor(headers);
        for propagator in self.propagators.iter() {
            let context = propagator.extract(&extractor);
            if context.span().span_context().is_valid() {
                return context;
            }
        }
        Context::new()
    }

    /// Writes `context` into `headers` in every configured format, for outgoing calls;
    /// nothing when it carries no trace (a call made outside any request), so that the
    /// callee starts a trace of its own rather than read "not sampled".
    pub fn inject(&self, context: &Context, headers: &mut HeaderMap) {
        if !context.span().span_context().is_valid() {
            return;
        }
        let mut injector = HeaderInjector(headers);
        for propagator in self.propagators.iter() {
            propagator.inject_context(context, &mut injector);
        }
    }

    /// The trace context of the request with these headers, described by `served`: its
    /// SERVER span, started by `tracer` (see [`RequestTracer::start`]) when tracing is
    /// on; else a span that records nothing, with the caller's trace id (or a new one)
    /// and a span id of its own, so that the request's logs and calls carry its trace.
    #[must_use]
    pub fn start(
        &self,
        headers: &HeaderMap,
        tracer: Option<&RequestTracer>,
        served: impl FnOnce() -> Served,
    ) -> Context {
        let parent = self.extract(headers);
        if self.enabled
            && let Some(tracer) = tracer
        {
            return tracer.start(&served(), parent);
        }
        let ids = RandomIdGenerator::default();
        let remote = parent.span().span_context().clone();
        let trace_id = if remote.is_valid() {
            remote.trace_id()
        } else {
            ids.new_trace_id()
        };
        let local = SpanContext::new(
            trace_id,
            ids.new_span_id(),
            remote.trace_flags().with_sampled(false),
            false,
            remote.trace_state().clone(),
        );
        parent.with_remote_span_context(local)
    }

    /// Whether requests get SERVER spans (`tracing.enabled`).
    #[must_use]
    pub const fn enabled(&self) -> bool {
        self.enabled
    }
}

/// Reads trace headers from an HTTP (or gRPC metadata) header map.
struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

/// Writes trace headers into an HTTP (or gRPC metadata) header map.
struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        // An empty `tracestate` says nothing.
        if value.is_empty() {
            return;
        }
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(key.as_bytes()),
            http::HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

/// What unit tests record spans with.
#[cfg(test)]
pub mod testing {
    use std::sync::{Arc, Mutex};

    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::trace::{SpanData, SpanExporter};

    /// Keeps the exported spans for the test to read.
    #[derive(Debug, Clone, Default)]
    pub struct Recorded(pub Arc<Mutex<Vec<SpanData>>>);

    impl Recorded {
        /// The spans exported so far.
        pub fn spans(&self) -> Vec<SpanData> {
            self.0.lock().expect("the recorded spans").clone()
        }
    }

    impl SpanExporter for Recorded {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            self.0.lock().expect("the recorded spans").extend(batch);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::TracerProvider as _;
    use opentelemetry::trace::{SpanId, Status, TraceFlags, TraceId, TraceState};

    use super::testing::Recorded;
    use super::*;

    #[test]
    fn a_server_span_is_a_child_of_the_caller_with_the_requests_attributes() {
        let recorded = Recorded::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(recorded.clone())
            .build();
        let tracer = RequestTracer(provider.tracer("demo"));
        let caller = SpanContext::new(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
            SpanId::from_hex("00f067aa0ba902b7").unwrap(),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        );
        let parent = Context::new().with_remote_span_context(caller.clone());
        let request = Served {
            protocol: Protocol::Grpc,
            method: http::Method::POST,
            route: Route::Grpc("pkg.Svc/Say"),
            peer: Some("10.0.0.7:50123".parse().unwrap()),
        };
        let context = tracer.start(&request, parent);
        {
            // What a handler does through the context: an error event and status.
            let _attached = context.clone().attach();
            crate::trace::record_error("no rows");
        }
        context.span().end();
        let exported = recorded.spans();
        assert_eq!(exported.len(), 1, "{exported:?}");
        let exported = &exported[0];
        assert_eq!(exported.name, "pkg.Svc/Say");
        assert_eq!(exported.span_kind, SpanKind::Server);
        assert_eq!(exported.span_context.trace_id(), caller.trace_id());
        assert_ne!(exported.span_context.span_id(), caller.span_id());
        assert_eq!(exported.parent_span_id, caller.span_id());
        assert!(exported.parent_span_is_remote);
        assert_eq!(exported.status, Status::error("no rows"));
        assert_eq!(
            exported.attributes,
            [
                KeyValue::new("rpc.system", "grpc"),
                KeyValue::new("rpc.service", "pkg.Svc"),
                KeyValue::new("rpc.method", "Say"),
                KeyValue::new("network.peer.address", "10.0.0.7"),
                KeyValue::new("network.peer.port", 50_123_i64),
            ]
        );

        // A root: no parent.
        let request = Served {
            protocol: Protocol::Http,
            method: http::Method::GET,
            route: Route::Path(http::uri::PathAndQuery::from_static("/root")),
            peer: None,
        };
        let context = tracer.start(&request, Context::new());
        let trace_id = context.span().span_context().trace_id();
        context.span().end();
        let exported = recorded.spans();
        assert_eq!(exported[1].name, "GET /root");
        assert_eq!(exported[1].span_context.trace_id(), trace_id);
        assert_eq!(exported[1].parent_span_id, SpanId::INVALID);
    }

    fn tracing(propagation: Vec<Propagation>) -> RequestTracing {
        RequestTracing::new(&TracingConfig {
            propagation,
            ..TracingConfig::default()
        })
    }

    #[test]
    fn a_call_outside_any_trace_carries_no_trace_headers() {
        let mut headers = HeaderMap::new();
        tracing(vec![Propagation::B3, Propagation::W3c]).inject(&Context::new(), &mut headers);
        assert!(headers.is_empty(), "{headers:?}");
    }

    #[test]
    fn a_call_inside_a_trace_carries_it_in_every_format_and_no_empty_header() {
        let context = Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
            SpanId::from_hex("00f067aa0ba902b7").unwrap(),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ));
        let mut headers = HeaderMap::new();
        tracing(vec![Propagation::B3, Propagation::W3c]).inject(&context, &mut headers);
        assert_eq!(
            headers["traceparent"],
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        );
        assert_eq!(
            headers["b3"],
            "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1"
        );
        assert!(headers.get("tracestate").is_none(), "{headers:?}");
        assert!(
            headers.values().all(|value| !value.is_empty()),
            "{headers:?}"
        );
    }
}
