//! What the typed clients of the services a service calls are built on (`[[clients]]` in
//! svcgen.toml: svcgen generates a `Clients` struct of tonic clients over
//! [`TracedChannel`]s), and an HTTP client for calls over plain HTTP. They are built
//! once at start-up, connect on first use, and are configured by `[clients.<name>]`.
//!
//! Every outgoing call carries the current trace context (B3 and W3C headers, as
//! `[tracing] propagation` says) and, when the trace is sampled, gets a CLIENT span.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use opentelemetry::trace::TraceContextExt as _;
use serde::{Deserialize, Serialize};
use tonic::transport::{Channel, Endpoint};
use tracing::Instrument as _;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::config::TracingConfig;
use crate::otel::RequestTracing;
use crate::telemetry::REQUEST_SPAN_TARGET;

/// `[clients.<name>]`: where and how to call one service.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// The service's URL, e.g. `http://backend:50051`, or `https://backend:50051` for
    /// TLS.
    pub endpoint: String,
    /// Deadline of every call, in milliseconds.
    pub timeout_ms: u64,
    /// Deadline to establish a connection, in milliseconds.
    pub connect_timeout_ms: u64,
    /// For an `https://` endpoint: the CA certificates (PEM) its certificate must chain
    /// to; the web's roots when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

impl ClientConfig {
    /// The defaults for a service at `endpoint`: 5 s per call, 1 s to connect.
    #[must_use]
    pub fn new(endpoint: &str) -> Self {
        Self {
            endpoint: endpoint.to_owned(),
            timeout_ms: 5_000,
            connect_timeout_ms: 1_000,
            ca_file: None,
        }
    }

    /// A traced channel to the service, which connects on its first call, for the
    /// client `name` (`[clients.<name>]`, named in the error), propagating the trace
    /// context as `tracing` says.
    ///
    /// An `https://` endpoint is called over TLS, its certificate checked against
    /// `ca_file`, or the web's roots.
    ///
    /// # Errors
    /// The endpoint is not a valid URI, or `ca_file` cannot be used.
    pub fn channel(&self, name: &str, tracing: &TracingConfig) -> anyhow::Result<TracedChannel> {
        let mut endpoint = Endpoint::from_shared(self.endpoint.clone())
            .map_err(|error| anyhow::anyhow!("invalid endpoint in [clients.{name}]: {error}"))?;
        if endpoint.uri().scheme() == Some(&http::uri::Scheme::HTTPS) {
            let tls = crate::tls::grpc_client_config(self.ca_file.as_deref())
                .map_err(|error| anyhow::anyhow!("[clients.{name}] {error}"))?;
            endpoint = endpoint
                .tls_config(tls)
                .map_err(|error| anyhow::anyhow!("[clients.{name}]: {error}"))?;
        }
        let channel = endpoint
            .timeout(Duration::from_millis(self.timeout_ms))
            .connect_timeout(Duration::from_millis(self.connect_timeout_ms))
            .connect_lazy();
        Ok(TracedChannel {
            inner: channel,
            tracing: RequestTracing::new(tracing),
        })
    }
}

/// A tonic channel that propagates the trace context of every call and records a
/// CLIENT span for the calls of sampled traces.
#[derive(Debug, Clone)]
pub struct TracedChannel {
    inner: Channel,
    tracing: RequestTracing,
}

type ChannelFuture = Pin<
    Box<
        dyn Future<Output = Result<http::Response<tonic::body::Body>, tonic::transport::Error>>
            + Send,
    >,
>;

impl tower::Service<http::Request<tonic::body::Body>> for TracedChannel {
    type Response = http::Response<tonic::body::Body>;
    type Error = tonic::transport::Error;
    type Future = ChannelFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        tower::Service::poll_ready(&mut self.inner, cx)
    }

    fn call(&mut self, mut request: http::Request<tonic::body::Body>) -> Self::Future {
        let current = opentelemetry::Context::current();
        if !current.span().span_context().is_sampled() {
            // Not recorded here: the callee still learns the trace id and the decision.
            self.tracing.inject(&current, request.headers_mut());
            return Box::pin(tower::Service::call(&mut self.inner, request));
        }
        let route = request.uri().path().trim_start_matches('/').to_owned();
        let (service, method) = route.split_once('/').unwrap_or((route.as_str(), ""));
        let span = tracing::info_span!(
            target: REQUEST_SPAN_TARGET,
            "grpc.client",
            otel.name = route.as_str(),
            otel.kind = "client",
            otel.status_code = Empty,
            rpc.system = "grpc",
            rpc.service = service,
            rpc.method = method,
            rpc.grpc.status_code = Empty,
            server.address = request.uri().host().unwrap_or_default(),
        );
        self.tracing.inject(&span.context(), request.headers_mut());
        let response = tower::Service::call(&mut self.inner, request);
        Box::pin(
            async move {
                let response = response.await;
                let span = tracing::Span::current();
                let code = match &response {
                    // A call that fails before its first message has the status in its
                    // headers; otherwise it follows in the trailers and the call started OK.
                    Ok(response) => response
                        .headers()
                        .get("grpc-status")
                        .and_then(|value| value.to_str().ok())
                        .and_then(|value| value.parse::<i32>().ok())
                        .map_or(tonic::Code::Ok, tonic::Code::from),
                    Err(_) => tonic::Code::Unavailable,
                };
                span.record("rpc.grpc.status_code", i32::from(code));
                if code != tonic::Code::Ok {
                    span.record("otel.status_code", "ERROR");
                }
                response
            }
            .instrument(span),
        )
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
