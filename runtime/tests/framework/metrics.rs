//! `GET /metrics`, scraped after gRPC and HTTP calls and parsed as the Prometheus text
//! exposition format by Prometheus' own parser (Python's `prometheus_client.parser`, in
//! a subprocess: `python3 -m pip install prometheus-client==0.26.0`; without it the
//! tests fail): a count and a latency histogram per gRPC method and per HTTP route
//! template, by status; requests in flight; the build information; one registry per
//! running service; nothing served when off.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::{Command, Stdio};

use serde::Deserialize;
use svcgen_runtime::{Config, Service as _};
use tokio_stream::wrappers::ReceiverStream;

use crate::support::pb::EchoRequest;
use crate::support::{Echo, Running, echo, message, messages};

/// Parses the exposition read on stdin with `prometheus_client`; writes its samples as
/// JSON.
const PARSER: &str = r"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
samples = [
    {'family': family.name, 'type': family.type, 'name': sample.name,
     'labels': sample.labels, 'value': sample.value}
    for family in text_string_to_metric_families(sys.stdin.read())
    for sample in family.samples
]
json.dump(samples, sys.stdout)
";

/// One sample, as the parser read it.
#[derive(Debug, Deserialize)]
struct Sample {
    /// The family's type: `counter`, `gauge`, `histogram`.
    r#type: String,
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// `text` parsed by Prometheus' Python client.
fn parse(text: &str) -> Vec<Sample> {
    let install = "python3 -m pip install prometheus-client==0.26.0";
    let mut parser = Command::new("python3")
        .args(["-c", PARSER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("python3 parses the metrics ({install}): {error}"));
    parser
        .stdin
        .take()
        .expect("the parser's stdin")
        .write_all(text.as_bytes())
        .expect("the metrics sent to the parser");
    let output = parser.wait_with_output().expect("the parser's output");
    assert!(
        output.status.success(),
        "prometheus_client parses the metrics ({install}): {}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the parser's JSON")
}

/// The metrics of `service`, parsed.
async fn scrape(service: &Running) -> Vec<Sample> {
    let answer = service.send("GET", "/metrics", &[], None).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(
        answer.content_type.starts_with("text/plain; version=0.0.4"),
        "{answer:?}"
    );
    parse(&answer.body)
}

/// Whether `sample` has exactly the labels `labels`, and `extra` (name, value) if given.
fn labelled(sample: &Sample, labels: &[(&str, &str)], extra: Option<&str>) -> bool {
    sample.labels.len() == labels.len() + usize::from(extra.is_some())
        && labels
            .iter()
            .all(|(name, value)| sample.labels.get(*name).map(String::as_str) == Some(*value))
        && extra.is_none_or(|name| sample.labels.contains_key(name))
}

/// The sample named `name` with exactly the labels `labels`.
fn sample<'a>(samples: &'a [Sample], name: &str, labels: &[(&str, &str)]) -> Option<&'a Sample> {
    samples
        .iter()
        .find(|sample| sample.name == name && labelled(sample, labels, None))
}

/// The value of the sample named `name` with the labels `labels`.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    sample(samples, name, labels)
        .unwrap_or_else(|| panic!("{name} {labels:?} in {samples:#?}"))
        .value
}

