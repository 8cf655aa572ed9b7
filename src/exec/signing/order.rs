//! CLOB V2 orders: signature types, order types, token ids, the per-market [`OrderTemplate`]
//! (constant fields pre-hashed/pre-rendered once) and [`SignedOrder`] (variable fields, order
//! id and signature) produced by deterministic or pooled signing.
//!
//! Who is `maker`/`signer` (protocol reference §1.1): type 0 EOA — both the EOA (a funder, if
//! given, is the maker); types 1/2 (proxy / Gnosis Safe) — maker = funder, signer = EOA; type 3
//! (deposit wallet, EIP-1271) — maker = signer = deposit wallet, the EOA signs the ERC-7739
//! `TypedDataSign` digest and the signature is `inner65 || appDomainSeparator || contentsHash ||
//! typeString || uint16_be(len)` (317 bytes).
//!
//! Invariants: `SignedOrder::order_id` is the EIP-712 digest of the plain `Order` (= CLOB order
//! id) for every signature type; signing allocates nothing.

use super::address::{Address, ChecksumText};
use super::amounts::Side;
use super::eip712::{
    Exchange, OrderConstants, OrderHasher, OrderVariables, SaltPrefix, ORDER_TYPE_STRING,
};
use super::hex;
use super::nonce_pool::{NonceConsumer, SignPath};
use super::signer::{EoaSigner, Signature65};
use super::SigningError;

/// Signature type of an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureType {
    /// 0: plain EOA.
    Eoa,
    /// 1: Polymarket proxy wallet.
    PolyProxy,
    /// 2: Gnosis Safe.
    PolyGnosisSafe,
    /// 3: EIP-1271 deposit wallet.
    Poly1271,
}

impl SignatureType {
    /// uint8 value.
    pub const fn as_u8(self) -> u8 {
        match self {
            SignatureType::Eoa => 0,
            SignatureType::PolyProxy => 1,
            SignatureType::PolyGnosisSafe => 2,
            SignatureType::Poly1271 => 3,
        }
    }
    /// From the uint8 value.
    pub fn from_u8(v: u8) -> Result<SignatureType, SigningError> {
        Ok(match v {
            0 => SignatureType::Eoa,
            1 => SignatureType::PolyProxy,
            2 => SignatureType::PolyGnosisSafe,
            3 => SignatureType::Poly1271,
            _ => return Err(SigningError::SignatureType(v)),
        })
    }
}

/// Time-in-force of an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderType {
    /// Good till cancelled.
    Gtc,
    /// Good till date (`expiration` in unix seconds, ≥ now + 60 s security threshold).
    Gtd,
    /// Fill or kill.
    Fok,
    /// Fill and kill (partial fills allowed).
    Fak,
}

impl OrderType {
    /// JSON text.
    pub const fn as_str(self) -> &'static str {
        match self {
            OrderType::Gtc => "GTC",
            OrderType::Gtd => "GTD",
            OrderType::Fok => "FOK",
            OrderType::Fak => "FAK",
        }
    }
    /// Parse (case-insensitive).
    pub fn parse(s: &str) -> Option<OrderType> {
        [
            OrderType::Gtc,
            OrderType::Gtd,
            OrderType::Fok,
            OrderType::Fak,
        ]
        .into_iter()
        .find(|t| t.as_str().eq_ignore_ascii_case(s))
    }
}

/// Maximum decimal digits of a uint256.
pub const U256_DECIMAL_DIGITS: usize = 78;

/// An outcome token id: big-endian uint256 word and canonical decimal text.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenId {
    word: [u8; 32],
    text: [u8; U256_DECIMAL_DIGITS],
    text_len: u8,
}

