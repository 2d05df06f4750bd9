//! The steps every config change takes, whatever its source: check the text as
//! `idlegate check` does, swap the config in, remember the text by its digest.

use std::path::Path;

use super::catalog_lint;
use crate::app::App;
use crate::config::{self, Config, Diagnostic, Loaded};

/// Every error and warning `idlegate check` reports for config `text` read from `path`.
pub fn check(text: &str, path: &Path) -> Result<Loaded, Vec<Diagnostic>> {
    let mut loaded = config::parse(text, path)?;
    let catalog = catalog_lint::warnings(&loaded.config, text);
    loaded.warnings.extend(catalog);
    Ok(loaded)
}

/// Swaps the validated config in and warns about the keys that need a restart.
pub(super) fn apply(app: &App, config: Config) -> Vec<&'static str> {
    let restart = app.apply(config);
    for key in &restart {
        tracing::warn!(
            key,
            "config reload: {key} changed; the new value takes effect after a restart"
        );
    }
    restart
}
