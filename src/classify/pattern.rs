//! `METHOD /path/{param}/{*rest}?name=value` patterns.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatternMethod {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
    /// `*`: any method.
    Any,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid pattern {pattern:?}: {reason}")]
pub struct PatternError {
    pub pattern: String,
    pub reason: String,
}

/// A parsed exclusion pattern. Keeps its text as written (the metric label).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    text: String,
    // private fields: filled by the implementation
}

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern, PatternError> {
        let _ = text;
        todo!("Pattern::parse")
    }

    /// The pattern as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn method(&self) -> PatternMethod {
        todo!()
    }

    /// The path template without the query conditions, e.g. `/api/v2/users/{userId}`.
    pub fn path(&self) -> &str {
        todo!()
    }

    pub fn matches(&self, method: &http::Method, path: &str, query: Option<&str>) -> bool {
        let _ = (method, path, query);
        todo!("Pattern::matches")
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
