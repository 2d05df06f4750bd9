//! `idlegate har`: analyse a HAR recording (docs/reference.md, "HAR analysis").
//!
//! The recording is read as a stream ([`read_har`]); each entry is reduced to a compact record
//! (token, API template, classification under the current config and under each what-if),
//! then the records are sorted by time and analysed.
//!
//! # Layout
//!
//! Arrows point down only; this file is the top and only holds the entry points.
//!
//! - `error`: [`HarError`], why a recording cannot be analysed.
//! - `lenient`, `pairs`, `time`, `template`: reading odd JSON without failing, name/value
//!   pairs, RFC 3339 times, and URL → path/query/template.
//! - `entry`: [`HarEntry`] and [`Skipped`], and the raw entry they are read from.
//! - `input`: the byte-order mark in front of a recording.
//! - `walk`: the serde walk down to `log.entries`, handing each entry on.
//! - `reader`: [`read_har`], the streaming reader.
//! - `timeouts`: each token's timeout policy, picked from its JWT claims (read without
//!   verification by `token::decode_unverified`).
//! - `collect`: [`HarOptions`] and the collector (entry → compact record, per policy).
//! - `report`: the [`Report`] and its text form.
//! - `analyze`: timelines, intervals, candidates and what-ifs → the report.

mod analyze;
mod collect;
mod entry;
mod error;
mod input;
mod lenient;
mod pairs;
mod reader;
mod report;
mod time;
mod timeouts;
mod walk;

use std::io::Read;
use std::path::Path;

pub use crate::evidence::periodic::{interval_stats, IntervalStats};
pub use crate::evidence::template::{
    is_identifier, normalise_path, scan_segments, split_url, UrlParts,
};
pub use analyze::{timeline, Timeline};
pub use collect::HarOptions;
pub use entry::{HarEntry, Skipped};
pub use error::HarError;
pub use reader::read_har;
pub use report::{ApiRow, Candidate, PolicyRow, Report, RevokedToken, TokenRow, WhatIf};
pub use time::parse_rfc3339_ms;

use crate::catalog::Catalog;
use crate::config::Config;
use crate::token::Keyer;

/// Analyses the HAR file at `path` (streamed; see [`analyze_reader`]).
pub fn analyze_file(
    path: &Path,
    opts: &HarOptions,
    cfg: &Config,
    keyer: &Keyer,
    catalog: Option<&Catalog>,
) -> Result<Report, HarError> {
    let file = std::fs::File::open(path).map_err(|source| HarError::Io {
        path: path.display().to_string(),
        source,
    })?;
    analyze_reader(file, opts, cfg, keyer, catalog)
}

/// Analyses a HAR document read from `input`: tokens are found with `cfg.tokens.sources`
/// and keyed with `keyer`, requests classified with the config's exclusions plus `opts`,
/// templates taken from `catalog` when given. Skipped entries are in `Report::skipped`
/// (the CLI prints one stderr line each, see [`Skipped`]'s `Display`).
pub fn analyze_reader<R: Read>(
    input: R,
    opts: &HarOptions,
    cfg: &Config,
    keyer: &Keyer,
    catalog: Option<&Catalog>,
) -> Result<Report, HarError> {
    let policies = collect::Policies::build(cfg, opts)?;
    let timeouts = timeouts::TimeoutPolicies::build(cfg, opts.idle);
    let mut collector = collect::Collector::new(cfg, keyer, catalog, &policies, &timeouts);
    read_har(input, |entry| collector.add(entry))?;
    Ok(analyze::build_report(collector, &policies, &timeouts))
}
