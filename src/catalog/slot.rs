//! The catalog in use by a running gateway, or why there is none: what the admin type-ahead
//! searches and the admin stats report. Loaded at start and again when `catalog.openapi`
//! changes; a load failure is a message, never a stop.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Catalog;

/// The catalog in use (or why there is none). A load failure is logged and leaves the
/// type-ahead empty; it never stops the gateway.
#[derive(Debug, Default)]
pub struct CatalogSlot {
    pub path: Option<PathBuf>,
    pub catalog: Option<Arc<Catalog>>,
    /// Why `catalog` is None.
    pub message: Option<String>,
}

impl CatalogSlot {
    pub fn load(path: Option<&Path>) -> CatalogSlot {
        let Some(path) = path else {
            return CatalogSlot {
                path: None,
                catalog: None,
                message: Some(
                    "no API catalog configured (set catalog.openapi); type a METHOD /path instead"
                        .into(),
                ),
            };
        };
        match Catalog::load(path) {
            Ok(catalog) => {
                tracing::info!(path = %path.display(), operations = catalog.len(), "API catalog loaded");
                CatalogSlot {
                    path: Some(path.to_path_buf()),
                    catalog: Some(Arc::new(catalog)),
                    message: None,
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot load the API catalog; the admin type-ahead stays empty");
                CatalogSlot {
                    path: Some(path.to_path_buf()),
                    catalog: None,
                    message: Some(format!("the API catalog could not be loaded: {e}")),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_catalog_file_is_a_message_not_a_crash() {
        let slot = CatalogSlot::load(Some(Path::new("/nonexistent/catalog.json")));
        assert!(slot.catalog.is_none());
        assert!(slot.message.unwrap().contains("could not be loaded"));
    }
}
