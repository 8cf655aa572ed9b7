//! Fixed-capacity ring of `Copy` values with a const-generic capacity, for the signal windows.
//!
//! Invariants: storage is an inline `[T; N]` (no heap, no allocation ever); the live length is
//! at most `limit` (set at construction, `1..=N`), so a configured window shorter than `N` uses
//! the same type; `push` is O(1) and hands back the value it evicted.

/// The most recent `limit` values pushed, `limit <= N`.
#[derive(Debug, Clone, Copy)]
pub struct FixedRing<T: Copy + Default, const N: usize> {
    buf: [T; N],
    /// Slot of the oldest value.
    start: usize,
    len: usize,
    limit: usize,
}

impl<T: Copy + Default, const N: usize> FixedRing<T, N> {
    /// An empty ring holding at most `limit` values (clamped to `1..=N`).
    pub fn new(limit: usize) -> Self {
        FixedRing {
            buf: [T::default(); N],
            start: 0,
            len: 0,
            limit: limit.clamp(1, N.max(1)),
        }
    }

    /// Values held.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Most values held at once.
    #[inline]
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Whether `len == limit`.
    #[inline]
    pub fn is_full(&self) -> bool {
        self.len == self.limit
    }

    #[inline]
    fn slot(&self, i: usize) -> usize {
        let s = self.start + i;
        if s >= N {
            s - N
        } else {
            s
        }
    }

    /// Append; when full, the oldest value is dropped and returned.
    #[inline]
    pub fn push(&mut self, v: T) -> Option<T> {
        if self.len == self.limit {
            let old = self.buf[self.start];
            let end = self.slot(self.len);
            self.buf[end] = v;
            self.start = self.slot(1);
            // With limit < N the written slot and the freed slot differ; both stay in range.
            Some(old)
        } else {
            let end = self.slot(self.len);
            self.buf[end] = v;
            self.len += 1;
            None
        }
    }

    /// The `k`-th most recent value (0 = newest).
    #[inline]
    pub fn back(&self, k: usize) -> Option<T> {
        (k < self.len).then(|| self.buf[self.slot(self.len - 1 - k)])
    }

    /// The newest value.
    #[inline]
    pub fn newest(&self) -> Option<T> {
        self.back(0)
    }

    /// Replace the newest value (no-op when empty).
    #[inline]
    pub fn set_newest(&mut self, v: T) {
        if self.len > 0 {
            let s = self.slot(self.len - 1);
            self.buf[s] = v;
        }
    }

    /// Values from oldest to newest.
    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        (0..self.len).map(move |i| self.buf[self.slot(i)])
    }

    pub fn clear(&mut self) {
        self.start = 0;
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_limit_values() {
        let mut r: FixedRing<u32, 4> = FixedRing::new(3);
        assert!(r.is_empty() && r.newest().is_none());
        assert_eq!(r.push(1), None);
        assert_eq!(r.push(2), None);
        assert_eq!(r.push(3), None);
        assert!(r.is_full());
        assert_eq!(r.push(4), Some(1));
        assert_eq!(r.push(5), Some(2));
        assert_eq!(r.iter().collect::<Vec<_>>(), vec![3, 4, 5]);
        assert_eq!((r.back(0), r.back(2), r.back(3)), (Some(5), Some(3), None));
        r.set_newest(9);
        assert_eq!(r.newest(), Some(9));
        for v in 10..100 {
            r.push(v);
        }
        assert_eq!(r.iter().collect::<Vec<_>>(), vec![97, 98, 99]);
        r.clear();
        assert_eq!(r.len(), 0);
        let mut full: FixedRing<u8, 2> = FixedRing::new(10);
        assert_eq!(full.limit(), 2);
        full.push(1);
        full.push(2);
        assert_eq!(full.push(3), Some(1));
        assert_eq!(full.iter().collect::<Vec<_>>(), vec![2, 3]);
    }
}
