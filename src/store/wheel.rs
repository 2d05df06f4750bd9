//! A coarse hierarchical timer wheel: pure, clock-free (callers pass ticks).
//!
//! Six levels of 64 buckets; a bucket at level `l` spans `64^l` ticks. An item is filed at the
//! level of the highest base-64 digit in which its deadline differs from "now", so every item
//! lies in the current window of its level and buckets are reached in order as time advances.
//! The wheel stores no deadlines (items are small handles): when a bucket above level 0 comes
//! up, its items are re-filed with the deadline the caller reports for them then, which is
//! also what makes lazy re-arming cheap.

use crate::clock::UnixMs;

const BITS: u32 = 6;
const BUCKETS: usize = 1 << BITS;
const LEVELS: usize = 6;
/// Ticks covered by the top level's window. Deadlines beyond it wait in `overflow` until the
/// window they fall in begins.
const SPAN: u64 = 1 << (BITS * LEVELS as u32);

/// Where the next bucket to empty lies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    Level(usize, usize),
    Overflow,
}

struct Level<T> {
    /// Bit `s` set when bucket `s` holds items; finds the next bucket without a scan.
    occupied: u64,
    buckets: Vec<Vec<T>>,
}

impl<T> Level<T> {
    fn new() -> Self {
        Level {
            occupied: 0,
            buckets: (0..BUCKETS).map(|_| Vec::new()).collect(),
        }
    }

    fn take(&mut self, slot: usize) -> Vec<T> {
        self.occupied &= !(1u64 << slot);
        std::mem::take(&mut self.buckets[slot])
    }
}

/// Hierarchical timer wheel over items `T` (small handles, e.g. slot indices).
pub struct Wheel<T> {
    now: u64,
    levels: Vec<Level<T>>,
    /// Items whose deadline was not after `now` when inserted: returned by the next advance.
    due: Vec<T>,
    overflow: Vec<T>,
    len: usize,
}

impl<T> Wheel<T> {
    pub fn new(now_tick: u64) -> Self {
        Wheel {
            now: now_tick,
            levels: (0..LEVELS).map(|_| Level::new()).collect(),
            due: Vec::new(),
            overflow: Vec::new(),
            len: 0,
        }
    }

