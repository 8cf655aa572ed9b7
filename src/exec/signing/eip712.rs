//! EIP-712 hashing for CLOB V2 orders: domain separators, the `Order` type hash, the struct hash
//! and the signing digest (which is also the CLOB order id), plus the ERC-7739 `TypedDataSign`
//! wrapper used by deposit wallets (signature type 3).
//!
//! Speed: an [`OrderHasher`] is built once per order *template* (exchange, maker, signer, token,
//! signature type, metadata, builder). It keeps the 12-word `Order` encoding pre-laid-out as
//! three 136-byte Keccak blocks of little-endian lanes, padding included, so hashing one order
//! only writes five lanes (salt, makerAmount, takerAmount, side, timestamp — all fit in a u64 and
//! therefore in the last lane of their big-endian word) and runs three permutations. The outer
//! digest block (`0x1901 || domainSeparator || structHash`, padding included) is also
//! pre-laid-out: one permutation. With a salt chosen in advance, [`OrderHasher::absorb_salt`]
//! pre-absorbs the first block off the hot path, leaving two permutations for the struct hash.
//!
//! Invariants: [`ORDER_TYPEHASH`] equals keccak256 of [`ORDER_TYPE_STRING`] (tested); every hash
//! equals the generic `keccak256(encodeData)` computation (tested against the vectors).

use super::address::Address;
use super::keccak::{self, absorb_lanes, block_to_lanes, keccak256, squeeze32, State, RATE};

/// Polygon mainnet.
pub const CHAIN_ID: u64 = 137;
/// Name of the exchange EIP-712 domain (all exchange versions).
pub const EXCHANGE_DOMAIN_NAME: &str = "Polymarket CTF Exchange";
/// The EIP-712 domain type with a verifying contract.
pub const DOMAIN_TYPE_STRING: &str =
    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";
/// The V2 `Order` type, exactly as signed.
pub const ORDER_TYPE_STRING: &str = "Order(uint256 salt,address maker,address signer,uint256 tokenId,uint256 makerAmount,uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,bytes32 metadata,bytes32 builder)";
/// keccak256(ORDER_TYPE_STRING), the constant from the protocol reference.
pub const ORDER_TYPEHASH: [u8; 32] =
    hex32("bb86318a2138f5fa8ae32fbe8e659f8fcf13cc6ae4014a707893055433818589");
/// ERC-7739 nested type for deposit-wallet (POLY_1271) signatures: TypedDataSign + Order.
pub const TYPED_DATA_SIGN_TYPE_STRING: &str = "TypedDataSign(Order contents,string name,string version,uint256 chainId,address verifyingContract,bytes32 salt)Order(uint256 salt,address maker,address signer,uint256 tokenId,uint256 makerAmount,uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,bytes32 metadata,bytes32 builder)";
/// EIP-712 domain name of the deposit wallet in the nested signature.
pub const DEPOSIT_WALLET_DOMAIN_NAME: &str = "DepositWallet";
/// EIP-712 domain version of the deposit wallet in the nested signature.
pub const DEPOSIT_WALLET_DOMAIN_VERSION: &str = "1";

/// Decode 64 hex digits at compile time.
const fn hex32(s: &str) -> [u8; 32] {
    const fn nib(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => panic!("bad hex digit in constant"),
        }
    }
    let b = s.as_bytes();
    assert!(b.len() == 64, "hex32 needs 64 digits");
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = (nib(b[2 * i]) << 4) | nib(b[2 * i + 1]);
        i += 1;
    }
    out
}

const fn addr(s: &str) -> Address {
    let w = hex32(s);
    let mut a = [0u8; 20];
    let mut i = 0;
    while i < 20 {
        a[i] = w[12 + i];
        i += 1;
    }
    Address(a)
}

/// Which exchange contract (and so which EIP-712 domain) an order is signed for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Exchange {
    /// CTF Exchange V2 (standard binary markets), domain version "2".
    Standard,
    /// Neg-risk CTF Exchange V2, domain version "2".
    NegRisk,
    /// Exchange V3 (protocol-v2 position ids), domain version "3".
    V3,
}

