//! Graceful shutdown: readiness goes NOT_SERVING first, calls in flight finish, streams
//! still open when the grace period is over are closed, and a second signal does not
//! wait at all — so the service always stops, and soon.
//!
//! Your code: svcgen created this file once and never touches it again.

use std::time::{Duration, Instant};

use {{ p.crate_ident }}::svcgen::config::Config;
use {{ p.crate_ident }}::svcgen::grpc::SERVICES;
use {{ p.crate_ident }}::svcgen::server::{self, Server};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

/// The grace period of these tests, in milliseconds.
const GRACE_MS: u64 = 500;
/// How much later than it should the service may stop (a slow machine).
const MARGIN: Duration = Duration::from_secs(3);
/// A grace period no test waits for.
const LONG_GRACE_MS: u64 = 60_000;

fn config(grace_ms: u64) -> Config {
    let mut config = Config::ephemeral();
    config.server.shutdown_grace_ms = grace_ms;
    config
}

async fn start(config: &Config) -> (Server, Channel) {
    let server = server::start(config).await.expect("the service starts");
    let channel = connect(&format!("http://{}", server.grpc_addr())).await;
    (server, channel)
}

async fn connect(uri: &str) -> Channel {
    Channel::from_shared(uri.to_owned())
        .expect("a valid URI")
        .connect()
        .await
        .expect("the client connects")
}

/// `Watch`es the health of `service` (`""`: the server as a whole): a stream that stays
/// open as long as the server keeps it.
async fn watch(channel: &Channel, service: &str) -> Streaming<HealthCheckResponse> {
    HealthClient::new(channel.clone())
        .watch(HealthCheckRequest {
            service: service.to_owned(),
        })
        .await
        .unwrap_or_else(|status| panic!("Watch {service:?}: {status}"))
        .into_inner()
}

async fn next_status(watch: &mut Streaming<HealthCheckResponse>) -> ServingStatus {
    tokio::time::timeout(MARGIN, watch.message())
        .await
        .expect("a health status in time")
        .expect("a health status")
        .expect("the stream goes on")
        .status()
}

/// Whether `watch` ends with an error (its connection closed) rather than a status.
async fn closed(watch: &mut Streaming<HealthCheckResponse>) -> bool {
    tokio::time::timeout(MARGIN, watch.message())
        .await
        .expect("the stream ends in time")
        .is_err()
}

/// Every service's `Watch`, and the server's, after its first status: SERVING.
async fn watch_all(channel: &Channel) -> Vec<(&'static str, Streaming<HealthCheckResponse>)> {
    let mut watches = Vec::new();
    for service in SERVICES.iter().copied().chain([""]) {
        let mut stream = watch(channel, service).await;
        assert_eq!(next_status(&mut stream).await, ServingStatus::Serving, "{service:?}");
        watches.push((service, stream));
    }
    watches
}

#[tokio::test]
async fn streams_still_open_after_the_grace_period_are_closed() {
    let (server, channel) = start(&config(GRACE_MS)).await;
    let mut watches = watch_all(&channel).await;

    let started = Instant::now();
    let shutdown = tokio::spawn(server.shutdown());
    // Watchers learn at once that the service is going away...
    for (service, stream) in &mut watches {
        assert_eq!(next_status(stream).await, ServingStatus::NotServing, "{service:?}");
    }
    // ...then the service waits for the streams they hold, for the grace period only.
    tokio::time::timeout(Duration::from_millis(GRACE_MS) + MARGIN, shutdown)
        .await
        .expect("the service stops soon after the grace period")
        .expect("the shutdown task")
        .expect("a clean shutdown");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(GRACE_MS),
        "stopped after {took:?}: the grace period is {GRACE_MS} ms"
    );
    for (service, stream) in &mut watches {
        assert!(closed(stream).await, "{service:?}: the stream was closed");
    }
}

