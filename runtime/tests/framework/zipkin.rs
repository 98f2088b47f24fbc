//! Spans end to end, to a fake Zipkin collector: a SERVER span per sampled call (a root,
//! or a child of the caller's span), the handler's own spans beneath it, Zipkin v2 JSON
//! with `localEndpoint.serviceName`; nothing for calls not sampled; and a collector that
//! fails, hangs or is down never holds up a request nor the shutdown, and loses only the
//! spans it was sent.

use serde_json::Value;
use svcgen_runtime::Config;
use svcgen_runtime::config::Propagation;
use tonic::transport::Channel;

use crate::support::collector::Mode;
use crate::support::pb::echo_client::EchoClient;
use crate::support::service::UNARY;
use crate::support::{
    Collector, Echo, PATIENCE, Pipeline, echo, epoch_micros, eventually, find, get, is_lower_hex,
    named, traced,
};

const BOTH: [Propagation; 2] = [Propagation::B3, Propagation::W3c];

/// Checks one span against the Zipkin v2 model (`zipkin2-api.yaml`): of `service`, and
/// between `started` and `ended` (epoch microseconds).
fn assert_zipkin_v2(span: &Value, service: &str, started: u64, ended: u64) {
    assert!(is_lower_hex(&span["traceId"], &[16, 32]), "{span}");
    assert!(is_lower_hex(&span["id"], &[16]), "{span}");
    if let Some(parent) = span.get("parentId") {
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
        "timestamp {timestamp} is in microseconds within [{started}, {ended}]: {span}"
    );
    let duration = span["duration"].as_u64().expect("duration is an integer");
    assert!(duration >= 1 && duration <= ended - started, "{span}");
    assert_eq!(span["localEndpoint"]["serviceName"], service, "{span}");
    if let Some(tags) = span.get("tags") {
        let tags = tags.as_object().expect("tags is an object");
        assert!(
            tags.values().all(Value::is_string),
            "tags are strings: {span}"
        );
    }
}

