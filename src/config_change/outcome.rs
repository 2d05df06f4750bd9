//! What a config change yields: applied (with the warnings `idlegate check` would print) or
//! rejected (every error), and what made the gateway re-read its file.

use serde::Serialize;

use crate::config::Diagnostic;

/// What made the gateway re-read its config file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    Signal,
    FileChange,
}

/// A change that passed validation.
#[derive(Debug)]
pub struct Applied {
    /// False when there was nothing to apply: a file event for text already read or written,
    /// or settings equal to the live ones. Nothing was swapped in, written or counted then.
    pub changed: bool,
    /// Changed keys that take effect only after a restart.
    pub restart: Vec<&'static str>,
    /// What `idlegate check` would warn about in the resulting file.
    pub warnings: Vec<Diagnostic>,
    pub saved: Saved,
}

/// Whether the config file holds the live config's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Saved {
    InFile,
    /// The gateway runs without a config file: the change is live only.
    NoFile,
    /// Applied live, but the file could not be edited or written (why).
    Failed(String),
}

/// A change that failed validation. The running config stays.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    /// Every error of the resulting config text (and the warnings found with them).
    #[error("config change rejected ({} diagnostics)", .0.len())]
    Config(Vec<Diagnostic>),
    /// The settings request itself, field by field (no text was built).
    #[error("settings rejected ({} errors)", .0.len())]
    Settings(Vec<FieldError>),
}

/// One problem with one field of a settings request: `field` is a JSON path such as
/// `custom_exclusions[2]` (empty for the request as a whole).
#[derive(Clone, Debug, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}
