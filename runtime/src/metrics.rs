//! Prometheus metrics, served at `GET /metrics` on the HTTP port (`[metrics]`), in the
//! text exposition format:
//!
//! | metric | type | labels |
//! | --- | --- | --- |
//! | `grpc_server_handled_total` | counter | `grpc_service`, `grpc_method`, `grpc_code` |
//! | `grpc_server_handling_seconds` | histogram | `grpc_service`, `grpc_method`, `grpc_code` |
//! | `grpc_server_requests_in_flight` | gauge | |
//! | `http_server_requests_total` | counter | `method`, `route`, `status` |
//! | `http_server_request_duration_seconds` | histogram | `method`, `route`, `status` |
//! | `http_server_requests_in_flight` | gauge | |
//! | `service_build_info` | gauge (1) | `service`, `version`, `runtime_version` |
//!
//! Every label has a bounded set of values, whatever the callers send: a gRPC method the
//! server does not serve is `unknown`, an HTTP request that matched no route has
//! `route="unmatched"` (never its path), an HTTP method outside the standard ones is
//! `_OTHER` unless a REST rule of the service matched it. A request is counted when it
//! ends — at the end of its response body, so a stream with its full duration — by the
//! request layer (`observe`), the one place both servers share.
//!
//! Each started service has a registry of its own ([`Metrics`]), not the process's:
//! tests run several services in one process. Recording a request costs a few atomic
//! operations: the series of each gRPC method and status code are looked up once and
//! kept; those of HTTP routes are found in a map under a read lock.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::routing::get;
use http::header::CONTENT_TYPE;
use prometheus::core::Collector;
use prometheus::{
    Encoder as _, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    Opts, Registry, TextEncoder,
};
use serde::{Deserialize, Serialize};
use tonic::Code;

use crate::access_log::{Outcome, Protocol, Route, code_name};

/// `[metrics]`: Prometheus metrics at `GET /metrics`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Whether requests are counted and `GET /metrics` is served (404 when off).
    pub enabled: bool,
    /// The upper bounds of the latency histograms' buckets, in seconds, increasing
    /// (`+Inf` is implied).
    pub latency_buckets: Vec<f64>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            latency_buckets: DEFAULT_BUCKETS.to_vec(),
        }
    }
}

/// From half a millisecond to ten seconds.
const DEFAULT_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

impl MetricsConfig {
    /// Why `latency_buckets` cannot be used, if it cannot.
    ///
    /// # Errors
    /// Empty, not increasing, or not positive finite numbers.
    pub fn check_buckets(&self) -> Result<(), String> {
        let buckets = &self.latency_buckets;
        if buckets.is_empty() {
            return Err("give at least one bucket".to_owned());
        }
        if buckets
            .iter()
            .any(|bound| !bound.is_finite() || *bound <= 0.0)
        {
            return Err("bounds are positive numbers of seconds (+Inf is implied)".to_owned());
        }
        if buckets.windows(2).any(|pair| pair[0] >= pair[1]) {
            return Err("bounds must be increasing".to_owned());
        }
        Ok(())
    }
}

/// The label of a gRPC method, or an HTTP route, that the server does not serve.
const UNKNOWN_METHOD: &str = "unknown";
/// The `route` of an HTTP request that matched no route.
const UNMATCHED: &str = "unmatched";
/// The `method` of an HTTP request with a method outside the standard ones.
const OTHER_METHOD: &str = "_OTHER";

/// The metrics of one running service: its registry and the families both servers
/// record into. Cheap to clone.
#[derive(Clone)]
pub struct Metrics(Arc<Families>);

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

struct Families {
    registry: Registry,
    grpc_requests: IntCounterVec,
    grpc_duration: HistogramVec,
    grpc_in_flight: IntGauge,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    http_in_flight: IntGauge,
}

