//! A Zipkin v2 JSON span exporter (`POST /api/v2/spans`), the only Zipkin-specific code
//! of the service: every span goes through the SDK's batch processor to [`Exporter`],
//! which posts it from the processor's thread, with a blocking HTTP client and a timeout.
//!
//! It replaces the deprecated `opentelemetry-zipkin` crate, which sends no
//! `localEndpoint.serviceName` and a zero `parentId` on root spans. The JSON is written
//! with serde from the Zipkin v2 model (`zipkin2-api.yaml`, `Span`): spans are written
//! off the request path, so no hand-written encoder earns its lines here.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::Value;
use opentelemetry::trace::{SpanId, SpanKind, Status};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use serde::Serialize;

use crate::otel;

/// Exports spans to a Zipkin v2 collector as JSON.
#[derive(Debug)]
pub struct Exporter {
    client: reqwest::blocking::Client,
    endpoint: String,
    local: Endpoint,
}

impl Exporter {
    /// An exporter posting to `endpoint` (e.g. `http://127.0.0.1:9411/api/v2/spans`),
    /// reporting spans under `service_name`, giving up on a request after `timeout`,
    /// trusting the CA certificates of `ca_file` for an `https://` endpoint (else the
    /// web's roots).
    ///
    /// # Errors
    /// The HTTP client cannot be built.
    pub fn new(
        endpoint: &str,
        service_name: &str,
        timeout: Duration,
        ca_file: Option<&std::path::Path>,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            client: otel::blocking_http_client(timeout, ca_file)?,
            endpoint: endpoint.to_owned(),
            local: Endpoint::local(service_name),
        })
    }
}

impl SpanExporter for Exporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans: Vec<ZipkinSpan<'_>> = batch
            .iter()
            .map(|span| ZipkinSpan::new(span, &self.local))
            .collect();
        let body = serde_json::to_vec(&spans)
            .map_err(|error| OTelSdkError::InternalFailure(format!("zipkin export: {error}")))?;
        let response = self
            .client
            .post(&self.endpoint)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .map_err(|error| OTelSdkError::InternalFailure(format!("zipkin export: {error}")))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(OTelSdkError::InternalFailure(format!(
                "zipkin export: the collector answered {status}"
            )))
        }
    }
}

/// A span of the Zipkin v2 model.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ZipkinSpan<'a> {
    trace_id: String,
    id: String,
    /// Absent on a root span (not sixteen zeros).
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_id: Option<String>,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    /// Epoch microseconds.
    timestamp: u64,
    /// Microseconds, at least 1.
    duration: u64,
    local_endpoint: &'a Endpoint,
    #[serde(skip_serializing_if = "Option::is_none")]
    remote_endpoint: Option<Endpoint>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    annotations: Vec<Annotation<'a>>,
    /// String values only, as the model has them.
    tags: BTreeMap<&'a str, String>,
}

/// A `localEndpoint` or `remoteEndpoint`.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct Endpoint {
    #[serde(skip_serializing_if = "Option::is_none")]
    service_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipv4: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ipv6: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
}

impl Endpoint {
    fn local(service_name: &str) -> Self {
        Self {
            service_name: Some(service_name.to_owned()),
            ..Self::default()
        }
    }

    /// The peer a span names in its attributes (an IPv4-mapped IPv6 address as the
    /// IPv4 one), if it names one.
    fn remote(span: &SpanData) -> Option<Self> {
        let attribute = |key: &str| {
            span.attributes
                .iter()
                .find(|attribute| attribute.key.as_str() == key)
                .map(|attribute| &attribute.value)
        };
        let ip = attribute(otel::PEER_ADDRESS)?
            .as_str()
            .parse::<IpAddr>()
            .ok()?
            .to_canonical();
        let port = match attribute(otel::PEER_PORT) {
            Some(Value::I64(port)) => u16::try_from(*port).ok().filter(|port| *port != 0),
            _ => None,
        };
        Some(match ip {
            IpAddr::V4(ip) => Self {
                ipv4: Some(ip.to_string()),
                port,
                ..Self::default()
            },
            IpAddr::V6(ip) => Self {
                ipv6: Some(ip.to_string()),
                port,
                ..Self::default()
            },
        })
    }
}

/// An event of a span.
#[derive(Debug, Serialize)]
struct Annotation<'a> {
    timestamp: u64,
    value: &'a str,
}

