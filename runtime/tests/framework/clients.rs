//! The typed clients (`ClientConfig::channel`, the `TracedChannel` of `clients!`):
//! balancing over replicas of the test service on distinct loopback addresses
//! (127.0.0.1, .2, .3), replicas found by a resolver, ejection, deadlines inherited from
//! the request being served, retries and their budget, a CLIENT span per attempt, and
//! adaptive throttling.
//!
//! Which replica answered a call: `EchoReply.metadata[SERVED_BY]`, or the counts of
//! `service::ARRIVED_AT`; how many attempts of a call arrived: `service::arrived`, each
//! test with messages of its own. No assertion times anything: counts, with margins, and
//! waits bounded by `PATIENCE`.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use svcgen_runtime::client::{ClientConfig, Resolve, Resolving, TracedChannel};
use svcgen_runtime::config::{Propagation, TracingConfig};
use svcgen_runtime::{Config, deadline};
use tonic::{Code, Status};

use super::support::pb::echo_client::EchoClient;
use super::support::pb::{EchoReply, EchoRequest};
use super::support::service::{Echo, IDEMPOTENT, SERVED_BY, UNARY, arrived, arrived_at, sleeping};
use super::support::{Collector, PATIENCE, Pipeline, Running, eventually, messages, traced};

/// A replica of the test service on 127.0.0.`host`, with `change` made to its
/// configuration.
async fn replica(host: u8, change: impl FnOnce(&mut Config<Echo>)) -> Running {
    let mut config = Config::ephemeral();
    let ip = Ipv4Addr::new(127, 0, 0, host);
    config.server.grpc_addr = SocketAddr::from((ip, 0));
    config.server.http_addr = SocketAddr::from((ip, 0));
    change(&mut config);
    Running::start(&config).await
}

/// The client configuration of `replicas`, a fixed list.
fn listing(replicas: &[&Running]) -> ClientConfig {
    ClientConfig {
        endpoints: replicas.iter().map(|replica| replica.grpc_url()).collect(),
        ..ClientConfig::new("")
    }
}

/// A typed client of `config`, taking `idempotent` for the idempotent methods.
fn client(config: &ClientConfig, idempotent: &'static [&'static str]) -> EchoClient<TracedChannel> {
    EchoClient::new(
        config
            .channel("test", &TracingConfig::default(), idempotent)
            .expect("a valid client"),
    )
}

/// `Unary` of `message`, failing with `code` (0: answered).
async fn unary(
    client: &EchoClient<TracedChannel>,
    message: &str,
    code: Code,
) -> Result<EchoReply, Status> {
    let request = EchoRequest {
        message: message.to_owned(),
        code: code as i32,
        repeat: 0,
    };
    Ok(client.clone().unary(request).await?.into_inner())
}

/// Fails with the first failure of `results`, and how many there were.
#[track_caller]
fn all_ok(results: &[Result<EchoReply, Status>]) {
    let failed: Vec<&Status> = results
        .iter()
        .filter_map(|result| result.as_ref().err())
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} calls failed, the first: {:?}",
        failed.len(),
        results.len(),
        failed[0]
    );
}

/// The replica that answered.
fn served_by(reply: &EchoReply) -> SocketAddr {
    reply.metadata[SERVED_BY].parse().expect("an address")
}

/// `calls` calls of `Unary`, `concurrency` at a time, the i-th of `message(i)`: their
/// results, in order.
async fn load(
    client: &EchoClient<TracedChannel>,
    calls: usize,
    concurrency: usize,
    message: impl Fn(usize) -> String + Send + Sync + 'static,
) -> Vec<Result<EchoReply, Status>> {
    let next = Arc::new(AtomicUsize::new(0));
    let message = Arc::new(message);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, next, message) = (client.clone(), Arc::clone(&next), Arc::clone(&message));
        workers.spawn(async move {
            let mut results = Vec::new();
            loop {
                let index = next.fetch_add(1, SeqCst);
                if index >= calls {
                    return results;
                }
                results.push((index, unary(&client, &message(index), Code::Ok).await));
            }
        });
    }
    let mut results: Vec<_> = workers.join_all().await.into_iter().flatten().collect();
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

