//! The replicas a client calls, and the balancer that picks one per attempt: tower's
//! power of two choices (`balance::p2c::Balance`) over the replicas discovered, each
//! weighted by its peak-EWMA latency times its calls in flight (`load::PeakEwma`).
//!
//! The replicas come from a fixed list of URLs (`endpoint = "http://…"`, or `endpoints`),
//! or from a name resolved again and again (`endpoint = "dns:///host:port"`): every
//! address of the name is a replica, added to the balancer when it appears in an answer
//! and removed when it leaves one — the calls in flight on a removed replica go on.
//!
//! A replica that refuses connections, or fails `eject_after_failures` calls in a row
//! (transport failures, UNAVAILABLE), is ejected: it reports not ready, so the balancer
//! leaves it out, for `eject_for_ms`; then it is ready again and the next call it gets is
//! its probe: one more failure ejects it again at once, a success clears its record.
//! The last replica not ejected never is: with every replica failing, calls go on failing
//! fast rather than waiting for one to come back.

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use http::{Request, Response};
use tokio::time::Instant;
use tokio_stream::{Stream, StreamExt as _};
use tonic::body::Body;
use tonic::transport::channel::ResponseFuture;
use tonic::transport::{Channel, ClientTlsConfig};
use tower::BoxError;
use tower::discover::Change;
use tower::load::{CompleteOnResponse, PeakEwmaDiscover};

/// The latency a replica is assumed to have until its first answer: low, so that a
/// replica just added gets calls at once and its real latency is learnt.
const DEFAULT_RTT: Duration = Duration::from_millis(1);

/// How fast a replica's latency estimate forgets: linkerd's 10 s.
const DECAY: Duration = Duration::from_secs(10);

/// Resolves the name of a `dns:///host:port` endpoint to its addresses, again every
/// `resolve_interval_ms`. [`Dns`] is the system's resolver; tests give answers of their
/// own ([`ClientConfig::channel_with_resolver`](super::ClientConfig::channel_with_resolver)).
pub trait Resolve: fmt::Debug + Send + Sync + 'static {
    /// Every address of `host`, at `port` (a test's answers may have ports of their own).
    fn resolve<'a>(&'a self, host: &'a str, port: u16) -> Resolving<'a>;
}

/// The answer [`Resolve::resolve`] promises.
pub type Resolving<'a> =
    Pin<Box<dyn Future<Output = std::io::Result<Vec<SocketAddr>>> + Send + 'a>>;

/// The system's resolver (`getaddrinfo`, through `tokio::net::lookup_host`): every A and
/// AAAA record of the name — in Kubernetes, of a headless Service, one per ready pod.
#[derive(Debug, Clone, Copy, Default)]
pub struct Dns;

impl Resolve for Dns {
    fn resolve<'a>(&'a self, host: &'a str, port: u16) -> Resolving<'a> {
        Box::pin(async move { Ok(tokio::net::lookup_host((host, port)).await?.collect()) })
    }
}

/// Where a client's replicas are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Targets {
    /// A fixed list of URLs, each one replica.
    Fixed(Vec<String>),
    /// Every address of a name, resolved again every interval.
    Dns {
        /// The name.
        host: String,
        /// The port of every address.
        port: u16,
    },
}

impl Targets {
    /// The targets of `endpoint` (one URL, or `dns:///host:port`) or, when not empty, of
    /// `endpoints` (URLs). The error names the key at fault and what is wrong.
    pub fn of(endpoint: &str, endpoints: &[String]) -> Result<Self, (&'static str, String)> {
        if !endpoints.is_empty() {
            for url in endpoints {
                check_url(url).map_err(|problem| ("endpoints", format!("{url:?}: {problem}")))?;
            }
            return Ok(Self::Fixed(endpoints.to_vec()));
        }
        if endpoint.is_empty() {
            return Err((
                "endpoint",
                "empty: give the service's URL in `endpoint`, or a list in `endpoints`".to_owned(),
            ));
        }
        if let Some(rest) = endpoint.strip_prefix("dns:") {
            return dns(rest).map_err(|problem| ("endpoint", problem));
        }
        check_url(endpoint).map_err(|problem| ("endpoint", problem))?;
        Ok(Self::Fixed(vec![endpoint.to_owned()]))
    }
}

