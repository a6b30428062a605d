//! How long to wait before each attempt to reconnect: jittered exponential backoff, and the
//! small random number generator the jitter comes from.
//!
//! When a server restarts, every client loses it at the same moment; were they all to come back
//! at the same moment too, the new server would be flooded, refuse some, and flood again on the
//! next round. So each waits a random time: attempt 0 a uniform 0 to 1 s (a restart is short:
//! come back at once, only spread out), attempt `k` a uniform half to all of
//! `min(0.5 s · 2^k, 10 s)`: 0.5–1 s, 1–2 s, 2–4 s, 4–8 s, then 5–10 s for ever. The cap is
//! short because a call is waiting: a server back after an outage of any length has every
//! client again within 10 s, and within about as long as the outage was when it was short.
//!
//! The generator is xorshift64*: a few instructions, no dependency, good enough to spread
//! clients apart and not meant for anything secret. The machine seeds it with a constant, so
//! tests are deterministic; the browser shell seeds it from `Math.random()`.

use super::Millis;

/// The longest wait between two attempts to reconnect.
pub const MAX_BACKOFF_MS: Millis = 10_000;

/// The wait before attempt 0 is up to this.
const FIRST_BACKOFF_MS: Millis = 1_000;

/// The wait before attempt `k` ≥ 1 is half to all of this times 2^k.
const BASE_BACKOFF_MS: Millis = 500;

/// An xorshift64* pseudo-random number generator.
#[derive(Debug, Clone)]
pub(super) struct Rng(u64);

impl Rng {
    /// The seed of a machine the shell has not seeded.
    const DEFAULT_SEED: u64 = 0x5EED_CA11_0000_0001;

    /// A generator seeded with `seed` (any value; it is scrambled first, so close seeds give
    /// unrelated sequences).
    pub(super) fn new(seed: u64) -> Rng {
        // splitmix64's finalizer: the state must not be 0, and should not be a small number.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Rng(if z == 0 { Self::DEFAULT_SEED } else { z })
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `low..=high`, near enough uniform (the modulo bias is below 2^-40 here).
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next_u64() % (high - low + 1)
    }
}

impl Default for Rng {
    fn default() -> Rng {
        Rng::new(Rng::DEFAULT_SEED)
    }
}

/// How long to wait before reconnection attempt `attempt` (0 for the first).
pub(super) fn backoff(attempt: u32, rng: &mut Rng) -> Millis {
    if attempt == 0 {
        return rng.between(0, FIRST_BACKOFF_MS - 1);
    }
    // 0.5 s · 2^5 is past the cap already; larger shifts would overflow.
    let full = if attempt >= 5 {
        MAX_BACKOFF_MS
    } else {
        (BASE_BACKOFF_MS << attempt).min(MAX_BACKOFF_MS)
    };
    rng.between(full / 2, full)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_attempt_comes_within_a_second() {
        let mut rng = Rng::default();
        let waits: Vec<Millis> = (0..1_000).map(|_| backoff(0, &mut rng)).collect();
        assert!(waits.iter().all(|&w| w < 1_000));
        // Spread out, not all at one moment.
        assert!(waits.iter().any(|&w| w < 100) && waits.iter().any(|&w| w > 900));
    }

    #[test]
    fn waits_double_with_jitter_up_to_the_cap() {
        let mut rng = Rng::new(42);
        for attempt in 1..=100u32 {
            let full = (BASE_BACKOFF_MS << attempt.min(10)).min(MAX_BACKOFF_MS);
            let waits: Vec<Millis> = (0..200).map(|_| backoff(attempt, &mut rng)).collect();
            assert!(
                waits.iter().all(|&w| full / 2 <= w && w <= full),
                "attempt {attempt}: {waits:?} outside {}..={full}",
                full / 2
            );
            let (min, max) = (waits.iter().min().unwrap(), waits.iter().max().unwrap());
            assert!(max - min > full / 4, "attempt {attempt} is hardly jittered");
        }
        assert_eq!(
            backoff(u32::MAX, &mut rng).max(MAX_BACKOFF_MS),
            MAX_BACKOFF_MS
        );
    }

    #[test]
    fn seeds_give_different_sequences_and_the_same_seed_the_same() {
        let run = |seed| {
            let mut rng = Rng::new(seed);
            (0..8).map(|_| backoff(3, &mut rng)).collect::<Vec<_>>()
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
        assert_ne!(run(0), run(1));
    }
}