impl TokenId {
    /// Parse a decimal uint256 (leading zeros dropped from the stored text).
    pub fn parse(s: &str) -> Result<TokenId, SigningError> {
        let digits = s.as_bytes();
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return Err(SigningError::TokenId);
        }
        // Little-endian u64 limbs.
        let mut limbs = [0u64; 4];
        for &c in digits {
            let mut carry = u128::from(c - b'0');
            for limb in limbs.iter_mut() {
                let v = u128::from(*limb) * 10 + carry;
                *limb = v as u64;
                carry = v >> 64;
            }
            if carry != 0 {
                return Err(SigningError::TokenId);
            }
        }
        let mut word = [0u8; 32];
        for (i, limb) in limbs.iter().enumerate() {
            word[32 - 8 * (i + 1)..32 - 8 * i].copy_from_slice(&limb.to_be_bytes());
        }
        let trimmed = match digits.iter().position(|&c| c != b'0') {
            Some(first) => &digits[first..],
            None => b"0",
        };
        let mut text = [0u8; U256_DECIMAL_DIGITS];
        text[..trimmed.len()].copy_from_slice(trimmed);
        Ok(TokenId {
            word,
            text,
            text_len: trimmed.len() as u8,
        })
    }

    /// The uint256 word.
    pub fn word(&self) -> &[u8; 32] {
        &self.word
    }

    /// Canonical decimal text.
    pub fn text(&self) -> &[u8] {
        &self.text[..usize::from(self.text_len)]
    }
}

impl std::fmt::Debug for TokenId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(std::str::from_utf8(self.text()).unwrap_or("?"))
    }
}

/// Length of a type-3 signature: 65 + 32 + 32 + len(type string) + 2.
pub const POLY_1271_SIGNATURE_LEN: usize = 65 + 32 + 32 + ORDER_TYPE_STRING.len() + 2;

/// An order signature: 65 bytes (types 0–2) or the 317-byte nested deposit-wallet form.
#[derive(Clone, Copy)]
pub struct OrderSignature {
    bytes: [u8; POLY_1271_SIGNATURE_LEN],
    len: u16,
}

impl OrderSignature {
    fn plain(sig: &Signature65) -> OrderSignature {
        let mut bytes = [0u8; POLY_1271_SIGNATURE_LEN];
        bytes[..65].copy_from_slice(&sig.to_bytes());
        OrderSignature { bytes, len: 65 }
    }

    fn nested(
        inner: &Signature65,
        domain_separator: &[u8; 32],
        contents_hash: &[u8; 32],
    ) -> OrderSignature {
        let mut bytes = [0u8; POLY_1271_SIGNATURE_LEN];
        bytes[..65].copy_from_slice(&inner.to_bytes());
        bytes[65..97].copy_from_slice(domain_separator);
        bytes[97..129].copy_from_slice(contents_hash);
        let t = ORDER_TYPE_STRING.as_bytes();
        bytes[129..129 + t.len()].copy_from_slice(t);
        bytes[129 + t.len()..].copy_from_slice(&(t.len() as u16).to_be_bytes());
        OrderSignature {
            bytes,
            len: POLY_1271_SIGNATURE_LEN as u16,
        }
    }

    /// The signature bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The 65-byte ECDSA part (the whole signature for types 0–2).
    pub fn inner(&self) -> Result<Signature65, SigningError> {
        Signature65::from_bytes(&self.bytes[..65])
    }

    /// `0x` hex (cold paths).
    pub fn to_hex_string(&self) -> String {
        hex::to_0x_string(self.as_bytes())
    }
}

impl std::fmt::Debug for OrderSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex_string())
    }
}

/// Constant part of orders for one (exchange, token, maker, signer, signature type, metadata,
/// builder): hashing layout and JSON text rendered once.
#[derive(Clone, Debug)]
pub struct OrderTemplate {
    exchange: Exchange,
    hasher: OrderHasher,
    token_id: TokenId,
    maker: Address,
    signer: Address,
    maker_text: ChecksumText,
    signer_text: ChecksumText,
    signature_type: SignatureType,
    metadata: [u8; 32],
    builder: [u8; 32],
    metadata_hex: [u8; 66],
    builder_hex: [u8; 66],
}

