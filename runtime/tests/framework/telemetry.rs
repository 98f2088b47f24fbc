//! What the service's tracing puts on the wire: the trace headers its outgoing gRPC
//! ([`TracedChannel`](svcgen_runtime::client::TracedChannel)) and HTTP
//! ([`HttpClient`](svcgen_runtime::client::HttpClient)) calls carry and the CLIENT spans
//! they get, which headers of incoming requests it reads (as `[tracing] propagation`
//! says), and spans exported over OTLP/HTTP.
//!
//! A caller (the test service) calls a downstream (another one) from its routes
//! `/call/grpc` and `/call/http`, which answer the headers the downstream received.

use std::collections::BTreeMap;

use serde_json::Value;
use svcgen_runtime::Config;
use svcgen_runtime::client::ClientConfig;
use svcgen_runtime::config::{Propagation, TraceExporter};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::support::service::UNARY;
use crate::support::{
    CALLER_SPAN, CALLER_TRACE, Collector, Echo, Pipeline, Running, caller_headers, find, get, otlp,
    traced,
};

const B3_HEADERS: [&str; 4] = ["b3", "x-b3-traceid", "x-b3-spanid", "x-b3-sampled"];

/// The pipeline of `config`, a downstream service and a caller whose clients call it.
async fn caller_and_downstream(config: &Config<Echo>) -> (Pipeline, Running, Running) {
    let (pipeline, downstream) = Pipeline::serve(config).await;
    let mut caller = config.clone();
    caller.clients.downstream = ClientConfig::new(&downstream.grpc_url());
    caller.app.downstream_url = downstream.http_url("/headers");
    (pipeline, Running::start(&caller).await, downstream)
}

/// `GET` the caller's `path`, with `headers`: the headers the downstream received.
async fn call(
    caller: &Running,
    path: &str,
    headers: &[(&str, String)],
) -> BTreeMap<String, String> {
    let (status, body) = get(&caller.http_url(path), headers).await;
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|error| panic!("{path}: {error}: {body}"))
}