/// `http://host:port` or `https://host:port`.
fn check_url(url: &str) -> Result<(), String> {
    if url.starts_with("dns:") {
        return Err("a `dns:///` name goes in `endpoint`, alone".to_owned());
    }
    let uri: http::Uri = url.parse().map_err(|error| format!("not a URL: {error}"))?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http" | "https"), Some(host)) if !host.is_empty() => Ok(()),
        _ => Err(
            "must be an http:// or https:// URL with a host (or, in `endpoint`, \
             dns:///host:port)"
                .to_owned(),
        ),
    }
}

/// The name and port of `dns:///host:port` (given without its `dns:`).
fn dns(rest: &str) -> Result<Targets, String> {
    let usage = "must be dns:///host:port (an empty authority, an explicit port)";
    let Some(name) = rest.strip_prefix("///") else {
        return Err(if rest.starts_with("//") {
            format!("a DNS server of its own (dns://server/...) is not supported: {usage}")
        } else {
            usage.to_owned()
        });
    };
    let (host, port) = name.rsplit_once(':').ok_or_else(|| usage.to_owned())?;
    let host = host
        .strip_prefix('[')
        .and_then(|host| host.strip_suffix(']'))
        .unwrap_or(host);
    let port: u16 = port.parse().map_err(|_| usage.to_owned())?;
    if host.is_empty() || host.contains(['/', '[', ']']) || port == 0 {
        return Err(usage.to_owned());
    }
    Ok(Targets::Dns {
        host: host.to_owned(),
        port,
    })
}

/// How a replica's channel is made: the settings every replica of a client shares.
#[derive(Debug, Clone)]
pub struct Connect {
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// For `https://` URLs.
    pub tls: Option<ClientTlsConfig>,
}

impl Connect {
    /// A channel to `url` that connects on its first call.
    fn channel(&self, url: &str) -> anyhow::Result<Channel> {
        let mut endpoint = tonic::transport::Endpoint::from_shared(url.to_owned())?
            .connect_timeout(self.connect_timeout);
        if let Some(tls) = &self.tls
            && url.starts_with("https://")
        {
            endpoint = endpoint.tls_config(tls.clone())?;
        }
        Ok(endpoint.connect_lazy())
    }
}

/// What the replicas of one client share: the client's name, its ejection settings, how
/// many replicas there are and how many are not ejected.
#[derive(Debug)]
pub struct Pool {
    /// `[clients.<name>]`'s name, for the logs.
    pub name: String,
    /// Failed calls in a row that eject a replica (0: never ejected).
    pub eject_after: u32,
    /// How long an ejected replica gets no calls.
    pub eject_for: Duration,
    /// Replicas in the balancer, as discovery last said.
    replicas: AtomicUsize,
    /// Whether discovery has answered at least once.
    discovered: AtomicBool,
    /// Replicas in the balancer and not ejected.
    live: AtomicUsize,
}

impl Pool {
    /// The pool of the client `name`.
    pub fn new(name: &str, eject_after: u32, eject_for: Duration) -> Self {
        Self {
            name: name.to_owned(),
            eject_after,
            eject_for,
            replicas: AtomicUsize::new(0),
            discovered: AtomicBool::new(false),
            live: AtomicUsize::new(0),
        }
    }

    /// Whether discovery has answered and found no replica: a call would wait for one
    /// in vain.
    pub fn is_empty(&self) -> bool {
        self.discovered.load(Ordering::Acquire) && self.replicas.load(Ordering::Acquire) == 0
    }

    fn discovered(&self, replicas: usize) {
        self.replicas.store(replicas, Ordering::Release);
        self.discovered.store(true, Ordering::Release);
    }
}

/// The stream of replicas added and removed, as tower's `Discover` takes it.
pub type Discovered =
    Pin<Box<dyn Stream<Item = Result<Change<String, Replica>, Infallible>> + Send>>;