fn bytes32_hex(b: &[u8; 32]) -> [u8; 66] {
    let mut out = [0u8; 66];
    out[0] = b'0';
    out[1] = b'x';
    hex::encode_into(b, &mut out[2..]);
    out
}

impl OrderTemplate {
    /// Lay out a template. `eoa` is the signing key's address; `funder` the wallet holding the
    /// funds (required for types 1–3).
    #[expect(
        clippy::too_many_arguments,
        reason = "one argument per constant Order field; called once per market at warm-up"
    )]
    pub fn new(
        exchange: Exchange,
        chain_id: u64,
        eoa: Address,
        funder: Option<Address>,
        signature_type: SignatureType,
        token_id: TokenId,
        metadata: [u8; 32],
        builder: [u8; 32],
    ) -> Result<OrderTemplate, SigningError> {
        let (maker, signer) = match signature_type {
            SignatureType::Eoa => (funder.unwrap_or(eoa), eoa),
            SignatureType::PolyProxy | SignatureType::PolyGnosisSafe => {
                (funder.ok_or(SigningError::FunderRequired)?, eoa)
            }
            SignatureType::Poly1271 => {
                let wallet = funder.ok_or(SigningError::FunderRequired)?;
                (wallet, wallet)
            }
        };
        let constants = OrderConstants {
            maker,
            signer,
            token_id: *token_id.word(),
            signature_type: signature_type.as_u8(),
            metadata,
            builder,
        };
        Ok(OrderTemplate {
            exchange,
            hasher: OrderHasher::new(exchange, chain_id, &constants),
            token_id,
            maker,
            signer,
            maker_text: maker.checksum_text(),
            signer_text: signer.checksum_text(),
            signature_type,
            metadata,
            builder,
            metadata_hex: bytes32_hex(&metadata),
            builder_hex: bytes32_hex(&builder),
        })
    }

    /// Exchange the orders are signed for.
    pub fn exchange(&self) -> Exchange {
        self.exchange
    }
    /// The hasher (domain separator, struct hash, digest).
    pub fn hasher(&self) -> &OrderHasher {
        &self.hasher
    }
    /// Token id.
    pub fn token_id(&self) -> &TokenId {
        &self.token_id
    }
    /// Order `maker`.
    pub fn maker(&self) -> Address {
        self.maker
    }
    /// Order `signer`.
    pub fn signer(&self) -> Address {
        self.signer
    }
    /// EIP-55 text of `maker`.
    pub fn maker_text(&self) -> &ChecksumText {
        &self.maker_text
    }
    /// EIP-55 text of `signer`.
    pub fn signer_text(&self) -> &ChecksumText {
        &self.signer_text
    }
    /// Signature type.
    pub fn signature_type(&self) -> SignatureType {
        self.signature_type
    }
    /// bytes32 metadata.
    pub fn metadata(&self) -> &[u8; 32] {
        &self.metadata
    }
    /// bytes32 builder code.
    pub fn builder(&self) -> &[u8; 32] {
        &self.builder
    }
    /// `0x` hex of metadata.
    pub fn metadata_hex(&self) -> &[u8; 66] {
        &self.metadata_hex
    }
    /// `0x` hex of the builder code.
    pub fn builder_hex(&self) -> &[u8; 66] {
        &self.builder_hex
    }

    /// The digest the EOA actually signs for an order whose plain digest/struct hash are given.
    #[inline]
    fn signing_digest(&self, struct_hash: &[u8; 32], order_id: &[u8; 32]) -> [u8; 32] {
        match self.signature_type {
            SignatureType::Poly1271 => self.hasher.typed_data_sign_digest(struct_hash),
            _ => *order_id,
        }
    }

    #[inline]
    fn finish(
        &self,
        vars: OrderVariables,
        expiration: u64,
        struct_hash: [u8; 32],
        order_id: [u8; 32],
        sig: &Signature65,
    ) -> SignedOrder {
        let signature = match self.signature_type {
            SignatureType::Poly1271 => {
                OrderSignature::nested(sig, self.hasher.domain_separator(), &struct_hash)
            }
            _ => OrderSignature::plain(sig),
        };
        SignedOrder {
            vars,
            expiration,
            struct_hash,
            order_id,
            signature,
        }
    }

    /// Sign deterministically (RFC 6979; reproduces the official clients byte for byte).
    pub fn sign(
        &self,
        signer: &EoaSigner,
        vars: OrderVariables,
        expiration: u64,
    ) -> Result<SignedOrder, SigningError> {
        self.check_signer(signer)?;
        let struct_hash = self.hasher.struct_hash(&vars);
        let order_id = self.hasher.digest_from_struct_hash(&struct_hash);
        let sig = signer.sign_digest(&self.signing_digest(&struct_hash, &order_id))?;
        Ok(self.finish(vars, expiration, struct_hash, order_id, &sig))
    }

    /// The order `vars` make under this template, hashed (struct hash and order id exactly as
    /// [`sign`](Self::sign) computes them) but **not signed**: its signature field holds
    /// `r = order id`, `s` = [`warm_online_arithmetic`] of it, which recovers to no key of
    /// ours, so the venue would refuse it. For keeping the order path's code and data in cache
    /// between rare orders (hashing, body rendering); never sent.
    ///
    /// [`warm_online_arithmetic`]: super::nonce_pool::warm_online_arithmetic
    #[inline]
    pub fn hashed_unsigned(&self, vars: OrderVariables, expiration: u64) -> SignedOrder {
        let struct_hash = self.hasher.struct_hash(&vars);
        let order_id = self.hasher.digest_from_struct_hash(&struct_hash);
        let not_a_signature = Signature65 {
            r: order_id,
            s: super::nonce_pool::warm_online_arithmetic(
                &self.signing_digest(&struct_hash, &order_id),
            ),
            v: 27,
        };
        self.finish(vars, expiration, struct_hash, order_id, &not_a_signature)
    }

    /// Sign with a pooled nonce (fallback to deterministic when the pool is empty).
    #[inline]
    pub fn sign_pooled(
        &self,
        signer: &EoaSigner,
        pool: &mut NonceConsumer,
        vars: OrderVariables,
        expiration: u64,
    ) -> Result<(SignedOrder, SignPath), SigningError> {
        let struct_hash = self.hasher.struct_hash(&vars);
        self.sign_pooled_inner(signer, pool, vars, expiration, struct_hash)
    }

    /// As [`sign_pooled`](Self::sign_pooled) with the first hash block pre-absorbed for the
    /// salt in `prefix` (`vars.salt` must equal `prefix.salt()`).
    #[inline]
    pub fn sign_pooled_with_prefix(
        &self,
        signer: &EoaSigner,
        pool: &mut NonceConsumer,
        prefix: &SaltPrefix,
        vars: OrderVariables,
        expiration: u64,
    ) -> Result<(SignedOrder, SignPath), SigningError> {
        if prefix.salt() != vars.salt {
            return Err(SigningError::SaltPrefixMismatch);
        }
        let struct_hash = self.hasher.struct_hash_from_prefix(prefix, &vars);
        self.sign_pooled_inner(signer, pool, vars, expiration, struct_hash)
    }

    #[inline]
    fn sign_pooled_inner(
        &self,
        signer: &EoaSigner,
        pool: &mut NonceConsumer,
        vars: OrderVariables,
        expiration: u64,
        struct_hash: [u8; 32],
    ) -> Result<(SignedOrder, SignPath), SigningError> {
        self.check_signer(signer)?;
        let order_id = self.hasher.digest_from_struct_hash(&struct_hash);
        let (sig, path) = pool.sign(signer, &self.signing_digest(&struct_hash, &order_id))?;
        Ok((
            self.finish(vars, expiration, struct_hash, order_id, &sig),
            path,
        ))
    }

    #[inline]
    fn check_signer(&self, signer: &EoaSigner) -> Result<(), SigningError> {
        let expected_eoa = match self.signature_type {
            SignatureType::Poly1271 => None, // signer field is the wallet; any owner EOA signs
            _ => Some(self.signer),
        };
        match expected_eoa {
            Some(a) if a != signer.address() => Err(SigningError::SignerMismatch),
            _ => Ok(()),
        }
    }
}

