//! What keeps one request, or a flood of them, from taking the service down: a deadline
//! per request, a bound on the requests served at once beyond which new ones are shed,
//! and a handler's panic turned into an error answer while the server goes on.
//!
//! The layers are tower's and tower-http's (`LoadShed`, `GlobalConcurrencyLimit`,
//! `CatchPanic`, `RequestBodyLimit`); [`LimitsLayer`] applies the deadline and answers
//! what they refuse in the protocol of the server: a gRPC status (trailers-only) or an
//! HTTP status with a JSON body. The deadline is the runtime's own because a caller's
//! `grpc-timeout` must shorten it, and tonic's server timeout answers CANCELLED where
//! gRPC says DEADLINE_EXCEEDED. The handler's task knows the deadline
//! ([`deadline`](crate::deadline)), so that the calls it makes to other services inherit
//! what is left of it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use pin_project_lite::pin_project;
use tonic::Code;
use tower::layer::util::{Identity, Stack};
use tower::{BoxError, Layer, Service};
use tower_http::catch_panic::CatchPanicLayer;

use crate::access_log::Protocol;

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// The deadline passed.
    Deadline,
    /// Too many requests at once.
    Shed,
    /// The handler panicked.
    Panic,
    /// Another failure of a layer.
    Failed,
}

impl Refusal {
    fn of(error: &BoxError) -> Self {
        if error.is::<tower::load_shed::error::Overloaded>() {
            Self::Shed
        } else {
            Self::Failed
        }
    }

    const fn grpc(self) -> (Code, &'static str) {
        match self {
            Self::Deadline => (Code::DeadlineExceeded, "the deadline passed"),
            Self::Shed => (
                Code::ResourceExhausted,
                "the service is overloaded; retry later",
            ),
            Self::Panic => (Code::Internal, "the handler failed"),
            Self::Failed => (Code::Internal, "the request failed"),
        }
    }

    const fn http(self) -> StatusCode {
        match self {
            Self::Deadline => StatusCode::GATEWAY_TIMEOUT,
            Self::Shed => StatusCode::SERVICE_UNAVAILABLE,
            Self::Panic | Self::Failed => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The answer to a refused request, in the protocol of its server.
fn refusal(protocol: Protocol, refusal: Refusal) -> Response<Body> {
    let (code, message) = refusal.grpc();
    match protocol {
        Protocol::Grpc => tonic::Status::new(code, message).into_http(),
        Protocol::Http => {
            let body = serde_json::json!({
                "code": i32::from(code),
                "message": message,
                "details": [],
            });
            let mut response = Response::new(Body::from(body.to_string()));
            *response.status_mut() = refusal.http();
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            response
        }
    }
}

/// The answer to a handler's panic: INTERNAL, or 500. The panic is logged (inside the
/// request's trace context, so with its trace id); the server goes on serving.
#[derive(Debug, Clone, Copy)]
pub struct PanicResponse(pub Protocol);

impl tower_http::catch_panic::ResponseForPanic for PanicResponse {
    type ResponseBody = Body;

    fn response_for_panic(
        &mut self,
        panic: Box<dyn std::any::Any + Send + 'static>,
    ) -> Response<Self::ResponseBody> {
        let message = panic
            .downcast_ref::<&str>()
            .map(|text| (*text).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned());
        tracing::error!(panic = message, "the handler panicked");
        refusal(self.0, Refusal::Panic)
    }
}

/// The layers of [`Shared::layers`].
pub type Layers = tower::ServiceBuilder<
    Stack<
        tower::limit::GlobalConcurrencyLimitLayer,
        Stack<
            tower::load_shed::LoadShedLayer,
            Stack<CatchPanicLayer<PanicResponse>, Stack<LimitsLayer, Identity>>,
        >,
    >,
>;

/// The limits both servers share: one bound on the requests handled at once.
#[derive(Debug, Clone)]
pub struct Shared {
    /// The request deadline.
    pub timeout: Duration,
    /// Permits for the requests handled at once.
    pub permits: Arc<tokio::sync::Semaphore>,
}

impl Shared {
    /// The limits `[server]` sets.
    #[must_use]
    pub fn new(config: &crate::config::ServerConfig) -> Self {
        let permits = match config.max_concurrent_requests {
            0 => tokio::sync::Semaphore::MAX_PERMITS,
            bound => bound,
        };
        Self {
            timeout: Duration::from_millis(config.request_timeout_ms),
            permits: Arc::new(tokio::sync::Semaphore::new(permits)),
        }
    }

    /// The layers of a server of `protocol`, outermost first: the deadline and the
    /// answers to refusals, a handler's panic caught, new requests shed beyond the
    /// bound.
    pub fn layers(&self, protocol: Protocol) -> Layers {
        tower::ServiceBuilder::new()
            .layer(LimitsLayer::new(protocol, self.timeout))
            .layer(CatchPanicLayer::custom(PanicResponse(protocol)))
            .load_shed()
            .layer(tower::limit::GlobalConcurrencyLimitLayer::with_semaphore(
                Arc::clone(&self.permits),
            ))
    }
}

/// The deadline of requests and the answers to what the layers inside refuse.
#[derive(Debug, Clone, Copy)]
pub struct LimitsLayer {
    protocol: Protocol,
    /// The longest a request may take; a gRPC caller's `grpc-timeout` may shorten it.
    timeout: Option<Duration>,
}

impl LimitsLayer {
    /// For the server of `protocol`, requests taking at most `timeout` (none when zero).
    #[must_use]
    pub fn new(protocol: Protocol, timeout: Duration) -> Self {
        Self {
            protocol,
            timeout: (!timeout.is_zero()).then_some(timeout),
        }
    }
}

impl<S> Layer<S> for LimitsLayer {
    type Service = Limits<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Limits {
            inner,
            layer: *self,
        }
    }
}

/// The service of [`LimitsLayer`].
#[derive(Debug, Clone)]
pub struct Limits<S> {
    inner: S,
    layer: LimitsLayer,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Limits<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: Into<BoxError>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = std::convert::Infallible;
    type Future = LimitsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Readiness is the concurrency limit's, which is shed rather than waited for:
        // an error here is answered by `call`.
        match self.inner.poll_ready(cx) {
            Poll::Ready(_) => Poll::Ready(Ok(())),
            Poll::Pending => Poll::Pending,
        }
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let timeout = match self.layer.protocol {
            Protocol::Grpc => grpc_timeout(request.headers())
                .map(|asked| self.layer.timeout.map_or(asked, |cap| asked.min(cap)))
                .or(self.layer.timeout),
            Protocol::Http => self.layer.timeout,
        };
        let deadline = timeout.map(|timeout| tokio::time::Instant::now() + timeout);
        LimitsFuture {
            // The handler runs in this future: it, and the clients it calls, know the
            // deadline.
            inner: crate::deadline::DEADLINE.scope(deadline, self.inner.call(request)),
            sleep: deadline.map(|deadline| Box::pin(tokio::time::sleep_until(deadline))),
            protocol: self.layer.protocol,
        }
    }
}

pin_project! {
    /// The future of [`Limits`].
    pub struct LimitsFuture<F> {
        #[pin]
        inner: tokio::task::futures::TaskLocalFuture<Option<tokio::time::Instant>, F>,
        sleep: Option<Pin<Box<tokio::time::Sleep>>>,
        protocol: Protocol,
    }
}

impl<F, B, E> Future for LimitsFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    E: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Output = Result<Response<Body>, std::convert::Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(result) = this.inner.poll(cx) {
            return Poll::Ready(Ok(match result {
                Ok(response) => response.map(Body::new),
                Err(error) => refusal(*this.protocol, Refusal::of(&error.into())),
            }));
        }
        if let Some(sleep) = this.sleep
            && sleep.as_mut().poll(cx).is_ready()
        {
            return Poll::Ready(Ok(refusal(*this.protocol, Refusal::Deadline)));
        }
        Poll::Pending
    }
}

