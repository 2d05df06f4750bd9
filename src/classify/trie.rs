//! A segment trie over all exclusion patterns, so one walk of the request path finds every
//! candidate at once instead of trying ~200 patterns one by one.

use super::pattern::{next_segment, Pattern, Segment};

/// Index into [`Classifier::labels`](super::Classifier::labels): which exclusion matched.
pub type ExclusionId = usize;

/// A pattern that ends at a trie node.
#[derive(Debug)]
struct Leaf {
    id: ExclusionId,
    pattern: Pattern,
}

impl Leaf {
    fn accepts(&self, method: &http::Method, query: Option<&str>) -> bool {
        self.pattern.method().matches(method) && self.pattern.query_matches(query)
    }
}

#[derive(Debug, Default)]
pub(super) struct Node {
    /// Sorted by segment text, for binary search.
    literals: Vec<(Box<str>, Node)>,
    /// The `{name}` child: any one non-empty segment.
    param: Option<Box<Node>>,
    /// Patterns ending here: the request path must end here too. Sorted by id.
    exact: Vec<Leaf>,
    /// Patterns ending in `{*rest}` here: the request path must go on. Sorted by id.
    rest: Vec<Leaf>,
    /// The lowest id in this subtree; lets a walk skip subtrees that cannot beat its best.
    min_id: ExclusionId,
}

/// The request being classified.
pub(super) struct Request<'a> {
    pub method: &'a http::Method,
    pub query: Option<&'a str>,
}

impl Node {
    pub(super) fn new() -> Node {
        Node {
            min_id: ExclusionId::MAX,
            ..Node::default()
        }
    }

    /// Adds `pattern` under exclusion `id`. Ids must be inserted in increasing order.
    pub(super) fn insert(&mut self, id: ExclusionId, pattern: &Pattern) {
        let mut node = self;
        node.min_id = node.min_id.min(id);
        for seg in pattern.segments() {
            let leaf = Leaf {
                id,
                pattern: pattern.clone(),
            };
            node = match seg {
                Segment::Rest => return node.rest.push(leaf),
                Segment::Param => node.param.get_or_insert_with(|| Box::new(Node::new())),
                Segment::Literal(text) => node.literal_child(text),
            };
            node.min_id = node.min_id.min(id);
        }
        node.exact.push(Leaf {
            id,
            pattern: pattern.clone(),
        });
    }

    fn literal_child(&mut self, text: &str) -> &mut Node {
        let i = match self.literals.binary_search_by(|(k, _)| (**k).cmp(text)) {
            Ok(i) => i,
            Err(i) => {
                self.literals.insert(i, (text.into(), Node::new()));
                i
            }
        };
        &mut self.literals[i].1
    }

    fn literal(&self, text: &str) -> Option<&Node> {
        self.literals
            .binary_search_by(|(k, _)| (**k).cmp(text))
            .ok()
            .map(|i| &self.literals[i].1)
    }

    /// Lowers `best` to the smallest id among patterns matching the request. `remaining` is
    /// the path after the segments consumed so far (None once the path has ended).
    pub(super) fn walk(&self, remaining: Option<&str>, req: &Request, best: &mut ExclusionId) {
        if self.min_id >= *best {
            return;
        }
        let Some(rest) = remaining else {
            return first_accepting(&self.exact, req, best);
        };
        if !rest.is_empty() {
            first_accepting(&self.rest, req, best);
        }
        let (head, tail) = next_segment(rest);
        if let Some(child) = self.literal(head) {
            child.walk(tail, req, best);
        }
        if let Some(param) = self.param.as_deref().filter(|_| !head.is_empty()) {
            param.walk(tail, req, best);
        }
    }
}

/// `leaves` are sorted by id, so the first acceptable one is the best of the list.
fn first_accepting(leaves: &[Leaf], req: &Request, best: &mut ExclusionId) {
    if let Some(leaf) = leaves
        .iter()
        .take_while(|leaf| leaf.id < *best)
        .find(|leaf| leaf.accepts(req.method, req.query))
    {
        *best = leaf.id;
    }
}
