//! Tracing helpers for handlers: child spans, errors on spans, the current trace id.
//!
//! ```no_run
//! # async fn handler() -> Result<(), tonic::Status> {
//! use svcgen_runtime::trace;
//!
//! let rows = trace::in_span("load rows", async { Ok::<_, tonic::Status>(3) }).await?;
//! if rows == 0 {
//!     let error = tonic::Status::not_found("no rows");
//!     trace::record_error(&error);
//!     tracing::warn!(trace_id = trace::current_trace_id(), "nothing found");
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Outside a sampled request these cost next to nothing: no OpenTelemetry span exists.

use std::fmt::Display;
use std::future::Future;

use opentelemetry::KeyValue;
use opentelemetry::trace::{Status, TraceContextExt as _};
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The target of the spans these helpers open: exported whenever their request is
/// sampled, whatever the log level says of the runtime's own targets (the service's
/// directives, such as `warn,my_service=info`, name its crate, not this one).
pub(crate) const SPAN_TARGET: &str = "svcgen_runtime::trace";

/// A child span of the current span, named `name` in the trace.
#[must_use]
pub fn span(name: &str) -> tracing::Span {
    tracing::info_span!(target: SPAN_TARGET, "span", otel.name = name)
}

/// Runs `future` inside a child span named `name`.
pub async fn in_span<F: Future>(name: &str, future: F) -> F::Output {
    future.instrument(span(name)).await
}

/// Runs `f` inside a child span named `name`.
pub fn in_span_sync<T>(name: &str, f: impl FnOnce() -> T) -> T {
    span(name).in_scope(f)
}

/// Marks the current span as failed with `error` (status ERROR and an `exception` event):
/// the innermost `tracing` span, else the request's SERVER span.
pub fn record_error<E: Display + ?Sized>(error: &E) {
    let span = tracing::Span::current();
    let message = error.to_string();
    let event = vec![KeyValue::new("exception.message", message.clone())];
    if span.is_none() {
        opentelemetry::Context::map_current(|cx| {
            let span = cx.span();
            span.add_event("exception", event);
            span.set_status(Status::error(message));
        });
    } else {
        span.add_event("exception", event);
        span.set_status(Status::error(message));
    }
}

/// The trace id of the request being handled, as 32 lower-case hex digits.
///
/// Set for every request, sampled or not: it is the caller's trace id when the caller
/// sent one.
#[must_use]
pub fn current_trace_id() -> Option<String> {
    opentelemetry::Context::map_current(|cx| {
        let span = cx.span();
        let context = span.span_context();
        context.is_valid().then(|| context.trace_id().to_string())
    })
}

/// The id of the current span, as 16 lower-case hex digits.
#[must_use]
pub fn current_span_id() -> Option<String> {
    opentelemetry::Context::map_current(|cx| {
        let span = cx.span();
        let context = span.span_context();
        context.is_valid().then(|| context.span_id().to_string())
    })
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::{TraceContextExt as _, Tracer as _, TracerProvider as _};
    use opentelemetry_sdk::trace::SdkTracerProvider;

    use super::*;
    use crate::otel::testing::Recorded;

    #[test]
    fn an_error_is_recorded_on_the_request_span_when_no_tracing_span_is_current() {
        let recorded = Recorded::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(recorded.clone())
            .build();
        let tracer = provider.tracer("test");
        let context = opentelemetry::Context::current_with_span(tracer.start("server"));
        {
            let _attached = context.clone().attach();
            record_error("no rows");
        }
        context.span().end();
        let spans = recorded.spans();
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].status, Status::error("no rows"));
        assert!(
            spans[0]
                .events
                .iter()
                .any(|event| event.name == "exception"),
            "{:?}",
            spans[0].events
        );
    }
}