#[tokio::test]
async fn a_second_signal_closes_open_streams_at_once() {
    let (server, channel) = start(&config(LONG_GRACE_MS)).await;
    let mut stream = watch(&channel, "").await;
    assert_eq!(next_status(&mut stream).await, ServingStatus::Serving);

    let (signal, signals) = tokio::sync::mpsc::channel(2);
    let run = tokio::spawn(server.run_until(ReceiverStream::new(signals)));
    signal.send("SIGTERM").await.expect("the server listens");
    assert_eq!(next_status(&mut stream).await, ServingStatus::NotServing);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!run.is_finished(), "the service waits for the open stream");

    signal.send("SIGTERM").await.expect("the server listens");
    // At once: within the margin, not after the minute of grace.
    tokio::time::timeout(MARGIN, run)
        .await
        .expect("the second signal stops the service at once")
        .expect("the shutdown task")
        .expect("a clean shutdown");
    assert!(closed(&mut stream).await, "the stream was closed");
}

#[tokio::test]
async fn idle_connections_do_not_delay_the_shutdown() {
    let (server, channel) = start(&config(LONG_GRACE_MS)).await;
    let mut health = HealthClient::new(channel);
    let request = HealthCheckRequest {
        service: String::new(),
    };
    health.check(request).await.expect("Check");

    tokio::time::timeout(MARGIN, server.shutdown())
        .await
        .expect("nothing is in flight: no waiting for the grace period")
        .expect("a clean shutdown");
}

