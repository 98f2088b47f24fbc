//! One log line per request, for both servers (target `access`): method or route,
//! status, latency and peer. Written by [`crate::observe`] when the response ends.

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::MatchedPath;
use http::uri::PathAndQuery;
use http::{Method, StatusCode};
use tonic::Code;

use crate::log_format::{DirectJson, LineFields};
use crate::telemetry::ACCESS_TARGET;

/// Which server a request came to; it decides how the status is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// gRPC: the status is the `grpc-status` code.
    Grpc,
    /// Plain HTTP: the status is the HTTP status.
    Http,
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A gRPC call ended with this status (from the headers or the trailers).
    Grpc(Code),
    /// An HTTP request was answered with this status.
    Http(StatusCode),
    /// The server failed before producing a response.
    Failed,
    /// The client went away before a response was produced.
    Cancelled,
}

/// What a request is logged and traced as.
#[derive(Debug, Clone)]
pub enum Route {
    /// A gRPC method the server knows: `package.Service/Method`.
    Grpc(&'static str),
    /// A gRPC request for a path the server does not serve.
    UnknownGrpc(PathAndQuery),
    /// An HTTP request that matched this route template.
    Matched(MatchedPath),
    /// An HTTP request transcoded to an rpc by the REST route of this template.
    Template(&'static str),
    /// An HTTP request that matched no route: its path.
    Path(PathAndQuery),
}

impl Route {
    /// `package.Service/Method` for gRPC (the path without its first `/`); the route
    /// template, or the path when no route matched, for HTTP.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Grpc(method) => method,
            Self::UnknownGrpc(path) => path.path().strip_prefix('/').unwrap_or(path.path()),
            Self::Matched(matched) => matched.as_str(),
            Self::Template(template) => template,
            Self::Path(path) => path.path(),
        }
    }

    /// Whether [`Route::as_str`] is the service's own text that needs no escaping in
    /// JSON: a proto's names. (A route template is the user's: it may hold anything.)
    #[must_use]
    pub const fn is_own(&self) -> bool {
        matches!(self, Self::Grpc(_))
    }
}

/// What the access line says about a request, gathered when it arrives.
#[derive(Debug)]
pub struct Entry {
    /// The HTTP method.
    pub method: Method,
    /// What the request is logged as.
    pub route: Route,
    /// The client's address, when known.
    pub peer: Option<SocketAddr>,
    /// When the request arrived.
    pub started: Instant,
}

impl Entry {
    /// Logs the access line of a request that ended with `outcome`; `aborted` when the
    /// client went away before the response was complete.
    /// `context` is the request's trace context, whose ids the line carries.
    pub fn log(&self, outcome: Outcome, aborted: bool, context: &opentelemetry::Context) {
        let latency_us = || u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let method = self.route.as_str();
        let written = match outcome {
            Outcome::Grpc(code) => write_direct(
                context,
                grpc_severity(code).level(),
                "grpc call",
                |fields| {
                    fields.route("method", &self.route);
                    fields.trusted_str("status", code_name(code));
                    fields.u64("latency_us", latency_us());
                    if let Some(peer) = self.peer {
                        fields.addr("peer", peer);
                    }
                    fields.bool("aborted", aborted);
                },
            ),
            Outcome::Http(status) => write_direct(
                context,
                http_severity(status).level(),
                "http request",
                |fields| {
                    fields.trusted_str("method", self.method.as_str());
                    fields.route("route", &self.route);
                    fields.u64("status", u64::from(status.as_u16()));
                    fields.u64("latency_us", latency_us());
                    if let Some(peer) = self.peer {
                        fields.addr("peer", peer);
                    }
                    fields.bool("aborted", aborted);
                },
            ),
            Outcome::Failed | Outcome::Cancelled => false,
        };
        if written || !self.enabled(outcome) {
            return;
        }
        // The event's formatters read the trace ids from the current context.
        let _attached = context.clone().attach();
        let latency_us = latency_us();
        let peer = self.peer.map(|peer| peer.to_string());
        let peer = peer.as_deref();
        let http_method = self.method.as_str();
        match outcome {
            Outcome::Grpc(code) => {
                let status = code_name(code);
                match grpc_severity(code) {
                    Severity::Error => {
                        tracing::error!(target: ACCESS_TARGET, method, status, latency_us, peer, aborted, "grpc call");
                    }
                    Severity::Warn => {
                        tracing::warn!(target: ACCESS_TARGET, method, status, latency_us, peer, aborted, "grpc call");
                    }
                    Severity::Info => {
                        tracing::info!(target: ACCESS_TARGET, method, status, latency_us, peer, aborted, "grpc call");
                    }
                }
            }
            Outcome::Http(status) => {
                let severity = http_severity(status);
                let status = status.as_u16();
                match severity {
                    Severity::Error => {
                        tracing::error!(target: ACCESS_TARGET, method = http_method, route = method, status, latency_us, peer, aborted, "http request");
                    }
                    Severity::Warn => {
                        tracing::warn!(target: ACCESS_TARGET, method = http_method, route = method, status, latency_us, peer, aborted, "http request");
                    }
                    Severity::Info => {
                        tracing::info!(target: ACCESS_TARGET, method = http_method, route = method, status, latency_us, peer, aborted, "http request");
                    }
                }
            }
            Outcome::Failed => {
                tracing::error!(target: ACCESS_TARGET, method = http_method, route = method, latency_us, peer, "request failed before a response");
            }
            Outcome::Cancelled => {
                tracing::info!(target: ACCESS_TARGET, method = http_method, route = method, latency_us, peer, "request cancelled before a response");
            }
        }
    }

