//! Fast-path signing with precomputed nonces: every signature recovers to the signer (thousands
//! of random orders, all signature types), nonces are never reused, an empty pool is counted and
//! falls back to RFC 6979, a concurrent refiller works, and the hot path allocates nothing.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sattebaaz::exec::signing::address::Address;
use sattebaaz::exec::signing::body::{write_order_body, BodyBuf, BodyKeyOrder, PostOptions};
use sattebaaz::exec::signing::eip712::{Exchange, OrderVariables, CHAIN_ID};
use sattebaaz::exec::signing::hmac::L2Credentials;
use sattebaaz::exec::signing::nonce_pool::{
    nonce_pool, sign_with_nonce, PrecomputedNonce, SignPath,
};
use sattebaaz::exec::signing::order::{OrderTemplate, OrderType, SignatureType, TokenId};
use sattebaaz::exec::signing::signer::{recover_address, EoaSigner};
use sattebaaz::telemetry::alloc_count::{count_allocations, CountingAlloc};
use std::collections::HashSet;

#[global_allocator]
static A: CountingAlloc = CountingAlloc;

fn random_signer(rng: &mut StdRng) -> EoaSigner {
    loop {
        let mut k = [0u8; 32];
        rng.fill(&mut k);
        if let Ok(s) = EoaSigner::from_bytes(&k) {
            return s;
        }
    }
}

fn random_template(rng: &mut StdRng, signer: &EoaSigner) -> OrderTemplate {
    let sig_type = SignatureType::from_u8(rng.random_range(0..4)).unwrap();
    let mut funder = [0u8; 20];
    rng.fill(&mut funder);
    let exchange = [Exchange::Standard, Exchange::NegRisk, Exchange::V3][rng.random_range(0..3)];
    let token: u128 = rng.random();
    let mut metadata = [0u8; 32];
    let mut builder = [0u8; 32];
    if rng.random_bool(0.3) {
        rng.fill(&mut metadata);
    }
    if rng.random_bool(0.3) {
        rng.fill(&mut builder);
    }
    OrderTemplate::new(
        exchange,
        CHAIN_ID,
        signer.address(),
        Some(Address(funder)),
        sig_type,
        TokenId::parse(&token.to_string()).unwrap(),
        metadata,
        builder,
    )
    .unwrap()
}

fn random_vars(rng: &mut StdRng) -> OrderVariables {
    OrderVariables {
        salt: rng.random_range(0..(1u64 << 53)),
        maker_amount: rng.random_range(1..10_000_000_000),
        taker_amount: rng.random_range(1..10_000_000_000),
        side: rng.random_range(0..2),
        timestamp_ms: 1_767_225_600_000 + rng.random_range(0..10_000_000_000),
    }
}

#[test]
fn thousands_of_pooled_signatures_recover_to_the_signer() {
    let mut rng = StdRng::seed_from_u64(0x5a77_e8aa);
    let (mut producer, mut consumer) = nonce_pool(256);
    let mut seen_r = HashSet::new();
    let mut high_s_flips = 0u32;
    let signers: Vec<EoaSigner> = (0..4).map(|_| random_signer(&mut rng)).collect();
    for i in 0..3000 {
        if consumer.available() == 0 {
            producer.refill();
        }
        let signer = &signers[i % signers.len()];
        let template = random_template(&mut rng, signer);
        let vars = random_vars(&mut rng);
        let (signed, path) = template
            .sign_pooled(signer, &mut consumer, vars, 0)
            .unwrap();
        assert_eq!(path, SignPath::Pooled);
        let inner = signed.signature.inner().unwrap();
        assert!(inner.v == 27 || inner.v == 28);
        // low-s: s < n/2 (top byte below 0x80 is necessary; k256 parsing below enforces validity)
        assert!(inner.s[0] < 0x80);
        high_s_flips += u32::from(inner.v == 28);
        let digest = if template.signature_type() == SignatureType::Poly1271 {
            template
                .hasher()
                .typed_data_sign_digest(&signed.struct_hash)
        } else {
            signed.order_id
        };
        assert_eq!(
            recover_address(&digest, &inner).unwrap(),
            signer.address(),
            "order {i}"
        );
        assert!(seen_r.insert(inner.r), "nonce r reused at order {i}");
    }
    assert_eq!(consumer.empty_count(), 0);
    // Both recovery parities occur (sanity that the parity/low-s logic is exercised).
    assert!(high_s_flips > 1000 && high_s_flips < 2000, "{high_s_flips}");
}

