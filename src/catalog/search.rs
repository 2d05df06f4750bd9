//! The admin type-ahead. Lowercased paths, summaries and segments are computed once at load so
//! a query is a linear scan of plain `str` comparisons, with no allocation per operation.

use super::operation::Operation;

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
