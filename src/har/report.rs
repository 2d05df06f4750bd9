//! The report of `idlegate har`: a stable JSON document (`--json`) and a human text table.
//! Field order in the structs is the JSON field order; absent values are `null`.

use std::fmt::Write as _;
use std::time::Duration;

use serde::Serialize;

use super::entry::Skipped;

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub idle_seconds: u64,
    pub apis: Vec<ApiRow>,
    pub tokens: Vec<TokenRow>,
    pub candidates: Vec<Candidate>,
    pub what_if: Vec<WhatIf>,
    pub skipped: Vec<Skipped>,
    pub requests_without_token: u64,
    /// `[[timeout.policies]]` in priority order, with the tokens each applies to.
    pub policies: Vec<PolicyRow>,
    /// Tokens shaped like a JWT whose claims could not be read (predicted under the default).
    pub tokens_with_unreadable_claims: u64,
    /// Entries skipped, listed or not (text report only; not part of the JSON).
    #[serde(skip)]
    pub skipped_total: u64,
    /// `timeout.absolute` used for predictions (text report only; not part of the JSON).
    #[serde(skip)]
    pub absolute_seconds: Option<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ApiRow {
    pub method: String,
    pub template: String,
    pub count: u64,
    /// `activity` or `excluded`.
    pub class: String,
    /// The exclusion label (group id, custom pattern text, `no-touch-header`) or null.
    pub exclusion: Option<String>,
    pub median_interval_seconds: Option<f64>,
    pub periodic: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct TokenRow {
    pub token_id: String,
    pub requests: u64,
    pub resetting_requests: u64,
    pub first: String,
    pub last: String,
    pub longest_gap_seconds: f64,
    pub would_revoke_at: Option<String>,
    /// The timeout policy the predictions use; null = the default.
    pub policy: Option<String>,
    /// The subject claim of a JWT, read without verification.
    pub subject: Option<String>,
    /// `jwt`, `opaque` (not a JWT) or `unreadable` (a JWT whose claims could not be read).
    pub claims: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct PolicyRow {
    pub name: String,
    pub groups: Vec<String>,
    /// Null = `idle = "off"`.
    pub idle_seconds: Option<u64>,
    /// The policy's `absolute`, else `timeout.absolute`; null = none.
    pub absolute_seconds: Option<u64>,
    pub tokens: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Candidate {
    pub method: String,
    pub template: String,
    pub reason: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct WhatIf {
    pub group: String,
    pub revoked_tokens: Vec<RevokedToken>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RevokedToken {
    pub token_id: String,
    pub at: String,
}

/// `1h 5m 3s` for whole seconds; `0s` for zero.
fn human_secs(secs: f64) -> String {
    let whole = secs.max(0.0).round() as u64;
    humantime::format_duration(Duration::from_secs(whole)).to_string()
}

impl Report {
    /// The stable JSON document, pretty-printed, with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".to_owned());
        s.push('\n');
        s
    }

    /// The human report: APIs by count, candidates, tokens, what-if, skips, next step.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.write_header(&mut out);
        self.write_apis(&mut out);
        self.write_candidates(&mut out);
        self.write_tokens(&mut out);
        self.write_what_if(&mut out);
        self.write_footer(&mut out);
        out
    }

    fn write_header(&self, out: &mut String) {
        let requests: u64 = self.apis.iter().map(|a| a.count).sum();
        let absolute = self
            .absolute_seconds
            .map(|a| format!(", absolute {}", human_secs(a as f64)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{requests} requests with a token from {} token(s), {} without a token, {} entries skipped",
            self.tokens.len(),
            self.requests_without_token,
            self.skipped_total
        );
        let by_group = if self.policies.is_empty() {
            "."
        } else {
            " by default; tokens by group:"
        };
        let _ = writeln!(
            out,
            "Predictions use idle timeout {}{absolute}{by_group}",
            human_secs(self.idle_seconds as f64)
        );
        for p in &self.policies {
            let idle = p
                .idle_seconds
                .map_or("off".to_owned(), |s| human_secs(s as f64));
            let absolute = p
                .absolute_seconds
                .map_or("none".to_owned(), |s| human_secs(s as f64));
            let _ = writeln!(
                out,
                "  {:<24} idle {idle}, absolute {absolute}, groups {}: {} token(s)",
                p.name,
                p.groups.join(", "),
                p.tokens
            );
        }
        out.push('\n');
    }

    fn write_apis(&self, out: &mut String) {
        let _ = writeln!(out, "APIs (busiest first)");
        let width = self
            .apis
            .iter()
            .map(|a| a.template.len())
            .max()
            .unwrap_or(8)
            .clamp(8, 70);
        let _ = writeln!(
            out,
            "  {:>6}  {:<7} {:<width$}  {:<8}  {:>8}  {:<8}  EXCLUSION",
            "COUNT", "METHOD", "TEMPLATE", "CLASS", "MEDIAN", "PERIODIC"
        );
        for a in &self.apis {
            let median = a.median_interval_seconds.map_or("-".to_owned(), human_secs);
            let _ = writeln!(
                out,
                "  {:>6}  {:<7} {:<width$}  {:<8}  {:>8}  {:<8}  {}",
                a.count,
                a.method,
                a.template,
                a.class,
                median,
                if a.periodic { "yes" } else { "no" },
                a.exclusion.as_deref().unwrap_or("-")
            );
        }
        end_list(out, self.apis.is_empty(), "(no request carried a token)");
    }

    fn write_candidates(&self, out: &mut String) {
        let _ = writeln!(out, "Candidates to exclude (periodic activity APIs)");
        for c in &self.candidates {
            let _ = writeln!(out, "  {} {}\n      {}", c.method, c.template, c.reason);
        }
        end_list(out, self.candidates.is_empty(), "none");
    }

    fn write_tokens(&self, out: &mut String) {
        let _ = writeln!(out, "Tokens");
        let _ = writeln!(
            out,
            "  {:<32}  {:<24}  {:<24}  {:>8}  {:>9}  {:>11}  {:<24}  {:<20}  SUBJECT",
            "TOKEN ID",
            "FIRST",
            "LAST",
            "REQUESTS",
            "RESETTING",
            "LONGEST GAP",
            "WOULD BE REVOKED AT",
            "POLICY"
        );
        for t in &self.tokens {
            let policy = match (&t.policy, t.claims.as_str()) {
                (Some(name), _) => name.as_str(),
                (None, "unreadable") => "default (bad claims)",
                (None, _) => "default",
            };
            let _ = writeln!(
                out,
                "  {:<32}  {:<24}  {:<24}  {:>8}  {:>9}  {:>11}  {:<24}  {:<20}  {}",
                t.token_id,
                t.first,
                t.last,
                t.requests,
                t.resetting_requests,
                human_secs(t.longest_gap_seconds),
                t.would_revoke_at.as_deref().unwrap_or("never"),
                policy,
                t.subject.as_deref().unwrap_or("-")
            );
        }
        end_list(out, self.tokens.is_empty(), "none");
    }

    fn write_what_if(&self, out: &mut String) {
        let _ = writeln!(out, "What if a default group were also enabled");
        for w in &self.what_if {
            if w.revoked_tokens.is_empty() {
                let _ = writeln!(
                    out,
                    "  {:<24} no token in this recording would be revoked",
                    w.group
                );
                continue;
            }
            let _ = writeln!(
                out,
                "  {:<24} {} token(s) would be revoked while the current exclusions keep them (at):",
                w.group,
                w.revoked_tokens.len()
            );
            for r in &w.revoked_tokens {
                let _ = writeln!(out, "      {} at {}", r.token_id, r.at);
            }
        }
        let empty = "every default group is already enabled";
        end_list(out, self.what_if.is_empty(), empty);
    }

    fn write_footer(&self, out: &mut String) {
        if self.tokens_with_unreadable_claims > 0 {
            let _ = writeln!(
                out,
                "{} token(s) look like JWTs but their claims could not be read (not base64url JSON, \
                 or a subject or groups claim of the wrong type); they use the default timeout.",
                self.tokens_with_unreadable_claims
            );
        }
        if self.skipped_total > 0 {
            let _ = writeln!(
                out,
                "{} entries were skipped (listed on stderr and under \"skipped\" with --json).",
                self.skipped_total
            );
        }
        let safe: Vec<&str> = self
            .what_if
            .iter()
            .filter(|w| w.revoked_tokens.is_empty())
            .map(|w| w.group.as_str())
            .collect();
        let _ = writeln!(out, "Next step:");
        if let Some(first) = safe.first() {
            let _ = writeln!(
                out,
                "  try a change on this recording first, e.g. `idlegate har FILE --enable {first}`"
            );
        } else {
            let _ = writeln!(
                out,
                "  try a change on this recording first: `idlegate har FILE --enable GROUP` or --custom \"METHOD /path\""
            );
        }
        let _ = writeln!(
            out,
            "  then run with timeout.mode = \"shadow\" on live traffic before enforcing it."
        );
    }
}

/// Ends a listed section of the text report: `empty` in place of the rows when there were
/// none, then a blank line.
fn end_list(out: &mut String, empty_list: bool, empty: &str) {
    if empty_list {
        let _ = writeln!(out, "  {empty}");
    }
    out.push('\n');
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
