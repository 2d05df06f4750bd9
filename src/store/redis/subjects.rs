//! A subject's tokens across replicas (docs/reference.md, "Identity"; key layout in
//! docs/replicas.md). The flush adds each token with a subject to the subject's set; the
//! admin's listing reads that set for the tokens other replicas saw, and a revocation of the
//! subject revokes them too.
//!
//! The set holds token ids only. A member whose `:t` and `:r` keys have both expired is
//! dropped from the set when a listing meets it.

use std::cmp::Reverse;
use std::collections::HashSet;

use ::redis::{cmd, Value};

use super::keys::parse_revoked_value;
use super::link::Link;
use super::shared::Shared;
use crate::store::deadline::deadline;
use crate::store::{SubjectToken, Timing};
use crate::token::TokenKey;

/// Members read per listing, at most (docs/replicas.md, "Limits"): a listing stays a bounded
/// amount of work however many tokens one subject has.
pub(super) const MAX_MEMBERS: usize = 10_000;
/// Members looked up per pipeline.
const CHUNK: usize = 512;

/// Why Redis could not complete a subject's listing.
#[derive(Debug, thiserror::Error)]
pub(super) enum SubjectsError {
    #[error("Redis is not connected")]
    NotConnected,
    #[error(transparent)]
    Redis(#[from] ::redis::RedisError),
}

/// What Redis holds for one member of a subject's set.
enum MemberState {
    Token(SubjectToken),
    /// Neither tracked nor revoked any more: the member is stale.
    Gone,
}

impl Shared {
    /// Adds a token to its subject's set (the flush pipelines it after the token's script).
    pub(super) fn subject_add_cmd(
        &self,
        subject: &str,
        key: &TokenKey,
        ttl_ms: u64,
    ) -> ::redis::Cmd {
        let mut c = cmd("EVALSHA");
        c.arg(self.scripts.subject_add.get_hash())
            .arg(1)
            .arg(self.keys.subject(subject))
            .arg(key.to_hex())
            .arg(ttl_ms);
        c
    }

    /// This replica's listing of `subject` completed with the tokens only other replicas
    /// hold: active ones newest first, then revoked ones latest first. Without Redis the
    /// local listing is answered as it is, and a log line says so.
    pub(crate) async fn subject_tokens(
        &self,
        subject: &str,
        mut tokens: Vec<SubjectToken>,
        timing: &Timing,
    ) -> Vec<SubjectToken> {
        let held: HashSet<TokenKey> = tokens.iter().map(|t| t.key).collect();
        match self.elsewhere(subject, &held, timing).await {
            Ok(more) => tokens.extend(more),
            Err(e) => {
                if let SubjectsError::Redis(e) = &e {
                    self.failed(&self.errors.read, "subject listing", e);
                }
                tracing::warn!(
                    error = %e,
                    "Redis could not be read: a subject's tokens are listed from this \
                     replica only"
                );
                return tokens;
            }
        }
        tokens.sort_by_key(|t| {
            (
                t.revoked.is_some(),
                Reverse(t.last_activity_ms),
                Reverse(t.until_ms),
            )
        });
        tokens
    }

    /// The members of `subject`'s set not in `held`, with their state in Redis. Stale
    /// members are removed from the set.
    async fn elsewhere(
        &self,
        subject: &str,
        held: &HashSet<TokenKey>,
        timing: &Timing,
    ) -> Result<Vec<SubjectToken>, SubjectsError> {
        let mut conn = self.connection().ok_or(SubjectsError::NotConnected)?;
        let set = self.keys.subject(subject);
        let mut size = cmd("SCARD");
        size.arg(&set);
        let mut some = cmd("SRANDMEMBER");
        some.arg(&set).arg(MAX_MEMBERS);
        let (size, members): (usize, Vec<String>) = conn.same_slot(vec![size, some]).await?;
        if size > MAX_MEMBERS {
            tracing::warn!(
                members = size,
                read = MAX_MEMBERS,
                "a subject has more tokens in Redis than one listing reads"
            );
        }
        let mut stale: Vec<String> = Vec::new();
        let mut keys: Vec<TokenKey> = Vec::new();
        for m in members {
            match TokenKey::from_hex(&m) {
                Some(k) if held.contains(&k) => {}
                Some(k) => keys.push(k),
                None => stale.push(m),
            }
        }
        let mut out = Vec::new();
        for chunk in keys.chunks(CHUNK) {
            let states = self.member_states(&conn, chunk, timing).await?;
            for (key, state) in chunk.iter().zip(states) {
                match state {
                    MemberState::Token(t) => out.push(t),
                    MemberState::Gone => stale.push(key.to_hex()),
                }
            }
        }
        if !stale.is_empty() {
            let dropped: ::redis::RedisResult<()> = cmd("SREM")
                .arg(&set)
                .arg(&stale)
                .query_async(&mut conn)
                .await;
            if let Err(e) = dropped {
                self.failed(&self.errors.write, "subject set cleanup", &e);
            }
        }
        Ok(out)
    }

