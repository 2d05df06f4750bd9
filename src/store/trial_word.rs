//! A tracked token's trial word (docs/reference.md, "Trial list"): 8 bytes beside its slot,
//! kept only while a trial list is set.
//!
//! Bits 0..36: the token's last request that resets the timer under the enforced + trial
//! exclusions, as milliseconds after the store's trial epoch, plus 1 (0 = none yet; all ones
//! = listed as a would-be revocation, waiting for its next reset). 36 bits hold 795 days.
//! Bits 36..50 and 50..64: two kept-alive entries, each a 6-bit API id (0 = empty, 1..=62 an
//! API of the store's trial table, 63 = any other API) and an 8-bit request count that stops
//! at 255: the requests that reset the timer under the enforced list only, since that reset.
//!
//! Why two entries and not a list: the bar is 8 bytes per tracked token; a token is kept
//! alive by one or two background APIs in the recordings we have (a presence poll, a
//! notification channel), and a third folds into "other".

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use crate::clock::UnixMs;

pub(super) const TIME_BITS: u32 = 36;
const TIME_MASK: u64 = (1 << TIME_BITS) - 1;
/// Listed; the trial timer starts again at the next reset.
pub(super) const WAITING: u64 = TIME_MASK;
/// The largest time code (a time further from the epoch is clamped to it).
pub(super) const TIME_CODE_MAX: u64 = TIME_MASK - 1;
const ENTRY_BITS: u32 = 14;
const COUNT_BITS: u32 = 8;
const COUNT_MAX: u64 = (1 << COUNT_BITS) - 1;
const ID_MASK: u64 = (1 << (ENTRY_BITS - COUNT_BITS)) - 1;
/// The id of "any other API".
pub(super) const OTHER: u8 = ID_MASK as u8;
/// APIs the trial table names (ids 1..=62).
pub(super) const NAMED: usize = OTHER as usize - 1;

/// The epoch sits this far before the trial starts (about 198 days), so that the last
/// activity of tokens tracked before it still has a time code.
const EPOCH_LEAD_MS: u64 = 1 << 34;
/// A trial this far past its epoch (about 497 days after it started) starts over, before the
/// 36-bit time codes run out (`Store::keep_trial_epoch`).
pub(super) const REARM_AFTER_MS: u64 = TIME_CODE_MAX - (1 << 33);

/// The store's trial state: on or off, the epoch of the time codes, and the APIs the
/// kept-alive entries name.
pub(super) struct Trial {
    on: AtomicBool,
    epoch_ms: AtomicU64,
    /// API id + 1 of each named kept-alive API (0 = free).
    apis: [AtomicU32; NAMED],
}

impl Default for Trial {
    fn default() -> Self {
        Trial {
            on: AtomicBool::new(false),
            epoch_ms: AtomicU64::new(0),
            apis: std::array::from_fn(|_| AtomicU32::new(0)),
        }
    }
}

impl Trial {
    /// Starts over at `now_ms`: a new epoch, an empty API table. On once done.
    pub(super) fn start(&self, now_ms: UnixMs) {
        self.on.store(false, Ordering::Release);
        let epoch = now_ms.saturating_sub(EPOCH_LEAD_MS);
        self.epoch_ms.store(epoch, Ordering::Relaxed);
        for api in &self.apis {
            api.store(0, Ordering::Relaxed);
        }
        self.on.store(true, Ordering::Release);
    }

    pub(super) fn stop(&self) {
        self.on.store(false, Ordering::Release);
    }

    pub(super) fn epoch_ms(&self) -> UnixMs {
        self.epoch_ms.load(Ordering::Relaxed)
    }

    pub(super) fn is_on(&self) -> bool {
        self.on.load(Ordering::Acquire)
    }

    pub(super) fn code(&self, at_ms: UnixMs) -> u64 {
        let since = at_ms.saturating_sub(self.epoch_ms.load(Ordering::Relaxed));
        since.min(TIME_CODE_MAX - 1) + 1
    }

    /// The last reset a word holds; None for none or waiting.
    pub(super) fn time_of(&self, w: u64) -> Option<UnixMs> {
        match time_code(w) {
            0 | WAITING => None,
            c => Some(self.epoch_ms.load(Ordering::Relaxed) + c - 1),
        }
    }

    /// The word of a slot tracked while the trial runs: its last reset is `last_ms`.
    pub(super) fn word_at(&self, last_ms: UnixMs) -> u64 {
        fresh(self.code(last_ms))
    }

