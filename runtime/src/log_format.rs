//! The JSON log line: one flat object per line, `timestamp` (RFC 3339, UTC, µs), `level`,
//! `target`, `message`, the event's fields, and `trace_id`/`span_id` inside a traced
//! request — what Logstash and Kibana read without a grok pattern.
//!
//! Every request writes one (its access line), so the formatter is built for it: the
//! line is assembled in a reused per-thread buffer, integers are written without `fmt`,
//! the date part of the timestamp is formatted once a second, and nothing is
//! allocated per field.

use std::cell::RefCell;
use std::fmt;
use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::trace::TraceContextExt as _;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::access_log::Route;
use crate::log_writer::BatchWriter;

/// The `fmt` layer's event format for JSON lines.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonLines;

/// The keys the line itself uses; an event field with one of these names is prefixed
/// with `field.`.
const RESERVED: &[&str] = &["timestamp", "level", "target", "trace_id", "span_id"];

/// A thread's line buffer, reused from line to line, and its clock.
struct Line {
    bytes: Vec<u8>,
    clock: Clock,
}

thread_local! {
    static LINE: RefCell<Line> = RefCell::new(Line {
        bytes: Vec::with_capacity(512),
        clock: Clock { second: u64::MAX, text: [0; 19] },
    });
}

/// Runs `write` on this thread's cleared line buffer (a fresh one when logging happens
/// while a line is being written, e.g. from a field's `Debug`).
fn with_line<R>(write: impl FnOnce(&mut Vec<u8>, &mut Clock) -> R) -> R {
    let mut write = Some(write);
    let reused = LINE.try_with(|line| {
        let mut line = line.try_borrow_mut().ok()?;
        let Line { bytes, clock } = &mut *line;
        bytes.clear();
        let result = write.take()?(bytes, clock);
        // One huge line (a large `Debug` field) does not keep its memory for the life of
        // the thread.
        if bytes.capacity() > 64 * 1024 {
            *bytes = Vec::with_capacity(512);
        }
        Some(result)
    });
    match (reused, write) {
        (Ok(Some(result)), _) => result,
        (_, Some(write)) => write(
            &mut Vec::new(),
            &mut Clock {
                second: u64::MAX,
                text: [0; 19],
            },
        ),
        // `write` ran and returned: unreachable, since it was taken only to run.
        (_, None) => unreachable!("the line was written"),
    }
}

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        with_line(|line, clock| {
            let metadata = event.metadata();
            push_head(
                line,
                clock,
                SystemTime::now(),
                metadata.level(),
                metadata.target(),
            );
            event.record(&mut JsonFields { line: &mut *line });
            push_tail(line);
            // Every part written is UTF-8: the escapes, and text from `&str`s.
            writer.write_str(std::str::from_utf8(line).map_err(|_| fmt::Error)?)
        })
    }
}

/// The `fmt` layer's event format for human-readable lines: tracing-subscriber's full
/// format, then — inside a request — the `trace_id` and `span_id` that JSON lines carry,
/// so that a line read on a terminal can be looked up in Zipkin.
#[derive(Debug)]
pub struct PrettyLines {
    inner: tracing_subscriber::fmt::format::Format,
    ansi: bool,
}

impl PrettyLines {
    /// With ANSI colours or without.
    #[must_use]
    pub fn new(ansi: bool) -> Self {
        Self {
            inner: tracing_subscriber::fmt::format::Format::default().with_ansi(ansi),
            ansi,
        }
    }
}

impl<S, N> FormatEvent<S, N> for PrettyLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let ids = opentelemetry::Context::map_current(|context| {
            let span = context.span();
            let ids = span.span_context();
            ids.is_valid().then(|| (ids.trace_id(), ids.span_id()))
        });
        let Some((trace_id, span_id)) = ids else {
            return self.inner.format_event(ctx, writer, event);
        };
        let mut line = String::with_capacity(256);
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        let line = line.strip_suffix('\n').unwrap_or(&line);
        if self.ansi {
            writeln!(
                writer,
                "{line} \x1b[2mtrace_id\x1b[0m={trace_id} \x1b[2mspan_id\x1b[0m={span_id}"
            )
        } else {
            writeln!(writer, "{line} trace_id={trace_id} span_id={span_id}")
        }
    }
}

