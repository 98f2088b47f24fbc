//! What the service's tracing puts on the wire: the trace headers its outgoing gRPC and
//! HTTP calls carry and the CLIENT spans they get, which headers of incoming requests it
//! reads (as `[tracing] propagation` says), and spans exported over OTLP/HTTP.
//!
//! Your code: svcgen created this file once.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::extract::State;
use {{ p.crate_ident }}::svcgen::access_log::Protocol;
use {{ p.crate_ident }}::svcgen::clients::{Clients, HttpClient, TracedChannel};
use {{ p.crate_ident }}::svcgen::config::{Config, Propagation, TraceExporter};
use {{ p.crate_ident }}::svcgen::observe::ObserveLayer;
use {{ p.crate_ident }}::svcgen::otel::RequestTracing;
use {{ p.crate_ident }}::svcgen::server;
use {{ p.crate_ident }}::svcgen::telemetry::Telemetry;
use http::HeaderMap;
use http::uri::PathAndQuery;
use prost::Message as _;
use serde_json::Value;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// The trace context of the caller of every request in these tests.
const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

const B3_HEADERS: [&str; 4] = ["b3", "x-b3-traceid", "x-b3-spanid", "x-b3-sampled"];

/// One request a [`Recorder`] received.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("a {name} header in {:?}", self.headers))
            .to_str()
            .expect("an ASCII header")
    }
}

/// An HTTP server on its own thread and runtime (so that a test blocking its thread
/// cannot stall it) that records every request and answers `202 Accepted`: a Zipkin or
/// OTLP collector, or a service called over HTTP.
struct Recorder {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Recorder {
    fn start() -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the recorder");
        listener.set_nonblocking(true).expect("non-blocking");
        let addr = listener.local_addr().expect("the recorder's address");
        let recorded = Arc::clone(&received);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("the recorder's runtime");
            runtime.block_on(async move {
                let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
                    let recorded = Arc::clone(&recorded);
                    async move {
                        let (parts, body) = request.into_parts();
                        let body = axum::body::to_bytes(body, usize::MAX)
                            .await
                            .expect("a body");
                        recorded.lock().expect("lock").push(Received {
                            path: parts.uri.path().to_owned(),
                            headers: parts.headers,
                            body: body.to_vec(),
                        });
                        http::StatusCode::ACCEPTED
                    }
                });
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                axum::serve(listener, app)
                    .await
                    .expect("the recorder serves");
            });
        });
        Self { addr, received }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The requests received at `path` so far.
    fn received(&self, path: &str) -> Vec<Received> {
        let received = self.received.lock().expect("lock");
        received
            .iter()
            .filter(|request| request.path == path)
            .cloned()
            .collect()
    }

    /// Every Zipkin span posted so far.
    fn zipkin_spans(&self) -> Vec<Value> {
        self.received("/api/v2/spans")
            .iter()
            .flat_map(|request| {
                let spans: Value = serde_json::from_slice(&request.body).expect("JSON spans");
                spans.as_array().expect("a list of spans").clone()
            })
            .collect()
    }
}

/// The configuration of these tests: every trace sampled, spans exported to `recorder`.
fn traced(recorder: &Recorder, propagation: &[Propagation]) -> Config {
    let mut config = Config::ephemeral();
    config.log.level = "warn".to_owned();
    config.tracing.enabled = true;
    config.tracing.sample_ratio = 1.0;
    config.tracing.zipkin_endpoint = recorder.url("/api/v2/spans");
    config.tracing.otlp_endpoint = recorder.url("/v1/traces");
    config.tracing.propagation = propagation.to_vec();
    config
}

/// Exports the queued spans and flushes the logs.
async fn shutdown(telemetry: Telemetry) {
    tokio::task::spawn_blocking(move || telemetry.shutdown())
        .await
        .expect("telemetry shutdown");
}

