//! Maps concrete request paths to catalog templates with a segment trie per method. At each
//! segment a literal child is tried before a partly templated one (`{name}.json`) and that
//! before a bare `{param}`, depth first, so the first complete match is the most specific
//! one with literals preferred leftmost first (`/users/me` before `/users/{userId}`).

use hashbrown::HashMap;

use super::operation::Operation;

#[derive(Debug, Default)]
pub(super) struct Matcher {
    /// One trie per uppercase method; a handful of methods, so a list beats a map.
    methods: Vec<(String, Node)>,
}

#[derive(Debug, Default)]
struct Node {
    literal: HashMap<Box<str>, Node>,
    patterns: Vec<(Pattern, Node)>,
    param: Option<Box<Node>>,
    /// The operation whose template ends here; the first inserted wins.
    op: Option<usize>,
}

impl Matcher {
    pub(super) fn build(ops: &[Operation]) -> Matcher {
        let mut matcher = Matcher::default();
        for (index, op) in ops.iter().enumerate() {
            let Some(rest) = op.path.strip_prefix('/') else {
                continue;
            };
            let root = matcher.root_mut(&op.method);
            let leaf = rest.split('/').fold(root, Node::child_mut);
            leaf.op.get_or_insert(index);
        }
        matcher
    }

    pub(super) fn find(&self, method: &str, path: &str) -> Option<usize> {
        let (_, root) = self
            .methods
            .iter()
            .find(|(m, _)| m.eq_ignore_ascii_case(method))?;
        let rest = request_path(path).strip_prefix('/')?;
        root.find(rest)
    }

    fn root_mut(&mut self, method: &str) -> &mut Node {
        let pos = match self.methods.iter().position(|(m, _)| m == method) {
            Some(pos) => pos,
            None => {
                self.methods.push((method.to_string(), Node::default()));
                self.methods.len() - 1
            }
        };
        &mut self.methods[pos].1
    }
}

impl Node {
    fn child_mut<'a>(&'a mut self, segment: &str) -> &'a mut Node {
        match SegmentKind::of(segment) {
            SegmentKind::Param => self.param.get_or_insert_with(Box::default),
            SegmentKind::Pattern(pattern) => {
                let pos = match self.patterns.iter().position(|(p, _)| *p == pattern) {
                    Some(pos) => pos,
                    None => {
                        self.patterns.push((pattern, Node::default()));
                        self.patterns.len() - 1
                    }
                };
                &mut self.patterns[pos].1
            }
            SegmentKind::Literal => self.literal.entry(segment.into()).or_default(),
        }
    }

    /// `rest` is the path after the `/` that leads into this node's children.
    fn find(&self, rest: &str) -> Option<usize> {
        let (segment, tail) = match rest.split_once('/') {
            Some((segment, tail)) => (segment, Some(tail)),
            None => (rest, None),
        };
        let descend = |child: &Node| match tail {
            Some(tail) => child.find(tail),
            None => child.op,
        };
        if let Some(index) = self.literal.get(segment).and_then(descend) {
            return Some(index);
        }
        // A placeholder stands for one non-empty segment.
        if segment.is_empty() {
            return None;
        }
        self.patterns
            .iter()
            .filter(|(pattern, _)| pattern.matches(segment))
            .find_map(|(_, child)| descend(child))
            .or_else(|| self.param.as_deref().and_then(descend))
    }
}

/// The path part of a request target: query and fragment dropped, and the scheme and
/// authority dropped from an absolute URL (as HAR files record them).
fn request_path(target: &str) -> &str {
    let mut path = target;
    if !path.starts_with('/') {
        if let Some((_, after_scheme)) = path.split_once("://") {
            path = after_scheme
                .find('/')
                .map_or("/", |slash| &after_scheme[slash..]);
        }
    }
    path.split(['?', '#']).next().unwrap_or(path)
}

enum SegmentKind {
    Param,
    Pattern(Pattern),
    Literal,
}

impl SegmentKind {
    fn of(segment: &str) -> SegmentKind {
        let inner = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}'));
        if let Some(name) = inner {
            if !name.contains(['{', '}']) {
                return SegmentKind::Param;
            }
        }
        match Pattern::parse(segment) {
            Some(pattern) => SegmentKind::Pattern(pattern),
            None => SegmentKind::Literal,
        }
    }
}

/// A segment mixing literal text and placeholders, e.g. `{name}.{ext}`.
#[derive(Debug, PartialEq, Eq)]
struct Pattern(Vec<Piece>);

#[derive(Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    /// One or more characters.
    Param,
}

impl Pattern {
    /// `None` when the segment holds no well-formed placeholder (it is then a literal).
    fn parse(segment: &str) -> Option<Pattern> {
        let mut pieces = Vec::new();
        let mut rest = segment;
        while let Some(open) = rest.find('{') {
            let close = rest[open..].find('}')? + open;
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_string()));
            }
            pieces.push(Piece::Param);
            rest = &rest[close + 1..];
        }
        if pieces.is_empty() {
            return None;
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_string()));
        }
        Some(Pattern(pieces))
    }

    fn matches(&self, segment: &str) -> bool {
        matches_pieces(&self.0, segment)
    }
}

fn matches_pieces(pieces: &[Piece], s: &str) -> bool {
    match pieces.split_first() {
        None => s.is_empty(),
        Some((Piece::Text(text), rest)) => s
            .strip_prefix(text.as_str())
            .is_some_and(|tail| matches_pieces(rest, tail)),
        Some((Piece::Param, rest)) => s
            .char_indices()
            .skip(1)
            .map(|(i, _)| i)
            .chain(std::iter::once(s.len()))
            .filter(|&i| i > 0)
            .any(|i| matches_pieces(rest, &s[i..])),
    }
}
