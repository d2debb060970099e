//! # fuzz-support
//!
//! What the `tests/fuzz.rs` targets of `engineio-core` and `socketio-core`
//! share. Stable Rust has no libFuzzer, so a target is a plain `#[test]`
//! that feeds generated inputs to a check (which panics on a failure):
//!
//! - [`Rng`]: a small seeded generator, so a run is reproducible;
//! - [`Inputs`]: where inputs come from: random bytes, protocol tokens, and
//!   valid inputs (fixed seeds, or built from an [`Unstructured`]) as they
//!   are or mutated by [`mutate`] (bits flipped, bytes inserted and deleted,
//!   ranges repeated, tokens inserted, seeds spliced);
//! - [`run`]: the loop. By default it runs a fixed number of inputs from a
//!   fixed seed (the short mode of `cargo test`); with `FUZZ_SECONDS=N` in
//!   the environment it runs for `N` seconds from a fresh seed and prints how
//!   many inputs it ran (`FUZZ_SEED` fixes the seed). On a failure it shrinks
//!   the input and panics with it, written as a Rust byte string to paste
//!   into a regression test.

#![deny(unsafe_code)]
#![warn(missing_docs)]

use std::panic::{self, AssertUnwindSafe};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub use arbitrary::{Result, Unstructured};

/// The longest input a mutation leaves (longer ones are cut).
pub const MAX_INPUT_LEN: usize = 64 * 1024;

/// A seeded pseudo-random generator (SplitMix64): small, fast, and the same
/// sequence for the same seed on every platform.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// True once in `n` times on average.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// One of `items`, which must not be empty.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A length in `0..=max`, most often small: fuzzing finds more with
    /// short inputs, and a few long ones cover the rest.
    pub fn size(&mut self, max: usize) -> usize {
        let cap = match self.below(8) {
            0..=4 => 16,
            5 | 6 => 256,
            _ => max,
        };
        self.below(cap.min(max) + 1)
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

/// Bytes that often matter to a parser: separators, digits, brackets,
/// quotes and escapes, the starts of multi-byte UTF-8 sequences, and bytes
/// that are never UTF-8.
const INTERESTING: &[u8] = b"\x00\x1e\x7f\x80\xbf\xc3\xe2\xf0\xff0123456789-/,[]{}\":\\b= \t\nu";

/// Applies 1 to 16 random mutations to `input`. `dictionary` holds tokens to
/// insert; `corpus` holds inputs to splice ranges from.
pub fn mutate(rng: &mut Rng, input: &mut Vec<u8>, dictionary: &[&[u8]], corpus: &[Vec<u8>]) {
    let most = if rng.one_in(4) { 16 } else { 4 };
    let rounds = 1 + rng.below(most);
    for _ in 0..rounds {
        mutate_once(rng, input, dictionary, corpus);
    }
    input.truncate(MAX_INPUT_LEN);
}

/// A range `start..end` of `len` bytes, usually short.
fn range(rng: &mut Rng, len: usize) -> (usize, usize) {
    let start = rng.below(len + 1);
    let end = start + rng.size(len - start);
    (start, end)
}

fn mutate_once(rng: &mut Rng, input: &mut Vec<u8>, dictionary: &[&[u8]], corpus: &[Vec<u8>]) {
    let len = input.len();
    match rng.below(11) {
        // Flip one bit.
        0 if len > 0 => {
            let i = rng.below(len);
            input[i] ^= 1 << rng.below(8);
        }
        // Overwrite a byte, with a random or an interesting one.
        1 if len > 0 => {
            let i = rng.below(len);
            input[i] = rng.next_u64() as u8;
        }
        2 if len > 0 => {
            let i = rng.below(len);
            input[i] = *rng.pick(INTERESTING);
        }
        // Insert random bytes.
        3 => {
            let at = rng.below(len + 1);
            let n = 1 + rng.below(8);
            let bytes = rng.bytes(n);
            input.splice(at..at, bytes);
        }
        // Delete a range.
        4 => {
            let (start, end) = range(rng, len);
            input.drain(start..end);
        }
        // Copy a range elsewhere.
        5 => {
            let (start, end) = range(rng, len);
            let chunk = input[start..end].to_vec();
            let at = rng.below(len + 1);
            input.splice(at..at, chunk);
        }
        // Repeat a few bytes many times: nesting, long digit runs, big counts.
        6 => {
            let start = rng.below(len + 1);
            let end = (start + 1 + rng.below(8)).min(len);
            let chunk = input[start..end].repeat(2 + rng.size(2_000));
            input.splice(start..end, chunk);
        }
        // Insert a token, or put it in place of a range.
        7 | 8 if !dictionary.is_empty() => {
            let token = rng.pick(dictionary).to_vec();
            let (start, end) = if rng.one_in(2) {
                range(rng, len)
            } else {
                let at = rng.below(len + 1);
                (at, at)
            };
            input.splice(start..end, token);
        }
        // Splice in a range of another input, or replace the tail with one.
        9 | 10 if !corpus.is_empty() => {
            let other = rng.pick(corpus);
            let (from, to) = range(rng, other.len());
            let at = rng.below(len + 1);
            if rng.one_in(2) {
                input.truncate(at);
                input.extend_from_slice(&other[from..]);
            } else {
                input.splice(at..at, other[from..to].iter().copied());
            }
        }
        // Cut the end.
        _ => input.truncate(rng.below(len + 1)),
    }
}

/// Where the inputs of one target come from.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// Valid inputs, to mutate and splice.
    pub seeds: &'a [Vec<u8>],
    /// Tokens of the format, to insert and to build inputs from.
    pub dictionary: &'a [&'a [u8]],
}