/// A gRPC service `test.v1.Probe` that records the metadata of every call and answers
/// it with an empty message.
#[derive(Debug, Clone, Default)]
struct Probe {
    calls: Arc<Mutex<Vec<HeaderMap>>>,
}

impl tonic::server::NamedService for Probe {
    const NAME: &'static str = "test.v1.Probe";
}

impl tower::Service<http::Request<tonic::body::Body>> for Probe {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        self.calls
            .lock()
            .expect("lock")
            .push(request.headers().clone());
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(tonic_prost::ProstCodec::<(), ()>::default());
            Ok(grpc.unary(Answer, request).await)
        })
    }
}

/// The handler of every `test.v1.Probe` call.
struct Answer;

impl tonic::server::UnaryService<()> for Answer {
    type Response = ();
    type Future = std::future::Ready<Result<tonic::Response<()>, tonic::Status>>;

    fn call(&mut self, _request: tonic::Request<()>) -> Self::Future {
        std::future::ready(Ok(tonic::Response::new(())))
    }
}

impl Probe {
    /// Serves the probe on an ephemeral port; returns its URL.
    async fn start(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the probe");
        let addr = listener.local_addr().expect("the probe's address");
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(self.clone())
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        format!("http://{addr}")
    }

    fn calls(&self) -> Vec<HeaderMap> {
        self.calls.lock().expect("lock").clone()
    }
}

/// What the routes of the test's HTTP server call.
#[derive(Debug, Clone)]
struct Downstream {
    grpc: TracedChannel,
    http: HttpClient,
    http_url: String,
}

/// `GET /grpc`: calls `test.v1.Probe/Call` with a traced channel, like a generated client.
async fn call_grpc(State(downstream): State<Downstream>) -> String {
    let mut grpc = tonic::client::Grpc::new(downstream.grpc);
    grpc.ready().await.expect("the channel is ready");
    let reply = grpc
        .unary(
            tonic::Request::new(()),
            PathAndQuery::from_static("/test.v1.Probe/Call"),
            tonic_prost::ProstCodec::<(), ()>::default(),
        )
        .await;
    format!("{:?}", reply.map(|_| ()).map_err(|status| status.code()))
}

/// `GET /http`: calls the downstream URL with the HTTP client helper.
async fn call_http(State(downstream): State<Downstream>) -> String {
    let response = downstream
        .http
        .get(&downstream.http_url)
        .header("x-request-kind", "test")
        .send()
        .await
        .expect("the downstream call");
    response.status().as_u16().to_string()
}

/// An HTTP server with the service's request layer (SERVER spans, extraction of the
/// caller's context) whose routes call other services the way handlers do, with the
/// clients of `config`.
async fn start_caller(config: &Config, probe_url: &str, http_url: &str) -> SocketAddr {
    let tracing = RequestTracing::new(&config.tracing);
    let clients = Clients::new(config).expect("the clients");
    let channel = Endpoint::from_shared(probe_url.to_owned())
        .expect("a valid URI")
        .connect_lazy();
    let downstream = Downstream {
        grpc: TracedChannel::new(channel, tracing.clone()),
        http: clients.http,
        http_url: http_url.to_owned(),
    };
    let app = axum::Router::new()
        .route("/grpc", axum::routing::get(call_grpc))
        .route("/http", axum::routing::get(call_http))
        .layer(ObserveLayer::new(Protocol::Http, tracing))
        .with_state(downstream);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the caller");
    let addr = listener.local_addr().expect("the caller's address");
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .expect("the caller serves");
    });
    addr
}

/// `GET http://{addr}{path}` with the caller's context in `headers` (name, value).
async fn get(addr: SocketAddr, path: &str, headers: &[(&str, String)]) -> String {
    let mut request = reqwest::Client::new().get(format!("http://{addr}{path}"));
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.send().await.expect("the request");
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.expect("a body")
}

