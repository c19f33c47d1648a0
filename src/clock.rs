//! The only source of "now".
//!
//! Wall time is read once, at the first call, and then advanced by tokio's monotonic clock. In a
//! test running under `tokio::time::pause()` the wall time therefore moves with the paused clock,
//! so timer tests need no real seconds. Layer L0: imports std, tokio's time and jiff.

use std::sync::OnceLock;

use jiff::{SignedDuration, Timestamp};
use tokio::time::Instant;

static BASE: OnceLock<(Timestamp, Instant)> = OnceLock::new();

#[allow(clippy::disallowed_methods)] // The one place allowed to read the wall clock.
fn base() -> (Timestamp, Instant) {
    *BASE.get_or_init(|| (Timestamp::now(), Instant::now()))
}

#[cfg(test)]
thread_local! {
    /// Test-only shift of this thread's wall clock (a paused-time test runs on one thread).
    static SHIFT: std::cell::Cell<SignedDuration> = const {
        std::cell::Cell::new(SignedDuration::ZERO)
    };
}

/// Test-only: moves this thread's wall clock so that [`now`] reads `t` (then it advances with
/// tokio's clock as usual). For timeline tests that must happen on a given date.
#[cfg(test)]
pub fn set_now_for_test(t: Timestamp) {
    SHIFT.set(SignedDuration::ZERO);
    SHIFT.set(t.duration_since(now()));
}

/// The current wall-clock time (tokio-paused-aware).
pub fn now() -> Timestamp {
    let (wall, mono) = base();
    #[cfg(test)]
    let wall = wall.checked_add(SHIFT.get()).unwrap_or(wall);
    let now = Instant::now();
    let delta = match now.checked_duration_since(mono) {
        Some(d) => SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX),
        None => -SignedDuration::try_from(mono - now).unwrap_or(SignedDuration::MAX),
    };
    wall.checked_add(delta).unwrap_or(wall)
}

/// The current monotonic instant (tokio's, so it pauses in tests).
pub fn instant() -> Instant {
    Instant::now()
}

/// Nanoseconds on the machine's monotonic clock since the process first asked: real time,
/// never paused, for measuring how long a thread has computed (`workers::courtesy`), not for
/// timers or anything a test moves.
#[allow(clippy::disallowed_types, clippy::disallowed_methods)] // Real time on purpose.
pub fn real_nanos() -> u64 {
    static START: OnceLock<std::time::Instant> = OnceLock::new();
    let start = *START.get_or_init(std::time::Instant::now);
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn follows_paused_time() {
        let a = now();
        tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        let b = now();
        let elapsed = b.duration_since(a);
        assert!(elapsed >= SignedDuration::from_secs(3600), "{elapsed:?}");
        assert!(elapsed < SignedDuration::from_secs(3601), "{elapsed:?}");
    }
}
