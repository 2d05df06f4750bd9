//! A change read from the config file: read → check → apply → remember the text's digest.
//! Counted in `idlegate_config_reloads_total` unless nothing changed.

use std::path::Path;

use super::outcome::{Applied, Rejected, Saved, Trigger};
use super::steps::{self, check};
use crate::app::App;
use crate::config::text_digest as digest;
use crate::config::{Diagnostic, Severity};
use crate::telemetry::audit_file;

pub(super) fn reload(
    app: &App,
    last_text: &mut Option<[u8; 32]>,
    path: &Path,
    trigger: Trigger,
) -> Result<Applied, Rejected> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => return Err(reject(app, vec![Diagnostic::unreadable(path, &e)])),
    };
    let d = digest(&text);
    if trigger == Trigger::FileChange && *last_text == Some(d) {
        return Ok(Applied {
            changed: false,
            restart: Vec::new(),
            warnings: Vec::new(),
            saved: Saved::InFile,
        });
    }
    // Remembered even when invalid: a repeated event for the same broken text is no change.
    *last_text = Some(d);
    let loaded = check(&text, path).map_err(|diags| reject(app, diags))?;
    for w in &loaded.warnings {
        tracing::warn!(diagnostic = %w, "config reload warning");
    }
    let restart = steps::apply(app, loaded.config);
    app.metrics.config_reload(true);
    tracing::info!(
        target: "audit",
        event = "config_reload",
        trigger = ?trigger,
        file = %path.display(),
        needs_restart = ?restart,
    );
    let fields = serde_json::json!({
        "trigger": match trigger {
            Trigger::Signal => "signal",
            Trigger::FileChange => "file_change",
        },
        "file": path.display().to_string(),
        "needs_restart": restart,
    });
    audit_file::admin("config_reload", None, app.clock.now_ms(), fields);
    Ok(Applied {
        changed: true,
        restart,
        warnings: loaded.warnings,
        saved: Saved::InFile,
    })
}

fn reject(app: &App, diags: Vec<Diagnostic>) -> Rejected {
    for d in &diags {
        match d.severity {
            Severity::Error => tracing::error!(diagnostic = %d, "config reload rejected"),
            Severity::Warning => tracing::warn!(diagnostic = %d, "config reload warning"),
        }
    }
    tracing::error!("config reload failed; the previous config keeps running");
    app.metrics.config_reload(false);
    Rejected::Config(diags)
}
