//! A fake span collector — Zipkin (`POST /api/v2/spans`) and OTLP/HTTP (`POST
//! /v1/traces`) alike: an HTTP/1.1 server on threads of its own (so that nothing a test
//! does on its thread can stall it) that records every request and answers it as its
//! [`Mode`] says: at once, never (until told), or by hanging up. Over plain HTTP, or
//! over TLS ([`Collector::start_tls`]).

use std::io::{BufRead as _, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::Value;

/// How the collector answers the requests it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `202 Accepted`.
    Accept,
    /// Holds the request unanswered until the mode changes (then accepts it), or the
    /// client gives up.
    Hang,
    /// Closes the connection without an answer: the export fails.
    HangUp,
}

/// One request the collector read in full.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    /// Lowercase names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Whether it was answered `202 Accepted`.
    pub accepted: bool,
}

impl Received {
    /// The value of the header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header == name)
            .map(|(_, value)| value.as_str())
    }
}

#[derive(Debug)]
struct State {
    mode: Mode,
    received: Vec<Received>,
    /// Requests held unanswered right now.
    held: usize,
    /// Held requests whose client closed the connection.
    abandoned: usize,
    /// Set when the collector is dropped: it accepts no more connections.
    stopped: bool,
}

/// The fake collector; see the module.
pub struct Collector {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    tls: bool,
}

impl Collector {
    /// A collector on an ephemeral port, accepting every request.
    pub fn start() -> Self {
        Self::serve(TcpListener::bind("127.0.0.1:0").expect("bind the collector"))
    }

    /// A collector accepting connections on `listener`.
    pub fn serve(listener: TcpListener) -> Self {
        Self::serve_with(listener, None)
    }

    /// A collector on an ephemeral port serving HTTPS with `tls`.
    pub fn start_tls(tls: Arc<rustls::ServerConfig>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the collector");
        Self::serve_with(listener, Some(tls))
    }

    fn serve_with(listener: TcpListener, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let addr = listener.local_addr().expect("the collector's address");
        listener
            .set_nonblocking(false)
            .expect("a blocking listener");
        let state = Arc::new(Mutex::new(State {
            mode: Mode::Accept,
            received: Vec::new(),
            held: 0,
            abandoned: 0,
            stopped: false,
        }));
        let shared = Arc::clone(&state);
        let https = tls.is_some();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                if lock(&shared).stopped {
                    break;
                }
                let shared = Arc::clone(&shared);
                let tls = tls.clone();
                std::thread::spawn(move || match tls {
                    None => serve_connection(&stream, &stream, &shared),
                    Some(tls) => {
                        let Ok(connection) = rustls::ServerConnection::new(tls) else {
                            return;
                        };
                        let Ok(socket) = stream.try_clone() else {
                            return;
                        };
                        let tls = rustls::StreamOwned::new(connection, socket);
                        serve_connection(tls, &stream, &shared);
                    }
                });
            }
        });
        Self {
            addr,
            state,
            tls: https,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// The URL of `path` on the collector.
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}{path}", self.addr)
    }

    pub fn zipkin_endpoint(&self) -> String {
        self.url("/api/v2/spans")
    }

    pub fn otlp_endpoint(&self) -> String {
        self.url("/v1/traces")
    }

    /// Answers the requests read from now on (and those held) as `mode` says.
    pub fn set_mode(&self, mode: Mode) {
        self.state().mode = mode;
    }

    /// How many requests are held unanswered right now.
    pub fn held(&self) -> usize {
        self.state().held
    }

    /// How many held requests their client gave up on.
    pub fn abandoned(&self) -> usize {
        self.state().abandoned
    }

    /// The requests to `path` read so far.
    pub fn received(&self, path: &str) -> Vec<Received> {
        self.state()
            .received
            .iter()
            .filter(|request| request.path == path)
            .cloned()
            .collect()
    }

    /// The Zipkin spans of the exports that were accepted (`true`) or not (`false`).
    pub fn zipkin_spans_of(&self, accepted: bool) -> Vec<Value> {
        self.received("/api/v2/spans")
            .iter()
            .filter(|request| request.accepted == accepted)
            .flat_map(|request| {
                let spans: Value = serde_json::from_slice(&request.body).expect("JSON spans");
                spans.as_array().expect("a list of spans").clone()
            })
            .collect()
    }

    /// The Zipkin spans accepted so far.
    pub fn zipkin_spans(&self) -> Vec<Value> {
        self.zipkin_spans_of(true)
    }
}

impl Drop for Collector {
    /// Lets the threads holding requests go, and the one accepting connections (woken
    /// by one last connection); those of open connections end with them.
    fn drop(&mut self) {
        let mut state = self.state();
        state.mode = Mode::Accept;
        state.stopped = true;
        drop(state);
        let _ = TcpStream::connect(self.addr);
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// HTTP/1.1 with keep-alive over `stream` (`socket` itself, or TLS over it): one request
/// after another until the client hangs up.
fn serve_connection<S: Read + Write>(stream: S, socket: &TcpStream, state: &Mutex<State>) {
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader) {
        let mut shared = lock(state);
        match shared.mode {
            Mode::Accept => {
                shared.received.push(Received {
                    accepted: true,
                    ..request
                });
                drop(shared);
                if accept(reader.get_mut()).is_err() {
                    return;
                }
            }
            Mode::HangUp => {
                shared.received.push(request);
                return;
            }
            Mode::Hang => {
                shared.held += 1;
                shared.received.push(request);
                let index = shared.received.len() - 1;
                drop(shared);
                let released = hold(socket, state);
                let mut shared = lock(state);
                shared.held -= 1;
                if released && accept(reader.get_mut()).is_ok() {
                    shared.received[index].accepted = true;
                } else {
                    shared.abandoned += 1;
                    return;
                }
            }
        }
    }
}

fn accept(writer: &mut impl Write) -> std::io::Result<()> {
    writer.write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n")?;
    writer.flush()
}

/// Waits until the mode is no longer [`Mode::Hang`] (`true`) or the client closed the
/// connection (`false`).
fn hold(stream: &TcpStream, state: &Mutex<State>) -> bool {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(20)));
    let released = loop {
        if lock(state).mode != Mode::Hang {
            break true;
        }
        match stream.peek(&mut [0; 1]) {
            Ok(0) => break false,
            // Bytes of another request: HTTP/1.1 clients do not send them while waiting.
            Ok(_) => std::thread::sleep(Duration::from_millis(20)),
            Err(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break false,
        }
    };
    let _ = stream.set_read_timeout(None);
    released
}

/// The next request on the connection (its body by `content-length`); `None` once the
/// client hung up.
fn read_request(reader: &mut BufReader<impl Read>) -> Option<Received> {
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).ok()? == 0 {
        return None;
    }
    let path = request_line.split(' ').nth(1)?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .map_or(Some(0), |(_, value)| value.parse().ok())?;
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Received {
        path,
        headers,
        body,
        accepted: false,
    })
}
