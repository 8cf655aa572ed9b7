//! Token interning: Polymarket token ids (decimal strings of a 256-bit integer, up to 78 digits)
//! become small dense [`TokenIdx`] values at discovery, so the hot path never hashes or allocates
//! a `String`.
//!
//! Invariants:
//! * The table is a fixed open-addressing array (linear probing, power-of-two size, at most half
//!   full) built once; insert and remove (backward-shift deletion) never allocate.
//! * A key is the id's exact ASCII bytes in a fixed array ([`AsciiId`]); lookup hashes the last
//!   eight bytes (uniform digits of a random number) and confirms with a byte comparison, so a
//!   collision can only cost a probe, never a wrong match.

use super::TokenIdx;
use thiserror::Error;

/// Longest decimal token id: 2^256 − 1 has 78 digits.
pub const TOKEN_ID_MAX_LEN: usize = 78;

/// A short ASCII identifier held inline (no heap), compared bytewise.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AsciiId<const N: usize> {
    len: u8,
    bytes: [u8; N],
}

impl<const N: usize> AsciiId<N> {
    /// The empty id.
    pub const EMPTY: AsciiId<N> = AsciiId {
        len: 0,
        bytes: [0; N],
    };

    /// Copy `s` inline; `None` when longer than `N` (or than 255).
    #[inline]
    pub fn new(s: &[u8]) -> Option<AsciiId<N>> {
        if s.len() > N || s.len() > u8::MAX as usize {
            return None;
        }
        let mut bytes = [0u8; N];
        bytes.get_mut(..s.len())?.copy_from_slice(s);
        Some(AsciiId {
            len: s.len() as u8,
            bytes,
        })
    }

    /// The id's bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len as usize).unwrap_or(&[])
    }

    /// The id as text (lossy only if non-UTF-8 bytes were stored, which callers never do).
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }

    /// Length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// True for the empty id.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<const N: usize> std::fmt::Debug for AsciiId<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

/// A token id held inline.
pub type TokenKey = AsciiId<TOKEN_ID_MAX_LEN>;

/// Why a token id could not be interned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum InternError {
    /// Empty, longer than 78 bytes, or not all ASCII digits.
    #[error("token id is not a decimal string of 1..=78 digits")]
    BadTokenId,
    /// The id is already interned.
    #[error("token id already interned")]
    Duplicate,
    /// The fixed table is full.
    #[error("token table is full")]
    Full,
}

/// Is `s` a plausible decimal token id (1..=78 ASCII digits)?
#[inline]
pub fn is_token_id(s: &[u8]) -> bool {
    !s.is_empty() && s.len() <= TOKEN_ID_MAX_LEN && s.iter().all(u8::is_ascii_digit)
}

#[derive(Clone, Copy)]
struct Slot {
    key: TokenKey,
    token: TokenIdx,
    used: bool,
}

/// Fixed-capacity map from token id bytes to [`TokenIdx`].
pub struct TokenInterner {
    slots: Box<[Slot]>,
    mask: usize,
    len: usize,
    capacity: usize,
}