/// The balancer over the replicas of `targets`.
pub type Balancer = tower::balance::p2c::Balance<PeakEwmaDiscover<Discovered>, Request<Body>>;

/// The balancer of a client: over the fixed replicas at once, or over those of the name,
/// resolved by `resolver` now and every `interval` in a task that ends with the client.
///
/// # Errors
/// A URL tonic does not take.
pub fn balancer(
    targets: &Targets,
    connect: Connect,
    pool: &Arc<Pool>,
    resolver: Arc<dyn Resolve>,
    interval: Duration,
) -> anyhow::Result<Balancer> {
    let discovered: Discovered = match targets {
        Targets::Fixed(urls) => {
            let mut replicas = Vec::with_capacity(urls.len());
            for url in urls {
                let uri: http::Uri = url.parse()?;
                let host = uri.host().unwrap_or_default();
                let host = host.trim_start_matches('[').trim_end_matches(']');
                let replica = Replica::new(url, host, uri.port_u16(), connect.channel(url)?, pool);
                replicas.push(Ok(Change::Insert(url.clone(), replica)));
            }
            pool.discovered(replicas.len());
            // The list never changes: the stream stays open, with nothing more to say.
            Box::pin(tokio_stream::iter(replicas).chain(tokio_stream::pending()))
        }
        Targets::Dns { host, port } => {
            let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
            tokio::spawn(resolve_again_and_again(Resolution {
                resolver,
                host: host.clone(),
                port: *port,
                interval,
                connect,
                pool: Arc::clone(pool),
                sender,
            }));
            Box::pin(tokio_stream::wrappers::UnboundedReceiverStream::new(receiver).map(Ok))
        }
    };
    let discover = PeakEwmaDiscover::new(
        discovered,
        DEFAULT_RTT,
        DECAY,
        CompleteOnResponse::default(),
    );
    Ok(tower::balance::p2c::Balance::new(discover))
}

/// What the task resolving a name works with.
struct Resolution {
    resolver: Arc<dyn Resolve>,
    host: String,
    port: u16,
    interval: Duration,
    connect: Connect,
    pool: Arc<Pool>,
    sender: Sender,
}

/// The sender of the changes of a resolved name.
type Sender = tokio::sync::mpsc::UnboundedSender<Change<String, Replica>>;

/// Resolves the name now and every interval, sending the replicas added and removed,
/// until the balancer is gone. A failed resolution, or an empty answer, keeps the
/// replicas known (a DNS hiccup does not empty the client).
async fn resolve_again_and_again(resolution: Resolution) {
    let Resolution {
        resolver,
        host,
        port,
        interval,
        connect,
        pool,
        sender,
    } = resolution;
    let name = format!("dns:///{host}:{port}");
    let mut known: BTreeSet<SocketAddr> = BTreeSet::new();
    let mut failing = false;
    loop {
        let answer = tokio::select! {
            answer = resolver.resolve(&host, port) => answer,
            () = sender.closed() => return,
        };
        match answer {
            Ok(addresses) if !addresses.is_empty() => {
                failing = false;
                let addresses: BTreeSet<SocketAddr> = addresses.into_iter().collect();
                let removed: Vec<SocketAddr> = known.difference(&addresses).copied().collect();
                let added: Vec<SocketAddr> = addresses.difference(&known).copied().collect();
                for address in &removed {
                    if sender.send(Change::Remove(address.to_string())).is_err() {
                        return;
                    }
                }
                for address in &added {
                    let url = format!("http://{address}");
                    let channel = match connect.channel(&url) {
                        Ok(channel) => channel,
                        Err(error) => {
                            tracing::warn!(client = pool.name, %address, %error, "cannot call a replica");
                            continue;
                        }
                    };
                    let key = address.to_string();
                    let host = address.ip().to_string();
                    let replica = Replica::new(&key, &host, Some(address.port()), channel, &pool);
                    if sender.send(Change::Insert(key, replica)).is_err() {
                        return;
                    }
                }
                if !added.is_empty() || !removed.is_empty() {
                    tracing::info!(
                        client = pool.name,
                        endpoint = name,
                        replicas = addresses.len(),
                        added = ?added,
                        removed = ?removed,
                        "replicas changed"
                    );
                }
                known = addresses;
            }
            answer => {
                if !failing {
                    let problem = match answer {
                        Ok(_) => "no address".to_owned(),
                        Err(error) => error.to_string(),
                    };
                    tracing::warn!(
                        client = pool.name,
                        endpoint = name,
                        problem,
                        kept = known.len(),
                        "cannot resolve the endpoint: keeping the replicas known"
                    );
                }
                failing = true;
            }
        }
        pool.discovered(known.len());
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = sender.closed() => return,
        }
    }
}

