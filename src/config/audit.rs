//! The `[audit]` section: the audit events as JSON lines of their own, for a SIEM
//! (docs/reference.md, "Audit events"). Both keys need a restart.

use std::path::Path;

use super::model::{AuditConfig, AuditTarget};
use super::values;
use super::walk::{set, Field, Report, Section};

/// What `file` takes for standard output.
pub(crate) const STDOUT: &str = "-";
/// A host name is at most 253 characters; a replica name says which one.
const REPLICA_MAX_CHARS: usize = 253;

pub(crate) fn read_audit(s: Option<&Section>, r: &mut Report, base: &Path) -> AuditConfig {
    let mut c = AuditConfig::default();
    if let Some(s) = s {
        s.reject_unknown(&["file", "replica"], r);
    }
    set(s, "file", r, &mut c.file, |f, r| {
        target(f, r, base).map(Some)
    });
    set(s, "replica", r, &mut c.replica, |f, r| {
        replica(f, r).map(Some)
    });
    c
}

/// `"-"` or a file path whose folder exists, the file itself being created at start when
/// missing: a typo in the folder shows here, not as a gateway that will not start.
fn target(f: &Field, r: &mut Report, base: &Path) -> Option<AuditTarget> {
    if f.peek_str() == Some(STDOUT) {
        return Some(AuditTarget::Stdout);
    }
    let path = values::path(f, r, base)?;
    let text = f.peek_str().unwrap_or_default();
    if text.ends_with('/') || path.is_dir() {
        let hint = "name a file, e.g. \"/var/log/idlegate/audit.jsonl\", or \"-\" for stdout";
        f.error(r, format!("{} is a folder; {hint}", path.display()));
        return None;
    }
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(folder) = folder.filter(|p| !p.is_dir()) {
        let what = if folder.exists() {
            "is not a folder"
        } else {
            "does not exist"
        };
        f.error(r, format!("the folder {} {what}", folder.display()));
        return None;
    }
    Some(AuditTarget::File(path))
}

fn replica(f: &Field, r: &mut Report) -> Option<String> {
    let name = values::name(f, r)?;
    if name.chars().count() > REPLICA_MAX_CHARS || name.chars().any(char::is_control) {
        let message = format!("1 to {REPLICA_MAX_CHARS} characters, no control characters");
        f.error(r, message);
        return None;
    }
    Some(name)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::config::{parse, AuditTarget, Diagnostic};

    fn read(
        audit: &str,
        dir: &std::path::Path,
    ) -> Result<crate::config::AuditConfig, Vec<Diagnostic>> {
        let text = format!("[proxy]\nupstream = \"http://127.0.0.1:9\"\n[audit]\n{audit}\n");
        parse(&text, &dir.join("idlegate.toml")).map(|l| l.config.audit)
    }

    fn error(audit: &str, dir: &std::path::Path) -> String {
        let diags = read(audit, dir).expect_err("rejected");
        diags
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn absent_means_no_file_and_the_host_name() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read("", dir.path()).unwrap(), Default::default());
    }

    #[test]
    fn a_relative_path_resolves_beside_the_config_and_dash_is_stdout() {
        let dir = tempfile::tempdir().unwrap();
        let c = read("file = \"audit.jsonl\"\nreplica = \"gw-1\"", dir.path()).unwrap();
        assert_eq!(
            c.file,
            Some(AuditTarget::File(dir.path().join("audit.jsonl")))
        );
        assert_eq!(c.replica.as_deref(), Some("gw-1"));
        let c = read("file = \"-\"", dir.path()).unwrap();
        assert_eq!(c.file, Some(AuditTarget::Stdout));
    }

    #[test]
    fn a_missing_folder_or_a_folder_is_reported_with_its_key_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let text = error("file = \"nope/audit.jsonl\"", dir.path());
        let folder = PathBuf::from(dir.path()).join("nope");
        assert!(text.contains(":4:8: error: audit.file:"), "{text}");
        assert!(
            text.contains(&format!("the folder {} does not exist", folder.display())),
            "{text}"
        );
        let text = error(
            &format!("file = {:?}", dir.path().display().to_string()),
            dir.path(),
        );
        assert!(text.contains("is a folder"), "{text}");
        assert!(error("file = \"\"", dir.path()).contains("must not be empty"));
        assert!(error("file = 3", dir.path()).contains("expected a string"));
    }

    #[test]
    fn replica_is_a_plain_name_and_unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(error("replica = \"\"", dir.path()).contains("audit.replica"));
        assert!(error("replica = \"a\\u0007b\"", dir.path()).contains("control"));
        assert!(error(&format!("replica = \"{}\"", "a".repeat(254)), dir.path()).contains("253"));
        assert!(error("rotate = true", dir.path()).contains("unknown key"));
    }
}
