//! The log file sink: one JSON-lines file a day, the oldest deleted beyond `keep_days`;
//! access lines as the level directive says.
//!
//! Your code: svcgen created this file once and never touches it again.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use http::uri::PathAndQuery;
use {{ p.crate_ident }}::svcgen::access_log::{Entry, Outcome, Route};
use {{ p.crate_ident }}::svcgen::config::{Config, LogFileConfig, LogFormat};
use {{ p.crate_ident }}::svcgen::telemetry::Telemetry;

fn scratch_dir() -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("{{ p.crate_ident }}-logs-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

fn log_files(dir: &PathBuf, service: &str) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .expect("the log directory")
        .map(|entry| entry.expect("an entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(service) && name.ends_with(".log"))
        .collect()
}

#[test]
fn files_older_than_keep_days_are_deleted() {
    let dir = scratch_dir();
    let mut config = Config::ephemeral();
    let service = config.tracing.service_name.clone();
    // Twenty days of rotated files, oldest first.
    for day in 1..=20 {
        let name = format!("{service}.2020-01-{day:02}.log");
        std::fs::write(dir.join(name), "{}\n").expect("an old log file");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    config.log.file = Some(LogFileConfig {
        dir: dir.clone(),
        keep_days: 14,
    });
    let telemetry = Telemetry::new(&config).expect("telemetry");
    tracing::dispatcher::with_default(telemetry.dispatch(), || {
        tracing::warn!("a line for today's file");
    });
    telemetry.shutdown();

    let files = log_files(&dir, &service);
    assert_eq!(files.len(), 14, "{files:#?}");
    for day in 1..=7 {
        assert!(!files.contains(&format!("{service}.2020-01-{day:02}.log")), "{files:#?}");
    }
    assert!(files.contains(&format!("{service}.2020-01-20.log")), "{files:#?}");
    let today = files
        .iter()
        .find(|name| !name.contains("2020-01"))
        .expect("today's file");
    let text = std::fs::read_to_string(dir.join(today)).expect("today's file");
    let line = text.lines().last().expect("a line");
    assert!(line.starts_with('{') && line.contains(r#""message":"a line for today's file""#), "{line}");
    std::fs::remove_dir_all(&dir).expect("clean up");
}

/// The access lines in the log file after one gRPC call ended, with `format` on the
/// console and `level` as the directive.
fn access_lines(format: LogFormat, level: &str) -> Vec<serde_json::Value> {
    let dir = scratch_dir();
    let mut config = Config::ephemeral();
    config.log.format = format;
    config.log.level = level.to_owned();
    config.log.file = Some(LogFileConfig {
        dir: dir.clone(),
        keep_days: 14,
    });
    let telemetry = Telemetry::new(&config).expect("telemetry");
    tracing::dispatcher::with_default(telemetry.dispatch(), || {
        let entry = Entry {
            method: http::Method::POST,
            route: Route::Grpc(PathAndQuery::from_static("/greeter.v1.Greeter/SayHello")),
            peer: Some("127.0.0.1:40000".parse().expect("an address")),
            started: Instant::now(),
        };
        entry.log(Outcome::Grpc(tonic::Code::NotFound), false);
    });
    telemetry.shutdown();
    let mut lines = Vec::new();
    for name in log_files(&dir, &config.tracing.service_name) {
        let text = std::fs::read_to_string(dir.join(name)).expect("a log file");
        for line in text.lines() {
            let line: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            if line["target"] == "access" {
                lines.push(line);
            }
        }
    }
    std::fs::remove_dir_all(&dir).expect("clean up");
    lines
}

#[test]
fn access_lines_follow_the_level_directive() {
    for format in [LogFormat::Json, LogFormat::Pretty] {
        let lines = access_lines(format, "info");
        assert_eq!(lines.len(), 1, "{format:?}: {lines:#?}");
        let line = &lines[0];
        assert_eq!(line["level"], "INFO", "{line}");
        assert_eq!(line["message"], "grpc call", "{line}");
        assert_eq!(line["method"], "greeter.v1.Greeter/SayHello", "{line}");
        assert_eq!(line["status"], "NOT_FOUND", "{line}");
        assert_eq!(line["peer"], "127.0.0.1:40000", "{line}");
        assert_eq!(line["aborted"], false, "{line}");
        assert!(line["latency_us"].is_u64(), "{line}");

        for level in ["info,access=off", "warn", "access=warn,info"] {
            let lines = access_lines(format, level);
            assert!(lines.is_empty(), "{format:?} {level}: {lines:#?}");
        }
    }
}
