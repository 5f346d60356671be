//! The hub's clock: where every handler, the relay and the engine's callers read the time.
//!
//! Injected (in [`crate::ServeOptions::clock`], or [`crate::Hub::open_with_clock`]) so tests can
//! pin it; [`Clock::system`] is the wall clock.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// The wall clock, in Unix milliseconds.
pub fn system_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A source of the time, in Unix milliseconds. Cheap to clone.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> u64 + Send + Sync>);

impl Clock {
    /// The system's wall clock.
    pub fn system() -> Self {
        Self(Arc::new(system_now_ms))
    }

    /// A clock that reads `f`.
    pub fn from_fn(f: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// A clock pinned at `ms`.
    pub fn fixed(ms: u64) -> Self {
        Self::from_fn(move || ms)
    }

    /// The time now, in Unix milliseconds.
    pub fn now_ms(&self) -> u64 {
        (self.0)()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Clock").field(&self.now_ms()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_clock_stays_and_the_system_clock_moves_on() {
        assert_eq!(Clock::fixed(42).now_ms(), 42);
        let a = Clock::system().now_ms();
        assert!(a > 1_600_000_000_000, "the wall clock reads Unix ms");
    }
}
