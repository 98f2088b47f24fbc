//! Tracing and logging end to end: the service exports Zipkin v2 spans to a fake
//! collector, continues callers' traces, and writes the trace id into its log lines.
//!
//! Each test installs its own subscriber on its (single) test thread, so the tests can
//! run in parallel with different settings.

use std::io::Read as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use {{ p.crate_ident }}::proto::greeter::v1::HelloRequest;
use {{ p.crate_ident }}::proto::greeter::v1::greeter_client::GreeterClient;
use {{ p.crate_ident }}::svcgen::config::{Config, LogFileConfig};
use {{ p.crate_ident }}::svcgen::server::{self, Server};
use {{ p.crate_ident }}::svcgen::telemetry::Telemetry;
use serde_json::Value;
use tokio_stream::StreamExt as _;
use tonic::transport::Channel;

const SAY_HELLO: &str = "greeter.v1.Greeter/SayHello";

/// A Zipkin collector on its own thread and runtime (so that a test blocking its own
/// thread cannot stall it), recording the JSON body of every `POST /api/v2/spans`.
struct Collector {
    addr: SocketAddr,
    bodies: Arc<Mutex<Vec<Value>>>,
}

impl Collector {
    fn start() -> Self {
        Self::serve(std::net::TcpListener::bind("127.0.0.1:0").expect("bind the collector"))
    }

    /// A collector accepting connections on `listener`.
    fn serve(listener: std::net::TcpListener) -> Self {
        let bodies = Arc::new(Mutex::new(Vec::new()));
        listener.set_nonblocking(true).expect("non-blocking");
        let addr = listener.local_addr().expect("collector address");
        let recorded = Arc::clone(&bodies);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("collector runtime");
            runtime.block_on(async move {
                let app = axum::Router::new().route(
                    "/api/v2/spans",
                    axum::routing::post(move |body: axum::body::Bytes| {
                        let recorded = Arc::clone(&recorded);
                        async move {
                            let json: Value = serde_json::from_slice(&body).expect("JSON spans");
                            recorded.lock().expect("lock").push(json);
                            http::StatusCode::ACCEPTED
                        }
                    }),
                );
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                axum::serve(listener, app).await.expect("collector serves");
            });
        });
        Self { addr, bodies }
    }

    fn endpoint(&self) -> String {
        format!("http://{}/api/v2/spans", self.addr)
    }

    /// Every span received so far.
    fn spans(&self) -> Vec<Value> {
        let bodies = self.bodies.lock().expect("lock");
        bodies
            .iter()
            .flat_map(|body| body.as_array().expect("a list of spans").clone())
            .collect()
    }
}

