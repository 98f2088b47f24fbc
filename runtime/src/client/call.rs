//! One call of a typed client, through the layers of [`TracedChannel`](super::TracedChannel),
//! outermost first:
//!
//! 1. **deadline**: the sooner of `timeout_ms`, the deadline of the request being served
//!    ([`deadline`](crate::deadline)) and the caller's own (`grpc-timeout` set on the
//!    tonic request); a call whose deadline has passed fails with DEADLINE_EXCEEDED
//!    without being sent, and every call ends by its deadline, retries included;
//! 2. **breaker**: adaptive throttling ([`Breaker`]), which fails a call with UNAVAILABLE,
//!    unsent, while the service rejects most of them;
//! 3. **retry**: tower's `Retry`, with [`RetryPolicy`]: within `max_attempts` and the
//!    retry budget, after a jittered exponential backoff;
//! 4. **attempt** ([`Attempt`]): what is left of the deadline as `grpc-timeout`, the trace
//!    context, and a CLIENT span per attempt when the trace is sampled;
//! 5. **balance** (tower's `Buffer` over [`Balancer`](super::balance::Balancer)), which
//!    sends the attempt to a replica ([`Replica`](super::balance::Replica)).
//!
//! The breaker is outside the retries so that it weighs calls, as their caller sees them,
//! not attempts; the deadline is outside everything so that it bounds them all.

use std::collections::VecDeque;
use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{Request, Response};
use http_body::{Body as _, Frame, SizeHint};
use opentelemetry::trace::TraceContextExt as _;
use tokio::time::Instant;
use tonic::body::Body;
use tonic::{Code, Status};
use tower::retry::budget::{Budget as _, TpsBudget};
use tower::util::rng::{HasherRng, Rng as _};
use tower::{BoxError, Service, ServiceExt as _};
use tracing::Instrument as _;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::balance::{AttemptSpan, Pool};
use super::breaker::{self, Breaker};
use crate::otel::RequestTracing;
use crate::telemetry::REQUEST_SPAN_TARGET;

/// The longest backoff before a retry.
pub const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// The largest request body kept to be sent again: the default `max_message_bytes`.
const MAX_REPLAY: usize = 4 << 20;

/// The balancer behind the queue that lets every clone of a client share it.
pub type Buffered = tower::buffer::Buffer<
    Request<Body>,
    <super::balance::Balancer as Service<Request<Body>>>::Future,
>;

/// What one client's calls share.
#[derive(Debug)]
pub struct Client {
    /// `[clients.<name>]`'s name.
    pub name: String,
    /// `timeout_ms` (none when 0).
    pub timeout: Option<Duration>,
    /// `max_attempts`.
    pub max_attempts: u32,
    /// The throttle (none when `breaker_k` is 0).
    pub breaker: Option<Arc<Breaker>>,
    /// The retry budget, which every call pays into.
    pub budget: Arc<TpsBudget>,
}

/// What a call's layers tell the ones below, in the request's extensions.
#[derive(Debug, Clone)]
struct CallInfo {
    /// When the call must have ended.
    deadline: Option<Instant>,
    /// The whole request body, when it can be sent again.
    replay: Option<Bytes>,
}

