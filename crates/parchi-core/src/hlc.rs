//! Hybrid logical clock (Kulkarni et al., 2014), fed with wall time by the caller.
//!
//! A timestamp is wall milliseconds plus a logical counter, packed in a `u64` (48 + 16 bits) so it
//! sorts as an integer in SQL. Ties between sites are broken by the site ID, see [`Stamp`].
//!
//! Remote timestamps far ahead of our wall clock (a counter whose clock is wrong) are not allowed
//! to drag our clock forward: [`Clock::observe`] clamps them to `now + max_drift` and reports it,
//! instead of rejecting them as `uhlc` does; after a two-week partition we want the operation, not
//! an error.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{OpId, SiteId};

/// Default bound on how far ahead of local wall time a remote timestamp may be: 5 minutes.
pub const DEFAULT_MAX_DRIFT_MS: u64 = 5 * 60 * 1000;

const LOGICAL_BITS: u32 = 16;
const LOGICAL_MAX: u64 = (1 << LOGICAL_BITS) - 1;
const WALL_MAX: u64 = (1 << (64 - LOGICAL_BITS)) - 1;

/// A hybrid logical timestamp: `wall_ms << 16 | logical`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(transparent)]
pub struct Hlc(pub u64);

impl Hlc {
    pub const ZERO: Hlc = Hlc(0);

    pub fn new(wall_ms: u64, logical: u16) -> Self {
        Hlc((wall_ms.min(WALL_MAX) << LOGICAL_BITS) | u64::from(logical))
    }
    pub fn wall_ms(self) -> u64 {
        self.0 >> LOGICAL_BITS
    }
    pub fn logical(self) -> u16 {
        (self.0 & LOGICAL_MAX) as u16
    }
    /// The next timestamp after `self` at the same or a later wall time.
    fn successor(self) -> Hlc {
        if u64::from(self.logical()) == LOGICAL_MAX {
            Hlc::new(self.wall_ms() + 1, 0)
        } else {
            Hlc(self.0 + 1)
        }
    }
}

impl fmt::Debug for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hlc({}.{})", self.wall_ms(), self.logical())
    }
}

/// The total order of operations: HLC first, then the issuing site, then the operation ID (which
/// only matters if one site issued two operations at the same HLC: a cloned disk).
///
/// This, not the values, breaks ties, so a later correction never loses to an older value that
/// happens to sort higher (the cr-sqlite lesson).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct Stamp {
    pub hlc: Hlc,
    pub site: SiteId,
    pub op: OpId,
}

/// What happened when a remote timestamp was observed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Observed {
    /// Within the drift bound.
    Ok,
    /// More than the drift bound ahead of our wall clock; our clock advanced only to the bound.
    ClampedFuture { ahead_ms: u64 },
}

/// One site's clock state.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Clock {
    last: Hlc,
    max_drift_ms: u64,
}

impl Clock {
    /// Resumes from the last timestamp this site issued or observed (persisted by the caller).
    pub fn resume(last: Hlc, max_drift_ms: u64) -> Self {
        Self { last, max_drift_ms }
    }

    pub fn last(&self) -> Hlc {
        self.last
    }

    /// A timestamp for a local event at wall time `now_ms`. Strictly greater than every timestamp
    /// issued or observed before, even if the wall clock went backwards.
    pub fn tick(&mut self, now_ms: u64) -> Hlc {
        let now = Hlc::new(now_ms, 0);
        self.last = if now > self.last {
            now
        } else {
            self.last.successor()
        };
        self.last
    }

    /// Takes in a timestamp received from another site.
    pub fn observe(&mut self, remote: Hlc, now_ms: u64) -> Observed {
        let bound = Hlc::new(now_ms.saturating_add(self.max_drift_ms), 0);
        let (r, result) = if remote > bound {
            (
                bound,
                Observed::ClampedFuture {
                    ahead_ms: remote.wall_ms().saturating_sub(now_ms),
                },
            )
        } else {
            (remote, Observed::Ok)
        };
        if r > self.last {
            self.last = r;
        }
        result
    }

    /// Is `hlc` further ahead of `now_ms` than the drift bound?
    pub fn is_future(&self, hlc: Hlc, now_ms: u64) -> bool {
        hlc.wall_ms() > now_ms.saturating_add(self.max_drift_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Event {
        Tick(u64),
        Observe(u64, u16, u64),
    }

    fn event() -> impl Strategy<Value = Event> {
        prop_oneof![
            (0u64..1_000_000).prop_map(Event::Tick),
            (0u64..2_000_000, any::<u16>(), 0u64..1_000_000)
                .prop_map(|(w, l, n)| Event::Observe(w, l, n)),
        ]
    }

    proptest! {
        #[test]
        fn ticks_are_strictly_monotonic_whatever_the_wall_clock_does(events in proptest::collection::vec(event(), 1..200)) {
            let mut c = Clock::resume(Hlc::ZERO, 1000);
            let mut prev = Hlc::ZERO;
            for e in events {
                match e {
                    Event::Tick(now) => {
                        let t = c.tick(now);
                        prop_assert!(t > prev);
                        prop_assert!(t.wall_ms() >= now.min(WALL_MAX));
                        prev = t;
                    }
                    Event::Observe(w, l, now) => {
                        c.observe(Hlc::new(w, l), now);
                        let t = c.tick(now);
                        prop_assert!(t > prev);
                        // Never further ahead than the drift bound allows (plus logical overflow).
                        prop_assert!(t.wall_ms() <= now.max(prev.wall_ms()) + 1000 + 1);
                        prev = t;
                    }
                }
            }
        }

        #[test]
        fn packing_round_trips(w in 0u64..=WALL_MAX, l in any::<u16>()) {
            let h = Hlc::new(w, l);
            prop_assert_eq!((h.wall_ms(), h.logical()), (w, l));
        }
    }

    #[test]
    fn a_clock_two_weeks_ahead_is_clamped_not_followed() {
        let mut c = Clock::resume(Hlc::ZERO, DEFAULT_MAX_DRIFT_MS);
        let now = 1_700_000_000_000;
        let two_weeks = 14 * 24 * 3600 * 1000;
        let r = c.observe(Hlc::new(now + two_weeks, 0), now);
        assert!(matches!(r, Observed::ClampedFuture { ahead_ms } if ahead_ms == two_weeks));
        let t = c.tick(now);
        assert!(t.wall_ms() <= now + DEFAULT_MAX_DRIFT_MS + 1);
        assert!(c.is_future(Hlc::new(now + two_weeks, 0), now));
    }

    #[test]
    fn logical_overflow_carries_into_wall() {
        let mut c = Clock::resume(Hlc::new(5, u16::MAX), 0);
        assert_eq!(c.tick(0), Hlc::new(6, 0));
    }
}
