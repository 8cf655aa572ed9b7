//! Signing hot-path benchmarks: EIP-712 digest (plain and with a pre-absorbed salt prefix),
//! deterministic RFC 6979 signing, the pooled-nonce online step, body + L2 HMAC, and the whole
//! decision → body + headers path. After criterion, a per-call hdrhistogram run prints
//! p50/p99/p99.9 for the online step and the whole path (criterion reports means only).
//!
//! Run: `CARGO_TARGET_DIR=… cargo bench --bench signing`

use criterion::{criterion_group, Criterion};
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::SeedableRng;
use sattebaaz::clock::mono_ns;
use sattebaaz::exec::signing::address::Address;
use sattebaaz::exec::signing::body::{write_order_body, BodyBuf, BodyKeyOrder, PostOptions};
use sattebaaz::exec::signing::eip712::{Exchange, OrderVariables, CHAIN_ID};
use sattebaaz::exec::signing::hmac::L2Credentials;
use sattebaaz::exec::signing::nonce_pool::{nonce_pool, sign_with_nonce, PrecomputedNonce};
use sattebaaz::exec::signing::order::{OrderTemplate, OrderType, SignatureType, TokenId};
use sattebaaz::exec::signing::signer::EoaSigner;
use std::hint::black_box;
use std::time::{Duration, Instant};

const KEY: [u8; 32] = [
    0x4c, 0x08, 0x83, 0xa6, 0x91, 0x02, 0x93, 0x7d, 0x62, 0x31, 0x47, 0x1b, 0x5d, 0xbb, 0x62, 0x04,
    0xfe, 0x51, 0x29, 0x61, 0x70, 0x82, 0x79, 0x2a, 0xe4, 0x68, 0xd0, 0x1a, 0x3f, 0x36, 0x23, 0x18,
];
const TOKEN: &str = "71321045679252212594626385532706912750332728571942532289631379312455583992563";
const SECRET: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

struct Fixture {
    signer: EoaSigner,
    template: OrderTemplate,
    creds: L2Credentials,
    vars: OrderVariables,
}

fn fixture() -> Fixture {
    let signer = EoaSigner::from_bytes(&KEY).unwrap();
    let template = OrderTemplate::new(
        Exchange::Standard,
        CHAIN_ID,
        signer.address(),
        Some(Address::parse("0x96a9892De6A11FE0B18Cf63373B9763055EcA8a6").unwrap()),
        SignatureType::PolyProxy,
        TokenId::parse(TOKEN).unwrap(),
        [0; 32],
        [0xab; 32],
    )
    .unwrap();
    let creds = L2Credentials::new(
        signer.address(),
        "00000000-1111-2222-3333-444444444444",
        SECRET,
        "passphrase",
    )
    .unwrap();
    let vars = OrderVariables {
        salt: 161_803_398,
        maker_amount: 17_500_000,
        taker_amount: 50_000_000,
        side: 0,
        timestamp_ms: 1_767_225_600_123,
    };
    Fixture {
        signer,
        template,
        creds,
        vars,
    }
}

fn opts(f: &Fixture) -> PostOptions<'_> {
    PostOptions {
        owner: f.creds.api_key(),
        order_type: OrderType::Gtc,
        post_only: false,
        defer_exec: false,
    }
}