/// A call, through the deadline and the breaker, then `retry`.
pub async fn call(
    client: Arc<Client>,
    mut retry: tower::retry::Retry<RetryPolicy, Attempt>,
    mut request: Request<Body>,
    inherited: Option<Instant>,
) -> Result<Response<Body>, BoxError> {
    let now = Instant::now();
    let asked = crate::limits::grpc_timeout(request.headers()).map(|timeout| now + timeout);
    let deadline = [
        inherited,
        client.timeout.map(|timeout| now + timeout),
        asked,
    ]
    .into_iter()
    .flatten()
    .min();
    if deadline.is_some_and(|deadline| deadline <= now) {
        return Ok(answer(
            Code::DeadlineExceeded,
            "the deadline passed before the call was made",
        ));
    }
    if let Some(breaker) = &client.breaker
        && !breaker.allow()
    {
        return Ok(answer(
            Code::Unavailable,
            &format!(
                "[clients.{}] throttled: the service rejects most calls; not sent",
                client.name
            ),
        ));
    }
    let replay = if client.max_attempts > 1 {
        let (parts, body) = request.into_parts();
        let (body, replay) = replayable(body).await;
        request = Request::from_parts(parts, body);
        replay
    } else {
        None
    };
    client.budget.deposit();
    request
        .extensions_mut()
        .insert(CallInfo { deadline, replay });
    let attempts = async move { retry.ready().await?.call(request).await };
    let result = match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, attempts)
            .await
            .unwrap_or_else(|_| Ok(answer(Code::DeadlineExceeded, "the deadline passed"))),
        None => attempts.await,
    };
    let Some(breaker) = &client.breaker else {
        return result;
    };
    match result {
        Ok(response) => match crate::observe::grpc_status(response.headers()) {
            // Trailers-only: the call is over.
            Some(code) => {
                breaker.record(breaker::accepted(code));
                Ok(response)
            }
            // The status follows in the trailers.
            None => Ok(response.map(|body| {
                Body::new(Outcome {
                    inner: body,
                    breaker: Some(Arc::clone(breaker)),
                })
            })),
        },
        Err(error) => {
            breaker.record(false);
            Err(error)
        }
    }
}

/// A trailers-only answer of `code`, made here.
fn answer(code: Code, message: &str) -> Response<Body> {
    Status::new(code, message).into_http()
}

/// Whether the call failed before reaching any server: no connection could be made, or
/// the connection was going away before the call was sent on it. Such a call can be
/// tried again anywhere, whatever its method.
pub fn never_sent(error: &(dyn StdError + 'static)) -> bool {
    chain(error).any(|error| {
        error.is::<tonic::ConnectError>()
            || error
                .downcast_ref::<hyper::Error>()
                .is_some_and(hyper::Error::is_canceled)
            // A stream the server refused, or one past the last it processed when it
            // said, gracefully, that it was going away, never reached the service
            // (RFC 9113, 8.7). (A GOAWAY with an error may end streams it processed.)
            || error.downcast_ref::<h2::Error>().is_some_and(|error| {
                let reason = error.reason();
                reason == Some(h2::Reason::REFUSED_STREAM)
                    || (error.is_go_away()
                        && error.is_remote()
                        && reason == Some(h2::Reason::NO_ERROR))
            })
            || error.is::<tower::load_shed::error::Overloaded>()
            || error.is::<tower::buffer::error::Closed>()
            || error.is::<tower::buffer::error::ServiceError>()
    })
}

/// Whether the call failed because no connection could be made.
pub fn refused_connection(error: &(dyn StdError + 'static)) -> bool {
    chain(error).any(|error| error.is::<tonic::ConnectError>())
}

/// `error` and its sources.
fn chain<'a>(
    error: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(error), |&error| error.source())
}

/// Reads the frames of `body` that are ready now: when they are the whole body (the one
/// message of a unary or server-streaming call, a stream already complete), and at most
/// [`MAX_REPLAY`] bytes, also its bytes, to send again. A body still being produced (a
/// client stream) cannot be replayed: its call is never retried.
async fn replayable(mut body: Body) -> (Body, Option<Bytes>) {
    enum Next {
        Frame(Option<Result<Frame<Bytes>, Status>>),
        NotYet,
    }
    let mut frames = VecDeque::new();
    let mut size = 0;
    loop {
        let next = std::future::poll_fn(|cx| {
            Poll::Ready(match Pin::new(&mut body).poll_frame(cx) {
                Poll::Ready(frame) => Next::Frame(frame),
                Poll::Pending => Next::NotYet,
            })
        })
        .await;
        match next {
            Next::Frame(None) => {
                let bytes = concat(frames);
                let body = Prefixed::whole(bytes.clone());
                return (body, Some(bytes));
            }
            Next::Frame(Some(Ok(frame))) if frame.is_data() => {
                let data = frame.into_data().unwrap_or_default();
                size += data.len();
                frames.push_back(Ok(Frame::data(data)));
                if size > MAX_REPLAY {
                    return (Prefixed::body(frames, body), None);
                }
            }
            Next::Frame(Some(frame)) => {
                frames.push_back(frame);
                return (Prefixed::body(frames, body), None);
            }
            Next::NotYet => return (Prefixed::body(frames, body), None),
        }
    }
}

