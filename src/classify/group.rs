//! A default group of background APIs: what the defaults file (or the built-in copy) lists
//! under one `[[group]]`, and what the classifier compiles when the group is switched on.

use super::pattern::Pattern;

/// One default group of background APIs (from the defaults file or the built-in list).
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub id: String,
    pub title: String,
    pub description: String,
    pub routes: Vec<Pattern>,
    pub caution: Option<String>,
}