    /// The tick the wheel has advanced to.
    pub fn now(&self) -> u64 {
        self.now
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Files `item` to come due at `deadline_tick`; a deadline not after now is due at the next
    /// advance.
    pub fn insert(&mut self, item: T, deadline_tick: u64) {
        self.len += 1;
        if deadline_tick <= self.now {
            self.due.push(item);
            return;
        }
        match place_for(self.now, deadline_tick) {
            Place::Level(level, slot) => {
                let lv = &mut self.levels[level];
                lv.occupied |= 1u64 << slot;
                lv.buckets[slot].push(item);
            }
            Place::Overflow => self.overflow.push(item),
        }
    }

    /// Moves time to `now_tick` and returns every item now due. Items in higher-level buckets
    /// reached on the way are re-filed by `deadline_of` (None drops the item); level-0 items are
    /// returned as they are, so callers re-check the real deadline of what they get.
    pub fn advance(
        &mut self,
        now_tick: u64,
        mut deadline_of: impl FnMut(&T) -> Option<u64>,
    ) -> Vec<T> {
        let mut out = std::mem::take(&mut self.due);
        self.len -= out.len();
        while let Some((tick, place)) = self.next_bucket() {
            if tick > now_tick {
                break;
            }
            self.now = self.now.max(tick);
            let items = match place {
                Place::Level(level, slot) => self.levels[level].take(slot),
                Place::Overflow => std::mem::take(&mut self.overflow),
            };
            self.len -= items.len();
            if matches!(place, Place::Level(0, _)) {
                out.extend(items);
                continue;
            }
            for item in items {
                match deadline_of(&item) {
                    None => {}
                    Some(d) if d <= self.now => out.push(item),
                    Some(d) => self.insert(item, d),
                }
            }
        }
        self.now = self.now.max(now_tick);
        out
    }

    /// Removes and returns every item (to re-file them all under a new policy).
    pub fn drain(&mut self) -> Vec<T> {
        let mut out = std::mem::take(&mut self.due);
        out.append(&mut self.overflow);
        for level in &mut self.levels {
            for slot in 0..BUCKETS {
                if level.occupied & (1u64 << slot) != 0 {
                    out.append(&mut level.take(slot));
                }
            }
        }
        self.len = 0;
        out
    }

    pub fn clear(&mut self) {
        self.due = Vec::new();
        self.overflow = Vec::new();
        for level in &mut self.levels {
            *level = Level::new();
        }
        self.len = 0;
    }

    /// The earliest non-empty bucket and the tick it comes up at.
    fn next_bucket(&self) -> Option<(u64, Place)> {
        let mut best: Option<(u64, Place)> = None;
        for (level, lv) in self.levels.iter().enumerate() {
            if lv.occupied == 0 {
                continue;
            }
            let shift = BITS * level as u32;
            let now_slot = ((self.now >> shift) as usize) & (BUCKETS - 1);
            let behind = lv.occupied & ((1u64 << now_slot) - 1);
            let (tick, slot) = if behind != 0 {
                // Cannot happen while the placement invariant holds; handle it rather than
                // lose items: such a bucket is overdue.
                (self.now, behind.trailing_zeros() as usize)
            } else {
                let slot = (lv.occupied >> now_slot << now_slot).trailing_zeros() as usize;
                let window = 1u64 << (shift + BITS);
                let start = (self.now & !(window - 1)) + ((slot as u64) << shift);
                (start.max(self.now), slot)
            };
            if earlier(tick, best) {
                best = Some((tick, Place::Level(level, slot)));
            }
        }
        if !self.overflow.is_empty() {
            if let Some(next_window) = (self.now | (SPAN - 1)).checked_add(1) {
                if earlier(next_window, best) {
                    best = Some((next_window, Place::Overflow));
                }
            }
        }
        best
    }
}

fn earlier(tick: u64, best: Option<(u64, Place)>) -> bool {
    match best {
        Some((t, _)) => tick < t,
        None => true,
    }
}

/// Level = the highest base-64 digit in which `deadline` differs from `now` (requires
/// `deadline > now`); slot = that digit of the deadline.
fn place_for(now: u64, deadline: u64) -> Place {
    let differing = (now ^ deadline) | (BUCKETS as u64 - 1);
    let significant = 63 - differing.leading_zeros();
    let level = (significant / BITS) as usize;
    if level >= LEVELS {
        return Place::Overflow;
    }
    let slot = ((deadline >> (BITS * level as u32)) as usize) & (BUCKETS - 1);
    Place::Level(level, slot)
}

/// The sweeper's state: the wheel of slot handles, the handles taken out of it and not
/// settled yet, and when the revoked set was last purged.
pub(super) struct Sweeper {
    pub(super) wheel: Wheel<u32>,
    /// Due (or re-armed) handles still to settle, sorted by descending handle so that the next
    /// batch is popped off the end in shard and slot order. A mass expiry is settled from here
    /// a bounded batch at a time (docs/reference.md, "Expiry and revocation").
    pub(super) backlog: Vec<u32>,
    pub(super) last_purge_ms: UnixMs,
}

impl Sweeper {
    pub(super) fn new(now_tick: u64, now_ms: UnixMs) -> Self {
        Sweeper {
            wheel: Wheel::new(now_tick),
            backlog: Vec::new(),
            last_purge_ms: now_ms,
        }
    }

    /// Adds handles to settle, keeping the backlog's order.
    pub(super) fn queue(&mut self, mut handles: Vec<u32>) {
        if handles.is_empty() {
            return;
        }
        if self.backlog.is_empty() {
            self.backlog = handles;
        } else {
            self.backlog.append(&mut handles);
        }
        self.backlog.sort_unstable_by(|a, b| b.cmp(a));
    }

    /// The next at most `n` handles to settle, in ascending order.
    pub(super) fn next_batch(&mut self, n: usize) -> Vec<u32> {
        let at = self.backlog.len().saturating_sub(n);
        let mut batch = self.backlog.split_off(at);
        batch.reverse();
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn fixed(deadlines: &HashMap<u32, u64>) -> impl FnMut(&u32) -> Option<u64> + '_ {
        move |item| deadlines.get(item).copied()
    }

    #[test]
    fn placement_level_is_highest_differing_digit() {
        assert_eq!(place_for(0, 1), Place::Level(0, 1));
        assert_eq!(place_for(0, 63), Place::Level(0, 63));
        assert_eq!(place_for(0, 64), Place::Level(1, 1));
        assert_eq!(place_for(0, 64 * 64), Place::Level(2, 1));
        assert_eq!(place_for(10, 4095), Place::Level(1, 63));
        assert_eq!(place_for(0, SPAN - 1), Place::Level(5, 63));
        assert_eq!(place_for(0, SPAN), Place::Overflow);
    }

    #[test]
    fn item_fires_exactly_at_its_tick_not_before() {
        let mut w = Wheel::new(0);
        w.insert(7u32, 100);
        let d = HashMap::from([(7u32, 100u64)]);
        assert!(w.advance(99, fixed(&d)).is_empty());
        assert_eq!(w.len(), 1);
        assert_eq!(w.advance(100, fixed(&d)), vec![7]);
        assert!(w.is_empty());
    }

