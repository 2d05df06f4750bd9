//! The upstream's API catalog: loaded from OpenAPI 3 / Swagger 2 JSON or a plain
//! `[{method, path, summary}]` list. Serves the admin type-ahead (`search`) and maps concrete
//! request paths to templates (`match_path`, used by `idlegate har`). [`slot::CatalogSlot`] holds the
//! catalog a running gateway uses.

use std::path::Path;

mod load;
mod matcher;
mod search;
pub mod slot;

/// One operation of the catalog.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Operation {
    /// Uppercase method.
    pub method: String,
    /// Path template with `{param}` placeholders, as in the source.
    pub path: String,
    pub summary: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog {path}: {message}")]
    Invalid { path: String, message: String },
    #[error("catalog {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// A loaded, indexed catalog. Cheap to share behind an Arc.
#[derive(Debug, Default)]
pub struct Catalog {
    ops: Vec<Operation>,
    search: search::SearchIndex,
    matcher: matcher::Matcher,
}

impl Catalog {
    pub fn load(path: &Path) -> Result<Catalog, CatalogError> {
        let origin = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| CatalogError::Io {
            path: origin.clone(),
            source,
        })?;
        load::parse_operations(&bytes, &origin).map(Catalog::from_operations)
    }

    /// Parses OpenAPI 3, Swagger 2, or a plain list; `origin` names the source in errors.
    pub fn from_json(text: &str, origin: &str) -> Result<Catalog, CatalogError> {
        load::parse_operations(text.as_bytes(), origin).map(Catalog::from_operations)
    }

    /// Uppercases methods and drops repeated method + path pairs (the first is kept).
    pub fn from_operations(ops: Vec<Operation>) -> Catalog {
        let ops = load::dedupe(
            ops.into_iter()
                .map(|op| Operation {
                    method: op.method.to_ascii_uppercase(),
                    ..op
                })
                .collect(),
        );
        Catalog {
            search: search::SearchIndex::build(&ops),
            matcher: matcher::Matcher::build(&ops),
            ops,
        }
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn operations(&self) -> &[Operation] {
        &self.ops
    }

    /// Type-ahead search, best first, at most `limit`.
    pub fn search(&self, query: &str, limit: usize) -> Vec<&Operation> {
        self.search
            .search(&self.ops, query, limit)
            .into_iter()
            .filter_map(|index| self.ops.get(index))
            .collect()
    }

    /// The most specific operation whose template matches a concrete `method` + raw `path`
    /// (literal segments beat `{param}`, leftmost first).
    pub fn match_path(&self, method: &str, path: &str) -> Option<&Operation> {
        self.matcher
            .find(method, path)
            .and_then(|index| self.ops.get(index))
    }
}
