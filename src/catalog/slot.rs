//! The catalog in use by a running gateway, or why there is none: what the admin type-ahead
//! searches and the admin stats report. Loaded at start and again when `catalog.openapi`
//! changes; a load failure is a message, never a stop.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
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
    /// Which load this is: another catalog (a reload) has another number, so that what was
    /// remembered of the previous one is not taken for it (live evidence's templates).
    pub generation: usize,
}

/// Catalog loads since the start.
static LOADS: AtomicUsize = AtomicUsize::new(1);

impl CatalogSlot {
    pub fn load(path: Option<&Path>) -> CatalogSlot {
        CatalogSlot {
            generation: LOADS.fetch_add(1, Relaxed),
            ..Self::read(path)
        }
    }

    fn read(path: Option<&Path>) -> CatalogSlot {
        let Some(path) = path else {
            return CatalogSlot {
                path: None,
                catalog: None,
                message: Some(
                    "no API catalog configured (set catalog.openapi); type a METHOD /path instead"
                        .into(),
                ),
                generation: 0,
            };
        };
        match Catalog::load(path) {
            Ok(catalog) => {
                tracing::info!(path = %path.display(), operations = catalog.len(), "API catalog loaded");
                CatalogSlot {
                    path: Some(path.to_path_buf()),
                    catalog: Some(Arc::new(catalog)),
                    message: None,
                    generation: 0,
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot load the API catalog; the admin type-ahead stays empty");
                CatalogSlot {
                    path: Some(path.to_path_buf()),
                    catalog: None,
                    message: Some(format!("the API catalog could not be loaded: {e}")),
                    generation: 0,
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
