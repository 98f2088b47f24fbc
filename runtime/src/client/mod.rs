//! What the typed clients of the services a service calls are built on (`[[clients]]` in
//! svcgen.toml: svcgen generates a `Clients` struct of tonic clients over
//! [`TracedChannel`]s), and an HTTP client for calls over plain HTTP. They are built
//! once at start-up, connect on first use, and are configured by `[clients.<name>]`.
//!
//! A typed client calls every replica of its service: the `endpoint` URL, the
//! `endpoints` listed, or every address of a `dns:///host:port` name (a headless
//! Kubernetes Service), resolved again every `resolve_interval_ms`. Each call:
//!
//! - goes to the less loaded of two replicas picked at random (tower's p2c balancer;
//!   load = peak-EWMA latency × calls in flight), unary or streaming alike; a replica
//!   that refuses connections or fails `eject_after_failures` calls in a row is left out
//!   for `eject_for_ms`, then probed again;
//! - carries a deadline (`grpc-timeout`): `timeout_ms`, or what is left of the deadline
//!   of the request being served ([`deadline`](crate::deadline)) when that is sooner; a
//!   call whose deadline has passed fails with DEADLINE_EXCEEDED without being sent;
//! - is retried, up to `max_attempts` in all, after a jittered exponential backoff
//!   (`retry_backoff_ms` doubled at each retry, at most 1 s), within a budget
//!   (`retry_budget` of the calls, plus 10 a second): on another replica when it never
//!   reached a server (no connection, or the connection was going away); when it did,
//!   only on UNAVAILABLE and only if its method is idempotent (the `idempotent` list
//!   svcgen generates from the protos' `idempotency_level`). Only a request whose body
//!   was complete when the call was made (a unary or server-streaming call, up to 4 MiB)
//!   can be sent again: client-streaming and bidirectional calls are never retried;
//! - is failed at once, unsent, with UNAVAILABLE while the service rejects most calls
//!   (adaptive throttling, `breaker_k`);
//! - carries the current trace context (B3 and W3C headers, as `[tracing] propagation`
//!   says) and, when the trace is sampled, gets a CLIENT span per attempt.

mod balance;
mod breaker;
mod call;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use opentelemetry::trace::TraceContextExt as _;
use serde::{Deserialize, Serialize};
use tower::BoxError;
use tracing::Instrument as _;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

pub use self::balance::{Dns, Resolve, Resolving};
use crate::config::TracingConfig;
use crate::otel::RequestTracing;
use crate::telemetry::REQUEST_SPAN_TARGET;

/// `[clients.<name>]`: where and how to call one service.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientConfig {
    /// The service's URL, e.g. `http://backend:50051`, or `https://backend:50051` for
    /// TLS; or `dns:///host:port`: every address the name resolves to (a headless
    /// Kubernetes Service), resolved again every `resolve_interval_ms`.
    pub endpoint: String,
    /// A fixed list of the service's URLs, used instead of `endpoint` when not empty: a
    /// configuration layer may list replicas in place of an earlier layer's `endpoint`
    /// (one that sets both is refused).
    pub endpoints: Vec<String>,
    /// How often a `dns:///` endpoint is resolved again, in milliseconds.
    pub resolve_interval_ms: u64,
    /// Deadline of every call, retries included, in milliseconds (0 for none): a call
    /// made while serving a request gets what is left of that request's deadline when
    /// that is sooner.
    pub timeout_ms: u64,
    /// Deadline to establish a connection, in milliseconds.
    pub connect_timeout_ms: u64,
    /// For an `https://` endpoint: the CA certificates (PEM) its certificate must chain
    /// to; the web's roots when not given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Attempts per call, the first included: 1 for no retries.
    pub max_attempts: u32,
    /// Retries are at most this fraction of the calls (over 10 s), plus 10 a second.
    pub retry_budget: f64,
    /// The base of the jittered exponential backoff before a retry, in milliseconds:
    /// before retry n, a random delay up to this × 2^(n−1), at most 1 s.
    pub retry_backoff_ms: u64,
    /// Failed calls in a row (transport failures, UNAVAILABLE) after which a replica
    /// gets no calls for `eject_for_ms`; a replica that refuses a connection is ejected
    /// at once. 0: never ejected.
    pub eject_after_failures: u32,
    /// How long an ejected replica gets no calls, in milliseconds, before it is probed
    /// again.
    pub eject_for_ms: u64,
    /// Adaptive throttling (Google SRE's): once the service accepts fewer than 1 in K of
    /// the calls, the client fails the surplus itself, unsent, with UNAVAILABLE. 0: off;
    /// else at least 1.
    pub breaker_k: f64,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            endpoint: String::new(),
            endpoints: Vec::new(),
            resolve_interval_ms: 5_000,
            timeout_ms: 5_000,
            connect_timeout_ms: 1_000,
            ca_file: None,
            max_attempts: 3,
            retry_budget: 0.2,
            retry_backoff_ms: 25,
            eject_after_failures: 5,
            eject_for_ms: 10_000,
            breaker_k: 1.5,
        }
    }
}

