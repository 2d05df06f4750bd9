//! The evidence report: per-API figures over the window and the candidates for exclusion.

use serde::Serialize;

use crate::clock::rfc3339;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvidenceReport {
    /// The window's start (RFC 3339): the start of its oldest hour.
    pub since: String,
    /// Templates with requests in the window, busiest first.
    pub apis: Vec<EvidenceApi>,
    /// `activity` templates periodic for at least `min_tokens` sampled tokens, busiest first.
    pub candidates: Vec<EvidenceCandidate>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvidenceApi {
    pub method: String,
    pub template: String,
    /// Exact: every token's requests in the window.
    pub requests: u64,
    /// Estimated distinct tokens: sampled distinct tokens × `sample`.
    pub tokens: u64,
    /// `activity` or `excluded`, as last classified.
    pub class: &'static str,
    /// The exclusion that matched (default group id or custom pattern), when excluded.
    pub exclusion: Option<String>,
    /// Sampled tokens whose intervals in the window are periodic (the HAR rule).
    pub periodic_tokens: u64,
    /// Median of all the periodic tokens' intervals, in seconds.
    pub median_interval_seconds: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvidenceCandidate {
    pub method: String,
    pub template: String,
    pub periodic_tokens: u64,
    pub median_interval_seconds: f64,
}

/// Sorts the rows busiest first (then by template and method, so the order is stable) and
/// picks the candidates.
pub(super) fn finish(
    since_ms: u64,
    mut apis: Vec<EvidenceApi>,
    min_tokens: usize,
) -> EvidenceReport {
    apis.sort_by(|a, b| {
        b.requests
            .cmp(&a.requests)
            .then_with(|| a.template.cmp(&b.template))
            .then_with(|| a.method.cmp(&b.method))
    });
    let min_tokens = u64::try_from(min_tokens).unwrap_or(u64::MAX);
    let candidates = (apis.iter())
        .filter(|a| a.class == "activity" && a.periodic_tokens >= min_tokens)
        .filter_map(|a| {
            Some(EvidenceCandidate {
                method: a.method.clone(),
                template: a.template.clone(),
                periodic_tokens: a.periodic_tokens,
                median_interval_seconds: a.median_interval_seconds?,
            })
        })
        .collect();
    EvidenceReport {
        since: rfc3339(since_ms),
        apis,
        candidates,
    }
}
