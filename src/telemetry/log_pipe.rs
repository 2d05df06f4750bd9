//! The log writer: an event is formatted on the thread that logs it and appended to a bounded
//! in-memory buffer; one thread of its own writes the buffer out in large writes.
//!
//! Writing each line to stderr from the thread that logged it costs a system call per line,
//! and blocks that thread whenever stderr is a pipe whose reader is behind (a container's log
//! collector). A mass expiry logs a million audit lines; a proxy thread must not wait for any
//! of them. When the buffer is full, an `audit` line waits for room (audit events are never
//! lost; they come from the effects task, or one at a time from a request), and any other
//! line is dropped and counted in `idlegate_log_lines_dropped_total` (docs/reference.md,
//! "Metrics").
//!
//! The writer writes at most every [`WRITE_EVERY`]: lines that arrive while it rests go out
//! with the next write. A writer that wrote whenever a line came woke about once per line
//! under a burst, and the thread logging the burst contended with it for the buffer's lock.

use std::io::Write;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use prometheus_client::metrics::counter::Counter;
use tracing_subscriber::fmt::MakeWriter;

/// Bytes of formatted lines held while the writer thread is behind (some 30,000 lines).
pub(crate) const CAPACITY: usize = 8 << 20;
/// The writer's rest after a write. In a mass expiry (`bash benches/mass_expiry.sh`, 1M
/// audit lines at a tenth of a core), a writer that wrote whenever a line came switched some
/// 2,000 times a second and the lines were not all written 60 s later; resting 10 ms after
/// each write, some 85 times a second, and every line was written in 37–45 s. A line waits
/// at most this long for its write.
pub(crate) const WRITE_EVERY: Duration = Duration::from_millis(10);
/// How long [`flush`] waits for stderr at exit.
const FLUSH_WAIT: Duration = Duration::from_secs(5);

/// The pipe the process logs through, once `init_logging` set it up.
static INSTALLED: OnceLock<LogPipe> = OnceLock::new();

#[derive(Default)]
struct Buf {
    bytes: Vec<u8>,
    /// The writer thread holds bytes taken from the buffer and not yet written.
    writing: bool,
}

struct Inner {
    buf: Mutex<Buf>,
    capacity: usize,
    /// The writer's rest after each write ([`WRITE_EVERY`]).
    write_every: Duration,
    /// Signalled when bytes arrive (the writer waits on it).
    ready: Condvar,
    /// Signalled when bytes were taken or written (full producers and `flush` wait on it).
    room: Condvar,
    /// Lines dropped because the buffer was full.
    dropped: Counter,
}

/// A `MakeWriter` for the fmt subscriber. Cheap to clone.
#[derive(Clone)]
pub(crate) struct LogPipe {
    inner: Arc<Inner>,
}

impl LogPipe {
    /// Starts the writer thread over `out`; `capacity` bytes may wait for it.
    pub(crate) fn start(out: impl Write + Send + 'static, capacity: usize) -> LogPipe {
        LogPipe::start_named("idlegate-log", out, capacity)
    }

    /// [`LogPipe::start`] with a thread name of its own (the audit file has its own pipe).
    pub(crate) fn start_named(
        thread: &str,
        out: impl Write + Send + 'static,
        capacity: usize,
    ) -> LogPipe {
        LogPipe::start_resting(thread, out, capacity, WRITE_EVERY)
    }

    /// [`LogPipe::start_named`] with the writer resting `write_every` after each write.
    fn start_resting(
        thread: &str,
        out: impl Write + Send + 'static,
        capacity: usize,
        write_every: Duration,
    ) -> LogPipe {
        let inner = Arc::new(Inner {
            buf: Mutex::new(Buf::default()),
            capacity,
            write_every,
            ready: Condvar::new(),
            room: Condvar::new(),
            dropped: Counter::default(),
        });
        let writer = inner.clone();
        let spawned = std::thread::Builder::new()
            .name(thread.into())
            .spawn(move || write_out(&writer, out));
        if spawned.is_err() {
            // No thread, no writer: every line would wait or be dropped. Say it once, plainly.
            eprintln!("idlegate: cannot start the {thread} writer thread; its lines are dropped");
        }
        LogPipe { inner }
    }

    /// Appends one formatted event; when full, waits (`wait`) or drops and counts it.
    fn push(&self, line: &[u8], wait: bool) {
        let mut buf = self.inner.buf.lock();
        while buf.bytes.len() + line.len() > self.inner.capacity && !buf.bytes.is_empty() {
            if !wait {
                self.inner.dropped.inc();
                return;
            }
            self.inner.room.wait(&mut buf);
        }
        let was_empty = buf.bytes.is_empty();
        buf.bytes.extend_from_slice(line);
        if was_empty {
            self.inner.ready.notify_one();
        }
    }

    /// Appends one whole line, waiting for room when full (audit lines are never dropped).
    pub(crate) fn push_waiting(&self, line: &[u8]) {
        self.push(line, true);
    }

    /// Waits until every line appended so far is written (at most `limit`).
    pub(crate) fn flush_within(&self, limit: Duration) {
        let deadline = std::time::Instant::now() + limit;
        let mut buf = self.inner.buf.lock();
        while !buf.bytes.is_empty() || buf.writing {
            if self.inner.room.wait_until(&mut buf, deadline).timed_out() {
                return;
            }
        }
    }

    /// Makes this the pipe [`flush`] waits for.
    pub(crate) fn install(&self) {
        let _ = INSTALLED.set(self.clone());
    }
}

/// `idlegate_log_lines_dropped_total`: the process's pipe's drop count (a counter of its own
/// when none is installed, as in tests).
pub(crate) fn dropped() -> Counter {
    INSTALLED
        .get()
        .map(|pipe| pipe.inner.dropped.clone())
        .unwrap_or_default()
}

/// Waits until the process's log lines are written (before `exit`, which runs no destructor).
pub(crate) fn flush() {
    if let Some(pipe) = INSTALLED.get() {
        pipe.flush_within(FLUSH_WAIT);
    }
}

/// The writer thread: takes everything buffered at once, writes it in one go, and rests
/// ([`WRITE_EVERY`]) before it looks again.
fn write_out(inner: &Inner, mut out: impl Write) {
    let mut chunk = Vec::new();
    loop {
        {
            let mut buf = inner.buf.lock();
            while buf.bytes.is_empty() {
                inner.ready.wait(&mut buf);
            }
            std::mem::swap(&mut chunk, &mut buf.bytes);
            buf.writing = true;
            inner.room.notify_all();
        }
        let started = Instant::now();
        // Nowhere to report a failed write to but the stream that failed.
        let _ = out.write_all(&chunk).and_then(|()| out.flush());
        chunk.clear();
        inner.buf.lock().writing = false;
        inner.room.notify_all();
        std::thread::sleep(inner.write_every.saturating_sub(started.elapsed()));
    }
}

/// One event's writer: the fmt subscriber writes a formatted event with one `write_all`.
pub(crate) struct Line<'a> {
    pipe: &'a LogPipe,
    wait: bool,
}

impl Write for Line<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.pipe.push(bytes, self.wait);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogPipe {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Line<'a> {
        Line {
            pipe: self,
            wait: false,
        }
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Line<'a> {
        Line {
            pipe: self,
            wait: meta.target() == "audit",
        }
    }
}

#[cfg(test)]
#[path = "log_pipe_tests.rs"]
mod tests;