/// `{"timestamp":…,"level":…,"target":…`
fn push_head(line: &mut Vec<u8>, clock: &mut Clock, now: SystemTime, level: &Level, target: &str) {
    line.extend_from_slice(b"{\"timestamp\":\"");
    push_timestamp(line, clock, now);
    line.extend_from_slice(b"\",\"level\":\"");
    line.extend_from_slice(level.as_str().as_bytes());
    line.extend_from_slice(b"\",\"target\":");
    push_json_str(line, target);
}

/// The ids of the current trace context, then `}` and the newline.
fn push_tail(line: &mut Vec<u8>) {
    opentelemetry::Context::map_current(|context| push_ids_and_end(line, context));
}

/// The ids of `context`'s span, then `}` and the newline.
fn push_ids_and_end(line: &mut Vec<u8>, context: &opentelemetry::Context) {
    let span = context.span();
    let ids = span.span_context();
    if ids.is_valid() {
        line.extend_from_slice(b",\"trace_id\":\"");
        push_hex(line, &ids.trace_id().to_bytes());
        line.extend_from_slice(b"\",\"span_id\":\"");
        push_hex(line, &ids.span_id().to_bytes());
        line.push(b'"');
    }
    line.extend_from_slice(b"}\n");
}

/// The sinks of a pipeline whose every sink writes JSON lines. The access log writes its
/// line — one per request — straight to them, in the layout of [`JsonLines`], instead of
/// through a `tracing` event and its field visitor: a third of the cost.
///
/// A do-nothing layer of the pipeline, found with `Dispatch::downcast_ref`, so each
/// pipeline (tests build several) has its own.
#[derive(Debug, Clone)]
pub struct DirectJson {
    sinks: Vec<BatchWriter>,
    /// Whether `levels` enable the access target at ERROR, WARN and INFO: decided once.
    access: [bool; 3],
}

impl<S: Subscriber> tracing_subscriber::Layer<S> for DirectJson {}

impl DirectJson {
    /// Writes to `sinks` what `levels` (the sinks' own level directives) enable;
    /// `access_target` is the target of the access lines, whose levels are looked up once.
    #[must_use]
    pub fn new(sinks: Vec<BatchWriter>, levels: Targets, access_target: &str) -> Self {
        let access = [Level::ERROR, Level::WARN, Level::INFO]
            .map(|level| levels.would_enable(access_target, &level));
        Self { sinks, access }
    }

    /// Whether the sinks take access lines at `level` (ERROR, WARN or INFO).
    #[must_use]
    pub fn access_enabled(&self, level: &Level) -> bool {
        match *level {
            Level::ERROR => self.access[0],
            Level::WARN => self.access[1],
            _ => self.access[2],
        }
    }

    /// Writes the line of an event at `level` for `target` with `message`; `fields`
    /// appends the other fields. The caller checked that the level is enabled; `message`
    /// is the caller's own literal, which needs no escaping. The line carries the ids of
    /// `context`'s span.
    pub fn write(
        &self,
        context: &opentelemetry::Context,
        level: &Level,
        target: &'static str,
        message: &'static str,
        fields: impl FnOnce(&mut LineFields<'_>),
    ) {
        with_line(|line, clock| {
            push_head(line, clock, SystemTime::now(), level, target);
            line.extend_from_slice(b",\"message\":\"");
            push_trusted(line, message);
            line.push(b'"');
            fields(&mut LineFields { line: &mut *line });
            push_ids_and_end(line, context);
            for sink in &self.sinks {
                let _ = (&*sink).write_all(line);
            }
        });
    }
}

/// Appends text the caller knows needs no JSON escaping (its own literals, numbers).
fn push_trusted(line: &mut Vec<u8>, text: &str) {
    debug_assert!(!text.bytes().any(needs_escape), "{text}");
    line.extend_from_slice(text.as_bytes());
}

/// Appends the fields of a line written by [`DirectJson::write`].
pub struct LineFields<'a> {
    line: &'a mut Vec<u8>,
}

