//! Keccak-256 (the Ethereum variant: original `0x01` padding, not SHA3's `0x06`) as a tiny
//! sponge over `keccak::f1600`, so that EIP-712 hashing can work directly on 64-bit lanes.
//!
//! Invariants: rate is 136 bytes (17 lanes); lanes are little-endian; [`keccak256`] equals
//! `sha3::Keccak256` for every input (tested). Callers that know the shape of their message
//! (fixed-length EIP-712 encodings) can pre-lay-out whole blocks, padding included, as lanes and
//! only XOR the variable lanes in — see `eip712.rs`.

/// Rate of Keccak-256 in bytes.
pub const RATE: usize = 136;
/// Rate of Keccak-256 in 64-bit lanes.
pub const RATE_LANES: usize = RATE / 8;

/// Full Keccak-f[1600] state.
pub type State = [u64; 25];

/// XOR one full 136-byte block (given as lanes) into the state and permute.
#[inline(always)]
pub fn absorb_lanes(state: &mut State, block: &[u64; RATE_LANES]) {
    for (s, b) in state.iter_mut().zip(block.iter()) {
        *s ^= *b;
    }
    keccak::f1600(state);
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
    fn empty_input_known_value() {
        // keccak256("") is the well-known c5d2…a470.
        assert_eq!(
            super::super::hex::to_0x_string(&keccak256(b"")),
            "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
    }
}
