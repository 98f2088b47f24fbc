//! Adaptive client-side throttling, as Google's SRE book describes it (*Handling
//! Overload*) and go-zero implements it (`core/breaker/googlebreaker.go`): over a rolling
//! window (10 s in 40 buckets), a client counts the calls it was asked to make
//! (`requests`, those it rejected itself included) and those the service accepted
//! (`accepts`), and fails a new call itself, unsent, with probability
//!
//! ```text
//! max(0, (requests − PROTECTION − K · accepts) / (requests + 1))
//! ```
//!
//! So while the service accepts most calls nothing is rejected; once it rejects more than
//! 1 in K, the client sends about K times what it accepts and fails the surplus at once,
//! and the service, not flooded, can recover.
//!
//! The formula alone recovers slowly from an outage — the client's own rejections keep
//! `requests` high while few calls get through to be accepted — so, as go-zero does, a
//! call is let through when none was for a second (a probe), and the probability is
//! scaled down by the share of the latest buckets in a row that saw accepts and no
//! failures: once the service answers again, the rejections fade out within the window.
//!
//! tower has no such layer (its `limit` and `load_shed` bound concurrency, not the
//! callee's acceptance), nor does a maintained crate of the tower ecosystem: this is the
//! runtime's own, a few lines over a mutex-protected ring of buckets.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;
use tonic::Code;
use tower::util::rng::{HasherRng, Rng as _};

/// The rolling window: go-zero's 10 s.
const WINDOW: Duration = Duration::from_secs(10);

/// Buckets of the window: go-zero's 40 (of 250 ms).
const BUCKETS: usize = 40;

/// Requests not accepted before the client rejects any (go-zero's `protection`): without
/// it, one failed call of an idle client would fail half of the next ones.
const PROTECTION: f64 = 5.0;

/// A call is let through when none was for this long (go-zero's `forcePassDuration`).
const FORCE_PASS: Duration = Duration::from_secs(1);

/// Whether a call that ended with `code` was accepted by the service: every answer but
/// those that say it could not serve the call — go-zero's list (UNAVAILABLE,
/// DEADLINE_EXCEEDED, INTERNAL, DATA_LOSS) with RESOURCE_EXHAUSTED, what an overloaded
/// svcgen service sheds calls with, and UNKNOWN, what a connection that broke mid-call
/// is reported as.
#[must_use]
pub const fn accepted(code: Code) -> bool {
    !matches!(
        code,
        Code::Unavailable
            | Code::DeadlineExceeded
            | Code::ResourceExhausted
            | Code::Internal
            | Code::Unknown
            | Code::DataLoss
    )
}

/// The throttle of one client (`[clients.<name>] breaker_k`).
#[derive(Debug)]
pub struct Breaker {
    k: f64,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    window: Window,
    rng: HasherRng,
    /// When a call was last let through while the client was rejecting some.
    last_pass: Option<Instant>,
}

/// Counts per bucket, the current bucket being `current`, which began at `started`.
#[derive(Debug)]
struct Window {
    buckets: [Bucket; BUCKETS],
    current: usize,
    started: Instant,
}

#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    /// Calls, rejected here or sent.
    requests: u32,
    /// Calls the service accepted.
    accepts: u32,
    /// Calls sent that the service did not accept.
    failures: u32,
}

/// What the window says now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Totals {
    requests: u32,
    accepts: u32,
    /// The latest buckets in a row with accepts and no failure (buckets without calls
    /// sent neither count nor break the run).
    working: u32,
}

/// How a call counts.
#[derive(Debug, Clone, Copy)]
enum Outcome {
    /// Sent, and accepted by the service.
    Accepted,
    /// Sent, and not accepted.
    Failed,
    /// Rejected here, unsent.
    Rejected,
}

impl Breaker {
    /// A throttle with multiplier `k` (at least 1).
    #[must_use]
    pub fn new(k: f64) -> Self {
        Self {
            k,
            state: Mutex::new(State {
                window: Window {
                    buckets: [Bucket::default(); BUCKETS],
                    current: 0,
                    started: Instant::now(),
                },
                rng: HasherRng::default(),
                last_pass: None,
            }),
        }
    }

    /// Whether a new call may be sent now; when not, it is counted as a request the
    /// service did not accept.
    pub fn allow(&self) -> bool {
        self.allow_at(Instant::now())
    }

    /// Counts a call that was sent and ended, accepted or not.
    pub fn record(&self, accepted: bool) {
        self.record_at(Instant::now(), accepted);
    }

