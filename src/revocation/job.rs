//! One hook delivery: what is sent, to which hook, and until when it may be retried.

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::clock::{rfc3339, UnixMs};
use crate::store::Revocation;
use crate::token::TokenKey;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HookKind {
    Webhook,
    Rfc7009,
}

impl HookKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            HookKind::Webhook => "webhook",
            HookKind::Rfc7009 => "rfc7009",
        }
    }
}

/// What the webhook receives about a revocation: never the raw token, so it may be kept on
/// disk across a restart (see `pending`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WebhookEvent {
    pub token_id: String,
    pub reason: String,
    pub revoked_at_ms: UnixMs,
    /// 0 for an id that was never tracked.
    pub last_activity_ms: UnixMs,
}

impl WebhookEvent {
    pub(crate) fn of(rev: &Revocation) -> WebhookEvent {
        WebhookEvent {
            token_id: rev.key.to_hex(),
            reason: rev.reason.as_str().to_string(),
            revoked_at_ms: rev.at_ms,
            last_activity_ms: rev.last_activity_ms,
        }
    }

    /// The webhook's JSON body (docs/reference.md, "Revocation hooks").
    pub(crate) fn body(&self) -> String {
        serde_json::json!({
            "token_id": self.token_id,
            "reason": self.reason,
            "revoked_at": rfc3339(self.revoked_at_ms),
            "last_activity": (self.last_activity_ms > 0).then(|| rfc3339(self.last_activity_ms)),
        })
        .to_string()
    }
}

pub(crate) enum Payload {
    Webhook(WebhookEvent),
    /// RFC 7009 needs the raw token: it lives in memory only, and is never written anywhere.
    Rfc7009 {
        key: TokenKey,
        token_id: String,
        raw: Box<str>,
    },
}

pub(crate) struct Job {
    pub payload: Payload,
    /// No attempt starts after this.
    pub retry_until: Instant,
    pub attempts: u32,
}

impl Job {
    pub(crate) fn new(payload: Payload, retry_until: Instant) -> Job {
        Job {
            payload,
            retry_until,
            attempts: 0,
        }
    }

    pub(crate) fn kind(&self) -> HookKind {
        match self.payload {
            Payload::Webhook(_) => HookKind::Webhook,
            Payload::Rfc7009 { .. } => HookKind::Rfc7009,
        }
    }

    pub(crate) fn token_id(&self) -> &str {
        match &self.payload {
            Payload::Webhook(event) => &event.token_id,
            Payload::Rfc7009 { token_id, .. } => token_id,
        }
    }
}
