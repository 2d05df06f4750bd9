//! The audit file: every audit event as one JSON line on a file (or stdout) of its own, ready
//! for a SIEM, whatever `--log-format` says (docs/reference.md, "Audit events").
//!
//! Lines go through a [`LogPipe`] of their own: the thread that audits formats its line and
//! appends it to a bounded buffer (waiting for room when full, never dropping), and a writer
//! thread appends the buffer to the file. Rotation is the platform's: the file is opened with
//! `O_APPEND` (so `copytruncate` works), and when the path names another file or none (renamed
//! or removed by logrotate) the writer opens the path anew, looking at most once a second.
//! A failed write is logged and counted in `idlegate_audit_write_errors_total`.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use prometheus_client::metrics::counter::Counter;
use serde::Serialize;

use super::log_pipe::{self, LogPipe};
use crate::clock::{rfc3339, UnixMs};

/// The `schema` of every line: raised only when a field changes meaning or goes away.
pub(crate) const SCHEMA: u32 = 1;
/// How often the writer looks whether the path still names the file it writes.
pub(crate) const REOPEN_CHECK: Duration = Duration::from_secs(1);
/// How long [`flush`] waits for the file at exit.
const FLUSH_WAIT: Duration = Duration::from_secs(10);
/// The replica name when neither `audit.replica`, `HOSTNAME` nor the kernel names one.
const UNKNOWN_REPLICA: &str = "unknown";

/// Where the lines go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Destination {
    Stdout,
    File(PathBuf),
}

/// The process's audit sink, once [`install`]ed (`idlegate run`).
struct Sink {
    replica: String,
    pipe: Option<LogPipe>,
    errors: Counter,
}

static INSTALLED: OnceLock<Sink> = OnceLock::new();
/// The host name, looked up once when no sink names the replica.
static HOST_NAME: OnceLock<String> = OnceLock::new();

/// Opens the destination (creating a missing file) and makes it the process's audit sink;
/// `replica` None = the host name. The first call wins; later ones change nothing.
pub(crate) fn install(dest: Option<Destination>, replica: Option<String>) -> std::io::Result<()> {
    let errors = Counter::default();
    let pipe = match dest {
        None => None,
        Some(dest) => {
            let out = AuditOut::open(dest, REOPEN_CHECK, errors.clone())?;
            Some(LogPipe::start_named(
                "idlegate-audit",
                out,
                log_pipe::CAPACITY,
            ))
        }
    };
    let replica = replica.unwrap_or_else(|| host_name().to_string());
    let _ = INSTALLED.set(Sink {
        replica,
        pipe,
        errors,
    });
    Ok(())
}

/// Which gateway instance the audit events name: `audit.replica`, else the host name.
pub(crate) fn replica() -> &'static str {
    match INSTALLED.get() {
        Some(sink) => &sink.replica,
        None => host_name(),
    }
}

/// `HOSTNAME` (set by Docker and Kubernetes: the pod name), else the kernel's host name.
fn host_name() -> &'static str {
    HOST_NAME.get_or_init(|| {
        let from_env = std::env::var("HOSTNAME").ok();
        let from_kernel = || {
            let text = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
            Some(text.trim().to_string())
        };
        from_env
            .filter(|h| !h.trim().is_empty())
            .or_else(from_kernel)
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| UNKNOWN_REPLICA.to_string())
    })
}

/// A revocation's line: every field is always there, `null` when unknown.
#[derive(Serialize)]
pub(crate) struct RevocationLine<'a> {
    pub(crate) schema: u32,
    pub(crate) event: &'static str,
    pub(crate) token_id: &'a str,
    pub(crate) subject: Option<&'a str>,
    pub(crate) policy: Option<&'a str>,
    pub(crate) reason: &'a str,
    /// RFC 3339, UTC, milliseconds.
    pub(crate) revoked_at: &'a str,
    pub(crate) last_activity: Option<&'a str>,
    pub(crate) idle_seconds: Option<u64>,
    pub(crate) shadow: bool,
    pub(crate) replica: &'a str,
}

/// An admin or config event's line: `schema`, `event`, `at`, `who` (null for a config
/// reload, which no admin sent), the event's own fields, `replica`.
#[derive(Serialize)]
pub(crate) struct AdminLine<'a> {
    pub(crate) schema: u32,
    pub(crate) event: &'static str,
    /// RFC 3339, UTC, milliseconds.
    pub(crate) at: &'a str,
    pub(crate) who: Option<&'a str>,
    /// A JSON object: its members become the line's.
    #[serde(flatten)]
    pub(crate) fields: serde_json::Value,
    pub(crate) replica: &'a str,
}

/// Whether an audit file (or stdout) takes the lines: callers skip building them otherwise.
pub(crate) fn enabled() -> bool {
    INSTALLED.get().is_some_and(|s| s.pipe.is_some())
}

