//! Turns each HAR entry into a compact [`Record`]: which token, which API template, and how it
//! is classified under the current policy and under each what-if policy. Strings are interned
//! so memory grows with the number of distinct tokens and APIs, not with the file.

use std::time::Duration;

use hashbrown::HashMap;

use crate::catalog::Catalog;
use crate::classify::{Classifier, Pattern};
use crate::config::Config;
use crate::token::{extract, Keyer, TokenKey, TokenSource};

use super::entry::{HarEntry, Skipped};
use super::error::HarError;
use super::timeouts::{Holder, TimeoutPolicies};
use crate::evidence::template::normalise_path;

/// At most this many what-if groups: a record keeps one "excluded" bit per policy in a u64,
/// bit 0 being the current policy.
pub(super) const MAX_WHAT_IF: usize = 63;

/// At most this many skipped entries are listed (in the report and on stderr); the rest are
/// counted. A file of nothing but `null` entries would otherwise hold a listed skip (over 100
/// bytes) for every 5 bytes read.
pub(super) const MAX_LISTED_SKIPS: usize = 1000;

/// No exclusion matched (class `activity`).
pub(super) const ACTIVITY: u32 = u32::MAX;

/// Changes tried on the recording without editing the config (`idlegate har` flags).
#[derive(Clone, Debug, Default)]
pub struct HarOptions {
    /// `--idle`: replaces `timeout.idle` (the default policy's idle timeout) for predictions.
    pub idle: Option<Duration>,
    /// `--enable GROUP`: default groups switched on in addition to `enabled_defaults`.
    pub enable: Vec<String>,
    /// `--custom "METHOD /path"`: patterns excluded in addition to `exclusions.custom`.
    pub custom: Vec<String>,
}

/// One request of a token, as analysed.
#[derive(Clone, Copy, Debug)]
pub(super) struct Record {
    pub time_ms: u64,
    pub token: u32,
    pub api: u32,
    /// Index into [`Policies::labels`], or [`ACTIVITY`].
    pub exclusion: u32,
    /// Bit k set = excluded under policy k (0 = current, k ≥ 1 = what-if group k−1).
    pub excluded: u64,
}

/// The current policy (config + command-line changes) and one what-if per group not enabled.
pub(super) struct Policies {
    /// `[0]` is the current policy, `[k]` adds `what_if_groups[k-1]`.
    classifiers: Vec<Classifier>,
    pub what_if_groups: Vec<String>,
    /// Exclusion labels of the current policy.
    pub labels: Vec<String>,
}

impl Policies {
    /// Validates `--enable` groups and `--custom` patterns against `cfg`.
    pub(super) fn build(cfg: &Config, opts: &HarOptions) -> Result<Policies, HarError> {
        let groups = &cfg.exclusions.groups;
        let mut enabled = cfg.exclusions.enabled_defaults.clone();
        for id in &opts.enable {
            if !groups.iter().any(|g| &g.id == id) {
                return Err(HarError::UnknownGroup(id.clone()));
            }
            if !enabled.contains(id) {
                enabled.push(id.clone());
            }
        }
        let mut custom = cfg.exclusions.custom.clone();
        for text in &opts.custom {
            custom.push(Pattern::parse(text)?);
        }
        let no_touch = cfg.tokens.no_touch_header.is_some();
        let current = Classifier::new(groups, &enabled, &custom, no_touch);
        let labels = current.labels().to_vec();
        let what_if_groups: Vec<String> = groups
            .iter()
            .filter(|g| !enabled.contains(&g.id))
            .map(|g| g.id.clone())
            .take(MAX_WHAT_IF)
            .collect();
        let mut classifiers = vec![current];
        for id in &what_if_groups {
            let mut with_group = enabled.clone();
            with_group.push(id.clone());
            classifiers.push(Classifier::new(groups, &with_group, &custom, no_touch));
        }
        Ok(Policies {
            classifiers,
            what_if_groups,
            labels,
        })
    }
}

/// Accumulates records while the reader streams entries.
pub(super) struct Collector<'a> {
    cfg: &'a Config,
    keyer: &'a Keyer,
    catalog: Option<&'a Catalog>,
    policies: &'a Policies,
    timeouts: &'a TimeoutPolicies<'a>,
    token_index: HashMap<TokenKey, u32>,
    pub tokens: Vec<TokenKey>,
    /// Parallel to `tokens`: each token's policy and subject, from its first request.
    pub holders: Vec<Holder>,
    api_index: HashMap<(http::Method, String), u32>,
    pub apis: Vec<(http::Method, String)>,
    pub records: Vec<Record>,
    /// The first [`MAX_LISTED_SKIPS`] skipped entries.
    pub skipped: Vec<Skipped>,
    /// Skipped entries past the listed ones, and the first of them.
    pub unlisted_skips: u64,
    pub first_unlisted_skip: Option<usize>,
    pub without_token: u64,
}

impl<'a> Collector<'a> {
    pub(super) fn new(
        cfg: &'a Config,
        keyer: &'a Keyer,
        catalog: Option<&'a Catalog>,
        policies: &'a Policies,
        timeouts: &'a TimeoutPolicies<'a>,
    ) -> Self {
        Collector {
            cfg,
            keyer,
            catalog,
            policies,
            timeouts,
            token_index: HashMap::new(),
            tokens: Vec::new(),
            holders: Vec::new(),
            api_index: HashMap::new(),
            apis: Vec::new(),
            records: Vec::new(),
            skipped: Vec::new(),
            unlisted_skips: 0,
            first_unlisted_skip: None,
            without_token: 0,
        }
    }