/// A collector that accepts connections and never answers; counts the export requests
/// it saw begin (their request line read).
fn hanging_collector() -> (String, Arc<AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    let requests = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&requests);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let seen = Arc::clone(&seen);
            // Reads until the exporter gives up and closes the connection.
            std::thread::spawn(move || {
                let mut received = Vec::new();
                let mut buffer = [0; 4096];
                let mut counted = false;
                while let Ok(read @ 1..) = stream.read(&mut buffer) {
                    received.extend_from_slice(&buffer[..read]);
                    if !counted && received.starts_with(b"POST /api/v2/spans ") {
                        counted = true;
                        seen.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
    });
    (format!("http://{addr}/api/v2/spans"), requests)
}

fn config(endpoint: &str, sample_ratio: f64) -> Config {
    let mut config = Config::ephemeral();
    config.log.level = "warn,{{ p.crate_ident }}=info".to_owned();
    config.tracing.enabled = true;
    config.tracing.zipkin_endpoint = endpoint.to_owned();
    config.tracing.sample_ratio = sample_ratio;
    config
}

/// The service with its telemetry installed on this thread (the test runtime's only one).
struct Service {
    server: Server,
    telemetry: Telemetry,
    _guard: tracing::dispatcher::DefaultGuard,
}

impl Service {
    async fn start(config: &Config) -> Self {
        let telemetry = Telemetry::new(config).expect("telemetry");
        let guard = tracing::dispatcher::set_default(telemetry.dispatch());
        let server = server::start(config).await.expect("the service starts");
        Self {
            server,
            telemetry,
            _guard: guard,
        }
    }

    async fn client(&self) -> GreeterClient<Channel> {
        GreeterClient::connect(format!("http://{}", self.server.grpc_addr()))
            .await
            .expect("the client connects")
    }

    /// Stops the servers, then exports the queued spans and flushes the log files.
    async fn stop(self) {
        self.server.shutdown().await.expect("clean shutdown");
        let telemetry = self.telemetry;
        tokio::task::spawn_blocking(move || telemetry.shutdown())
            .await
            .expect("telemetry shutdown");
    }
}

fn hello(name: &str) -> tonic::Request<HelloRequest> {
    tonic::Request::new(HelloRequest {
        name: name.to_owned(),
    })
}

fn with_header(name: &'static str, value: &str) -> tonic::Request<HelloRequest> {
    let mut request = hello("Ada");
    request
        .metadata_mut()
        .insert(name, value.parse().expect("ASCII metadata"));
    request
}

fn is_lower_hex(value: &str, lengths: &[usize]) -> bool {
    lengths.contains(&value.len())
        && value
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
}

fn epoch_micros() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after 1970")
            .as_micros(),
    )
    .expect("fits")
}

fn str_field<'a>(span: &'a Value, key: &str) -> &'a str {
    span[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is a string in {span}"))
}

fn named<'a>(spans: &'a [Value], name: &str) -> Vec<&'a Value> {
    spans.iter().filter(|span| span["name"] == name).collect()
}

/// Checks one span against the Zipkin v2 model (`zipkin2-api.yaml`).
fn assert_zipkin_v2(span: &Value, started: u64, ended: u64) {
    assert!(
        is_lower_hex(str_field(span, "traceId"), &[16, 32]),
        "{span}"
    );
    assert!(is_lower_hex(str_field(span, "id"), &[16]), "{span}");
    if let Some(parent) = span.get("parentId") {
        let parent = parent.as_str().expect("parentId is a string");
        assert!(is_lower_hex(parent, &[16]), "{span}");
        assert_ne!(parent, "0000000000000000", "a root has no parentId: {span}");
    }
    if let Some(kind) = span.get("kind") {
        assert!(
            ["CLIENT", "SERVER", "PRODUCER", "CONSUMER"].contains(&kind.as_str().expect("kind")),
            "{span}"
        );
    }
    let timestamp = span["timestamp"].as_u64().expect("timestamp is an integer");
    assert!(
        (started..=ended).contains(&timestamp),
        "timestamp {timestamp} is in microseconds within [{started}, {ended}]"
    );
    let duration = span["duration"].as_u64().expect("duration is an integer");
    assert!(duration >= 1 && duration <= ended - started, "{span}");
    assert_eq!(span["localEndpoint"]["serviceName"], "{{ p.name }}", "{span}");
    if let Some(tags) = span.get("tags") {
        let tags = tags.as_object().expect("tags is an object");
        assert!(
            tags.values().all(Value::is_string),
            "tags are strings: {span}"
        );
    }
}

