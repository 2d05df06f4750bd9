//! `--log-format json`: each event as one JSON line, byte for byte what tracing-subscriber's
//! JSON format with `flatten_event` writes, but written straight into the line buffer.
//!
//! Why not tracing-subscriber's own: a mass expiry writes a million audit events, and its
//! format went through serde with a `from_utf8` per written piece, a `String` for the time
//! and one per field shown with `%`, some 3 µs a line; this writer takes a fraction of that
//! (`cargo bench --bench log_line`, README "Benchmarks"). An event inside a span, or one
//! that came from the `log` crate, is handed to tracing-subscriber's format as before: they
//! are rare and their fields need the span store.
//!
//! The lines are pinned against tracing-subscriber's in `json_line_tests.rs`, event by event.

use std::cell::RefCell;
use std::fmt::{self, Write};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{Format, FormatEvent, FormatFields, Json, Writer};
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::registry::LookupSpan;

/// The JSON event format of `--log-format json` (see the module doc).
pub struct JsonLines<T = SystemTime> {
    timer: T,
    /// tracing-subscriber's format, for events in a span and events of the `log` crate.
    in_span: Format<Json, T>,
}

impl JsonLines<SystemTime> {
    /// Time stamps from the system clock, as tracing-subscriber's default.
    pub fn new() -> JsonLines<SystemTime> {
        JsonLines::with_timer(SystemTime)
    }
}

impl Default for JsonLines<SystemTime> {
    fn default() -> Self {
        JsonLines::new()
    }
}

impl<T: FormatTime + Clone> JsonLines<T> {
    /// Time stamps from `timer` (tests use a fixed one).
    pub fn with_timer(timer: T) -> JsonLines<T> {
        let in_span = tracing_subscriber::fmt::format()
            .json()
            .flatten_event(true)
            .with_timer(timer.clone());
        JsonLines { timer, in_span }
    }
}

impl<S, N, T> FormatEvent<S, N> for JsonLines<T>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'w> FormatFields<'w> + 'static,
    T: FormatTime,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        // `log` records carry their own target and place in fields tracing-subscriber
        // moves into the line's metadata; span fields live in the span store.
        if meta.target() == "log" || event.parent().is_some() || ctx.lookup_current().is_some() {
            return self.in_span.format_event(ctx, writer, event);
        }
        LINE.with(|line| match line.try_borrow_mut() {
            Ok(mut line) => {
                let written = self.write_line(&mut line, &mut writer, event);
                if line.capacity() > LINE_KEPT {
                    *line = String::with_capacity(LINE_START);
                }
                written
            }
            // A field's `Debug` that logs, while this thread formats a line.
            Err(_) => self.write_line(&mut String::new(), &mut writer, event),
        })
    }
}

/// A line's buffer to start with: an audit line is some 300 bytes.
const LINE_START: usize = 512;
/// The most a thread keeps between lines: after a longer line its buffer is let go.
const LINE_KEPT: usize = 16 << 10;

thread_local! {
    /// The line being formatted, reused: built with inlined pushes and handed on in one
    /// write (the `Writer` is a `dyn` writer, a call per piece).
    static LINE: RefCell<String> = RefCell::new(String::with_capacity(LINE_START));
}

impl<T: FormatTime> JsonLines<T> {
    fn write_line(
        &self,
        line: &mut String,
        writer: &mut Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        line.clear();
        let meta = event.metadata();
        line.push_str("{\"timestamp\":\"");
        self.timer
            .format_time(&mut Writer::new(&mut Escaped(&mut *line)))?;
        line.push_str("\",\"level\":\"");
        // tracing-serde writes a level by these names too.
        line.push_str(meta.level().as_str());
        line.push('"');
        let mut fields = Fields {
            out: &mut *line,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        line.push_str(",\"target\":");
        write_json_str(line, meta.target())?;
        line.push_str("}\n");
        writer.write_str(line)
    }
}

/// Writes each field as `,"name":value`, the way tracing-serde's map visitor serializes it:
/// kinds it does not name (`i128`, errors, bytes) come through `record_debug` as text.
struct Fields<'a, W> {
    out: &'a mut W,
    result: fmt::Result,
}

impl<W: Write> Fields<'_, W> {
    fn entry(&mut self, field: &Field, value: impl FnOnce(&mut W) -> fmt::Result) {
        if self.result.is_ok() {
            self.result = self
                .out
                .write_char(',')
                .and_then(|()| write_json_str(self.out, field.name()))
                .and_then(|()| self.out.write_char(':'))
                .and_then(|()| value(self.out));
        }
    }
}

impl<W: Write> Visit for Fields<'_, W> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.entry(field, |out| write_json_str(out, value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.entry(field, |out| {
            out.write_char('"')?;
            write!(Escaped(out), "{value:?}")?;
            out.write_char('"')
        });
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.entry(field, |out| write!(out, "{value}"));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.entry(field, |out| write!(out, "{value}"));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.entry(field, |out| {
            out.write_str(if value { "true" } else { "false" })
        });
    }

    /// serde_json's shortest round-trip form, `null` when not finite: rare enough to let
    /// serde_json write it.
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.entry(field, |out| {
            out.write_str(&serde_json::to_string(&value).map_err(|_| fmt::Error)?)
        });
    }
}

/// `s` as a JSON string, quoted.
pub(crate) fn write_json_str(out: &mut impl Write, s: &str) -> fmt::Result {
    out.write_char('"')?;
    Escaped(out).write_str(s)?;
    out.write_char('"')
}

/// Escapes what it is given as serde_json does inside a string: `"` and `\`, the five short
/// escapes, other control characters as `\u00xx`; everything else as is.
struct Escaped<'a, W: ?Sized>(&'a mut W);

/// Which bytes serde_json escapes in a string: the control characters, `"` and `\`.
const NEEDS_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

impl<W: Write + ?Sized> Write for Escaped<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let bytes = s.as_bytes();
        // Most text needs no escape: a test of every byte without an early exit (which the
        // compiler vectorizes) before the byte-by-byte walk; a third of the line's time
        // went to the walk.
        let plain = !bytes.iter().fold(false, |any, &b| {
            any | (b < 0x20) | (b == b'"') | (b == b'\\')
        });
        if plain {
            return self.0.write_str(s);
        }
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if !NEEDS_ESCAPE[usize::from(b)] {
                continue;
            }
            // Every byte escaped is ASCII, so `i` is a char boundary.
            self.0.write_str(&s[start..i])?;
            match b {
                b'"' => self.0.write_str("\\\"")?,
                b'\\' => self.0.write_str("\\\\")?,
                b'\n' => self.0.write_str("\\n")?,
                b'\r' => self.0.write_str("\\r")?,
                b'\t' => self.0.write_str("\\t")?,
                0x08 => self.0.write_str("\\b")?,
                0x0c => self.0.write_str("\\f")?,
                _ => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    self.0.write_str("\\u00")?;
                    self.0.write_char(char::from(HEX[usize::from(b >> 4)]))?;
                    self.0.write_char(char::from(HEX[usize::from(b & 0xf)]))?;
                }
            }
            start = i + 1;
        }
        self.0.write_str(&s[start..])
    }
}

#[cfg(test)]
#[path = "json_line_tests.rs"]
mod tests;
