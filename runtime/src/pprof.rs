//! CPU profiles on demand (`[debug] pprof = true`): `GET /debug/pprof/profile?seconds=N`
//! on the HTTP port samples the whole process (every thread, SIGPROF at 100 Hz) for N
//! seconds (1 to 60, 30 when not given) and answers the profile in pprof's format: a
//! gzipped `perftools.profiles.Profile` protobuf, which `go tool pprof` and speedscope
//! read, e.g. `go tool pprof -http=: http://127.0.0.1:8080/debug/pprof/profile?seconds=10`.
//!
//! The route does not exist when the switch is off (404, as any unknown path): a
//! development tool, which anyone reaching the port could use to slow the service down.
//! One profile at a time per process (a second one is answered 409). The response head
//! is sent at once and the profile follows at the end of the sampling, so the request
//! deadline (`server.request_timeout_ms`) does not bound N.

use axum::Router;
use axum::routing::get;
use serde::{Deserialize, Serialize};

/// `[debug]`: development tools, all off by default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DebugConfig {
    /// Whether `GET /debug/pprof/profile?seconds=N` serves CPU profiles.
    pub pprof: bool,
}

/// The path of the profiles.
pub const PROFILE_PATH: &str = "/debug/pprof/profile";

/// The longest profile, in seconds.
pub const MAX_SECONDS: u64 = 60;

/// The length of a profile whose request gives none, in seconds (as Go's).
const DEFAULT_SECONDS: u64 = 30;

/// `GET /debug/pprof/profile`.
pub fn routes<T: Clone + Send + Sync + 'static>() -> Router<T> {
    Router::new().route(PROFILE_PATH, get(profile::serve))
}

/// The length of the profile that `query` asks for.
fn seconds(query: Option<&str>) -> Result<u64, String> {
    let asked = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(name, _)| name == "seconds")
        .map(|(_, value)| value.into_owned());
    let Some(asked) = asked else {
        return Ok(DEFAULT_SECONDS);
    };
    match asked.parse::<u64>() {
        Ok(seconds) if (1..=MAX_SECONDS).contains(&seconds) => Ok(seconds),
        _ => Err(format!(
            "seconds={asked:?}: a whole number of seconds from 1 to {MAX_SECONDS}"
        )),
    }
}

#[cfg(unix)]
mod profile {
    use std::io::{self, Write as _};
    use std::time::{Duration, Instant};

    use axum::body::Body;
    use axum::extract::RawQuery;
    use axum::response::{IntoResponse as _, Response};
    use bytes::Bytes;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use http::StatusCode;
    use http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
    use pprof::protos::Message as _;
    use tokio::sync::{mpsc, oneshot};

    /// Samples per second (Go's rate).
    const FREQUENCY: i32 = 100;

    /// How often the sampling thread checks whether the client is still there.
    const POLL: Duration = Duration::from_millis(100);

    /// Why a profile could not be started.
    enum Refused {
        Busy,
        Failed(String),
    }

    pub(super) async fn serve(RawQuery(query): RawQuery) -> Response {
        let seconds = match super::seconds(query.as_deref()) {
            Ok(seconds) => seconds,
            Err(problem) => {
                return (StatusCode::BAD_REQUEST, format!("{problem}\n")).into_response();
            }
        };
        let (started, started_rx) = oneshot::channel();
        let (body, body_rx) = mpsc::channel(1);
        // The sampling is the kernel's and the signal handler's: this thread only waits,
        // then symbolizes and encodes.
        tokio::task::spawn_blocking(move || sample(Duration::from_secs(seconds), started, &body));
        match started_rx.await {
            Ok(Ok(())) => {}
            Ok(Err(Refused::Busy)) => {
                return (
                    StatusCode::CONFLICT,
                    "a profile is being taken already: ask again when it is done\n",
                )
                    .into_response();
            }
            Ok(Err(Refused::Failed(error))) => {
                tracing::warn!(%error, "cannot start the CPU profiler");
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("cannot start the CPU profiler: {error}\n"),
                )
                    .into_response();
            }
            Err(_) => {
                return (StatusCode::INTERNAL_SERVER_ERROR, "the profiler failed\n")
                    .into_response();
            }
        }
        let stream = tokio_stream::wrappers::ReceiverStream::new(body_rx);
        (
            [
                (CONTENT_TYPE, "application/octet-stream"),
                (
                    CONTENT_DISPOSITION,
                    "attachment; filename=\"profile.pb.gz\"",
                ),
            ],
            Body::from_stream(stream),
        )
            .into_response()
    }

    /// Samples the process for `length` (less if the client goes away first), then
    /// sends the profile, or the error that ends the body early.
    fn sample(
        length: Duration,
        started: oneshot::Sender<Result<(), Refused>>,
        body: &mpsc::Sender<io::Result<Bytes>>,
    ) {
        let guard = match pprof::ProfilerGuardBuilder::default()
            .frequency(FREQUENCY)
            .blocklist(&["libc", "libgcc", "pthread", "vdso"])
            .build()
        {
            Ok(guard) => guard,
            Err(pprof::Error::Running) => {
                let _ = started.send(Err(Refused::Busy));
                return;
            }
            Err(error) => {
                let _ = started.send(Err(Refused::Failed(error.to_string())));
                return;
            }
        };
        if started.send(Ok(())).is_err() {
            return;
        }
        let deadline = Instant::now() + length;
        loop {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            if body.is_closed() {
                return;
            }
            std::thread::sleep((deadline - now).min(POLL));
        }
        let profile = encode(&guard);
        drop(guard);
        if let Err(error) = &profile {
            tracing::warn!(%error, "cannot build the CPU profile");
        }
        let _ = body.blocking_send(profile);
    }

    /// The profile so far, symbolized, as a gzipped `perftools.profiles.Profile`.
    fn encode(guard: &pprof::ProfilerGuard<'_>) -> io::Result<Bytes> {
        let report = guard.report().build().map_err(io::Error::other)?;
        let profile = report.pprof().map_err(io::Error::other)?;
        let mut gzip = GzEncoder::new(Vec::new(), Compression::default());
        gzip.write_all(&profile.encode_to_vec())?;
        Ok(Bytes::from(gzip.finish()?))
    }
}

#[cfg(not(unix))]
mod profile {
    use http::StatusCode;

    pub(super) async fn serve() -> (StatusCode, &'static str) {
        (
            StatusCode::NOT_IMPLEMENTED,
            "CPU profiles are taken on Unix systems only\n",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_length_is_bounded() {
        assert_eq!(seconds(None), Ok(DEFAULT_SECONDS));
        assert_eq!(seconds(Some("debug=1")), Ok(DEFAULT_SECONDS));
        assert_eq!(seconds(Some("seconds=1")), Ok(1));
        assert_eq!(seconds(Some("x=y&seconds=60")), Ok(60));
        for bad in [
            "seconds=0",
            "seconds=61",
            "seconds=-1",
            "seconds=1.5",
            "seconds=",
        ] {
            assert!(seconds(Some(bad)).is_err(), "{bad}");
        }
    }
}
