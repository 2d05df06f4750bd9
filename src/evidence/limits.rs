//! The fixed limits of live evidence. The settings choose the window, the sampling and the
//! number of templates; these bound everything else that traffic could make grow, so that
//! `EvidenceSettings::memory_bound_bytes` holds whatever the requests look like.

/// Buckets are hours: fine enough for "the last day", coarse enough to stay small.
pub(super) const HOUR_MS: u64 = 3_600_000;
/// The longest window: a week of hourly buckets.
pub(super) const MAX_WINDOW_HOURS: u64 = 7 * 24;
/// Interned templates beyond this would cost more in slots than the figures are worth.
pub(super) const MAX_TEMPLATES_LIMIT: usize = 100_000;
/// The largest sampling divisor (1 token in this many).
pub(super) const MAX_SAMPLE: u32 = 1 << 16;

/// Methods and templates come from requests: longer ones are cut (and marked) so that one
/// template never costs more than these.
pub(super) const MAX_METHOD_BYTES: usize = 16;
pub(super) const MAX_TEMPLATE_BYTES: usize = 512;

/// Exclusion labels come from the config (group ids, custom patterns), not from traffic, but
/// they are bounded all the same: beyond these a template is still `excluded`, without label.
pub(super) const MAX_LABELS: usize = 1_024;
pub(super) const MAX_LABEL_BYTES: usize = 256;

/// Sampled tokens' histories live in this many shards (by token id), each behind its own lock,
/// so that sampled requests of different tokens rarely wait for each other.
pub(super) const SHARDS: usize = 16;
/// (token, template) histories per shard: 16,384 in all. A power of two, so that the shard's
/// vectors, which double, end exactly there.
pub(super) const PAIRS_PER_SHARD: usize = 1_024;
/// Sampled tokens tracked per template: far more than `min_tokens` needs, and it keeps one
/// busy template from taking every history.
pub(super) const TOKENS_PER_TEMPLATE: u32 = 256;
/// Intervals kept per (token, template): enough for the periodicity rule (4) and a stable
/// median, an hour of a once-a-minute poll.
pub(super) const INTERVALS_KEPT: usize = 64;

/// HyperLogLog precision: 2^9 registers, a standard error of 1.04 / √512 ≈ 4.6 %.
pub(super) const HLL_BITS: u32 = 9;
pub(super) const HLL_REGISTERS: usize = 1 << HLL_BITS;

/// Requests' templates remembered by exact method and path (`memo.rs`): 8,192 slots of 16
/// bytes, 128 KiB. A power of two.
pub(super) const MEMO_SLOTS: usize = 8_192;

/// Headroom for the `Evidence` struct itself (a test checks it is smaller).
pub(super) const STRUCT_BYTES: usize = 1_024;

/// The most a hashbrown table holding at most `entries` entries of `entry_bytes` each can
/// allocate: buckets are a power of two at most 7/8 full, one control byte per bucket plus a
/// group of 16, and up to 16 bytes of alignment between the two.
pub(super) fn table_bytes(entries: usize, entry_bytes: usize) -> usize {
    let buckets = (entries.max(4).saturating_mul(8) / 7 + 1).next_power_of_two();
    buckets.saturating_mul(entry_bytes + 1).saturating_add(32)
}

/// `s` cut to at most `max` bytes on a character boundary, and whether it was cut.
pub(super) fn cut(s: &str, max: usize) -> (&str, bool) {
    if s.len() <= max {
        return (s, false);
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    (s.get(..end).unwrap_or(""), true)
}

/// The two 64-bit halves of a token id. The id is a keyed BLAKE3 hash, so both are uniform and
/// independent: the low half decides sampling, the high half feeds the distinct estimate (a
/// sampled token's high half is as uniform as any other's).
pub(super) fn halves(id: &[u8; 16]) -> (u64, u64) {
    let v = u128::from_le_bytes(*id);
    (v as u64, (v >> 64) as u64)
}
