//! The verify phase (docs/reference.md, "Identity"): with `[identity]`, a JWT is verified the
//! first time its token id is seen here, and again whenever a request brings the same id with
//! other bytes (another signature). A known token with the same bytes costs one hash of its
//! signature and one lookup. What verification learns (subject, policy) goes on with the
//! request and is kept when the token starts to be tracked.
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

/// `Ok(Some)` for a JWT verified now (an invalid one with `on_invalid = "pass"` has no
/// subject and the default policy); `Ok(None)` when there is nothing to verify (no identity,
/// no token, an opaque token, a token verified before with these bytes); `Err` (401) for an
/// invalid one with `on_invalid = "reject"`.
pub(super) async fn verify(
    app: &App,
    live: &Live,
    key: Option<&TokenKey>,
    token: Option<&str>,
    now_ms: u64,
) -> Result<Option<Who>, ProxyError> {
    let (Some(identity), Some(key), Some(token)) = (&app.identity, key, token) else {
        return Ok(None);
    };
    if signing_input(token).len() == token.len() {
        return Ok(None);
    }
    let sig = app.keyer.signature_hash(token);
    let seen = app.state().verified(key, sig);
    if seen == Verified::Same {
        return Ok(None);
    }
    match identity.verify(token, now_ms).await {
        Verdict::Opaque => Ok(None),
        Verdict::Valid(claims) => {
            let policy = live
                .config
                .timeout
                .policy_for(&claims.groups)
                .map_or(0, |i| i as u8 + 1);
            let who = Who {
                sig,
                subject: claims.subject,
                policy,
            };
            if seen == Verified::Other {
                app.state().attach(key, who.ident());
            }
            Ok(Some(who))
        }
        Verdict::Invalid(why) => match identity_on_invalid(live) {
            OnInvalid::Reject => Err(ProxyError::client(ErrorKind::InvalidToken(why.description))),
            // Treated as opaque, and remembered with these bytes so that it is not
            // verified on every request.
            OnInvalid::Pass => {
                let who = Who {
                    sig,
                    ..Who::default()
                };
                if seen == Verified::Other {
                    app.state().attach(key, who.ident());
                }
                Ok(Some(who))
            }
        },
    }
}

fn identity_on_invalid(live: &Live) -> OnInvalid {
    live.config
        .identity
        .as_ref()
        .map_or(OnInvalid::Pass, |i| i.on_invalid)
}
