//! A sampled call reaches Zipkin: the service's SERVER span, reported under its name, in
//! Zipkin v2 JSON, posted to a fake collector.
//!
//! Your code: svcgen created this file once and never touches it again.

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use svcgen_runtime::{Service as _, Telemetry};

use bookstore::app::AppState;
use bookstore::svcgen::config::Config;

/// A Zipkin collector: records the spans of every `POST /api/v2/spans`.
async fn fake_zipkin() -> (SocketAddr, Arc<Mutex<Vec<Value>>>) {
    let spans = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&spans);
    let app = axum::Router::new().route(
        "/api/v2/spans",
        axum::routing::post(move |body: axum::body::Bytes| async move {
            let batch: Vec<Value> = serde_json::from_slice(&body).expect("a list of spans");
            recorded.lock().expect("the spans").extend(batch);
            axum::http::StatusCode::ACCEPTED
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the collector");
    let addr = listener.local_addr().expect("its address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, spans)
}

// The test's runtime runs on this one thread, where the subscriber is installed.
#[tokio::test]
async fn a_sampled_call_reaches_zipkin_under_the_services_name() {
    let (collector, spans) = fake_zipkin().await;
    let mut config = Config::ephemeral();
    config.tracing.enabled = true;
    config.tracing.sample_ratio = 1.0;
    config.tracing.zipkin_endpoint = format!("http://{collector}/api/v2/spans");
    let telemetry = Telemetry::new(&config.log, &config.tracing).expect("telemetry");
    let _subscriber = tracing::dispatcher::set_default(telemetry.dispatch());

    let (server, channel) = support::start_with(config).await;
    let route = AppState::METHODS
        .first()
        .map_or("grpc.health.v1.Health/Check", |method| method.route);
    support::call_with_defaults(channel, route).await;
    server.shutdown().await.expect("clean shutdown");
    // Exports what is queued, waiting for the collector.
    tokio::task::spawn_blocking(move || telemetry.shutdown())
        .await
        .expect("telemetry shut down");

    let spans = spans.lock().expect("the spans");
    let span = spans
        .iter()
        .find(|span| span["name"] == route && span["kind"] == "SERVER")
        .unwrap_or_else(|| panic!("no SERVER span of {route} in {spans:#?}"));
    assert_eq!(span["localEndpoint"]["serviceName"], AppState::NAME);
    assert_eq!(span["tags"]["rpc.system"], "grpc");
    assert!(span.get("parentId").is_none(), "a root span: {span}");
}