impl Metrics {
    /// A registry of its own for the service `service` at `version`, with the families
    /// of both servers and the build information.
    ///
    /// # Errors
    /// Invalid buckets.
    pub fn new(service: &str, version: &str, config: &MetricsConfig) -> anyhow::Result<Self> {
        config
            .check_buckets()
            .map_err(|problem| anyhow::anyhow!("metrics.latency_buckets: {problem}"))?;
        let registry = Registry::new();
        let histogram = |name: &str, help: &str, labels: &[&str]| {
            HistogramVec::new(
                HistogramOpts::new(name, help).buckets(config.latency_buckets.clone()),
                labels,
            )
        };
        let grpc_labels = ["grpc_service", "grpc_method", "grpc_code"];
        let http_labels = ["method", "route", "status"];
        let families = Families {
            grpc_requests: IntCounterVec::new(
                Opts::new(
                    "grpc_server_handled_total",
                    "gRPC calls completed, by method and status code.",
                ),
                &grpc_labels,
            )?,
            grpc_duration: histogram(
                "grpc_server_handling_seconds",
                "How long gRPC calls took, from their arrival to the end of their response \
                 (the last message of a stream), in seconds.",
                &grpc_labels,
            )?,
            grpc_in_flight: IntGauge::new(
                "grpc_server_requests_in_flight",
                "gRPC calls being handled (open streams included).",
            )?,
            http_requests: IntCounterVec::new(
                Opts::new(
                    "http_server_requests_total",
                    "HTTP requests completed, by method, route template and status code.",
                ),
                &http_labels,
            )?,
            http_duration: histogram(
                "http_server_request_duration_seconds",
                "How long HTTP requests took, from their arrival to the end of their \
                 response body, in seconds.",
                &http_labels,
            )?,
            http_in_flight: IntGauge::new(
                "http_server_requests_in_flight",
                "HTTP requests being handled.",
            )?,
            registry,
        };
        let build_info = IntGauge::with_opts(
            Opts::new(
                "service_build_info",
                "The service's name and version, and the svcgen runtime's version: always 1.",
            )
            .const_label("service", service)
            .const_label("version", version)
            .const_label("runtime_version", env!("CARGO_PKG_VERSION")),
        )?;
        build_info.set(1);
        let collectors: [Box<dyn Collector>; 7] = [
            Box::new(families.grpc_requests.clone()),
            Box::new(families.grpc_duration.clone()),
            Box::new(families.grpc_in_flight.clone()),
            Box::new(families.http_requests.clone()),
            Box::new(families.http_duration.clone()),
            Box::new(families.http_in_flight.clone()),
            Box::new(build_info),
        ];
        for collector in collectors {
            families
                .registry
                .register(collector)
                .context("cannot register a metric")?;
        }
        Ok(Self(Arc::new(families)))
    }

    /// Every metric, in the Prometheus text exposition format (version 0.0.4).
    #[must_use]
    pub fn render(&self) -> String {
        let mut text = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.0.registry.gather(), &mut text) {
            tracing::warn!(%error, "cannot encode the metrics");
        }
        String::from_utf8(text).unwrap_or_default()
    }

    /// What the request layer of the server of `protocol` records with; a gRPC one
    /// knows the RPCs `methods` (`package.Service/Method`) its server serves.
    #[must_use]
    pub fn recorder<'a>(
        &self,
        protocol: Protocol,
        methods: impl IntoIterator<Item = &'a &'static str>,
    ) -> Recorder {
        let families = &self.0;
        let (requests, duration, in_flight) = match protocol {
            Protocol::Grpc => (
                &families.grpc_requests,
                &families.grpc_duration,
                &families.grpc_in_flight,
            ),
            Protocol::Http => (
                &families.http_requests,
                &families.http_duration,
                &families.http_in_flight,
            ),
        };
        let mut grpc: Vec<GrpcMethod> = match protocol {
            Protocol::Grpc => methods
                .into_iter()
                .map(|route| GrpcMethod::new(route))
                .collect(),
            Protocol::Http => Vec::new(),
        };
        grpc.sort_unstable_by(|a, b| by_length(a.route, b.route));
        grpc.dedup_by(|a, b| a.route == b.route);
        Recorder(Arc::new(Recording {
            protocol,
            in_flight: in_flight.clone(),
            requests: requests.clone(),
            duration: duration.clone(),
            grpc: grpc.into(),
            unknown_grpc: GrpcMethod {
                route: UNKNOWN_METHOD,
                service: UNKNOWN_METHOD,
                method: UNKNOWN_METHOD,
                codes: codes(),
            },
            http: RwLock::default(),
        }))
    }

    /// `GET /metrics`.
    pub fn routes<T: Clone + Send + Sync + 'static>(&self) -> Router<T> {
        let metrics = self.clone();
        Router::new().route(
            "/metrics",
            get(move || {
                let text = metrics.render();
                std::future::ready(([(CONTENT_TYPE, prometheus::TEXT_FORMAT)], text))
            }),
        )
    }
}

/// The 17 gRPC status codes.
const CODES: usize = 17;

fn codes() -> [OnceLock<Series>; CODES] {
    std::array::from_fn(|_| OnceLock::new())
}

/// The series of one label set: a request count and a latency histogram.
struct Series {
    requests: IntCounter,
    duration: Histogram,
}