/// A key of `[clients.<name>]` whose value is wrong, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidClient {
    /// The key, e.g. `endpoint`.
    pub key: &'static str,
    /// What is wrong, in a few words.
    pub problem: String,
}

impl ClientConfig {
    /// The defaults for a service at `endpoint`: 5 s per call, 1 s to connect, up to 3
    /// attempts, throttling at K = 1.5.
    #[must_use]
    pub fn new(endpoint: &str) -> Self {
        Self {
            endpoint: endpoint.to_owned(),
            ..Self::default()
        }
    }

    /// Checks every value.
    ///
    /// # Errors
    /// The first key whose value is wrong.
    pub fn check(&self) -> Result<(), InvalidClient> {
        self.checked().map(drop)
    }

    /// Checks every value; the replicas' targets when they are valid.
    fn checked(&self) -> Result<balance::Targets, InvalidClient> {
        let targets = balance::Targets::of(&self.endpoint, &self.endpoints)
            .map_err(|(key, problem)| InvalidClient { key, problem })?;
        let invalid = |key, problem: &str| {
            Err(InvalidClient {
                key,
                problem: problem.to_owned(),
            })
        };
        if self.max_attempts == 0 {
            return invalid("max_attempts", "must be at least 1 (1: no retries)");
        }
        if !(0.0..=1.0).contains(&self.retry_budget) {
            return invalid("retry_budget", "must be between 0.0 and 1.0");
        }
        if !(self.breaker_k == 0.0 || self.breaker_k >= 1.0) || !self.breaker_k.is_finite() {
            return invalid("breaker_k", "must be 0 (off) or at least 1");
        }
        if self.resolve_interval_ms == 0 {
            return invalid("resolve_interval_ms", "must be at least 1");
        }
        Ok(targets)
    }

