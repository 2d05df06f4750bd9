//! Interned templates: `(method, template)` → a small id, at most `max_templates` of them.
//!
//! Slots are allocated up front (one `OnceLock` each), so the request path reaches a
//! template's counters by index, without a lock; only the id lookup takes a read lock, and a
//! new template the write lock. The id table stores ids only: keys are compared against the
//! slots' own strings, so a template's text is stored once.

use std::hash::{BuildHasher, Hash};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::OnceLock;

use hashbrown::{DefaultHashBuilder, HashTable};
use parking_lot::RwLock;

use super::labels::Labels;
use super::limits::{
    cut, table_bytes, HLL_REGISTERS, MAX_METHOD_BYTES, MAX_TEMPLATE_BYTES, TOKENS_PER_TEMPLATE,
};
use super::{hll, hourly};

/// A template's id; [`TemplateId::OVERFLOW`] when the table was full.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TemplateId(pub(super) u32);

impl TemplateId {
    /// Requests of templates beyond `max_templates`: counted in `overflowed()`, not stored.
    pub const OVERFLOW: TemplateId = TemplateId(u32::MAX);

    /// The id as a number (the trial list keeps it beside a token).
    pub fn raw(self) -> u32 {
        self.0
    }

    pub fn from_raw(raw: u32) -> TemplateId {
        TemplateId(raw)
    }
}

/// The lookup key: cut method and template, and whether either was cut (a cut template is
/// never the same as an uncut one with the same text).
#[derive(Clone, Copy, Hash, PartialEq, Eq)]
pub(super) struct Key<'a> {
    method: &'a str,
    template: &'a str,
    cut: bool,
}

impl<'a> Key<'a> {
    pub(super) fn new(method: &'a str, template: &'a str) -> Self {
        let (method, cut_method) = cut(method, MAX_METHOD_BYTES);
        let (template, cut_template) = cut(template, MAX_TEMPLATE_BYTES);
        Key {
            method,
            template,
            cut: cut_method || cut_template,
        }
    }
}

pub(super) struct Template {
    method: Box<str>,
    template: Box<str>,
    cut: bool,
    /// The classification's label code (`labels.rs`): the last one seen wins.
    pub(super) class: AtomicU32,
    /// Requests of all tokens per hour (`hourly.rs`).
    pub(super) cells: Box<[AtomicU64]>,
    /// Distinct sampled tokens (`hll.rs`), allocated on the first sampled request.
    pub(super) hll: OnceLock<Box<[AtomicU32]>>,
    /// Sampled tokens whose history is tracked for this template (at most
    /// `TOKENS_PER_TEMPLATE`).
    tracked: AtomicU32,
}

impl Template {
    fn key(&self) -> Key<'_> {
        Key {
            method: &self.method,
            template: &self.template,
            cut: self.cut,
        }
    }

    pub(super) fn method(&self) -> &str {
        &self.method
    }

    /// The template as reported: a cut one ends with "…".
    pub(super) fn display(&self) -> String {
        let mark = if self.cut { "…" } else { "" };
        format!("{}{mark}", self.template)
    }

    /// Takes one of the template's tracked-token places, if any is left.
    pub(super) fn claim_tracked(&self) -> bool {
        (self.tracked)
            .fetch_update(Relaxed, Relaxed, |n| {
                (n < TOKENS_PER_TEMPLATE).then_some(n + 1)
            })
            .is_ok()
    }

    pub(super) fn release_tracked(&self) {
        let _ = (self.tracked).fetch_update(Relaxed, Relaxed, |n| n.checked_sub(1));
    }

    fn memory_bytes(&self) -> usize {
        let hll = self.hll.get().map_or(0, |r| r.len() * 4);
        self.method.len() + self.template.len() + self.cells.len() * 8 + hll
    }
}

pub(super) struct Templates {
    slots: Box<[OnceLock<Template>]>,
    table: RwLock<HashTable<u32>>,
    hasher: DefaultHashBuilder,
    pub(super) labels: Labels,
    hours: usize,
}

