//! Fast-path ECDSA: a pool of precomputed nonces `(r, k⁻¹, parity of R.y)` filled on a
//! background thread, and the online step `s = k⁻¹(z + r·d) mod n` (~0.1 µs) on the hot thread.
//!
//! * [`nonce_pool`] returns a [`NonceProducer`] (refill side, e.g. the risk thread) and a
//!   [`NonceConsumer`] (hot thread) over a bounded single-producer/single-consumer lock-free
//!   ring (`Ring`, private, so it can later be swapped for the crate's generic SPSC).
//! * Each nonce is drawn from a CSPRNG (`rand::rng()`, ChaCha reseeded from the OS), never
//!   written anywhere but the ring slot, and **moved out** of the ring by
//!   [`NonceConsumer::take`]: the slot is overwritten with zeros at once, and the
//!   [`PrecomputedNonce`] (not `Clone`, not `Copy`) is consumed by [`sign_with_nonce`] and
//!   zeroized on drop. Reuse is therefore a compile error:
//!
//! ```compile_fail
//! use sattebaaz::exec::signing::{nonce_pool::{nonce_pool, sign_with_nonce}, signer::EoaSigner};
//! let (mut producer, mut consumer) = nonce_pool(4);
//! producer.refill();
//! let signer = EoaSigner::from_bytes(&[7u8; 32]).unwrap();
//! let nonce = consumer.take().unwrap();
//! let _first = sign_with_nonce(&signer, &[1u8; 32], nonce);
//! let _second = sign_with_nonce(&signer, &[2u8; 32], nonce); // use of moved value
//! ```
//! (the same code without the last line compiles:)
//! ```
//! use sattebaaz::exec::signing::{nonce_pool::{nonce_pool, sign_with_nonce}, signer::EoaSigner};
//! let (mut producer, mut consumer) = nonce_pool(4);
//! producer.refill();
//! let signer = EoaSigner::from_bytes(&[7u8; 32]).unwrap();
//! let nonce = consumer.take().unwrap();
//! let _first = sign_with_nonce(&signer, &[1u8; 32], nonce);
//! ```
//! * An empty pool is counted ([`NonceConsumer::empty_count`]) and
//!   [`NonceConsumer::sign`] falls back to the deterministic RFC 6979 path (~30 µs), so a
//!   drained pool costs latency, never correctness.
//!
//! The signatures are valid secp256k1/Ethereum signatures (low-s, `v = 27 + parity`, ecrecover
//! gives the signer) but are not the RFC 6979 ones, so byte-exact vector tests use the
//! deterministic path. Copies of secret scalars that the compiler leaves in registers or spilled
//! temporaries cannot be wiped from Rust; the stored copies are.

use super::signer::{EoaSigner, Signature65};
use super::SigningError;
use k256::elliptic_curve::ops::{MulByGenerator, Reduce};
use k256::elliptic_curve::point::AffineCoordinates;
use k256::elliptic_curve::scalar::IsHigh;
use k256::elliptic_curve::PrimeField;
use k256::{FieldBytes, ProjectivePoint, Scalar, U256};
use rand::RngCore;
use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use zeroize::Zeroize;

/// One precomputed ECDSA nonce. Single use: consumed by [`sign_with_nonce`], wiped on drop.
pub struct PrecomputedNonce {
    r: Scalar,
    k_inv: Scalar,
    y_odd: bool,
}

impl PrecomputedNonce {
    /// Draw `k` uniformly in `[1, n)` from `rng` and precompute `(r, k⁻¹, R.y parity)`.
    /// Costs one fixed-base scalar multiplication and one inversion (tens of µs).
    pub fn generate<R: RngCore + ?Sized>(rng: &mut R) -> PrecomputedNonce {
        loop {
            let mut bytes = FieldBytes::default();
            rng.fill_bytes(&mut bytes);
            let k = Option::<Scalar>::from(Scalar::from_repr(bytes));
            bytes.zeroize();
            let Some(mut k) = k else { continue };
            if bool::from(k.is_zero()) {
                continue;
            }
            let big_r = ProjectivePoint::mul_by_generator(&k).to_affine();
            // r = R.x, which must be < n (otherwise recovery needs the "x reduced" bit; the
            // probability is ~2^-128, simply draw again).
            let r = Option::<Scalar>::from(Scalar::from_repr(big_r.x()));
            let k_inv = Option::<Scalar>::from(k.invert());
            k.zeroize();
            match (r, k_inv) {
                (Some(r), Some(k_inv)) if !bool::from(r.is_zero()) => {
                    return PrecomputedNonce {
                        r,
                        k_inv,
                        y_odd: bool::from(big_r.y_is_odd()),
                    }
                }
                (_, Some(mut k_inv)) => k_inv.zeroize(),
                _ => {}
            }
        }
    }

    /// The public `r` (big-endian); useful to check uniqueness.
    pub fn r_bytes(&self) -> [u8; 32] {
        self.r.to_repr().into()
    }
}

impl Drop for PrecomputedNonce {
    fn drop(&mut self) {
        self.r.zeroize();
        self.k_inv.zeroize();
        self.y_odd.zeroize();
    }
}