#[tokio::test]
async fn say_hello_exports_a_zipkin_v2_server_span() {
    let collector = Collector::start();
    let started = epoch_micros();
    let service = Service::start(&config(&collector.endpoint(), 1.0)).await;
    let mut client = service.client().await;
    client.say_hello(hello("Ada")).await.expect("SayHello");
    let healthz = reqwest::get(format!("http://{}/healthz", service.server.http_addr()))
        .await
        .expect("GET /healthz");
    assert_eq!(healthz.status(), 200);
    service.stop().await;
    let ended = epoch_micros();

    let spans = collector.spans();
    for span in &spans {
        assert_zipkin_v2(span, started, ended);
    }
    let servers = named(&spans, SAY_HELLO);
    assert_eq!(servers.len(), 1, "one SayHello span in {spans:#?}");
    let server = servers[0];
    assert_eq!(server["kind"], "SERVER");
    assert!(server.get("parentId").is_none(), "a root span: {server}");
    assert!(is_lower_hex(str_field(server, "traceId"), &[32]));
    let tags = &server["tags"];
    assert_eq!(tags["rpc.system"], "grpc");
    assert_eq!(tags["rpc.service"], "greeter.v1.Greeter");
    assert_eq!(tags["rpc.method"], "SayHello");
    assert_eq!(tags["rpc.grpc.status_code"], "0");
    assert_eq!(tags["network.peer.address"], "127.0.0.1");
    assert_eq!(server["remoteEndpoint"]["ipv4"], "127.0.0.1");

    // The handler's span is a child of the SERVER span, in the same trace.
    let children = named(&spans, "compose greeting");
    assert_eq!(children.len(), 1, "{spans:#?}");
    assert_eq!(children[0]["traceId"], server["traceId"]);
    assert_eq!(children[0]["parentId"], server["id"]);

    let http = named(&spans, "GET /healthz");
    assert_eq!(http.len(), 1, "{spans:#?}");
    assert_eq!(http[0]["kind"], "SERVER");
    assert_eq!(http[0]["tags"]["http.request.method"], "GET");
    assert_eq!(http[0]["tags"]["http.response.status_code"], "200");
    assert_ne!(http[0]["traceId"], server["traceId"], "another trace");
}

#[tokio::test]
async fn callers_trace_context_is_continued() {
    let collector = Collector::start();
    let service = Service::start(&config(&collector.endpoint(), 1.0)).await;
    let mut client = service.client().await;
    let b3_single = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    let b3_multi = ("5af7183fb1d4cf5f6b221d5bc9e6496c", "352bff9a74ca9ad2");
    let w3c = ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331");
    client
        .say_hello(with_header(
            "b3",
            &format!("{}-{}-1", b3_single.0, b3_single.1),
        ))
        .await
        .expect("SayHello with b3");
    let mut request = with_header("x-b3-traceid", b3_multi.0);
    let metadata = request.metadata_mut();
    metadata.insert("x-b3-spanid", b3_multi.1.parse().expect("ASCII"));
    metadata.insert("x-b3-sampled", "1".parse().expect("ASCII"));
    client
        .say_hello(request)
        .await
        .expect("SayHello with X-B3-*");
    client
        .say_hello(with_header(
            "traceparent",
            &format!("00-{}-{}-01", w3c.0, w3c.1),
        ))
        .await
        .expect("SayHello with traceparent");
    service.stop().await;

    let spans = collector.spans();
    let servers = named(&spans, SAY_HELLO);
    for (trace_id, parent_id) in [b3_single, b3_multi, w3c] {
        let span = servers
            .iter()
            .find(|span| span["traceId"] == trace_id)
            .unwrap_or_else(|| panic!("a span of trace {trace_id} in {servers:#?}"));
        assert_eq!(span["parentId"], parent_id, "{span}");
        assert_eq!(span["kind"], "SERVER");
        assert_ne!(span["id"], parent_id, "a span of its own");
    }
}

#[tokio::test]
async fn nothing_is_exported_at_ratio_zero_unless_the_caller_samples() {
    let collector = Collector::start();
    let service = Service::start(&config(&collector.endpoint(), 0.0)).await;
    let mut client = service.client().await;
    for _ in 0..5 {
        client.say_hello(hello("Ada")).await.expect("SayHello");
    }
    // A caller that sampled the trace decides for us.
    let trace_id = "80f198ee56343ba864fe8b2a57d3eff7";
    client
        .say_hello(with_header("b3", &format!("{trace_id}-e457b5a2e4d86bd1-1")))
        .await
        .expect("SayHello");
    service.stop().await;

    let spans = collector.spans();
    assert!(
        spans.iter().all(|span| span["traceId"] == trace_id),
        "only the caller's sampled trace is exported: {spans:#?}"
    );
    assert_eq!(named(&spans, SAY_HELLO).len(), 1, "{spans:#?}");
}

