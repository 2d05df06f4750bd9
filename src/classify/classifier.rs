//! The classifier: every enabled exclusion compiled into one trie, asked once per request.

use std::sync::Arc;

use super::group::Group;
use super::pattern::Pattern;
use super::trie::{self, ExclusionId};

/// Compiled exclusions, in precedence order: no-touch header, enabled groups in file order,
/// custom patterns in config order. Cheap to clone (shared).
#[derive(Clone, Debug)]
pub struct Classifier {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    labels: Vec<String>,
    /// Some(0) when a no-touch header is configured (it always comes first).
    no_touch: Option<ExclusionId>,
    root: trie::Node,
}

/// The metric label of the no-touch header exclusion.
pub const NO_TOUCH_LABEL: &str = "no-touch-header";

impl Classifier {
    /// `enabled` are the ids of the groups switched on; `no_touch_header` says whether a
    /// no-touch header is configured (its label, `no-touch-header`, then comes first).
    pub fn new(
        groups: &[Group],
        enabled: &[String],
        custom: &[Pattern],
        no_touch_header: bool,
    ) -> Self {
        let mut labels = Vec::new();
        let mut root = trie::Node::new();
        let no_touch = no_touch_header.then(|| {
            labels.push(NO_TOUCH_LABEL.to_string());
            0
        });
        let enabled_groups = groups.iter().filter(|g| enabled.contains(&g.id));
        for group in enabled_groups {
            let id = labels.len();
            labels.push(group.id.clone());
            for route in &group.routes {
                root.insert(id, route);
            }
        }
        for pattern in custom {
            let id = labels.len();
            labels.push(pattern.text().to_string());
            root.insert(id, pattern);
        }
        Classifier {
            inner: Arc::new(Inner {
                labels,
                no_touch,
                root,
            }),
        }
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
        let inner = &*self.inner;
        if let Some(id) = inner.no_touch.filter(|_| no_touch_present) {
            return Some(id);
        }
        // Raw path only: anything not starting with `/` (`*`, absolute-form) matches nothing.
        let rest = path.strip_prefix('/')?;
        let req = trie::Request { method, query };
        let mut best = ExclusionId::MAX;
        inner.root.walk(Some(rest), &req, &mut best);
        (best != ExclusionId::MAX).then_some(best)
    }

    /// Metric label per exclusion: `no-touch-header`, group ids, custom pattern texts.
    pub fn labels(&self) -> &[String] {
        &self.inner.labels
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