    pub(super) fn add(&mut self, entry: Result<HarEntry, Skipped>) {
        match entry {
            Ok(e) => self.add_entry(e),
            Err(s) => self.skip(s),
        }
    }

    fn skip(&mut self, s: Skipped) {
        if self.skipped.len() < MAX_LISTED_SKIPS {
            self.skipped.push(s);
        } else {
            self.unlisted_skips += 1;
            self.first_unlisted_skip.get_or_insert(s.entry);
        }
    }

    fn add_entry(&mut self, mut e: HarEntry) {
        let headers = header_map(&e);
        // Unreadable cookies matter only when a token may be in one and no `Cookie` header
        // stands in for them.
        if let Some(skipped) = e.unreadable_cookies.take() {
            let reads_cookies =
                (self.cfg.tokens.sources.iter()).any(|s| matches!(s, TokenSource::Cookie(_)));
            if reads_cookies && !headers.contains_key(http::header::COOKIE) {
                self.skip(skipped);
                return;
            }
        }
        let Some(token) = extract(&self.cfg.tokens.sources, &headers, e.query.as_deref()) else {
            self.without_token += 1;
            return;
        };
        let token = self.intern_token(&token);
        let api = self.intern_api(&e.method, &e.path);
        let no_touch = self
            .cfg
            .tokens
            .no_touch_header
            .as_ref()
            .is_some_and(|h| headers.contains_key(h));
        let mut exclusion = ACTIVITY;
        let mut excluded = 0u64;
        for (k, c) in self.policies.classifiers.iter().enumerate() {
            if let Some(id) = c.classify(&e.method, &e.path, e.query.as_deref(), no_touch) {
                excluded |= 1 << k;
                if k == 0 {
                    exclusion = u32::try_from(id).unwrap_or(ACTIVITY);
                }
            }
        }
        self.records.push(Record {
            time_ms: e.started_ms,
            token,
            api,
            exclusion,
            excluded,
        });
    }

    /// The token's index; a token seen for the first time also gets its holder (tokens with
    /// the same key share a signing input, so their claims are the same).
    fn intern_token(&mut self, token: &str) -> u32 {
        let key = self.keyer.key(token);
        let next = self.tokens.len() as u32;
        let id = *self.token_index.entry(key).or_insert(next);
        if id == next {
            self.tokens.push(key);
            self.holders.push(self.timeouts.holder(token));
        }
        id
    }

    fn intern_api(&mut self, method: &http::Method, path: &str) -> u32 {
        let template = match self
            .catalog
            .and_then(|c| c.match_path(method.as_str(), path))
        {
            Some(op) => op.path.clone(),
            None => normalise_path(path),
        };
        let next = self.apis.len() as u32;
        let key = (method.clone(), template);
        if let Some(&id) = self.api_index.get(&key) {
            return id;
        }
        self.api_index.insert(key.clone(), next);
        self.apis.push(key);
        next
    }
}

/// The entry's headers as a request would carry them, plus a `Cookie` header built from the
/// HAR `cookies` array when the headers have none (Safari and some exports leave it out).
/// Names or values that are not valid HTTP (e.g. HTTP/2 pseudo-headers) are left out.
fn header_map(e: &HarEntry) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    for (name, value) in &e.headers {
        let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(value),
        ) else {
            continue;
        };
        map.append(n, v);
    }
    if !map.contains_key(http::header::COOKIE) && !e.cookies.is_empty() {
        let joined = e
            .cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        if let Ok(v) = http::HeaderValue::from_str(&joined) {
            map.insert(http::header::COOKIE, v);
        }
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(headers: &[(&str, &str)], cookies: &[(&str, &str)]) -> HarEntry {
        let pairs = |v: &[(&str, &str)]| {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        HarEntry {
            index: 0,
            started_ms: 0,
            method: http::Method::GET,
            path: "/".into(),
            query: None,
            headers: pairs(headers),
            cookies: pairs(cookies),
            unreadable_cookies: None,
            status: Some(200),
        }
    }

    #[test]
    fn cookie_header_is_built_from_the_cookies_array_when_absent() {
        let map = header_map(&entry(&[], &[("a", "1"), ("sid", "x")]));
        assert_eq!(map.get("cookie").unwrap(), "a=1; sid=x");
    }

    #[test]
    fn an_existing_cookie_header_wins_over_the_cookies_array() {
        let map = header_map(&entry(&[("Cookie", "sid=h")], &[("sid", "array")]));
        assert_eq!(map.get_all("cookie").iter().count(), 1);
        assert_eq!(map.get("cookie").unwrap(), "sid=h");
    }

    #[test]
    fn pseudo_headers_and_invalid_values_are_left_out() {
        let map = header_map(&entry(
            &[(":authority", "h"), ("x-ok", "1"), ("x-bad", "a\nb")],
            &[],
        ));
        assert_eq!(map.len(), 1);
        assert!(map.contains_key("x-ok"));
    }
}