/// Calls answered, by the replica that answered them.
fn shares(results: &[Result<EchoReply, Status>]) -> BTreeMap<SocketAddr, usize> {
    let mut shares = BTreeMap::new();
    for reply in results.iter().flatten() {
        *shares.entry(served_by(reply)).or_default() += 1;
    }
    shares
}

/// Whether the call failed without reaching a server: it found no connection, or one
/// going away before it was sent (tonic reports hyper's `Canceled` as CANCELLED).
fn never_sent(status: &Status) -> bool {
    let mut source = std::error::Error::source(status);
    while let Some(error) = source {
        if error.is::<tonic::ConnectError>()
            || error
                .downcast_ref::<hyper::Error>()
                .is_some_and(hyper::Error::is_canceled)
        {
            return true;
        }
        source = error.source();
    }
    false
}

#[tokio::test]
async fn calls_spread_over_every_replica_unary_and_streaming_alike() {
    let replicas = [
        replica(1, |_| {}).await,
        replica(2, |_| {}).await,
        replica(3, |_| {}).await,
    ];
    let client = client(&listing(&replicas.iter().collect::<Vec<_>>()), &[]);

    let results = load(&client, 300, 12, |i| format!("spread {i}")).await;
    all_ok(&results);
    let shares = shares(&results);
    eprintln!("unary calls per replica, 300 calls over 3 equal replicas: {shares:?}");
    for replica in &replicas {
        let share = shares
            .get(&replica.server.grpc_addr())
            .copied()
            .unwrap_or(0);
        // A third each, roughly: at least a tenth.
        assert!(
            share >= 30,
            "{share} calls of 300 to {:?}: {shares:?}",
            replica.server.grpc_addr()
        );
    }

    // Server-streaming calls go through the same balancer.
    let before: Vec<usize> = replicas
        .iter()
        .map(|replica| arrived_at(replica.server.grpc_addr()))
        .collect();
    let mut streams = tokio::task::JoinSet::new();
    for index in 0..90 {
        let mut client = client.clone();
        streams.spawn(async move {
            let request = EchoRequest {
                message: format!("stream {index}"),
                code: 0,
                repeat: 2,
            };
            messages(
                client
                    .server_stream(request)
                    .await
                    .expect("a stream")
                    .into_inner(),
            )
            .await
        });
    }
    for replies in streams.join_all().await {
        assert_eq!(replies.len(), 2, "{replies:?}");
    }
    let streamed: Vec<usize> = replicas
        .iter()
        .zip(before)
        .map(|(replica, before)| arrived_at(replica.server.grpc_addr()) - before)
        .collect();
    eprintln!("server-streaming calls per replica, 90 calls: {streamed:?}");
    assert_eq!(streamed.iter().sum::<usize>(), 90, "{streamed:?}");
    assert!(streamed.iter().all(|count| *count >= 5), "{streamed:?}");

    // Client-streaming and bidirectional calls work through it too (sent once).
    let requests = || {
        tokio_stream::iter(["a", "b", "c"].map(|text| EchoRequest {
            message: text.to_owned(),
            ..EchoRequest::default()
        }))
    };
    let joined = client
        .clone()
        .client_stream(requests())
        .await
        .expect("joined");
    assert_eq!(joined.into_inner().message, "a b c");
    let replies = client
        .clone()
        .bidi(requests())
        .await
        .expect("a stream")
        .into_inner();
    assert_eq!(messages(replies).await, ["a", "b", "c"]);

    for replica in replicas {
        replica.stop().await;
    }
}

#[tokio::test]
async fn a_slow_replica_gets_a_smaller_share() {
    let replicas = [
        replica(1, |_| {}).await,
        replica(2, |_| {}).await,
        replica(3, |config| config.app.delay_ms = 50).await,
    ];
    let client = client(&listing(&replicas.iter().collect::<Vec<_>>()), &[]);

    let results = load(&client, 300, 8, |i| format!("slow share {i}")).await;
    all_ok(&results);
    let shares = shares(&results);
    let share = |replica: &Running| {
        shares
            .get(&replica.server.grpc_addr())
            .copied()
            .unwrap_or(0)
    };
    let (fast, other, slow) = (
        share(&replicas[0]),
        share(&replicas[1]),
        share(&replicas[2]),
    );
    eprintln!(
        "calls per replica, 300 calls, 8 at a time, 127.0.0.3 50 ms slower: 127.0.0.1 {fast}, \
         127.0.0.2 {other}, 127.0.0.3 (slow) {slow}"
    );
    // Equal shares would be 100 each.
    assert!(slow * 3 < fast.min(other), "{shares:?}");
    assert!(slow < 50, "{shares:?}");

    for replica in replicas {
        replica.stop().await;
    }
}