/// A sampled caller's b3 header for the trace `trace_id`.
fn sampled(trace_id: &str) -> [(&'static str, String); 1] {
    [("b3", format!("{trace_id}-00f067aa0ba902b7-1"))]
}

/// Calls `Unary` `times` times in the sampled trace `trace_id`.
async fn calls_in(client: &mut EchoClient<Channel>, trace_id: &str, times: usize) {
    for _ in 0..times {
        client
            .unary(echo("Ada", &sampled(trace_id)))
            .await
            .expect("Unary");
    }
}

/// The SERVER spans of `Unary` among `spans` in the trace `trace_id`.
fn unary_spans_in(spans: &[Value], trace_id: &str) -> usize {
    named(spans, UNARY)
        .iter()
        .filter(|span| span["traceId"] == trace_id)
        .count()
}

#[tokio::test]
async fn a_sampled_call_exports_zipkin_v2_spans() {
    let collector = Collector::start();
    let started = epoch_micros();
    let mut config = traced(&collector, &BOTH);
    config.tracing.service_name = "echo-service".to_owned();
    let (pipeline, service) = Pipeline::serve(&config).await;
    service
        .client()
        .await
        .unary(echo("Ada", &[]))
        .await
        .expect("Unary");
    assert_eq!(get(&service.http_url("/healthz"), &[]).await.0, 200);
    pipeline.stop([service]).await;
    let ended = epoch_micros();

    let spans = collector.zipkin_spans();
    for span in &spans {
        assert_zipkin_v2(span, "echo-service", started, ended);
    }
    let server = find(&spans, UNARY, "SERVER");
    assert!(server.get("parentId").is_none(), "a root span: {server}");
    assert!(is_lower_hex(&server["traceId"], &[32]), "{server}");
    let tags = &server["tags"];
    assert_eq!(tags["rpc.system"], "grpc", "{server}");
    assert_eq!(tags["rpc.service"], "echo.v1.Echo", "{server}");
    assert_eq!(tags["rpc.method"], "Unary", "{server}");
    assert_eq!(tags["rpc.grpc.status_code"], "0", "{server}");
    assert_eq!(tags["network.peer.address"], "127.0.0.1", "{server}");
    assert_eq!(server["remoteEndpoint"]["ipv4"], "127.0.0.1", "{server}");
    assert!(server["remoteEndpoint"]["port"].is_u64(), "{server}");

    // The handler's span is a child of the SERVER span, in the same trace.
    let children = named(&spans, "compose reply");
    assert_eq!(children.len(), 1, "{spans:#?}");
    assert_eq!(children[0]["traceId"], server["traceId"]);
    assert_eq!(children[0]["parentId"], server["id"]);

    let http = find(&spans, "GET /healthz", "SERVER");
    assert_eq!(http["tags"]["http.request.method"], "GET", "{http}");
    assert_eq!(http["tags"]["http.route"], "/healthz", "{http}");
    assert_eq!(http["tags"]["http.response.status_code"], "200", "{http}");
    assert!(http.get("parentId").is_none(), "a root span: {http}");
    assert_ne!(http["traceId"], server["traceId"], "another trace");
}

#[tokio::test]
async fn callers_trace_context_is_continued() {
    let collector = Collector::start();
    let config = traced(&collector, &BOTH);
    let (pipeline, service) = Pipeline::serve(&config).await;
    let mut client = service.client().await;
    let b3_single = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    let b3_multi = ("5af7183fb1d4cf5f6b221d5bc9e6496c", "352bff9a74ca9ad2");
    let w3c = ("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331");
    for headers in [
        vec![("b3", format!("{}-{}-1", b3_single.0, b3_single.1))],
        vec![
            ("x-b3-traceid", b3_multi.0.to_owned()),
            ("x-b3-spanid", b3_multi.1.to_owned()),
            ("x-b3-sampled", "1".to_owned()),
        ],
        vec![("traceparent", format!("00-{}-{}-01", w3c.0, w3c.1))],
    ] {
        client
            .unary(echo("Ada", &headers))
            .await
            .unwrap_or_else(|status| panic!("Unary with {headers:?}: {status}"));
    }
    pipeline.stop([service]).await;

    let spans = collector.zipkin_spans();
    let servers = named(&spans, UNARY);
    assert_eq!(servers.len(), 3, "{spans:#?}");
    for (trace_id, parent_id) in [b3_single, b3_multi, w3c] {
        let span = servers
            .iter()
            .find(|span| span["traceId"] == trace_id)
            .unwrap_or_else(|| panic!("a span of trace {trace_id} in {servers:#?}"));
        assert_eq!(span["parentId"], parent_id, "{span}");
        assert_eq!(span["kind"], "SERVER", "{span}");
        assert_ne!(span["id"], parent_id, "a span of its own: {span}");
    }
}

#[tokio::test]
async fn nothing_is_exported_at_ratio_zero_unless_the_caller_samples() {
    let collector = Collector::start();
    let mut config = traced(&collector, &BOTH);
    config.tracing.sample_ratio = 0.0;
    let (pipeline, service) = Pipeline::serve(&config).await;
    let mut client = service.client().await;
    for _ in 0..5 {
        client.unary(echo("Ada", &[])).await.expect("Unary");
    }
    // A caller that sampled the trace decides for us.
    let trace_id = "80f198ee56343ba864fe8b2a57d3eff7";
    calls_in(&mut client, trace_id, 1).await;
    pipeline.stop([service]).await;

    let spans = collector.zipkin_spans();
    assert!(
        spans.iter().all(|span| span["traceId"] == trace_id),
        "only the caller's sampled trace is exported: {spans:#?}"
    );
    assert_eq!(unary_spans_in(&spans, trace_id), 1, "{spans:#?}");
}

#[tokio::test]
async fn a_failing_collector_loses_only_the_spans_it_was_sent() {
    let collector = Collector::start();
    collector.set_mode(Mode::HangUp);
    let config = traced(&collector, &BOTH);
    let (pipeline, service) = Pipeline::serve(&config).await;
    let mut client = service.client().await;
    let failed = "1e6e1f9b9a1c4b7e8d2f3a4b5c6d7e8f";
    calls_in(&mut client, failed, 11).await;
    // On the exporter's schedule, the spans of every call reach the collector, which
    // hangs up on them.
    eventually("the spans of the eleven calls sent and refused", || {
        unary_spans_in(&collector.zipkin_spans_of(false), failed) == 11
    })
    .await;

    // The collector is back: what is exported now arrives, what failed is not sent again.
    collector.set_mode(Mode::Accept);
    let later = "2f7f2a0cab2d5c8f9e3a4b5c6d7e8f90";
    calls_in(&mut client, later, 1).await;
    pipeline.stop([service]).await;
    let spans = collector.zipkin_spans();
    assert_eq!(unary_spans_in(&spans, later), 1, "{spans:#?}");
    assert!(
        spans.iter().all(|span| span["traceId"] != failed),
        "the spans of the failed export were dropped, not kept: {spans:#?}"
    );
}

#[tokio::test]
async fn a_hanging_collector_holds_up_no_request_nor_the_shutdown() {
    let collector = Collector::start();
    collector.set_mode(Mode::Hang);
    let config = traced(&collector, &BOTH);
    let (pipeline, service) = Pipeline::serve(&config).await;
    let mut client = service.client().await;
    let trace_id = "3a8b3b1dbc3e6d9a0f4b5c6d7e8f9a01";
    calls_in(&mut client, trace_id, 1).await;
    eventually("an export held by the collector", || collector.held() >= 1).await;

    // Ten calls while the exporter waits for an answer that never comes...
    calls_in(&mut client, trace_id, 10).await;
    // ...did not wait for it: the export is still held, the exporter has not given up on
    // it (its timeout is 5 s), so they did not wait for that either.
    assert!(collector.held() >= 1, "the export is still held");
    assert_eq!(
        collector.abandoned(),
        0,
        "the exporter has not given up yet"
    );

    // Stopping gives up on the collector, which still does not answer.
    tokio::time::timeout(PATIENCE, async {
        pipeline.stop([service]).await;
    })
    .await
    .expect("the service and its pipeline stop although the collector never answers");
    assert_eq!(
        collector.zipkin_spans(),
        Vec::<Value>::new(),
        "nothing was accepted"
    );
}

#[tokio::test]
async fn a_collector_that_is_down_holds_up_nothing_and_gets_the_spans_once_up() {
    // A port that is taken but not listened on: connections to it are refused.
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket
        .bind("127.0.0.1:0".parse().expect("an address"))
        .expect("bind");
    let addr = socket.local_addr().expect("the address");
    let refused = std::net::TcpStream::connect(addr).expect_err("the connection is refused");
    assert_eq!(
        refused.kind(),
        std::io::ErrorKind::ConnectionRefused,
        "{refused}"
    );
    let mut config = Config::<Echo>::ephemeral();
    config.log.level = "warn".to_owned();
    config.tracing.enabled = true;
    config.tracing.zipkin_endpoint = format!("http://{addr}/api/v2/spans");
    let (pipeline, service) = Pipeline::serve(&config).await;
    let mut client = service.client().await;
    let down = "4c9d4c2ecd4f7eab1a5c6d7e8f9a0b12";
    calls_in(&mut client, down, 10).await;

    // The collector comes up on that port: the exporter reaches it.
    let collector = Collector::serve(
        socket
            .listen(128)
            .expect("listen")
            .into_std()
            .expect("a std listener"),
    );
    let up = "5dae5d3fde5a8fbc2b6d7e8f9a0b1c23";
    calls_in(&mut client, up, 1).await;
    tokio::time::timeout(PATIENCE, async {
        pipeline.stop([service]).await;
    })
    .await
    .expect("the service stops");
    let spans = collector.zipkin_spans();
    assert_eq!(unary_spans_in(&spans, up), 1, "{spans:#?}");
}
