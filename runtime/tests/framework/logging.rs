//! Logging: the daily log file and its retention, the access line of every request (its
//! fields, its level, the level directive), and the trace ids in every line logged while
//! a request is handled — JSON lines read from the log file, whatever the console format.

use serde_json::Value;
use svcgen_runtime::config::{LogFormat, Propagation};
use svcgen_runtime::{Config, Telemetry};
use tonic::Code;

use crate::support::pb::EchoRequest;
use crate::support::service::UNARY;
use crate::support::{
    CALLER_TRACE, Collector, Echo, LogDir, Pipeline, caller_headers, echo, find, get, is_lower_hex,
    message, messages, traced,
};

/// Checks what every access line has: `message` (`grpc call`, `http request`) at
/// `level`, a timestamp, a latency, the client's address, not aborted, trace ids.
fn assert_access_line(line: &Value, message: &str, level: &str) {
    assert_eq!(line["target"], "access", "{line}");
    assert_eq!(line["message"], message, "{line}");
    assert_eq!(line["level"], level, "{line}");
    assert!(line["timestamp"].is_string(), "{line}");
    assert!(line["latency_us"].is_u64(), "{line}");
    assert!(
        line["peer"]
            .as_str()
            .is_some_and(|peer| peer.starts_with("127.0.0.1:")),
        "{line}"
    );
    assert_eq!(line["aborted"], false, "{line}");
    assert!(is_lower_hex(&line["trace_id"], &[32]), "{line}");
    assert!(is_lower_hex(&line["span_id"], &[16]), "{line}");
}

#[test]
fn files_older_than_keep_days_are_deleted() {
    let logs = LogDir::new();
    let mut config = Config::<Echo>::ephemeral();
    let service = config.tracing.service_name.clone();
    // Twenty days of rotated files, each created after the one before: the oldest go
    // first.
    let mut previous = None;
    for day in 1..=20 {
        let path = logs.path().join(format!("{service}.2020-01-{day:02}.log"));
        loop {
            std::fs::write(&path, "{}\n").expect("an old log file");
            let created = std::fs::metadata(&path)
                .and_then(|metadata| metadata.created())
                .ok();
            // Without creation times, the appender orders the files by their dates.
            if created.is_none() || created > previous {
                previous = created;
                break;
            }
            std::fs::remove_file(&path).expect("a file created too early");
            std::thread::yield_now();
        }
    }
    config.log.file = Some(logs.config(14));
    let telemetry = Telemetry::new(&config.log, &config.tracing).expect("the pipeline");
    tracing::dispatcher::with_default(telemetry.dispatch(), || {
        tracing::warn!("a line for today's file");
    });
    telemetry.shutdown();

    let files = logs.files(&service);
    assert_eq!(files.len(), 14, "{files:#?}");
    for day in 1..=7 {
        assert!(
            !files.contains(&format!("{service}.2020-01-{day:02}.log")),
            "{files:#?}"
        );
    }
    assert!(
        files.contains(&format!("{service}.2020-01-20.log")),
        "{files:#?}"
    );
    let today = files
        .iter()
        .find(|name| !name.contains("2020-01"))
        .expect("today's file");
    let text = std::fs::read_to_string(logs.path().join(today)).expect("today's file");
    let line: Value = serde_json::from_str(text.lines().last().expect("a line")).expect("JSON");
    assert_eq!(line["message"], "a line for today's file", "{line}");
    assert_eq!(line["level"], "WARN", "{line}");
}

