//! Distributed tracing across two generated services: `frontend` (HTTP + gRPC) calls
//! `backend` through its generated client; a fake Zipkin collector records what both
//! export, and the spans are checked against the Zipkin v2 API model.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::e2e::{Service, cargo, copy_example, get, succeeds};

/// A Zipkin collector: records the spans of every `POST /api/v2/spans`.
struct Collector {
    endpoint: String,
    spans: Arc<Mutex<Vec<Value>>>,
}

impl Collector {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}/api/v2/spans", listener.local_addr().unwrap());
        let spans = Arc::new(Mutex::new(Vec::new()));
        let recorded = Arc::clone(&spans);
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let recorded = Arc::clone(&recorded);
                std::thread::spawn(move || serve_connection(stream, &recorded));
            }
        });
        Self { endpoint, spans }
    }

    fn spans(&self) -> Vec<Value> {
        self.spans.lock().unwrap().clone()
    }
}

/// HTTP/1.1 with keep-alive: one `POST` after another until the client hangs up.
fn serve_connection(stream: TcpStream, recorded: &Mutex<Vec<Value>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        assert!(
            request_line.starts_with("POST /api/v2/spans "),
            "{request_line}"
        );
        let batch: Value = serde_json::from_slice(&body).expect("a JSON body");
        recorded
            .lock()
            .unwrap()
            .extend(batch.as_array().expect("a list of spans").iter().cloned());
        writer
            .write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n")
            .unwrap();
    }
}

fn epoch_micros() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_micros(),
    )
    .unwrap()
}

