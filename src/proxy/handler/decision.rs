//! The decision phase: classify the request, check its token against the state (revoked, or
//! expired on the spot) and touch it, count its class, and start tracking it at once when
//! `tokens.track = "all"` (docs/reference.md, "Request path", steps 4–6).
//!
//! Layout: the handler's only read of the state layer (`check`); imports `tracking.rs` for
//! the tracking that does not wait for the upstream.

use http::Request;

use super::throttle::Throttle;
use super::tracking;
use super::verify::{verify_now, Who};
use crate::app::{App, Live};
use crate::classify::{Classifier, ExclusionId};
use crate::config::TrackMode;
use crate::evidence::{Evidence, TemplateId};
use crate::proxy::error::{ErrorKind, ProxyError};
use crate::store::{Check, TrialStep};
use crate::token::TokenKey;

/// What the decision leaves for forwarding and recording.
pub(super) struct Decision {
    /// The token's key: `None` without a token or while idle tracking is off.
    pub key: Option<TokenKey>,
    /// The token's deadline when it is tracked.
    pub deadline: Option<u64>,
    /// `tokens.track = "accepted"`: the upstream's answer settles the token's tracking.
    pub settled_by_answer: bool,
    /// Not tracked yet: the raw token, to start tracking it if the upstream accepts it.
    pub candidate: Option<String>,
    /// What verification learnt of the candidate (identity on).
    pub who: Option<Who>,
}

/// The request's token as the earlier phases left it.
pub(super) struct Presented<'t> {
    /// Its key: `None` without a token or while idle tracking is off.
    pub key: Option<TokenKey>,
    pub token: Option<&'t str>,
    /// With `[identity]` and a JWS: the hash of the token's bytes, to tell whether it was
    /// verified with these very bytes (0 = nothing to verify).
    pub sig: u64,
}

/// What the state says of a keyed token that may go on.
struct Verdict {
    /// The token's deadline when it is tracked.
    deadline: Option<u64>,
    /// Not tracked yet: may start being tracked.
    candidate: bool,
}

/// Refused when the token is revoked (or expired just now, when enforced) or its state
/// cannot be known; otherwise what forwarding and recording need.
pub(super) async fn decide<B>(
    app: &App,
    live: &Live,
    overflow_warning: &Throttle,
    req: &Request<B>,
    presented: Presented<'_>,
    now_ms: u64,
) -> Result<Decision, ProxyError> {
    let Presented { key, token, sig } = presented;
    // Classified first (pure) so that the check can touch in the same step.
    let exclusion = classify(live, req);
    let mut verdict = Verdict {
        deadline: None,
        candidate: false,
    };
    let mut who = None;
    if let Some(key) = &key {
        let signed = token.filter(|_| sig != 0).map(|t| (t, sig));
        (verdict, who) = check(app, live, key, signed, exclusion.is_none(), now_ms).await?;
    }
    count_class(app, live, token.is_some(), exclusion);
    let template = app.evidence().and_then(|evidence| {
        let token = (key.as_ref(), token);
        record_evidence(app, live, evidence, req, token, exclusion, now_ms)
    });
    // A token alive under the enforced list, with a trial list set (docs/reference.md,
    // "Trial list").
    if let (Some(trial), Some(key), Some(_)) = (&live.trial, &key, verdict.deadline) {
        let step = match exclusion {
            Some(_) => TrialStep::Excluded,
            None if !trial_excludes(trial, req) => TrialStep::Reset,
            None => TrialStep::Kept(template.map_or(u32::MAX, TemplateId::raw)),
        };
        app.trial_step(live, key, step, now_ms);
    }

    let settled_by_answer = live.config.tokens.track != TrackMode::All;
    let mut candidate = None;
    if let (Some(key), true) = (&key, verdict.candidate) {
        if settled_by_answer {
            candidate = token.map(str::to_owned);
        } else {
            let who = who.as_ref();
            verdict.deadline = tracking::track(app, overflow_warning, key, token, who, now_ms);
        }
    }
    Ok(Decision {
        key,
        deadline: verdict.deadline,
        settled_by_answer,
        who: if candidate.is_some() { who } else { None },
        candidate,
    })
}

/// `Some` names the exclusion that matched, `None` is activity.
fn classify<B>(live: &Live, req: &Request<B>) -> Option<ExclusionId> {
    let no_touch = live
        .config
        .tokens
        .no_touch_header
        .as_ref()
        .is_some_and(|h| req.headers().contains_key(h));
    let (path, query) = (req.uri().path(), req.uri().query());
    live.classifier
        .classify(req.method(), path, query, no_touch)
}

