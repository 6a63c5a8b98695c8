//! The simulator's one seeded random source, and where its seed comes from.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::Duration;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

/// The environment variable that replays a run: `TEST_SEED=<decimal u64>`.
pub const SEED_ENV: &str = "TEST_SEED";

/// Every random choice in the simulator is drawn from here, in event order, so one seed gives one
/// run.
#[derive(Debug, Clone)]
pub(crate) struct SimRng(ChaCha8Rng);

impl SimRng {
    pub(crate) fn new(seed: u64) -> Self {
        SimRng(ChaCha8Rng::seed_from_u64(seed))
    }

    /// `true` with probability `p`. Draws nothing when the answer is certain, so a link without
    /// impairments never consumes randomness.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 || p.is_nan() {
            false
        } else if p >= 1.0 {
            true
        } else {
            self.unit() < p
        }
    }

    /// A uniform duration in `[0, max]`; draws nothing when `max` is zero.
    pub(crate) fn duration_up_to(&mut self, max: Duration) -> Duration {
        if max.is_zero() {
            return Duration::ZERO;
        }
        let span = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX - 1);
        Duration::from_nanos(self.0.next_u64() % (span + 1))
    }

    /// A uniform float in `[0, 1)` with 53 bits of precision.
    fn unit(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The seed to run with: `TEST_SEED` when it is set, else `fallback`, else a fresh one.
///
/// # Panics
///
/// When `TEST_SEED` is set but is not a decimal `u64`: the replay the user asked for cannot
/// happen, and running with some other seed would mislead them.
pub(crate) fn resolve_seed(fallback: Option<u64>) -> u64 {
    match std::env::var(SEED_ENV) {
        Ok(text) => match text.trim().parse() {
            Ok(seed) => seed,
            Err(_) => panic!("{SEED_ENV}={text:?} is not a decimal u64"),
        },
        // `RandomState` is seeded by the OS once per process and perturbed per instance, which is
        // all a fresh test seed needs (the seed is printed, so the run stays replayable).
        Err(_) => fallback.unwrap_or_else(|| RandomState::new().hash_one(0x5eed_u64)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_gives_same_draws() {
        let mut a = SimRng::new(7);
        let mut b = SimRng::new(7);
        for _ in 0..100 {
            assert_eq!(a.unit().to_bits(), b.unit().to_bits());
        }
    }

    #[test]
    fn certain_answers_draw_nothing() {
        let mut a = SimRng::new(1);
        let mut b = SimRng::new(1);
        assert!(!a.chance(0.0));
        assert!(a.chance(1.0));
        assert_eq!(a.duration_up_to(Duration::ZERO), Duration::ZERO);
        assert_eq!(a.unit().to_bits(), b.unit().to_bits());
    }

    #[test]
    fn durations_stay_in_range() {
        let mut rng = SimRng::new(3);
        let max = Duration::from_micros(10);
        for _ in 0..1000 {
            assert!(rng.duration_up_to(max) <= max);
        }
    }
}