    /// A traced channel to the service, which connects on its first call, for the
    /// client `name` (`[clients.<name>]`, named in the errors), propagating the trace
    /// context as `tracing` says; `idempotent` lists the gRPC paths of the service's
    /// idempotent methods (`/package.Service/Method`), which are retried on UNAVAILABLE.
    ///
    /// An `https://` endpoint is called over TLS, its certificate checked against
    /// `ca_file`, or the web's roots. A `dns:///` endpoint is resolved by the system's
    /// resolver ([`Dns`]), in a task of the current tokio runtime.
    ///
    /// # Errors
    /// An invalid value (see [`ClientConfig::check`]), or `ca_file` cannot be used.
    pub fn channel(
        &self,
        name: &str,
        tracing: &TracingConfig,
        idempotent: &'static [&'static str],
    ) -> anyhow::Result<TracedChannel> {
        self.channel_with_resolver(name, tracing, idempotent, Arc::new(Dns))
    }

    /// As [`ClientConfig::channel`], resolving a `dns:///` endpoint with `resolver`.
    ///
    /// # Errors
    /// As [`ClientConfig::channel`].
    pub fn channel_with_resolver(
        &self,
        name: &str,
        tracing: &TracingConfig,
        idempotent: &'static [&'static str],
        resolver: Arc<dyn Resolve>,
    ) -> anyhow::Result<TracedChannel> {
        let targets = self.checked().map_err(|invalid| {
            anyhow::anyhow!(
                "invalid [clients.{name}] {}: {}",
                invalid.key,
                invalid.problem
            )
        })?;
        let tls = match &targets {
            balance::Targets::Fixed(urls) if urls.iter().any(|url| url.starts_with("https://")) => {
                Some(
                    crate::tls::grpc_client_config(self.ca_file.as_deref())
                        .map_err(|error| anyhow::anyhow!("[clients.{name}] {error}"))?,
                )
            }
            _ => None,
        };
        let connect = balance::Connect {
            connect_timeout: Duration::from_millis(self.connect_timeout_ms),
            tls,
        };
        let pool = Arc::new(balance::Pool::new(
            name,
            self.eject_after_failures,
            Duration::from_millis(self.eject_for_ms),
        ));
        let balancer = balance::balancer(
            &targets,
            connect,
            &pool,
            resolver,
            Duration::from_millis(self.resolve_interval_ms),
        )
        .map_err(|error| anyhow::anyhow!("invalid [clients.{name}] endpoint: {error}"))?;
        // The buffer lets every clone of the client share the balancer (run by a task of
        // its own); as deep as tonic's own channels'.
        let buffered = tower::buffer::Buffer::new(balancer, 1024);
        let budget = Arc::new(tower::retry::budget::TpsBudget::new(
            Duration::from_secs(10),
            10,
            // Checked: between 0 and 1.
            #[allow(clippy::cast_possible_truncation)]
            {
                self.retry_budget as f32
            },
        ));
        let policy = call::RetryPolicy::new(Arc::new(call::RetrySettings {
            max_attempts: self.max_attempts,
            backoff: Duration::from_millis(self.retry_backoff_ms),
            idempotent,
            budget: Arc::clone(&budget),
            name: name.to_owned(),
        }));
        let attempt = call::Attempt::new(buffered, RequestTracing::new(tracing), pool);
        Ok(TracedChannel {
            client: Arc::new(call::Client {
                name: name.to_owned(),
                timeout: (self.timeout_ms > 0).then(|| Duration::from_millis(self.timeout_ms)),
                max_attempts: self.max_attempts,
                breaker: (self.breaker_k > 0.0)
                    .then(|| Arc::new(breaker::Breaker::new(self.breaker_k))),
                budget,
            }),
            retry: tower::retry::Retry::new(policy, attempt),
        })
    }
}

/// A typed client's channel to every replica of a service: each call through a deadline,
/// adaptive throttling, retries and a balancer over the replicas (see the
/// [module](self)), with the trace context and a CLIENT span per attempt of a sampled
/// trace. Cheap to clone: the clones share the replicas, the retry budget and the
/// throttle.
#[derive(Clone)]
pub struct TracedChannel {
    client: Arc<call::Client>,
    retry: tower::retry::Retry<call::RetryPolicy, call::Attempt>,
}

impl std::fmt::Debug for TracedChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracedChannel")
            .field("client", &self.client.name)
            .finish_non_exhaustive()
    }
}

/// The future of a call through a [`TracedChannel`].
pub type ChannelFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<tonic::body::Body>, BoxError>> + Send>>;

impl tower::Service<http::Request<tonic::body::Body>> for TracedChannel {
    type Response = http::Response<tonic::body::Body>;
    type Error = BoxError;
    type Future = ChannelFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Each call waits for a replica in its own future, within its deadline.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        // Read here, in the caller's task, where the request being served is known.
        let inherited = crate::deadline::current();
        Box::pin(call::call(
            Arc::clone(&self.client),
            self.retry.clone(),
            request,
            inherited,
        ))
    }
}

/// An HTTP client for calls to other services over HTTP: every request carries the
/// trace context and, in a sampled trace, gets a CLIENT span — whether it is sent with
/// [`RequestBuilder::send`] or built first and sent with [`HttpClient::execute`].
///
/// ```no_run
/// # async fn call(http: &svcgen_runtime::client::HttpClient) -> anyhow::Result<()> {
/// let invoices = http
///     .get("http://billing:8080/v1/invoices")
///     .header("accept", "application/json")
///     .send()
///     .await?
///     .error_for_status()?
///     .text()
///     .await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    tracing: RequestTracing,
}

impl HttpClient {
    /// A client with a 10 s timeout per request, propagating the trace context as
    /// `tracing` says; `https://` URLs are called over TLS, trusting the web's roots.
    ///
    /// # Errors
    /// The underlying client cannot be built.
    pub fn new(tracing: &TracingConfig) -> anyhow::Result<Self> {
        Self::with_ca_file(tracing, None)
    }

