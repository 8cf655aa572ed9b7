//! SPSC queue benchmarks between two threads pinned to CPUs 0 and 1.
//!
//! * `spsc/one_way_hop`: ping-pong over two queues; criterion's time per iteration is the round
//!   trip divided by 2, i.e. one hop.
//! * `spsc/throughput/*`: a producer streams `u64`s as fast as the ring accepts them (retrying on
//!   full), the consumer pops singly or in batches of 256.
//! * `spsc/atomic_floor_hop`: the same ping-pong with no queue at all: two cache-line-aligned
//!   `AtomicU64`s, one written by each side and spun on by the other, so each hop moves one
//!   line from one CPU to the other. This is the hardware's cost of a hop between these two
//!   CPUs, which no queue can beat.
//! * After criterion, 1,000,000 individually timed round trips are recorded (RTT / 2) into the
//!   `SpscHop` latency histogram and its p50/p90/p99/p99.9/max printed, together with the cost of
//!   the clock reads included in each sample.
//!
//! Run: `cargo bench --bench spsc`. Pinning outcomes are printed on stderr; on a shared machine
//! both CPUs also run other work, so the tail is noisy.

use std::hint::{black_box, spin_loop};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, Throughput};
use sattebaaz::queue::spsc::{channel, Consumer, Producer};
use sattebaaz::runtime::pin::pin_current_thread;
use sattebaaz::telemetry::latency::{Stage, StageHistograms};

const MAIN_CPU: usize = 0;
const PEER_CPU: usize = 1;
const STREAM_CAPACITY: usize = 4096;

fn pin(role: &str, cpu: usize) {
    eprintln!("[bench spsc] {role}: {}", pin_current_thread(cpu));
}

/// A thread on `PEER_CPU` that sends every value it receives straight back.
struct Echo {
    stop: Arc<AtomicBool>,
    handle: Option<thread::JoinHandle<()>>,
}

impl Echo {
    fn start(mut inbound: Consumer<u64>, mut outbound: Producer<u64>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stop_seen = Arc::clone(&stop);
        let handle = thread::spawn(move || {
            pin("echo thread", PEER_CPU);
            while !stop_seen.load(Ordering::Relaxed) {
                match inbound.try_pop() {
                    Some(value) => {
                        let mut value = value;
                        while let Err(back) = outbound.push(value) {
                            value = back;
                            spin_loop();
                        }
                    }
                    None => spin_loop(),
                }
            }
        });
        Self {
            stop,
            handle: Some(handle),
        }
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

/// One round trip: send `value`, spin until it comes back.
#[inline(always)]
fn round_trip(ping: &mut Producer<u64>, pong: &mut Consumer<u64>, value: u64) {
    if ping.push(value).is_err() {
        unreachable!("ping queue holds at most one value");
    }
    loop {
        if let Some(echoed) = pong.try_pop() {
            debug_assert_eq!(echoed, value);
            black_box(echoed);
            return;
        }
        spin_loop();
    }
}

fn hop_latency(c: &mut Criterion) {
    let (mut ping, ping_rx) = channel::<u64>(64).expect("capacity");
    let (pong_tx, mut pong) = channel::<u64>(64).expect("capacity");
    let echo = Echo::start(ping_rx, pong_tx);
    let mut group = c.benchmark_group("spsc");
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("one_way_hop", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for i in 0..iters {
                round_trip(&mut ping, &mut pong, i);
            }
            start.elapsed() / 2
        })
    });
    group.finish();
    drop(echo);
}

/// One cache line holding one counter.
#[repr(align(128))]
struct Line(std::sync::atomic::AtomicU64);

/// `spsc/atomic_floor_hop` (see the module docs).
fn atomic_floor(c: &mut Criterion) {
    let lines = Arc::new([Line(Default::default()), Line(Default::default())]);
    let stop = Arc::new(AtomicBool::new(false));
    let (peer_lines, peer_stop) = (Arc::clone(&lines), Arc::clone(&stop));
    let peer = thread::spawn(move || {
        let _ = pin_current_thread(PEER_CPU);
        // Answer every ping (line 0) by writing the same value to line 1.
        let mut seen = 0u64;
        while !peer_stop.load(Ordering::Relaxed) {
            let v = peer_lines[0].0.load(Ordering::Acquire);
            if v != seen {
                seen = v;
                peer_lines[1].0.store(v, Ordering::Release);
            } else {
                spin_loop();
            }
        }
    });
    let mut group = c.benchmark_group("spsc");
    group.measurement_time(Duration::from_secs(5));
    let mut next = 0u64;
    group.bench_function("atomic_floor_hop", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                next += 1;
                lines[0].0.store(next, Ordering::Release);
                while lines[1].0.load(Ordering::Acquire) != next {
                    spin_loop();
                }
            }
            start.elapsed() / 2
        })
    });
    group.finish();
    stop.store(true, Ordering::Relaxed);
    let _ = peer.join();
}

