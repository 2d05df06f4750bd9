//! Live evidence: the figures of `idlegate har` (requests, distinct tokens, periodicity and
//! candidates per API template), kept by the gateway itself over a rolling window of real
//! traffic (docs/reference.md, "HAR analysis", for the rules).
//!
//! The request path calls [`Evidence::intern`] (template → id) and [`Evidence::record`]. An
//! unsampled token costs one atomic increment; 1 token in `sample`, chosen by token id, also
//! feeds the template's distinct-token estimate and its interval history. Memory is bounded by
//! the settings ([`EvidenceSettings::memory_bound_bytes`]) whatever the traffic.
//!
//! # Layout
//!
//! Arrows point down only; this file is the top.
//!
//! - `periodic`, `template`: the periodicity rule and the path templates, shared with
//!   `idlegate har` (which imports them from here).
//! - `limits`: the fixed bounds (cut lengths, shards, tracked pairs, registers).
//! - `hourly`: hourly request counters, one atomic per bucket, recycled lazily.
//! - `hll`: the windowed HyperLogLog of sampled tokens.
//! - `labels`: exclusion labels interned to a code.
//! - `intern`: templates → ids, each with its counters, registers and classification.
//! - `path`: the normalised template of a request path, without allocating.
//! - `memo`: requests' templates remembered by exact method and path.
//! - `track`: sampled tokens' intervals per template, and periodicity.
//! - `settings`: [`EvidenceSettings`], its checks and the memory bound.
//! - `report`: [`EvidenceReport`] and the candidates rule.

mod hll;
mod hourly;
mod intern;
mod labels;
mod limits;
mod memo;
mod path;
pub mod periodic;
mod report;
mod settings;
pub mod template;
mod track;

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::token::TokenKey;

pub use intern::TemplateId;
pub use report::{EvidenceApi, EvidenceCandidate, EvidenceReport};
pub use settings::{EvidenceSettings, SettingsError};

use intern::{hll_of, Templates};
use labels::{ACTIVITY, NO_LABEL};
use limits::{halves, HOUR_MS};
use track::Tracker;

pub struct Evidence {
    settings: EvidenceSettings,
    hours: u64,
    templates: Templates,
    tracker: Tracker,
    memo: memo::Memo,
    overflow: AtomicU64,
}

impl Evidence {
    pub fn new(settings: EvidenceSettings) -> Result<Self, SettingsError> {
        settings.validate()?;
        let hours = settings.window_hours();
        Ok(Evidence {
            templates: Templates::new(settings.max_templates, hours as usize),
            tracker: Tracker::new(),
            memo: memo::Memo::new(),
            overflow: AtomicU64::new(0),
            settings,
            hours,
        })
    }

    pub fn settings(&self) -> &EvidenceSettings {
        &self.settings
    }

    /// The id of `(method, template)`, interned if new; [`TemplateId::OVERFLOW`] once
    /// `max_templates` are. `exclusion` is the exclusion that matched the request (`None`:
    /// activity); the template keeps the last one. A known template with an unchanged
    /// exclusion allocates nothing. Methods over 16 bytes and templates over 512 are cut.
    pub fn intern(&self, method: &str, template: &str, exclusion: Option<&str>) -> TemplateId {
        self.templates.intern(method, template, exclusion)
    }

    /// The id of `method` on a request `path` that no catalog operation matches: its template
    /// is the path normalised as `idlegate har` does (`template::normalise_path`), built on the
    /// stack, so that a known template allocates nothing (docs/reference.md, "Live evidence").
    pub fn intern_path(&self, method: &str, path: &str, exclusion: Option<&str>) -> TemplateId {
        path::with_template(path, |t| self.templates.intern(method, t, exclusion))
    }