/// One replica: a tonic channel to it, which reports not ready while the replica is
/// ejected.
pub struct Replica {
    channel: Channel,
    health: Arc<Health>,
    /// Wakes the balancer when the ejection ends.
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl fmt::Debug for Replica {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Replica")
            .field("address", &self.health.address)
            .finish_non_exhaustive()
    }
}

/// What a replica's calls report to: its failures in a row, its ejection.
#[derive(Debug)]
struct Health {
    /// The replica's URL or address, for the logs and the CLIENT spans.
    address: String,
    /// Its host and port, for the CLIENT spans.
    host: String,
    port: Option<u16>,
    pool: Arc<Pool>,
    failures: AtomicU32,
    /// Whether it is ejected now (the mutex says until when).
    ejected: AtomicBool,
    state: Mutex<Ejection>,
}

#[derive(Debug, Default)]
struct Ejection {
    until: Option<Instant>,
    /// Out of the balancer: never ejected again, nor counted.
    removed: bool,
}

/// The span of one attempt, in the request's extensions: the replica that serves it
/// records its address there.
#[derive(Debug, Clone)]
pub struct AttemptSpan(pub tracing::Span);

impl Replica {
    /// The replica `address` (its URL, or its socket address), at `host` and `port`.
    fn new(
        address: &str,
        host: &str,
        port: Option<u16>,
        channel: Channel,
        pool: &Arc<Pool>,
    ) -> Self {
        pool.live.fetch_add(1, Ordering::AcqRel);
        Self {
            channel,
            health: Arc::new(Health {
                address: address.to_owned(),
                host: host.to_owned(),
                port,
                pool: Arc::clone(pool),
                failures: AtomicU32::new(0),
                ejected: AtomicBool::new(false),
                state: Mutex::new(Ejection::default()),
            }),
            sleep: None,
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        // Removed from the balancer: no longer live, and never ejected again.
        let mut state = self.health.lock();
        state.removed = true;
        if state.until.is_none() {
            self.health.pool.live.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl tower::Service<Request<Body>> for Replica {
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = ReplicaFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if self.health.ejected.load(Ordering::Acquire)
            && let Some(until) = self.health.ejected_until()
        {
            let sleep = self
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(until)));
            if sleep.deadline() != until {
                sleep.as_mut().reset(until);
            }
            ready!(sleep.as_mut().poll(cx));
            self.sleep = None;
            self.health.readmit();
        }
        self.channel.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        if let Some(AttemptSpan(span)) = request.extensions().get::<AttemptSpan>() {
            span.record("server.address", self.health.host.as_str());
            if let Some(port) = self.health.port {
                span.record("server.port", port);
            }
        }
        ReplicaFuture {
            inner: tower::Service::call(&mut self.channel, request),
            health: Arc::clone(&self.health),
            _channel: self.channel.clone(),
        }
    }
}

pin_project_lite::pin_project! {
    /// A call to one replica, which reports its outcome to the replica's health.
    pub struct ReplicaFuture {
        #[pin]
        inner: ResponseFuture,
        health: Arc<Health>,
        // Keeps the replica's connection open until the call ends, even once the
        // replica has been removed from the balancer.
        _channel: Channel,
    }
}

impl Future for ReplicaFuture {
    type Output = Result<Response<Body>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx)).map_err(BoxError::from);
        match &result {
            Ok(response) => {
                let unavailable = crate::observe::grpc_status(response.headers())
                    == Some(tonic::Code::Unavailable);
                this.health.observe(if unavailable {
                    Outcome::Failed
                } else {
                    Outcome::Served
                });
            }
            Err(error) if super::call::refused_connection(&**error) => {
                this.health.observe(Outcome::Refused);
            }
            Err(_) => this.health.observe(Outcome::Failed),
        }
        Poll::Ready(result)
    }
}

