use std::io;
use std::sync::{Arc, Mutex};

use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

use super::{write_json_str, JsonLines, LINE, LINE_KEPT};

/// A time stamp that stays put, so two formats' lines can be compared byte for byte; with a
/// quote in it when `quoted`, to see the stamp escaped as tracing-subscriber escapes it.
#[derive(Clone, Copy)]
struct Fixed {
    quoted: bool,
}

impl FormatTime for Fixed {
    fn format_time(&self, w: &mut Writer<'_>) -> std::fmt::Result {
        w.write_str(if self.quoted {
            "tick \"7\"\n"
        } else {
            "2026-12-07T21:00:00.123456Z"
        })
    }
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// The lines `emit` logs through tracing-subscriber's JSON format (`reference`) or ours.
fn lines(reference: bool, timer: Fixed, emit: fn()) -> String {
    let out = Capture::default();
    let sink = out.clone();
    let builder = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .json()
        .flatten_event(true)
        .with_timer(timer);
    if reference {
        tracing::subscriber::with_default(builder.finish(), emit);
    } else {
        let ours = builder.event_format(JsonLines::with_timer(timer)).finish();
        tracing::subscriber::with_default(ours, emit);
    }
    out.text()
}

#[derive(Debug)]
struct Oops;

impl std::fmt::Display for Oops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("it \"broke\"\tbadly")
    }
}

impl std::error::Error for Oops {}

/// Every kind of field tracing records, at every level, with text that needs escaping.
fn every_kind_of_field() {
    let id = "5f2c".to_string();
    let missing: Option<&str> = None;
    tracing::info!(
        target: "audit",
        event = "revocation",
        token_id = %id,
        reason = "inactivity",
        last_activity = missing,
        idle_seconds = Some(600u64),
        shadow = false,
        subject = Some("ana@example.com"),
        policy = missing,
        replica = "pod-1",
    );
    tracing::warn!(
        port = 8080u16,
        delta = -12i64,
        "listening on {} after {:?}",
        "[::]",
        "x"
    );
    tracing::error!(error = &Oops as &dyn std::error::Error, "hook failed");
    tracing::debug!(
        ratio = 1.5f64,
        tiny = 1e-300f64,
        huge = 1e300f64,
        nan = f64::NAN
    );
    tracing::trace!(
        wide = -170141183460469231731687303715884105728i128,
        big = u128::MAX
    );
    tracing::info!(
        text = "quote \" backslash \\ nl \n cr \r tab \t bs \u{8} ff \u{c} nul \u{0} us \u{1f} del \u{7f} é ✓ 🦀",
        bytes = tracing::field::debug(b"\x00ab"),
        r#type = "raw name",
    );
    tracing::info!("");
    tracing::info!(target: "weird \"target\"", flag = true, "message with \"quotes\"");
}

#[test]
fn a_line_outside_spans_is_byte_for_byte_what_tracing_subscriber_writes() {
    let timer = Fixed { quoted: false };
    let ours = lines(false, timer, every_kind_of_field);
    let reference = lines(true, timer, every_kind_of_field);
    assert_eq!(ours.lines().count(), 8, "{ours}");
    for (a, b) in ours.lines().zip(reference.lines()) {
        assert_eq!(a, b);
        serde_json::from_str::<serde_json::Value>(a).expect("each line is JSON");
    }
    assert_eq!(ours, reference);
}

#[test]
fn a_time_stamp_that_needs_escaping_is_escaped_as_tracing_subscriber_does() {
    let timer = Fixed { quoted: true };
    let emit = || tracing::info!(n = 1u64, "hi");
    assert_eq!(lines(false, timer, emit), lines(true, timer, emit));
}

fn in_spans() {
    let outer = tracing::info_span!("request", method = "GET", n = 3u64);
    let _outer = outer.enter();
    let inner = tracing::info_span!("upstream", attempt = 1u64);
    inner.in_scope(|| tracing::info!(status = 502u64, "upstream failed"));
    tracing::warn!(parent: None, "explicit root inside a span");
    let detached = tracing::info_span!(parent: None, "detached");
    tracing::info!(parent: &detached, "explicit parent");
}

#[test]
fn a_line_in_a_span_is_tracing_subscribers_own_with_the_span_fields() {
    let timer = Fixed { quoted: false };
    let ours = lines(false, timer, in_spans);
    assert_eq!(ours, lines(true, timer, in_spans));
    assert!(
        ours.contains(r#""spans":[{"method":"GET","n":3,"name":"request"}"#),
        "{ours}"
    );
}

#[test]
fn strings_are_escaped_exactly_as_serde_json_escapes_them() {
    let mut every: String = (0u8..=0x7f).map(char::from).collect();
    every.push_str("é✓🦀\u{2028}\u{fffd}");
    for s in [every.as_str(), "", "plain", "\"", "\\\\", "end\n"] {
        let mut ours = String::new();
        write_json_str(&mut ours, s).unwrap();
        assert_eq!(ours, serde_json::to_string(s).unwrap());
    }
}

#[test]
fn a_thread_keeps_no_large_buffer_after_a_long_line() {
    let timer = Fixed { quoted: false };
    let long = || tracing::info!(body = "x".repeat(1 << 20).as_str(), "long");
    let out = lines(false, timer, long);
    assert!(out.len() > 1 << 20, "the whole line was written");
    assert!(LINE.with(|line| line.borrow().capacity()) <= LINE_KEPT);
}
