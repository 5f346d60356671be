//! Retry delays for the background sync worker while the hub is unreachable.

use std::time::Duration;

/// Exponential backoff with "equal jitter", capped. Randomness comes in as an argument so the
/// policy is deterministic under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    attempt: u32,
}

impl Default for Backoff {
    /// 2 s, doubling, at most 5 minutes.
    fn default() -> Self {
        Self::new(Duration::from_secs(2), Duration::from_secs(300))
    }
}

impl Backoff {
    pub fn new(base: Duration, max: Duration) -> Self {
        Self {
            base,
            max: max.max(base),
            attempt: 0,
        }
    }

    /// Failures in a row so far.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The delay before the next try after another failure. `jitter` in `[0, 1]` (clamped) picks
    /// a point in the upper half of the window: `window * (1 + jitter) / 2`, where the window is
    /// `base * 2^attempt`, capped at `max`.
    pub fn next_delay(&mut self, jitter: f64) -> Duration {
        let factor = 2u32.saturating_pow(self.attempt.min(30));
        let window = self.base.saturating_mul(factor).min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        let j = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        window.mul_f64(0.5 + 0.5 * j)
    }

    /// A round succeeded: start again from `base`.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_doubling_and_caps() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(10));
        let d: Vec<u64> = (0..6).map(|_| b.next_delay(1.0).as_secs()).collect();
        assert_eq!(d, vec![1, 2, 4, 8, 10, 10]);
        b.reset();
        assert_eq!(b.next_delay(0.0), Duration::from_millis(500));
    }

    #[test]
    fn survives_many_failures_and_odd_jitter() {
        let mut b = Backoff::default();
        for _ in 0..1000 {
            b.next_delay(f64::NAN);
        }
        assert!(b.next_delay(7.0) <= Duration::from_secs(300));
    }
}
