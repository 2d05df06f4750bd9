//! The `[evidence]` section: live evidence, the figures of `idlegate har` kept by the gateway
//! itself (docs/reference.md, "Live evidence"). Every key needs a restart.

use crate::evidence::EvidenceSettings;

use super::model::EvidenceConfig;
use super::values;
use super::walk::{set, Field, Report, Section};

pub(crate) fn read_evidence(s: Option<&Section>, r: &mut Report) -> EvidenceConfig {
    let mut c = EvidenceConfig::default();
    if let Some(s) = s {
        let keys = ["enabled", "window", "sample", "max_templates", "min_tokens"];
        s.reject_unknown(&keys, r);
    }
    let e = &mut c.settings;
    set(s, "enabled", r, &mut c.enabled, |f, r| f.bool(r));
    set(s, "window", r, &mut e.window, window);
    set(s, "sample", r, &mut e.sample, |f, r| {
        let max = i64::from(EvidenceSettings::MAX_SAMPLE);
        values::integer_in(f, r, 1, max).and_then(|n| u32::try_from(n).ok())
    });
    set(s, "max_templates", r, &mut e.max_templates, |f, r| {
        values::integer_in(f, r, 1, EvidenceSettings::MAX_TEMPLATES as i64)
    });
    set(s, "min_tokens", r, &mut e.min_tokens, |f, r| {
        values::integer_in(f, r, 1, EvidenceSettings::MAX_MIN_TOKENS as i64)
    });
    c
}

/// A duration of whole hours, from 1h to 7d (the buckets are hours).
fn window(f: &Field, r: &mut Report) -> Option<std::time::Duration> {
    let window = values::duration(f, r)?;
    let settings = EvidenceSettings {
        window,
        ..Default::default()
    };
    if settings.validate().is_err() {
        let shown = humantime::format_duration(window);
        let max = EvidenceSettings::MAX_WINDOW_HOURS;
        f.error(
            r,
            format!("must be whole hours from \"1h\" to \"7d\" ({max}h), found \"{shown}\""),
        );
        return None;
    }
    Some(window)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::config::{parse, Config, Diagnostic};

    fn read(evidence: &str) -> Result<Config, Vec<Diagnostic>> {
        let text = format!("[proxy]\nupstream = \"http://127.0.0.1:9\"\n[evidence]\n{evidence}\n");
        parse(&text, std::path::Path::new("idlegate.toml")).map(|l| l.config)
    }

    fn error(evidence: &str) -> String {
        let diags = read(evidence).expect_err("rejected");
        let lines: Vec<String> = diags.iter().map(ToString::to_string).collect();
        lines.join("\n")
    }

    #[test]
    fn absent_means_on_with_the_defaults_and_every_key_is_read() {
        let c = read("").unwrap().evidence;
        assert!(c.enabled);
        assert_eq!(c.settings, Default::default());
        assert_eq!(c.settings.window, Duration::from_secs(24 * 3600));
        let text =
            "enabled = false\nwindow = \"2h\"\nsample = 1\nmax_templates = 50\nmin_tokens = 5";
        let c = read(text).unwrap().evidence;
        assert!(!c.enabled);
        assert_eq!(c.settings.window, Duration::from_secs(7200));
        assert_eq!(
            (
                c.settings.sample,
                c.settings.max_templates,
                c.settings.min_tokens
            ),
            (1, 50, 5)
        );
    }

    #[test]
    fn bad_values_are_reported_with_their_key_line_and_column() {
        let text = error("window = \"90m\"");
        assert!(text.contains(":4:10: error: evidence.window:"), "{text}");
        assert!(text.contains("whole hours"), "{text}");
        assert!(error("window = \"8d\"").contains("whole hours"));
        assert!(error("window = \"soon\"").contains("invalid duration"));
        let text = error("sample = 0");
        assert!(
            text.contains("evidence.sample: must be between 1 and 65536, found 0"),
            "{text}"
        );
        assert!(error("max_templates = 100001").contains("between 1 and 100000"));
        assert!(error("min_tokens = 257").contains("between 1 and 256"));
        assert!(error("min_tokens = \"3\"").contains("evidence.min_tokens"));
        assert!(error("enabled = \"yes\"").contains("evidence.enabled"));
        assert!(error("rate = 3").contains("unknown key"));
    }
}
