//! Keccak-256 (the Ethereum variant: original `0x01` padding, not SHA3's `0x06`) as a tiny
//! sponge over Keccak-f[1600], so that EIP-712 hashing can work directly on 64-bit lanes.
//!
//! The permutation is our own register-resident, per-round unrolled [`f1600`]; on x86_64 CPUs
//! with BMI1/BMI2 (detected at run time, cached by std) the same code is compiled with those
//! features, so χ uses `andn` and ρ uses the non-destructive `rorx` (about a quarter fewer
//! instructions than `keccak::f1600`; see docs/BENCHMARKS.md).
//!
//! Invariants: rate is 136 bytes (17 lanes); lanes are little-endian; [`f1600`] equals
//! `keccak::f1600` on every state and [`keccak256`] equals `sha3::Keccak256` for every input
//! (tested). Callers that know the shape of their message
//! (fixed-length EIP-712 encodings) can pre-lay-out whole blocks, padding included, as lanes and
//! only XOR the variable lanes in — see `eip712.rs`.

/// Rate of Keccak-256 in bytes.
pub const RATE: usize = 136;
/// Rate of Keccak-256 in 64-bit lanes.
pub const RATE_LANES: usize = RATE / 8;

/// Full Keccak-f[1600] state.
pub type State = [u64; 25];

/// Keccak-f[1600] round constants (ι).
const ROUND_CONSTANTS: [u64; 24] = [
    0x0000_0000_0000_0001,
    0x0000_0000_0000_8082,
    0x8000_0000_0000_808a,
    0x8000_0000_8000_8000,
    0x0000_0000_0000_808b,
    0x0000_0000_8000_0001,
    0x8000_0000_8000_8081,
    0x8000_0000_0000_8009,
    0x0000_0000_0000_008a,
    0x0000_0000_0000_0088,
    0x0000_0000_8000_8009,
    0x0000_0000_8000_000a,
    0x0000_0000_8000_808b,
    0x8000_0000_0000_008b,
    0x8000_0000_0000_8089,
    0x8000_0000_0000_8003,
    0x8000_0000_0000_8002,
    0x8000_0000_0000_0080,
    0x0000_0000_0000_800a,
    0x8000_0000_8000_000a,
    0x8000_0000_8000_8081,
    0x8000_0000_0000_8080,
    0x0000_0000_8000_0001,
    0x8000_0000_8000_8008,
];

/// The 24 rounds on 25 local lanes (lane `x + 5y`); θ, ρ+π and χ written out per lane.
#[inline(always)]
fn permute(state: &mut State) {
    let [mut a00, mut a01, mut a02, mut a03, mut a04, mut a05, mut a06, mut a07, mut a08, mut a09, mut a10, mut a11, mut a12, mut a13, mut a14, mut a15, mut a16, mut a17, mut a18, mut a19, mut a20, mut a21, mut a22, mut a23, mut a24] =
        *state;
    for rc in ROUND_CONSTANTS {
        let c0 = a00 ^ a05 ^ a10 ^ a15 ^ a20;
        let c1 = a01 ^ a06 ^ a11 ^ a16 ^ a21;
        let c2 = a02 ^ a07 ^ a12 ^ a17 ^ a22;
        let c3 = a03 ^ a08 ^ a13 ^ a18 ^ a23;
        let c4 = a04 ^ a09 ^ a14 ^ a19 ^ a24;
        let d0 = c4 ^ c1.rotate_left(1);
        let d1 = c0 ^ c2.rotate_left(1);
        let d2 = c1 ^ c3.rotate_left(1);
        let d3 = c2 ^ c4.rotate_left(1);
        let d4 = c3 ^ c0.rotate_left(1);
        let b00 = a00 ^ d0;
        let b01 = (a06 ^ d1).rotate_left(44);
        let b02 = (a12 ^ d2).rotate_left(43);
        let b03 = (a18 ^ d3).rotate_left(21);
        let b04 = (a24 ^ d4).rotate_left(14);
        let b05 = (a03 ^ d3).rotate_left(28);
        let b06 = (a09 ^ d4).rotate_left(20);
        let b07 = (a10 ^ d0).rotate_left(3);
        let b08 = (a16 ^ d1).rotate_left(45);
        let b09 = (a22 ^ d2).rotate_left(61);
        let b10 = (a01 ^ d1).rotate_left(1);
        let b11 = (a07 ^ d2).rotate_left(6);
        let b12 = (a13 ^ d3).rotate_left(25);
        let b13 = (a19 ^ d4).rotate_left(8);
        let b14 = (a20 ^ d0).rotate_left(18);
        let b15 = (a04 ^ d4).rotate_left(27);
        let b16 = (a05 ^ d0).rotate_left(36);
        let b17 = (a11 ^ d1).rotate_left(10);
        let b18 = (a17 ^ d2).rotate_left(15);
        let b19 = (a23 ^ d3).rotate_left(56);
        let b20 = (a02 ^ d2).rotate_left(62);
        let b21 = (a08 ^ d3).rotate_left(55);
        let b22 = (a14 ^ d4).rotate_left(39);
        let b23 = (a15 ^ d0).rotate_left(41);
        let b24 = (a21 ^ d1).rotate_left(2);
        a00 = b00 ^ (!b01 & b02);
        a01 = b01 ^ (!b02 & b03);
        a02 = b02 ^ (!b03 & b04);
        a03 = b03 ^ (!b04 & b00);
        a04 = b04 ^ (!b00 & b01);
        a05 = b05 ^ (!b06 & b07);
        a06 = b06 ^ (!b07 & b08);
        a07 = b07 ^ (!b08 & b09);
        a08 = b08 ^ (!b09 & b05);
        a09 = b09 ^ (!b05 & b06);
        a10 = b10 ^ (!b11 & b12);
        a11 = b11 ^ (!b12 & b13);
        a12 = b12 ^ (!b13 & b14);
        a13 = b13 ^ (!b14 & b10);
        a14 = b14 ^ (!b10 & b11);
        a15 = b15 ^ (!b16 & b17);
        a16 = b16 ^ (!b17 & b18);
        a17 = b17 ^ (!b18 & b19);
        a18 = b18 ^ (!b19 & b15);
        a19 = b19 ^ (!b15 & b16);
        a20 = b20 ^ (!b21 & b22);
        a21 = b21 ^ (!b22 & b23);
        a22 = b22 ^ (!b23 & b24);
        a23 = b23 ^ (!b24 & b20);
        a24 = b24 ^ (!b20 & b21);
        a00 ^= rc;
    }
    *state = [
        a00, a01, a02, a03, a04, a05, a06, a07, a08, a09, a10, a11, a12, a13, a14, a15, a16, a17,
        a18, a19, a20, a21, a22, a23, a24,
    ];
}

