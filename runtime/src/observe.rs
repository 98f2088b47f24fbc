//! The tower layer both servers run every request through: it continues the caller's
//! trace (B3 / W3C headers), opens a SERVER span when the request is sampled, and writes
//! the access line when the response ends — at the end of the body stream, so a
//! streaming call is logged with the status in its trailers and its full duration.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use http::uri::PathAndQuery;
use http::{HeaderMap, HeaderName, Request, Response};
use http_body::{Body, Frame, SizeHint};
use opentelemetry::KeyValue;
use opentelemetry::trace::{SpanRef, Status, TraceContextExt as _};
use tonic::Code;
use tower::{Layer, Service};

use crate::access_log::{self, Entry, Outcome, Protocol, Route};
use crate::metrics::{Metrics, Recorder};
use crate::otel::{RequestTracer, RequestTracing, Served};
use crate::rest::RouteTemplate;
use crate::service::Method;

/// Observes every request of one server: tracing, access log and metrics.
#[derive(Debug, Clone)]
pub struct ObserveLayer {
    protocol: Protocol,
    tracing: RequestTracing,
    methods: Methods,
    metrics: Option<Recorder>,
}

impl ObserveLayer {
    /// Observes requests of `protocol`, with the tracing decisions of `tracing`; gRPC
    /// requests are named by `methods` (the service's, health's and reflection's).
    #[must_use]
    pub fn new(protocol: Protocol, tracing: RequestTracing, methods: &[Method]) -> Self {
        Self {
            protocol,
            tracing,
            methods: Methods::new(methods),
            metrics: None,
        }
    }

    /// Counts the requests in `metrics`, when given.
    #[must_use]
    pub fn with_metrics(self, metrics: Option<&Metrics>) -> Self {
        let metrics = metrics.map(|metrics| {
            metrics.recorder(self.protocol, self.methods.0.iter().map(|(route, _)| route))
        });
        Self { metrics, ..self }
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe {
            inner,
            protocol: self.protocol,
            tracing: self.tracing.clone(),
            methods: self.methods.clone(),
            metrics: self.metrics.clone(),
        }
    }
}

/// The service [`ObserveLayer`] wraps around a server.
#[derive(Debug, Clone)]
pub struct Observe<S> {
    inner: S,
    protocol: Protocol,
    tracing: RequestTracing,
    methods: Methods,
    metrics: Option<Recorder>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Observe<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Body,
{
    type Response = Response<ObservedBody<ResBody>>;
    type Error = S::Error;
    type Future = ObserveFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let (route, streams) = route(self.protocol, &self.methods, &request);
        let entry = Entry {
            method: request.method().clone(),
            route,
            peer: peer(&request),
            started: Instant::now(),
        };
        let context = if self.tracing.enabled() {
            tracing::dispatcher::get_default(|dispatch| {
                self.tracing.start(
                    request.headers(),
                    dispatch.downcast_ref::<RequestTracer>(),
                    || Served {
                        protocol: self.protocol,
                        method: entry.method.clone(),
                        route: entry.route.clone(),
                        peer: entry.peer,
                    },
                )
            })
        } else {
            self.tracing
                .start(request.headers(), None, || unreachable!())
        };
        // The inner services only build their futures here; the request's code runs when
        // they are polled, inside the context (see `ObserveFuture::poll`).
        let inner = self.inner.call(request);
        let mut finish = Finish::new(self.protocol, entry, context.clone(), streams);
        if let Some(metrics) = &self.metrics {
            metrics.started();
            finish.metrics = Some(metrics.clone());
        }
        ObserveFuture {
            inner,
            context,
            finish: Some(finish),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`Observe`]: polls the inner future inside the request's
    /// trace context (its SERVER span when sampled), then hands the request's end to the
    /// response body.
    pub struct ObserveFuture<F> {
        #[pin]
        inner: F,
        context: opentelemetry::Context,
        finish: Option<Finish>,
    }
}

impl<F, B, E> Future for ObserveFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Body,
{
    type Output = Result<Response<ObservedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = {
            let _attached = this.context.clone().attach();
            ready!(this.inner.poll(cx))
        };
        let Some(mut finish) = this.finish.take() else {
            // Polled again after it completed: a bug of the caller, which `Future` allows
            // to go unanswered.
            return Poll::Pending;
        };
        Poll::Ready(match result {
            Ok(response) => {
                finish.outcome = head_outcome(finish.protocol, &response);
                if let Some(RouteTemplate(template)) = response.extensions().get::<RouteTemplate>()
                {
                    finish.renamed(template);
                }
                let finish = if response.body().is_end_stream() {
                    // No body (e.g. a trailers-only gRPC error): the request ends here.
                    let outcome = finish.outcome;
                    finish.finish(outcome, false);
                    None
                } else {
                    Some(finish)
                };
                Ok(response.map(|inner| ObservedBody { inner, finish }))
            }
            Err(error) => {
                finish.finish(Outcome::Failed, false);
                Err(error)
            }
        })
    }
}

