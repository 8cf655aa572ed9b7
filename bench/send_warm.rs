//! One order-sized `write` on a loopback TCP socket after a long stretch of busy polling, with
//! and without the hot thread's send-path warmer (`net::warm::SendPathWarmer`).
//!
//! The writer (CPU 1 when there are two) spins on `mio::Poll::poll` with a zero timeout over an
//! idle socket for `--idle-ms` (default 100 ms: orders are rare next to polls), then writes 1,400
//! bytes to a connection whose far end is a thread blocked in `poll` on CPU 0, as the simulated
//! CLOB's is; the time of that `write` call is one sample. With the warmer, the spin also calls
//! `SendPathWarmer::tick` every `--warm-us` (default 1000, the shipped `poll.warm_send_interval_us`). Both runs print p50/p90/p99/max.
//!
//! `cargo bench --bench send_warm -- [--samples N] [--idle-ms M] [--warm-us W]`; under `cargo test --benches`
//! (no `--bench` argument) a few short samples only.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use mio::{Events, Interest, Poll, Token};
use sattebaaz::clock::mono_ns;
use sattebaaz::net::warm::SendPathWarmer;

const ORDER_BYTES: usize = 1_400;

fn pin(cpu: usize) {
    let ids = core_affinity::get_core_ids().unwrap_or_default();
    if ids.len() >= 2 {
        if let Some(id) = ids.into_iter().find(|c| c.id == cpu) {
            let _ = core_affinity::set_for_current(id);
        }
    }
}

/// Samples of one order write after `idle_ns` of busy polling each.
fn run(samples: usize, idle_ns: u64, warm_ns: Option<u64>) -> Histogram<u64> {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut order_conn = TcpStream::connect(listener.local_addr().unwrap()).expect("connect");
    order_conn.set_nodelay(true).unwrap();
    let (venue, _) = listener.accept().expect("accept");
    let stop = Arc::new(AtomicBool::new(false));
    let stop_venue = stop.clone();
    // The venue end: blocked in poll until the order arrives, then reads it (the simulated
    // CLOB's thread does the same).
    let venue_thread = std::thread::spawn(move || {
        pin(0);
        let mut venue = mio::net::TcpStream::from_std(venue);
        venue.set_nodelay(true).ok();
        let mut poll = Poll::new().expect("poll");
        poll.registry()
            .register(&mut venue, Token(0), Interest::READABLE)
            .expect("register");
        let mut events = Events::with_capacity(8);
        let mut buf = vec![0u8; 1 << 16];
        while !stop_venue.load(Ordering::Relaxed) {
            let _ = poll.poll(&mut events, Some(Duration::from_millis(50)));
            while let Ok(n) = venue.read(&mut buf) {
                if n == 0 {
                    return;
                }
            }
        }
    });
    pin(1);
    // What the hot loop spins on between orders: an idle socket.
    let idle_l = TcpListener::bind("127.0.0.1:0").unwrap();
    let idle_c = TcpStream::connect(idle_l.local_addr().unwrap()).unwrap();
    let (idle_s, _) = idle_l.accept().unwrap();
    idle_s.set_nonblocking(true).unwrap();
    let mut idle = mio::net::TcpStream::from_std(idle_s);
    let mut poll = Poll::new().expect("poll");
    poll.registry()
        .register(&mut idle, Token(1), Interest::READABLE)
        .unwrap();
    let mut events = Events::with_capacity(64);
    let mut warmer = warm_ns.map(|ns| SendPathWarmer::new(ns).expect("loopback pair"));
    let order = [b'o'; ORDER_BYTES];
    let mut hist = Histogram::<u64>::new_with_bounds(1, 1_000_000_000, 3).unwrap();
    for _ in 0..samples {
        let until = mono_ns() + idle_ns;
        loop {
            let now = mono_ns();
            if now >= until {
                break;
            }
            let _ = poll.poll(&mut events, Some(Duration::ZERO));
            if let Some(w) = warmer.as_mut() {
                w.tick(now);
            }
            std::hint::spin_loop();
        }
        let t0 = mono_ns();
        order_conn.write_all(&order).expect("order write");
        let _ = hist.record((mono_ns() - t0).max(1));
    }
    if let Some(w) = &warmer {
        assert!(!w.failed && w.writes > 0, "the warmer ran");
    }
    stop.store(true, Ordering::Relaxed);
    drop(order_conn);
    drop(idle_c);
    let _ = venue_thread.join();
    hist
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    let full = argv.iter().any(|a| a == "--bench");
    let value = |k: &str| {
        argv.iter()
            .position(|a| a == k)
            .and_then(|i| argv.get(i + 1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    let samples = value("--samples").unwrap_or(if full { 200 } else { 5 }) as usize;
    let idle_ms = value("--idle-ms").unwrap_or(if full { 100 } else { 5 });
    println!(
        "send_warm: {samples} order writes ({ORDER_BYTES} B, loopback, venue thread blocked in poll) \
         after {idle_ms} ms of busy polling each"
    );
    println!("| send path | p50 | p90 | p99 | max |\n|---|---|---|---|---|");
    let warm_us = value("--warm-us").unwrap_or(1_000);
    for warm in [None, Some(warm_us * 1_000)] {
        let h = run(samples, idle_ms * 1_000_000, warm);
        let us = |q: f64| h.value_at_quantile(q) as f64 / 1e3;
        println!(
            "| {} | {:.1} µs | {:.1} µs | {:.1} µs | {:.1} µs |",
            match warm {
                Some(_) => format!("warmed every {warm_us} µs (SendPathWarmer)"),
                None => "cold".to_string(),
            },
            us(0.5),
            us(0.9),
            us(0.99),
            h.max() as f64 / 1e3
        );
    }
}
