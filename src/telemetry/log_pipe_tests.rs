use std::io::Write;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;

/// Tells that a write started; lets it through.
type Gate = (Arc<Mutex<mpsc::Sender<()>>>, Arc<Mutex<mpsc::Receiver<()>>>);

/// A stderr stand-in: keeps what is written; with a gate, each write first reports that it
/// started and then waits to be let through, so a test can hold the writer thread mid-write.
#[derive(Clone, Default)]
struct Sink {
    written: Arc<Mutex<Vec<u8>>>,
    gate: Option<Gate>,
}

impl Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Some((started, pass)) = &self.gate {
            let _ = started.lock().unwrap().send(());
            let _ = pass.lock().unwrap().recv();
        }
        self.written.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A sink whose writes wait for `pass`; `started` hears of each write.
fn gated() -> (Sink, mpsc::Receiver<()>, mpsc::Sender<()>) {
    let (started_tx, started_rx) = mpsc::channel();
    let (pass_tx, pass_rx) = mpsc::channel();
    let sink = Sink {
        written: Arc::default(),
        gate: Some((
            Arc::new(Mutex::new(started_tx)),
            Arc::new(Mutex::new(pass_rx)),
        )),
    };
    (sink, started_rx, pass_tx)
}

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn every_line_is_written_in_order_by_the_writer_thread() {
    let sink = Sink::default();
    let pipe = LogPipe::start(sink.clone(), 1 << 16);
    for i in 0..1000 {
        pipe.make_writer()
            .write_all(format!("line {i}\n").as_bytes())
            .unwrap();
    }
    pipe.flush_within(WAIT);
    let written = String::from_utf8(sink.written.lock().unwrap().clone()).unwrap();
    let expected: String = (0..1000).map(|i| format!("line {i}\n")).collect();
    assert_eq!(written, expected);
}

#[test]
fn a_full_buffer_drops_and_counts_a_line_that_may_not_wait() {
    let (sink, started, pass) = gated();
    let pipe = LogPipe::start(sink.clone(), 10);
    pipe.push(b"first\n", false);
    started.recv_timeout(WAIT).unwrap(); // the writer thread holds "first" mid-write
    pipe.push(b"123456789\n", false); // fills the 10 bytes
    let before = pipe.inner.dropped.get();
    pipe.push(b"dropped\n", false);
    assert_eq!(
        pipe.inner.dropped.get() - before,
        1,
        "counted in the drop counter"
    );
    drop(pass); // every write goes through from now on
    pipe.flush_within(WAIT);
    assert_eq!(&*sink.written.lock().unwrap(), b"first\n123456789\n");
}

#[test]
fn an_audit_line_waits_for_room_and_is_never_dropped() {
    let (sink, started, pass) = gated();
    let pipe = LogPipe::start(sink.clone(), 10);
    pipe.push(b"first\n", true);
    started.recv_timeout(WAIT).unwrap();
    pipe.push(b"123456789\n", true);
    let before = pipe.inner.dropped.get();
    let waiting = {
        let pipe = pipe.clone();
        std::thread::spawn(move || pipe.push(b"audit\n", true))
    };
    drop(pass);
    waiting.join().unwrap();
    pipe.flush_within(WAIT);
    assert_eq!(pipe.inner.dropped.get(), before, "nothing dropped");
    assert_eq!(&*sink.written.lock().unwrap(), b"first\n123456789\naudit\n");
}

#[test]
fn the_fmt_subscriber_writes_each_event_through_the_pipe() {
    let sink = Sink::default();
    let pipe = LogPipe::start(sink.clone(), 1 << 16);
    let subscriber = tracing_subscriber::fmt()
        .with_writer(pipe.clone())
        .json()
        .flatten_event(true)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(target: "audit", event = "revocation", token_id = "t1");
        tracing::warn!("something else");
    });
    pipe.flush_within(WAIT);
    let written = String::from_utf8(sink.written.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines.len(), 2, "{written}");
    assert!(lines[0].contains(r#""target":"audit""#) && lines[0].contains(r#""token_id":"t1""#));
    assert!(lines[1].contains("something else"));
}

#[test]
fn lines_that_come_while_the_writer_rests_go_out_with_its_next_write() {
    const REST: Duration = Duration::from_secs(3);
    let (sink, started, pass) = gated();
    let pipe = LogPipe::start_resting("log-test", sink.clone(), 1 << 16, REST);
    pipe.push(b"first\n", false);
    started.recv_timeout(WAIT).unwrap();
    pass.send(()).unwrap(); // "first" is written; the writer rests from now on
    pipe.push(b"second\n", false);
    assert!(
        started.recv_timeout(REST / 10).is_err(),
        "no write starts while the writer rests"
    );
    pipe.push(b"third\n", false);
    started.recv_timeout(WAIT).unwrap();
    pass.send(()).unwrap();
    pipe.flush_within(WAIT);
    assert_eq!(&*sink.written.lock().unwrap(), b"first\nsecond\nthird\n");
    assert!(started.try_recv().is_err(), "in two writes");
}
