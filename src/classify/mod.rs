//! Classification of a request as `activity` or `excluded` (docs/reference.md, "Request path" and "Exclusions";
//! §10 classification and patterns).
//!
//! # Layout
//!
//! - `pattern`: one `METHOD /path/{param}/{*rest}?query` pattern, parsed and matched alone.
//! - `group`: a default group of background APIs (an id and its routes).
//! - `trie`: every pattern in one segment trie, and the [`ExclusionId`] a match reports.
//! - `classifier`: the [`Classifier`] built from groups and custom patterns.
//!
//! Arrows point down only: classifier → trie → pattern, group → pattern.

mod classifier;
mod group;
mod pattern;
mod trie;

pub use classifier::{Classifier, NO_TOUCH_LABEL};
pub use group::Group;
pub(crate) use pattern::Segment;
pub use pattern::{Pattern, PatternError, PatternMethod};
pub use trie::ExclusionId;