impl std::fmt::Debug for PrecomputedNonce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrecomputedNonce(<redacted>)")
    }
}

/// Online step: sign the 32-byte `digest` with `nonce` (consumed). `None` only if `s` came out
/// zero (probability ~2^-256); the caller then signs deterministically.
#[inline]
pub fn sign_with_nonce(
    signer: &EoaSigner,
    digest: &[u8; 32],
    nonce: PrecomputedNonce,
) -> Option<Signature65> {
    let z = <Scalar as Reduce<U256>>::reduce_bytes(&FieldBytes::from(*digest));
    let d: &Scalar = signer.secret_scalar().as_ref();
    let mut s = nonce.k_inv * (z + nonce.r * d);
    if bool::from(s.is_zero()) {
        return None;
    }
    let mut parity = u8::from(nonce.y_odd);
    if bool::from(s.is_high()) {
        s = -s;
        parity ^= 1;
    }
    let sig = Signature65 {
        r: nonce.r.to_repr().into(),
        s: s.to_repr().into(),
        v: 27 + parity,
    };
    s.zeroize();
    drop(nonce);
    Some(sig)
}

/// The online step's arithmetic (`s = a·(z + a·z)`, low-s normalisation, encoding) on public
/// values derived from `digest` alone: the same k256 scalar code as [`sign_with_nonce`], with
/// no key and no nonce, so a hot thread that signs rarely can keep that code in cache
/// (`engine::hot_trading`'s order-path warming). The result is meaningless and never a
/// signature; callers only keep it from being optimised away.
#[inline(never)]
pub fn warm_online_arithmetic(digest: &[u8; 32]) -> [u8; 32] {
    let z = <Scalar as Reduce<U256>>::reduce_bytes(&FieldBytes::from(*digest));
    let a = z + Scalar::ONE;
    let mut s = a * (z + a * z);
    if bool::from(s.is_high()) {
        s = -s;
    }
    s.to_repr().into()
}

/// Which path produced a signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignPath {
    /// A pooled nonce was used.
    Pooled,
    /// The pool was empty: deterministic RFC 6979 fallback.
    DeterministicFallback,
}

/// Shared counters of a pool.
#[derive(Debug, Default)]
pub struct PoolStats {
    /// Nonces pushed by the producer.
    pub produced: AtomicU64,
    /// Times the consumer found the pool empty.
    pub empty: AtomicU64,
}

#[repr(align(128))]
struct CachePadded<T>(T);

/// Bounded SPSC ring of nonces (the swappable storage type).
struct Ring {
    slots: Box<[UnsafeCell<MaybeUninit<PrecomputedNonce>>]>,
    mask: usize,
    /// Next slot to read (written by the consumer only).
    head: CachePadded<AtomicUsize>,
    /// Next slot to write (written by the producer only).
    tail: CachePadded<AtomicUsize>,
    stats: PoolStats,
}

// SAFETY: a slot is accessed by the producer only while `tail - head < capacity` says it is
// free, and by the consumer only while `head < tail` says it is full; the Release/Acquire pairs
// on `head`/`tail` order the slot accesses. There is exactly one producer and one consumer
// (neither handle is `Clone`).
unsafe impl Sync for Ring {}
// SAFETY: the ring owns its nonces; moving it between threads is fine.
unsafe impl Send for Ring {}

impl Ring {
    fn new(capacity: usize) -> Ring {
        let cap = capacity.max(2).next_power_of_two();
        let slots = (0..cap)
            .map(|_| UnsafeCell::new(MaybeUninit::zeroed()))
            .collect::<Vec<_>>()
            .into_boxed_slice();
        Ring {
            slots,
            mask: cap - 1,
            head: CachePadded(AtomicUsize::new(0)),
            tail: CachePadded(AtomicUsize::new(0)),
            stats: PoolStats::default(),
        }
    }

    fn capacity(&self) -> usize {
        self.mask + 1
    }

    fn len(&self) -> usize {
        let tail = self.tail.0.load(Ordering::Acquire);
        let head = self.head.0.load(Ordering::Acquire);
        tail.wrapping_sub(head)
    }

