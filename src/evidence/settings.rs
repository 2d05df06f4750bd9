//! The settings of live evidence, their checks, and the worst-case memory they allow.

use std::time::Duration;

use crate::token::TokenKey;

use super::intern::Templates;
use super::limits::{halves, HOUR_MS, MAX_SAMPLE, MAX_TEMPLATES_LIMIT, MAX_WINDOW_HOURS};
use super::limits::{STRUCT_BYTES, TOKENS_PER_TEMPLATE};
use super::track::Tracker;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceSettings {
    /// The rolling window, in whole hours (hourly buckets): 1h to 7d.
    pub window: Duration,
    /// 1 token in `sample` is sampled (chosen by token id); 1 samples every token.
    pub sample: u32,
    /// Templates interned at most; requests of further ones are only counted as overflow.
    pub max_templates: usize,
    /// Periodic sampled tokens a template needs to be a candidate.
    pub min_tokens: usize,
}

impl Default for EvidenceSettings {
    fn default() -> Self {
        EvidenceSettings {
            window: Duration::from_secs(24 * 3600),
            sample: 16,
            max_templates: 10_000,
            min_tokens: 3,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("evidence window must be whole hours from 1h to 7d (168h), not {0}")]
    Window(String),
    #[error("evidence sample must be from 1 (every token) to {MAX_SAMPLE}, not {0}")]
    Sample(u32),
    #[error("evidence max_templates must be from 1 to {MAX_TEMPLATES_LIMIT}, not {0}")]
    MaxTemplates(usize),
    #[error(
        "evidence min_tokens must be from 1 to {TOKENS_PER_TEMPLATE} (the sampled tokens tracked per template), not {0}"
    )]
    MinTokens(usize),
}

impl EvidenceSettings {
    /// The longest window, in hours (a week).
    pub const MAX_WINDOW_HOURS: u64 = MAX_WINDOW_HOURS;
    /// The largest `sample`.
    pub const MAX_SAMPLE: u32 = MAX_SAMPLE;
    /// The largest `max_templates`.
    pub const MAX_TEMPLATES: usize = MAX_TEMPLATES_LIMIT;
    /// The largest `min_tokens`: the sampled tokens tracked per template.
    pub const MAX_MIN_TOKENS: usize = TOKENS_PER_TEMPLATE as usize;

    /// The first setting out of range, if any.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let ms = self.window.as_millis();
        let hours = ms / u128::from(HOUR_MS);
        if !ms.is_multiple_of(u128::from(HOUR_MS))
            || !(1..=u128::from(MAX_WINDOW_HOURS)).contains(&hours)
        {
            let shown = humantime::format_duration(self.window).to_string();
            return Err(SettingsError::Window(shown));
        }
        if !(1..=MAX_SAMPLE).contains(&self.sample) {
            return Err(SettingsError::Sample(self.sample));
        }
        if !(1..=MAX_TEMPLATES_LIMIT).contains(&self.max_templates) {
            return Err(SettingsError::MaxTemplates(self.max_templates));
        }
        if !(1..=TOKENS_PER_TEMPLATE as usize).contains(&self.min_tokens) {
            return Err(SettingsError::MinTokens(self.min_tokens));
        }
        Ok(())
    }

    /// The window in hourly buckets (clamped to the valid range, for unvalidated settings).
    pub fn window_hours(&self) -> u64 {
        (self.window.as_millis() / u128::from(HOUR_MS)).clamp(1, u128::from(MAX_WINDOW_HOURS))
            as u64
    }

    /// Whether a token is sampled: its id's low 64 bits are a multiple of `sample`. The id is
    /// a keyed hash, so this is 1 token in `sample`, and the same answer on every request and
    /// every replica that shares the hash key.
    pub fn samples(&self, token: &TokenKey) -> bool {
        let (low, _) = halves(&token.0);
        self.sample <= 1 || low.is_multiple_of(u64::from(self.sample))
    }

    /// The most memory the evidence structure can hold with these settings, whatever the
    /// traffic, in bytes (what `Evidence::memory_bytes` counts):
    ///
    /// ```text
    ///   STRUCT_BYTES                                   the structure itself (1 KiB)
    /// + T × (slot + 16 + 512 + 8·H + 4·2^9)            per template: its slot, method and template
    ///                                                  (cut), hourly counters, HyperLogLog registers
    /// + table(T, 4)                                    the id table
    /// + 1024 × (256 + 16) + table(1024, 4)             exclusion labels (cut)
    /// + 16 × (shard + 1024 × (history + 4) + table(1024, 24))
    ///                                                  tracked (token, template) histories: slab,
    ///                                                  free list, index
    /// + 8192 × 16                                      templates remembered by method and path
    /// ```
    ///
    /// with T = `max_templates`, H = window hours, `history` = 272 bytes (64 intervals of
    /// 4 bytes and the last time), `table(n, e)` = the largest hashbrown allocation for `n`
    /// entries of `e` bytes (about 2.3 × n × (e + 1)). The defaults (24h, 10,000 templates)
    /// come to 34 MB: 29 MB of templates (20 MB of it registers, which the worst case needs a
    /// sampled token on every template to allocate), 5 MB of histories, 0.3 MB of labels. A
    /// 7d window adds 8 bytes per template and hour: 10 MB more.
    pub fn memory_bound_bytes(&self) -> usize {
        let hours = self.window_hours() as usize;
        let templates = self.max_templates.min(MAX_TEMPLATES_LIMIT);
        let memo = super::memo::Memo::BYTES;
        STRUCT_BYTES + Templates::memory_bound(templates, hours) + Tracker::memory_bound() + memo
    }
}