#[test]
fn nonces_are_taken_once_and_empty_pool_falls_back_counted() {
    let mut rng = StdRng::seed_from_u64(7);
    let signer = random_signer(&mut rng);
    let (mut producer, mut consumer) = nonce_pool(8);
    assert_eq!(producer.capacity(), 8);
    assert_eq!(producer.refill(), 8);
    assert_eq!(producer.refill(), 0, "full pool takes nothing");
    let mut rs = HashSet::new();
    for _ in 0..8 {
        let n = consumer.take().expect("pool has nonces");
        assert!(rs.insert(n.r_bytes()));
        let digest: [u8; 32] = rng.random();
        let sig = sign_with_nonce(&signer, &digest, n).unwrap(); // `n` is moved: cannot be reused
        assert_eq!(recover_address(&digest, &sig).unwrap(), signer.address());
    }
    assert!(
        consumer.take().is_none(),
        "every nonce was handed out exactly once"
    );
    assert_eq!(consumer.empty_count(), 0, "take() alone does not count");

    let digest = [0x11u8; 32];
    let (sig, path) = consumer.sign(&signer, &digest).unwrap();
    assert_eq!(path, SignPath::DeterministicFallback);
    assert_eq!(
        sig,
        signer.sign_digest(&digest).unwrap(),
        "fallback is RFC 6979"
    );
    let _ = consumer.sign(&signer, &digest).unwrap();
    assert_eq!(consumer.empty_count(), 2);
    assert_eq!(
        producer
            .stats()
            .produced
            .load(std::sync::atomic::Ordering::Relaxed),
        8
    );

    producer.refill();
    let (_, path) = consumer.sign(&signer, &digest).unwrap();
    assert_eq!(path, SignPath::Pooled);
    assert_eq!(consumer.empty_count(), 2);
}

#[test]
fn concurrent_refill_thread() {
    let mut rng = StdRng::seed_from_u64(99);
    let signer = random_signer(&mut rng);
    let (mut producer, mut consumer) = nonce_pool(32);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let refiller = std::thread::spawn(move || {
        let mut rng = StdRng::seed_from_u64(12345);
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            if producer.refill_with(&mut rng) == 0 {
                std::thread::yield_now();
            }
        }
        producer
    });
    let mut rs = HashSet::new();
    let mut pooled = 0;
    for i in 0..2000u32 {
        let mut digest = [0u8; 32];
        digest[..4].copy_from_slice(&i.to_be_bytes());
        let (sig, path) = consumer.sign(&signer, &digest).unwrap();
        assert_eq!(recover_address(&digest, &sig).unwrap(), signer.address());
        if path == SignPath::Pooled {
            pooled += 1;
            assert!(rs.insert(sig.r), "reused nonce");
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let producer = refiller.join().unwrap();
    assert!(pooled > 0);
    assert_eq!(pooled + consumer.empty_count() as usize, 2000);
    drop(producer);
}

#[test]
fn generated_nonces_are_distinct() {
    let mut rng = StdRng::seed_from_u64(1);
    let rs: HashSet<[u8; 32]> = (0..200)
        .map(|_| PrecomputedNonce::generate(&mut rng).r_bytes())
        .collect();
    assert_eq!(rs.len(), 200);
}

#[test]
fn hot_path_allocates_nothing() {
    let mut rng = StdRng::seed_from_u64(3);
    let signer = random_signer(&mut rng);
    let template = random_template(&mut rng, &signer);
    let creds = L2Credentials::new(
        signer.address(),
        "00000000-1111-2222-3333-444444444444",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        "pass",
    )
    .unwrap();
    let (mut producer, mut consumer) = nonce_pool(16);
    producer.refill();
    let mut buf = BodyBuf::for_single_order();
    let opts = PostOptions {
        owner: creds.api_key(),
        order_type: OrderType::Gtc,
        post_only: false,
        defer_exec: false,
    };
    let vars = random_vars(&mut rng);
    let (allocs, sig) = count_allocations(|| {
        let (signed, path) = template
            .sign_pooled(&signer, &mut consumer, vars, 0)
            .unwrap();
        write_order_body(
            &mut buf,
            &template,
            &signed,
            &opts,
            BodyKeyOrder::PyClobClientV2,
        )
        .unwrap();
        let h = creds.headers(1_767_225_600, "POST", "/order", buf.as_bytes());
        (path, h.signature)
    });
    assert_eq!(sig.0, SignPath::Pooled);
    assert_eq!(allocs, 0, "hot path allocated");
    let body: serde_json::Value = serde_json::from_slice(buf.as_bytes()).unwrap();
    assert_eq!(body["orderType"], "GTC");
}
