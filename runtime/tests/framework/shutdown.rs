//! Graceful shutdown: readiness goes NOT_SERVING first, calls in flight finish, streams
//! still open when the grace period is over are closed, and a second signal does not
//! wait at all — so the service always stops, and soon. In the test's runtime
//! (`Server::shutdown`, `Server::run_until`) and as a process stopped by real signals
//! ([`process`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::time::{Duration, Instant};

use svcgen_runtime::{Config, Service as _};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, HealthCheckResponse};

use crate::support::pb::echo_client::EchoClient;
use crate::support::service::{sleeping, slept};
use crate::support::{Echo, Running, get, message};

/// The grace period of these tests, in milliseconds.
const GRACE_MS: u64 = 500;
/// How much later than it should the service may stop (a slow machine).
const MARGIN: Duration = Duration::from_secs(5);
/// A grace period no test waits for.
const LONG_GRACE_MS: u64 = 60_000;

fn config(grace_ms: u64) -> Config<Echo> {
    let mut config = Config::ephemeral();
    config.server.shutdown_grace_ms = grace_ms;
    config
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
    for service in Echo::SERVICES.iter().copied().chain([""]) {
        let mut stream = watch(channel, service).await;
        assert_eq!(
            next_status(&mut stream).await,
            ServingStatus::Serving,
            "{service:?}"
        );
        watches.push((service, stream));
    }
    watches
}