fn stream(iters: u64, batch_pop: bool) -> Duration {
    const PER_ITER: u64 = 10_000;
    let total = iters * PER_ITER;
    let (mut tx, mut rx) = channel::<u64>(STREAM_CAPACITY).expect("capacity");
    let ready = Arc::new(Barrier::new(2));
    let producer_ready = Arc::clone(&ready);
    let producer = thread::spawn(move || {
        // Same CPU as the echo thread, whose start-up already printed the pin outcome.
        let _ = pin_current_thread(PEER_CPU);
        producer_ready.wait();
        for i in 0..total {
            let mut value = i;
            while let Err(back) = tx.push(value) {
                value = back;
                spin_loop();
            }
        }
    });
    ready.wait();
    let start = Instant::now();
    let mut received = 0u64;
    let mut checksum = 0u64;
    let mut batch = [0u64; 256];
    while received < total {
        if batch_pop {
            let n = rx.pop_into(&mut batch);
            for &v in &batch[..n] {
                checksum = checksum.wrapping_add(v);
            }
            received += n as u64;
            if n == 0 {
                spin_loop();
            }
        } else if let Some(v) = rx.try_pop() {
            checksum = checksum.wrapping_add(v);
            received += 1;
        } else {
            spin_loop();
        }
    }
    let elapsed = start.elapsed();
    black_box(checksum);
    let _ = producer.join();
    elapsed
}

fn throughput(c: &mut Criterion) {
    let mut group = c.benchmark_group("spsc/throughput");
    group.throughput(Throughput::Elements(10_000));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));
    group.bench_function("pop_into_256", |b| {
        b.iter_custom(|iters| stream(iters, true))
    });
    group.bench_function("try_pop", |b| b.iter_custom(|iters| stream(iters, false)));
    group.finish();
}

/// Individually timed round trips into the `SpscHop` histogram, printed as percentiles.
fn hop_percentiles() {
    const SAMPLES: u64 = 1_000_000;
    let (mut ping, ping_rx) = channel::<u64>(64).expect("capacity");
    let (pong_tx, mut pong) = channel::<u64>(64).expect("capacity");
    let echo = Echo::start(ping_rx, pong_tx);
    // Warm up caches and the echo thread.
    for i in 0..100_000 {
        round_trip(&mut ping, &mut pong, i);
    }
    let mut clock_cost = StageHistograms::new();
    for _ in 0..SAMPLES {
        let t0 = Instant::now();
        let t1 = Instant::now();
        clock_cost.record(Stage::SpscHop, (t1 - t0).as_nanos() as u64);
    }
    let mut hops = StageHistograms::new();
    for i in 0..SAMPLES {
        let t0 = Instant::now();
        round_trip(&mut ping, &mut pong, i);
        let rtt = t0.elapsed().as_nanos() as u64;
        hops.record(Stage::SpscHop, rtt / 2);
    }
    drop(echo);
    let h = hops.histogram(Stage::SpscHop);
    let clock = clock_cost.histogram(Stage::SpscHop);
    println!(
        "spsc one-way hop (RTT/2, {SAMPLES} samples, ns): p50 {} p90 {} p99 {} p99.9 {} max {} \
         | clock-read pair (inside each RTT) p50 {} ns",
        h.value_at_quantile(0.5),
        h.value_at_quantile(0.9),
        h.value_at_quantile(0.99),
        h.value_at_quantile(0.999),
        h.max(),
        clock.value_at_quantile(0.5),
    );
}

criterion_group!(benches, hop_latency, atomic_floor, throughput);

fn main() {
    pin("bench main thread", MAIN_CPU);
    benches();
    // Only a real `cargo bench` run (criterion's own rule: `--bench` without `--test`/`--list`)
    // does the million-sample percentile pass; `cargo test --benches` skips it.
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    if has("--bench") && !has("--test") && !has("--list") {
        hop_percentiles();
    }
    Criterion::default().configure_from_args().final_summary();
}