    /// As [`HttpClient::new`], trusting only the CA certificates (PEM) of `ca_file` for
    /// `https://` URLs, when given.
    ///
    /// # Errors
    /// `ca_file` cannot be used, or the underlying client cannot be built.
    pub fn with_ca_file(tracing: &TracingConfig, ca_file: Option<&Path>) -> anyhow::Result<Self> {
        let inner = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .tls_backend_preconfigured(crate::tls::client_config(ca_file)?)
            .build()?;
        Ok(Self {
            inner,
            tracing: RequestTracing::new(tracing),
        })
    }

    /// Starts a GET request.
    pub fn get(&self, url: &str) -> RequestBuilder<'_> {
        self.request(reqwest::Method::GET, url)
    }

    /// Starts a POST request.
    pub fn post(&self, url: &str) -> RequestBuilder<'_> {
        self.request(reqwest::Method::POST, url)
    }

    /// Starts a request of any method.
    pub fn request(&self, method: reqwest::Method, url: &str) -> RequestBuilder<'_> {
        RequestBuilder {
            client: self,
            inner: self.inner.request(method, url),
        }
    }

    /// Sends `request` with the trace context, in a CLIENT span when the trace is sampled.
    ///
    /// # Errors
    /// The request fails (the response status is not an error here).
    pub async fn execute(
        &self,
        mut request: reqwest::Request,
    ) -> reqwest::Result<reqwest::Response> {
        let current = opentelemetry::Context::current();
        if !current.span().span_context().is_sampled() {
            self.tracing.inject(&current, request.headers_mut());
            return self.inner.execute(request).await;
        }
        let name = format!("{} {}", request.method(), request.url().path());
        let span = tracing::info_span!(
            target: REQUEST_SPAN_TARGET,
            "http.client",
            otel.name = name,
            otel.kind = "client",
            otel.status_code = Empty,
            http.request.method = request.method().as_str(),
            url.full = request.url().as_str(),
            http.response.status_code = Empty,
        );
        self.tracing.inject(&span.context(), request.headers_mut());
        let response = self.inner.execute(request).instrument(span.clone()).await;
        match &response {
            Ok(response) => {
                span.record("http.response.status_code", response.status().as_u16());
                if response.status().is_server_error() {
                    span.record("otel.status_code", "ERROR");
                }
            }
            Err(_) => {
                span.record("otel.status_code", "ERROR");
            }
        }
        response
    }
}

/// A request of [`HttpClient`] being built. [`RequestBuilder::send`] sends it through
/// [`HttpClient::execute`], so it is traced like every call of the client; there is no
/// way to send it around the client.
#[derive(Debug)]
#[must_use = "a request does nothing until it is sent"]
pub struct RequestBuilder<'a> {
    client: &'a HttpClient,
    inner: reqwest::RequestBuilder,
}

impl RequestBuilder<'_> {
    /// Adds a header.
    pub fn header<K, V>(self, key: K, value: V) -> Self
    where
        http::HeaderName: TryFrom<K>,
        <http::HeaderName as TryFrom<K>>::Error: Into<http::Error>,
        http::HeaderValue: TryFrom<V>,
        <http::HeaderValue as TryFrom<V>>::Error: Into<http::Error>,
    {
        self.with(|inner| inner.header(key, value))
    }

    /// Adds headers.
    pub fn headers(self, headers: http::HeaderMap) -> Self {
        self.with(|inner| inner.headers(headers))
    }

    /// Sets the body.
    pub fn body(self, body: impl Into<reqwest::Body>) -> Self {
        self.with(|inner| inner.body(body))
    }

    /// Sets a deadline for this request, instead of the client's 10 s.
    pub fn timeout(self, timeout: Duration) -> Self {
        self.with(|inner| inner.timeout(timeout))
    }

    /// Applies any other setting of reqwest's builder, e.g.
    /// `.with(|request| request.bearer_auth(token))`.
    pub fn with(self, f: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder) -> Self {
        Self {
            client: self.client,
            inner: f(self.inner),
        }
    }

    /// The request, for [`HttpClient::execute`].
    ///
    /// # Errors
    /// The URL, a header or the body is invalid.
    pub fn build(self) -> reqwest::Result<reqwest::Request> {
        self.inner.build()
    }

    /// Sends the request with the trace context, in a CLIENT span when the trace is
    /// sampled.
    ///
    /// # Errors
    /// The request is invalid or fails (the response status is not an error here).
    pub async fn send(self) -> reqwest::Result<reqwest::Response> {
        let request = self.inner.build()?;
        self.client.execute(request).await
    }
}
