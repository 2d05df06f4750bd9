//! The upstream's API catalog: loaded from OpenAPI 3 / Swagger 2 JSON or a plain
//! `[{method, path, summary}]` list. Serves the admin type-ahead (`search`) and maps concrete
//! request paths to templates (`match_path`, used by `idlegate har`).

use std::path::Path;

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
    _private: (),
}

impl Catalog {
    pub fn load(path: &Path) -> Result<Catalog, CatalogError> {
        let _ = path;
        todo!()
    }

    /// Parses OpenAPI 3, Swagger 2, or a plain list; `origin` names the source in errors.
    pub fn from_json(text: &str, origin: &str) -> Result<Catalog, CatalogError> {
        let _ = (text, origin);
        todo!()
    }

    pub fn from_operations(ops: Vec<Operation>) -> Catalog {
        let _ = ops;
        todo!()
    }

    pub fn len(&self) -> usize {
        todo!()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn operations(&self) -> &[Operation] {
        todo!()
    }

    /// Type-ahead search, best first, at most `limit`.
    pub fn search(&self, query: &str, limit: usize) -> Vec<&Operation> {
        let _ = (query, limit);
        todo!()
    }

    /// The most specific operation whose template matches a concrete `method` + raw `path`
    /// (literal segments beat `{param}`, leftmost first).
    pub fn match_path(&self, method: &str, path: &str) -> Option<&Operation> {
        let _ = (method, path);
        todo!()
    }
}