    #[test]
    fn deadline_not_after_now_is_due_at_next_advance() {
        let mut w = Wheel::new(50);
        w.insert(1u32, 50);
        w.insert(2u32, 3);
        let mut got = w.advance(50, |_| None);
        got.sort();
        assert_eq!(got, vec![1, 2]);
    }

    #[test]
    fn cascade_across_levels_uses_deadline_of() {
        let mut w = Wheel::new(0);
        let d = HashMap::from([(1u32, 64u64 * 64 * 3 + 5), (2u32, 300_000u64)]);
        for (&item, &t) in &d {
            w.insert(item, t);
        }
        assert!(w.advance(64 * 64 * 3 + 4, fixed(&d)).is_empty());
        assert_eq!(w.advance(64 * 64 * 3 + 5, fixed(&d)), vec![1]);
        assert!(w.advance(299_999, fixed(&d)).is_empty());
        assert_eq!(w.advance(300_000, fixed(&d)), vec![2]);
    }

    #[test]
    fn cascade_with_none_drops_the_item() {
        let mut w = Wheel::new(0);
        w.insert(1u32, 5000);
        assert!(w.advance(10_000, |_| None).is_empty());
        assert_eq!(w.len(), 0);
    }

    #[test]
    fn far_deadline_beyond_top_level_fires_on_time() {
        let mut w = Wheel::new(5);
        let far = SPAN * 3 + 12_345;
        let d = HashMap::from([(9u32, far)]);
        w.insert(9u32, far);
        assert!(w.advance(far - 1, fixed(&d)).is_empty());
        assert_eq!(w.len(), 1);
        assert_eq!(w.advance(far, fixed(&d)), vec![9]);
    }

    #[test]
    fn rearm_refiles_item_whose_deadline_moved() {
        let mut w = Wheel::new(0);
        w.insert(1u32, 10);
        let due = w.advance(10, |_| None);
        assert_eq!(due, vec![1]);
        // The caller sees the real deadline moved to 5000 and files it again.
        w.insert(1u32, 5000);
        let d = HashMap::from([(1u32, 5000u64)]);
        assert!(w.advance(4999, fixed(&d)).is_empty());
        assert_eq!(w.advance(5000, fixed(&d)), vec![1]);
    }

    #[test]
    fn cascade_picks_up_a_later_real_deadline() {
        let mut w = Wheel::new(0);
        w.insert(1u32, 200);
        let d = HashMap::from([(1u32, 900u64)]);
        assert!(w.advance(899, fixed(&d)).is_empty());
        assert_eq!(w.advance(900, fixed(&d)), vec![1]);
    }

    #[test]
    fn big_jump_returns_everything_due() {
        let mut w = Wheel::new(0);
        let d: HashMap<u32, u64> = (0..50u32)
            .map(|i| (i, 1 + u64::from(i) * 10_000_019))
            .collect();
        for (&i, &t) in &d {
            w.insert(i, t);
        }
        let mut got = w.advance(u64::from(u32::MAX) * 4, fixed(&d));
        got.sort();
        assert_eq!(got, (0..50).collect::<Vec<_>>());
        assert_eq!(w.now(), u64::from(u32::MAX) * 4);
    }

    #[test]
    fn hundred_thousand_items_fire_once_at_their_tick() {
        let start = 1_700_000_000u64;
        let mut w = Wheel::new(start);
        let deadline = |i: u32| start + 1 + (u64::from(i) * 7919) % 200_000;
        for i in 0..100_000u32 {
            w.insert(i, deadline(i));
        }
        let mut fired = vec![0u8; 100_000];
        let mut tick = start;
        while !w.is_empty() {
            tick += 997;
            for i in w.advance(tick, |&i| Some(deadline(i))) {
                assert!(
                    deadline(i) <= tick && deadline(i) > tick - 997,
                    "item {i} fired late or early"
                );
                fired[i as usize] += 1;
            }
        }
        assert!(fired.iter().all(|&n| n == 1));
    }

    #[test]
    fn drain_and_clear_empty_the_wheel() {
        let mut w = Wheel::new(0);
        for i in 0..10u32 {
            w.insert(i, u64::from(i) * 1000);
        }
        w.insert(99, SPAN * 2);
        let mut all = w.drain();
        all.sort();
        assert_eq!(all.len(), 11);
        assert!(w.is_empty());
        w.insert(1, 5);
        w.clear();
        assert!(w.is_empty());
        assert!(w.advance(100, |_| Some(0)).is_empty());
    }
}