    /// Whether the `tracing` event of `outcome` may be written (so that an access log
    /// disabled by the maximum level costs nothing more; a target directive such as
    /// `access=off` is applied after this, by the sinks' filters).
    fn enabled(&self, outcome: Outcome) -> bool {
        let severity = match outcome {
            Outcome::Grpc(code) => grpc_severity(code),
            Outcome::Http(status) => http_severity(status),
            Outcome::Failed => Severity::Error,
            Outcome::Cancelled => Severity::Info,
        };
        match severity {
            Severity::Error => tracing::enabled!(target: ACCESS_TARGET, tracing::Level::ERROR),
            Severity::Warn => tracing::enabled!(target: ACCESS_TARGET, tracing::Level::WARN),
            Severity::Info => tracing::enabled!(target: ACCESS_TARGET, tracing::Level::INFO),
        }
    }
}

/// The level of an HTTP access line: ERROR for a server error, WARN for 503 Service
/// Unavailable (a service that says it cannot serve now — a draining one's `/readyz` —
/// like gRPC's UNAVAILABLE), INFO otherwise.
fn http_severity(status: StatusCode) -> Severity {
    if status == StatusCode::SERVICE_UNAVAILABLE {
        Severity::Warn
    } else if status.is_server_error() {
        Severity::Error
    } else {
        Severity::Info
    }
}

/// Writes an access line straight to the JSON sinks of the current pipeline, when all
/// of its sinks write JSON (see [`DirectJson`]) and their levels enable it; `false` when
/// the line must go through a `tracing` event instead. One look at the dispatcher, and
/// the level decided when the pipeline was built.
fn write_direct(
    context: &opentelemetry::Context,
    level: &tracing::Level,
    message: &'static str,
    fields: impl FnOnce(&mut LineFields<'_>),
) -> bool {
    let mut fields = Some(fields);
    tracing::dispatcher::get_default(|dispatch| {
        dispatch.downcast_ref::<DirectJson>().is_some_and(|direct| {
            if direct.access_enabled(level)
                && let Some(fields) = fields.take()
            {
                direct.write(context, level, ACCESS_TARGET, message, fields);
            }
            true
        })
    })
}

/// The level of a gRPC access line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Severity {
    Info,
    Warn,
    Error,
}

impl Severity {
    const fn level(self) -> &'static tracing::Level {
        match self {
            Self::Info => &tracing::Level::INFO,
            Self::Warn => &tracing::Level::WARN,
            Self::Error => &tracing::Level::ERROR,
        }
    }
}

fn grpc_severity(code: Code) -> Severity {
    match code {
        Code::Internal | Code::Unknown | Code::DataLoss => Severity::Error,
        Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted => Severity::Warn,
        _ => Severity::Info,
    }
}

/// Whether a gRPC status makes a server span an error (OpenTelemetry semantic conventions).
#[must_use]
pub const fn is_server_error(code: Code) -> bool {
    matches!(
        code,
        Code::Unknown
            | Code::DeadlineExceeded
            | Code::Unimplemented
            | Code::Internal
            | Code::Unavailable
            | Code::DataLoss
    )
}

/// The canonical name of a gRPC status code, e.g. `INVALID_ARGUMENT`.
#[must_use]
pub const fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}