#[tokio::test]
async fn streams_still_open_after_the_grace_period_are_closed() {
    let service = Running::start(&config(GRACE_MS)).await;
    let mut watches = watch_all(&service.channel().await).await;

    let started = Instant::now();
    let shutdown = tokio::spawn(service.server.shutdown());
    // Watchers learn at once that the service is going away...
    for (name, stream) in &mut watches {
        assert_eq!(
            next_status(stream).await,
            ServingStatus::NotServing,
            "{name:?}"
        );
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
    for (name, stream) in &mut watches {
        assert!(closed(stream).await, "{name:?}: the stream was closed");
    }
}

#[tokio::test]
async fn a_second_signal_closes_open_streams_at_once() {
    let service = Running::start(&config(LONG_GRACE_MS)).await;
    let mut stream = watch(&service.channel().await, "").await;
    assert_eq!(next_status(&mut stream).await, ServingStatus::Serving);

    let (signal, signals) = tokio::sync::mpsc::channel(2);
    let mut run = tokio::spawn(service.server.run_until(ReceiverStream::new(signals)));
    signal.send("SIGTERM").await.expect("the server listens");
    assert_eq!(next_status(&mut stream).await, ServingStatus::NotServing);
    // Not a wait for something to happen: a look at what does not.
    assert!(
        tokio::time::timeout(Duration::from_millis(200), &mut run)
            .await
            .is_err(),
        "the service waits for the open stream"
    );

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
    let service = Running::start(&config(LONG_GRACE_MS)).await;
    let mut health = HealthClient::new(service.channel().await);
    health
        .check(HealthCheckRequest::default())
        .await
        .expect("Check");
    // An HTTP connection kept alive, idle, too.
    let http = reqwest::Client::new();
    let response = http
        .get(service.http_url("/healthz"))
        .send()
        .await
        .expect("GET /healthz");
    assert_eq!(response.status(), 200);

    tokio::time::timeout(MARGIN, service.stop())
        .await
        .expect("nothing is in flight: no waiting for the grace period");
    drop(health);
}

#[tokio::test]
async fn readiness_fails_while_the_service_still_serves_during_the_delay() {
    let mut config = config(GRACE_MS);
    config.server.shutdown_delay_ms = 1_000;
    let service = Running::start(&config).await;
    let readyz = service.http_url("/readyz");
    let grpc = service.grpc_url();
    assert_eq!(
        get(&readyz, &[]).await,
        (200, r#"{"status":"ready"}"#.to_owned())
    );
    let mut stream = watch(&service.channel().await, "").await;
    assert_eq!(next_status(&mut stream).await, ServingStatus::Serving);

    let started = Instant::now();
    let shutdown = tokio::spawn(service.server.shutdown());
    assert_eq!(next_status(&mut stream).await, ServingStatus::NotServing);
    // Still accepting on both ports, but not ready any more.
    assert_eq!(
        get(&readyz, &[]).await,
        (503, r#"{"status":"draining"}"#.to_owned())
    );
    let channel = Channel::from_shared(grpc)
        .expect("a valid URI")
        .connect()
        .await
        .expect("a new connection while draining");
    for name in Echo::SERVICES.iter().copied().chain([""]) {
        let status = HealthClient::new(channel.clone())
            .check(HealthCheckRequest {
                service: name.to_owned(),
            })
            .await
            .expect("Check while draining")
            .into_inner()
            .status();
        assert_eq!(status, ServingStatus::NotServing, "{name:?}");
    }
    drop(stream);

    shutdown
        .await
        .expect("the shutdown task")
        .expect("a clean shutdown");
    assert!(started.elapsed() >= Duration::from_millis(config.server.shutdown_delay_ms));
}

#[tokio::test]
async fn a_bidirectional_call_in_flight_goes_on_during_the_drain() {
    let service = Running::start(&config(LONG_GRACE_MS)).await;
    let mut health = watch(&service.channel().await, "").await;
    assert_eq!(next_status(&mut health).await, ServingStatus::Serving);
    let (say, said) = tokio::sync::mpsc::channel(4);
    say.send(message("Ada", 0)).await.expect("the call is open");
    let mut replies = service
        .client()
        .await
        .bidi(ReceiverStream::new(said))
        .await
        .expect("Bidi")
        .into_inner();
    let reply = replies
        .message()
        .await
        .expect("a reply")
        .expect("the call goes on");
    assert_eq!(reply.message, "Ada");

    let shutdown = tokio::spawn(service.server.shutdown());
    assert_eq!(next_status(&mut health).await, ServingStatus::NotServing);
    drop(health);
    say.send(message("Grace", 0))
        .await
        .expect("the call is still open");
    let reply = replies
        .message()
        .await
        .expect("a reply")
        .expect("the call goes on");
    assert_eq!(reply.message, "Grace");
    assert!(!shutdown.is_finished(), "the call is still in flight");

    // The client ends the call: nothing is in flight any more.
    drop(say);
    assert!(
        replies
            .message()
            .await
            .expect("the call ends well")
            .is_none()
    );
    tokio::time::timeout(MARGIN, shutdown)
        .await
        .expect("the service stops as soon as the call ended, not after the grace period")
        .expect("the shutdown task")
        .expect("a clean shutdown");
}

/// One call of the drain test, as its caller saw it.
struct Call {
    /// It began after the shutdown had.
    began_after: bool,
    /// It ended after the shutdown had begun.
    ended_after: bool,
    /// How it failed; `None`: answered.
    failure: Option<String>,
}

/// What a failed call of the drain test was: `gRPC Unavailable` (refused: its connection
/// could not be made, or was going away), `gRPC not sent` (its connection closed before
/// the request was sent: hyper's `Canceled`, which tonic reports as CANCELLED; or its
/// stream was past the last one the server processed when it said, gracefully, that it
/// was going away: h2's GOAWAY with NO_ERROR, which tonic reports as INTERNAL, RFC 9113
/// 8.7), or else the whole status.
fn refusal(status: &tonic::Status) -> String {
    let mut source = std::error::Error::source(status);
    while let Some(error) = source {
        let going_away = |error: &h2::Error| {
            error.is_go_away() && error.is_remote() && error.reason() == Some(h2::Reason::NO_ERROR)
        };
        if error
            .downcast_ref::<hyper::Error>()
            .is_some_and(hyper::Error::is_canceled)
            || error.downcast_ref::<h2::Error>().is_some_and(going_away)
        {
            return "gRPC not sent".to_owned();
        }
        source = error.source();
    }
    match status.code() {
        tonic::Code::Unavailable => "gRPC Unavailable".to_owned(),
        _ => format!("gRPC {status:?}"),
    }
}

/// Makes `call` again and again, until one fails or the servers have stopped; every call
/// recorded.
async fn call_until_refused<F: Future<Output = Option<String>>>(
    draining: Arc<AtomicBool>,
    stopped: Arc<AtomicBool>,
    mut call: impl FnMut() -> F,
) -> Vec<Call> {
    let mut calls = Vec::new();
    while !stopped.load(SeqCst) {
        let began_after = draining.load(SeqCst);
        let failure = call().await;
        let refused = failure.is_some();
        let ended_after = draining.load(SeqCst);
        calls.push(Call {
            began_after,
            ended_after,
            failure,
        });
        if refused {
            break;
        }
    }
    calls
}

/// Under load — gRPC and HTTP callers each calling a 97 ms handler in a loop — with the
/// default settings (no delay): every call in flight when the shutdown begins completes,
/// no handler that began is cut off or loses its answer, and the calls made once the
/// servers stopped accepting are refused, or never sent, before reaching a handler, so a
/// caller may safely retry them elsewhere. Prints the figures (`--nocapture`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_load_the_calls_in_flight_at_the_signal_all_complete() {
    const MS: u64 = 97;
    const GRPC_CALLERS: usize = 48;
    const HTTP_CALLERS: usize = 16;
    let service = Running::start(&config(LONG_GRACE_MS)).await;
    let draining = Arc::new(AtomicBool::new(false));
    let stopped = Arc::new(AtomicBool::new(false));
    let mut callers = tokio::task::JoinSet::new();
    let mut channels = Vec::new();
    for _ in 0..4 {
        channels.push(service.channel().await);
    }
    for caller in 0..GRPC_CALLERS {
        let client = EchoClient::new(channels[caller % channels.len()].clone());
        callers.spawn(call_until_refused(
            Arc::clone(&draining),
            Arc::clone(&stopped),
            move || {
                let mut client = client.clone();
                async move {
                    let reply = client.unary(message(&format!("sleep {MS}"), 0)).await;
                    reply.err().map(|status| refusal(&status))
                }
            },
        ));
    }
    let http = reqwest::Client::new();
    for _ in 0..HTTP_CALLERS {
        let (http, url) = (
            http.clone(),
            service.http_url(&format!("/slow/sleep%20{MS}")),
        );
        callers.spawn(call_until_refused(
            Arc::clone(&draining),
            Arc::clone(&stopped),
            move || {
                let request = http.get(&url).send();
                async move {
                    match request.await {
                        Ok(response) if response.status() == 200 => None,
                        Ok(response) => Some(format!("HTTP {}", response.status())),
                        Err(error) if error.is_connect() => Some("HTTP connect".to_owned()),
                        Err(error) => Some(format!("HTTP {error:?}")),
                    }
                }
            },
        ));
    }
    // The load runs for a while; then the shutdown begins, as at SIGTERM.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let in_flight = sleeping(MS);
    draining.store(true, SeqCst);
    let started = Instant::now();
    service.stop().await;
    let took = started.elapsed();
    stopped.store(true, SeqCst);
    let calls: Vec<Call> = callers.join_all().await.into_iter().flatten().collect();

    let answered = calls.iter().filter(|call| call.failure.is_none()).count();
    let completed = (calls.iter())
        .filter(|call| !call.began_after && call.ended_after && call.failure.is_none())
        .count();
    let refused: Vec<&String> = calls
        .iter()
        .filter_map(|call| call.failure.as_ref())
        .collect();
    let cut_off = sleeping(MS) + slept(MS).saturating_sub(answered);
    let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
    for failure in &refused {
        *kinds.entry(failure.as_str()).or_default() += 1;
    }
    eprintln!(
        "drain under load: {in_flight} calls in flight at the signal, {completed} completed, \
         {cut_off} cut off; {} refused before reaching a handler ({kinds:?}); {answered} \
         answered in all; the servers stopped {took:?} after the signal",
        refused.len(),
    );
    assert!(
        in_flight > GRPC_CALLERS / 2,
        "under load: {in_flight} in flight"
    );
    assert!(
        completed >= in_flight,
        "{completed} completed of {in_flight}"
    );
    assert_eq!(sleeping(MS), 0, "handlers cancelled half-way");
    assert_eq!(
        slept(MS),
        answered,
        "every handler that ran had its answer delivered"
    );
    assert!(
        (refused.iter()).all(
            |failure| ["gRPC Unavailable", "gRPC not sent", "HTTP connect"]
                .contains(&failure.as_str())
        ),
        "refused, not cut off: {refused:?}"
    );
}

/// The real process — [`svcgen_runtime::run`] in this test binary, started again as a
/// child — stopped by real signals, its console log read from its standard output.
#[cfg(unix)]
mod process {
    use std::io::{BufRead as _, BufReader};
    use std::process::{Child, Command, ExitCode, Stdio};
    use std::sync::mpsc;

    use super::*;
    use crate::support::{CALLER_TRACE, caller_headers, is_lower_hex};

    /// The variable that makes [`service_process`] run the service.
    const CHILD: &str = "SVCGEN_RUNTIME_TEST_CHILD";

    /// Not a test: the service's process for the tests below, which run this test binary
    /// again with only this function (`--exact … --ignored`) and [`CHILD`] set.
    #[test]
    #[ignore = "the service process the tests of `process` start; nothing on its own"]
    fn service_process() {
        if std::env::var_os(CHILD).is_some() {
            let code = svcgen_runtime::run::<Echo>();
            std::process::exit(if code == ExitCode::SUCCESS { 0 } else { 1 });
        }
    }

    /// The service's process; killed if a test fails before it exits.
    struct Process {
        child: Child,
        lines: mpsc::Receiver<String>,
        _config_dir: tempfile::TempDir,
    }

    impl Drop for Process {
        fn drop(&mut self) {
            if self.child.try_wait().ok().flatten().is_none() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }

    impl Process {
        /// The service on ephemeral ports with `grace_ms` and console logs in `format`,
        /// and its gRPC URL (from its log).
        fn spawn(grace_ms: u64, format: &str) -> (Self, String) {
            let config_dir = tempfile::tempdir().expect("an empty config directory");
            // The test's name as libtest knows it: its path without the crate's name.
            let path = module_path!();
            let test = format!(
                "{}::service_process",
                path.split_once("::").map_or(path, |(_, path)| path)
            );
            let mut child = Command::new(std::env::current_exe().expect("this test binary"))
                .args([
                    &test,
                    "--exact",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env_clear()
                .env(CHILD, "1")
                .env("APP_CONFIG_DIR", config_dir.path())
                .env("APP__SERVER__GRPC_ADDR", "127.0.0.1:0")
                .env("APP__SERVER__HTTP_ADDR", "127.0.0.1:0")
                .env("APP__SERVER__SHUTDOWN_GRACE_MS", grace_ms.to_string())
                .env("APP__LOG__FORMAT", format)
                .env("APP__LOG__LEVEL", "info")
                .current_dir(config_dir.path())
                .stdout(Stdio::piped())
                .spawn()
                .expect("the service starts");
            let stdout = child.stdout.take().expect("its output");
            let (sender, lines) = mpsc::channel();
            std::thread::spawn(move || {
                // Read to the end even once nobody listens, so that the service never
                // writes into a full or closed pipe.
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    let _ = sender.send(line);
                }
            });
            let mut process = Self {
                child,
                lines,
                _config_dir: config_dir,
            };
            let serving = process.line_with("serving gRPC and HTTP");
            let addr = serving
                .split(['"', ' ', '='])
                .skip_while(|part| *part != "grpc_addr")
                .find(|part| part.starts_with("127.0.0.1:"))
                .unwrap_or_else(|| panic!("grpc_addr in {serving}"))
                .to_owned();
            (process, format!("http://{addr}"))
        }

        /// The next line of the console log that contains `text`.
        fn line_with(&mut self, text: &str) -> String {
            loop {
                let line = self
                    .lines
                    .recv_timeout(crate::support::PATIENCE)
                    .unwrap_or_else(|error| panic!("a line with {text:?}: {error}"));
                if line.contains(text) {
                    return line;
                }
            }
        }

        fn terminate(&self) {
            let status = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status()
                .expect("kill");
            assert!(status.success());
        }

        fn is_running(&mut self) -> bool {
            self.child.try_wait().expect("the process").is_none()
        }

        /// Waits at most `limit` for the process to exit; whether it exited with 0.
        async fn exits_within(&mut self, limit: Duration) -> bool {
            let started = Instant::now();
            while started.elapsed() < limit {
                if let Some(status) = self.child.try_wait().expect("the process") {
                    return status.success();
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            panic!("still running after {limit:?}");
        }
    }

    async fn connect(uri: &str) -> Channel {
        Channel::from_shared(uri.to_owned())
            .expect("a valid URI")
            .connect()
            .await
            .expect("the client connects")
    }

    /// A health check carrying the caller's trace context.
    async fn traced_check(channel: &Channel) {
        let mut request = tonic::Request::new(HealthCheckRequest::default());
        for (name, value) in caller_headers() {
            request
                .metadata_mut()
                .insert(name, value.parse().expect("ASCII metadata"));
        }
        HealthClient::new(channel.clone())
            .check(request)
            .await
            .expect("Check");
    }

    #[tokio::test]
    async fn sigterm_closes_open_streams_after_the_grace_period_and_exits_0() {
        let (mut service, uri) = Process::spawn(GRACE_MS, "json");
        let channel = connect(&uri).await;
        // JSON lines on the console, with the trace of the request they are about.
        traced_check(&channel).await;
        let access = service.line_with("grpc.health.v1.Health/Check");
        let access: serde_json::Value = serde_json::from_str(&access).expect("a JSON line");
        assert_eq!(access["target"], "access", "{access}");
        assert_eq!(access["status"], "OK", "{access}");
        assert_eq!(access["trace_id"], CALLER_TRACE, "{access}");
        assert!(is_lower_hex(&access["span_id"], &[16]), "{access}");

        let mut stream = watch(&channel, "").await;
        assert_eq!(next_status(&mut stream).await, ServingStatus::Serving);
        let started = Instant::now();
        service.terminate();
        assert_eq!(next_status(&mut stream).await, ServingStatus::NotServing);
        assert!(
            service
                .exits_within(Duration::from_millis(GRACE_MS) + MARGIN)
                .await
        );
        assert!(started.elapsed() >= Duration::from_millis(GRACE_MS));
        assert!(closed(&mut stream).await, "the stream was closed");
    }

    #[tokio::test]
    async fn a_second_sigterm_exits_at_once() {
        let (mut service, uri) = Process::spawn(LONG_GRACE_MS, "pretty");
        let channel = connect(&uri).await;
        // Human-readable lines on the console, ending with the trace ids.
        traced_check(&channel).await;
        let access = service.line_with("grpc.health.v1.Health/Check");
        assert!(access.contains("grpc call"), "{access}");
        let (_, ids) = access
            .split_once(&format!(" trace_id={CALLER_TRACE} span_id="))
            .unwrap_or_else(|| panic!("the caller's trace id at the end of {access}"));
        assert!(
            is_lower_hex(&serde_json::Value::from(ids), &[16]),
            "{access}"
        );

        let mut stream = watch(&channel, "").await;
        assert_eq!(next_status(&mut stream).await, ServingStatus::Serving);
        service.terminate();
        assert_eq!(next_status(&mut stream).await, ServingStatus::NotServing);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            service.is_running(),
            "draining: waiting for the open stream"
        );
        service.terminate();
        assert!(service.exits_within(MARGIN).await);
        assert!(closed(&mut stream).await, "the stream was closed");
    }
}