fn lower_hex(value: &Value, lengths: &[usize]) -> bool {
    value.as_str().is_some_and(|text| {
        lengths.contains(&text.len())
            && text
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}

/// The fields of the Zipkin v2 `Span` model (zipkin2-api.yaml) that a span must satisfy.
fn assert_zipkin_v2(span: &Value, from: u64, to: u64) {
    assert!(lower_hex(&span["traceId"], &[16, 32]), "traceId: {span}");
    assert!(lower_hex(&span["id"], &[16]), "id: {span}");
    if let Some(parent) = span.get("parentId") {
        assert!(lower_hex(parent, &[16]), "parentId: {span}");
        assert_ne!(parent, "0000000000000000", "{span}");
    }
    if let Some(kind) = span.get("kind") {
        assert!(
            ["CLIENT", "SERVER", "PRODUCER", "CONSUMER"].contains(&kind.as_str().unwrap()),
            "{span}"
        );
    }
    let timestamp = span["timestamp"]
        .as_u64()
        .expect("timestamp in integer microseconds");
    assert!(
        (from..=to).contains(&timestamp),
        "timestamp {timestamp} not in [{from}, {to}] µs: {span}"
    );
    assert!(
        span["duration"].as_u64().expect("integer duration") >= 1,
        "{span}"
    );
    let service = span["localEndpoint"]["serviceName"]
        .as_str()
        .expect("localEndpoint.serviceName");
    assert!(
        !service.is_empty() && service == service.to_lowercase(),
        "{span}"
    );
    for (key, value) in span["tags"].as_object().into_iter().flatten() {
        assert!(value.is_string(), "tag {key} must be a string: {span}");
    }
}

pub fn build(project: &Path) {
    succeeds(&mut cargo(project, &["build", "--bins"]));
}

fn tracing_env(collector: &Collector, ratio: &str) -> Vec<(&'static str, String)> {
    vec![
        ("APP__TRACING__ENABLED", "true".to_owned()),
        ("APP__TRACING__ZIPKIN_ENDPOINT", collector.endpoint.clone()),
        ("APP__TRACING__SAMPLE_RATIO", ratio.to_owned()),
    ]
}

fn run_pair(
    backend: &Path,
    frontend: &Path,
    collector: &Collector,
    ratio: &str,
) -> (Service, Service) {
    let backend_service = Service::start(backend, "backend", &tracing_env(collector, ratio));
    let mut env = tracing_env(collector, ratio);
    // The one backend, in place of the two local replicas of config/development.toml.
    env.push((
        "APP__CLIENTS__BACKEND__ENDPOINTS",
        format!("[http://{}]", backend_service.grpc_addr),
    ));
    let frontend_service = Service::start(frontend, "frontend", &env);
    (backend_service, frontend_service)
}

#[test]
fn one_request_is_one_trace_across_frontend_and_backend() {
    let (_dir, paths) = copy_examples();
    let [backend, frontend] = paths;
    build(&backend);
    build(&frontend);
    let collector = Collector::start();
    let from = epoch_micros();
    let (backend_service, frontend_service) = run_pair(&backend, &frontend, &collector, "1.0");

    let (head, body) = get(&frontend_service.http_addr, "/welcome/Ada", &[]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["message"], "Hello, Ada!");
    let trace_id = body["trace_id"].as_str().unwrap().to_owned();

    // A caller's B3 context is continued.
    let caller_trace = "463ac35c9f6413ad48485a3953bb6124";
    let caller_span = "a2fb4a1d1a96d312";
    let b3 = format!("{caller_trace}-{caller_span}-1");
    let (head, _) = get(
        &frontend_service.http_addr,
        "/welcome/Grace",
        &[("b3", &b3)],
    );
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");

    let frontend_logs = frontend_service.stop();
    let backend_logs = backend_service.stop();
    let to = epoch_micros();
    let spans = collector.spans();
    for span in &spans {
        assert_zipkin_v2(span, from, to);
    }

    let trace: Vec<&Value> = spans
        .iter()
        .filter(|span| span["traceId"] == trace_id.as_str())
        .collect();
    assert!(trace.len() >= 3, "one trace across ≥ 3 spans: {trace:#?}");
    let find = |service: &str, kind: &str| {
        trace
            .iter()
            .find(|span| span["localEndpoint"]["serviceName"] == service && span["kind"] == kind)
            .unwrap_or_else(|| panic!("a {kind} span of {service} in {trace:#?}"))
    };
    let http_server = find("frontend", "SERVER");
    let client = find("frontend", "CLIENT");
    let grpc_server = find("backend", "SERVER");
    assert_eq!(http_server["name"], "GET /welcome/{name}");
    assert!(
        http_server.get("parentId").is_none(),
        "the root has no parent: {http_server}"
    );
    assert_eq!(http_server["tags"]["http.response.status_code"], "200");
    assert_eq!(client["name"], "backend.v1.Names/Greet");
    assert_eq!(client["parentId"], http_server["id"]);
    assert_eq!(grpc_server["name"], "backend.v1.Names/Greet");
    assert_eq!(grpc_server["parentId"], client["id"]);
    assert_eq!(grpc_server["tags"]["rpc.grpc.status_code"], "0");
    let handler = trace
        .iter()
        .find(|span| span["name"] == "choose words")
        .expect("the backend handler's own span");
    assert_eq!(handler["parentId"], grpc_server["id"]);

    let continued: Vec<&Value> = spans
        .iter()
        .filter(|span| span["traceId"] == caller_trace)
        .collect();
    assert!(continued.len() >= 3, "{continued:#?}");
    let entry = continued
        .iter()
        .find(|span| span["localEndpoint"]["serviceName"] == "frontend" && span["kind"] == "SERVER")
        .unwrap();
    assert_eq!(entry["parentId"], caller_span);

    // The logs of the request carry its trace id, in both services.
    for (service, logs) in [("frontend", &frontend_logs), ("backend", &backend_logs)] {
        assert!(
            logs.iter()
                .any(|line| line["target"] == "access" && line["trace_id"] == trace_id.as_str()),
            "{service}: an access line with trace_id {trace_id} in {logs:#?}"
        );
    }
    let welcome = frontend_logs
        .iter()
        .find(|line| line["target"] == "access" && line["trace_id"] == trace_id.as_str())
        .unwrap();
    assert_eq!(welcome["message"], "http request", "{welcome}");
    assert_eq!(welcome["route"], "/welcome/{name}", "{welcome}");
    assert_eq!(welcome["status"], 200, "{welcome}");
    assert!(
        welcome["peer"]
            .as_str()
            .is_some_and(|peer| peer.starts_with("127.0.0.1:")),
        "the client's address: {welcome}"
    );
    assert!(
        backend_logs
            .iter()
            .any(|line| line["message"] == "greeting" && line["trace_id"] == trace_id.as_str())
    );
}

#[test]
fn nothing_is_exported_at_sample_ratio_zero() {
    let (_dir, paths) = copy_examples();
    let [backend, frontend] = paths;
    build(&backend);
    build(&frontend);
    // The same run at 1.0 exports every request's spans: the empty collector at 0.0
    // is the sampler's doing, not a broken exporter.
    for ratio in ["0.0", "1.0"] {
        let collector = Collector::start();
        let (backend_service, frontend_service) = run_pair(&backend, &frontend, &collector, ratio);
        let mut trace_ids = Vec::new();
        for name in ["Ada", "Grace", "Edsger"] {
            let (head, body) = get(
                &frontend_service.http_addr,
                &format!("/welcome/{name}"),
                &[],
            );
            assert!(head.starts_with("HTTP/1.1 200"), "{head}");
            let body: Value = serde_json::from_str(&body).unwrap();
            assert!(
                lower_hex(&body["trace_id"], &[32]),
                "unsampled requests still have a trace id: {body}"
            );
            trace_ids.push(body["trace_id"].clone());
        }
        frontend_service.stop();
        backend_service.stop();
        let spans = collector.spans();
        if ratio == "0.0" {
            assert!(spans.is_empty(), "{spans:#?}");
        } else {
            for trace_id in &trace_ids {
                let trace = spans
                    .iter()
                    .filter(|span| span["traceId"] == *trace_id)
                    .count();
                assert!(trace >= 3, "{trace_id}: {trace} spans in {spans:#?}");
            }
        }
    }
}

/// Copies the backend and frontend examples into a temporary directory.
pub fn copy_examples() -> (tempfile::TempDir, [PathBuf; 2]) {
    let dir = tempfile::tempdir().unwrap();
    let backend = copy_example("backend", dir.path());
    let frontend = copy_example("frontend", dir.path());
    (dir, [backend, frontend])
}