impl Series {
    fn new(recording: &Recording, labels: &[&str]) -> Self {
        Self {
            requests: recording.requests.with_label_values(labels),
            duration: recording.duration.with_label_values(labels),
        }
    }

    fn record(&self, latency: Duration) {
        self.requests.inc();
        self.duration.observe(latency.as_secs_f64());
    }
}

/// An RPC and its series, by status code, created on first use.
struct GrpcMethod {
    route: &'static str,
    service: &'static str,
    method: &'static str,
    codes: [OnceLock<Series>; CODES],
}

impl GrpcMethod {
    fn new(route: &'static str) -> Self {
        let (service, method) = route.split_once('/').unwrap_or((route, ""));
        Self {
            route,
            service,
            method,
            codes: codes(),
        }
    }
}

/// The series of an HTTP route (its template) for one method and status.
struct HttpSeries {
    method: String,
    status: u16,
    series: Series,
}

/// What the request layer of one server records with: see [`Metrics::recorder`].
/// Cheap to clone.
#[derive(Clone)]
pub struct Recorder(Arc<Recording>);

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("protocol", &self.0.protocol)
            .finish_non_exhaustive()
    }
}

struct Recording {
    protocol: Protocol,
    in_flight: IntGauge,
    requests: IntCounterVec,
    duration: HistogramVec,
    /// The server's RPCs, sorted as [`by_length`] sorts them.
    grpc: Box<[GrpcMethod]>,
    unknown_grpc: GrpcMethod,
    /// By route template.
    http: RwLock<HashMap<Box<str>, Vec<HttpSeries>>>,
}

impl Recorder {
    /// A request arrived.
    pub fn started(&self) {
        self.0.in_flight.inc();
    }

    /// The request `started` counted ended with `outcome` after `latency`: `method` and
    /// `route` as the request layer knows them then.
    pub fn finished(
        &self,
        method: &http::Method,
        route: &Route,
        outcome: Outcome,
        latency: Duration,
    ) {
        let recording = &*self.0;
        recording.in_flight.dec();
        match recording.protocol {
            Protocol::Grpc => {
                let code = match outcome {
                    Outcome::Grpc(code) => code,
                    Outcome::Cancelled => Code::Cancelled,
                    Outcome::Http(_) | Outcome::Failed => Code::Unknown,
                };
                recording.grpc(route, code, latency);
            }
            Protocol::Http => {
                let status = match outcome {
                    Outcome::Http(status) => status.as_u16(),
                    // No response: the server failed, or the client went away first
                    // (nginx's "client closed request").
                    Outcome::Failed => 500,
                    Outcome::Cancelled => 499,
                    // Not the HTTP server's.
                    Outcome::Grpc(_) => 500,
                };
                recording.http(method, route, status, latency);
            }
        }
    }
}

impl Recording {
    fn grpc(&self, route: &Route, code: Code, latency: Duration) {
        let method = match route {
            Route::Grpc(route) => self
                .grpc
                .binary_search_by(|method| by_length(method.route, route))
                .map_or(&self.unknown_grpc, |index| &self.grpc[index]),
            _ => &self.unknown_grpc,
        };
        let index = usize::try_from(i32::from(code)).map_or(2, |index| index.min(CODES - 1));
        method.codes[index]
            .get_or_init(|| Series::new(self, &[method.service, method.method, code_name(code)]))
            .record(latency);
    }

    fn http(&self, method: &http::Method, route: &Route, status: u16, latency: Duration) {
        let (route, rule) = match route {
            Route::Matched(matched) => (matched.as_str(), false),
            Route::Template(template) => (*template, true),
            _ => (UNMATCHED, false),
        };
        let method = if rule || is_standard(method) {
            method.as_str()
        } else {
            OTHER_METHOD
        };
        {
            let routes = self.http.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(found) = routes.get(route).and_then(|series| {
                series
                    .iter()
                    .find(|series| series.status == status && series.method == method)
            }) {
                found.series.record(latency);
                return;
            }
        }
        let mut routes = self.http.write().unwrap_or_else(PoisonError::into_inner);
        let series = routes.entry(route.into()).or_default();
        if let Some(found) = series
            .iter()
            .find(|series| series.status == status && series.method == method)
        {
            found.series.record(latency);
            return;
        }
        let created = Series::new(self, &[method, route, itoa::Buffer::new().format(status)]);
        created.record(latency);
        series.push(HttpSeries {
            method: method.to_owned(),
            status,
            series: created,
        });
    }
}