impl Exchange {
    /// Standard or neg-risk V2 exchange from a market's `neg_risk` flag.
    pub fn for_market(neg_risk: bool) -> Exchange {
        if neg_risk {
            Exchange::NegRisk
        } else {
            Exchange::Standard
        }
    }

    /// Verifying contract on Polygon.
    pub const fn address(self) -> Address {
        match self {
            Exchange::Standard => {
                addr("000000000000000000000000E111180000d2663C0091e4f400237545B87B996B")
            }
            Exchange::NegRisk => {
                addr("000000000000000000000000e2222d279d744050d28e00520010520000310F59")
            }
            Exchange::V3 => {
                addr("000000000000000000000000e3333700cA9d93003F00f0F71f8515005F6c00Aa")
            }
        }
    }

    /// EIP-712 domain version string.
    pub const fn version(self) -> &'static str {
        match self {
            Exchange::Standard | Exchange::NegRisk => "2",
            Exchange::V3 => "3",
        }
    }

    /// Domain separator on `chain_id`.
    pub fn domain_separator(self, chain_id: u64) -> [u8; 32] {
        domain_separator(
            EXCHANGE_DOMAIN_NAME,
            self.version(),
            chain_id,
            Some(&self.address()),
        )
    }
}

/// A u64 as a big-endian uint256 ABI word.
#[inline]
pub fn u64_word(v: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&v.to_be_bytes());
    w
}

/// EIP-712 domain separator. With `verifying_contract = None` the domain type has no
/// `verifyingContract` field (the ClobAuth domain).
pub fn domain_separator(
    name: &str,
    version: &str,
    chain_id: u64,
    verifying_contract: Option<&Address>,
) -> [u8; 32] {
    let mut enc = Vec::with_capacity(5 * 32);
    match verifying_contract {
        Some(_) => enc.extend_from_slice(&keccak256(DOMAIN_TYPE_STRING.as_bytes())),
        None => enc.extend_from_slice(&keccak256(
            b"EIP712Domain(string name,string version,uint256 chainId)",
        )),
    }
    enc.extend_from_slice(&keccak256(name.as_bytes()));
    enc.extend_from_slice(&keccak256(version.as_bytes()));
    enc.extend_from_slice(&u64_word(chain_id));
    if let Some(c) = verifying_contract {
        enc.extend_from_slice(&c.word());
    }
    keccak256(&enc)
}

/// `keccak256(0x19 0x01 || domain_separator || struct_hash)` (generic path).
pub fn typed_data_digest(domain_separator: &[u8; 32], struct_hash: &[u8; 32]) -> [u8; 32] {
    let mut m = [0u8; 66];
    m[0] = 0x19;
    m[1] = 0x01;
    m[2..34].copy_from_slice(domain_separator);
    m[34..].copy_from_slice(struct_hash);
    keccak256(&m)
}

/// The constant (per template) words of an `Order`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderConstants {
    /// Funder (order `maker`).
    pub maker: Address,
    /// Signing address (order `signer`).
    pub signer: Address,
    /// Outcome token id as a big-endian uint256.
    pub token_id: [u8; 32],
    /// Signature type 0..=3.
    pub signature_type: u8,
    /// bytes32 metadata.
    pub metadata: [u8; 32],
    /// bytes32 builder code.
    pub builder: [u8; 32],
}

/// The per-order variable words of an `Order` (all fit in a u64).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderVariables {
    /// Salt (uint256 on chain; we use < 2^53 so JSON numbers stay exact).
    pub salt: u64,
    /// makerAmount in 1e-6 units.
    pub maker_amount: u64,
    /// takerAmount in 1e-6 units.
    pub taker_amount: u64,
    /// 0 = BUY, 1 = SELL.
    pub side: u8,
    /// Creation time in milliseconds.
    pub timestamp_ms: u64,
}

/// State after absorbing the first struct block for a given salt (see module docs).
#[derive(Clone, Copy)]
pub struct SaltPrefix {
    state: State,
    salt: u64,
}

impl SaltPrefix {
    /// The salt this prefix was absorbed with.
    pub fn salt(&self) -> u64 {
        self.salt
    }
}

