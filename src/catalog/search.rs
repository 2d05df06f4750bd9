//! The admin type-ahead. Lowercased paths, summaries and segments are computed once at load so
//! a query is a linear scan of plain `str` comparisons, with no allocation per operation.

use super::Operation;

/// Methods that, as the first word of a query, filter by method instead of matching text.
const METHOD_WORDS: [&str; 7] = ["get", "post", "put", "patch", "delete", "head", "options"];

/// How well one query word matched one operation; lower is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Tier {
    SegmentPrefix = 0,
    PathSubstring = 1,
    SummaryOnly = 2,
}

/// Precomputed lowercase forms of one operation.
#[derive(Debug)]
struct Entry {
    path: String,
    summary: String,
    /// Path segments with `{}` removed, so a parameter is found by its name.
    segments: Vec<String>,
    /// The path with `{}` removed: one substring search instead of one per segment.
    bare_path: String,
}

#[derive(Debug, Default)]
pub(super) struct SearchIndex {
    entries: Vec<Entry>,
}

impl SearchIndex {
    pub(super) fn build(ops: &[Operation]) -> SearchIndex {
        let entries = ops
            .iter()
            .map(|op| {
                let path = op.path.to_lowercase();
                let segments = path
                    .split('/')
                    .filter(|s| !s.is_empty())
                    .map(strip_braces)
                    .collect();
                Entry {
                    bare_path: strip_braces(&path),
                    path,
                    summary: op.summary.to_lowercase(),
                    segments,
                }
            })
            .collect();
        SearchIndex { entries }
    }

    /// Indices into the operations, best first, at most `limit`.
    pub(super) fn search(&self, ops: &[Operation], query: &str, limit: usize) -> Vec<usize> {
        let query = Query::parse(query);
        let mut hits: Vec<(Tier, u32, usize, usize)> = Vec::new();
        for (index, (entry, op)) in self.entries.iter().zip(ops).enumerate() {
            if let Some(method) = &query.method {
                if !op.method.eq_ignore_ascii_case(method) {
                    continue;
                }
            }
            if let Some((worst, total)) = query.score(entry) {
                hits.push((worst, total, entry.path.len(), index));
            }
        }
        // With no text words every hit scores alike, so catalog order is kept as is;
        // otherwise the key ends with the index, which keeps the order stable.
        if !query.words.is_empty() {
            rank_top(&mut hits, limit);
        }
        hits.into_iter()
            .take(limit)
            .map(|(_, _, _, index)| index)
            .collect()
    }
}

/// Sorts only as much as `limit` needs: a partial select, then a sort of the head.
fn rank_top<T: Ord>(hits: &mut Vec<T>, limit: usize) {
    if limit == 0 {
        hits.clear();
        return;
    }
    if hits.len() > limit {
        hits.select_nth_unstable(limit - 1);
        hits.truncate(limit);
    }
    hits.sort_unstable();
}

struct Query {
    method: Option<String>,
    words: Vec<Word>,
}

enum Word {
    /// Contains `/`: matched against the whole path (a pasted path or prefix).
    Path(String),
    /// Matched against segments, then the path, then the summary.
    Text(String),
}

impl Query {
    fn parse(query: &str) -> Query {
        let lower = query.to_lowercase();
        let mut words = lower.split_whitespace().peekable();
        let method = words
            .next_if(|w| METHOD_WORDS.contains(w))
            .map(str::to_string);
        let words = words
            .filter_map(|w| {
                if w.contains('/') {
                    Some(Word::Path(w.to_string()))
                } else {
                    let bare = strip_braces(w);
                    (!bare.is_empty()).then_some(Word::Text(bare))
                }
            })
            .collect();
        Query { method, words }
    }

    /// `(worst tier, sum of tiers)` when every word matches, `None` otherwise.
    fn score(&self, entry: &Entry) -> Option<(Tier, u32)> {
        let mut worst = Tier::SegmentPrefix;
        let mut total = 0u32;
        for word in &self.words {
            let tier = word.tier(entry)?;
            worst = worst.max(tier);
            total += tier as u32;
        }
        Some((worst, total))
    }
}

impl Word {
    fn tier(&self, entry: &Entry) -> Option<Tier> {
        match self {
            Word::Path(w) => {
                if entry.path.starts_with(w.as_str()) {
                    Some(Tier::SegmentPrefix)
                } else if entry.path.contains(w.as_str()) {
                    Some(Tier::PathSubstring)
                } else {
                    None
                }
            }
            Word::Text(w) => {
                let w = w.as_str();
                if entry.segments.iter().any(|s| s.starts_with(w)) {
                    Some(Tier::SegmentPrefix)
                } else if entry.bare_path.contains(w) {
                    Some(Tier::PathSubstring)
                } else if entry.summary.contains(w) {
                    Some(Tier::SummaryOnly)
                } else {
                    None
                }
            }
        }
    }
}

fn strip_braces(s: &str) -> String {
    s.chars().filter(|c| !matches!(c, '{' | '}')).collect()
}

#[cfg(test)]
mod tests {
    use super::super::{Catalog, Operation};

