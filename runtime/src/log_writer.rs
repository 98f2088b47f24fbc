//! The writer behind every log sink: a request appends its line to a shared buffer and
//! goes on; a background thread writes the buffer out in batches.
//!
//! A line costs a short lock and a copy: no system call, and no thread wake-up per line
//! (which, on a busy core, costs more than formatting the line). The thread writes
//! within [`FLUSH_INTERVAL`] of the first waiting line, or at once when
//! [`BATCH_BYTES`] are waiting. Nothing is dropped: when [`MAX_PENDING_BYTES`] wait
//! because the output is slower than the service, logging waits for it.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// The longest a line waits in the buffer.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(50);

/// Waiting bytes that make the thread write without waiting for the interval.
pub const BATCH_BYTES: usize = 64 * 1024;

/// Waiting bytes beyond which a new line waits for the thread.
pub const MAX_PENDING_BYTES: usize = 8 * 1024 * 1024;

/// A cloneable handle to a batching writer; give it to a `fmt` layer as its writer.
#[derive(Debug, Clone)]
pub struct BatchWriter {
    shared: Arc<Shared>,
}

/// Stops the writer thread, after it wrote every line, when dropped.
#[derive(Debug)]
#[must_use = "dropping the guard stops the writer"]
pub struct FlushGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// Signals the writer thread: work to do, or stop.
    work: Condvar,
    /// Signals waiting loggers: the buffer has room again.
    room: Condvar,
}

#[derive(Debug, Default)]
struct State {
    pending: Vec<u8>,
    /// What the writer thread waits for, so a logger signals only when it must.
    thread: Waiting,
    closed: bool,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Waiting {
    /// For a first line.
    #[default]
    Line,
    /// For the interval to pass or a batch to fill.
    Batch,
    /// Not waiting: writing.
    No,
}

impl BatchWriter {
    /// Starts a thread named `name` that writes to `output`.
    ///
    /// # Errors
    /// The thread cannot be spawned.
    pub fn spawn<W: Write + Send + 'static>(
        name: &str,
        output: W,
    ) -> io::Result<(Self, FlushGuard)> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            room: Condvar::new(),
        });
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(name.to_owned())
                .spawn(move || shared.run(output))?
        };
        Ok((
            Self {
                shared: Arc::clone(&shared),
            },
            FlushGuard {
                shared,
                thread: Some(thread),
            },
        ))
    }

    fn append(&self, line: &[u8]) {
        let shared = &*self.shared;
        let mut state = shared.lock();
        while state.pending.len() >= MAX_PENDING_BYTES && !state.closed {
            state = shared
                .room
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state.pending.extend_from_slice(line);
        let wake = match state.thread {
            Waiting::Line => true,
            Waiting::Batch => {
                state.pending.len() >= BATCH_BYTES && state.pending.len() - line.len() < BATCH_BYTES
            }
            Waiting::No => false,
        };
        drop(state);
        if wake {
            shared.work.notify_one();
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The writer thread: waits for a line, gives later lines `FLUSH_INTERVAL` to join
    /// it, writes them all, and again until closed and empty.
    fn run<W: Write>(&self, mut output: W) {
        let mut batch = Vec::new();
        let mut state = self.lock();
        loop {
            state.thread = Waiting::Line;
            state = self
                .work
                .wait_while(state, |state| state.pending.is_empty() && !state.closed)
                .unwrap_or_else(PoisonError::into_inner);
            if !state.closed && state.pending.len() < BATCH_BYTES {
                state.thread = Waiting::Batch;
                state = self
                    .work
                    .wait_timeout_while(state, FLUSH_INTERVAL, |state| {
                        state.pending.len() < BATCH_BYTES && !state.closed
                    })
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            state.thread = Waiting::No;
            std::mem::swap(&mut state.pending, &mut batch);
            let done = state.closed && batch.is_empty();
            drop(state);
            self.room.notify_all();
            if done {
                break;
            }
            // A log sink that fails cannot be logged to; the lines are lost, the
            // service goes on.
            let _ = output.write_all(&batch).and_then(|()| output.flush());
            batch.clear();
            state = self.lock();
        }
        let _ = output.flush();
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.work.notify_one();
        self.shared.room.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Write for &BatchWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.append(buf);
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.append(buf);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchWriter {
    type Writer = &'a Self;

    fn make_writer(&'a self) -> Self::Writer {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An output the test can read after the writer thread is done with it.
    #[derive(Clone, Default)]
    struct Recorded(Arc<Mutex<Vec<u8>>>);

    impl Write for Recorded {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_of_every_thread_is_written_whole_and_in_order() {
        let output = Recorded::default();
        let (writer, guard) = BatchWriter::spawn("test-log", output.clone()).unwrap();
        let threads: Vec<_> = (0..4)
            .map(|thread| {
                let writer = writer.clone();
                std::thread::spawn(move || {
                    for line in 0..5000 {
                        // Long enough lines to fill several batches.
                        let text = format!("{thread} {line} {}\n", "x".repeat(40));
                        (&writer).write_all(text.as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        drop(guard);
        let written = String::from_utf8(output.0.lock().unwrap().clone()).unwrap();
        let mut next = [0; 4];
        for line in written.lines() {
            let mut parts = line.split(' ');
            let thread: usize = parts.next().unwrap().parse().unwrap();
            let number: usize = parts.next().unwrap().parse().unwrap();
            assert_eq!(parts.next().unwrap().len(), 40, "{line}");
            assert_eq!(
                number, next[thread],
                "lines of thread {thread} out of order"
            );
            next[thread] += 1;
        }
        assert_eq!(next, [5000; 4]);
    }

    #[test]
    fn a_line_is_written_within_the_interval_without_more_lines() {
        let output = Recorded::default();
        let (writer, _guard) = BatchWriter::spawn("test-log", output.clone()).unwrap();
        (&writer).write_all(b"alone\n").unwrap();
        let deadline = std::time::Instant::now() + FLUSH_INTERVAL * 20;
        while output.0.lock().unwrap().is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "the line was never written"
            );
            std::thread::sleep(FLUSH_INTERVAL / 5);
        }
        assert_eq!(*output.0.lock().unwrap(), b"alone\n");
    }
}
