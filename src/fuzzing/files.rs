//! Checks for the files an operator hands idlegate: the config file and HAR recordings.

use std::path::Path;

use crate::config::save::{edit_settings, Settings};
use crate::config::{self, Config, Diagnostic, Severity};
use crate::har::{analyze_reader, read_har, HarOptions};
use crate::token::Keyer;

/// Where the fuzzed config pretends to live: a folder that does not exist, so relative paths
/// in it (defaults file, snapshot) name nothing.
const CONFIG_PATH: &str = "/nonexistent/idlegate-fuzz/idlegate.toml";

/// Config text through the loader `idlegate check` uses, then the policy it prints. Rejected
/// text has at least one error and every diagnostic names the file, a line and a column
/// inside the text. Accepted text has only warnings, and saving its own settings back into it
/// (what the admin UI's Save does) parses to the same settings and, when the loader had
/// nothing to warn about, leaves the text as it was.
pub fn config(data: &[u8]) {
    // The loader reads the file as UTF-8 first; other bytes never reach the parser.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The loader reads the defaults file the config names: never let it read a device.
    if ["/dev", "/proc", "/sys"].iter().any(|d| text.contains(d)) {
        return;
    }
    let lines = text.split('\n').count();
    let well_formed = |d: &Diagnostic| {
        let shown = d.to_string();
        assert!(
            d.line >= 1 && d.column >= 1 && !d.message.is_empty(),
            "{shown}"
        );
        // A defaults file's diagnostics name that file and its lines.
        if d.file == Path::new(CONFIG_PATH) {
            assert!(d.line <= lines, "{shown} (text has {lines} lines)");
        }
        assert!(shown.starts_with(&d.file.display().to_string()));
    };
    let loaded = match config::parse(text, Path::new(CONFIG_PATH)) {
        Ok(loaded) => loaded,
        Err(diagnostics) => {
            assert!(diagnostics.iter().any(|d| d.severity == Severity::Error));
            return diagnostics.iter().for_each(well_formed);
        }
    };
    loaded.warnings.iter().for_each(well_formed);
    assert!(loaded
        .warnings
        .iter()
        .all(|d| d.severity == Severity::Warning));
    assert!(!loaded.config.effective_policy().is_empty());
    let settings = Settings::of(&loaded.config);
    let saved = edit_settings(text, &settings).expect("a valid config can be edited");
    // A file the loader warned about (a duplicate pattern, say) may be tidied by a save.
    if loaded.warnings.is_empty() {
        assert_eq!(saved, text, "saving unchanged settings rewrote the file");
    }
    let reread = config::parse(&saved, Path::new(CONFIG_PATH)).expect("saved config is valid");
    assert_eq!(Settings::of(&reread.config), settings);
}

/// HAR bytes through the streaming reader, then through the whole analysis with the default
/// config. Every entry is accepted or skipped with a reason, accepted ones are well-formed
/// requests, the report serialises to valid JSON with token ids only, and no bearer token of
/// the recording appears in it unless the recording also holds it somewhere else.
pub fn har(data: &[u8]) {
    let (mut accepted, mut skipped) = (0usize, 0usize);
    let mut bearers = Vec::new();
    let result = read_har(data, |entry| match entry {
        Ok(e) => {
            assert!(!e.path.is_empty());
            let _ = crate::clock::rfc3339(e.started_ms);
            bearers.extend(e.headers.iter().filter_map(|(name, value)| {
                let t = value.strip_prefix("Bearer ")?.trim();
                (name.eq_ignore_ascii_case("authorization") && t.len() >= 16).then(|| t.to_owned())
            }));
            accepted += 1;
        }
        Err(s) => {
            assert!(!s.field.is_empty() && !s.reason.is_empty());
            skipped += 1;
        }
    });
    let Ok(seen) = result else {
        return;
    };
    assert_eq!(seen, accepted + skipped);
    let upstream = http::Uri::from_static("http://127.0.0.1:9");
    let keyer = Keyer::from_key_bytes([9; 32]);
    let cfg = Config::with_upstream(upstream);
    let report = analyze_reader(data, &HarOptions::default(), &cfg, &keyer, None)
        .expect("the reader accepted this recording");
    assert!(report.tokens.len() <= accepted);
    assert!(report.tokens.iter().all(|t| t.token_id.len() == 32));
    let json = report.to_json();
    serde_json::from_str::<serde_json::Value>(&json).expect("the report is valid JSON");
    let text = report.to_text();
    for t in &bearers {
        let elsewhere = count(data, t.as_bytes()) > 1;
        assert!(elsewhere || !(json.contains(t.as_str()) || text.contains(t.as_str())));
    }
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}