impl<'a> ZipkinSpan<'a> {
    fn new(span: &'a SpanData, local: &'a Endpoint) -> Self {
        let timestamp = micros(span.start_time);
        let mut tags: BTreeMap<&str, String> = span
            .attributes
            .iter()
            .map(|attribute| (attribute.key.as_str(), tag(&attribute.value)))
            .collect();
        match &span.status {
            Status::Error { description } => {
                tags.insert("otel.status_code", "ERROR".to_owned());
                tags.insert("error", description.to_string());
            }
            Status::Ok => {
                tags.insert("otel.status_code", "OK".to_owned());
            }
            Status::Unset => {}
        }
        let scope = span.instrumentation_scope.name();
        if !scope.is_empty() {
            tags.insert("otel.scope.name", scope.to_owned());
        }
        Self {
            trace_id: span.span_context.trace_id().to_string(),
            id: span.span_context.span_id().to_string(),
            parent_id: (span.parent_span_id != SpanId::INVALID)
                .then(|| span.parent_span_id.to_string()),
            name: &span.name,
            kind: match span.span_kind {
                SpanKind::Client => Some("CLIENT"),
                SpanKind::Server => Some("SERVER"),
                SpanKind::Producer => Some("PRODUCER"),
                SpanKind::Consumer => Some("CONSUMER"),
                SpanKind::Internal => None,
            },
            timestamp,
            duration: micros(span.end_time).saturating_sub(timestamp).max(1),
            local_endpoint: local,
            remote_endpoint: Endpoint::remote(span),
            annotations: span
                .events
                .iter()
                .map(|event| Annotation {
                    timestamp: micros(event.timestamp),
                    value: &event.name,
                })
                .collect(),
            tags,
        }
    }
}

/// A tag's value: every attribute value as a string.
fn tag(value: &Value) -> String {
    match value {
        Value::String(value) => value.as_str().to_owned(),
        value => value.to_string(),
    }
}

/// Epoch microseconds (0 for times before the epoch).
fn micros(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_micros()).unwrap_or(u64::MAX)
    })
}

#[cfg(test)]
mod tests {
    use opentelemetry::KeyValue;
    use opentelemetry::trace::{Event, SpanContext, TraceFlags, TraceId, TraceState};
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};

    use super::*;

    /// The ids of every test span, and when it started.
    fn context() -> SpanContext {
        SpanContext::new(
            TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap(),
            SpanId::from_hex("b7ad6b7169203331").unwrap(),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        )
    }

    fn start() -> SystemTime {
        UNIX_EPOCH + Duration::from_micros(1_700_000_000_000_123)
    }

    fn span(parent: SpanId, status: Status) -> SpanData {
        let start = start();
        SpanData {
            span_context: context(),
            parent_span_id: parent,
            parent_span_is_remote: false,
            span_kind: SpanKind::Server,
            name: "pkg.Svc/Say \"hi\"".into(),
            start_time: start,
            end_time: start + Duration::from_micros(250),
            attributes: vec![
                KeyValue::new("rpc.system", "grpc"),
                KeyValue::new("rpc.grpc.status_code", 13_i64),
                KeyValue::new("network.peer.address", "::ffff:10.0.0.7"),
                KeyValue::new("network.peer.port", 50_123_i64),
            ],
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status,
            instrumentation_scope: opentelemetry::InstrumentationScope::builder("demo").build(),
        }
    }

    fn json(span: &SpanData) -> serde_json::Value {
        serde_json::to_value(ZipkinSpan::new(span, &Endpoint::local("demo"))).expect("JSON")
    }

    #[test]
    fn a_span_is_written_in_the_zipkin_v2_model() {
        let written = json(&span(
            SpanId::from_hex("00f067aa0ba902b7").unwrap(),
            Status::error("boom"),
        ));
        let expected = serde_json::json!({
            "traceId": "0af7651916cd43dd8448eb211c80319c",
            "id": "b7ad6b7169203331",
            "parentId": "00f067aa0ba902b7",
            "name": "pkg.Svc/Say \"hi\"",
            "kind": "SERVER",
            "timestamp": 1_700_000_000_000_123_u64,
            "duration": 250,
            "localEndpoint": {"serviceName": "demo"},
            "remoteEndpoint": {"ipv4": "10.0.0.7", "port": 50123},
            "tags": {
                "rpc.system": "grpc",
                "rpc.grpc.status_code": "13",
                "network.peer.address": "::ffff:10.0.0.7",
                "network.peer.port": "50123",
                "otel.status_code": "ERROR",
                "error": "boom",
                "otel.scope.name": "demo",
            },
        });
        assert_eq!(written, expected);
    }

    #[test]
    fn a_scope_other_than_the_service_is_named_too() {
        let written = serde_json::to_value(ZipkinSpan::new(
            &span(SpanId::INVALID, Status::Ok),
            &Endpoint::local("other \"service\""),
        ))
        .expect("JSON");
        assert_eq!(written["localEndpoint"]["serviceName"], "other \"service\"");
        assert_eq!(written["tags"]["otel.scope.name"], "demo");
        assert_eq!(written["tags"]["otel.status_code"], "OK");
    }

    #[test]
    fn a_root_span_has_no_parent_id() {
        let written = json(&span(SpanId::INVALID, Status::Unset));
        assert!(written.get("parentId").is_none(), "{written}");
        assert!(
            written["tags"].get("otel.status_code").is_none(),
            "{written}"
        );
    }

    #[test]
    fn events_are_annotations() {
        let mut span = span(SpanId::INVALID, Status::Unset);
        span.events.events.push(Event::new(
            "exception",
            start() + Duration::from_micros(10),
            Vec::new(),
            0,
        ));
        let written = json(&span);
        assert_eq!(
            written["annotations"],
            serde_json::json!([{"timestamp": 1_700_000_000_000_133_u64, "value": "exception"}])
        );
    }
}