const LANES: usize = keccak::RATE_LANES;
// Lane (within its block) of the last 8 bytes of each variable word; see module docs.
const SALT_LANE: usize = 7; // block 0, word 1 = bytes 32..64
const MAKER_AMOUNT_LANE: usize = 6; // block 1, word 5 = bytes 160..192
const TAKER_AMOUNT_LANE: usize = 10; // block 1, word 6 = bytes 192..224
const SIDE_LANE: usize = 14; // block 1, word 7 = bytes 224..256
const TIMESTAMP_LANE: usize = 5; // block 2, word 9 = bytes 288..320

#[inline(always)]
fn be_u64_lane(v: u64) -> u64 {
    u64::from_le_bytes(v.to_be_bytes())
}

/// Pre-laid-out hasher for one order template (see module docs).
#[derive(Clone)]
pub struct OrderHasher {
    blocks: [[u64; LANES]; 3],
    /// `0x1901 || domainSeparator || 0…0 || padding` as bytes; struct hash goes at 34..66.
    outer_block: [u8; RATE],
    domain_separator: [u8; 32],
    /// For signature type 3: TypedDataSign words with the contents hash slot (32..64) zero.
    typed_data_sign_words: [u8; 7 * 32],
}

impl OrderHasher {
    /// Lay out the constant parts for `exchange` on `chain_id`.
    pub fn new(exchange: Exchange, chain_id: u64, c: &OrderConstants) -> OrderHasher {
        let domain_separator = exchange.domain_separator(chain_id);
        let mut enc = [0u8; 3 * RATE];
        let words: [[u8; 32]; 12] = [
            ORDER_TYPEHASH,
            [0; 32], // salt
            c.maker.word(),
            c.signer.word(),
            c.token_id,
            [0; 32], // makerAmount
            [0; 32], // takerAmount
            [0; 32], // side
            u64_word(u64::from(c.signature_type)),
            [0; 32], // timestamp
            c.metadata,
            c.builder,
        ];
        for (i, w) in words.iter().enumerate() {
            enc[32 * i..32 * i + 32].copy_from_slice(w);
        }
        // Keccak padding for a 384-byte message: 0x01 right after it, 0x80 in the last byte.
        enc[12 * 32] ^= 0x01;
        enc[3 * RATE - 1] ^= 0x80;
        let mut blocks = [[0u64; LANES]; 3];
        for (b, chunk) in blocks.iter_mut().zip(enc.chunks_exact(RATE)) {
            let mut block = [0u8; RATE];
            block.copy_from_slice(chunk);
            *b = block_to_lanes(&block);
        }
        let mut outer_block = [0u8; RATE];
        outer_block[0] = 0x19;
        outer_block[1] = 0x01;
        outer_block[2..34].copy_from_slice(&domain_separator);
        outer_block[66] ^= 0x01;
        outer_block[RATE - 1] ^= 0x80;

        let mut typed_data_sign_words = [0u8; 7 * 32];
        let tds: [[u8; 32]; 7] = [
            keccak256(TYPED_DATA_SIGN_TYPE_STRING.as_bytes()),
            [0; 32], // contents hash
            keccak256(DEPOSIT_WALLET_DOMAIN_NAME.as_bytes()),
            keccak256(DEPOSIT_WALLET_DOMAIN_VERSION.as_bytes()),
            u64_word(chain_id),
            c.maker.word(), // the deposit wallet is the verifying contract (maker == signer)
            [0; 32],        // salt
        ];
        for (i, w) in tds.iter().enumerate() {
            typed_data_sign_words[32 * i..32 * i + 32].copy_from_slice(w);
        }
        OrderHasher {
            blocks,
            outer_block,
            domain_separator,
            typed_data_sign_words,
        }
    }

    /// This template's domain separator.
    pub fn domain_separator(&self) -> &[u8; 32] {
        &self.domain_separator
    }

    /// Absorb the first block (typehash, salt, maker, signer, token-id head) for `salt`.
    #[inline]
    pub fn absorb_salt(&self, salt: u64) -> SaltPrefix {
        let mut state: State = [0; 25];
        let mut b = self.blocks[0];
        b[SALT_LANE] = be_u64_lane(salt);
        absorb_lanes(&mut state, &b);
        SaltPrefix { state, salt }
    }