fn bench(c: &mut Criterion) {
    let f = fixture();
    // Instruction counting (`valgrind --tool=callgrind`): with BENCH_COUNT_ITERS=N set, run the
    // path named by BENCH_COUNT_PATH (`digest` or `hmac`) N times without criterion and exit;
    // Ir(N) − Ir(0), divided by N, is the exact instruction count per call.
    if let Some(n) = std::env::var("BENCH_COUNT_ITERS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        let signed = f.template.sign(&f.signer, f.vars, 0).unwrap();
        let mut buf = BodyBuf::for_single_order();
        write_order_body(
            &mut buf,
            &f.template,
            &signed,
            &opts(&f),
            BodyKeyOrder::PyClobClientV2,
        )
        .unwrap();
        let hmac = std::env::var("BENCH_COUNT_PATH").as_deref() == Ok("hmac");
        let mut v = f.vars;
        for _ in 0..n {
            if hmac {
                black_box(
                    f.creds
                        .sign(1_767_225_600, "POST", "/order", black_box(buf.as_bytes())),
                );
            } else {
                v.timestamp_ms += 1;
                black_box(f.template.hasher().digest(black_box(&v)));
            }
        }
        std::process::exit(0);
    }
    let mut g = c.benchmark_group("signing");
    g.bench_function("digest", |b| {
        let mut v = f.vars;
        b.iter(|| {
            v.timestamp_ms += 1;
            black_box(f.template.hasher().digest(black_box(&v)))
        })
    });
    g.bench_function("digest_generic_sha3_baseline", |b| {
        // The straightforward way: ABI-encode 12 words, sha3::Keccak256 twice.
        use sha3::{Digest, Keccak256};
        let ds = *f.template.hasher().domain_separator();
        let maker = f.template.maker().word();
        let signer = f.template.signer().word();
        let token = *f.template.token_id().word();
        let mut v = f.vars;
        b.iter(|| {
            v.timestamp_ms += 1;
            let w = |x: u64| {
                let mut a = [0u8; 32];
                a[24..].copy_from_slice(&x.to_be_bytes());
                a
            };
            let mut h = Keccak256::new();
            h.update(sattebaaz::exec::signing::eip712::ORDER_TYPEHASH);
            h.update(w(v.salt));
            h.update(maker);
            h.update(signer);
            h.update(token);
            h.update(w(v.maker_amount));
            h.update(w(v.taker_amount));
            h.update(w(u64::from(v.side)));
            h.update(w(1));
            h.update(w(v.timestamp_ms));
            h.update([0u8; 32]);
            h.update([0xabu8; 32]);
            let sh = h.finalize();
            let mut o = Keccak256::new();
            o.update([0x19u8, 0x01]);
            o.update(ds);
            o.update(sh);
            black_box(o.finalize())
        })
    });
    g.bench_function("digest_with_salt_prefix", |b| {
        let prefix = f.template.hasher().absorb_salt(f.vars.salt);
        let mut v = f.vars;
        b.iter(|| {
            v.timestamp_ms += 1;
            let sh = f
                .template
                .hasher()
                .struct_hash_from_prefix(&prefix, black_box(&v));
            black_box(f.template.hasher().digest_from_struct_hash(&sh))
        })
    });
    g.bench_function("sign_deterministic_rfc6979", |b| {
        let digest = f.template.hasher().digest(&f.vars);
        b.iter(|| black_box(f.signer.sign_digest(black_box(&digest)).unwrap()))
    });
    g.bench_function("body_plus_l2_hmac", |b| {
        let signed = f.template.sign(&f.signer, f.vars, 0).unwrap();
        let mut buf = BodyBuf::for_single_order();
        let o = opts(&f);
        b.iter(|| {
            write_order_body(
                &mut buf,
                &f.template,
                &signed,
                &o,
                BodyKeyOrder::PyClobClientV2,
            )
            .unwrap();
            black_box(
                f.creds
                    .sign(1_767_225_600, "POST", "/order", buf.as_bytes()),
            )
        })
    });
    g.bench_function("l2_hmac_only", |b| {
        let signed = f.template.sign(&f.signer, f.vars, 0).unwrap();
        let mut buf = BodyBuf::for_single_order();
        write_order_body(
            &mut buf,
            &f.template,
            &signed,
            &opts(&f),
            BodyKeyOrder::PyClobClientV2,
        )
        .unwrap();
        b.iter(|| {
            black_box(
                f.creds
                    .sign(1_767_225_600, "POST", "/order", black_box(buf.as_bytes())),
            )
        })
    });
    g.finish();

    // The online step consumes a nonce per call; nonce generation (~tens of µs) is excluded
    // from the timing, so keep the measured time short.
    let mut g = c.benchmark_group("signing_pooled");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(20))
        .measurement_time(Duration::from_millis(30));
    g.bench_function("online_sign_with_nonce", |b| {
        let mut rng = StdRng::seed_from_u64(1);
        let digest = f.template.hasher().digest(&f.vars);
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(512);
                let nonces: Vec<PrecomputedNonce> = (0..n)
                    .map(|_| PrecomputedNonce::generate(&mut rng))
                    .collect();
                let t = Instant::now();
                for nonce in nonces {
                    black_box(sign_with_nonce(&f.signer, black_box(&digest), nonce));
                }
                total += t.elapsed();
                left -= n;
            }
            total
        })
    });
    g.finish();
}

fn report(name: &str, h: &Histogram<u64>) {
    println!(
        "{name:<44} n={:<6} p50={:>6} ns  p99={:>6} ns  p99.9={:>6} ns  max={:>7} ns",
        h.len(),
        h.value_at_quantile(0.50),
        h.value_at_quantile(0.99),
        h.value_at_quantile(0.999),
        h.max()
    );
}

/// Per-call latency distribution (includes ~20–40 ns of clock overhead per sample).
fn percentiles() {
    sattebaaz::clock::init();
    let f = fixture();
    const N: usize = 20_000;
    let (mut producer, mut consumer) = nonce_pool(N);
    producer.refill();
    let mut online = Histogram::<u64>::new_with_bounds(1, 10_000_000, 3).unwrap();
    let mut whole = Histogram::<u64>::new_with_bounds(1, 10_000_000, 3).unwrap();
    let mut digest_h = Histogram::<u64>::new_with_bounds(1, 10_000_000, 3).unwrap();
    let mut buf = BodyBuf::for_single_order();
    let o = opts(&f);
    let mut v = f.vars;
    for i in 0..N {
        v.timestamp_ms += 1;
        if i % 2 == 0 {
            let t0 = mono_ns();
            let d = f.template.hasher().digest(black_box(&v));
            let t1 = mono_ns();
            black_box(d);
            digest_h.record((t1 - t0).max(1)).unwrap();
            let nonce = consumer.take().unwrap();
            let t0 = mono_ns();
            let s = sign_with_nonce(&f.signer, &d, nonce);
            let t1 = mono_ns();
            black_box(s);
            online.record((t1 - t0).max(1)).unwrap();
        } else {
            let t0 = mono_ns();
            let (signed, _) = f
                .template
                .sign_pooled(&f.signer, &mut consumer, v, 0)
                .unwrap();
            write_order_body(
                &mut buf,
                &f.template,
                &signed,
                &o,
                BodyKeyOrder::PyClobClientV2,
            )
            .unwrap();
            let h = f
                .creds
                .headers(1_767_225_600, "POST", "/order", buf.as_bytes());
            let t1 = mono_ns();
            black_box(h.signature);
            whole.record((t1 - t0).max(1)).unwrap();
        }
    }
    println!(
        "\nper-call latency (hdrhistogram, mono_ns), body {} bytes:",
        buf.len()
    );
    report("digest (pre-laid-out)", &digest_h);
    report("online sign (pooled nonce)", &online);
    report("digest + pooled sign + body + L2 headers", &whole);
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    percentiles();
}