/// A gRPC caller's deadline, from its `grpc-timeout` header (`<digits><unit>`, the unit
/// one of `H`, `M`, `S`, `m`, `u`, `n`).
pub(crate) fn grpc_timeout(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get("grpc-timeout")?.to_str().ok()?;
    let (digits, unit) = value.split_at(value.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// `timeout` as a `grpc-timeout` header value: in the finest unit whose count fits the
/// eight digits the spec allows, truncated: it never promises more time than there is.
pub(crate) fn encode_grpc_timeout(timeout: Duration) -> http::HeaderValue {
    const MAX: u128 = 99_999_999;
    let nanos = timeout.as_nanos();
    let (amount, unit) = [
        (1, 'n'),
        (1_000, 'u'),
        (1_000_000, 'm'),
        (1_000_000_000, 'S'),
        (60_000_000_000, 'M'),
    ]
    .into_iter()
    .map(|(per, unit)| (nanos / per, unit))
    .find(|(amount, _)| *amount <= MAX)
    .unwrap_or((MAX.min(nanos / 3_600_000_000_000), 'H'));
    let mut text = itoa::Buffer::new().format(amount).to_owned();
    text.push(unit);
    http::HeaderValue::from_str(&text).expect("digits and a letter")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_are_written_in_the_finest_unit_that_fits() {
        for (timeout, expected) in [
            (Duration::from_nanos(999), "999n"),
            (Duration::from_millis(50), "50000000n"),
            (Duration::from_millis(250), "250000u"),
            (Duration::from_secs(5), "5000000u"),
            (Duration::from_secs(100), "100000m"),
            (Duration::from_secs(200_000), "200000S"),
            (Duration::from_secs(86_400 * 365 * 400), "3504000H"),
        ] {
            let written = encode_grpc_timeout(timeout);
            assert_eq!(written, expected, "{timeout:?}");
            let mut headers = HeaderMap::new();
            headers.insert("grpc-timeout", written);
            let read = grpc_timeout(&headers).expect("readable");
            assert!(read <= timeout, "{timeout:?}");
            assert!(timeout - read < Duration::from_secs(3600), "{timeout:?}");
        }
        assert_eq!(encode_grpc_timeout(Duration::MAX), "99999999H");
    }

    #[test]
    fn grpc_timeouts_are_read_as_the_spec_writes_them() {
        let mut headers = HeaderMap::new();
        for (value, expected) in [
            ("1H", Some(Duration::from_secs(3600))),
            ("2M", Some(Duration::from_secs(120))),
            ("3S", Some(Duration::from_secs(3))),
            ("250m", Some(Duration::from_millis(250))),
            ("7u", Some(Duration::from_micros(7))),
            ("9n", Some(Duration::from_nanos(9))),
            ("S", None),
            ("123456789S", None),
            ("5x", None),
        ] {
            headers.insert("grpc-timeout", value.parse().unwrap());
            assert_eq!(grpc_timeout(&headers), expected, "{value}");
        }
    }
}