    fn allow_at(&self, now: Instant) -> bool {
        let mut state = self.lock();
        let probability = self.rejection(&mut state.window, now);
        if probability <= 0.0 {
            return true;
        }
        let probe = state
            .last_pass
            .is_some_and(|last| now.saturating_duration_since(last) > FORCE_PASS);
        if probe || state.rng.next_f64() >= probability {
            state.last_pass = Some(now);
            return true;
        }
        state.window.add(now, Outcome::Rejected);
        false
    }

    fn record_at(&self, now: Instant, accepted: bool) {
        let outcome = if accepted {
            Outcome::Accepted
        } else {
            Outcome::Failed
        };
        self.lock().window.add(now, outcome);
    }

    /// The probability that a new call is rejected now.
    fn rejection(&self, window: &mut Window, now: Instant) -> f64 {
        let totals = window.totals(now);
        let requests = f64::from(totals.requests);
        let accepts = f64::from(totals.accepts);
        let formula = (requests - PROTECTION - self.k * accepts) / (requests + 1.0);
        let working = f64::from(totals.working) / BUCKETS as f64;
        (formula * (1.0 - working)).max(0.0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Window {
    const BUCKET: Duration = Duration::from_millis(WINDOW.as_millis() as u64 / BUCKETS as u64);

    /// Moves the current bucket to `now`'s, emptying those it passes.
    fn advance(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.started);
        let steps = elapsed.as_nanos() / Self::BUCKET.as_nanos();
        if steps == 0 {
            return;
        }
        for _ in 0..steps.min(BUCKETS as u128) {
            self.current = (self.current + 1) % BUCKETS;
            self.buckets[self.current] = Bucket::default();
        }
        // `steps` fits: it is at most `elapsed` in 250 ms buckets.
        self.started += Self::BUCKET * u32::try_from(steps).unwrap_or(u32::MAX);
    }

    fn add(&mut self, now: Instant, outcome: Outcome) {
        self.advance(now);
        let bucket = &mut self.buckets[self.current];
        bucket.requests = bucket.requests.saturating_add(1);
        match outcome {
            Outcome::Accepted => bucket.accepts = bucket.accepts.saturating_add(1),
            Outcome::Failed => bucket.failures = bucket.failures.saturating_add(1),
            Outcome::Rejected => {}
        }
    }

    /// The counts of the window ending now.
    fn totals(&mut self, now: Instant) -> Totals {
        self.advance(now);
        let mut totals = Totals {
            requests: 0,
            accepts: 0,
            working: 0,
        };
        // Oldest first, so that `working` ends as the run of the latest buckets.
        for offset in 1..=BUCKETS {
            let bucket = &self.buckets[(self.current + offset) % BUCKETS];
            totals.requests = totals.requests.saturating_add(bucket.requests);
            totals.accepts = totals.accepts.saturating_add(bucket.accepts);
            if bucket.failures > 0 {
                totals.working = 0;
            } else if bucket.accepts > 0 {
                totals.working += 1;
            }
        }
        totals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejection(breaker: &Breaker, now: Instant) -> f64 {
        let mut state = breaker.lock();
        breaker.rejection(&mut state.window, now)
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn the_rejection_probability_is_the_sre_formula_over_the_window() {
        let breaker = Breaker::new(1.5);
        let start = Instant::now();
        // Nothing yet, and everything accepted: nothing rejected.
        assert!(close(rejection(&breaker, start), 0.0));
        for _ in 0..100 {
            breaker.record_at(start, true);
        }
        assert!(close(rejection(&breaker, start), 0.0));
        // 100 requests, 100 accepts, then 100 failures: (200 − 5 − 150) / 201.
        for _ in 0..100 {
            breaker.record_at(start, false);
        }
        assert!(close(
            rejection(&breaker, start),
            (200.0 - 5.0 - 150.0) / 201.0
        ));
        // Failures only: (n − 5) / (n + 1), so close to 1 that almost every call is
        // rejected, and counted as a request.
        let breaker = Breaker::new(1.5);
        for _ in 0..1000 {
            breaker.record_at(start, false);
        }
        assert!(close(rejection(&breaker, start), 995.0 / 1001.0));
        let allowed = (0..1000).filter(|_| breaker.allow_at(start)).count();
        assert!(allowed < 50, "{allowed} of 1000 allowed");
        // Those rejected are requests too.
        let requests = f64::from(u32::try_from(2000 - allowed).unwrap());
        assert!(close(
            rejection(&breaker, start),
            (requests - 5.0) / (requests + 1.0)
        ));
        // The protection: five failures reject nothing.
        let breaker = Breaker::new(1.5);
        for _ in 0..5 {
            breaker.record_at(start, false);
        }
        assert!(close(rejection(&breaker, start), 0.0));
        assert!((0..100).all(|_| breaker.allow_at(start)));
    }

    #[test]
    fn failures_age_out_of_the_window_and_the_breaker_closes_by_itself() {
        let breaker = Breaker::new(2.0);
        let start = Instant::now();
        for _ in 0..100 {
            breaker.record_at(start, false);
        }
        assert!(rejection(&breaker, start) > 0.9);
        // Still in the window 9.9 s later, with 20 accepts since, in the latest bucket
        // alone: (120 − 5 − 40) / 121, scaled by the 39 buckets of 40 not working.
        let later = start + Duration::from_millis(9_900);
        for _ in 0..20 {
            breaker.record_at(later, true);
        }
        let expected = (120.0 - 5.0 - 2.0 * 20.0) / 121.0 * 39.0 / 40.0;
        assert!(close(rejection(&breaker, later), expected));
        // Out of it 10 s after: only the accepts are left.
        let after = start + Duration::from_millis(10_100);
        assert!(close(rejection(&breaker, after), 0.0));
        assert!((0..100).all(|_| breaker.allow_at(after)));
        // Long idle: everything forgotten.
        let breaker = Breaker::new(1.5);
        for _ in 0..100 {
            breaker.record_at(start, false);
        }
        assert!(close(
            rejection(&breaker, start + Duration::from_secs(3600)),
            0.0
        ));
    }

    #[test]
    fn once_calls_succeed_again_the_rejections_fade_out_bucket_by_bucket() {
        let breaker = Breaker::new(1.5);
        let start = Instant::now();
        for _ in 0..200 {
            breaker.record_at(start, false);
        }
        let open = rejection(&breaker, start);
        assert!(close(open, 195.0 / 201.0));
        // From then on, one accepted call per bucket (and nothing else): each bucket that
        // worked takes 1/40 off, on top of the accepts the formula weighs.
        let bucket = Window::BUCKET;
        for n in 1..=10_u32 {
            let now = start + bucket * n;
            breaker.record_at(now, true);
            let accepts = f64::from(n);
            let requests = 200.0 + accepts;
            let expected =
                (requests - 5.0 - 1.5 * accepts) / (requests + 1.0) * f64::from(40 - n) / 40.0;
            assert!(close(rejection(&breaker, now), expected), "bucket {n}");
        }
        // A failure breaks the run.
        let now = start + bucket * 10;
        breaker.record_at(now, false);
        let expected = (211.0 - 5.0 - 15.0) / 212.0;
        assert!(close(rejection(&breaker, now), expected));
    }

    #[test]
    fn a_probe_is_let_through_when_none_was_for_a_second() {
        let breaker = Breaker::new(1.5);
        let start = Instant::now();
        for _ in 0..10_000 {
            breaker.record_at(start, false);
        }
        // Some call gets through (and is remembered as the last to)...
        let passed = (0..100_000).any(|_| breaker.allow_at(start));
        assert!(passed);
        // ...then within the second almost none does, and after it one does at once.
        let soon = start + Duration::from_millis(500);
        let allowed = (0..100).filter(|_| breaker.allow_at(soon)).count();
        assert!(allowed < 10, "{allowed}");
        let later = start + Duration::from_millis(2_100);
        assert!(breaker.allow_at(later), "the probe");
    }

    #[test]
    fn the_codes_that_say_the_service_could_not_serve_are_not_accepts() {
        for code in [
            Code::Unavailable,
            Code::DeadlineExceeded,
            Code::ResourceExhausted,
            Code::Internal,
            Code::Unknown,
            Code::DataLoss,
        ] {
            assert!(!accepted(code), "{code:?}");
        }
        for code in [
            Code::Ok,
            Code::Cancelled,
            Code::InvalidArgument,
            Code::NotFound,
            Code::AlreadyExists,
            Code::PermissionDenied,
            Code::FailedPrecondition,
            Code::Aborted,
            Code::OutOfRange,
            Code::Unimplemented,
            Code::Unauthenticated,
        ] {
            assert!(accepted(code), "{code:?}");
        }
    }
}