    /// Producer side.
    fn push(&self, nonce: PrecomputedNonce) -> Result<(), PrecomputedNonce> {
        let tail = self.tail.0.load(Ordering::Relaxed);
        let head = self.head.0.load(Ordering::Acquire);
        if tail.wrapping_sub(head) >= self.capacity() {
            return Err(nonce);
        }
        let slot = &self.slots[tail & self.mask];
        // SAFETY: the slot is free (see the Sync impl); only the producer writes it now.
        unsafe { (*slot.get()).write(nonce) };
        self.tail.0.store(tail.wrapping_add(1), Ordering::Release);
        self.stats.produced.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Consumer side: move the nonce out and wipe the slot.
    #[inline]
    fn pop(&self) -> Option<PrecomputedNonce> {
        let head = self.head.0.load(Ordering::Relaxed);
        let tail = self.tail.0.load(Ordering::Acquire);
        if head == tail {
            return None;
        }
        let slot = self.slots[head & self.mask].get();
        // SAFETY: the slot is full and owned by the consumer until `head` advances; after the
        // read the bytes left behind are overwritten before the slot is handed back.
        let nonce = unsafe {
            let n = (*slot).assume_init_read();
            std::ptr::write_volatile(slot, MaybeUninit::zeroed());
            n
        };
        std::sync::atomic::compiler_fence(Ordering::SeqCst);
        self.head.0.store(head.wrapping_add(1), Ordering::Release);
        Some(nonce)
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // Both handles are gone: drop (and so wipe) what is left.
        while self.pop().is_some() {}
    }
}

/// Refill side of a nonce pool (one per pool; run it off the hot thread).
pub struct NonceProducer {
    ring: Arc<Ring>,
}

/// Hot-thread side of a nonce pool (one per pool).
pub struct NonceConsumer {
    ring: Arc<Ring>,
}

/// A pool holding up to `capacity` (rounded up to a power of two) nonces, initially empty.
pub fn nonce_pool(capacity: usize) -> (NonceProducer, NonceConsumer) {
    let ring = Arc::new(Ring::new(capacity));
    (NonceProducer { ring: ring.clone() }, NonceConsumer { ring })
}

impl NonceProducer {
    /// Fill the pool up to capacity from the thread-local CSPRNG; returns how many were added.
    pub fn refill(&mut self) -> usize {
        self.refill_with(&mut rand::rng())
    }

    /// Fill the pool up to capacity from `rng` (must be a CSPRNG outside tests).
    pub fn refill_with<R: RngCore + ?Sized>(&mut self, rng: &mut R) -> usize {
        let mut added = 0;
        while self.ring.len() < self.ring.capacity() {
            if self.ring.push(PrecomputedNonce::generate(rng)).is_err() {
                break;
            }
            added += 1;
        }
        added
    }

    /// Nonces currently available.
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// True when no nonce is available.
    pub fn is_empty(&self) -> bool {
        self.ring.len() == 0
    }

    /// Pool capacity.
    pub fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    /// Shared counters.
    pub fn stats(&self) -> &PoolStats {
        &self.ring.stats
    }
}

impl NonceConsumer {
    /// Move the next nonce out of the pool (its slot is wiped).
    #[inline]
    pub fn take(&mut self) -> Option<PrecomputedNonce> {
        self.ring.pop()
    }

    /// Nonces currently available.
    pub fn available(&self) -> usize {
        self.ring.len()
    }

    /// How many times [`sign`](Self::sign) found the pool empty.
    pub fn empty_count(&self) -> u64 {
        self.ring.stats.empty.load(Ordering::Relaxed)
    }

    /// Shared counters.
    pub fn stats(&self) -> &PoolStats {
        &self.ring.stats
    }

    /// Sign `digest` with a pooled nonce; when the pool is empty, count it and sign
    /// deterministically (RFC 6979).
    #[inline]
    pub fn sign(
        &mut self,
        signer: &EoaSigner,
        digest: &[u8; 32],
    ) -> Result<(Signature65, SignPath), SigningError> {
        if let Some(nonce) = self.take() {
            if let Some(sig) = sign_with_nonce(signer, digest, nonce) {
                return Ok((sig, SignPath::Pooled));
            }
        } else {
            self.ring.stats.empty.fetch_add(1, Ordering::Relaxed);
        }
        self.sign_deterministic_cold(signer, digest)
    }

    #[cold]
    fn sign_deterministic_cold(
        &self,
        signer: &EoaSigner,
        digest: &[u8; 32],
    ) -> Result<(Signature65, SignPath), SigningError> {
        Ok((signer.sign_digest(digest)?, SignPath::DeterministicFallback))
    }
}

impl std::fmt::Debug for NonceConsumer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NonceConsumer")
            .field("available", &self.available())
            .field("empty_count", &self.empty_count())
            .finish()
    }
}

impl std::fmt::Debug for NonceProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NonceProducer")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Compiles only if `PrecomputedNonce` is not `Clone` (and hence not `Copy`): with a `Clone`
    // impl both trait impls apply and the path below becomes ambiguous.
    trait AmbiguousIfClone<A> {
        fn check() {}
    }
    impl<T: ?Sized> AmbiguousIfClone<()> for T {}
    struct IsClone;
    impl<T: Clone> AmbiguousIfClone<IsClone> for T {}

    #[test]
    fn nonce_is_not_clone() {
        <PrecomputedNonce as AmbiguousIfClone<_>>::check();
    }

    #[test]
    fn taken_slot_is_wiped() {
        let (mut p, mut c) = nonce_pool(2);
        p.refill();
        let idx = c.ring.head.0.load(Ordering::Relaxed) & c.ring.mask;
        let n = c.take().expect("filled");
        let slot_bytes = unsafe {
            std::slice::from_raw_parts(
                c.ring.slots[idx].get() as *const u8,
                std::mem::size_of::<PrecomputedNonce>(),
            )
        };
        assert!(slot_bytes.iter().all(|&b| b == 0));
        drop(n);
    }
}