/// Calls SayHello once in trace `trace_id` (a sampled caller's), waits (at most 10 s)
/// until `exporting` says the exporter is busy with an export of that call's spans, then
/// calls SayHello ten times more in that trace; returns the slowest of those ten calls.
async fn slowest_call(
    service: &Service,
    trace_id: &str,
    exporting: impl Fn() -> bool,
) -> Duration {
    let mut client = service.client().await;
    let b3 = format!("{trace_id}-00f067aa0ba902b7-1");
    client
        .say_hello(with_header("b3", &b3))
        .await
        .expect("SayHello");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !exporting() {
        assert!(Instant::now() < deadline, "no export began");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut slowest = Duration::ZERO;
    for _ in 0..10 {
        let started = Instant::now();
        client
            .say_hello(with_header("b3", &b3))
            .await
            .expect("SayHello");
        slowest = slowest.max(started.elapsed());
    }
    slowest
}

/// `true` once the batch processor's first scheduled export (2 s after start) is past.
fn first_export_done(started: Instant) -> impl Fn() -> bool {
    move || started.elapsed() > Duration::from_millis(2500)
}

#[tokio::test]
async fn a_refusing_collector_does_not_slow_requests_and_loses_only_its_spans() {
    // A port that is taken but not listened on: connections to it are refused.
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket
        .bind("127.0.0.1:0".parse().expect("an address"))
        .expect("bind");
    let addr = socket.local_addr().expect("address");
    let refused = std::net::TcpStream::connect(addr).expect_err("the connection is refused");
    assert_eq!(
        refused.kind(),
        std::io::ErrorKind::ConnectionRefused,
        "{refused}"
    );
    let started = Instant::now();
    let service = Service::start(&config(&format!("http://{addr}/api/v2/spans"), 1.0)).await;
    // A refused connection leaves nothing to observe: the exporter's schedule is waited for.
    let refused_trace = "1e6e1f9b9a1c4b7e8d2f3a4b5c6d7e8f";
    let slowest = slowest_call(&service, refused_trace, first_export_done(started)).await;
    // Let the exporter try (and fail) to export the spans of the ten calls too: the next
    // scheduled export, with a margin of one more.
    tokio::time::sleep(Duration::from_secs(4)).await;

    // The collector comes up: what is exported now arrives, what was refused is gone.
    let collector = Collector::serve(
        socket
            .listen(128)
            .expect("listen")
            .into_std()
            .expect("a std listener"),
    );
    let later_trace = "2f7f2a0cab2d5c8f9e3a4b5c6d7e8f90";
    let mut client = service.client().await;
    client
        .say_hello(with_header(
            "b3",
            &format!("{later_trace}-00f067aa0ba902b7-1"),
        ))
        .await
        .expect("SayHello");
    service.stop().await;
    assert!(
        slowest < Duration::from_millis(100),
        "slowest call {slowest:?}"
    );
    let spans = collector.spans();
    assert!(
        spans.iter().any(|span| span["traceId"] == later_trace),
        "the spans of the call after the collector came up: {spans:#?}"
    );
    assert!(
        spans.iter().all(|span| span["traceId"] != refused_trace),
        "the spans the collector refused were dropped, not kept: {spans:#?}"
    );
}

#[tokio::test]
async fn a_hanging_collector_does_not_slow_requests() {
    let (endpoint, requests) = hanging_collector();
    let service = Service::start(&config(&endpoint, 1.0)).await;
    // The ten calls are made while the collector holds an export request.
    let slowest = slowest_call(&service, "3a8b3b1dbc3e6d9a0f4b5c6d7e8f9a01", || {
        requests.load(Ordering::SeqCst) >= 1
    })
    .await;
    let stopping = Instant::now();
    service.stop().await;
    assert!(
        slowest < Duration::from_millis(100),
        "slowest call {slowest:?}"
    );
    assert!(
        stopping.elapsed() < Duration::from_secs(15),
        "shutdown gives up on the collector: {:?}",
        stopping.elapsed()
    );
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "{{ p.crate_ident }}-{name}-{}-{}",
        std::process::id(),
        epoch_micros()
    ));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}