/// The methods of RFC 9110 and PATCH.
fn is_standard(method: &http::Method) -> bool {
    use http::Method as M;
    [
        M::GET,
        M::POST,
        M::PUT,
        M::DELETE,
        M::PATCH,
        M::HEAD,
        M::OPTIONS,
        M::CONNECT,
        M::TRACE,
    ]
    .contains(method)
}

/// Shorter first, then by bytes: most comparisons end at the lengths.
fn by_length(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics() -> Metrics {
        Metrics::new("demo", "1.2.3", &MetricsConfig::default()).unwrap()
    }

    #[test]
    fn each_method_and_code_has_its_series_and_unknown_methods_share_one() {
        let metrics = metrics();
        let recorder = metrics.recorder(Protocol::Grpc, &["pkg.Svc/Say", "pkg.Svc/Other"]);
        for (route, code) in [
            (Route::Grpc("pkg.Svc/Say"), Code::Ok),
            (Route::Grpc("pkg.Svc/Say"), Code::Ok),
            (Route::Grpc("pkg.Svc/Say"), Code::NotFound),
            (
                Route::UnknownGrpc(http::uri::PathAndQuery::from_static("/x.Y/Z")),
                Code::Unimplemented,
            ),
            (
                Route::UnknownGrpc(http::uri::PathAndQuery::from_static("/x.Y/W")),
                Code::Unimplemented,
            ),
        ] {
            recorder.started();
            recorder.finished(
                &http::Method::POST,
                &route,
                Outcome::Grpc(code),
                Duration::from_millis(2),
            );
        }
        let text = metrics.render();
        for line in [
            r#"grpc_server_handled_total{grpc_code="OK",grpc_method="Say",grpc_service="pkg.Svc"} 2"#,
            r#"grpc_server_handled_total{grpc_code="NOT_FOUND",grpc_method="Say",grpc_service="pkg.Svc"} 1"#,
            r#"grpc_server_handled_total{grpc_code="UNIMPLEMENTED",grpc_method="unknown",grpc_service="unknown"} 2"#,
            r#"grpc_server_handling_seconds_bucket{grpc_code="OK",grpc_method="Say",grpc_service="pkg.Svc",le="0.0025"} 2"#,
            "grpc_server_requests_in_flight 0",
            r#"service_build_info{runtime_version="0.2.0",service="demo",version="1.2.3"} 1"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }

    #[test]
    fn http_labels_are_bounded() {
        let metrics = metrics();
        let recorder = metrics.recorder(Protocol::Http, &[]);
        let custom = http::Method::from_bytes(b"BREW").unwrap();
        for (method, route, outcome) in [
            (
                &http::Method::GET,
                Route::Path(http::uri::PathAndQuery::from_static("/a/1")),
                Outcome::Http(http::StatusCode::NOT_FOUND),
            ),
            (
                &http::Method::GET,
                Route::Path(http::uri::PathAndQuery::from_static("/a/2")),
                Outcome::Http(http::StatusCode::NOT_FOUND),
            ),
            (
                &custom,
                Route::Path(http::uri::PathAndQuery::from_static("/a/3")),
                Outcome::Http(http::StatusCode::NOT_FOUND),
            ),
            (
                &custom,
                Route::Template("/v1/pots/{name}"),
                Outcome::Http(http::StatusCode::OK),
            ),
            (
                &http::Method::GET,
                Route::Template("/v1/pots/{name}"),
                Outcome::Cancelled,
            ),
        ] {
            recorder.started();
            recorder.finished(method, &route, outcome, Duration::from_millis(1));
        }
        let text = metrics.render();
        for line in [
            r#"http_server_requests_total{method="GET",route="unmatched",status="404"} 2"#,
            r#"http_server_requests_total{method="_OTHER",route="unmatched",status="404"} 1"#,
            r#"http_server_requests_total{method="BREW",route="/v1/pots/{name}",status="200"} 1"#,
            r#"http_server_requests_total{method="GET",route="/v1/pots/{name}",status="499"} 1"#,
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
        assert!(!text.contains("/a/"), "{text}");
    }

    #[test]
    fn buckets_are_checked() {
        let config = |buckets: &[f64]| MetricsConfig {
            enabled: true,
            latency_buckets: buckets.to_vec(),
        };
        assert!(config(&[0.1, 1.0]).check_buckets().is_ok());
        for bad in [&[][..], &[1.0, 0.5], &[0.0, 1.0], &[1.0, f64::INFINITY]] {
            assert!(config(bad).check_buckets().is_err(), "{bad:?}");
        }
    }
}