/// Whether the trial's own patterns exclude an `activity` request (the no-touch header, an
/// enforced exclusion, was looked at already).
fn trial_excludes<B>(trial: &Classifier, req: &Request<B>) -> bool {
    let (path, query) = (req.uri().path(), req.uri().query());
    trial.classify(req.method(), path, query, false).is_some()
}

/// The check and touch of a keyed token, in one step on its entry; with Redis, an unknown
/// token is looked up and a due one claimed. A `signed` token (identity on: the raw JWS and
/// its bytes' hash) that this gateway has not verified with these bytes is verified first,
/// and nothing is touched before it passes.
async fn check(
    app: &App,
    live: &Live,
    key: &TokenKey,
    signed: Option<(&str, u64)>,
    touch: bool,
    now_ms: u64,
) -> Result<(Verdict, Option<Who>), ProxyError> {
    let state = app.state();
    let unavailable = |_| ProxyError::gateway(ErrorKind::Unavailable);
    let sig = signed.map_or(0, |(_, sig)| sig);
    // An expiry it returns is reported already.
    let mut check = state
        .check_signed(key, now_ms, &live.timing, touch, sig)
        .await
        .map_err(unavailable)?;
    let mut who = None;
    if let (Some((token, sig)), Check::Unknown | Check::Unverified) = (signed, &check) {
        // Once per token: boxed, so that its state does not weigh on every request's future.
        let tracked = check == Check::Unverified;
        let first = verify_first(app, live, key, (token, sig), tracked, touch, now_ms);
        (check, who) = Box::pin(first).await?;
    }
    Ok((settle(check)?, who))
}

/// The verification of a token this gateway has not verified with these bytes, then its check.
async fn verify_first(
    app: &App,
    live: &Live,
    key: &TokenKey,
    (token, sig): (&str, u64),
    tracked: bool,
    touch: bool,
    now_ms: u64,
) -> Result<(Check, Option<Who>), ProxyError> {
    let state = app.state();
    let who = verify_now(app, live, key, sig, token, tracked, now_ms).await?;
    let check = state
        .check(key, now_ms, &live.timing, touch)
        .await
        .map_err(|_| ProxyError::gateway(ErrorKind::Unavailable))?;
    // Learnt from another replica just now (Redis): keep what verification found, so
    // the next request with these bytes is not verified again.
    if let (false, Some(w), Check::Active { .. }) = (tracked, &who, &check) {
        state.attach(key, w.ident());
    }
    Ok((check, who))
}

/// What a check means for the request: refused, or its deadline and whether it may start
/// being tracked.
fn settle(check: Check) -> Result<Verdict, ProxyError> {
    let candidate = Verdict {
        deadline: None,
        candidate: true,
    };
    match check {
        Check::Revoked(reason) => Err(ProxyError::client(ErrorKind::Revoked(reason))),
        Check::Expired(rev) | Check::Due(rev) => {
            if rev.enforced {
                return Err(ProxyError::client(ErrorKind::Revoked(rev.reason)));
            }
            Ok(candidate)
        }
        Check::Active { deadline_ms } => Ok(Verdict {
            deadline: Some(deadline_ms),
            candidate: false,
        }),
        // Unverified only comes back for a token that was just verified: it goes on.
        Check::Unknown | Check::Unverified => Ok(candidate),
    }
}

/// `idlegate_requests_total` for a request that goes on to the upstream.
fn count_class(app: &App, live: &Live, has_token: bool, exclusion: Option<ExclusionId>) {
    let classes = &app.classes;
    match (has_token, exclusion) {
        (false, _) => {
            classes.anonymous.inc();
        }
        (true, None) => {
            classes.activity.inc();
        }
        (true, Some(id)) => {
            classes.excluded.inc();
            live.exclusion_counters[id].inc();
        }
    }
}

/// Live evidence of a request with a token that goes on (docs/reference.md, "Live evidence"):
/// its template's id. With idle tracking off the token has no key yet: it is keyed here, for
/// evidence only.
fn record_evidence<B>(
    app: &App,
    live: &Live,
    evidence: &Evidence,
    req: &Request<B>,
    (key, token): (Option<&TokenKey>, Option<&str>),
    exclusion: Option<ExclusionId>,
    now_ms: u64,
) -> Option<TemplateId> {
    let keyed;
    let key = match (key, token) {
        (Some(key), _) => key,
        (None, Some(token)) => {
            keyed = app.keyer.key(token);
            &keyed
        }
        (None, None) => return None,
    };
    let labels = live.classifier.labels();
    let label = exclusion.and_then(|id| labels.get(id)).map(String::as_str);
    let target = (req.method().as_str(), req.uri().path());
    Some(app.record_evidence(evidence, target, label, key, now_ms))
}
