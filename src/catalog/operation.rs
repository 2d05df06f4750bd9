//! What a catalog is made of ([`Operation`]) and why one cannot be read ([`CatalogError`]).
//! The bottom of `catalog`: the loader, the search index and the matcher all use it.

/// One operation of the catalog.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
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
