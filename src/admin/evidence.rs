//! `GET /api/v1/evidence`: live evidence, the figures of `idlegate har` from the gateway's own
//! traffic over its rolling window (docs/reference.md, "Admin API", "Evidence").

use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::api_doc::Refusals;
use super::auth::Admin;
use super::error::{AdminError, ErrorMessage};
use crate::app::App;
use crate::evidence::{EvidenceApi, EvidenceCandidate, EvidenceReport};

/// The live evidence of the window ending now.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EvidenceDoc {
    /// The window's start (RFC 3339, UTC): the start of its oldest hour.
    pub since: String,
    /// API templates with requests in the window, busiest first.
    pub apis: Vec<EvidenceApiDoc>,
    /// `activity` templates periodic for at least `evidence.min_tokens` sampled tokens:
    /// candidates for an exclusion, busiest first.
    pub candidates: Vec<EvidenceCandidateDoc>,
}

/// How a template's requests were last classified.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum EvidenceClass {
    Activity,
    Excluded,
}

/// One API template.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EvidenceApiDoc {
    pub method: String,
    /// The catalog's template when one matches, else the path with identifier-like segments
    /// as `{id}`; a template cut at 512 bytes ends with `…`.
    pub template: String,
    /// Requests of every token in the window (exact).
    pub requests: u64,
    /// Distinct tokens, estimated from the sampled ones (× `evidence.sample`).
    pub tokens: u64,
    pub class: EvidenceClass,
    /// The exclusion that matched (a default group id, a custom pattern, `no-touch-header`)
    /// when excluded; null for activity.
    #[schema(required = true)]
    pub exclusion: Option<String>,
    /// Sampled tokens whose requests to it in the window are periodic.
    pub periodic_tokens: u64,
    /// The median interval of those tokens' requests, in seconds; null when none is periodic.
    #[schema(required = true)]
    pub median_interval_seconds: Option<f64>,
}

/// An `activity` template that looks like background polling.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EvidenceCandidateDoc {
    pub method: String,
    pub template: String,
    pub periodic_tokens: u64,
    pub median_interval_seconds: f64,
}

impl From<EvidenceApi> for EvidenceApiDoc {
    fn from(a: EvidenceApi) -> Self {
        let class = if a.class == "activity" {
            EvidenceClass::Activity
        } else {
            EvidenceClass::Excluded
        };
        EvidenceApiDoc {
            method: a.method,
            template: a.template,
            requests: a.requests,
            tokens: a.tokens,
            class,
            exclusion: a.exclusion,
            periodic_tokens: a.periodic_tokens,
            median_interval_seconds: a.median_interval_seconds,
        }
    }
}

impl From<EvidenceCandidate> for EvidenceCandidateDoc {
    fn from(c: EvidenceCandidate) -> Self {
        EvidenceCandidateDoc {
            method: c.method,
            template: c.template,
            periodic_tokens: c.periodic_tokens,
            median_interval_seconds: c.median_interval_seconds,
        }
    }
}

impl From<EvidenceReport> for EvidenceDoc {
    fn from(r: EvidenceReport) -> Self {
        EvidenceDoc {
            since: r.since,
            apis: r.apis.into_iter().map(Into::into).collect(),
            candidates: r.candidates.into_iter().map(Into::into).collect(),
        }
    }
}

/// `GET /api/v1/evidence`.
#[utoipa::path(
    get,
    path = "/evidence",
    tag = "evidence",
    summary = "Live evidence: requests, tokens and periodicity per API template",
    operation_id = "get_evidence",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The figures of the window ending now", body = EvidenceDoc),
        (status = 404, description = "Live evidence is off (`[evidence] enabled = false`; `error` is `evidence_disabled`)", body = ErrorMessage),
        Refusals,
    )
)]
pub(crate) async fn get_evidence(
    _admin: Admin,
    State(app): State<Arc<App>>,
) -> Result<Json<EvidenceDoc>, AdminError> {
    let evidence = app.evidence().ok_or(AdminError::EvidenceDisabled)?;
    Ok(Json(evidence.report(app.clock.now_ms()).into()))
}