/// The access lines in the log file after one `Unary` call answered NOT_FOUND in the
/// caller's sampled trace, with `format` on the console and `level` as the directive;
/// and the spans exported.
async fn one_not_found_call(format: LogFormat, level: &str) -> (Vec<Value>, Vec<Value>) {
    let collector = Collector::start();
    let logs = LogDir::new();
    let mut config = traced(&collector, &[Propagation::B3, Propagation::W3c]);
    config.log.format = format;
    config.log.level = level.to_owned();
    config.log.file = Some(logs.config(14));
    let (pipeline, service) = Pipeline::serve(&config).await;
    let mut request = echo("missing", &caller_headers());
    request.get_mut().code = Code::NotFound.into();
    let status = service
        .client()
        .await
        .unary(request)
        .await
        .expect_err("NOT_FOUND");
    assert_eq!(status.code(), Code::NotFound);
    pipeline.stop([service]).await;
    let access = logs
        .lines()
        .into_iter()
        .filter(|line| line["target"] == "access")
        .collect();
    (access, collector.zipkin_spans())
}

#[tokio::test]
async fn access_lines_follow_the_level_directive() {
    for format in [LogFormat::Json, LogFormat::Pretty] {
        let (lines, spans) = one_not_found_call(format, "info").await;
        assert_eq!(lines.len(), 1, "{format:?}: {lines:#?}");
        let line = &lines[0];
        assert_access_line(line, "grpc call", "INFO");
        assert_eq!(line["method"], UNARY, "{line}");
        assert_eq!(line["status"], "NOT_FOUND", "{line}");
        // The ids of the request's SERVER span, whichever way the line was written.
        let server = find(&spans, UNARY, "SERVER");
        assert_eq!(line["trace_id"], CALLER_TRACE, "{line}");
        assert_eq!(line["span_id"], server["id"], "{format:?}: {line} {server}");

        for level in ["info,access=off", "warn", "access=warn,info"] {
            let (lines, _) = one_not_found_call(format, level).await;
            assert!(lines.is_empty(), "{format:?} {level}: {lines:#?}");
        }
    }
}

/// Every line in the log file after failing gRPC calls and HTTP requests were served
/// (tracing off) with `format` on the console.
async fn lines_of_failures(format: LogFormat) -> Vec<Value> {
    let logs = LogDir::new();
    let mut config = Config::<Echo>::ephemeral();
    config.log.format = format;
    config.log.level = "info".to_owned();
    config.log.file = Some(logs.config(14));
    let (pipeline, service) = Pipeline::serve(&config).await;
    let mut client = service.client().await;
    for code in [
        Code::Internal,
        Code::Unknown,
        Code::Unavailable,
        Code::NotFound,
    ] {
        let status = client
            .unary(EchoRequest {
                code: code.into(),
                ..message("fail", 0)
            })
            .await
            .expect_err("a failing call");
        assert_eq!(status.code(), code);
    }
    let replies = client
        .server_stream(message("many", 2))
        .await
        .expect("ServerStream");
    assert_eq!(messages(replies.into_inner()).await.len(), 2);
    for (path, status) in [
        ("/fail", 500),
        ("/unavailable", 503),
        ("/ok", 200),
        ("/stream", 200),
    ] {
        assert_eq!(get(&service.http_url(path), &[]).await.0, status, "{path}");
    }
    let response = reqwest::Client::new()
        .head(service.http_url("/head"))
        .send()
        .await
        .expect("a response to HEAD");
    assert_eq!(response.status(), 200);
    pipeline.stop([service]).await;
    logs.lines()
}