#[tokio::test]
async fn readiness_fails_while_the_service_still_serves_during_the_delay() {
    let mut config = config(GRACE_MS);
    config.server.shutdown_delay_ms = 1_000;
    let (server, channel) = start(&config).await;
    let readyz = format!("http://{}/readyz", server.http_addr());
    let grpc = format!("http://{}", server.grpc_addr());
    let response = reqwest::get(&readyz).await.expect("GET /readyz");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("a body"), r#"{"status":"ready"}"#);
    let mut stream = watch(&channel, "").await;
    assert_eq!(next_status(&mut stream).await, ServingStatus::Serving);

    let started = Instant::now();
    let shutdown = tokio::spawn(server.shutdown());
    assert_eq!(next_status(&mut stream).await, ServingStatus::NotServing);
    // Still accepting on both ports, but not ready any more.
    let response = reqwest::get(&readyz).await.expect("GET /readyz while draining");
    assert_eq!(response.status(), 503);
    assert_eq!(response.text().await.expect("a body"), r#"{"status":"draining"}"#);
    let status = HealthClient::new(connect(&grpc).await)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("Check while draining")
        .into_inner()
        .status();
    assert_eq!(status, ServingStatus::NotServing);
    drop(stream);

    shutdown
        .await
        .expect("the shutdown task")
        .expect("a clean shutdown");
    assert!(started.elapsed() >= Duration::from_millis(config.server.shutdown_delay_ms));
}
{%- if p.flavor == Flavor::Greeter %}

#[tokio::test]
async fn a_chat_in_flight_goes_on_during_the_drain() {
    use {{ p.crate_ident }}::proto::greeter::v1::HelloRequest;
    use {{ p.crate_ident }}::proto::greeter::v1::greeter_client::GreeterClient;

    let (server, channel) = start(&config(LONG_GRACE_MS)).await;
    let mut health = watch(&channel, "").await;
    assert_eq!(next_status(&mut health).await, ServingStatus::Serving);
    let (say, said) = tokio::sync::mpsc::channel(4);
    let hello = |name: &str| HelloRequest {
        name: name.to_owned(),
    };
    say.send(hello("Ada")).await.expect("the call is open");
    let mut replies = GreeterClient::new(channel)
        .chat(ReceiverStream::new(said))
        .await
        .expect("Chat")
        .into_inner();
    let reply = replies.message().await.expect("a reply").expect("the chat goes on");
    assert_eq!(reply.message, "Hello, Ada!");

    let started = Instant::now();
    let shutdown = tokio::spawn(server.shutdown());
    drop(health);
    say.send(hello("Grace")).await.expect("the call is still open");
    let reply = replies.message().await.expect("a reply").expect("the chat goes on");
    assert_eq!(reply.message, "Hello, Grace!");
    assert!(!shutdown.is_finished(), "the chat is still in flight");

    // The client ends the call: nothing is in flight any more.
    drop(say);
    assert!(replies.message().await.expect("the chat ends well").is_none());
    tokio::time::timeout(MARGIN, shutdown)
        .await
        .expect("the service stops as soon as the chat ended")
        .expect("the shutdown task")
        .expect("a clean shutdown");
    assert!(started.elapsed() < MARGIN);
}
{%- endif %}

/// The real process, stopped by real signals.
#[cfg(unix)]
mod process {
    use std::io::{BufRead as _, BufReader};
    use std::process::{Child, Command, Stdio};
    use std::sync::mpsc;

    use super::*;

    /// The service's process; killed if a test fails before it exits.
    struct Process(Child);

    impl Drop for Process {
        fn drop(&mut self) {
            if self.0.try_wait().ok().flatten().is_none() {
                let _ = self.0.kill();
                let _ = self.0.wait();
            }
        }
    }

    impl Process {
        /// The service's binary, started on ephemeral ports with `grace_ms`, and its gRPC
        /// address (from its log).
        fn spawn(grace_ms: u64) -> (Self, String) {
            let mut child = Command::new(env!("CARGO_BIN_EXE_{{ p.name }}"))
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .env("APP_ENV", "development")
                .env("APP__SERVER__GRPC_ADDR", "127.0.0.1:0")
                .env("APP__SERVER__HTTP_ADDR", "127.0.0.1:0")
                .env("APP__SERVER__SHUTDOWN_GRACE_MS", grace_ms.to_string())
                .env("APP__LOG__FORMAT", "json")
                .env("APP__LOG__LEVEL", "info")
                .env("APP__TRACING__ENABLED", "false")
                .env_remove("RUST_LOG")
                .stdout(Stdio::piped())
                .spawn()
                .expect("the service starts");
            let stdout = child.stdout.take().expect("its output");
            let process = Self(child);
            let (sender, lines) = mpsc::channel();
            std::thread::spawn(move || {
                // Read to the end even once nobody listens, so that the service never
                // writes into a full or closed pipe.
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    let _ = sender.send(line);
                }
            });
            loop {
                let line = lines
                    .recv_timeout(Duration::from_secs(30))
                    .expect("the service logs its addresses");
                if line.contains("serving gRPC and HTTP") {
                    let line: serde_json::Value =
                        serde_json::from_str(&line).expect("a JSON line");
                    let addr = line["grpc_addr"].as_str().expect("grpc_addr").to_owned();
                    return (process, format!("http://{addr}"));
                }
            }
        }

        fn terminate(&self) {
            let status = Command::new("kill")
                .args(["-TERM", &self.0.id().to_string()])
                .status()
                .expect("kill");
            assert!(status.success());
        }

        fn is_running(&mut self) -> bool {
            self.0.try_wait().expect("the process").is_none()
        }

        /// Waits at most `limit` for the process to exit; whether it exited with 0.
        async fn exits_within(&mut self, limit: Duration) -> bool {
            let started = Instant::now();
            while started.elapsed() < limit {
                if let Some(status) = self.0.try_wait().expect("the process") {
                    return status.success();
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            panic!("still running after {limit:?}");
        }
    }

    #[tokio::test]
    async fn sigterm_closes_open_streams_after_the_grace_period_and_exits_0() {
        let (mut service, uri) = Process::spawn(GRACE_MS);
        let mut stream = watch(&connect(&uri).await, "").await;
        assert_eq!(next_status(&mut stream).await, ServingStatus::Serving);

        let started = Instant::now();
        service.terminate();
        assert_eq!(next_status(&mut stream).await, ServingStatus::NotServing);
        assert!(service.exits_within(Duration::from_millis(GRACE_MS) + MARGIN).await);
        assert!(started.elapsed() >= Duration::from_millis(GRACE_MS));
        assert!(closed(&mut stream).await, "the stream was closed");
    }

    #[tokio::test]
    async fn a_second_sigterm_exits_at_once() {
        let (mut service, uri) = Process::spawn(LONG_GRACE_MS);
        let mut stream = watch(&connect(&uri).await, "").await;
        assert_eq!(next_status(&mut stream).await, ServingStatus::Serving);

        service.terminate();
        assert_eq!(next_status(&mut stream).await, ServingStatus::NotServing);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(service.is_running(), "draining");
        service.terminate();
        assert!(service.exits_within(MARGIN).await);
    }
}
