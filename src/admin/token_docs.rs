//! The documents the token and subject endpoints answer (docs/reference.md, "Admin API",
//! "Tokens" and "Subjects"), as types: the handlers serialize them, and the OpenAPI document
//! describes them from the same definitions.

use serde::Serialize;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::ToSchema;

use crate::clock::{remaining_seconds, rfc3339, UnixMs};
use crate::store::{RevokeReason, Status, SubjectToken};

/// Why a token was revoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Reason {
    Inactivity,
    Absolute,
    Admin,
}

impl From<RevokeReason> for Reason {
    fn from(reason: RevokeReason) -> Reason {
        match reason {
            RevokeReason::Inactivity => Reason::Inactivity,
            RevokeReason::Absolute => Reason::Absolute,
            RevokeReason::Admin => Reason::Admin,
        }
    }
}

/// A field that is always `null` in this variant; kept so that every state has the same keys.
fn always_null() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Null)
}

/// `GET /api/v1/tokens/{token_id}`. An unknown id is exactly `{"state":"unknown"}`; an
/// active or revoked one also names who holds it (`subject` null for an opaque token or
/// without `[identity]`, `policy` null for the default policy).
#[derive(Debug, PartialEq, Serialize, ToSchema)]
#[serde(tag = "state", rename_all = "lowercase")]
pub(crate) enum TokenStatusDoc {
    /// Tracked: its requests keep it alive.
    Active {
        /// The last activity, RFC 3339.
        #[schema(format = DateTime)]
        last_activity: String,
        /// Whole seconds to the earlier deadline, rounded up.
        remaining_seconds: u64,
        #[schema(required = true)]
        subject: Option<String>,
        #[schema(required = true)]
        policy: Option<String>,
    },
    /// Refused until its retention is over.
    Revoked {
        #[schema(schema_with = always_null)]
        last_activity: (),
        #[schema(schema_with = always_null)]
        remaining_seconds: (),
        reason: Reason,
        #[schema(required = true)]
        subject: Option<String>,
        #[schema(required = true)]
        policy: Option<String>,
    },
    /// Neither tracked nor revoked.
    Unknown,
}

/// Who holds a known token: its subject and its timeout policy's name.
#[derive(Debug, Default)]
pub(crate) struct Holder {
    pub subject: Option<String>,
    pub policy: Option<String>,
}

impl TokenStatusDoc {
    /// `holder` is asked only for a known token.
    pub(crate) fn of(status: Status, now_ms: UnixMs, holder: impl FnOnce() -> Holder) -> Self {
        match status {
            Status::Active {
                last_activity_ms,
                deadline_ms,
            } => {
                let Holder { subject, policy } = holder();
                TokenStatusDoc::Active {
                    last_activity: rfc3339(last_activity_ms),
                    remaining_seconds: remaining_seconds(deadline_ms, now_ms),
                    subject,
                    policy,
                }
            }
            Status::Revoked { reason, .. } => {
                let Holder { subject, policy } = holder();
                TokenStatusDoc::Revoked {
                    last_activity: (),
                    remaining_seconds: (),
                    reason: reason.into(),
                    subject,
                    policy,
                }
            }
            Status::Unknown => TokenStatusDoc::Unknown,
        }
    }
}

/// A listed token's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ListedState {
    Active,
    Revoked,
}

/// One token of `GET /api/v1/subjects/{subject}/tokens`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SubjectTokenDoc {
    #[schema(pattern = "^[0-9a-f]{32}$")]
    pub token_id: String,
    pub state: ListedState,
    /// Null while active.
    #[schema(required = true)]
    pub reason: Option<Reason>,
    /// The timeout policy's name; null for the default.
    #[schema(required = true)]
    pub policy: Option<String>,
    /// RFC 3339; null once revoked.
    #[schema(required = true, format = DateTime)]
    pub last_activity: Option<String>,
    /// Whole seconds to the earlier deadline, rounded up; null once revoked.
    #[schema(required = true)]
    pub remaining_seconds: Option<u64>,
}

impl SubjectTokenDoc {
    /// `policy` is the name of `t.policy`.
    pub(crate) fn of(t: &SubjectToken, policy: Option<String>, now_ms: UnixMs) -> Self {
        SubjectTokenDoc {
            token_id: t.key.to_hex(),
            state: match t.revoked {
                None => ListedState::Active,
                Some(_) => ListedState::Revoked,
            },
            reason: t.revoked.map(Reason::from),
            policy,
            last_activity: t.last_activity_ms.map(rfc3339),
            remaining_seconds: t
                .revoked
                .is_none()
                .then(|| remaining_seconds(t.until_ms, now_ms)),
        }
    }
}

/// `GET /api/v1/subjects/{subject}/tokens`: active tokens first (most recent activity first),
/// then revoked ones still retained (latest retention first).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SubjectTokensDoc {
    pub subject: String,
    pub tokens: Vec<SubjectTokenDoc>,
}

/// `DELETE /api/v1/subjects/{subject}/tokens`: how many active tokens were revoked.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RevokedCount {
    pub revoked: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn json_of(doc: &TokenStatusDoc) -> serde_json::Value {
        serde_json::to_value(doc).unwrap()
    }

    #[test]
    fn unknown_status_is_only_the_state() {
        let doc = TokenStatusDoc::of(Status::Unknown, 0, || unreachable!("not asked"));
        assert_eq!(json_of(&doc), json!({"state": "unknown"}));
    }

    #[test]
    fn revoked_status_has_null_times_and_its_holder() {
        let revoked = Status::Revoked {
            reason: RevokeReason::Admin,
            until_ms: 5,
        };
        let holder = || Holder {
            subject: Some("alice".into()),
            policy: None,
        };
        let doc = TokenStatusDoc::of(revoked, 0, holder);
        assert_eq!(
            json_of(&doc),
            json!({"state": "revoked", "last_activity": null, "remaining_seconds": null,
                   "reason": "admin", "subject": "alice", "policy": null})
        );
    }

    #[test]
    fn reasons_keep_the_store_names() {
        for r in [
            RevokeReason::Inactivity,
            RevokeReason::Absolute,
            RevokeReason::Admin,
        ] {
            assert_eq!(json!(Reason::from(r)), json!(r.as_str()));
        }
    }
}