#[tokio::test]
async fn a_replica_killed_under_load_fails_only_calls_that_had_reached_it() {
    let replicas = [
        replica(1, |_| {}).await,
        // Killed: no grace for the calls in flight.
        replica(2, |config| config.server.shutdown_grace_ms = 0).await,
        replica(3, |_| {}).await,
    ];
    let client = client(&listing(&replicas.iter().collect::<Vec<_>>()), &[]);
    let [first, killed, third] = replicas;
    let killed_addr = killed.server.grpc_addr();

    // 8 callers, 600 calls of 13 ms each; the replica is killed after a third of them.
    const CONCURRENCY: usize = 8;
    let load = tokio::spawn({
        let client = client.clone();
        async move {
            load(&client, 600, CONCURRENCY, |i| {
                format!("sleep 13 killed {i}")
            })
            .await
        }
    });
    eventually("a third of the calls made", || {
        arrived("sleep 13 killed 200") > 0
    })
    .await;
    let reached = arrived_at(killed_addr);
    killed.stop().await;
    let results = load.await.expect("the callers");

    let failed: Vec<&Status> = results
        .iter()
        .filter_map(|result| result.as_ref().err())
        .collect();
    eprintln!(
        "a replica of 3 killed under load (600 calls, {CONCURRENCY} at a time, non-idempotent): \
         {} failed calls; {reached} had reached it before it was killed; the failures: {:?}",
        failed.len(),
        failed
            .iter()
            .map(|status| format!("{:?} {}", status.code(), status.message()))
            .collect::<Vec<_>>()
    );
    for status in &failed {
        assert!(
            !never_sent(status),
            "a call that never reached a server failed: {status:?}"
        );
    }
    // At most the calls in flight when it was killed (each caller has one at a time).
    assert!(failed.len() <= CONCURRENCY, "{failed:#?}");
    // The calls after it went to the others.
    let after = shares(&results[400..]);
    assert!(!after.contains_key(&killed_addr), "{after:?}");
    assert_eq!(after.values().sum::<usize>(), 200, "{after:?}");

    first.stop().await;
    third.stop().await;
}

/// A resolver whose answer the test sets.
#[derive(Debug, Default)]
struct Answers(Mutex<Vec<SocketAddr>>);

impl Answers {
    fn set(&self, addresses: &[SocketAddr]) {
        *self.0.lock().unwrap() = addresses.to_vec();
    }
}

impl Resolve for Answers {
    fn resolve<'a>(&'a self, host: &'a str, port: u16) -> Resolving<'a> {
        assert_eq!((host, port), ("echo.test", 50051));
        let answer = self.0.lock().unwrap().clone();
        Box::pin(async move { Ok(answer) })
    }
}