/// The span id the trace headers of an outgoing call carry, checked to be of the
/// caller's trace and sampled or not: one per format present, which must agree.
fn carried_span_id(headers: &BTreeMap<String, String>, sampled: bool) -> String {
    let value = |name: &str| headers.get(name).cloned();
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

#[tokio::test]
async fn http_client_calls_carry_the_trace_and_get_a_client_span() {
    let collector = Collector::start();
    let config = traced(&collector, &[Propagation::B3, Propagation::W3c]);
    let (pipeline, caller, downstream) = caller_and_downstream(&config).await;
    let url = downstream.http_url("/headers");

    let received = call(&caller, "/call/http", &caller_headers()).await;
    pipeline.stop([caller, downstream]).await;

    assert_eq!(
        received.get("x-request-kind").map(String::as_str),
        Some("test"),
        "the caller's own header: {received:?}"
    );
    for name in ["traceparent"].iter().chain(&B3_HEADERS) {
        assert!(received.contains_key(*name), "{name} in {received:?}");
    }
    let client_id = carried_span_id(&received, true);

    let spans = collector.zipkin_spans();
    let server = find(&spans, "GET /call/http", "SERVER");
    assert_eq!(server["traceId"], CALLER_TRACE, "{server}");
    assert_eq!(server["parentId"], CALLER_SPAN, "{server}");
    let client = find(&spans, "GET /headers", "CLIENT");
    assert_eq!(client["traceId"], CALLER_TRACE, "{client}");
    assert_eq!(
        client["id"],
        client_id.as_str(),
        "the span the headers name: {client}"
    );
    assert_eq!(client["parentId"], server["id"], "{client}");
    assert_eq!(client["tags"]["http.request.method"], "GET", "{client}");
    assert_eq!(
        client["tags"]["http.response.status_code"], "200",
        "{client}"
    );
    assert_eq!(client["tags"]["url.full"], url.as_str(), "{client}");
    // The downstream continues the trace under the CLIENT span.
    let callee = find(&spans, "GET /headers", "SERVER");
    assert_eq!(callee["traceId"], CALLER_TRACE, "{callee}");
    assert_eq!(callee["parentId"], client["id"], "{callee}");
}

#[tokio::test]
async fn an_unsampled_trace_is_propagated_without_spans() {
    let collector = Collector::start();
    let mut config = traced(&collector, &[Propagation::B3, Propagation::W3c]);
    config.tracing.sample_ratio = 0.0;
    let (pipeline, caller, downstream) = caller_and_downstream(&config).await;

    // The caller decided not to sample: its trace id still travels, with that decision.
    let headers = [("b3", format!("{CALLER_TRACE}-{CALLER_SPAN}-0"))];
    let over_http = call(&caller, "/call/http", &headers).await;
    let over_grpc = call(&caller, "/call/grpc", &headers).await;
    pipeline.stop([caller, downstream]).await;

    carried_span_id(&over_http, false);
    carried_span_id(&over_grpc, false);
    let exported = collector.received("/api/v2/spans");
    assert!(exported.is_empty(), "{exported:#?}");
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
        let collector = Collector::start();
        let config = traced(&collector, &propagation);
        let (pipeline, caller, downstream) = caller_and_downstream(&config).await;

        let received = call(&caller, "/call/grpc", &caller_headers()).await;
        pipeline.stop([caller, downstream]).await;

        for name in sent {
            assert!(
                received.contains_key(*name),
                "{propagation:?}: {name} in {received:?}"
            );
        }
        for name in not_sent {
            assert!(
                !received.contains_key(*name),
                "{propagation:?}: no {name} in {received:?}"
            );
        }
        let client_id = carried_span_id(&received, true);

        let spans = collector.zipkin_spans();
        let server = find(&spans, "GET /call/grpc", "SERVER");
        assert_eq!(server["traceId"], CALLER_TRACE, "{propagation:?}: {server}");
        assert_eq!(server["parentId"], CALLER_SPAN, "{propagation:?}: {server}");
        let client = find(&spans, UNARY, "CLIENT");
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
        assert_eq!(client["tags"]["rpc.system"], "grpc", "{client}");
        assert_eq!(client["tags"]["rpc.service"], "echo.v1.Echo", "{client}");
        assert_eq!(client["tags"]["rpc.method"], "Unary", "{client}");
        assert_eq!(client["tags"]["rpc.grpc.status_code"], "0", "{client}");
        let callee = find(&spans, UNARY, "SERVER");
        assert_eq!(
            callee["parentId"], client["id"],
            "{propagation:?}: {callee}"
        );
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
        let collector = Collector::start();
        let config = traced(&collector, &propagation);
        let (pipeline, service) = Pipeline::serve(&config).await;
        let mut health = HealthClient::new(service.channel().await);
        let b3 = format!("{b3_trace}-{b3_parent}-1");
        let traceparent = format!("00-{w3c_trace}-{w3c_parent}-01");
        for (name, value) in [("b3", &b3), ("traceparent", &traceparent)] {
            // Each request carries one format only.
            let (status, _) = get(&service.http_url("/healthz"), &[(name, value.clone())]).await;
            assert_eq!(status, 200);
            let mut request = tonic::Request::new(HealthCheckRequest::default());
            request
                .metadata_mut()
                .insert(name, value.parse().expect("ASCII metadata"));
            health.check(request).await.expect("Check");
        }
        pipeline.stop([service]).await;

        let spans = collector.zipkin_spans();
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

#[tokio::test]
async fn spans_are_exported_over_otlp_http() {
    let collector = Collector::start();
    let mut config = traced(&collector, &[Propagation::B3, Propagation::W3c]);
    config.tracing.exporter = TraceExporter::Otlp;
    let (pipeline, service) = Pipeline::serve(&config).await;
    let (status, _) = get(&service.http_url("/healthz"), &caller_headers()).await;
    assert_eq!(status, 200);
    pipeline.stop([service]).await;

    assert!(
        collector.received("/api/v2/spans").is_empty(),
        "nothing goes to Zipkin"
    );
    let exports = collector.received("/v1/traces");
    assert!(!exports.is_empty(), "an OTLP export");
    let mut spans = Vec::new();
    for export in &exports {
        for resource_spans in otlp::decode(export) {
            let resource = resource_spans.resource.expect("a resource");
            assert_eq!(
                otlp::string_attribute(&resource.attributes, "service.name"),
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
    let server = spans
        .iter()
        .find(|span| span.name == "GET /healthz")
        .unwrap_or_else(|| panic!("the SERVER span of GET /healthz in {spans:#?}"));
    assert_eq!(otlp::hex(&server.trace_id), CALLER_TRACE, "{server:?}");
    assert_eq!(otlp::hex(&server.parent_span_id), CALLER_SPAN, "{server:?}");
    assert_eq!(server.span_id.len(), 8, "{server:?}");
    assert_eq!(server.kind, 2, "SPAN_KIND_SERVER: {server:?}");
    assert!(server.end_time_unix_nano >= server.start_time_unix_nano);
    assert_eq!(
        otlp::string_attribute(&server.attributes, "http.route"),
        Some("/healthz"),
        "{server:?}"
    );
}