/// The buckets (upper bound, cumulative count) of the histogram `family`, checked:
/// the default bounds then +Inf, cumulative counts, the last one the `_count`.
fn histogram(samples: &[Sample], family: &str, labels: &[(&str, &str)]) -> Vec<(f64, f64)> {
    let bucket = format!("{family}_bucket");
    let mut buckets: Vec<(f64, f64)> = samples
        .iter()
        .filter(|sample| sample.name == bucket && labelled(sample, labels, Some("le")))
        .map(|sample| {
            assert_eq!(sample.r#type, "histogram", "{sample:?}");
            let bound = sample.labels["le"].parse::<f64>().expect("a bound");
            (bound, sample.value)
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let bounds: Vec<f64> = buckets.iter().map(|(bound, _)| *bound).collect();
    assert_eq!(
        bounds,
        [
            0.0005,
            0.001,
            0.0025,
            0.005,
            0.01,
            0.025,
            0.05,
            0.1,
            0.25,
            0.5,
            1.0,
            2.5,
            5.0,
            10.0,
            f64::INFINITY
        ],
        "{family} {labels:?}"
    );
    assert!(
        buckets.windows(2).all(|pair| pair[0].1 <= pair[1].1),
        "cumulative: {buckets:?}"
    );
    let count = value(samples, &format!("{family}_count"), labels);
    assert_eq!(buckets.last().map(|bucket| bucket.1), Some(count));
    assert!(value(samples, &format!("{family}_sum"), labels) >= 0.0);
    buckets
}

fn grpc(method: &'static str, code: &'static str) -> [(&'static str, &'static str); 3] {
    [
        ("grpc_service", "echo.v1.Echo"),
        ("grpc_method", method),
        ("grpc_code", code),
    ]
}

fn http(route: &'static str, status: &'static str) -> [(&'static str, &'static str); 3] {
    [("method", "GET"), ("route", route), ("status", status)]
}

const GRPC_COUNT: &str = "grpc_server_handled_total";
const GRPC_SECONDS: &str = "grpc_server_handling_seconds";
const HTTP_COUNT: &str = "http_server_requests_total";
const HTTP_SECONDS: &str = "http_server_request_duration_seconds";

#[tokio::test]
async fn requests_are_counted_per_method_route_and_status() {
    let service = Running::start(&Config::ephemeral()).await;
    let mut client = service.client().await;
    for _ in 0..3 {
        client.unary(echo("one", &[])).await.expect("Unary");
    }
    client
        .unary(EchoRequest {
            code: tonic::Code::NotFound.into(),
            ..message("missing", 0)
        })
        .await
        .expect_err("NOT_FOUND");
    let replies = client
        .server_stream(message("s", 2))
        .await
        .expect("ServerStream");
    assert_eq!(messages(replies.into_inner()).await.len(), 2);
    for (path, status) in [
        ("/ok", 200),
        ("/ok", 200),
        ("/fail", 500),
        ("/v1/items/pen", 200),
        ("/nope/1", 404),
        ("/nope/2", 404),
    ] {
        assert_eq!(
            service.send("GET", path, &[], None).await.status,
            status,
            "{path}"
        );
    }
    // A stream held open: one call in flight.
    let (sender, requests) = tokio::sync::mpsc::channel(1);
    let mut bidi = client
        .bidi(ReceiverStream::new(requests))
        .await
        .expect("Bidi")
        .into_inner();
    sender.send(message("open", 0)).await.expect("a request");
    bidi.message().await.expect("a reply").expect("a reply");

    let samples = scrape(&service).await;
    assert_eq!(value(&samples, GRPC_COUNT, &grpc("Unary", "OK")), 3.0);
    assert_eq!(
        value(&samples, GRPC_COUNT, &grpc("Unary", "NOT_FOUND")),
        1.0
    );
    assert_eq!(
        value(&samples, GRPC_COUNT, &grpc("ServerStream", "OK")),
        1.0
    );
    assert!(
        sample(&samples, GRPC_COUNT, &grpc("Bidi", "OK")).is_none(),
        "not ended yet"
    );
    let buckets = histogram(&samples, GRPC_SECONDS, &grpc("Unary", "OK"));
    assert_eq!(buckets.last().map(|bucket| bucket.1), Some(3.0));
    histogram(&samples, GRPC_SECONDS, &grpc("Unary", "NOT_FOUND"));

    assert_eq!(value(&samples, HTTP_COUNT, &http("/ok", "200")), 2.0);
    assert_eq!(value(&samples, HTTP_COUNT, &http("/fail", "500")), 1.0);
    // A REST route by its template, not its path.
    assert_eq!(
        value(&samples, HTTP_COUNT, &http("/v1/items/{name}", "200")),
        1.0
    );
    // Paths that matched no route share one series.
    assert_eq!(value(&samples, HTTP_COUNT, &http("unmatched", "404")), 2.0);
    assert!(
        samples.iter().all(|sample| sample
            .labels
            .get("route")
            .is_none_or(|route| !route.starts_with("/nope"))),
        "no raw path as a label"
    );
    let buckets = histogram(&samples, HTTP_SECONDS, &http("/ok", "200"));
    assert_eq!(buckets.last().map(|bucket| bucket.1), Some(2.0));

    for (name, labels, kind) in [
        (GRPC_COUNT, &grpc("Unary", "OK")[..], "counter"),
        (HTTP_COUNT, &http("/ok", "200")[..], "counter"),
        ("grpc_server_requests_in_flight", &[][..], "gauge"),
        ("http_server_requests_in_flight", &[][..], "gauge"),
    ] {
        let found = sample(&samples, name, labels).expect("the sample");
        assert_eq!(found.r#type, kind, "{found:?}");
    }
    // In flight: the open stream, and the scrape itself.
    assert_eq!(value(&samples, "grpc_server_requests_in_flight", &[]), 1.0);
    assert_eq!(value(&samples, "http_server_requests_in_flight", &[]), 1.0);

    let build = [
        ("service", Echo::NAME),
        ("version", Echo::VERSION),
        ("runtime_version", env!("CARGO_PKG_VERSION")),
    ];
    assert_eq!(value(&samples, "service_build_info", &build), 1.0);

    // The stream ends: counted, no longer in flight.
    drop(sender);
    assert!(bidi.message().await.expect("the end").is_none());
    let samples = scrape(&service).await;
    assert_eq!(value(&samples, GRPC_COUNT, &grpc("Bidi", "OK")), 1.0);
    assert_eq!(value(&samples, "grpc_server_requests_in_flight", &[]), 0.0);
    // The first scrape, by its route.
    assert_eq!(value(&samples, HTTP_COUNT, &http("/metrics", "200")), 1.0);
    service.stop().await;
}

#[tokio::test]
async fn each_running_service_has_its_own_metrics() {
    let first = Running::start(&Config::ephemeral()).await;
    let second = Running::start(&Config::ephemeral()).await;
    let mut client = first.client().await;
    for _ in 0..2 {
        client.unary(echo("one", &[])).await.expect("Unary");
    }
    let samples = scrape(&first).await;
    assert_eq!(value(&samples, GRPC_COUNT, &grpc("Unary", "OK")), 2.0);
    let samples = scrape(&second).await;
    assert!(
        sample(&samples, GRPC_COUNT, &grpc("Unary", "OK")).is_none(),
        "{samples:#?}"
    );
    first.stop().await;
    second.stop().await;
}

#[tokio::test]
async fn metrics_are_not_served_when_off() {
    let mut config = Config::<Echo>::ephemeral();
    config.metrics.enabled = false;
    let service = Running::start(&config).await;
    assert_eq!(service.send("GET", "/metrics", &[], None).await.status, 404);
    service.stop().await;
}
