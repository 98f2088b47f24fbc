//! The deadline of the request being served, which the calls it makes to other services
//! inherit: the clients of [`client`](crate::client) send what is left of it as
//! `grpc-timeout` (capped by their own `timeout_ms`) and fail a call at once, with
//! DEADLINE_EXCEEDED, when nothing is left.
//!
//! The servers set it for each request (`server.request_timeout_ms`, or a gRPC caller's
//! shorter `grpc-timeout`) around the handler's future, in a task-local value: code that
//! runs in the handler's task sees it; a task the handler spawns does not, unless it is
//! given it with [`scope`] — as it is given the trace context with
//! `opentelemetry::context::FutureExt::with_current_context`:
//!
//! ```no_run
//! # async fn fan_out(work: impl std::future::Future<Output = ()> + Send + 'static) {
//! use svcgen_runtime::deadline;
//!
//! tokio::spawn(deadline::scope(deadline::current(), work));
//! # }
//! ```
//!
//! A server-streaming or bidirectional handler's stream runs after the handler returned,
//! outside it: calls made by the stream's code get their client's `timeout_ms` only.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

tokio::task_local! {
    /// The deadline of the request whose handler runs in this task, if it has one.
    pub(crate) static DEADLINE: Option<Instant>;
}

/// The deadline of the request being served by the current task, if it has one.
#[must_use]
pub fn current() -> Option<Instant> {
    DEADLINE.try_with(|deadline| *deadline).ok().flatten()
}

/// What is left of the deadline of the request being served (zero once it has passed),
/// if it has one.
#[must_use]
pub fn remaining() -> Option<Duration> {
    current().map(|deadline| deadline.saturating_duration_since(Instant::now()))
}

/// Runs `future` with `deadline` (`None`: without one) as the deadline of the request it
/// serves: for a task spawned by a handler, or for code that calls other services
/// outside any request.
pub fn scope<F: Future>(deadline: Option<Instant>, future: F) -> impl Future<Output = F::Output> {
    DEADLINE.scope(deadline, future)
}