/// An admin or config event's line in the audit file, if there is one.
pub(crate) fn admin(
    event: &'static str,
    who: Option<&str>,
    at_ms: UnixMs,
    fields: serde_json::Value,
) {
    if !enabled() {
        return;
    }
    let at = rfc3339(at_ms);
    write(&AdminLine {
        schema: SCHEMA,
        event,
        at: &at,
        who,
        fields,
        replica: replica(),
    });
}

/// Appends one line to the audit file, if there is one; waits while its buffer is full.
pub(crate) fn write(line: &impl Serialize) {
    let Some(pipe) = INSTALLED.get().and_then(|s| s.pipe.as_ref()) else {
        return;
    };
    push_line(pipe, line);
}

/// One JSON object and its newline, appended in one piece so lines never interleave.
pub(crate) fn push_line(pipe: &LogPipe, line: &impl Serialize) {
    let mut bytes = match serde_json::to_vec(line) {
        Ok(bytes) => bytes,
        Err(e) => {
            // Only a map with non-string keys fails, and no line has one.
            tracing::error!(error = %e, "cannot format an audit line");
            return;
        }
    };
    bytes.push(b'\n');
    pipe.push_waiting(&bytes);
}

/// `idlegate_audit_write_errors_total`: failed writes of the audit file (a counter of its own
/// when none is installed).
pub(crate) fn write_errors() -> Counter {
    INSTALLED
        .get()
        .map(|sink| sink.errors.clone())
        .unwrap_or_default()
}

/// Waits until every audit line is written (before `exit`, which runs no destructor).
pub(crate) fn flush() {
    if let Some(pipe) = INSTALLED.get().and_then(|s| s.pipe.as_ref()) {
        pipe.flush_within(FLUSH_WAIT);
    }
}

/// The writer thread's end: stdout, or the file reopened when rotated away. It never fails:
/// it reports its own failures (logged and counted), so the pipe keeps going.
pub(crate) struct AuditOut {
    dest: Out,
    errors: Counter,
}

enum Out {
    Stdout(std::io::Stdout),
    File(RotatingFile),
}

/// An append-only file that follows its path.
struct RotatingFile {
    path: PathBuf,
    file: File,
    /// The identity (device, inode) of `file`.
    id: Option<(u64, u64)>,
    every: Duration,
    checked: Instant,
}

impl AuditOut {
    /// Opens `dest`; a file is looked for at its path at most every `every`.
    pub(crate) fn open(
        dest: Destination,
        every: Duration,
        errors: Counter,
    ) -> std::io::Result<AuditOut> {
        let dest = match dest {
            Destination::Stdout => Out::Stdout(std::io::stdout()),
            Destination::File(path) => {
                let file = open_append(&path).map_err(|e| with_path(&path, e))?;
                Out::File(RotatingFile {
                    id: identity_of_file(&file),
                    path,
                    file,
                    every,
                    checked: Instant::now(),
                })
            }
        };
        Ok(AuditOut { dest, errors })
    }

    fn target(&self) -> String {
        match &self.dest {
            Out::Stdout(_) => "stdout".to_string(),
            Out::File(f) => f.path.display().to_string(),
        }
    }
}

impl Write for AuditOut {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let (written, reopen) = match &mut self.dest {
            Out::Stdout(out) => (out.write_all(bytes).and_then(|()| out.flush()), Ok(())),
            Out::File(f) => {
                // On failure the old file still takes the lines: better there than nowhere.
                let reopen = f.follow_path();
                (f.file.write_all(bytes), reopen)
            }
        };
        if let Err(e) = reopen {
            self.errors.inc();
            let target = self.target();
            tracing::error!(audit_file = %target, error = %e, "cannot reopen the audit file");
        }
        if let Err(e) = written {
            self.errors.inc();
            let lines_lost = bytes.iter().filter(|b| **b == b'\n').count();
            let target = self.target();
            tracing::error!(
                audit_file = %target,
                error = %e,
                lines_lost,
                "cannot write the audit file"
            );
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl RotatingFile {
    /// Reopens the path when it no longer names the open file (at most every `every`).
    fn follow_path(&mut self) -> std::io::Result<()> {
        if self.checked.elapsed() < self.every {
            return Ok(());
        }
        self.checked = Instant::now();
        let at_path = std::fs::metadata(&self.path).ok().map(|m| identity_of(&m));
        if at_path.is_some() && at_path == self.id {
            return Ok(());
        }
        let file = open_append(&self.path).map_err(|e| with_path(&self.path, e))?;
        self.id = identity_of_file(&file);
        self.file = file;
        Ok(())
    }
}

/// `O_APPEND`: every write lands at the end, also after a `copytruncate`.
fn open_append(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
}

fn with_path(path: &Path, e: std::io::Error) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

fn identity_of_file(file: &File) -> Option<(u64, u64)> {
    file.metadata().ok().map(|m| identity_of(&m))
}

#[cfg(unix)]
fn identity_of(m: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

/// Without inodes a renamed file cannot be told from a new one: the path is never reopened.
#[cfg(not(unix))]
fn identity_of(_: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

#[cfg(test)]
#[path = "audit_file_tests.rs"]
mod tests;
