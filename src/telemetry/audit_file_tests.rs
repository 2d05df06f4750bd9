use std::io::Write;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;

use super::*;

fn line(token_id: &str) -> RevocationLine<'_> {
    RevocationLine {
        schema: SCHEMA,
        event: "revocation",
        token_id,
        subject: None,
        policy: Some("agents"),
        reason: "inactivity",
        revoked_at: "2026-01-02T03:04:05.678Z",
        last_activity: None,
        idle_seconds: Some(1800),
        shadow: false,
        replica: "gw-1",
    }
}

fn lines_of(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_revocation_line_has_every_field_in_order_with_nulls() {
    let text = serde_json::to_string(&line("ab")).unwrap();
    assert_eq!(
        text,
        r#"{"schema":1,"event":"revocation","token_id":"ab","subject":null,"policy":"agents","reason":"inactivity","revoked_at":"2026-01-02T03:04:05.678Z","last_activity":null,"idle_seconds":1800,"shadow":false,"replica":"gw-1"}"#
    );
}

#[test]
fn an_admin_line_flattens_its_fields_between_who_and_replica() {
    let line = AdminLine {
        schema: SCHEMA,
        event: "admin_revocation",
        at: "2026-01-02T03:04:05.678Z",
        who: Some("0123456789ab"),
        fields: serde_json::json!({"token_id": "cd"}),
        replica: "gw-1",
    };
    let doc: serde_json::Value = serde_json::to_value(&line).unwrap();
    let keys: Vec<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = ["schema", "event", "at", "who", "token_id", "replica"];
    expected.sort_unstable();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(keys, expected);
}

#[test]
fn the_file_is_appended_to_and_lines_arrive_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    std::fs::write(&path, "{\"before\":true}\n").unwrap();
    let out = AuditOut::open(
        Destination::File(path.clone()),
        REOPEN_CHECK,
        Counter::default(),
    );
    let pipe = LogPipe::start_named("audit-test", out.unwrap(), 4096);
    for i in 0..200 {
        push_line(&pipe, &line(&format!("{i:032x}")));
    }
    pipe.flush_within(Duration::from_secs(5));
    let lines = lines_of(&path);
    assert_eq!(lines.len(), 201, "a full buffer waits, never drops");
    assert_eq!(lines[0]["before"], true);
    assert_eq!(lines[200]["token_id"], format!("{:032x}", 199));
}

#[test]
fn a_renamed_or_removed_file_is_reopened_at_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let dest = Destination::File(path.clone());
    let mut out = AuditOut::open(dest, Duration::ZERO, Counter::default()).unwrap();
    out.write_all(b"1\n").unwrap();
    std::fs::rename(&path, dir.path().join("audit.jsonl.1")).unwrap();
    out.write_all(b"2\n").unwrap();
    std::fs::remove_file(&path).unwrap();
    out.write_all(b"3\n").unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("audit.jsonl.1")).unwrap(),
        "1\n"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "3\n");
}

#[test]
fn the_path_is_looked_at_no_more_than_once_per_interval() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let dest = Destination::File(path.clone());
    let mut out = AuditOut::open(dest, Duration::from_secs(3600), Counter::default()).unwrap();
    std::fs::rename(&path, dir.path().join("old")).unwrap();
    out.write_all(b"1\n").unwrap();
    assert!(!path.exists(), "no look before the interval");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("old")).unwrap(),
        "1\n"
    );
}

#[test]
fn copytruncate_leaves_no_hole_thanks_to_append() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let dest = Destination::File(path.clone());
    let mut out = AuditOut::open(dest, REOPEN_CHECK, Counter::default()).unwrap();
    out.write_all(b"first line\n").unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(0)
        .unwrap();
    out.write_all(b"2\n").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"2\n");
}

#[cfg(target_os = "linux")]
#[test]
fn a_failed_write_is_counted_and_the_writer_goes_on() {
    // Every write to /dev/full fails with "no space left on device".
    let errors = Counter::default();
    let dest = Destination::File(PathBuf::from("/dev/full"));
    let mut out = AuditOut::open(dest, REOPEN_CHECK, errors.clone()).unwrap();
    out.write_all(b"1\n").unwrap();
    out.write_all(b"2\n").unwrap();
    assert_eq!(errors.get(), 2);
}

#[test]
fn an_unopenable_path_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing").join("audit.jsonl");
    let dest = Destination::File(path.clone());
    let Err(e) = AuditOut::open(dest, REOPEN_CHECK, Counter::default()) else {
        panic!("opened a file in a missing folder");
    };
    assert!(e.to_string().contains(&path.display().to_string()), "{e}");
}

#[test]
fn without_a_sink_nothing_is_written_and_the_replica_is_the_host_name() {
    assert!(!enabled());
    write(&line("ab"));
    assert!(!replica().is_empty());
}
