//! A coarse hierarchical timer wheel: pure, clock-free (callers pass ticks).

/// Hierarchical timer wheel over items `T` (small handles, e.g. slot indices).
pub struct Wheel<T> {
    _items: Vec<T>,
}
