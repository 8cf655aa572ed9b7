//! Fixed-capacity overwrite-oldest ring of `Copy` values.
//!
//! Invariants: storage is allocated once in [`Ring::new`] and never grows; `push` is O(1) and
//! overwrites the oldest value when full; index 0 is the oldest value held.

/// A ring holding the most recent `capacity` values pushed.
#[derive(Debug, Clone)]
pub struct Ring<T: Copy> {
    buf: Box<[T]>,
    /// Slot the next push writes.
    next: usize,
    len: usize,
}

impl<T: Copy> Ring<T> {
    /// A ring of `capacity` slots (at least 1), pre-filled with `fill` (never observable).
    pub fn new(capacity: usize, fill: T) -> Self {
        Ring {
            buf: vec![fill; capacity.max(1)].into_boxed_slice(),
            next: 0,
            len: 0,
        }
    }

    #[inline]
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Append, overwriting the oldest value when full.
    #[inline]
    pub fn push(&mut self, v: T) {
        let cap = self.buf.len();
        if let Some(slot) = self.buf.get_mut(self.next) {
            *slot = v;
        }
        self.next = if self.next + 1 == cap {
            0
        } else {
            self.next + 1
        };
        if self.len < cap {
            self.len += 1;
        }
    }

    /// The `i`-th oldest value held (0 = oldest).
    #[inline]
    pub fn get(&self, i: usize) -> Option<&T> {
        if i >= self.len {
            return None;
        }
        let cap = self.buf.len();
        let start = (self.next + cap - self.len) % cap;
        self.buf.get((start + i) % cap)
    }

    /// The most recent value.
    #[inline]
    pub fn latest(&self) -> Option<&T> {
        self.len.checked_sub(1).and_then(|i| self.get(i))
    }

    /// Values from oldest to newest.
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        (0..self.len).filter_map(move |i| self.get(i))
    }

    pub fn clear(&mut self) {
        self.len = 0;
        self.next = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overwrites_oldest() {
        let mut r = Ring::new(3, 0u32);
        assert!(r.is_empty() && r.latest().is_none());
        for v in 1..=5 {
            r.push(v);
        }
        assert_eq!(r.len(), 3);
        assert_eq!(r.iter().copied().collect::<Vec<_>>(), vec![3, 4, 5]);
        assert_eq!(r.get(0), Some(&3));
        assert_eq!(r.get(3), None);
        assert_eq!(r.latest(), Some(&5));
        r.clear();
        assert_eq!(r.len(), 0);
    }
}
