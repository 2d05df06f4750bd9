//! Subjects of tracked and retained revoked tokens, interned: a subject's name is stored once
//! and its tokens hold a 4-byte id (docs/reference.md, "Identity"). Ids are counted: a token
//! slot and a revoked entry each hold one reference, and an id is reused once none is left.
//!
//! Touched on a token's first sight, its removal and the admin's lookups; never on the request
//! path of a known token.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

/// A subject's id; 0 = none.
pub(crate) type SubjectId = u32;

#[derive(Default)]
struct Inner {
    ids: HashMap<Arc<str>, SubjectId>,
    /// Index = id − 1: the name and its reference count (0 = free, on `free`).
    names: Vec<(Option<Arc<str>>, u32)>,
    free: Vec<SubjectId>,
}

#[derive(Default)]
pub(crate) struct Subjects {
    inner: Mutex<Inner>,
}

impl Subjects {
    /// One more reference to `name`'s id (a new id when it has none).
    pub(crate) fn acquire(&self, name: &str) -> SubjectId {
        let mut inner = self.inner.lock();
        if let Some(&id) = inner.ids.get(name) {
            inner.names[id as usize - 1].1 += 1;
            return id;
        }
        let name: Arc<str> = Arc::from(name);
        let id = match inner.free.pop() {
            Some(id) => {
                inner.names[id as usize - 1] = (Some(name.clone()), 1);
                id
            }
            None => {
                inner.names.push((Some(name.clone()), 1));
                inner.names.len() as SubjectId
            }
        };
        inner.ids.insert(name, id);
        id
    }

    /// One more reference to an id already held (a revoked entry taking over a slot's).
    pub(crate) fn retain(&self, id: SubjectId) {
        if id == 0 {
            return;
        }
        let mut inner = self.inner.lock();
        if let Some(entry) = inner.names.get_mut(id as usize - 1) {
            if entry.1 > 0 {
                entry.1 += 1;
            }
        }
    }

    /// Drops one reference; the id is freed with its last one.
    pub(crate) fn release(&self, id: SubjectId) {
        if id == 0 {
            return;
        }
        let mut inner = self.inner.lock();
        let Some(entry) = inner.names.get_mut(id as usize - 1) else {
            return;
        };
        if entry.1 == 0 {
            return;
        }
        entry.1 -= 1;
        if entry.1 == 0 {
            if let Some(name) = entry.0.take() {
                inner.ids.remove(&name);
            }
            inner.free.push(id);
        }
    }

    pub(crate) fn name(&self, id: SubjectId) -> Option<Arc<str>> {
        if id == 0 {
            return None;
        }
        let inner = self.inner.lock();
        inner.names.get(id as usize - 1)?.0.clone()
    }

    pub(crate) fn find(&self, name: &str) -> Option<SubjectId> {
        self.inner.lock().ids.get(name).copied()
    }

    /// Distinct subjects held now.
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().ids.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subject_is_stored_once_and_shared_by_its_tokens() {
        let s = Subjects::default();
        let a = s.acquire("alice");
        assert_eq!(s.acquire("alice"), a);
        assert_ne!(s.acquire("bob"), a);
        assert_eq!(s.len(), 2);
        assert_eq!(s.name(a).as_deref(), Some("alice"));
        assert_eq!(s.find("alice"), Some(a));
    }

    #[test]
    fn an_id_is_freed_with_its_last_reference_and_then_reused() {
        let s = Subjects::default();
        let a = s.acquire("alice");
        s.acquire("alice");
        s.retain(a);
        s.release(a);
        s.release(a);
        assert_eq!(s.find("alice"), Some(a));
        s.release(a);
        assert_eq!(s.find("alice"), None);
        assert_eq!(s.name(a), None);
        assert_eq!(s.len(), 0);
        let b = s.acquire("bob");
        assert_eq!(b, a);
        assert_eq!(s.name(b).as_deref(), Some("bob"));
    }

    #[test]
    fn id_zero_is_no_subject() {
        let s = Subjects::default();
        s.retain(0);
        s.release(0);
        assert_eq!(s.name(0), None);
        s.release(99);
    }
}