/// gRPC: `package.Service/Method`; HTTP: the matched route template, else the path.
/// And whether the response may be a stream the handler's code produces (a
/// server-streaming RPC, an RPC the server does not know, any HTTP response).
fn route<B>(protocol: Protocol, methods: &Methods, request: &Request<B>) -> (Route, bool) {
    let path = || {
        request
            .uri()
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"))
    };
    match protocol {
        Protocol::Grpc => methods.find(request.uri().path()).map_or_else(
            || (Route::UnknownGrpc(path()), true),
            |(method, streams)| (Route::Grpc(method), streams),
        ),
        Protocol::Http => {
            let route = request
                .extensions()
                .get::<axum::extract::MatchedPath>()
                .map_or_else(
                    || Route::Path(path()),
                    |matched| Route::Matched(matched.clone()),
                );
            (route, true)
        }
    }
}

/// The RPCs a server knows (`package.Service/Method`), sorted, and whether each streams
/// its responses: the service's, health's, reflection's.
#[derive(Debug, Clone)]
struct Methods(Arc<[(&'static str, bool)]>);

impl Methods {
    fn new(served: &[Method]) -> Self {
        let mut methods: Vec<(&'static str, bool)> = served
            .iter()
            .map(|method| (method.route, method.server_streaming))
            .chain([
                ("grpc.health.v1.Health/Check", false),
                ("grpc.health.v1.Health/Watch", true),
                (
                    "grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                    true,
                ),
                (
                    "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                    true,
                ),
            ])
            .collect();
        methods.sort_unstable_by(|a, b| by_length(a.0, b.0));
        Self(methods.into())
    }

    /// `package.Service/Method` of a gRPC request path the server knows, and whether it
    /// streams its responses.
    fn find(&self, path: &str) -> Option<(&'static str, bool)> {
        let route = path.strip_prefix('/')?;
        let index = self
            .0
            .binary_search_by(|(method, _)| by_length(method, route))
            .ok()?;
        Some(self.0[index])
    }
}

/// Shorter first, then by bytes: most comparisons end at the lengths.
fn by_length(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// The client's address, from tonic's or axum's connection info.
fn peer<B>(request: &Request<B>) -> Option<SocketAddr> {
    if let Some(info) = request
        .extensions()
        .get::<tonic::transport::server::TcpConnectInfo>()
    {
        return info.remote_addr();
    }
    if let Some(info) = request
        .extensions()
        .get::<tonic::transport::server::TlsConnectInfo<tonic::transport::server::TcpConnectInfo>>()
    {
        return info.get_ref().remote_addr();
    }
    request
        .extensions()
        .get::<axum::extract::ConnectInfo<SocketAddr>>()
        .map(|info| info.0)
}

/// The outcome the response head announces: the HTTP status, or for gRPC the
/// `grpc-status` of a trailers-only response (otherwise OK until the trailers say more).
fn head_outcome<B>(protocol: Protocol, response: &Response<B>) -> Outcome {
    match protocol {
        Protocol::Http => Outcome::Http(response.status()),
        Protocol::Grpc => Outcome::Grpc(grpc_status(response.headers()).unwrap_or(Code::Ok)),
    }
}

pub(crate) fn grpc_status(headers: &HeaderMap) -> Option<Code> {
    static GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
    // A response has a handful of headers: a scan is cheaper than hashing the name.
    let (_, value) = headers.iter().find(|(name, _)| **name == GRPC_STATUS)?;
    let value = value.as_bytes();
    if value.is_empty() || value.len() > 2 || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code = value
        .iter()
        .fold(0, |code, digit| code * 10 + i32::from(digit - b'0'));
    Some(Code::from(code))
}

/// What remains to be done when a request ends: close its span, log its line and count
/// it.
#[derive(Debug)]
struct Finish {
    protocol: Protocol,
    entry: Entry,
    /// The request's trace context: its SERVER span when sampled.
    context: opentelemetry::Context,
    /// The outcome known so far (from the response head).
    outcome: Outcome,
    /// Whether the response body may run the handler's code (a stream it returned),
    /// which then needs the request's context too.
    streams: bool,
    done: bool,
    /// Where the request is counted, if it is.
    metrics: Option<Recorder>,
}

impl Finish {
    const fn new(
        protocol: Protocol,
        entry: Entry,
        context: opentelemetry::Context,
        streams: bool,
    ) -> Self {
        Self {
            protocol,
            entry,
            context,
            outcome: Outcome::Cancelled,
            streams,
            done: false,
            metrics: None,
        }
    }

    /// Records `outcome` on the span, logs the access line inside the request's trace
    /// context, and ends the span.
    fn finish(&mut self, outcome: Outcome, aborted: bool) {
        if self.done {
            return;
        }
        self.done = true;
        let span = self.context.span();
        if span.is_recording() {
            record(&span, outcome);
        }
        self.entry.log(outcome, aborted, &self.context);
        if let Some(metrics) = &self.metrics {
            let latency = self.entry.started.elapsed();
            metrics.finished(&self.entry.method, &self.entry.route, outcome, latency);
        }
        span.end();
    }

    /// Names the request after the REST route template that served it.
    fn renamed(&mut self, template: &'static str) {
        self.entry.route = Route::Template(template);
        let span = self.context.span();
        if span.is_recording() {
            span.update_name(format!("{} {template}", self.entry.method));
            span.set_attribute(KeyValue::new(crate::otel::HTTP_ROUTE, template));
        }
    }

    /// The outcome of a request whose client went away before the response ended.
    const fn cancelled(&self) -> Outcome {
        match (self.protocol, self.outcome) {
            (Protocol::Grpc, _) => Outcome::Grpc(Code::Cancelled),
            (Protocol::Http, outcome) => outcome,
        }
    }

    /// Whether the response has no body to send, so that dropping it unread is its
    /// normal end: an answer to `HEAD`, or a status without content (1xx, 204, 304).
    fn has_no_body(&self) -> bool {
        match self.outcome {
            Outcome::Http(status) => {
                self.entry.method == http::Method::HEAD
                    || status.is_informational()
                    || status == http::StatusCode::NO_CONTENT
                    || status == http::StatusCode::NOT_MODIFIED
            }
            _ => false,
        }
    }
}

impl Drop for Finish {
    fn drop(&mut self) {
        if !self.done {
            if self.has_no_body() {
                let outcome = self.outcome;
                self.finish(outcome, false);
            } else {
                let outcome = self.cancelled();
                self.finish(outcome, true);
            }
        }
    }
}

fn record(span: &SpanRef<'_>, outcome: Outcome) {
    match outcome {
        Outcome::Grpc(code) => {
            span.set_attribute(KeyValue::new(
                "rpc.grpc.status_code",
                i64::from(i32::from(code)),
            ));
            if access_log::is_server_error(code) {
                span.set_status(Status::error(access_log::code_name(code)));
            }
        }
        Outcome::Http(status) => {
            span.set_attribute(KeyValue::new(
                "http.response.status_code",
                i64::from(status.as_u16()),
            ));
            if status.is_server_error() {
                span.set_status(Status::error(""));
            }
        }
        Outcome::Failed => span.set_status(Status::error("")),
        Outcome::Cancelled => {}
    }
}

pin_project_lite::pin_project! {
    /// A response body that finishes its request's span and access line when it ends:
    /// at the trailers or the end of the stream, or when it is dropped early (the client
    /// went away: `CANCELLED` for gRPC).
    pub struct ObservedBody<B> {
        #[pin]
        inner: B,
        finish: Option<Finish>,
    }
}

impl<B: Body> Body for ObservedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let mut inner = this.inner;
        // A stream the handler returned runs its code here: inside the request's context.
        let attached = this
            .finish
            .as_ref()
            .filter(|finish| finish.streams && !finish.done)
            .map(|finish| finish.context.clone().attach());
        let frame = inner.as_mut().poll_frame(cx);
        drop(attached);
        let frame = ready!(frame);
        if let Some(finish) = this.finish.as_mut() {
            match &frame {
                Some(Ok(frame)) => {
                    if let Some(trailers) = frame.trailers_ref() {
                        let outcome = match (finish.protocol, grpc_status(trailers)) {
                            (Protocol::Grpc, Some(code)) => Outcome::Grpc(code),
                            _ => finish.outcome,
                        };
                        finish.finish(outcome, false);
                    } else if inner.is_end_stream() {
                        // The server may not poll a finished body again.
                        let outcome = finish.outcome;
                        finish.finish(outcome, false);
                    }
                }
                Some(Err(_)) => {
                    let outcome = match finish.protocol {
                        Protocol::Grpc => Outcome::Grpc(Code::Unknown),
                        Protocol::Http => finish.outcome,
                    };
                    finish.finish(outcome, true);
                }
                None => {
                    let outcome = finish.outcome;
                    finish.finish(outcome, false);
                }
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