    /// Struct hash from a pre-absorbed salt prefix (two permutations).
    #[inline]
    pub fn struct_hash_from_prefix(&self, prefix: &SaltPrefix, v: &OrderVariables) -> [u8; 32] {
        debug_assert_eq!(prefix.salt, v.salt);
        let mut state = prefix.state;
        let mut b = self.blocks[1];
        b[MAKER_AMOUNT_LANE] = be_u64_lane(v.maker_amount);
        b[TAKER_AMOUNT_LANE] = be_u64_lane(v.taker_amount);
        b[SIDE_LANE] = be_u64_lane(u64::from(v.side));
        absorb_lanes(&mut state, &b);
        let mut b = self.blocks[2];
        b[TIMESTAMP_LANE] = be_u64_lane(v.timestamp_ms);
        absorb_lanes(&mut state, &b);
        squeeze32(&state)
    }

    /// `hashStruct(Order)` (three permutations).
    #[inline]
    pub fn struct_hash(&self, v: &OrderVariables) -> [u8; 32] {
        let prefix = self.absorb_salt(v.salt);
        self.struct_hash_from_prefix(&prefix, v)
    }

    /// `keccak256(0x1901 || domainSeparator || struct_hash)` (one permutation).
    #[inline]
    pub fn digest_from_struct_hash(&self, struct_hash: &[u8; 32]) -> [u8; 32] {
        let mut block = self.outer_block;
        block[34..66].copy_from_slice(struct_hash);
        let mut state: State = [0; 25];
        absorb_lanes(&mut state, &block_to_lanes(&block));
        squeeze32(&state)
    }

    /// The order digest = CLOB order id = what types 0/1/2 sign.
    #[inline]
    pub fn digest(&self, v: &OrderVariables) -> [u8; 32] {
        self.digest_from_struct_hash(&self.struct_hash(v))
    }

    /// Digest the EOA signs for a deposit wallet (type 3): the ERC-7739 `TypedDataSign` struct
    /// with `contents = order`, the deposit wallet's domain fields, under the exchange domain.
    pub fn typed_data_sign_digest(&self, contents_hash: &[u8; 32]) -> [u8; 32] {
        let mut words = self.typed_data_sign_words;
        words[32..64].copy_from_slice(contents_hash);
        self.digest_from_struct_hash(&keccak256(&words))
    }
}

impl std::fmt::Debug for OrderHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderHasher")
            .field(
                "domain_separator",
                &super::hex::to_0x_string(&self.domain_separator),
            )
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typehash_constant_matches_type_string() {
        assert_eq!(keccak256(ORDER_TYPE_STRING.as_bytes()), ORDER_TYPEHASH);
    }

    #[test]
    fn laid_out_hash_equals_generic_encoding() {
        let c = OrderConstants {
            maker: Address([0x11; 20]),
            signer: Address([0x22; 20]),
            token_id: [0x33; 32],
            signature_type: 2,
            metadata: [0x44; 32],
            builder: [0x55; 32],
        };
        let v = OrderVariables {
            salt: 0x0123_4567_89ab,
            maker_amount: 52_000_000,
            taker_amount: 100_000_000,
            side: 1,
            timestamp_ms: 1_767_225_600_123,
        };
        let h = OrderHasher::new(Exchange::NegRisk, CHAIN_ID, &c);
        let mut enc = Vec::new();
        for w in [
            ORDER_TYPEHASH,
            u64_word(v.salt),
            c.maker.word(),
            c.signer.word(),
            c.token_id,
            u64_word(v.maker_amount),
            u64_word(v.taker_amount),
            u64_word(1),
            u64_word(2),
            u64_word(v.timestamp_ms),
            c.metadata,
            c.builder,
        ] {
            enc.extend_from_slice(&w);
        }
        let sh = keccak256(&enc);
        assert_eq!(h.struct_hash(&v), sh);
        let ds = Exchange::NegRisk.domain_separator(CHAIN_ID);
        assert_eq!(h.digest(&v), typed_data_digest(&ds, &sh));
        let prefix = h.absorb_salt(v.salt);
        assert_eq!(h.struct_hash_from_prefix(&prefix, &v), sh);
    }
}