/// Every JSON line of every file in `dir`.
fn log_lines(dir: &PathBuf) -> Vec<Value> {
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(dir).expect("the log directory") {
        let text = std::fs::read_to_string(entry.expect("an entry").path()).expect("a log file");
        for line in text.lines() {
            lines
                .push(serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}")));
        }
    }
    lines
}

#[tokio::test]
async fn log_lines_of_a_request_carry_its_trace_id() {
    let collector = Collector::start();
    let dir = temp_dir("logs");
    for (ratio, trace_id, sampled) in [
        (1.0, "463ac35c9f6413ad48485a3953bb6124", "1"),
        (0.0, "a3ce929d0e0e47364bf92f3577b34da6", "0"),
    ] {
        let mut config = config(&collector.endpoint(), ratio);
        config.log.level = "info".to_owned();
        config.log.file = Some(LogFileConfig {
            dir: dir.join(sampled),
            keep_days: 14,
        });
        let service = Service::start(&config).await;
        let mut client = service.client().await;
        client
            .say_hello(with_header(
                "b3",
                &format!("{trace_id}-0020000000000001-{sampled}"),
            ))
            .await
            .expect("SayHello");
        let replies: Vec<_> = client
            .say_hello_stream(hello("Grace"))
            .await
            .expect("SayHelloStream")
            .into_inner()
            .collect::<Result<_, _>>()
            .await
            .expect("replies");
        assert_eq!(replies.len(), 3);
        service.stop().await;

        let lines = log_lines(&dir.join(sampled));
        for line in &lines {
            for key in ["timestamp", "level", "target", "message"] {
                assert!(line[key].is_string(), "{key} in {line}");
            }
        }
        let handler = lines
            .iter()
            .find(|line| line["message"] == "composing a greeting")
            .unwrap_or_else(|| panic!("the handler's line in {lines:#?}"));
        assert_eq!(handler["trace_id"], trace_id, "{handler}");
        assert_eq!(handler["name"], "Ada");
        assert!(is_lower_hex(str_field(handler, "span_id"), &[16]));
        let access: Vec<_> = lines
            .iter()
            .filter(|line| line["target"] == "access")
            .collect();
        let say_hello = access
            .iter()
            .find(|line| line["method"] == SAY_HELLO)
            .unwrap_or_else(|| panic!("SayHello's access line in {access:#?}"));
        assert_eq!(say_hello["trace_id"], trace_id);
        assert_eq!(say_hello["status"], "OK");
        assert_eq!(say_hello["level"], "INFO");
        assert!(say_hello["latency_us"].is_u64());
        assert!(
            say_hello["peer"]
                .as_str()
                .is_some_and(|peer| peer.starts_with("127.0.0.1:"))
        );
        let stream = access
            .iter()
            .find(|line| line["method"] == "greeter.v1.Greeter/SayHelloStream")
            .unwrap_or_else(|| panic!("SayHelloStream's access line in {access:#?}"));
        assert_eq!(stream["status"], "OK");
        assert!(
            is_lower_hex(str_field(stream, "trace_id"), &[32]),
            "a request without a caller's trace gets a trace id too: {stream}"
        );
    }
    std::fs::remove_dir_all(&dir).expect("remove the logs");
}