impl LineFields<'_> {
    /// `key` is one of the caller's own field names, which need no escaping.
    fn key(&mut self, key: &str) {
        self.line.extend_from_slice(b",\"");
        push_trusted(self.line, key);
        self.line.extend_from_slice(b"\":");
    }

    /// `,"key":"value"`
    pub fn str(&mut self, key: &str, value: &str) {
        self.key(key);
        push_json_str(self.line, value);
    }

    /// `,"key":"route"`, escaped unless it is the service's own text.
    pub fn route(&mut self, key: &str, route: &Route) {
        if route.is_own() {
            self.trusted_str(key, route.as_str());
        } else {
            self.str(key, route.as_str());
        }
    }

    /// `,"key":"value"` for a value that needs no escaping (a status name, an address).
    pub fn trusted_str(&mut self, key: &str, value: &str) {
        self.key(key);
        self.line.push(b'"');
        push_trusted(self.line, value);
        self.line.push(b'"');
    }

    /// `,"key":value`
    pub fn u64(&mut self, key: &str, value: u64) {
        self.key(key);
        push_u64(self.line, value);
    }

    /// `,"key":"address:port"`
    pub fn addr(&mut self, key: &str, addr: SocketAddr) {
        self.key(key);
        self.line.push(b'"');
        match addr {
            SocketAddr::V4(addr) => {
                let mut text = [0; 21];
                let mut len = put_ipv4(&mut text, *addr.ip());
                text[len] = b':';
                len += 1;
                len += put_decimal(&mut text[len..], u64::from(addr.port()));
                self.line.extend_from_slice(&text[..len]);
            }
            // Hex digits, colons, brackets and a numeric scope: nothing to escape.
            SocketAddr::V6(addr) => {
                let _ = write!(self.line, "{addr}");
            }
        }
        self.line.push(b'"');
    }

    /// `,"key":true|false`
    pub fn bool(&mut self, key: &str, value: bool) {
        self.key(key);
        self.line
            .extend_from_slice(if value { b"true" } else { b"false" });
    }
}

/// The formatted `YYYY-MM-DDTHH:MM:SS` of the last second this thread logged in.
struct Clock {
    second: u64,
    text: [u8; 19],
}

/// Appends `now` as `2026-11-25T09:30:00.123456Z`.
fn push_timestamp(line: &mut Vec<u8>, clock: &mut Clock, now: SystemTime) {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let second = since_epoch.as_secs();
    if clock.second != second {
        clock.second = second;
        clock.text = date_time(second);
    }
    line.extend_from_slice(&clock.text);
    let mut fraction = *b".000000Z";
    put_digits(&mut fraction[1..7], u64::from(since_epoch.subsec_micros()));
    line.extend_from_slice(&fraction);
}

/// `YYYY-MM-DDTHH:MM:SS` of a Unix time (UTC; the civil calendar of Howard Hinnant's
/// `civil_from_days`).
fn date_time(unix_seconds: u64) -> [u8; 19] {
    let days = unix_seconds / 86_400;
    let of_day = unix_seconds % 86_400;
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    let mut text = *b"0000-00-00T00:00:00";
    put_digits(&mut text[0..4], year);
    put_digits(&mut text[5..7], month);
    put_digits(&mut text[8..10], day);
    put_digits(&mut text[11..13], of_day / 3600);
    put_digits(&mut text[14..16], of_day / 60 % 60);
    put_digits(&mut text[17..19], of_day % 60);
    text
}

fn put_digits(slot: &mut [u8], mut value: u64) {
    for digit in slot.iter_mut().rev() {
        *digit = b'0' + u8::try_from(value % 10).unwrap_or(0);
        value /= 10;
    }
}

