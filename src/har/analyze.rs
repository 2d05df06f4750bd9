//! The statistics of docs/reference.md, "HAR analysis": per-API intervals and periodicity, per-token
//! timelines (longest gap, predicted revocation) under the current and what-if policies.

use hashbrown::HashMap;

use crate::clock::rfc3339;
use crate::evidence::periodic::{interval_stats, IntervalStats};

use super::collect::{Collector, Policies, Record, ACTIVITY, MAX_LISTED_SKIPS};
use super::entry::Skipped;
use super::report::{ApiRow, Candidate, Report, RevokedToken, TokenRow, WhatIf};
use super::timeouts::{ClaimsRead, Holder, TimeoutPolicies, Timeouts};

/// One token's requests under one policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeline {
    pub first_ms: u64,
    pub last_ms: u64,
    pub requests: u64,
    pub resetting: u64,
    pub longest_gap_ms: u64,
    /// The deadline a later request of the token reached, if any.
    pub revoke_at_ms: Option<u64>,
    /// The time of that request: the first one the policy refuses.
    pub revoke_trigger_ms: Option<u64>,
}

/// Walks `(time, resets_timer)` in time order. The first request starts the timer whatever
/// its class (tracking sets `last_activity` on first sight); a request at or after the
/// deadline finds the token revoked, and it stays revoked. The longest gap is a property of
/// the traffic and is measured over all requests, revoked or not. `idle_ms` None is an idle
/// timeout that is off: only the absolute deadline, if any, revokes.
pub fn timeline(
    requests: impl IntoIterator<Item = (u64, bool)>,
    idle_ms: Option<u64>,
    absolute_ms: Option<u64>,
) -> Option<Timeline> {
    let mut it = requests.into_iter();
    let (first, first_resets) = it.next()?;
    let absolute_deadline = absolute_ms.map(|a| first.saturating_add(a));
    let mut t = Timeline {
        first_ms: first,
        last_ms: first,
        requests: 1,
        resetting: u64::from(first_resets),
        longest_gap_ms: 0,
        revoke_at_ms: None,
        revoke_trigger_ms: None,
    };
    let mut last_reset = first;
    let mut gap_start = first;
    for (time, resets) in it {
        t.requests += 1;
        t.last_ms = time;
        if t.revoke_at_ms.is_none() {
            let idle_deadline = idle_ms.map(|idle| last_reset.saturating_add(idle));
            let deadline = match (idle_deadline, absolute_deadline) {
                (Some(i), Some(a)) => Some(i.min(a)),
                (i, a) => i.or(a),
            };
            if let Some(deadline) = deadline.filter(|&d| time >= d) {
                t.revoke_at_ms = Some(deadline);
                t.revoke_trigger_ms = Some(time);
            } else if resets {
                last_reset = time;
            }
        }
        if resets {
            t.resetting += 1;
            t.longest_gap_ms = t.longest_gap_ms.max(time.saturating_sub(gap_start));
            gap_start = time;
        }
    }
    t.longest_gap_ms = t.longest_gap_ms.max(t.last_ms.saturating_sub(gap_start));
    Some(t)
}

