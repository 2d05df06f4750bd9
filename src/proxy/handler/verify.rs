//! Verification on the request path (docs/reference.md, "Identity"): with `[identity]`, a JWT
//! is verified the first time its token id is seen here, and again whenever a request brings
//! the same id with other bytes (another signature). The check finds out which (its
//! `Check::Unknown` / `Check::Unverified` with the token's signature hash), so a known token
//! with the same bytes costs no more than the hash. What verification learns (subject,
//! policy) goes on with the request and is kept when the token starts to be tracked.
//!
//! Layout: a leaf of the handler; imports nothing of `proxy` but the error type.

use crate::app::{App, Live};
use crate::config::OnInvalid;
use crate::identity::Verdict;
use crate::proxy::error::{ErrorKind, ProxyError};
use crate::store::{NewIdent, Verified};
use crate::token::{signing_input, TokenKey};

/// What a verified token brings to its tracking.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Who {
    pub sig: u64,
    pub subject: Option<String>,
    /// 0 = default, i + 1 = `timeout.policies[i]`.
    pub policy: u8,
}

impl Who {
    pub(super) fn ident(&self) -> NewIdent<'_> {
        NewIdent {
            sig: self.sig,
            subject: self.subject.as_deref(),
            policy: self.policy,
        }
    }
}

/// The session endpoint's verification: like the request path's, but it looks the token up
/// first (its check comes after). `sig` 0 = not computed yet.
pub(super) async fn verify(
    app: &App,
    live: &Live,
    key: Option<&TokenKey>,
    sig: u64,
    token: Option<&str>,
    now_ms: u64,
) -> Result<Option<Who>, ProxyError> {
    let (Some(_), Some(key), Some(token)) = (&app.identity, key, token) else {
        return Ok(None);
    };
    if signing_input(token).len() == token.len() {
        return Ok(None);
    }
    let sig = match sig {
        0 => app.keyer.signature_hash(token),
        s => s,
    };
    match app.state().verified(key, sig) {
        Verified::Same => Ok(None),
        seen => verify_now(app, live, key, sig, token, seen == Verified::Other, now_ms).await,
    }
}

/// Verifies a JWT this gateway has not verified with these bytes (`sig`). `Ok(Some)` with
/// what it learnt (an invalid one with `on_invalid = "pass"` has no subject and the default
/// policy); `Err` (401) for an invalid one with `on_invalid = "reject"`. When the token is
/// `tracked` already, what was learnt is attached to it at once.
pub(super) async fn verify_now(
    app: &App,
    live: &Live,
    key: &TokenKey,
    sig: u64,
    token: &str,
    tracked: bool,
    now_ms: u64,
) -> Result<Option<Who>, ProxyError> {
    let Some(identity) = &app.identity else {
        return Ok(None);
    };
    let who = match identity.verify(token, now_ms).await {
        Verdict::Opaque => return Ok(None),
        Verdict::Valid(claims) => Who {
            sig,
            subject: claims.subject,
            policy: live
                .config
                .timeout
                .policy_for(&claims.groups)
                .map_or(0, |i| i as u8 + 1),
        },
        Verdict::Invalid(why) => match on_invalid(live) {
            OnInvalid::Reject => {
                return Err(ProxyError::client(ErrorKind::InvalidToken(why.description)))
            }
            // Treated as opaque, and remembered with these bytes so that it is not
            // verified on every request.
            OnInvalid::Pass => Who {
                sig,
                ..Who::default()
            },
        },
    };
    if tracked {
        app.state().attach(key, who.ident());
    }
    Ok(Some(who))
}

fn on_invalid(live: &Live) -> OnInvalid {
    live.config
        .identity
        .as_ref()
        .map_or(OnInvalid::Pass, |i| i.on_invalid)
}