impl Templates {
    pub(super) fn new(max_templates: usize, hours: usize) -> Self {
        Templates {
            slots: (0..max_templates).map(|_| OnceLock::new()).collect(),
            table: RwLock::default(),
            hasher: DefaultHashBuilder::default(),
            labels: Labels::default(),
            hours,
        }
    }

    /// Templates interned so far.
    pub(super) fn len(&self) -> usize {
        self.table.read().len()
    }

    pub(super) fn get(&self, id: u32) -> Option<&Template> {
        self.slots.get(usize::try_from(id).ok()?)?.get()
    }

    /// The interned templates with their ids, in id order.
    pub(super) fn iter(&self) -> impl Iterator<Item = (u32, &Template)> {
        (self.slots.iter().enumerate()).map_while(|(i, s)| Some((u32::try_from(i).ok()?, s.get()?)))
    }

    /// The id of `(method, template)`, interned if new (or [`TemplateId::OVERFLOW`]), and
    /// the classification stored with it. A known template with an unchanged classification
    /// allocates nothing.
    pub(super) fn intern(
        &self,
        method: &str,
        template: &str,
        exclusion: Option<&str>,
    ) -> TemplateId {
        let key = Key::new(method, template);
        let hash = self.hasher.hash_one(key);
        let class = self.labels.code(exclusion);
        let found = self.find(&self.table.read(), hash, key);
        let Some(id) = found.or_else(|| self.insert(hash, key)) else {
            return TemplateId::OVERFLOW;
        };
        self.set_class(id, class);
        TemplateId(id)
    }

    /// Stores the classification of a known template's request (`exclusion`: None is activity).
    pub(super) fn classify(&self, id: u32, exclusion: Option<&str>) {
        self.set_class(id, self.labels.code(exclusion));
    }

    fn set_class(&self, id: u32, class: u32) {
        // Last seen wins: the exclusion list can change live. Written only when it changed,
        // so a steady template's cache line stays shared between cores.
        if let Some(t) = self.get(id) {
            if t.class.load(Relaxed) != class {
                t.class.store(class, Relaxed);
            }
        }
    }

    fn find(&self, table: &HashTable<u32>, hash: u64, key: Key<'_>) -> Option<u32> {
        let same = |&id: &u32| self.get(id).is_some_and(|t| t.key() == key);
        table.find(hash, same).copied()
    }

    fn insert(&self, hash: u64, key: Key<'_>) -> Option<u32> {
        let mut table = self.table.write();
        // Another request may have interned it between the two locks.
        if let Some(id) = self.find(&table, hash, key) {
            return Some(id);
        }
        let index = table.len();
        let id = u32::try_from(index).ok()?;
        let template = Template {
            method: key.method.into(),
            template: key.template.into(),
            cut: key.cut,
            class: AtomicU32::new(0),
            cells: hourly::cells(self.hours),
            hll: OnceLock::new(),
            tracked: AtomicU32::new(0),
        };
        // Full: no slot left. Slots are only ever set here, under the write lock, in order.
        self.slots.get(index)?.set(template).ok()?;
        let hash_of = |&id: &u32| self.get(id).map_or(0, |t| self.hasher.hash_one(t.key()));
        table.insert_unique(hash, id, hash_of);
        Some(id)
    }

    pub(super) fn memory_bytes(&self) -> usize {
        let slots = self.slots.len() * std::mem::size_of::<OnceLock<Template>>();
        let templates: usize = self.iter().map(|(_, t)| t.memory_bytes()).sum();
        slots + templates + self.table.read().allocation_size() + self.labels.memory_bytes()
    }

    /// The most [`Templates::memory_bytes`] can reach for these settings.
    pub(super) fn memory_bound(max_templates: usize, hours: usize) -> usize {
        let slot = std::mem::size_of::<OnceLock<Template>>();
        let strings = MAX_METHOD_BYTES + MAX_TEMPLATE_BYTES;
        let per_template = slot + strings + hours * 8 + HLL_REGISTERS * 4;
        max_templates * per_template + table_bytes(max_templates, 4) + Labels::memory_bound()
    }
}

/// The registers of a template's distinct estimate, allocated on first use.
pub(super) fn hll_of(t: &Template) -> &[AtomicU32] {
    t.hll.get_or_init(hll::registers)
}
