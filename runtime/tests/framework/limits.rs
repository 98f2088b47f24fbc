//! The limits of a request: its deadline, the bound on requests handled at once, a
//! handler's panic, the size of a message.

use std::time::Duration;

use serde_json::json;
use tonic::Code;

use super::support::service::{UNARY, sleeping};
use super::support::{
    CALLER_TRACE, Collector, LogDir, Pipeline, Running, caller_headers, echo, eventually, message,
    traced,
};
use svcgen_runtime::config::Propagation;

/// The test service with `change` made to its configuration.
async fn start(
    change: impl FnOnce(&mut svcgen_runtime::Config<super::support::service::Echo>),
) -> Running {
    let mut config = svcgen_runtime::Config::ephemeral();
    change(&mut config);
    Running::start(&config).await
}

#[tokio::test]
async fn a_request_past_its_deadline_is_answered_deadline_exceeded_or_504() {
    let service = start(|config| config.server.request_timeout_ms = 200).await;
    let status = service
        .client()
        .await
        .unary(message("sleep 10000", 0))
        .await
        .expect_err("past the deadline");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status}");

    let answer = service.send("GET", "/slow/sleep%2010000", &[], None).await;
    assert_eq!(answer.status, 504, "{answer:?}");
    assert_eq!(
        answer.status_and_json().1,
        json!({"code": 4, "message": "the deadline passed", "details": []})
    );
    // Quick ones are served.
    let reply = service.client().await.unary(message("sleep 1", 0)).await;
    assert!(reply.is_ok(), "{reply:?}");
    service.stop().await;
}

#[tokio::test]
async fn a_callers_shorter_grpc_timeout_is_the_deadline() {
    let service = start(|config| config.server.request_timeout_ms = 60_000).await;
    // Over bare HTTP/2: tonic's client would enforce its own deadline and answer first.
    let stream = tokio::net::TcpStream::connect(service.server.grpc_addr())
        .await
        .expect("connect");
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .expect("an HTTP/2 connection");
    tokio::spawn(connection);
    let encoded = prost::Message::encode_to_vec(&message("sleep 10001", 0));
    let mut frame = vec![0];
    frame.extend_from_slice(&u32::try_from(encoded.len()).unwrap().to_be_bytes());
    frame.extend_from_slice(&encoded);
    let request = http::Request::post(format!("{}/{UNARY}", service.grpc_url()))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("grpc-timeout", "100m")
        .body(http_body_util::Full::new(bytes::Bytes::from(frame)))
        .expect("a request");
    let started = std::time::Instant::now();
    let response = sender.send_request(request).await.expect("a response");
    let elapsed = started.elapsed();
    assert_eq!(response.status(), 200);
    // The status comes in the headers (trailers-only) or in the trailers.
    let headers = response.headers().clone();
    let collected = http_body_util::BodyExt::collect(response.into_body())
        .await
        .expect("the body");
    let trailers = collected.trailers().cloned().unwrap_or_default();
    let status = headers
        .get("grpc-status")
        .or_else(|| trailers.get("grpc-status"))
        .expect("a grpc-status");
    assert_eq!(status, "4", "DEADLINE_EXCEEDED: {headers:?} {trailers:?}");
    assert!(
        elapsed >= Duration::from_millis(100) && elapsed < Duration::from_secs(10),
        "the caller's 100 ms, not the server's minute: {elapsed:?}"
    );
    service.stop().await;
}

#[tokio::test]
async fn requests_beyond_the_bound_are_shed_at_once() {
    let service = start(|config| {
        config.server.max_concurrent_requests = 1;
        config.server.request_timeout_ms = 0;
    })
    .await;
    // One request holds the only permit...
    let url = service.http_url("/slow/sleep%203000");
    let held = tokio::spawn(async move { super::support::send("GET", &url, &[], None).await });
    eventually("the slow request to be handled", || sleeping(3000) == 1).await;
    // ... so others are turned away, over gRPC and HTTP alike, without waiting.
    let status = service
        .client()
        .await
        .unary(message("hello", 0))
        .await
        .expect_err("shed");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status}");
    let answer = service.send("GET", "/ok", &[], None).await;
    assert_eq!(answer.status, 503, "{answer:?}");
    assert_eq!(answer.status_and_json().1["code"], 8);
    // Health is a request like any other; once the permit is back, all is served.
    assert_eq!(held.await.expect("the slow request").status, 200);
    let reply = service.client().await.unary(message("hello", 0)).await;
    assert!(reply.is_ok(), "{reply:?}");
    service.stop().await;
}

#[tokio::test]
async fn a_panicking_handler_is_answered_internal_or_500_and_the_server_goes_on() {
    let service = start(|_| {}).await;
    let status = service
        .client()
        .await
        .unary(message("panic", 0))
        .await
        .expect_err("the handler panicked");
    assert_eq!(status.code(), Code::Internal, "{status}");
    let answer = service.send("GET", "/slow/panic", &[], None).await;
    assert_eq!(answer.status, 500, "{answer:?}");
    assert_eq!(answer.status_and_json().1["code"], 13);
    for _ in 0..3 {
        let reply = service.client().await.unary(message("still here", 0)).await;
        assert_eq!(reply.expect("served").into_inner().message, "still here");
    }
    service.stop().await;
}

/// The panic's line is an error in the call's trace, over gRPC and HTTP, and names it.
#[tokio::test]
async fn a_handlers_panic_is_logged_with_the_trace_id_of_its_call() {
    let collector = Collector::start();
    let logs = LogDir::new();
    let mut config = traced(&collector, &[Propagation::B3, Propagation::W3c]);
    config.log.file = Some(logs.config(14));
    let (pipeline, service) = Pipeline::serve(&config).await;
    let status = service
        .client()
        .await
        .unary(echo("panic", &caller_headers()))
        .await
        .expect_err("the handler panicked");
    assert_eq!(status.code(), Code::Internal, "{status}");
    let answer = service
        .send("GET", "/slow/panic", &caller_headers(), None)
        .await;
    assert_eq!(answer.status, 500, "{answer:?}");
    pipeline.stop([service]).await;

    let panics: Vec<_> = (logs.lines().into_iter())
        .filter(|line| line["message"] == "the handler panicked")
        .collect();
    assert_eq!(panics.len(), 2, "one per call: {panics:?}");
    for line in &panics {
        assert_eq!(line["level"], "ERROR", "{line}");
        assert_eq!(line["panic"], "asked to panic", "{line}");
        assert_eq!(line["trace_id"], CALLER_TRACE, "{line}");
    }
}

#[tokio::test]
async fn a_message_over_the_size_limit_is_refused() {
    let service = start(|config| config.server.max_message_bytes = 1024).await;
    let status = service
        .client()
        .await
        .unary(message(&"x".repeat(2000), 0))
        .await
        .expect_err("too large");
    // tonic's code for a message over the limit.
    assert_eq!(status.code(), Code::OutOfRange, "{status}");
    let reply = service.client().await.unary(message("small", 0)).await;
    assert!(reply.is_ok(), "{reply:?}");
    service.stop().await;
}