/// The caller's context in both formats.
fn caller_headers() -> Vec<(&'static str, String)> {
    vec![
        ("traceparent", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01")),
        ("b3", format!("{CALLER_TRACE}-{CALLER_SPAN}-1")),
    ]
}

/// The span ids the trace headers of an outgoing call carry, checked to be of the
/// caller's trace and sampled: one per format present, which must agree.
fn carried_span_id(headers: &HeaderMap, sampled: bool) -> String {
    let value = |name: &str| {
        headers
            .get(name)
            .map(|value| value.to_str().expect("ASCII").to_owned())
    };
    let flag = if sampled { "1" } else { "0" };
    let mut ids = Vec::new();
    if let Some(traceparent) = value("traceparent") {
        let parts: Vec<&str> = traceparent.split('-').collect();
        assert_eq!(parts.len(), 4, "{traceparent}");
        assert_eq!(parts[0], "00", "{traceparent}");
        assert_eq!(parts[1], CALLER_TRACE, "{traceparent}");
        assert_eq!(parts[3], format!("0{flag}"), "{traceparent}");
        ids.push(parts[2].to_owned());
    }
    if let Some(b3) = value("b3") {
        let parts: Vec<&str> = b3.split('-').collect();
        assert_eq!(parts.len(), 3, "{b3}");
        assert_eq!(parts[0], CALLER_TRACE, "{b3}");
        assert_eq!(parts[2], flag, "{b3}");
        ids.push(parts[1].to_owned());
    }
    if let Some(trace_id) = value("x-b3-traceid") {
        assert_eq!(trace_id, CALLER_TRACE);
        assert_eq!(value("x-b3-sampled").as_deref(), Some(flag), "{headers:?}");
        ids.push(value("x-b3-spanid").expect("x-b3-spanid"));
    }
    assert!(!ids.is_empty(), "trace headers in {headers:?}");
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "one span id: {headers:?}"
    );
    assert_ne!(ids[0], CALLER_SPAN, "the call's own span: {headers:?}");
    ids.swap_remove(0)
}

fn find<'a>(spans: &'a [Value], name: &str, kind: &str) -> &'a Value {
    let found: Vec<&Value> = spans
        .iter()
        .filter(|span| span["name"] == name && span["kind"] == kind)
        .collect();
    assert_eq!(found.len(), 1, "one {kind} span {name} in {spans:#?}");
    found[0]
}

#[tokio::test]
async fn http_client_calls_carry_the_trace_and_get_a_client_span() {
    let recorder = Recorder::start();
    let config = traced(&recorder, &[Propagation::B3, Propagation::W3c]);
    let telemetry = Telemetry::new(&config).expect("telemetry");
    let guard = tracing::dispatcher::set_default(telemetry.dispatch());
    let downstream = recorder.url("/downstream/orders");
    let caller = start_caller(&config, "http://127.0.0.1:1", &downstream).await;

    assert_eq!(get(caller, "/http", &caller_headers()).await, "202");
    drop(guard);
    shutdown(telemetry).await;

    let calls = recorder.received("/downstream/orders");
    assert_eq!(calls.len(), 1, "{calls:#?}");
    let headers = &calls[0].headers;
    assert_eq!(
        calls[0].header("x-request-kind"),
        "test",
        "the caller's own header"
    );
    for name in ["traceparent"].iter().chain(&B3_HEADERS) {
        assert!(headers.contains_key(*name), "{name} in {headers:?}");
    }
    let client_id = carried_span_id(headers, true);

    let spans = recorder.zipkin_spans();
    let server = find(&spans, "GET /http", "SERVER");
    assert_eq!(server["traceId"], CALLER_TRACE, "{server}");
    assert_eq!(server["parentId"], CALLER_SPAN, "{server}");
    let client = find(&spans, "GET /downstream/orders", "CLIENT");
    assert_eq!(client["traceId"], CALLER_TRACE, "{client}");
    assert_eq!(
        client["id"],
        client_id.as_str(),
        "the span the headers name: {client}"
    );
    assert_eq!(client["parentId"], server["id"], "{client}");
    assert_eq!(client["tags"]["http.request.method"], "GET", "{client}");
    assert_eq!(
        client["tags"]["http.response.status_code"], "202",
        "{client}"
    );
    assert_eq!(client["tags"]["url.full"], downstream.as_str(), "{client}");
}

