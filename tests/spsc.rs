//! Behaviour of the SPSC ring: ordered delivery across threads, non-blocking drops on a full ring
//! (counted exactly), capacity rounding and rejection, exactly-once drop of non-`Copy` payloads,
//! and no allocation after construction.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use sattebaaz::queue::spsc::{channel, CapacityError, MAX_CAPACITY};
use sattebaaz::telemetry::alloc_count::{count_allocations, CountingAlloc};

#[global_allocator]
static A: CountingAlloc = CountingAlloc;

#[test]
fn concurrent_producer_and_consumer_deliver_everything_in_order() {
    const N: u64 = 10_000_000;
    let (mut producer, mut consumer) = channel::<u64>(1024).expect("valid capacity");
    let producer_thread = thread::spawn(move || {
        let mut next = 0u64;
        let mut rejected = 0u64;
        while next < N {
            match producer.push(next) {
                Ok(()) => next += 1,
                Err(back) => {
                    assert_eq!(back, next, "a rejected push must hand back the same value");
                    rejected += 1;
                    std::hint::spin_loop();
                }
            }
        }
        assert_eq!(producer.dropped(), rejected);
        rejected
    });

    let mut expected = 0u64;
    let mut batch = [0u64; 64];
    while expected < N {
        // Alternate single pops and batch pops so both paths see concurrent pushes.
        if expected % 3 == 0 {
            if let Some(v) = consumer.try_pop() {
                assert_eq!(v, expected, "out of order or lost value");
                expected += 1;
            }
        } else {
            let n = consumer.pop_into(&mut batch);
            for &v in &batch[..n] {
                assert_eq!(v, expected, "out of order or lost value in a batch");
                expected += 1;
            }
        }
        std::hint::spin_loop();
    }
    let rejected = producer_thread.join().expect("producer thread panicked");
    assert_eq!(consumer.try_pop(), None, "more values than were pushed");
    assert_eq!(consumer.dropped(), rejected);
}

#[test]
fn full_queue_drops_and_counts_without_blocking() {
    let (mut producer, consumer) = channel::<u32>(8).expect("valid capacity");
    // Nobody pops: 8 fit, the next 1000 must come straight back (this test would hang if push
    // waited for space).
    for i in 0..8 {
        assert_eq!(producer.push(i), Ok(()));
    }
    for i in 0..1000 {
        assert_eq!(producer.push(100 + i), Err(100 + i));
    }
    assert_eq!(producer.dropped(), 1000);
    assert_eq!(consumer.dropped(), 1000);
}