/// Builds the report from everything the collector gathered. Each token is predicted under its
/// own timeout policy, for the current exclusions and for every what-if.
pub(super) fn build_report(
    mut c: Collector<'_>,
    policies: &Policies,
    timeouts: &TimeoutPolicies<'_>,
) -> Report {
    // Stable: entries with the same time keep their file order.
    c.records.sort_by_key(|r| r.time_ms);
    let (apis, candidates) = api_rows(&c, policies);
    let by_token = records_by_token(&c.records, c.tokens.len());
    let timelines: Vec<Vec<Option<Timeline>>> = (0..=policies.what_if_groups.len())
        .map(|k| {
            (by_token.iter().zip(&c.holders))
                .map(|(recs, h)| token_timeline(&c.records, recs, k, timeouts.timeouts(h.policy)))
                .collect()
        })
        .collect();
    let mut tokens: Vec<TokenRow> = (c.tokens.iter().zip(&c.holders))
        .zip(&timelines[0])
        .filter_map(|((key, h), t)| t.map(|t| token_row(key.to_hex(), &t, h, timeouts)))
        .collect();
    tokens.sort_by(|a, b| a.first.cmp(&b.first).then(a.token_id.cmp(&b.token_id)));
    let what_if = policies
        .what_if_groups
        .iter()
        .enumerate()
        .map(|(i, group)| what_if_row(group, &c, &timelines[0], &timelines[i + 1]))
        .collect();
    let skipped_total = c.skipped.len() as u64 + c.unlisted_skips;
    let mut skipped = c.skipped;
    if let Some(entry) = c.first_unlisted_skip {
        skipped.push(Skipped {
            entry,
            field: "entries".to_owned(),
            reason: format!(
                "{} more skipped entries from here on are not listed (only the first {MAX_LISTED_SKIPS} are)",
                c.unlisted_skips
            ),
        });
    }
    let unreadable = (c.holders.iter()).filter(|h| h.claims == ClaimsRead::Unreadable);
    let default = timeouts.default();
    Report {
        policies: timeouts.rows(&c.holders),
        tokens_with_unreadable_claims: unreadable.count() as u64,
        idle_seconds: default.idle_ms.map_or(0, |ms| ms / 1000),
        apis,
        tokens,
        candidates,
        what_if,
        skipped,
        skipped_total,
        requests_without_token: c.without_token,
        absolute_seconds: default.absolute_ms.map(|a| a / 1000),
    }
}

fn records_by_token(records: &[Record], tokens: usize) -> Vec<Vec<u32>> {
    let mut by_token = vec![Vec::new(); tokens];
    for (i, r) in records.iter().enumerate() {
        by_token[r.token as usize].push(i as u32);
    }
    by_token
}

fn token_timeline(records: &[Record], recs: &[u32], k: usize, t: Timeouts) -> Option<Timeline> {
    let requests = recs.iter().map(|&i| {
        let r = &records[i as usize];
        (r.time_ms, r.excluded & (1 << k) == 0)
    });
    timeline(requests, t.idle_ms, t.absolute_ms)
}

fn token_row(token_id: String, t: &Timeline, h: &Holder, p: &TimeoutPolicies<'_>) -> TokenRow {
    TokenRow {
        policy: p.name(h.policy),
        subject: h.subject.clone(),
        claims: h.claims.as_str().to_owned(),
        token_id,
        requests: t.requests,
        resetting_requests: t.resetting,
        first: rfc3339(t.first_ms),
        last: rfc3339(t.last_ms),
        longest_gap_seconds: t.longest_gap_ms as f64 / 1000.0,
        would_revoke_at: t.revoke_at_ms.map(rfc3339),
    }
}

/// When the what-if refuses a request of the token that the current exclusions let through:
/// the what-if deadline (`at`), if the request that reached it (`t_trig`) came while the
/// current timeline had not revoked the token yet. A what-if deadline earlier than the current
/// one with no request between the two changes nothing an operator sees, and is not listed
/// (the live trial list, `GET /api/v1/evidence/trial`, lists the same requests).
fn what_if_refusal(current: Option<&Timeline>, changed: Option<&Timeline>) -> Option<u64> {
    let changed = changed?;
    let (new_at, t_trig) = (changed.revoke_at_ms?, changed.revoke_trigger_ms?);
    let now_at = current.and_then(|t| t.revoke_at_ms);
    now_at.is_none_or(|n| t_trig < n).then_some(new_at)
}

