//! The retry policy shared by every integration: exponential backoff with jitter, `Retry-After`
//! honoured, bounded by a total duration rather than by the group's flush interval (so a slow
//! receiver is retried across ticks instead of being cut off). Pure functions plus a tiny PRNG.

use std::time::Duration;

use jiff::Timestamp;

/// First backoff step.
pub const INITIAL: Duration = Duration::from_millis(500);
/// Largest backoff step.
pub const MAX_STEP: Duration = Duration::from_secs(60);

/// The backoff state of one send.
#[derive(Debug, Clone)]
pub struct Backoff {
    /// The next nominal step (before jitter).
    step: Duration,
    /// xorshift state for jitter.
    seed: u64,
}

impl Backoff {
    /// A new backoff; `seed` varies the jitter between sends.
    pub fn new(seed: u64) -> Self {
        Backoff {
            step: INITIAL,
            seed: seed | 1,
        }
    }

    /// The next wait: the nominal step ±50% jitter, then the step grows ×1.5 up to `MAX_STEP`.
    /// A server's `Retry-After` replaces the computed wait when it is longer.
    pub fn next_wait(&mut self, retry_after: Option<Duration>) -> Duration {
        self.seed ^= self.seed << 13;
        self.seed ^= self.seed >> 7;
        self.seed ^= self.seed << 17;
        let frac = (self.seed % 1000) as f64 / 1000.0; // [0, 1)
        let jittered = self.step.mul_f64(0.5 + frac);
        self.step = (self.step.mul_f64(1.5)).min(MAX_STEP);
        match retry_after {
            Some(ra) if ra > jittered => ra,
            _ => jittered,
        }
    }
}

/// Parses a `Retry-After` header: delay-seconds or an HTTP date (relative to `now`).
pub fn parse_retry_after(value: &str, now: Timestamp) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs.min(24 * 3600)));
    }
    let when = jiff::fmt::rfc2822::parse(v).ok()?.timestamp();
    let d = when.duration_since(now);
    Some(
        Duration::try_from(d)
            .unwrap_or(Duration::ZERO)
            .min(Duration::from_secs(24 * 3600)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_with_jitter_and_caps() {
        let mut b = Backoff::new(42);
        let first = b.next_wait(None);
        assert!(first >= Duration::from_millis(250) && first < Duration::from_millis(750));
        for _ in 0..40 {
            let w = b.next_wait(None);
            assert!(w <= MAX_STEP.mul_f64(1.5));
        }
        assert!(b.next_wait(None) >= MAX_STEP / 2);
        assert_eq!(
            b.next_wait(Some(Duration::from_secs(600))),
            Duration::from_secs(600)
        );
    }

    #[test]
    fn retry_after_forms() {
        let now = Timestamp::from_second(784_111_777).unwrap(); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
