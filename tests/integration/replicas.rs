//! A service calling the replicas of another: `frontend` with two `backend`s in
//! `[clients.backend] endpoints`, as processes on two loopback addresses. Its calls are
//! spread over both (power of two choices), and when one replica dies the calls go on
//! succeeding on the other (a call that cannot reach a server is retried on another
//! endpoint; the dead one is ejected).

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::e2e::{Service, get};
use crate::tracing::{build, copy_examples};

/// The calls sent while both replicas run, and after one died.
const CALLS: usize = 64;
const CALLS_AFTER: usize = 24;
/// The frontend's callers at once: with calls in flight, the less busy replica differs.
const CALLERS: usize = 8;

/// `GET /welcome/{name}` of the frontend at `http_addr`: its answer must be the backend's
/// greeting.
fn welcome(http_addr: &str, name: &str) {
    let (head, body) = get(http_addr, &format!("/welcome/{name}"), &[]);
    assert!(head.starts_with("HTTP/1.1 200"), "{name}: {head}\n{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["message"], format!("Hello, {name}!"), "{body}");
}

/// The names a backend greeted: one `greeting` line (its handler's) per call it served.
fn greeted(logs: &[Value]) -> Vec<String> {
    logs.iter()
        .filter(|line| line["message"] == "greeting")
        .map(|line| line["visitor"].as_str().unwrap().to_owned())
        .collect()
}

/// The gRPC calls a backend answered OK, by its access lines.
fn served(logs: &[Value]) -> usize {
    logs.iter()
        .filter(|line| {
            line["target"] == "access"
                && line["method"] == "backend.v1.Names/Greet"
                && line["status"] == "OK"
        })
        .count()
}

#[test]
fn the_frontend_spreads_its_calls_over_two_backends_and_goes_on_when_one_dies() {
    let (_dir, [backend, frontend]) = copy_examples();
    build(&backend);
    build(&frontend);
    let quiet = ("APP__TRACING__ENABLED", "false".to_owned());
    let replicas = ["127.0.0.1", "127.0.0.2"].map(|host| {
        Service::start(
            &backend,
            "backend",
            &[
                ("APP__SERVER__GRPC_ADDR", format!("{host}:0")),
                ("APP__SERVER__HTTP_ADDR", format!("{host}:0")),
                quiet.clone(),
            ],
        )
    });
    for (replica, host) in replicas.iter().zip(["127.0.0.1:", "127.0.0.2:"]) {
        assert!(replica.grpc_addr.starts_with(host), "{}", replica.grpc_addr);
    }
    // A list from the environment, as figment reads one: `[a, b]`.
    let endpoints = format!(
        "[http://{}, http://{}]",
        replicas[0].grpc_addr, replicas[1].grpc_addr
    );
    let frontend_service = Service::start(
        &frontend,
        "frontend",
        &[("APP__CLIENTS__BACKEND__ENDPOINTS", endpoints), quiet],
    );

    // Both replicas serve calls: the frontend balances each call, not each connection.
    std::thread::scope(|scope| {
        for caller in 0..CALLERS {
            let http_addr = frontend_service.http_addr.as_str();
            scope.spawn(move || {
                for call in (caller..CALLS).step_by(CALLERS) {
                    welcome(http_addr, &format!("before-{call}"));
                }
            });
        }
    });
    let [first, second] = replicas;
    let mut first_logs = Vec::new();
    let mut second_logs = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while served(&first_logs) + served(&second_logs) < CALLS && Instant::now() < deadline {
        let tick = Duration::from_millis(20);
        first.logs_until(&mut first_logs, tick, |_| false);
        second.logs_until(&mut second_logs, tick, |_| false);
    }
    let split = (served(&first_logs), served(&second_logs));
    assert_eq!(
        split.0 + split.1,
        CALLS,
        "every call served once: {split:?}"
    );
    // Not a stray call: a share of them (an even split is CALLS / 2 each; the balancer
    // weighs latency too, so no more is asked).
    assert!(
        split.0 >= CALLS / 16 && split.1 >= CALLS / 16,
        "the calls are spread over both replicas: {split:?}"
    );
    let mut names = greeted(&first_logs);
    names.extend(greeted(&second_logs));
    names.sort();
    let mut sent: Vec<String> = (0..CALLS).map(|call| format!("before-{call}")).collect();
    sent.sort();
    assert_eq!(names, sent);

    // The second replica dies (its connections reset); every call after that still
    // succeeds, served by the first.
    second_logs.extend(second.kill());
    std::thread::sleep(Duration::from_millis(200));
    for call in 0..CALLS_AFTER {
        welcome(&frontend_service.http_addr, &format!("after-{call}"));
    }
    frontend_service.stop();
    first_logs.extend(first.stop());
    let after: Vec<String> = greeted(&first_logs)
        .into_iter()
        .filter(|name| name.starts_with("after-"))
        .collect();
    assert_eq!(
        after.len(),
        CALLS_AFTER,
        "the first replica served every call after the second died: {after:?}"
    );
}