/// The two lowercase hexadecimal digits of every byte.
static HEX_PAIRS: [[u8; 2]; 256] = {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut table = [[0; 2]; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = [HEX[byte >> 4], HEX[byte & 0xf]];
        byte += 1;
    }
    table
};

/// Appends `bytes` in lowercase hexadecimal (trace and span ids: at most 16 bytes).
pub fn push_hex(line: &mut Vec<u8>, bytes: &[u8]) {
    let mut text = [0; 32];
    for (pair, &byte) in text.chunks_exact_mut(2).zip(bytes) {
        pair.copy_from_slice(&HEX_PAIRS[usize::from(byte)]);
    }
    line.extend_from_slice(&text[..2 * bytes.len().min(16)]);
}

/// Appends `text` as a JSON string, quoted and escaped.
pub fn push_json_str(line: &mut Vec<u8>, text: &str) {
    line.push(b'"');
    push_escaped(line, text);
    line.push(b'"');
}

/// Appends the JSON escape of `text` (without quotes). Most text has nothing to escape:
/// that is found eight bytes at a time, and the text copied whole.
pub fn push_escaped(line: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    if !any_needs_escape(bytes) {
        line.extend_from_slice(bytes);
        return;
    }
    let mut start = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        if !needs_escape(byte) {
            continue;
        }
        line.extend_from_slice(&bytes[start..index]);
        match byte {
            b'"' => line.extend_from_slice(b"\\\""),
            b'\\' => line.extend_from_slice(b"\\\\"),
            b'\n' => line.extend_from_slice(b"\\n"),
            b'\r' => line.extend_from_slice(b"\\r"),
            b'\t' => line.extend_from_slice(b"\\t"),
            _ => {
                let _ = write!(line, "\\u{byte:04x}");
            }
        }
        start = index + 1;
    }
    line.extend_from_slice(&bytes[start..]);
}

/// Whether a byte of `bytes` needs escaping, tested a word at a time (the last word
/// overlapping the one before it, rather than copied into a padded one).
fn any_needs_escape(bytes: &[u8]) -> bool {
    let word = |at: usize| {
        let mut word = [0; 8];
        word.copy_from_slice(&bytes[at..at + 8]);
        may_need_escape(u64::from_le_bytes(word))
    };
    if bytes.len() < 8 {
        return bytes.iter().any(|&byte| needs_escape(byte));
    }
    (0..bytes.len() / 8).any(|index| word(index * 8)) || word(bytes.len() - 8)
}

/// Whether one of the eight bytes of `word` may need escaping: exact for control
/// characters, `"` and `\\` (the "has less than" and "has zero byte" bit tricks).
const fn may_need_escape(word: u64) -> bool {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGHS: u64 = ONES * 0x80;
    let control = word.wrapping_sub(ONES * 0x20) & !word;
    let quote = word ^ (ONES * b'"' as u64);
    let backslash = word ^ (ONES * b'\\' as u64);
    let quote = quote.wrapping_sub(ONES) & !quote;
    let backslash = backslash.wrapping_sub(ONES) & !backslash;
    (control | quote | backslash) & HIGHS != 0
}

/// The bytes a JSON string escapes: control characters, `"` and `\\`.
static ESCAPED: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = true;
        byte += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

fn needs_escape(byte: u8) -> bool {
    ESCAPED[usize::from(byte)]
}

/// Escapes what a `Debug` or `Display` implementation writes into a JSON string.
struct Escaped<'a>(&'a mut Vec<u8>);

impl fmt::Write for Escaped<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        push_escaped(self.0, text);
        Ok(())
    }
}

/// Appends each field of an event as `,"name":value`.
struct JsonFields<'a> {
    line: &'a mut Vec<u8>,
}