#[inline]
fn hash(key: &[u8]) -> u64 {
    let mut tail = [0u8; 8];
    let n = key.len().min(8);
    if let (Some(dst), Some(src)) = (tail.get_mut(..n), key.get(key.len() - n..)) {
        dst.copy_from_slice(src);
    }
    let x = u64::from_le_bytes(tail) ^ ((key.len() as u64) << 56);
    // Fibonacci hashing: the top bits are well mixed.
    x.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

impl TokenInterner {
    /// A table holding up to `capacity` tokens (allocated here, never again).
    pub fn with_capacity(capacity: usize) -> TokenInterner {
        let size = (capacity.max(1) * 2).next_power_of_two();
        TokenInterner {
            slots: vec![
                Slot {
                    key: TokenKey::EMPTY,
                    token: TokenIdx(0),
                    used: false,
                };
                size
            ]
            .into_boxed_slice(),
            mask: size - 1,
            len: 0,
            capacity,
        }
    }

    #[inline]
    fn home(&self, key: &[u8]) -> usize {
        let bits = self.mask.count_ones();
        if bits == 0 {
            return 0;
        }
        (hash(key) >> (64 - bits)) as usize & self.mask
    }

    /// Number of interned tokens.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no token is interned.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Map `id` to `token`. Discovery-time only (validation, no allocation).
    pub fn insert(&mut self, id: &[u8], token: TokenIdx) -> Result<(), InternError> {
        if !is_token_id(id) {
            return Err(InternError::BadTokenId);
        }
        if self.get(id).is_some() {
            return Err(InternError::Duplicate);
        }
        if self.len >= self.capacity {
            return Err(InternError::Full);
        }
        let key = TokenKey::new(id).ok_or(InternError::BadTokenId)?;
        let mut i = self.home(id);
        loop {
            let slot = self.slots.get_mut(i).ok_or(InternError::Full)?;
            if !slot.used {
                *slot = Slot {
                    key,
                    token,
                    used: true,
                };
                self.len += 1;
                return Ok(());
            }
            i = (i + 1) & self.mask;
        }
    }

    /// The token interned for `id`, if any. Hot path: no allocation, one hash of 8 bytes, a probe
    /// or two and one byte comparison.
    #[inline]
    pub fn get(&self, id: &[u8]) -> Option<TokenIdx> {
        let mut i = self.home(id);
        for _ in 0..=self.mask {
            let slot = self.slots.get(i)?;
            if !slot.used {
                return None;
            }
            if slot.key.as_bytes() == id {
                return Some(slot.token);
            }
            i = (i + 1) & self.mask;
        }
        None
    }

    /// Forget `id` (market retired). Returns the token it mapped to.
    pub fn remove(&mut self, id: &[u8]) -> Option<TokenIdx> {
        let mut i = self.home(id);
        loop {
            let slot = self.slots.get(i)?;
            if !slot.used {
                return None;
            }
            if slot.key.as_bytes() == id {
                break;
            }
            i = (i + 1) & self.mask;
        }
        let token = self.slots.get(i)?.token;
        // Backward-shift deletion keeps every probe chain unbroken without tombstones.
        let mut hole = i;
        let mut j = i;
        loop {
            j = (j + 1) & self.mask;
            let Some(next) = self.slots.get(j).copied() else {
                break;
            };
            if !next.used {
                break;
            }
            let home = self.home(next.key.as_bytes());
            // Move `next` into the hole unless its home lies cyclically in (hole, j].
            let in_range = if hole <= j {
                hole < home && home <= j
            } else {
                hole < home || home <= j
            };
            if !in_range {
                if let Some(h) = self.slots.get_mut(hole) {
                    *h = next;
                }
                hole = j;
            }
        }
        if let Some(h) = self.slots.get_mut(hole) {
            h.used = false;
            h.key = TokenKey::EMPTY;
        }
        self.len -= 1;
        Some(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u64) -> Vec<u8> {
        // 77-digit ids that share a long prefix and differ in the tail, like real ones might.
        format!("{:077}", n.wrapping_mul(2_654_435_761) % 1_000_000_007).into_bytes()
    }

    #[test]
    fn insert_get_remove_keep_every_key_reachable() {
        let mut t = TokenInterner::with_capacity(64);
        for n in 0..64u64 {
            t.insert(&id(n), TokenIdx(n as u16)).unwrap();
        }
        assert_eq!(t.insert(&id(64), TokenIdx(64)), Err(InternError::Full));
        assert_eq!(t.insert(&id(3), TokenIdx(3)), Err(InternError::Duplicate));
        for n in 0..64u64 {
            assert_eq!(t.get(&id(n)), Some(TokenIdx(n as u16)));
        }
        for n in (0..64u64).step_by(3) {
            assert_eq!(t.remove(&id(n)), Some(TokenIdx(n as u16)));
        }
        for n in 0..64u64 {
            let want = (n % 3 != 0).then_some(TokenIdx(n as u16));
            assert_eq!(t.get(&id(n)), want, "key {n}");
        }
        assert_eq!(t.get(b"123"), None);
        assert_eq!(t.remove(b"123"), None);
        assert_eq!(t.insert(b"12a", TokenIdx(0)), Err(InternError::BadTokenId));
        assert_eq!(t.insert(b"", TokenIdx(0)), Err(InternError::BadTokenId));
    }

    #[test]
    fn colliding_tails_still_resolve() {
        // Same last 8 digits, different prefixes: identical hash, distinct keys.
        let mut t = TokenInterner::with_capacity(8);
        let a = b"1111111112345678";
        let b = b"2222222212345678";
        t.insert(a, TokenIdx(1)).unwrap();
        t.insert(b, TokenIdx(2)).unwrap();
        assert_eq!(t.get(a), Some(TokenIdx(1)));
        assert_eq!(t.get(b), Some(TokenIdx(2)));
        t.remove(a);
        assert_eq!(t.get(b), Some(TokenIdx(2)));
    }

    #[test]
    fn ascii_id_bounds() {
        assert!(AsciiId::<4>::new(b"12345").is_none());
        let k = AsciiId::<4>::new(b"12").unwrap();
        assert_eq!(k.as_bytes(), b"12");
        assert_eq!(k.len(), 2);
    }
}
