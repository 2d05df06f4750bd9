//! Configuration: the TOML file → a validated [`Config`] (docs/reference.md, "Configuration").
//!
//! `parse` walks the document itself (not serde) so that it can report *every* error with
//! file, line and column, reject unknown keys, and fill in the defaults (docs/reference.md, "Configuration").
//!
//! # Layout
//!
//! Arrows point down only; this file is the top and only holds the entry points.
//!
//! - `diagnostic`: [`Diagnostic`] and [`Severity`], what every reader reports.
//! - `model`: the validated types ([`Config`] and its sections).
//! - `walk`: the TOML walker (spans → line/column, typed access, `set` and `required`).
//! - `values`: one validated value each (durations, addresses, URLs, names …).
//! - `groups`: the default groups file and its built-in copy.
//! - `defaults`: every default, in one place.
//! - `exclusions`: the `[exclusions]` section.
//! - `policies`: the `[timeout]` section with its timeouts by group.
//! - `identity`: the `[identity]` section.
//! - `audit`: the `[audit]` section.
//! - `evidence`: the `[evidence]` section.
//! - `validate`: the whole document, section by section.
//! - `summary`: the effective-policy text `idlegate check` prints.
//! - `save`: writing settings back into the file, keeping its comments.
//! - `save_policies`: the `[[timeout.policies]]` part of `save`.

mod audit;
mod defaults;
mod diagnostic;
mod evidence;
mod exclusions;
mod groups;
mod identity;
mod model;
mod policies;
mod redis_url;
pub(crate) mod save;
mod save_policies;
mod summary;
mod validate;
mod values;
mod walk;

pub use diagnostic::{Diagnostic, Severity};
pub use model::*;
pub use policies::{
    group_count_problem, group_problem, policy_name_problem, priority_problem, sort_by_priority,
    MAX_POLICIES, MAX_POLICY_GROUPS, MAX_PRIORITY,
};
pub use redis_url::{redacted_redis_url, ClusterUrl, SentinelUrl};

use std::path::Path;

use crate::classify::Group;

/// A valid config and the warnings found while reading it.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<Diagnostic>,
}

/// Reads and validates a config file. `Err` holds every error (and may hold warnings too).
pub fn load(path: &Path) -> Result<Loaded, Vec<Diagnostic>> {
    match crate::files::read_text(path, crate::files::CONFIG_MAX_BYTES) {
        Ok(text) => parse(&text, path),
        Err(e) => Err(vec![Diagnostic::unreadable(path, &e)]),
    }
}

/// Validates config text as if it were read from `path` (relative paths resolve against
/// `path`'s folder).
pub fn parse(text: &str, path: &Path) -> Result<Loaded, Vec<Diagnostic>> {
    match validate::read_config(text, path) {
        (Some(config), warnings) => Ok(Loaded { config, warnings }),
        (None, diagnostics) => Err(diagnostics),
    }
}

/// The built-in default groups (the shipped `config/default-exclusions.toml`, compiled in).
pub fn builtin_groups() -> Vec<Group> {
    groups::builtin()
}

impl Config {
    /// A config with every default and the given upstream (for `demo` and tests).
    pub fn with_upstream(upstream: http::Uri) -> Config {
        defaults::config(upstream)
    }

    /// The human-readable effective policy that `idlegate check` prints.
    pub fn effective_policy(&self) -> String {
        summary::render(self)
    }
}

/// The BLAKE3 digest of a config file's text: how a reload recognises a text it has already
/// read or written.
pub fn text_digest(text: &str) -> [u8; 32] {
    *blake3::hash(text.as_bytes()).as_bytes()
}

#[cfg(test)]
mod identity_tests;
#[cfg(test)]
mod limits_tests;
#[cfg(test)]
mod policies_tests;
#[cfg(test)]
mod save_policies_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod trial_tests;