    /// One pipeline: each member's tracked times and revoked value.
    async fn member_states(
        &self,
        conn: &Link,
        keys: &[TokenKey],
        timing: &Timing,
    ) -> ::redis::RedisResult<Vec<MemberState>> {
        let mut cmds = Vec::with_capacity(keys.len() * 2);
        for key in keys {
            let mut times = cmd("HMGET");
            times.arg(self.keys.tracked(key)).arg(&["l", "f"]);
            let mut revoked = cmd("GET");
            revoked.arg(self.keys.revoked(key));
            cmds.extend([times, revoked]);
        }
        let replies = conn
            .batch(cmds)
            .await
            .into_iter()
            .collect::<::redis::RedisResult<Vec<Value>>>()?;
        let mut states = Vec::with_capacity(keys.len());
        for (key, pair) in keys.iter().zip(replies.chunks_exact(2)) {
            let times: Vec<Option<String>> = ::redis::from_redis_value(&pair[0])?;
            let times: Vec<Option<u64>> = times
                .iter()
                .map(|v| v.as_deref().and_then(|v| v.parse().ok()))
                .collect();
            let revoked: Option<String> = ::redis::from_redis_value(&pair[1])?;
            states.push(member_state(*key, &times, revoked.as_deref(), timing));
        }
        Ok(states)
    }
}

/// A member's state: revoked (with its reason) wins over tracked; tracked is active, its
/// remaining time under the default timing (the policy is known only where it was verified).
fn member_state(
    key: TokenKey,
    times: &[Option<u64>],
    revoked: Option<&str>,
    timing: &Timing,
) -> MemberState {
    if let Some((reason, until_ms)) = revoked.and_then(parse_revoked_value) {
        return MemberState::Token(SubjectToken {
            key,
            revoked: Some(reason),
            policy: 0,
            last_activity_ms: None,
            first_seen_ms: None,
            until_ms,
        });
    }
    match times {
        [Some(last), Some(first)] => MemberState::Token(SubjectToken {
            key,
            revoked: None,
            policy: 0,
            last_activity_ms: Some(*last),
            first_seen_ms: Some(*first),
            until_ms: deadline(*last, *first, timing),
        }),
        _ => MemberState::Gone,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RevokeReason;

    fn token(state: MemberState) -> Option<SubjectToken> {
        match state {
            MemberState::Token(t) => Some(t),
            MemberState::Gone => None,
        }
    }

    #[test]
    fn a_revoked_member_is_listed_with_its_reason_even_with_a_tracked_hash() {
        let t = Timing::simple(1000, None, true, 5000);
        let k = TokenKey([2; 16]);
        let listed = token(member_state(k, &[Some(5), Some(1)], Some("admin 99"), &t));
        let listed = listed.expect("listed");
        assert_eq!(listed.revoked, Some(RevokeReason::Admin));
        assert_eq!(listed.until_ms, 99);
    }

    #[test]
    fn a_tracked_member_is_active_until_its_default_deadline() {
        let t = Timing::simple(1000, Some(3000), true, 5000);
        let k = TokenKey([2; 16]);
        let listed = token(member_state(k, &[Some(500), Some(100)], None, &t)).expect("listed");
        assert_eq!(listed.revoked, None);
        assert_eq!(listed.last_activity_ms, Some(500));
        assert_eq!(listed.until_ms, 1500);
    }

    #[test]
    fn a_member_with_neither_key_is_gone() {
        let t = Timing::simple(1000, None, true, 5000);
        let k = TokenKey([2; 16]);
        assert!(token(member_state(k, &[None, None], None, &t)).is_none());
        assert!(token(member_state(k, &[Some(5), None], Some("bogus"), &t)).is_none());
    }
}