    /// The id of a request's template (docs/reference.md, "Live evidence"): remembered by
    /// exact `method`, `path` and `salt` (what else decides it: the catalog in use) once
    /// found; else `catalog`'s template when it has one, else the path normalised
    /// ([`Evidence::intern_path`]). The template keeps `exclusion`, as with `intern`.
    pub fn intern_request<'c>(
        &self,
        (method, path): (&str, &str),
        salt: usize,
        exclusion: Option<&str>,
        catalog: impl FnOnce() -> Option<&'c str>,
    ) -> TemplateId {
        let hash = self.memo.hash(method, path, salt);
        if let Some(id) = self.memo.get(hash) {
            self.templates.classify(id.0, exclusion);
            return id;
        }
        let id = match catalog() {
            Some(template) => self.intern(method, template, exclusion),
            None => self.intern_path(method, path, exclusion),
        };
        self.memo.put(hash, id);
        id
    }

    /// The templates interned so far (at most `max_templates`).
    pub fn templates(&self) -> usize {
        self.templates.len()
    }

    /// Counts a request of `token` on template `id` at `now_ms`. Unsampled token: one atomic
    /// increment, no lock, no allocation. Sampled token: also the distinct-token estimate
    /// (lock-free) and the (token, template) interval history (a shard lock).
    pub fn record(&self, id: TemplateId, token: &TokenKey, now_ms: u64) {
        let Some(t) = self.templates.get(id.0) else {
            self.overflow.fetch_add(1, Relaxed);
            return;
        };
        let hour = now_ms / HOUR_MS;
        hourly::count(&t.cells, hour);
        if !self.settings.samples(token) {
            return;
        }
        let (_, hash) = halves(&token.0);
        hll::add(hll_of(t), hash, hour, self.hours);
        let start_ms = self.first_hour(now_ms) * HOUR_MS;
        self.tracker
            .record(&self.templates, id.0, token, now_ms, start_ms);
    }

    /// The method and template of an interned id (for the trial list's kept-alive APIs).
    pub fn describe(&self, id: TemplateId) -> Option<(String, String)> {
        let t = self.templates.get(id.0)?;
        Some((t.method().to_owned(), t.display()))
    }

    /// Requests of templates beyond `max_templates` since the start: counted, never stored.
    pub fn overflowed(&self) -> u64 {
        self.overflow.load(Relaxed)
    }

    /// Sampled requests whose (token, template) history could not be kept (the tracked pairs
    /// were all in use and in the window): their periodicity is not measured.
    pub fn untracked(&self) -> u64 {
        self.tracker.untracked()
    }

    /// The bytes this structure holds now, by its own accounting; never more than
    /// [`EvidenceSettings::memory_bound_bytes`].
    pub fn memory_bytes(&self) -> usize {
        let parts = self.templates.memory_bytes() + self.tracker.memory_bytes();
        std::mem::size_of::<Self>() + parts + memo::Memo::BYTES
    }

    /// The first hour of the window ending at `now_ms` (the current, partial hour is its last).
    fn first_hour(&self, now_ms: u64) -> u64 {
        (now_ms / HOUR_MS).saturating_sub(self.hours - 1)
    }

    /// The figures of the window ending at `now_ms`. Also drops the histories that left it.
    pub fn report(&self, now_ms: u64) -> EvidenceReport {
        let (first, now) = (self.first_hour(now_ms), now_ms / HOUR_MS);
        self.tracker.prune(&self.templates, first * HOUR_MS);
        let mut periodic = self.tracker.periodic(first * HOUR_MS);
        let sample = u64::from(self.settings.sample);
        let mut apis = Vec::new();
        for (id, t) in self.templates.iter() {
            let requests = hourly::total(&t.cells, first, now);
            if requests == 0 {
                continue;
            }
            let sampled = t
                .hll
                .get()
                .map_or(0.0, |r| hll::estimate(r, now, self.hours));
            let p = periodic.remove(&id).unwrap_or_default();
            let mut intervals = p.intervals;
            let median = periodic::interval_stats(&mut intervals).median_ms;
            let code = t.class.load(Relaxed);
            apis.push(EvidenceApi {
                method: t.method().to_owned(),
                template: t.display(),
                requests,
                tokens: (sampled.round() as u64).saturating_mul(sample),
                class: if code == ACTIVITY {
                    "activity"
                } else {
                    "excluded"
                },
                exclusion: (code != NO_LABEL)
                    .then(|| self.templates.labels.name(code))
                    .flatten(),
                periodic_tokens: p.tokens,
                median_interval_seconds: median.map(|m| m.round() / 1000.0),
            });
        }
        report::finish(first * HOUR_MS, apis, self.settings.min_tokens)
    }
}

#[cfg(test)]
mod report_tests;
#[cfg(test)]
mod tests;