#[tokio::test]
async fn an_unsampled_trace_is_propagated_without_spans() {
    let recorder = Recorder::start();
    let mut config = traced(&recorder, &[Propagation::B3, Propagation::W3c]);
    config.tracing.sample_ratio = 0.0;
    let telemetry = Telemetry::new(&config).expect("telemetry");
    let guard = tracing::dispatcher::set_default(telemetry.dispatch());
    let probe = Probe::default();
    let probe_url = probe.start().await;
    let downstream = recorder.url("/downstream/orders");
    let caller = start_caller(&config, &probe_url, &downstream).await;

    // The caller decided not to sample: its trace id still travels, with that decision.
    let headers = vec![("b3", format!("{CALLER_TRACE}-{CALLER_SPAN}-0"))];
    assert_eq!(get(caller, "/http", &headers).await, "202");
    assert_eq!(get(caller, "/grpc", &headers).await, "Ok(())");
    drop(guard);
    shutdown(telemetry).await;

    let calls = recorder.received("/downstream/orders");
    assert_eq!(calls.len(), 1, "{calls:#?}");
    carried_span_id(&calls[0].headers, false);
    let grpc_calls = probe.calls();
    assert_eq!(grpc_calls.len(), 1, "{grpc_calls:#?}");
    carried_span_id(&grpc_calls[0], false);
    assert!(
        recorder.zipkin_spans().is_empty(),
        "{:#?}",
        recorder.zipkin_spans()
    );
}

#[tokio::test]
async fn grpc_client_calls_send_the_configured_trace_headers() {
    for (propagation, sent, not_sent) in [
        (
            vec![Propagation::B3, Propagation::W3c],
            &[
                "traceparent",
                "b3",
                "x-b3-traceid",
                "x-b3-spanid",
                "x-b3-sampled",
            ][..],
            &[][..],
        ),
        (
            vec![Propagation::W3c],
            &["traceparent"][..],
            &B3_HEADERS[..],
        ),
        (
            vec![Propagation::B3],
            &B3_HEADERS[..],
            &["traceparent", "tracestate"][..],
        ),
    ] {
        let recorder = Recorder::start();
        let config = traced(&recorder, &propagation);
        let telemetry = Telemetry::new(&config).expect("telemetry");
        let guard = tracing::dispatcher::set_default(telemetry.dispatch());
        let probe = Probe::default();
        let probe_url = probe.start().await;
        let caller = start_caller(&config, &probe_url, &recorder.url("/unused")).await;

        assert_eq!(get(caller, "/grpc", &caller_headers()).await, "Ok(())");
        drop(guard);
        shutdown(telemetry).await;

        let calls = probe.calls();
        assert_eq!(calls.len(), 1, "{propagation:?}: {calls:#?}");
        let headers = &calls[0];
        for name in sent {
            assert!(
                headers.contains_key(*name),
                "{propagation:?}: {name} in {headers:?}"
            );
        }
        for name in not_sent {
            assert!(
                !headers.contains_key(*name),
                "{propagation:?}: no {name} in {headers:?}"
            );
        }
        let client_id = carried_span_id(headers, true);

        let spans = recorder.zipkin_spans();
        let server = find(&spans, "GET /grpc", "SERVER");
        assert_eq!(server["traceId"], CALLER_TRACE, "{propagation:?}: {server}");
        assert_eq!(server["parentId"], CALLER_SPAN, "{propagation:?}: {server}");
        let client = find(&spans, "test.v1.Probe/Call", "CLIENT");
        assert_eq!(client["traceId"], CALLER_TRACE, "{client}");
        assert_eq!(
            client["id"],
            client_id.as_str(),
            "{propagation:?}: {client}"
        );
        assert_eq!(
            client["parentId"], server["id"],
            "{propagation:?}: {client}"
        );
        assert_eq!(client["tags"]["rpc.grpc.status_code"], "0", "{client}");
    }
}