/// A signed order: variable fields, hashes and signature.
#[derive(Clone, Copy, Debug)]
pub struct SignedOrder {
    /// Salt, amounts, side, timestamp.
    pub vars: OrderVariables,
    /// Unix seconds (0 = none); JSON only, not signed.
    pub expiration: u64,
    /// `hashStruct(Order)`.
    pub struct_hash: [u8; 32],
    /// EIP-712 digest = CLOB order id.
    pub order_id: [u8; 32],
    /// The signature.
    pub signature: OrderSignature,
}

impl SignedOrder {
    /// Side.
    pub fn side(&self) -> Side {
        if self.vars.side == 0 {
            Side::Buy
        } else {
            Side::Sell
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_id_parses_u256() {
        let t = TokenId::parse(
            "71321045679252212594626385532706912750332728571942532289631379312455583992563",
        )
        .unwrap();
        assert_eq!(t.text().len(), 77);
        assert_eq!(TokenId::parse("0001").unwrap().text(), b"1");
        assert_eq!(TokenId::parse("255").unwrap().word()[31], 255);
        assert_eq!(TokenId::parse("256").unwrap().word()[30], 1);
        // 2^256 overflows, 2^256 - 1 does not.
        let max = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
        assert_eq!(TokenId::parse(max).unwrap().word(), &[0xff; 32]);
        let over = "115792089237316195423570985008687907853269984665640564039457584007913129639936";
        assert_eq!(TokenId::parse(over), Err(SigningError::TokenId));
        assert_eq!(TokenId::parse("12a"), Err(SigningError::TokenId));
        assert_eq!(TokenId::parse(""), Err(SigningError::TokenId));
    }

    #[test]
    fn hashed_unsigned_hashes_like_sign_and_carries_no_valid_signature() {
        let signer = EoaSigner::from_bytes(&[7u8; 32]).unwrap();
        for signature_type in [SignatureType::Eoa, SignatureType::Poly1271] {
            let funder = (signature_type == SignatureType::Poly1271).then_some(Address([9u8; 20]));
            let template = OrderTemplate::new(
                Exchange::Standard,
                super::super::eip712::CHAIN_ID,
                signer.address(),
                funder,
                signature_type,
                TokenId::parse("123456789").unwrap(),
                [0u8; 32],
                [0u8; 32],
            )
            .unwrap();
            let vars = OrderVariables {
                salt: 42,
                maker_amount: 5_000_000,
                taker_amount: 10_000_000,
                side: 0,
                timestamp_ms: 1_700_000_000_000,
            };
            let signed = template.sign(&signer, vars, 0).unwrap();
            let warm = template.hashed_unsigned(vars, 0);
            assert_eq!(warm.struct_hash, signed.struct_hash);
            assert_eq!(warm.order_id, signed.order_id);
            assert_eq!(
                warm.signature.as_bytes().len(),
                signed.signature.as_bytes().len()
            );
            assert_ne!(warm.signature.as_bytes(), signed.signature.as_bytes());
            // Whatever its 65-byte part recovers to (if anything), it is not our key.
            let digest = template.signing_digest(&warm.struct_hash, &warm.order_id);
            let inner = warm.signature.inner().unwrap();
            let recovered = super::super::signer::recover_address(&digest, &inner);
            assert!(recovered.map_or(true, |a| a != signer.address()));
        }
    }
}
