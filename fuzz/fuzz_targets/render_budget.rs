//! Resource oracle for the template engine: the template source (up to the first NUL) is
//! rendered as three `template.data` items of one object, over `key=value` pairs (separated by
//! NUL), with one `gotemplate::Budget` of the controller's default limits. A case fails when
//! the object takes longer than its deadline plus slack, or when the memory it holds at once
//! grows past the budget's memory plus output allowance plus slack: the limits must hold
//! whatever the template does.
#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;

/// Counts live bytes and their high-water mark.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Instrumented builds run many times slower than release builds, and the clock is read every
/// few hundred work units: allow this much past the deadline.
const TIME_SLACK: Duration = Duration::from_secs(2);
/// Parse trees, the values map and allocator overhead are not charged to the budget.
const MEMORY_SLACK: usize = 32 << 20;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|&b| b == 0);
    let Some(Ok(source)) = parts.next().map(std::str::from_utf8) else {
        return;
    };
    let mut values: BTreeMap<String, &[u8]> = BTreeMap::new();
    for pair in parts {
        let (key, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        values.insert(String::from_utf8_lossy(key).into_owned(), value);
    }
    let limits = gotemplate::Limits::default();
    let memory_allowed = limits.max_memory + 2 * limits.max_output + MEMORY_SLACK;
    let time_allowed = limits.deadline + TIME_SLACK;
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let started = Instant::now();
    let mut budget = gotemplate::Budget::new(limits);
    let mut kept = Vec::new();
    for _ in 0..3 {
        if let Ok(out) = budget.render(source, &values) {
            kept.push(out);
        }
    }
    let elapsed = started.elapsed();
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    drop(kept);
    assert!(
        elapsed <= time_allowed,
        "render took {elapsed:?}, over the deadline plus slack ({time_allowed:?})"
    );
    assert!(
        peak <= memory_allowed,
        "render held {peak} bytes at once, over the budget plus slack ({memory_allowed})"
    );
});
