//! Admin API authentication: `Authorization: Bearer <secret>` where the secret is the value of
//! the env variable named by `admin.token_env`.
//!
//! The variable is read on every request rather than once at start: it costs one lookup, and
//! a reload that renames `admin.token_env` takes effect at once without a second code path.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::AdminError;
use crate::app::App;

/// An authenticated admin. `who` identifies the admin token in audit events without
/// revealing it: the first 12 hex digits of its SHA-256.
#[derive(Clone, Debug)]
pub(crate) struct Admin {
    pub who: String,
}

impl FromRequestParts<Arc<App>> for Admin {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Admin, AdminError> {
        let env = app.config().admin.token_env.clone();
        let configured = std::env::var(&env).unwrap_or_default();
        authorize(&configured, &env, &parts.headers)
    }
}

/// Checks the request's bearer token against the configured secret (empty = not configured).
pub(crate) fn authorize(
    configured: &str,
    env: &str,
    headers: &HeaderMap,
) -> Result<Admin, AdminError> {
    if configured.is_empty() {
        return Err(AdminError::NotConfigured {
            env: env.to_string(),
        });
    }
    let presented = bearer(headers).ok_or(AdminError::Unauthorized)?;
    // Comparing digests keeps the comparison constant-time whatever the lengths.
    let (want, got) = (Sha256::digest(configured), Sha256::digest(presented));
    if bool::from(want.ct_eq(&got)) {
        Ok(Admin {
            who: who(configured),
        })
    } else {
        Err(AdminError::Unauthorized)
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim())
        .filter(|t| !t.is_empty())
}

/// First 12 hex digits of the SHA-256 of the admin token.
pub(crate) fn who(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(auth: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(a) = auth {
            h.insert(header::AUTHORIZATION, a.parse().unwrap());
        }
        h
    }

    #[test]
    fn empty_configured_token_counts_as_unset() {
        let r = authorize("", "X_ENV", &headers(Some("Bearer x")));
        assert_eq!(
            r.unwrap_err(),
            AdminError::NotConfigured {
                env: "X_ENV".into()
            }
        );
    }

    #[test]
    fn missing_or_wrong_token_is_unauthorized() {
        for h in [
            None,
            Some("Bearer nope"),
            Some("Basic s3cret"),
            Some("Bearer "),
        ] {
            assert_eq!(
                authorize("s3cret", "E", &headers(h)).unwrap_err(),
                AdminError::Unauthorized
            );
        }
    }

    #[test]
    fn right_token_any_scheme_case_is_accepted() {
        let admin = authorize("s3cret", "E", &headers(Some("bearer  s3cret"))).unwrap();
        assert_eq!(admin.who, who("s3cret"));
    }

    #[test]
    fn who_is_twelve_hex_digits_of_sha256() {
        // sha256("abc") = ba7816bf8f01cfea...
        assert_eq!(who("abc"), "ba7816bf8f01");
    }
}