/// The data of `frames` (data frames only), in one buffer.
fn concat(frames: VecDeque<Result<Frame<Bytes>, Status>>) -> Bytes {
    let mut data = frames
        .into_iter()
        .filter_map(|frame| frame.ok()?.into_data().ok());
    let Some(first) = data.next() else {
        return Bytes::new();
    };
    let Some(second) = data.next() else {
        return first;
    };
    let mut all = BytesMut::from(first);
    all.extend_from_slice(&second);
    for more in data {
        all.extend_from_slice(&more);
    }
    all.freeze()
}

/// A request body: frames already read, then the rest of the body, if any.
struct Prefixed {
    frames: VecDeque<Result<Frame<Bytes>, Status>>,
    rest: Option<Body>,
}

impl Prefixed {
    /// A body of `bytes`, all of it.
    fn whole(bytes: Bytes) -> Body {
        let frames = if bytes.is_empty() {
            VecDeque::new()
        } else {
            VecDeque::from([Ok(Frame::data(bytes))])
        };
        Body::new(Self { frames, rest: None })
    }

    /// `frames` already read from `rest`, then what remains of it.
    fn body(frames: VecDeque<Result<Frame<Bytes>, Status>>, rest: Body) -> Body {
        if frames.is_empty() {
            return rest;
        }
        Body::new(Self {
            frames,
            rest: Some(rest),
        })
    }
}

impl http_body::Body for Prefixed {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        if let Some(frame) = self.frames.pop_front() {
            return Poll::Ready(Some(frame));
        }
        match &mut self.rest {
            Some(rest) => Pin::new(rest).poll_frame(cx),
            None => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.frames.is_empty() && self.rest.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        let ready: u64 = self
            .frames
            .iter()
            .filter_map(|frame| Some(frame.as_ref().ok()?.data_ref()?.len() as u64))
            .sum();
        let Some(rest) = &self.rest else {
            return SizeHint::with_exact(ready);
        };
        let rest = rest.size_hint();
        let mut hint = SizeHint::new();
        hint.set_lower(rest.lower() + ready);
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper + ready);
        }
        hint
    }
}

/// The delay before retry `retry` (1 for the first): "full jitter", as gRPC's retry
/// policy has it — uniformly random up to `base` · 2^(retry − 1), capped at
/// [`MAX_BACKOFF`]; `random` is in [0, 1).
#[must_use]
pub fn backoff(base: Duration, retry: u32, random: f64) -> Duration {
    let doubled = 2_u32.saturating_pow(retry.saturating_sub(1));
    let ceiling = base.saturating_mul(doubled).min(MAX_BACKOFF);
    ceiling.mul_f64(random.clamp(0.0, 1.0))
}

/// What every retry decision of a client weighs.
#[derive(Debug)]
pub struct RetrySettings {
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// The base of the backoff.
    pub backoff: Duration,
    /// The gRPC paths of the callee's idempotent methods.
    pub idempotent: &'static [&'static str],
    /// Withdrawn from at each retry.
    pub budget: Arc<TpsBudget>,
    /// The client's name, for the logs.
    pub name: String,
}

/// tower's retry policy for a client's calls: a call that never reached a server is tried
/// again on another replica (the one that failed it is ejected when it refuses
/// connections); one that did, only on UNAVAILABLE and only when its method is
/// idempotent. Within `max_attempts`, the budget and the deadline, after [`backoff`].
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    settings: Arc<RetrySettings>,
    /// Attempts made so far.
    attempts: u32,
}

impl RetryPolicy {
    /// The policy of a client.
    pub const fn new(settings: Arc<RetrySettings>) -> Self {
        Self {
            settings,
            attempts: 0,
        }
    }
}

impl tower::retry::Policy<Request<Body>, Response<Body>, BoxError> for RetryPolicy {
    type Future = tokio::time::Sleep;