#[tokio::test]
async fn only_the_configured_formats_are_read_from_incoming_requests() {
    let b3_trace = "5af7183fb1d4cf5f6b221d5bc9e6496c";
    let b3_parent = "352bff9a74ca9ad2";
    let w3c_trace = "0af7651916cd43dd8448eb211c80319c";
    let w3c_parent = "b7ad6b7169203331";
    for (propagation, b3_read, w3c_read) in [
        (vec![Propagation::B3, Propagation::W3c], true, true),
        (vec![Propagation::W3c], false, true),
        (vec![Propagation::B3], true, false),
    ] {
        let recorder = Recorder::start();
        let config = traced(&recorder, &propagation);
        let telemetry = Telemetry::new(&config).expect("telemetry");
        let guard = tracing::dispatcher::set_default(telemetry.dispatch());
        let server = server::start(&config).await.expect("the service starts");
        let http = server.http_addr();
        let channel = Channel::from_shared(format!("http://{}", server.grpc_addr()))
            .expect("a valid URI")
            .connect()
            .await
            .expect("the client connects");
        let mut health = HealthClient::new(channel);
        let b3 = format!("{b3_trace}-{b3_parent}-1");
        let traceparent = format!("00-{w3c_trace}-{w3c_parent}-01");
        for (name, value) in [("b3", &b3), ("traceparent", &traceparent)] {
            // Each request carries one format only.
            get(http, "/healthz", &[(name, value.clone())]).await;
            let mut request = tonic::Request::new(HealthCheckRequest::default());
            request
                .metadata_mut()
                .insert(name, value.parse().expect("ASCII metadata"));
            health.check(request).await.expect("Check");
        }
        server.shutdown().await.expect("clean shutdown");
        drop(guard);
        shutdown(telemetry).await;

        let spans = recorder.zipkin_spans();
        for name in ["GET /healthz", "grpc.health.v1.Health/Check"] {
            let servers: Vec<&Value> = spans
                .iter()
                .filter(|span| span["name"] == name && span["kind"] == "SERVER")
                .collect();
            assert_eq!(servers.len(), 2, "{propagation:?}: {servers:#?}");
            for (trace_id, parent_id, read) in [
                (b3_trace, b3_parent, b3_read),
                (w3c_trace, w3c_parent, w3c_read),
            ] {
                let continued = servers.iter().find(|span| span["traceId"] == trace_id);
                if read {
                    let span = continued.unwrap_or_else(|| {
                        panic!("{propagation:?}: trace {trace_id} continued in {servers:#?}")
                    });
                    assert_eq!(span["parentId"], parent_id, "{propagation:?}: {span}");
                } else {
                    assert!(
                        continued.is_none(),
                        "{propagation:?}: {trace_id} must not be read: {servers:#?}"
                    );
                }
            }
            let roots = servers
                .iter()
                .filter(|span| span.get("parentId").is_none())
                .count();
            let ignored = usize::from(!b3_read) + usize::from(!w3c_read);
            assert_eq!(
                roots, ignored,
                "{propagation:?}: new traces in {servers:#?}"
            );
        }
    }
}