#[tokio::test]
async fn replicas_join_and_leave_with_the_resolvers_answers_without_dropping_calls() {
    let one = replica(1, |_| {}).await;
    let two = replica(2, |_| {}).await;
    let (one_addr, two_addr) = (one.server.grpc_addr(), two.server.grpc_addr());
    let answers = Arc::new(Answers::default());
    answers.set(&[one_addr]);
    let config = ClientConfig {
        resolve_interval_ms: 50,
        ..ClientConfig::new("dns:///echo.test:50051")
    };
    let channel = config
        .channel_with_resolver("test", &TracingConfig::default(), &[], answers.clone())
        .expect("a client");
    let client = EchoClient::new(channel);

    let results = load(&client, 50, 4, |i| format!("resolved {i}")).await;
    assert_eq!(shares(&results), BTreeMap::from([(one_addr, 50)]));

    // A replica added to the answer gets calls.
    answers.set(&[one_addr, two_addr]);
    let mut round = 0;
    let mut served = BTreeMap::new();
    let patience = tokio::time::Instant::now() + PATIENCE;
    while !served.contains_key(&two_addr) {
        assert!(
            tokio::time::Instant::now() < patience,
            "no call to the added replica"
        );
        round += 1;
        served = shares(&load(&client, 40, 8, move |i| format!("added {round} {i}")).await);
    }
    eprintln!("calls per replica once 127.0.0.2 is added: {served:?}");

    // Calls in flight on both, then the first replica leaves the answer: its calls end
    // well, and it gets no more.
    let in_flight = tokio::spawn({
        let client = client.clone();
        async move { load(&client, 8, 8, |i| format!("sleep 3011 removed {i}")).await }
    });
    eventually("8 calls in flight", || sleeping(3011) == 8).await;
    let on_one = arrived_at(one_addr);
    answers.set(&[two_addr]);
    let patience = tokio::time::Instant::now() + PATIENCE;
    let mut round = 0;
    loop {
        assert!(
            tokio::time::Instant::now() < patience,
            "the removed replica still gets calls"
        );
        round += 1;
        let results = load(&client, 20, 4, move |i| format!("after {round} {i}")).await;
        all_ok(&results);
        if shares(&results).keys().all(|address| *address == two_addr) {
            break;
        }
    }
    // Still in flight while the replica was removed: they end well.
    assert_eq!(sleeping(3011), 8, "the slow calls were still in flight");
    let slow = in_flight.await.expect("the callers");
    all_ok(&slow);
    let slow_shares = shares(&slow);
    eprintln!("calls in flight when 127.0.0.1 was removed, by replica: {slow_shares:?}");
    assert!(
        slow_shares.contains_key(&one_addr),
        "{slow_shares:?} ({on_one} on it)"
    );
    // Once the removal is seen, no call goes to it.
    let arrived_then = arrived_at(one_addr);
    let results = load(&client, 40, 4, |i| format!("gone {i}")).await;
    all_ok(&results);
    assert_eq!(arrived_at(one_addr), arrived_then);

    one.stop().await;
    two.stop().await;
}

#[tokio::test]
async fn a_dns_endpoint_is_resolved_by_the_system() {
    let service = replica(1, |_| {}).await;
    let port = service.server.grpc_addr().port();
    // `localhost` may resolve to ::1 too, where nothing listens: that replica is
    // ejected, and the calls it refused tried again on the other.
    let client = client(&ClientConfig::new(&format!("dns:///localhost:{port}")), &[]);
    let results = load(&client, 20, 2, |i| format!("system dns {i}")).await;
    all_ok(&results);
    assert_eq!(
        shares(&results),
        BTreeMap::from([(service.server.grpc_addr(), 20)])
    );
    service.stop().await;
}

/// The `grpc-timeout` a call arrived with, as a duration.
fn grpc_timeout(reply: &EchoReply) -> Duration {
    let value = &reply.metadata["grpc-timeout"];
    let (amount, unit) = value.split_at(value.len() - 1);
    let amount: u64 = amount.parse().expect("digits");
    match unit {
        "n" => Duration::from_nanos(amount),
        "u" => Duration::from_micros(amount),
        "m" => Duration::from_millis(amount),
        "S" => Duration::from_secs(amount),
        "M" => Duration::from_secs(amount * 60),
        _ => panic!("{value}"),
    }
}