/// How a call to a replica went, for its health.
enum Outcome {
    /// Answered, if only with an error of the service's.
    Served,
    /// A transport failure, or UNAVAILABLE.
    Failed,
    /// No connection could be made.
    Refused,
}

impl Health {
    fn lock(&self) -> std::sync::MutexGuard<'_, Ejection> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn ejected_until(&self) -> Option<Instant> {
        self.lock().until
    }

    fn observe(&self, outcome: Outcome) {
        let eject_after = self.pool.eject_after;
        match outcome {
            Outcome::Served => {
                if self.failures.load(Ordering::Relaxed) != 0 {
                    self.failures.store(0, Ordering::Relaxed);
                }
            }
            _ if eject_after == 0 => {}
            Outcome::Refused => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                self.eject("refuses connections");
            }
            Outcome::Failed => {
                let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
                if failures >= eject_after {
                    self.eject("failed calls in a row");
                }
            }
        }
    }

    /// Takes the replica out of the balancer for the ejection period, unless it is the
    /// last one in.
    fn eject(&self, why: &str) {
        let mut state = self.lock();
        if state.removed || state.until.is_some() {
            return;
        }
        let last = self
            .pool
            .live
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |live| {
                (live > 1).then(|| live - 1)
            })
            .is_err();
        if last {
            return;
        }
        state.until = Some(Instant::now() + self.pool.eject_for);
        self.ejected.store(true, Ordering::Release);
        tracing::warn!(
            client = self.pool.name,
            replica = self.address,
            why,
            failures = self.failures.load(Ordering::Relaxed),
            eject_for_ms = self.pool.eject_for.as_millis(),
            "replica ejected"
        );
    }

    /// Back in the balancer once the ejection period is over: its next call is a probe.
    fn readmit(&self) {
        let mut state = self.lock();
        if state.until.take().is_some() && !state.removed {
            self.pool.live.fetch_add(1, Ordering::AcqRel);
            tracing::info!(
                client = self.pool.name,
                replica = self.address,
                "replica probed again after its ejection"
            );
        }
        self.ejected.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_urls_or_a_dns_name() {
        let one = |endpoint: &str| Targets::of(endpoint, &[]);
        assert_eq!(
            one("http://backend:50051"),
            Ok(Targets::Fixed(vec!["http://backend:50051".to_owned()]))
        );
        assert_eq!(
            one("dns:///backend-headless.default.svc.cluster.local:50051"),
            Ok(Targets::Dns {
                host: "backend-headless.default.svc.cluster.local".to_owned(),
                port: 50051
            })
        );
        assert_eq!(
            one("dns:///[::1]:7"),
            Ok(Targets::Dns {
                host: "::1".to_owned(),
                port: 7
            })
        );
        for bad in [
            "",
            "backend:50051",
            "ftp://backend:50051",
            "dns:///backend",
            "dns:///backend:http",
            "dns:///:50051",
            "dns://8.8.8.8/backend:50051",
            "dns:backend:50051",
        ] {
            let error = one(bad).expect_err(bad);
            assert_eq!(error.0, "endpoint", "{bad}");
        }
        let list = vec!["http://a:1".to_owned(), "https://b:2".to_owned()];
        assert_eq!(Targets::of("", &list), Ok(Targets::Fixed(list.clone())));
        // The list wins over an `endpoint` (the built-in default of the section).
        assert_eq!(
            Targets::of("http://default:1", &list),
            Ok(Targets::Fixed(list))
        );
        let error = Targets::of("", &["http://a:1".to_owned(), "dns:///b:2".to_owned()])
            .expect_err("dns in a list");
        assert_eq!(error.0, "endpoints");
        assert!(error.1.contains("dns:///b:2"), "{error:?}");
    }
}