#[tokio::test]
async fn failures_are_logged_at_error_or_warn() {
    for format in [LogFormat::Json, LogFormat::Pretty] {
        let all = lines_of_failures(format).await;
        let access: Vec<&Value> = all
            .iter()
            .filter(|line| line["target"] == "access")
            .collect();
        let line = |key: &str, value: &str| {
            let found: Vec<&&Value> = access.iter().filter(|line| line[key] == value).collect();
            assert_eq!(
                found.len(),
                1,
                "{format:?}: one line with {key} {value} in {access:#?}"
            );
            (*found[0]).clone()
        };
        for (level, status) in [
            ("ERROR", "INTERNAL"),
            ("ERROR", "UNKNOWN"),
            ("WARN", "UNAVAILABLE"),
            ("INFO", "NOT_FOUND"),
        ] {
            let line = line("status", status);
            assert_access_line(&line, "grpc call", level);
            assert_eq!(line["method"], UNARY, "{line}");
        }
        for (route, level, status) in [
            ("/fail", "ERROR", 500),
            ("/unavailable", "WARN", 503),
            ("/ok", "INFO", 200),
        ] {
            let line = line("route", route);
            assert_access_line(&line, "http request", level);
            assert_eq!(line["method"], "GET", "{line}");
            assert_eq!(line["status"], status, "{line}");
        }
        // An answer to HEAD has no body to send: it ends normally, it is not aborted.
        let head = line("route", "/head");
        assert_access_line(&head, "http request", "INFO");
        assert_eq!(head["method"], "HEAD", "{head}");
        // The code of a stream the handler returned logs inside the request's trace:
        // an HTTP body, and a gRPC server stream.
        for (access_line, message, count) in [
            (line("route", "/stream"), "inside the stream", 2),
            (
                line("method", "echo.v1.Echo/ServerStream"),
                "streaming a reply",
                2,
            ),
        ] {
            let inside: Vec<_> = all
                .iter()
                .filter(|line| line["message"] == message)
                .collect();
            assert_eq!(inside.len(), count, "{format:?}: {all:#?}");
            for line in inside {
                assert_eq!(line["trace_id"], access_line["trace_id"], "{line}");
                assert_eq!(line["span_id"], access_line["span_id"], "{line}");
            }
        }
    }
}

#[tokio::test]
async fn log_lines_of_a_request_carry_its_trace_id() {
    let collector = Collector::start();
    for (ratio, trace_id, sampled) in [
        (1.0, "463ac35c9f6413ad48485a3953bb6124", "1"),
        (0.0, "a3ce929d0e0e47364bf92f3577b34da6", "0"),
    ] {
        let logs = LogDir::new();
        let mut config = traced(&collector, &[Propagation::B3, Propagation::W3c]);
        config.tracing.sample_ratio = ratio;
        config.log.level = "info".to_owned();
        config.log.file = Some(logs.config(14));
        let (pipeline, service) = Pipeline::serve(&config).await;
        let mut client = service.client().await;
        let b3 = format!("{trace_id}-0020000000000001-{sampled}");
        client
            .unary(echo("Ada", &[("b3", b3)]))
            .await
            .expect("Unary");
        let replies = client
            .server_stream(message("Grace", 3))
            .await
            .expect("ServerStream");
        assert_eq!(messages(replies.into_inner()).await.len(), 3);
        pipeline.stop([service]).await;

        let lines = logs.lines();
        for line in &lines {
            for key in ["timestamp", "level", "target", "message"] {
                assert!(line[key].is_string(), "{key} in {line}");
            }
        }
        let handler = lines
            .iter()
            .find(|line| line["message"] == "composing a reply")
            .unwrap_or_else(|| panic!("the handler's line in {lines:#?}"));
        assert_eq!(handler["trace_id"], trace_id, "{handler}");
        assert_eq!(handler["text"], "Ada", "{handler}");
        assert!(is_lower_hex(&handler["span_id"], &[16]), "{handler}");
        let access: Vec<_> = lines
            .iter()
            .filter(|line| line["target"] == "access")
            .collect();
        let unary = access
            .iter()
            .find(|line| line["method"] == UNARY)
            .unwrap_or_else(|| panic!("the access line of Unary in {access:#?}"));
        assert_access_line(unary, "grpc call", "INFO");
        assert_eq!(unary["trace_id"], trace_id, "{unary}");
        assert_eq!(unary["status"], "OK", "{unary}");
        let stream = access
            .iter()
            .find(|line| line["method"] == "echo.v1.Echo/ServerStream")
            .unwrap_or_else(|| panic!("the access line of ServerStream in {access:#?}"));
        // A request without a caller's trace gets a trace id (of its own) too.
        assert_access_line(stream, "grpc call", "INFO");
        assert_eq!(stream["status"], "OK", "{stream}");
        assert_ne!(stream["trace_id"], trace_id, "a trace of its own: {stream}");
    }
}