/// The permutation compiled with BMI1 (`andn`) and BMI2 (`rorx`).
///
/// # Safety
/// The CPU must support BMI1 and BMI2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "bmi1,bmi2")]
unsafe fn permute_bmi(state: &mut State) {
    permute(state)
}

/// Keccak-f[1600] (24 rounds) in place.
#[inline]
pub fn f1600(state: &mut State) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("bmi1") && std::is_x86_feature_detected!("bmi2") {
            // SAFETY: both features were just detected on this CPU.
            unsafe { permute_bmi(state) };
            return;
        }
    }
    permute(state)
}

/// XOR one full 136-byte block (given as lanes) into the state and permute.
#[inline(always)]
pub fn absorb_lanes(state: &mut State, block: &[u64; RATE_LANES]) {
    for (s, b) in state.iter_mut().zip(block.iter()) {
        *s ^= *b;
    }
    f1600(state);
}

/// Load a 136-byte block as little-endian lanes.
#[inline(always)]
pub fn block_to_lanes(block: &[u8; RATE]) -> [u64; RATE_LANES] {
    let mut lanes = [0u64; RATE_LANES];
    for (lane, chunk) in lanes.iter_mut().zip(block.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        *lane = u64::from_le_bytes(b);
    }
    lanes
}

/// Squeeze the 32-byte digest out of a permuted state.
#[inline(always)]
pub fn squeeze32(state: &State) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (chunk, lane) in out.chunks_exact_mut(8).zip(state.iter()) {
        chunk.copy_from_slice(&lane.to_le_bytes());
    }
    out
}

/// Lay out the final (padded) block of a message whose tail is `tail` (`tail.len() < RATE`).
#[inline(always)]
pub fn padded_last_block(tail: &[u8]) -> [u8; RATE] {
    debug_assert!(tail.len() < RATE);
    let mut block = [0u8; RATE];
    block[..tail.len()].copy_from_slice(tail);
    block[tail.len()] ^= 0x01;
    block[RATE - 1] ^= 0x80;
    block
}

/// Keccak-256 of `data`.
pub fn keccak256(data: &[u8]) -> [u8; 32] {
    let mut state: State = [0; 25];
    let mut chunks = data.chunks_exact(RATE);
    for chunk in &mut chunks {
        let mut block = [0u8; RATE];
        block.copy_from_slice(chunk);
        absorb_lanes(&mut state, &block_to_lanes(&block));
    }
    let last = padded_last_block(chunks.remainder());
    absorb_lanes(&mut state, &block_to_lanes(&last));
    squeeze32(&state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha3::{Digest, Keccak256};

    #[test]
    fn matches_sha3_crate_for_all_lengths_around_the_rate() {
        let data: Vec<u8> = (0..700u32).map(|i| (i * 31 + 7) as u8).collect();
        for len in 0..data.len() {
            let want: [u8; 32] = Keccak256::digest(&data[..len]).into();
            assert_eq!(keccak256(&data[..len]), want, "len {len}");
        }
    }

    #[test]
    fn permutation_matches_the_keccak_crate() {
        let mut ours: State = [0; 25];
        for (i, lane) in ours.iter_mut().enumerate() {
            *lane = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
        let mut reference = ours;
        for _ in 0..50 {
            f1600(&mut ours);
            keccak::f1600(&mut reference);
            assert_eq!(ours, reference);
        }
        // The portable body too (the dispatcher may have taken the BMI one).
        let mut portable = reference;
        permute(&mut portable);
        keccak::f1600(&mut reference);
        assert_eq!(portable, reference);
    }

    #[test]
    fn empty_input_known_value() {
        // keccak256("") is the well-known c5d2…a470.
        assert_eq!(
            super::super::hex::to_0x_string(&keccak256(b"")),
            "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
    }
}