    /// The kept-alive id of `api`: its entry in the table (taken when free), else "other".
    pub(super) fn id_of(&self, api: u32) -> u8 {
        if api == u32::MAX {
            return OTHER;
        }
        let wanted = api + 1;
        for (i, cell) in self.apis.iter().enumerate() {
            let id = i as u8 + 1;
            match cell.load(Ordering::Acquire) {
                v if v == wanted => return id,
                0 => match cell.compare_exchange(0, wanted, Ordering::AcqRel, Ordering::Acquire) {
                    Ok(_) => return id,
                    Err(v) if v == wanted => return id,
                    Err(_) => continue,
                },
                _ => continue,
            }
        }
        OTHER
    }

    pub(super) fn api_of(&self, id: u8) -> Option<u32> {
        let cell = self.apis.get(usize::from(id).checked_sub(1)?)?;
        cell.load(Ordering::Acquire).checked_sub(1)
    }
}

/// The time code of a word: 0 = none, [`WAITING`], or 1 + ms after the epoch.
pub(super) fn time_code(word: u64) -> u64 {
    word & TIME_MASK
}

/// A word with `code` as its last reset and no kept-alive entry.
pub(super) fn fresh(code: u64) -> u64 {
    code.min(WAITING)
}

/// A reset at `code`: the kept-alive entries start over. A later reset stored already (a
/// concurrent request) is kept.
pub(super) fn reset(word: u64, code: u64) -> u64 {
    match time_code(word) {
        WAITING => fresh(code),
        t if t > code => word,
        _ => fresh(code),
    }
}

/// One more kept-alive request on API `id` (1..=62, or [`OTHER`]). Nothing while waiting.
pub(super) fn kept(word: u64, id: u8) -> u64 {
    if time_code(word) == WAITING {
        return word;
    }
    let id = u64::from(id) & ID_MASK;
    let mut entries = [entry(word, 0), entry(word, 1)];
    let slot = match entries.iter().position(|&(i, _)| i == id) {
        Some(s) => s,
        None => match entries.iter().position(|&(i, _)| i == 0) {
            Some(s) => s,
            // A third API: the second entry becomes "other APIs", with its count.
            None => {
                entries[1].0 = u64::from(OTHER);
                1
            }
        },
    };
    if entries[slot].0 == 0 {
        entries[slot].0 = id;
    }
    entries[slot].1 = (entries[slot].1 + 1).min(COUNT_MAX);
    let mut out = time_code(word);
    for (n, (i, c)) in entries.into_iter().enumerate() {
        out |= ((i << COUNT_BITS) | c) << (TIME_BITS + n as u32 * ENTRY_BITS);
    }
    out
}

/// A word listed as a would-be revocation.
pub(super) fn waiting() -> u64 {
    WAITING
}

/// The kept-alive entries in use: (API id, count).
pub(super) fn entries(word: u64) -> impl Iterator<Item = (u8, u32)> {
    (0..2)
        .map(move |n| entry(word, n))
        .filter(|&(id, _)| id != 0)
        .map(|(id, count)| (id as u8, count as u32))
}

fn entry(word: u64, n: u32) -> (u64, u64) {
    let e = (word >> (TIME_BITS + n * ENTRY_BITS)) & ((1 << ENTRY_BITS) - 1);
    (e >> COUNT_BITS, e & COUNT_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_clears_the_kept_alive_entries_and_never_moves_back() {
        let w = kept(kept(fresh(100), 3), 3);
        assert_eq!(entries(w).collect::<Vec<_>>(), vec![(3, 2)]);
        let r = reset(w, 200);
        assert_eq!((time_code(r), entries(r).count()), (200, 0));
        assert_eq!(reset(r, 150), r, "an earlier reset loses to a later one");
        assert_eq!(time_code(reset(waiting(), 7)), 7);
    }

    #[test]
    fn two_apis_are_named_and_a_third_folds_into_other() {
        let mut w = fresh(5);
        for id in [1, 2, 2, 9, 1] {
            w = kept(w, id);
        }
        assert_eq!(time_code(w), 5);
        assert_eq!(entries(w).collect::<Vec<_>>(), vec![(1, 2), (OTHER, 3)]);
    }

    #[test]
    fn counts_stop_at_255_and_waiting_counts_nothing() {
        let mut w = fresh(1);
        for _ in 0..300 {
            w = kept(w, 4);
        }
        assert_eq!(entries(w).collect::<Vec<_>>(), vec![(4, 255)]);
        assert_eq!(kept(waiting(), 4), waiting());
    }

    #[test]
    fn the_largest_time_code_is_not_waiting() {
        assert_ne!(fresh(TIME_CODE_MAX), WAITING);
        assert_eq!(time_code(kept(fresh(TIME_CODE_MAX), OTHER)), TIME_CODE_MAX);
    }
}