impl Inputs<'_> {
    /// The next input: random bytes, a run of tokens, a seed, or a valid
    /// input built by `valid` from random bytes; seeds and valid inputs are
    /// mutated most of the time. `valid` may fail (an [`Unstructured`] that
    /// ran out of bytes): a seed is used instead.
    pub fn next(
        &self,
        rng: &mut Rng,
        valid: impl FnOnce(&mut Unstructured) -> Result<Vec<u8>>,
    ) -> Vec<u8> {
        let mut input = match rng.below(10) {
            0 => {
                let n = rng.size(512);
                return rng.bytes(n);
            }
            1 if !self.dictionary.is_empty() => {
                let n = rng.size(64);
                return (0..n)
                    .flat_map(|_| *rng.pick(self.dictionary))
                    .copied()
                    .collect();
            }
            2..=4 => self.seed(rng),
            _ => {
                let n = 64 + rng.size(4096);
                let raw = rng.bytes(n);
                valid(&mut Unstructured::new(&raw)).unwrap_or_else(|_| self.seed(rng))
            }
        };
        if !rng.one_in(4) {
            mutate(rng, &mut input, self.dictionary, self.seeds);
        }
        input
    }

    fn seed(&self, rng: &mut Rng) -> Vec<u8> {
        if self.seeds.is_empty() {
            Vec::new()
        } else {
            rng.pick(self.seeds).clone()
        }
    }
}

/// How long [`run`] goes on: a fixed number of inputs, or a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// The short mode: this many inputs, from a seed fixed by the target's name.
    Inputs(u64),
    /// The long mode (`FUZZ_SECONDS`): inputs until the time is up.
    Time(Duration),
}

