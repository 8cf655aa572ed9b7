//! The counting allocator itself must see allocations, or every no-allocation test is vacuous.

use sattebaaz::telemetry::alloc_count::{count_allocations, CountingAlloc};

#[global_allocator]
static A: CountingAlloc = CountingAlloc;

#[test]
fn counts_allocations_on_this_thread() {
    let (n, v) = count_allocations(|| vec![1u8; 1024]);
    assert_eq!(v.len(), 1024);
    assert!(n >= 1, "a Vec allocation was not counted");
    let (n, _) = count_allocations(|| 1 + 1);
    assert_eq!(n, 0);
}