    fn retry(
        &mut self,
        request: &mut Request<Body>,
        result: &mut Result<Response<Body>, BoxError>,
    ) -> Option<Self::Future> {
        self.attempts += 1;
        if self.attempts >= self.settings.max_attempts {
            return None;
        }
        let again = match result {
            Err(error) => never_sent(&**error),
            Ok(response) => {
                crate::observe::grpc_status(response.headers()) == Some(Code::Unavailable)
                    && self.settings.idempotent.contains(&request.uri().path())
            }
        };
        if !again {
            return None;
        }
        let delay = backoff(
            self.settings.backoff,
            self.attempts,
            HasherRng::default().next_f64(),
        );
        let deadline = request
            .extensions()
            .get::<CallInfo>()
            .and_then(|info| info.deadline);
        if deadline.is_some_and(|deadline| Instant::now() + delay >= deadline) {
            return None;
        }
        if !self.settings.budget.withdraw() {
            tracing::debug!(
                client = self.settings.name,
                "retry budget spent: not retrying"
            );
            return None;
        }
        Some(tokio::time::sleep(delay))
    }

    fn clone_request(&mut self, request: &Request<Body>) -> Option<Request<Body>> {
        let bytes = request.extensions().get::<CallInfo>()?.replay.clone()?;
        let mut clone = Request::new(Prefixed::whole(bytes));
        *clone.method_mut() = request.method().clone();
        *clone.uri_mut() = request.uri().clone();
        *clone.version_mut() = request.version();
        *clone.headers_mut() = request.headers().clone();
        *clone.extensions_mut() = request.extensions().clone();
        Some(clone)
    }
}

/// One attempt of a call: sent with what is left of its deadline (`grpc-timeout`) and the
/// trace context, in a CLIENT span of its own when the trace is sampled.
#[derive(Clone)]
pub struct Attempt {
    inner: Buffered,
    tracing: RequestTracing,
    pool: Arc<Pool>,
}

impl Attempt {
    /// Attempts through `inner`, the balancer of the replicas of `pool`.
    pub const fn new(inner: Buffered, tracing: RequestTracing, pool: Arc<Pool>) -> Self {
        Self {
            inner,
            tracing,
            pool,
        }
    }
}

/// The future of an [`Attempt`].
pub type AttemptFuture =
    Pin<Box<dyn Future<Output = Result<Response<Body>, BoxError>> + Send + 'static>>;

impl Service<Request<Body>> for Attempt {
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = AttemptFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        let deadline = request
            .extensions()
            .get::<CallInfo>()
            .and_then(|info| info.deadline);
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return ready(answer(Code::DeadlineExceeded, "the deadline passed"));
            }
            request.headers_mut().insert(
                http::HeaderName::from_static("grpc-timeout"),
                crate::limits::encode_grpc_timeout(left),
            );
        }
        if self.pool.is_empty() {
            let message = format!(
                "[clients.{}]: no replica to call (the endpoint resolves to no address)",
                self.pool.name
            );
            return ready(answer(Code::Unavailable, &message));
        }
        let current = opentelemetry::Context::current();
        if !current.span().span_context().is_sampled() {
            // Not recorded here: the callee still learns the trace id and the decision.
            self.tracing.inject(&current, request.headers_mut());
            return Box::pin(self.inner.call(request));
        }
        let route = request.uri().path().trim_start_matches('/');
        let (service, method) = route.split_once('/').unwrap_or((route, ""));
        let span = tracing::info_span!(
            target: REQUEST_SPAN_TARGET,
            "grpc.client",
            otel.name = route,
            otel.kind = "client",
            otel.status_code = Empty,
            rpc.system = "grpc",
            rpc.service = service,
            rpc.method = method,
            rpc.grpc.status_code = Empty,
            server.address = Empty,
            server.port = Empty,
        );
        self.tracing.inject(&span.context(), request.headers_mut());
        request.extensions_mut().insert(AttemptSpan(span.clone()));
        let response = self.inner.call(request);
        Box::pin(
            async move {
                let response = response.await;
                let span = tracing::Span::current();
                let code = match &response {
                    // A call that fails before its first message has the status in its
                    // headers; otherwise it follows in the trailers and the call started OK.
                    Ok(response) => {
                        crate::observe::grpc_status(response.headers()).unwrap_or(Code::Ok)
                    }
                    Err(_) => Code::Unavailable,
                };
                span.record("rpc.grpc.status_code", i32::from(code));
                if code != Code::Ok {
                    span.record("otel.status_code", "ERROR");
                }
                response
            }
            .instrument(span),
        )
    }
}