impl Budget {
    /// `FUZZ_SECONDS` from the environment when set to a positive number,
    /// else `short` inputs.
    pub fn from_env(short: u64) -> Self {
        match std::env::var("FUZZ_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
        {
            Some(secs) if secs > 0 => Budget::Time(Duration::from_secs(secs)),
            _ => Budget::Inputs(short),
        }
    }
}

/// FNV-1a of `name`: a seed fixed for each target.
fn name_seed(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The seed of a run: `FUZZ_SEED` when set, else fixed by the name in the
/// short mode and taken from the clock in the long mode.
fn run_seed(name: &str, budget: Budget) -> u64 {
    if let Some(seed) = std::env::var("FUZZ_SEED").ok().and_then(|s| s.parse().ok()) {
        return seed;
    }
    match budget {
        Budget::Inputs(_) => name_seed(name),
        Budget::Time(_) => {
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            name_seed(name) ^ nanos
        }
    }
}

/// Runs the target `name`: `check` on inputs from `generate`, for the
/// [`Budget`] of the environment ([`Budget::from_env`] with `short` inputs).
/// Returns the number of inputs run. A panic of `check` is a failure: the
/// input is shrunk and the test fails with it.
pub fn run(
    name: &str,
    short: u64,
    mut generate: impl FnMut(&mut Rng) -> Vec<u8>,
    check: impl Fn(&[u8]),
) -> u64 {
    let budget = Budget::from_env(short);
    let seed = run_seed(name, budget);
    let mut rng = Rng::new(seed);
    let start = Instant::now();
    let mut count = 0u64;
    loop {
        match budget {
            Budget::Inputs(n) if count >= n => break,
            // Reading the clock costs little next to an input, but not nothing.
            Budget::Time(t) if count % 64 == 0 && start.elapsed() >= t => break,
            _ => {}
        }
        let input = generate(&mut rng);
        count += 1;
        if fails(&check, &input) {
            fail(name, seed, count, input, &check);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "fuzz {name}: {count} inputs in {secs:.1} s ({:.0}/s, seed {seed})",
        count as f64 / secs.max(1e-9)
    );
    count
}

fn fails(check: &impl Fn(&[u8]), input: &[u8]) -> bool {
    panic::catch_unwind(AssertUnwindSafe(|| check(input))).is_err()
}

/// Shrinks a failing input, then panics with it.
fn fail(name: &str, seed: u64, count: u64, input: Vec<u8>, check: &impl Fn(&[u8])) -> ! {
    // The failure was reported once; the many panics of shrinking are not.
    let hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let small = shrink(input, |i| fails(check, i));
    panic::set_hook(hook);
    panic!(
        "fuzz target {name} failed on input #{count} (FUZZ_SEED={seed}); shrunk to {} bytes:\n\
         b\"{}\"\nas text: {:?}",
        small.len(),
        small.escape_ascii(),
        String::from_utf8_lossy(&small),
    );
}

/// Removes ranges of `input`, halving their size down to single bytes, for
/// as long as `still_fails` holds; then simplifies bytes to `0`.
fn shrink(mut input: Vec<u8>, still_fails: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut tries = 0;
    let mut chunk = input.len().div_ceil(2).max(1);
    while tries < 50_000 {
        let mut i = 0;
        let mut removed = false;
        while i < input.len() && tries < 50_000 {
            let end = (i + chunk).min(input.len());
            let mut candidate = input.clone();
            candidate.drain(i..end);
            tries += 1;
            if still_fails(&candidate) {
                input = candidate;
                removed = true;
            } else {
                i += chunk;
            }
        }
        if chunk == 1 && !removed {
            break;
        }
        chunk = (chunk / 2).max(1);
    }
    for i in 0..input.len() {
        if input[i] != b'0' && tries < 50_000 {
            let mut candidate = input.clone();
            candidate[i] = b'0';
            tries += 1;
            if still_fails(&candidate) {
                input = candidate;
            }
        }
    }
    input
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_deterministic() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_ne!(Rng::new(8).next_u64(), Rng::new(7).next_u64());
        assert!((0..1000).all(|_| a.below(5) < 5));
        assert_eq!(a.below(0), 0);
    }

    #[test]
    fn mutations_keep_inputs_bounded() {
        let mut rng = Rng::new(1);
        let corpus = vec![b"2[\"a\"]".to_vec(), Vec::new()];
        for _ in 0..2_000 {
            let mut input = rng.pick(&corpus).clone();
            mutate(&mut rng, &mut input, &[b"[", b"\"x\""], &corpus);
            assert!(input.len() <= MAX_INPUT_LEN);
        }
    }

    #[test]
    fn shrinking_keeps_the_failure() {
        let input = b"xxxxxABCxxxxxxxxxx".to_vec();
        let small = shrink(input, |i| i.windows(2).any(|w| w == b"BC"));
        assert_eq!(small, b"BC");
    }

    #[test]
    fn short_runs_count_their_inputs() {
        let inputs = Inputs {
            seeds: &[b"seed".to_vec()],
            dictionary: &[b"tok"],
        };
        let n = run(
            "self-test",
            100,
            |rng| inputs.next(rng, |u| u.arbitrary()),
            |_| {},
        );
        if std::env::var_os("FUZZ_SECONDS").is_none() {
            assert_eq!(n, 100);
        }
    }
}