#[tokio::test]
async fn a_call_made_while_serving_a_request_carries_what_is_left_of_its_deadline() {
    let downstream = replica(2, |_| {}).await;
    let caller = replica(1, |config| {
        config.server.request_timeout_ms = 2_000;
        config.clients.downstream = ClientConfig::new(&downstream.grpc_url());
    })
    .await;

    // Over gRPC, the caller's own deadline (shorter than the server's): a bit less of it
    // goes on.
    let mut request = tonic::Request::new(EchoRequest {
        message: "call deadline".to_owned(),
        ..EchoRequest::default()
    });
    request.set_timeout(Duration::from_millis(1_500));
    let reply = caller.client().await.unary(request).await.expect("a reply");
    let sent = grpc_timeout(reply.get_ref());
    eprintln!("a call with 1500 ms left calls on with {sent:?}");
    assert!(
        sent < Duration::from_millis(1_500) && sent > Duration::from_millis(500),
        "{sent:?}"
    );

    // Over HTTP, the server's request timeout.
    let answer = caller.send("GET", "/call/grpc", &[], None).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let metadata = answer.json();
    let reply = EchoReply {
        message: String::new(),
        metadata: metadata
            .as_object()
            .expect("an object")
            .iter()
            .map(|(key, value)| (key.clone(), value.as_str().unwrap_or_default().to_owned()))
            .collect(),
    };
    let sent = grpc_timeout(&reply);
    assert!(
        sent < Duration::from_millis(2_000) && sent > Duration::from_millis(500),
        "{sent:?}"
    );
    caller.stop().await;

    // Capped by the client's own `timeout_ms`.
    let caller = replica(1, |config| {
        config.clients.downstream = ClientConfig {
            timeout_ms: 300,
            ..ClientConfig::new(&downstream.grpc_url())
        };
    })
    .await;
    let mut request = tonic::Request::new(EchoRequest {
        message: "call capped".to_owned(),
        ..EchoRequest::default()
    });
    request.set_timeout(Duration::from_secs(5));
    let reply = caller.client().await.unary(request).await.expect("a reply");
    let sent = grpc_timeout(reply.get_ref());
    assert!(
        sent <= Duration::from_millis(300) && sent > Duration::ZERO,
        "{sent:?}"
    );
    caller.stop().await;

    // Outside any request: `timeout_ms`.
    let client = client(&ClientConfig::new(&downstream.grpc_url()), &[]);
    let reply = unary(&client, "no deadline", Code::Ok)
        .await
        .expect("a reply");
    let sent = grpc_timeout(&reply);
    assert!(
        sent <= Duration::from_secs(5) && sent > Duration::from_secs(4),
        "{sent:?}"
    );
    downstream.stop().await;
}

#[tokio::test]
async fn a_call_past_its_deadline_fails_without_a_connection() {
    // A server that only counts the connections it gets.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let counting = tokio::spawn({
        let accepted = Arc::clone(&accepted);
        async move {
            let mut open = Vec::new();
            while let Ok((connection, _)) = listener.accept().await {
                accepted.fetch_add(1, SeqCst);
                open.push(connection);
            }
        }
    });
    let client = client(&ClientConfig::new(&url), IDEMPOTENT);

    let passed = tokio::time::Instant::now() - Duration::from_millis(1);
    let status = deadline::scope(Some(passed), unary(&client, "too late", Code::Ok))
        .await
        .expect_err("past the deadline");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert_eq!(
        deadline::remaining(),
        None,
        "outside the scope, no deadline"
    );
    // Let a connection that was wrongly started arrive.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(accepted.load(SeqCst), 0);
    counting.abort();
}

#[tokio::test]
async fn a_call_that_reached_a_server_is_retried_only_when_idempotent() {
    let replicas = [replica(1, |_| {}).await, replica(2, |_| {}).await];
    let config = ClientConfig {
        breaker_k: 0.0,
        eject_after_failures: 0,
        ..listing(&replicas.iter().collect::<Vec<_>>())
    };

    let idempotent = client(&config, IDEMPOTENT);
    let status = unary(&idempotent, "retried", Code::Unavailable)
        .await
        .expect_err("unavailable");
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(arrived("retried"), 3, "max_attempts");
    // Other failures are the service's answer: not retried.
    let status = unary(&idempotent, "internal", Code::Internal)
        .await
        .expect_err("internal");
    assert_eq!(status.code(), Code::Internal);
    assert_eq!(arrived("internal"), 1);

    let not_idempotent = client(&config, &[]);
    let status = unary(&not_idempotent, "not retried", Code::Unavailable)
        .await
        .expect_err("unavailable");
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(arrived("not retried"), 1);

    let once = client(
        &ClientConfig {
            max_attempts: 1,
            ..config
        },
        IDEMPOTENT,
    );
    let _ = unary(&once, "attempted once", Code::Unavailable).await;
    assert_eq!(arrived("attempted once"), 1);

    for replica in replicas {
        replica.stop().await;
    }
}

#[tokio::test]
async fn a_call_that_found_no_connection_is_retried_on_another_replica() {
    let service = replica(1, |_| {}).await;
    // Nothing listens there any more.
    let gone = std::net::TcpListener::bind("127.0.0.2:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = ClientConfig {
        endpoints: vec![format!("http://{gone}"), service.grpc_url()],
        ..ClientConfig::new("")
    };
    let client = client(&config, &[]);
    let results = load(&client, 50, 4, |i| format!("refused elsewhere {i}")).await;
    all_ok(&results);
    assert_eq!(shares(&results).values().sum::<usize>(), 50);
    service.stop().await;
}