    fn catalog(ops: &[(&str, &str, &str)]) -> Catalog {
        Catalog::from_operations(
            ops.iter()
                .map(|(m, p, s)| Operation {
                    method: m.to_string(),
                    path: p.to_string(),
                    summary: s.to_string(),
                })
                .collect(),
        )
    }

    fn sample() -> Catalog {
        catalog(&[
            ("GET", "/api/v2/users", "Get the list of available users."),
            ("POST", "/api/v2/users", "Create user"),
            ("GET", "/api/v2/users/{userId}", "Get user."),
            (
                "GET",
                "/api/v2/users/{userId}/presences/purecloud",
                "Get a user's presence",
            ),
            (
                "PATCH",
                "/api/v2/users/{userId}/presences/purecloud",
                "Patch a user's presence",
            ),
            (
                "GET",
                "/api/v2/presencedefinitions",
                "Get a list of presence definitions",
            ),
            (
                "GET",
                "/api/v2/analytics/userpresence/details",
                "Query user presence details",
            ),
            (
                "GET",
                "/api/v2/routing/queues",
                "Get list of queues for presence-aware routing",
            ),
            (
                "GET",
                "/api/v2/notifications/channels",
                "The list of existing channels",
            ),
        ])
    }

    fn paths<'a>(found: &[&'a Operation]) -> Vec<(&'a str, &'a str)> {
        found
            .iter()
            .map(|o| (o.method.as_str(), o.path.as_str()))
            .collect()
    }

    #[test]
    fn leading_method_word_filters_by_method() {
        let cat = sample();
        let found = cat.search("patch presence", 20);
        assert_eq!(
            paths(&found),
            vec![("PATCH", "/api/v2/users/{userId}/presences/purecloud")]
        );
        assert!(cat
            .search("GET presence", 20)
            .iter()
            .all(|o| o.method == "GET"));
    }

    #[test]
    fn method_word_alone_lists_that_method_in_catalog_order() {
        let cat = sample();
        let found = cat.search("post", 20);
        assert_eq!(paths(&found), vec![("POST", "/api/v2/users")]);
    }

    #[test]
    fn param_placeholder_is_found_by_name() {
        let cat = sample();
        let found = cat.search("userid", 20);
        assert_eq!(found.len(), 3);
        assert!(found.iter().all(|o| o.path.contains("{userId}")));
        assert_eq!(cat.search("{userId}", 20).len(), 3);
    }

    #[test]
    fn ranking_is_segment_prefix_then_path_substring_then_summary() {
        let cat = sample();
        let found = cat.search("get presence", 20);
        assert_eq!(
            paths(&found),
            vec![
                // segment prefix, shorter path first
                ("GET", "/api/v2/presencedefinitions"),
                ("GET", "/api/v2/users/{userId}/presences/purecloud"),
                // substring of a segment
                ("GET", "/api/v2/analytics/userpresence/details"),
                // summary only
                ("GET", "/api/v2/routing/queues"),
            ]
        );
    }

    #[test]
    fn every_word_must_match() {
        let cat = sample();
        let found = cat.search("users purecloud", 20);
        assert_eq!(found.len(), 2);
        assert!(cat.search("users queues", 20).is_empty());
    }

    #[test]
    fn search_is_case_insensitive() {
        let cat = sample();
        assert_eq!(
            paths(&cat.search("NOTIFICATIONS", 20)),
            paths(&cat.search("notifications", 20))
        );
        assert_eq!(cat.search("Notifications", 20).len(), 1);
    }

    #[test]
    fn word_with_slash_matches_the_path() {
        let cat = sample();
        let found = cat.search("/api/v2/users/", 20);
        assert_eq!(found.len(), 3);
        assert!(found.iter().all(|o| o.path.starts_with("/api/v2/users/")));
        let found = cat.search("get /api/v2/users/{userId}", 20);
        assert_eq!(found[0].path, "/api/v2/users/{userId}");
        assert_eq!(found.len(), 2);
    }

    #[test]
    fn limit_caps_the_answer_and_keeps_the_best() {
        let cat = sample();
        let all = cat.search("presence", 20);
        let two = cat.search("presence", 2);
        assert_eq!(paths(&two), paths(&all[..2]));
        assert!(cat.search("presence", 0).is_empty());
    }

    #[test]
    fn empty_query_gives_the_first_ops() {
        let cat = sample();
        let found = cat.search("   ", 3);
        assert_eq!(
            paths(&found),
            paths(&cat.operations().iter().take(3).collect::<Vec<_>>())
        );
    }

    #[test]
    fn no_match_gives_empty() {
        assert!(sample().search("zzzz", 20).is_empty());
        assert!(sample().search("head users", 20).is_empty());
    }

    #[test]
    fn shipped_catalog_answers_presence_query() {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("config/catalog/genesys-cloud-apis.json");
        let cat = Catalog::load(&file).unwrap();
        let found = cat.search("get presence", 20);
        assert!(found.len() >= 10, "{found:?}");
        assert!(found.iter().all(|o| o.method == "GET"));
        assert!(found
            .iter()
            .any(|o| o.path == "/api/v2/users/{userId}/presences/purecloud"));
    }
}