/// An attempt answered here, without a call.
fn ready(response: Response<Body>) -> AttemptFuture {
    Box::pin(std::future::ready(Ok(response)))
}

/// A response body that tells the breaker how the call ended: with the status of its
/// trailers, or failed when the body breaks; a body dropped before its end (its caller
/// stopped reading) counts as accepted.
struct Outcome {
    inner: Body,
    breaker: Option<Arc<Breaker>>,
}

impl Outcome {
    fn ended(&mut self, accepted: bool) {
        if let Some(breaker) = self.breaker.take() {
            breaker.record(accepted);
        }
    }
}

impl Drop for Outcome {
    fn drop(&mut self) {
        self.ended(true);
    }
}

impl http_body::Body for Outcome {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let frame = std::task::ready!(Pin::new(&mut self.inner).poll_frame(cx));
        match &frame {
            Some(Ok(frame)) => {
                if let Some(trailers) = frame.trailers_ref() {
                    let code = crate::observe::grpc_status(trailers).unwrap_or(Code::Unknown);
                    self.ended(breaker::accepted(code));
                }
            }
            Some(Err(_)) => self.ended(false),
            None => self.ended(true),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_with_full_jitter_up_to_its_cap() {
        let base = Duration::from_millis(25);
        for (retry, ceiling) in [(1, 25), (2, 50), (3, 100), (4, 200), (6, 800), (7, 1000)] {
            let ceiling = Duration::from_millis(ceiling);
            assert_eq!(backoff(base, retry, 0.0), Duration::ZERO);
            assert_eq!(backoff(base, retry, 0.5), ceiling / 2, "retry {retry}");
            let almost = backoff(base, retry, 0.999_999);
            assert!(
                almost < ceiling && almost > ceiling.mul_f64(0.99),
                "{almost:?}"
            );
        }
        // Capped, however many retries; none without a base.
        assert_eq!(backoff(base, 40, 0.5), MAX_BACKOFF / 2);
        assert_eq!(backoff(base, u32::MAX, 0.5), MAX_BACKOFF / 2);
        assert_eq!(backoff(Duration::ZERO, 3, 0.7), Duration::ZERO);
        // Random in [0, 1): spread over the whole range.
        let mut rng = HasherRng::default();
        let delays: Vec<Duration> = (0..1000)
            .map(|_| backoff(base, 2, rng.next_f64()))
            .collect();
        assert!(
            delays
                .iter()
                .all(|delay| *delay < Duration::from_millis(50))
        );
        assert!(
            delays
                .iter()
                .any(|delay| *delay < Duration::from_millis(10))
        );
        assert!(
            delays
                .iter()
                .any(|delay| *delay > Duration::from_millis(40))
        );
    }

    #[tokio::test]
    async fn a_body_ready_at_once_is_kept_to_be_sent_again_and_a_stream_is_not() {
        use http_body_util::BodyExt as _;

        // A unary call's body: its message, whole.
        let message = Bytes::from_static(b"\0\0\0\0\x05hello");
        let (body, replay) = replayable(Prefixed::whole(message.clone())).await;
        assert_eq!(replay.as_ref(), Some(&message));
        assert_eq!(body.collect().await.unwrap().to_bytes(), message);

        // A client stream whose messages are still to come: sent as it comes, never again.
        let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, Status>>(2);
        sender
            .send(Ok(Frame::data(Bytes::from_static(b"one"))))
            .await
            .unwrap();
        let stream =
            http_body_util::StreamBody::new(tokio_stream::wrappers::ReceiverStream::new(receiver));
        let (body, replay) = replayable(Body::new(stream)).await;
        assert_eq!(replay, None);
        sender
            .send(Ok(Frame::data(Bytes::from_static(b"two"))))
            .await
            .unwrap();
        drop(sender);
        assert_eq!(body.collect().await.unwrap().to_bytes(), "onetwo");
    }
}
