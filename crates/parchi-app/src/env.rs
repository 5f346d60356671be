//! Where wall time and randomness come from. The use cases take them from an [`Env`], so tests
//! can pin both; the real one reads the system clock and the OS random source.

/// A source of wall time and random bytes.
pub trait Env: Send {
    /// Unix time in milliseconds.
    fn now_ms(&self) -> u64;
    /// Fills `buf` with random bytes.
    fn fill_random(&mut self, buf: &mut [u8]);
}

/// The system clock and the operating system's random source.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemEnv;

impl Env for SystemEnv {
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    /// Refuses to go on without the operating system's random source: predictable bytes would
    /// make record IDs, site tags, salts and keys guessable (the hub does the same).
    fn fill_random(&mut self, buf: &mut [u8]) {
        if let Err(e) = getrandom::fill(buf) {
            // No write has started yet when this runs (randomness is drawn before or inside the
            // transaction, which a panic rolls back): nothing half-written is left behind.
            panic!(
                "the operating system's random source failed ({e}); Parchi stops rather than use predictable identifiers or keys"
            );
        }
    }
}

/// A fixed clock and a seeded generator, for tests and benchmarks.
#[derive(Debug, Clone)]
pub struct FixedEnv {
    pub now_ms: u64,
    state: u64,
}

impl FixedEnv {
    pub fn new(now_ms: u64, seed: u64) -> Self {
        Self {
            now_ms,
            state: seed | 1,
        }
    }
    pub fn advance(&mut self, ms: u64) {
        self.now_ms += ms;
    }
}

impl Env for FixedEnv {
    fn now_ms(&self) -> u64 {
        self.now_ms
    }
    fn fill_random(&mut self, buf: &mut [u8]) {
        for b in buf {
            self.state = self
                .state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *b = (self.state >> 33) as u8;
        }
    }
}