/// Tokens the what-if refuses a request of that the current exclusions let through
/// ([`what_if_refusal`]), by what-if deadline.
fn what_if_row(
    group: &str,
    c: &Collector<'_>,
    current: &[Option<Timeline>],
    changed: &[Option<Timeline>],
) -> WhatIf {
    let mut revoked: Vec<(u64, RevokedToken)> = c
        .tokens
        .iter()
        .zip(current.iter().zip(changed))
        .filter_map(|(key, (now, new))| {
            let new_at = what_if_refusal(now.as_ref(), new.as_ref())?;
            let row = RevokedToken {
                token_id: key.to_hex(),
                at: rfc3339(new_at),
            };
            Some((new_at, row))
        })
        .collect();
    revoked.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.token_id.cmp(&b.1.token_id)));
    WhatIf {
        group: group.to_owned(),
        revoked_tokens: revoked.into_iter().map(|(_, r)| r).collect(),
    }
}

#[derive(Default)]
struct RowAcc {
    count: u64,
    intervals: Vec<u64>,
    /// Union of the records' what-if bits: which groups would exclude these requests.
    excluded: u64,
}

/// API rows keyed by (template, exclusion), busiest first, and the periodic activity ones.
fn api_rows(c: &Collector<'_>, policies: &Policies) -> (Vec<ApiRow>, Vec<Candidate>) {
    let mut rows: HashMap<(u32, u32), RowAcc> = HashMap::new();
    let mut last_seen: HashMap<(u32, u32, u32), u64> = HashMap::new();
    for r in &c.records {
        let row = rows.entry((r.api, r.exclusion)).or_default();
        row.count += 1;
        row.excluded |= r.excluded;
        if let Some(prev) = last_seen.insert((r.api, r.exclusion, r.token), r.time_ms) {
            row.intervals.push(r.time_ms.saturating_sub(prev));
        }
    }
    let mut out: Vec<(ApiRow, Option<Candidate>)> = rows
        .into_iter()
        .map(|((api, exclusion), mut acc)| {
            let (method, template) = &c.apis[api as usize];
            let stats = interval_stats(&mut acc.intervals);
            let label = (exclusion != ACTIVITY)
                .then(|| policies.labels.get(exclusion as usize).cloned())
                .flatten();
            let row = ApiRow {
                method: method.to_string(),
                template: template.clone(),
                count: acc.count,
                class: if exclusion == ACTIVITY {
                    "activity"
                } else {
                    "excluded"
                }
                .to_owned(),
                exclusion: label,
                median_interval_seconds: stats.median_ms.map(|m| m.round() / 1000.0),
                periodic: stats.periodic,
            };
            let candidate = (exclusion == ACTIVITY && stats.periodic)
                .then(|| candidate(&row, &acc, &stats, policies));
            (row, candidate)
        })
        .collect();
    out.sort_by(|a, b| {
        b.0.count
            .cmp(&a.0.count)
            .then_with(|| a.0.template.cmp(&b.0.template))
            .then_with(|| a.0.method.cmp(&b.0.method))
    });
    let candidates = out.iter().filter_map(|(_, c)| c.clone()).collect();
    (out.into_iter().map(|(r, _)| r).collect(), candidates)
}

fn candidate(row: &ApiRow, acc: &RowAcc, stats: &IntervalStats, policies: &Policies) -> Candidate {
    let median_s = stats.median_ms.unwrap_or(0.0) / 1000.0;
    let mut reason = format!(
        "periodic: every {median_s:.1}s (median of {} intervals, variation {:.2})",
        acc.intervals.len(),
        stats.cv.unwrap_or(0.0)
    );
    let groups: Vec<&str> = policies
        .what_if_groups
        .iter()
        .enumerate()
        .filter(|(i, _)| acc.excluded & (1 << (i + 1)) != 0)
        .map(|(_, g)| g.as_str())
        .collect();
    if groups.is_empty() {
        reason.push_str(&format!(
            "; in no default group: try --custom \"{} {}\"",
            row.method, row.template
        ));
    } else {
        reason.push_str(&format!("; default group {}", groups.join(", ")));
    }
    Candidate {
        method: row.method.clone(),
        template: row.template.clone(),
        reason,
    }
}

#[cfg(test)]
#[path = "analyze_tests.rs"]
mod tests;
