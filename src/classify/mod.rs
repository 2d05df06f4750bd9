//! Classification of a request as `activity` or `excluded` (SPEC §2 step 4, §5 patterns,
//! §10 classification and patterns).

mod pattern;

pub use pattern::{Pattern, PatternError, PatternMethod};

use crate::config::Group;

/// Index into [`Classifier::labels`]: which exclusion matched.
pub type ExclusionId = usize;

/// Compiled exclusions, in precedence order: no-touch header, enabled groups in file order,
/// custom patterns in config order. Cheap to clone (shared).
#[derive(Clone, Debug)]
pub struct Classifier {
    // private: filled by the implementation
    _private: (),
}

impl Classifier {
    /// `enabled` are the ids of the groups switched on; `no_touch_header` says whether a
    /// no-touch header is configured (its label, `no-touch-header`, then comes first).
    pub fn new(
        groups: &[Group],
        enabled: &[String],
        custom: &[Pattern],
        no_touch_header: bool,
    ) -> Self {
        let _ = (groups, enabled, custom, no_touch_header);
        todo!("Classifier::new")
    }

    /// `None` = activity. `Some(id)` = excluded by `labels()[id]`. `path` is the raw request
    /// path without the query; `query` the raw query without `?`.
    pub fn classify(
        &self,
        method: &http::Method,
        path: &str,
        query: Option<&str>,
        no_touch_present: bool,
    ) -> Option<ExclusionId> {
        let _ = (method, path, query, no_touch_present);
        todo!("Classifier::classify")
    }

    /// Metric label per exclusion: `no-touch-header`, group ids, custom pattern texts.
    pub fn labels(&self) -> &[String] {
        todo!("Classifier::labels")
    }
}