impl JsonFields<'_> {
    /// Appends `,"name":` (prefixing names the line itself uses).
    fn key(&mut self, field: &Field) {
        let name = field.name();
        if RESERVED.contains(&name) {
            self.line.extend_from_slice(b",\"field.");
            self.line.extend_from_slice(name.as_bytes());
            self.line.extend_from_slice(b"\":");
        } else {
            self.line.push(b',');
            push_json_str(self.line, name);
            self.line.push(b':');
        }
    }

    /// Appends `"…"` with what `display` writes, escaped.
    fn quoted(&mut self, display: impl FnOnce(&mut Escaped<'_>) -> fmt::Result) {
        self.line.push(b'"');
        let _ = display(&mut Escaped(self.line));
        self.line.push(b'"');
    }
}

/// Writes `ip` (`255.255.255.255` at most) at the start of `slot` and returns its length.
fn put_ipv4(slot: &mut [u8], ip: Ipv4Addr) -> usize {
    let mut len = 0;
    for (index, octet) in ip.octets().into_iter().enumerate() {
        if index > 0 {
            slot[len] = b'.';
            len += 1;
        }
        len += put_decimal(&mut slot[len..], u64::from(octet));
    }
    len
}

/// Appends `value` in decimal, without `fmt`.
pub fn push_u64(line: &mut Vec<u8>, value: u64) {
    line.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// Writes `value` in decimal at the start of `slot` (which must have room: 20 bytes
/// for any `u64`) and returns how many bytes it took. For the short numbers of
/// addresses (octets, ports), where a digit at a time is quicker than `itoa` and a copy.
fn put_decimal(slot: &mut [u8], value: u64) -> usize {
    let len = value.checked_ilog10().map_or(1, |log| log as usize + 1);
    let mut rest = value;
    for digit in slot[..len].iter_mut().rev() {
        *digit = b'0' + u8::try_from(rest % 10).unwrap_or(0);
        rest /= 10;
    }
    len
}

fn push_i64(line: &mut Vec<u8>, value: i64) {
    if value < 0 {
        line.push(b'-');
    }
    push_u64(line, value.unsigned_abs());
}

impl Visit for JsonFields<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.key(field);
        if value.is_finite() {
            let _ = write!(self.line, "{value}");
        } else {
            self.line.extend_from_slice(b"null");
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.key(field);
        push_i64(self.line, value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.key(field);
        push_u64(self.line, value);
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.key(field);
        let _ = write!(self.line, "{value}");
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.key(field);
        let _ = write!(self.line, "{value}");
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.key(field);
        self.line
            .extend_from_slice(if value { b"true" } else { b"false" });
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.key(field);
        push_json_str(self.line, value);
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.key(field);
        self.quoted(|out| fmt::Write::write_fmt(out, format_args!("{value}")));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.key(field);
        self.quoted(|out| fmt::Write::write_fmt(out, format_args!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(line: &[u8]) -> &str {
        std::str::from_utf8(line).expect("UTF-8")
    }

    /// The lines `PrettyLines` writes for one event inside `context` and one outside.
    fn pretty_lines(context: &opentelemetry::Context) -> String {
        #[derive(Clone, Default)]
        struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().expect("the buffer").extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .event_format(PrettyLines::new(false))
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            {
                let _attached = context.clone().attach();
                tracing::info!(answer = 42, "inside");
            }
            tracing::info!("outside");
        });
        let bytes = buffer.0.lock().expect("the buffer").clone();
        String::from_utf8(bytes).expect("UTF-8")
    }

    #[test]
    fn human_readable_lines_inside_a_request_end_with_its_ids() {
        use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
        let context = opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").expect("a trace id"),
            SpanId::from_hex("00f067aa0ba902b7").expect("a span id"),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ));
        let text = pretty_lines(&context);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines[0].ends_with(
                "inside answer=42 trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7"
            ),
            "{text}"
        );
        assert!(lines[0].contains(" INFO "), "{text}");
        assert!(lines[1].ends_with("outside"), "{text}");
        assert!(!lines[1].contains("trace_id"), "{text}");
    }

    #[test]
    fn json_strings_are_escaped_so_they_parse_back() {
        for text in [
            "plain",
            "quote \" and \\ backslash",
            "new\nline\ttab\r",
            "\u{1} bell \u{1f}",
            "naïve – ✓",
            "a longer plain string, eight bytes at a time, with one \" late",
            "\"starts and ends with quotes, and is longer than a word\"",
            "/pkg.v1.Service/Method\\\u{7f}\u{0}",
        ] {
            let mut line = b"{".to_vec();
            push_json_str(&mut line, "key \"k\"");
            line.push(b':');
            push_json_str(&mut line, text);
            line.push(b'}');
            let parsed: serde_json::Value = serde_json::from_slice(&line).expect("valid JSON");
            assert_eq!(parsed["key \"k\""], text, "{}", self::text(&line));
        }
    }

    #[test]
    fn the_word_test_flags_exactly_the_words_with_a_byte_to_escape() {
        for byte in 0..=u8::MAX {
            for position in 0..8 {
                let mut word = *b"abcdefgh";
                word[position] = byte;
                assert_eq!(
                    may_need_escape(u64::from_le_bytes(word)),
                    needs_escape(byte),
                    "byte {byte:#04x} at {position}"
                );
            }
        }
    }

    #[test]
    fn text_of_any_length_is_checked_to_its_last_byte() {
        for len in 0..20 {
            let plain = "p".repeat(len);
            assert!(!any_needs_escape(plain.as_bytes()), "{len}");
            for position in 0..len {
                let mut text = plain.clone().into_bytes();
                text[position] = b'"';
                assert!(any_needs_escape(&text), "{len} {position}");
            }
        }
    }

    #[test]
    fn timestamps_are_rfc_3339_utc_with_microseconds() {
        let mut clock = Clock {
            second: u64::MAX,
            text: [0; 19],
        };
        for (unix, micros, expected) in [
            (0, 0, "1970-01-01T00:00:00.000000Z"),
            (951_782_400, 7, "2000-02-29T00:00:00.000007Z"),
            (1_709_251_199, 999_999, "2024-02-29T23:59:59.999999Z"),
            (1_795_617_296, 123_456, "2026-11-25T14:34:56.123456Z"),
            (4_102_444_800, 500_000, "2100-01-01T00:00:00.500000Z"),
        ] {
            let now = UNIX_EPOCH + std::time::Duration::new(unix, micros * 1000);
            let mut line = Vec::new();
            push_timestamp(&mut line, &mut clock, now);
            assert_eq!(text(&line), expected);
            // The second time comes from the clock's cache.
            line.clear();
            push_timestamp(&mut line, &mut clock, now);
            assert_eq!(text(&line), expected);
        }
    }

    #[test]
    fn integers_are_decimal() {
        for value in [0, 7, 9, 10, 99, 100, 65_535, 10_u64.pow(19), u64::MAX] {
            let mut line = Vec::new();
            push_u64(&mut line, value);
            assert_eq!(text(&line), value.to_string());
        }
        for value in [i64::MIN, -1, 0, 42, i64::MAX] {
            let mut line = Vec::new();
            push_i64(&mut line, value);
            assert_eq!(text(&line), value.to_string());
        }
    }

    #[test]
    fn addresses_are_written_as_std_writes_them() {
        for addr in [
            "0.0.0.0:0",
            "127.0.0.1:50051",
            "255.255.255.255:65535",
            "10.20.3.4:8",
            "[::1]:443",
            "[fe80::1%2]:9",
        ] {
            let addr: SocketAddr = addr.parse().unwrap();
            let mut line = Vec::new();
            LineFields { line: &mut line }.addr("peer", addr);
            assert_eq!(text(&line), format!(",\"peer\":\"{addr}\""));
        }
    }

    #[test]
    fn ids_are_lowercase_hex() {
        let mut line = Vec::new();
        push_hex(&mut line, &[0x00, 0x0f, 0xa0, 0xff]);
        assert_eq!(text(&line), "000fa0ff");
    }
}
