//! `[debug] pprof`: with it on, `GET /debug/pprof/profile?seconds=1` taken while the
//! process works answers a gzipped pprof `Profile` protobuf with samples of that work
//! and the functions they were in (decoded here with a minimal `profile.proto`); one
//! profile at a time; lengths out of bounds refused; with it off, no such route (404).
//!
//! One test takes profiles, the only one in the process: the profiler is the process's.

use std::io::Read as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use prost::Message as _;
use svcgen_runtime::Config;

use crate::support::{Echo, Running, echo};

/// The fields of `perftools.profiles.Profile` (pprof's `profile.proto`) the test reads.
#[derive(Clone, PartialEq, prost::Message)]
struct Profile {
    #[prost(message, repeated, tag = "1")]
    sample_type: Vec<ValueType>,
    #[prost(message, repeated, tag = "2")]
    sample: Vec<ProfileSample>,
    #[prost(message, repeated, tag = "4")]
    location: Vec<Location>,
    #[prost(message, repeated, tag = "5")]
    function: Vec<Function>,
    #[prost(string, repeated, tag = "6")]
    string_table: Vec<String>,
    #[prost(int64, tag = "12")]
    period: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ValueType {
    #[prost(int64, tag = "1")]
    r#type: i64,
    #[prost(int64, tag = "2")]
    unit: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ProfileSample {
    #[prost(uint64, repeated, tag = "1")]
    location_id: Vec<u64>,
    #[prost(int64, repeated, tag = "2")]
    value: Vec<i64>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Location {
    #[prost(uint64, tag = "1")]
    id: u64,
    #[prost(message, repeated, tag = "4")]
    line: Vec<Line>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Line {
    #[prost(uint64, tag = "1")]
    function_id: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Function {
    #[prost(uint64, tag = "1")]
    id: u64,
    #[prost(int64, tag = "2")]
    name: i64,
}

impl Profile {
    fn string(&self, index: i64) -> &str {
        let index = usize::try_from(index).expect("a string index");
        &self.string_table[index]
    }
}

/// Work for the profiler to see: a loop that only computes.
#[inline(never)]
fn busy_work(rounds: u64) -> u64 {
    (0..rounds).fold(0u64, |sum, round| {
        std::hint::black_box(sum.wrapping_mul(31).wrapping_add(round))
    })
}

fn profiling() -> Config<Echo> {
    let mut config = Config::ephemeral();
    config.debug.pprof = true;
    config
}

#[tokio::test]
async fn a_profile_of_the_work_done_meanwhile_is_served_gzipped() {
    let service = Running::start(&profiling()).await;
    let url = service.http_url("/debug/pprof/profile");

    // Lengths out of bounds.
    for bad in ["0", "61", "x", "1.5"] {
        let answer = service
            .send(
                "GET",
                &format!("/debug/pprof/profile?seconds={bad}"),
                &[],
                None,
            )
            .await;
        assert_eq!(answer.status, 400, "{bad}: {answer:?}");
    }

    // Work: a thread that computes, and calls served.
    let stop = Arc::new(AtomicBool::new(false));
    let worker = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut total = 0u64;
            while !stop.load(Ordering::Relaxed) {
                total = total.wrapping_add(busy_work(1 << 16));
            }
            total
        })
    };
    let calls = {
        let stop = Arc::clone(&stop);
        let mut client = service.client().await;
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                client.unary(echo("work", &[])).await.expect("Unary");
            }
        })
    };

    svcgen_runtime::tls::install_default_provider();
    let http = reqwest::Client::new();
    let started = Instant::now();
    let response = http
        .get(format!("{url}?seconds=1"))
        .send()
        .await
        .expect("a profile");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/octet-stream"
    );
    // The head came at once, the profiler running: a second profile must wait.
    let second = service
        .send("GET", "/debug/pprof/profile?seconds=1", &[], None)
        .await;
    assert_eq!(second.status, 409, "{second:?}");
    let gzipped = response.bytes().await.expect("the profile");
    assert!(started.elapsed() >= Duration::from_secs(1));
    stop.store(true, Ordering::Relaxed);
    worker.join().expect("the worker");
    calls.await.expect("the calls");

    assert_eq!(gzipped.get(..2), Some(&[0x1f, 0x8b][..]), "gzip");
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(&gzipped[..])
        .read_to_end(&mut raw)
        .expect("valid gzip");
    let profile = Profile::decode(&raw[..]).expect("a pprof Profile");

    assert_eq!(profile.string_table.first().map(String::as_str), Some(""));
    let types: Vec<(&str, &str)> = profile
        .sample_type
        .iter()
        .map(|value| (profile.string(value.r#type), profile.string(value.unit)))
        .collect();
    assert_eq!(types, [("samples", "count"), ("cpu", "nanoseconds")]);
    assert!(!profile.sample.is_empty(), "samples");
    assert!(profile.period > 0, "{}", profile.period);
    for sample in &profile.sample {
        assert_eq!(sample.value.len(), 2, "{sample:?}");
        assert!(sample.value[0] > 0 && sample.value[1] > 0, "{sample:?}");
        for id in &sample.location_id {
            assert!(
                profile.location.iter().any(|location| location.id == *id),
                "{id}"
            );
        }
    }
    for location in &profile.location {
        for line in &location.line {
            assert!(profile.function.iter().any(|f| f.id == line.function_id));
        }
    }
    let names: Vec<&str> = profile
        .function
        .iter()
        .map(|function| profile.string(function.name))
        .collect();
    assert!(!names.is_empty(), "functions");
    assert!(
        names.iter().any(|name| name.contains("busy_work")),
        "the work's function among {} functions",
        names.len()
    );

    // The profiler is free again.
    let answer = service
        .send("GET", "/debug/pprof/profile?seconds=1", &[], None)
        .await;
    assert_eq!(answer.status, 200);
    service.stop().await;
}

#[tokio::test]
async fn profiles_are_not_served_when_off() {
    let service = Running::start(&Config::ephemeral()).await;
    let answer = service
        .send("GET", "/debug/pprof/profile?seconds=1", &[], None)
        .await;
    assert_eq!(answer.status, 404, "{answer:?}");
    service.stop().await;
}
