//! Deliveries not finished at a graceful stop, kept for the next start in a file beside the
//! snapshot (`<state.snapshot>.hooks`, JSON lines; docs/reference.md, "Revocation hooks").
//!
//! Only webhook deliveries are kept: an RFC 7009 delivery carries the raw token, which
//! idlegate never writes to disk. The file is read at start and left in place until the next
//! graceful stop rewrites or removes it, so a process killed in between sends those
//! deliveries again rather than losing them (receivers see them at least once).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::job::{Job, Payload, WebhookEvent};
use crate::clock::{Clock, UnixMs};

/// A pending file larger than this is not read (10,000 deliveries take about 2 MB).
const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

#[derive(Serialize, Deserialize)]
struct Kept {
    #[serde(flatten)]
    event: WebhookEvent,
    /// When retrying stops (wall clock), so a restart does not extend the retry time.
    retry_until_ms: UnixMs,
    attempts: u32,
}

pub(crate) fn path_beside(snapshot: &Path) -> PathBuf {
    let mut name = snapshot.as_os_str().to_owned();
    name.push(".hooks");
    PathBuf::from(name)
}

/// Writes the webhook deliveries of `jobs` (or removes the file when there are none);
/// returns how many RFC 7009 deliveries could not be kept.
pub(crate) fn save(path: &Path, jobs: &[Job], clock: &Clock) -> std::io::Result<usize> {
    let now = Instant::now();
    let mut lines = Vec::new();
    let mut not_kept = 0;
    for job in jobs {
        let Payload::Webhook(event) = &job.payload else {
            not_kept += 1;
            continue;
        };
        let left = job.retry_until.saturating_duration_since(now);
        let kept = Kept {
            event: event.clone(),
            retry_until_ms: clock.now_ms() + left.as_millis() as u64,
            attempts: job.attempts,
        };
        serde_json::to_writer(&mut lines, &kept).map_err(std::io::Error::other)?;
        lines.push(b'\n');
    }
    if lines.is_empty() {
        match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => return Ok(not_kept),
        }
    }
    write_private(path, &lines)?;
    Ok(not_kept)
}

/// Temp file (owner-only), fsync, rename over.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let temp = path_with_suffix(path, ".tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temp, path)
}

fn path_with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The kept deliveries, each with the retry time it had left; a line that does not parse is
/// skipped and counted in the second value.
pub(crate) fn load(path: &Path, clock: &Clock) -> std::io::Result<(Vec<Job>, usize)> {
    let text = match crate::files::read_text(path, MAX_FILE_BYTES) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(e),
    };
    let (now, now_ms) = (Instant::now(), clock.now_ms());
    let mut jobs = Vec::new();
    let mut bad = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(kept) = serde_json::from_str::<Kept>(line) else {
            bad += 1;
            continue;
        };
        let left = Duration::from_millis(kept.retry_until_ms.saturating_sub(now_ms));
        jobs.push(Job {
            payload: Payload::Webhook(kept.event),
            retry_until: now + left,
            attempts: kept.attempts,
        });
    }
    Ok((jobs, bad))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn webhook(token_id: &str, left: Duration) -> Job {
        Job {
            payload: Payload::Webhook(WebhookEvent {
                token_id: token_id.into(),
                reason: "inactivity".into(),
                revoked_at_ms: 1_700_000_000_000,
                last_activity_ms: 1_699_999_000_000,
            }),
            retry_until: Instant::now() + left,
            attempts: 3,
        }
    }

    fn event(job: &Job) -> &WebhookEvent {
        match &job.payload {
            Payload::Webhook(e) => e,
            Payload::Rfc7009 { .. } => panic!("not a webhook"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn webhook_deliveries_survive_a_restart_with_the_retry_time_they_had_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_beside(&dir.path().join("idlegate.state"));
        let clock = Clock::starting_at(1_700_000_000_000);
        let jobs = [
            webhook("aa", Duration::from_secs(600)),
            webhook("bb", Duration::ZERO),
        ];
        assert_eq!(save(&path, &jobs, &clock).unwrap(), 0);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "owner-only");

        tokio::time::advance(Duration::from_secs(100)).await;
        let (loaded, bad) = load(&path, &clock).unwrap();
        assert_eq!(bad, 0);
        assert_eq!(loaded.len(), 2);
        assert_eq!(event(&loaded[0]), event(&jobs[0]));
        assert_eq!(loaded[0].attempts, 3);
        let left = loaded[0].retry_until - Instant::now();
        assert_eq!(
            left,
            Duration::from_secs(500),
            "the 100 s of downtime count"
        );
        assert!(loaded[1].retry_until <= Instant::now());
        assert!(path.exists(), "kept until the next graceful stop");
    }

    #[tokio::test]
    async fn rfc7009_deliveries_are_never_written_and_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.hooks");
        let raw = "eyJhbGciOiJSUzI1NiJ9.secret-token.sig";
        let job = Job {
            payload: Payload::Rfc7009 {
                key: crate::token::TokenKey([0xcc; 16]),
                token_id: "cc".into(),
                raw: raw.into(),
            },
            retry_until: Instant::now(),
            attempts: 1,
        };
        let clock = Clock::new();
        let jobs = [job, webhook("aa", Duration::from_secs(5))];
        assert_eq!(save(&path, &jobs, &clock).unwrap(), 1);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("secret-token") && text.contains("\"aa\""),
            "{text}"
        );
    }

    #[tokio::test]
    async fn nothing_pending_removes_the_file_and_a_bad_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.hooks");
        let clock = Clock::new();
        assert_eq!(load(&path, &clock).unwrap().0.len(), 0, "no file: nothing");
        save(&path, &[webhook("aa", Duration::from_secs(5))], &clock).unwrap();
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{not json\n");
        std::fs::write(&path, text).unwrap();
        let (jobs, bad) = load(&path, &clock).unwrap();
        assert_eq!((jobs.len(), bad), (1, 1));
        save(&path, &[], &clock).unwrap();
        assert!(!path.exists());
    }
}
