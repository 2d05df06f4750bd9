//! Loading a JSON Web Key Set from a file or over HTTP(S) (docs/reference.md, "Identity"):
//! one size cap and, for a URL, one timeout, so a slow or huge answer cannot stall or bloat
//! the verifier.

use std::io::Read;
use std::path::Path;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;

use super::error::{JwksError, FETCH_TIMEOUT, MAX_JWKS_BYTES};
use super::keyset::KeySet;
use crate::config::JwksSource;

/// `idlegate check`: the number of usable keys in a JWKS file, or why it is not usable.
pub fn check_jwks_file(path: &Path) -> Result<usize, JwksError> {
    let bytes = read_file(path)?;
    KeySet::parse(&bytes).map(|set| set.len())
}

/// Reads and parses the set from its source.
pub(crate) async fn load(source: &JwksSource) -> Result<KeySet, JwksError> {
    let bytes = match source {
        // A plain read, not tokio::fs: the file is small (capped) and read once per refresh,
        // and a read on the runtime thread keeps tests with a paused clock deterministic.
        JwksSource::File(path) => read_file(path)?,
        JwksSource::Url(uri) => fetch(uri).await?,
    };
    KeySet::parse(&bytes)
}

/// What the log says of a source: a URL's scheme, host and path (userinfo and query may hold
/// secrets), or a file's path.
pub(crate) fn describe(source: &JwksSource) -> String {
    match source {
        JwksSource::File(path) => path.display().to_string(),
        JwksSource::Url(uri) => format!(
            "{}://{}{}",
            uri.scheme_str().unwrap_or("http"),
            uri.host().unwrap_or(""),
            uri.path()
        ),
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, JwksError> {
    let io = |source| JwksError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    // One byte past the cap tells "exactly at the cap" from "larger".
    file.take(MAX_JWKS_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() > MAX_JWKS_BYTES {
        return Err(JwksError::TooLarge);
    }
    Ok(bytes)
}

type HttpsClient = Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Empty<Bytes>,
>;

/// Identity providers serve their JWKS over HTTPS (plain HTTP for a local provider).
fn https_client() -> HttpsClient {
    crate::outbound::client()
}

async fn fetch(uri: &http::Uri) -> Result<Vec<u8>, JwksError> {
    tokio::time::timeout(FETCH_TIMEOUT, fetch_unbounded_in_time(uri))
        .await
        .map_err(|_| JwksError::Timeout)?
}

async fn fetch_unbounded_in_time(uri: &http::Uri) -> Result<Vec<u8>, JwksError> {
    let request = http::Request::get(uri.clone())
        .header(http::header::ACCEPT, "application/json")
        .body(Empty::new())
        .map_err(|e| JwksError::Http(e.to_string()))?;
    let response = https_client()
        .request(request)
        .await
        .map_err(|e| JwksError::Http(error_chain(&e)))?;
    if !response.status().is_success() {
        return Err(JwksError::Status(response.status().as_u16()));
    }
    let announced = response
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if announced.is_some_and(|n| n > MAX_JWKS_BYTES as u64) {
        return Err(JwksError::TooLarge);
    }
    let body = Limited::new(response.into_body(), MAX_JWKS_BYTES)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                JwksError::TooLarge
            } else {
                JwksError::Http(e.to_string())
            }
        })?;
    Ok(body.to_bytes().to_vec())
}

/// An error and its causes on one line ("client error (Connect): connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}
