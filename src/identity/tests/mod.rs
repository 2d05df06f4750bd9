//! Tests of the verifier: tokens signed with keys the tests generate, key sets from files and
//! from a local HTTP server.

mod http_tests;
mod jwks_tests;
mod keys;
mod refresh_tests;
mod verify_tests;

use std::path::PathBuf;
use std::sync::Arc;

use super::Identity;
use crate::config::{IdentityConfig, JwksSource};
use crate::telemetry::Metrics;

/// A verifier over a JWKS file in a temporary folder.
pub(crate) struct FileFixture {
    _dir: tempfile::TempDir,
    pub(crate) path: PathBuf,
    pub(crate) identity: Arc<Identity>,
    pub(crate) metrics: Arc<Metrics>,
}

impl FileFixture {
    /// Writes `jwks` and builds a verifier with `configure` applied to the standard config;
    /// the set is not loaded yet.
    pub(crate) fn new(jwks: &str, configure: impl FnOnce(&mut IdentityConfig)) -> FileFixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("jwks.json");
        std::fs::write(&path, jwks).expect("write jwks");
        let mut config = keys::config(JwksSource::File(path.clone()));
        configure(&mut config);
        let metrics = Arc::new(Metrics::new());
        let identity = Arc::new(Identity::new(&config, Arc::clone(&metrics)));
        FileFixture {
            _dir: dir,
            path,
            identity,
            metrics,
        }
    }

    /// [`FileFixture::new`] with the first set loaded.
    pub(crate) async fn loaded(jwks: &str, configure: impl FnOnce(&mut IdentityConfig)) -> Self {
        let fixture = FileFixture::new(jwks, configure);
        fixture.identity.load_first().await.expect("first load");
        fixture
    }

    pub(crate) fn rewrite(&self, jwks: &str) {
        std::fs::write(&self.path, jwks).expect("rewrite jwks");
    }
}

/// The value of one series in the exposition (`name{labels}` exactly as printed), 0 if absent.
pub(crate) fn series(metrics: &Metrics, series: &str) -> u64 {
    metrics
        .encode()
        .lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

pub(crate) fn jwks_loads(metrics: &Metrics, ok: bool) -> u64 {
    let result = if ok { "ok" } else { "error" };
    series(
        metrics,
        &format!("idlegate_jwks_refresh_total{{result=\"{result}\"}} "),
    )
}