#[test]
fn drop_count_is_exact_with_interleaved_pops() {
    let (mut producer, mut consumer) = channel::<u32>(4).expect("valid capacity");
    let mut expected_drops = 0u64;
    let mut observed_errs = 0u64;
    let mut queued_before = 0u64;
    let mut popped = Vec::new();
    for round in 0..50u32 {
        // Push 7 into a ring of 4 that still holds `queued_before` values: exactly
        // 7 - (4 - queued_before) of them cannot fit.
        expected_drops += 7 - (4 - queued_before);
        for k in 0..7 {
            if producer.push(round * 10 + k).is_err() {
                observed_errs += 1;
            }
        }
        // Pop all but `round % 4`.
        let keep = (round % 4) as usize;
        while consumer.len() > keep {
            popped.push(consumer.try_pop().expect("len said a value is ready"));
        }
        queued_before = keep as u64;
    }
    assert_eq!(observed_errs, expected_drops);
    assert_eq!(producer.dropped(), expected_drops);
    assert_eq!(consumer.dropped(), expected_drops);
    // Popped values are strictly increasing: accepted values stay in push order.
    assert!(popped.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn batch_pop_respects_output_length_and_queue_content() {
    let (mut producer, mut consumer) = channel::<u16>(16).expect("valid capacity");
    for i in 0..10 {
        producer.push(i).expect("room");
    }
    let mut out = [0u16; 4];
    assert_eq!(consumer.pop_into(&mut out), 4);
    assert_eq!(out, [0, 1, 2, 3]);
    let mut seen = Vec::new();
    assert_eq!(consumer.drain_with(100, |v| seen.push(v)), 6);
    assert_eq!(seen, vec![4, 5, 6, 7, 8, 9]);
    assert_eq!(consumer.pop_into(&mut out), 0);
    assert_eq!(
        consumer.drain_with(100, |_| unreachable!("queue is empty")),
        0
    );
    // Freed slots are reusable: the full capacity is available again.
    for i in 0..16 {
        producer.push(i).expect("room after draining");
    }
    assert_eq!(producer.push(99), Err(99));
}

#[test]
fn capacity_is_rounded_up_to_a_power_of_two() {
    for (asked, got) in [(1, 1), (2, 2), (3, 4), (5, 8), (1000, 1024), (1024, 1024)] {
        let (producer, consumer) = channel::<u8>(asked).expect("valid capacity");
        assert_eq!(producer.capacity(), got, "asked {asked}");
        assert_eq!(consumer.capacity(), got, "asked {asked}");
    }
    // Capacity 1 still works: one in, the second is rejected.
    let (mut producer, mut consumer) = channel::<u8>(1).expect("valid capacity");
    assert_eq!(producer.push(7), Ok(()));
    assert_eq!(producer.push(8), Err(8));
    assert_eq!(consumer.try_pop(), Some(7));
    assert_eq!(producer.push(9), Ok(()));
}

#[test]
fn bad_capacity_is_rejected() {
    assert_eq!(channel::<u8>(0).err(), Some(CapacityError::Zero));
    assert_eq!(
        channel::<u8>(MAX_CAPACITY + 1).err(),
        Some(CapacityError::TooLarge {
            requested: MAX_CAPACITY + 1
        })
    );
    assert_eq!(
        channel::<u8>(usize::MAX).err(),
        Some(CapacityError::TooLarge {
            requested: usize::MAX
        })
    );
}

/// Payload that counts its own drops.
struct Tracked {
    id: u32,
    drops: Arc<AtomicUsize>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn non_copy_payload_is_dropped_exactly_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let make = |id| Tracked {
        id,
        drops: Arc::clone(&drops),
    };
    {
        let (mut producer, mut consumer) = channel::<Tracked>(8).expect("valid capacity");
        for id in 0..8 {
            assert!(producer.push(make(id)).is_ok());
        }
        // Rejected value comes back to the caller, who drops it here: 1 drop.
        let rejected = producer.push(make(100)).expect_err("ring is full");
        assert_eq!(rejected.id, 100);
        drop(rejected);
        assert_eq!(drops.load(Ordering::SeqCst), 1);

        // Pop 3 and drop them: 4 drops.
        for id in 0..3 {
            assert_eq!(consumer.try_pop().map(|t| t.id), Some(id));
        }
        assert_eq!(drops.load(Ordering::SeqCst), 4);

        // Drain 2 through the sink: 6 drops.
        let mut ids = Vec::new();
        consumer.drain_with(2, |t| ids.push(t.id));
        assert_eq!(ids, vec![3, 4]);
        assert_eq!(drops.load(Ordering::SeqCst), 6);

        // Wrap around: push 4 more (slots freed above), 7 values queued now.
        for id in 8..12 {
            assert!(producer.push(make(id)).is_ok());
        }
        assert_eq!(drops.load(Ordering::SeqCst), 6);
        drop(producer);
        // The consumer still sees everything queued after the producer is gone.
        assert!(consumer.is_abandoned());
        assert_eq!(consumer.try_pop().map(|t| t.id), Some(5));
        assert_eq!(drops.load(Ordering::SeqCst), 7);
        // Remaining 6 (ids 6, 7, 8, 9, 10, 11) are dropped with the ring.
    }
    assert_eq!(drops.load(Ordering::SeqCst), 13);
}

#[test]
fn pop_into_overwrites_non_copy_outputs_without_leaking() {
    let drops = Arc::new(AtomicUsize::new(0));
    let make = |id| Tracked {
        id,
        drops: Arc::clone(&drops),
    };
    let (mut producer, mut consumer) = channel::<Tracked>(4).expect("valid capacity");
    for id in 0..3 {
        assert!(producer.push(make(id)).is_ok());
    }
    let mut out = [make(90), make(91)];
    assert_eq!(consumer.pop_into(&mut out), 2);
    // The two placeholders were dropped when overwritten.
    assert_eq!(drops.load(Ordering::SeqCst), 2);
    assert_eq!([out[0].id, out[1].id], [0, 1]);
    drop(out);
    drop(consumer);
    drop(producer);
    // 2 placeholders + 3 payloads, each exactly once.
    assert_eq!(drops.load(Ordering::SeqCst), 5);
}

#[test]
fn halves_move_to_other_threads() {
    fn assert_send<T: Send>() {}
    assert_send::<sattebaaz::queue::spsc::Producer<u64>>();
    assert_send::<sattebaaz::queue::spsc::Consumer<u64>>();
}

#[test]
fn push_and_pop_do_not_allocate() {
    let (mut producer, mut consumer) = channel::<[u64; 4]>(64).expect("valid capacity");
    let mut out = [[0u64; 4]; 8];
    let (allocations, sum) = count_allocations(|| {
        let mut sum = 0u64;
        for i in 0..10_000u64 {
            let _ = producer.push([i, i, i, i]);
            let _ = producer.push([i; 4]);
            if let Some(v) = consumer.try_pop() {
                sum += v[0];
            }
            if i % 7 == 0 {
                let n = consumer.pop_into(&mut out);
                sum += out[..n].iter().map(|v| v[1]).sum::<u64>();
            }
            consumer.drain_with(1, |v| sum += v[2]);
        }
        // Overflowing pushes (counted drops) allocate nothing either.
        for i in 0..200u64 {
            let _ = producer.push([i; 4]);
        }
        sum
    });
    assert_eq!(allocations, 0, "the SPSC hot path allocated");
    assert!(sum > 0);
    assert!(producer.dropped() > 0);
}