#[tokio::test]
async fn the_retry_budget_bounds_the_retries() {
    let service = replica(1, |_| {}).await;
    let config = ClientConfig {
        breaker_k: 0.0,
        eject_after_failures: 0,
        retry_backoff_ms: 0,
        ..ClientConfig::new(&service.grpc_url())
    };
    let client = client(&config, IDEMPOTENT);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let client = client.clone();
        workers.spawn(async move {
            for _ in 0..75 {
                let _ = unary(&client, "budgeted", Code::Unavailable).await;
            }
        });
    }
    workers.join_all().await;
    // 300 calls wanting 2 retries each (900 attempts); the budget allows 10 a second
    // over its 10 s window (100) plus 20% of the calls (60).
    let attempts = arrived("budgeted");
    eprintln!("300 failing idempotent calls, 3 attempts allowed each: {attempts} attempts");
    assert!((400..=470).contains(&attempts), "{attempts}");
    service.stop().await;
}

#[tokio::test]
async fn every_attempt_is_a_client_span_of_its_own() {
    let collector = Collector::start();
    let config = traced(&collector, &[Propagation::B3, Propagation::W3c]);
    let (pipeline, downstream) = Pipeline::serve(&config).await;
    let mut caller = config.clone();
    caller.clients.downstream = ClientConfig::new(&downstream.grpc_url());
    caller.app.downstream_idempotent = true;
    let caller = Running::start(&caller).await;

    let status = caller
        .client()
        .await
        .unary(EchoRequest {
            message: "call spans".to_owned(),
            code: Code::Unavailable as i32,
            repeat: 0,
        })
        .await
        .expect_err("unavailable");
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(arrived("spans"), 3);
    pipeline.stop([caller, downstream]).await;

    let spans = collector.zipkin_spans();
    let clients: Vec<_> = spans
        .iter()
        .filter(|span| span["name"] == UNARY && span["kind"] == "CLIENT")
        .collect();
    assert_eq!(clients.len(), 3, "{spans:#?}");
    let parent = &clients[0]["parentId"];
    for client in &clients {
        assert_eq!(&client["parentId"], parent, "one call's attempts: {client}");
        assert_eq!(client["tags"]["rpc.grpc.status_code"], "14", "{client}");
        assert_eq!(client["tags"]["server.address"], "127.0.0.1", "{client}");
    }
    // Each served under its own CLIENT span.
    for client in &clients {
        let served: Vec<_> = spans
            .iter()
            .filter(|span| span["kind"] == "SERVER" && span["parentId"] == client["id"])
            .collect();
        assert_eq!(served.len(), 1, "{client} in {spans:#?}");
    }
}

#[tokio::test]
async fn the_breaker_opens_while_the_service_fails_and_closes_by_itself() {
    let service = replica(1, |_| {}).await;
    let config = ClientConfig {
        max_attempts: 1,
        eject_after_failures: 0,
        ..ClientConfig::new(&service.grpc_url())
    };
    let client = client(&config, &[]);

    // The service fails every call: soon the client fails most itself, unsent.
    let mut rejected = 0;
    for _ in 0..200 {
        let status = unary(&client, "overwhelmed", Code::Unavailable)
            .await
            .expect_err("unavailable");
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        if status.message().contains("throttled") {
            rejected += 1;
        }
    }
    let sent = arrived("overwhelmed");
    eprintln!("200 calls to a failing service: {sent} sent, {rejected} failed by the breaker");
    assert_eq!(sent + rejected, 200);
    assert!(rejected > 100, "{rejected}");

    // The service recovers: the breaker lets more and more calls through, then all.
    let (mut in_a_row, mut still_rejected) = (0, 0);
    let patience = tokio::time::Instant::now() + PATIENCE;
    while in_a_row < 20 {
        assert!(
            tokio::time::Instant::now() < patience,
            "the breaker stayed open"
        );
        match unary(&client, "recovered", Code::Ok).await {
            Ok(_) => in_a_row += 1,
            Err(status) => {
                assert!(status.message().contains("throttled"), "{status:?}");
                in_a_row = 0;
                still_rejected += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    eprintln!(
        "the service recovered: {still_rejected} calls failed by the breaker before 20 in a row \
         went through"
    );
    service.stop().await;
}