/// The parts of OTLP's `ExportTraceServiceRequest` (opentelemetry-proto's
/// `trace_service.proto`, `trace.proto`) that the OTLP test reads; prost skips the rest.
mod otlp {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ExportTraceServiceRequest {
        #[prost(message, repeated, tag = "1")]
        pub resource_spans: Vec<ResourceSpans>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ResourceSpans {
        #[prost(message, optional, tag = "1")]
        pub resource: Option<Resource>,
        #[prost(message, repeated, tag = "2")]
        pub scope_spans: Vec<ScopeSpans>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Resource {
        #[prost(message, repeated, tag = "1")]
        pub attributes: Vec<KeyValue>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct KeyValue {
        #[prost(string, tag = "1")]
        pub key: String,
        #[prost(message, optional, tag = "2")]
        pub value: Option<AnyValue>,
    }

    /// `AnyValue` with only its `string_value` member.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct AnyValue {
        #[prost(string, optional, tag = "1")]
        pub string_value: Option<String>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ScopeSpans {
        #[prost(message, repeated, tag = "2")]
        pub spans: Vec<Span>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Span {
        #[prost(bytes = "vec", tag = "1")]
        pub trace_id: Vec<u8>,
        #[prost(bytes = "vec", tag = "2")]
        pub span_id: Vec<u8>,
        #[prost(bytes = "vec", tag = "4")]
        pub parent_span_id: Vec<u8>,
        #[prost(string, tag = "5")]
        pub name: String,
        /// `SPAN_KIND_SERVER` is 2.
        #[prost(int32, tag = "6")]
        pub kind: i32,
        #[prost(fixed64, tag = "7")]
        pub start_time_unix_nano: u64,
        #[prost(fixed64, tag = "8")]
        pub end_time_unix_nano: u64,
        #[prost(message, repeated, tag = "9")]
        pub attributes: Vec<KeyValue>,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn string_attribute<'a>(attributes: &'a [otlp::KeyValue], key: &str) -> Option<&'a str> {
    attributes
        .iter()
        .find(|attribute| attribute.key == key)
        .and_then(|attribute| attribute.value.as_ref()?.string_value.as_deref())
}

#[tokio::test]
async fn spans_are_exported_over_otlp_http() {
    let recorder = Recorder::start();
    let mut config = traced(&recorder, &[Propagation::B3, Propagation::W3c]);
    config.tracing.exporter = TraceExporter::Otlp;
    let telemetry = Telemetry::new(&config).expect("telemetry");
    let guard = tracing::dispatcher::set_default(telemetry.dispatch());
    let server = server::start(&config).await.expect("the service starts");
    get(server.http_addr(), "/healthz", &caller_headers()).await;
    server.shutdown().await.expect("clean shutdown");
    drop(guard);
    shutdown(telemetry).await;

    assert!(recorder.zipkin_spans().is_empty(), "nothing goes to Zipkin");
    let exports = recorder.received("/v1/traces");
    assert!(!exports.is_empty(), "an OTLP export");
    let mut spans = Vec::new();
    for export in &exports {
        assert_eq!(export.header("content-type"), "application/x-protobuf");
        assert!(!export.body.is_empty());
        let request = otlp::ExportTraceServiceRequest::decode(export.body.as_slice())
            .expect("an OTLP ExportTraceServiceRequest");
        for resource_spans in request.resource_spans {
            let resource = resource_spans.resource.expect("a resource");
            assert_eq!(
                string_attribute(&resource.attributes, "service.name"),
                Some(config.tracing.service_name.as_str()),
                "{resource:?}"
            );
            spans.extend(
                resource_spans
                    .scope_spans
                    .into_iter()
                    .flat_map(|scope| scope.spans),
            );
        }
    }
    let server_span = spans
        .iter()
        .find(|span| span.name == "GET /healthz")
        .unwrap_or_else(|| panic!("the SERVER span of GET /healthz in {spans:#?}"));
    assert_eq!(hex(&server_span.trace_id), CALLER_TRACE, "{server_span:?}");
    assert_eq!(
        hex(&server_span.parent_span_id),
        CALLER_SPAN,
        "{server_span:?}"
    );
    assert_eq!(server_span.span_id.len(), 8, "{server_span:?}");
    assert_eq!(server_span.kind, 2, "SPAN_KIND_SERVER: {server_span:?}");
    assert!(server_span.end_time_unix_nano >= server_span.start_time_unix_nano);
    assert_eq!(
        string_attribute(&server_span.attributes, "http.route"),
        Some("/healthz"),
        "{server_span:?}"
    );
}
