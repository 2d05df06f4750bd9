//! Writing the snapshot needs the same memory whatever the table's size (docs/reference.md,
//! "State and durability"): a copy of the table per write used to add as much again to the
//! process. Measured with the allocator's own counter of the bytes a thread allocates.

use idlegate::store::snapshot::write_snapshot;
use idlegate::store::{Store, Timing};
use idlegate::token::TokenKey;
use tikv_jemalloc_ctl::thread::allocatedp;

/// The gateway's allocator, whose per-thread counters this test reads.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const T0: u64 = 1_700_000_000_000;

fn store_of(n: u32) -> Store {
    let s = Store::new(10_000_000, 1000, T0);
    let t = Timing::simple(3_600_000, None, true, 86_400_000);
    for i in 0..n {
        let mut k = [0u8; 16];
        k[..4].copy_from_slice(&i.to_le_bytes());
        k[8..16].copy_from_slice(
            &u64::from(i)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .to_le_bytes(),
        );
        s.track(&TokenKey(k), T0, Some(T0 / 1000 + 7200), &t);
    }
    s
}

/// Bytes allocated on this thread by one `write_snapshot`, all told: its peak can be no more.
fn allocated_by_a_write(store: &Store, path: &std::path::Path) -> u64 {
    let counter = allocatedp::read().unwrap();
    let before = counter.get();
    write_snapshot(path, store).unwrap();
    counter.get() - before
}

#[test]
fn snapshot_write_memory_does_not_grow_with_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snap.bin");
    let small = allocated_by_a_write(&store_of(10_000), &path);
    let large = allocated_by_a_write(&store_of(300_000), &path);
    // 300,000 records are 17 MB in the file; a copy of them would be far more than this
    // (the writer that copied the table allocated 41 MB here).
    assert!(
        large <= 256 * 1024,
        "a write at 300k tokens allocated {large} bytes"
    );
    assert!(
        large <= small + 4 * 1024,
        "{small} bytes at 10k tokens, {large} at 300k"
    );
}
