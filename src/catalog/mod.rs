//! The upstream's API catalog: loaded from OpenAPI 3 / Swagger 2 JSON or a plain
//! `[{method, path, summary}]` list. Serves the admin type-ahead (`search`) and maps concrete
//! request paths to templates (`match_path`, used by `idlegate har`).
//!
//! # Layout
//!
//! - `operation`: [`Operation`] and [`CatalogError`] (the bottom; the others use it).
//! - `load`: JSON (OpenAPI 3, Swagger 2, plain list) → operations.
//! - `search`: the type-ahead index.
//! - `matcher`: concrete path → template.
//! - `slot`: [`slot::CatalogSlot`], the catalog a running gateway uses (or why it has none).
//! - this file: [`Catalog`], which owns the operations and both indexes.

use std::path::Path;

mod load;
mod matcher;
mod operation;
mod search;
pub mod slot;

pub use operation::{CatalogError, Operation};

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
        let bytes =
            crate::files::read_file(path, crate::files::CATALOG_MAX_BYTES).map_err(|source| {
                CatalogError::Io {
                    path: origin.clone(),
                    source,
                }
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

#[cfg(test)]
mod load_tests;
#[cfg(test)]
mod matcher_tests;
#[cfg(test)]
mod search_tests;
