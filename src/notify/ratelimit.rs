//! Per-integration send rates (governor, GCRA), keyed by destination: PagerDuty's routing key,
//! Slack's channel. Defaults are each service's documented limit; `rate_limit:` on the
//! integration's config overrides them (`config::RateLimitConfig`).
//!
//! A send over the rate waits (tokio's sleep, so paused-time tests need no real seconds) in a
//! bounded queue: at most [`MAX_QUEUE`] sends wait per integration; one more fails as rate
//! limited (retryable, logged and counted), never dropped silently. The queue depth, the waits
//! and the time waited are in `/metrics` (`tocsin_notification_ratelimit_*{integration}`).
//! State lives in memory and starts afresh when the config is reloaded.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;

use super::error::{FailureReason, NotifyError};
use crate::clock;
use crate::config::RateLimitConfig;
use crate::metrics::Metrics;

/// The most sends that wait for one integration's rate at once.
pub const MAX_QUEUE: usize = 10_000;

/// Keys kept before idle ones are dropped.
const RETAIN_AFTER: usize = 1024;

/// Governor's clock, read from tokio's (so it follows paused time in tests).
#[derive(Debug, Clone)]
pub struct TokioClock {
    /// The origin of the clock's nanoseconds.
    start: tokio::time::Instant,
}

impl Default for TokioClock {
    fn default() -> Self {
        TokioClock {
            start: clock::instant(),
        }
    }
}

impl Clock for TokioClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::from(clock::instant().duration_since(self.start))
    }
}

/// A default rate: `events` per `per`, bursts of `burst`.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    /// Sends per period.
    pub events: u32,
    /// The period.
    pub per: Duration,
    /// The largest burst.
    pub burst: u32,
}

/// PagerDuty: 120 events per minute per routing key.
pub const PAGERDUTY: Rate = Rate {
    events: 120,
    per: Duration::from_secs(60),
    burst: 120,
};

/// Slack: one message per second per channel, short bursts allowed.
pub const SLACK: Rate = Rate {
    events: 1,
    per: Duration::from_secs(1),
    burst: 3,
};

type Keyed = RateLimiter<String, HashMapStateStore<String>, TokioClock, NoOpMiddleware<Nanos>>;

/// The counters of one integration kind.
struct Counters {
    queue: Gauge,
    waits: Counter,
    wait_seconds: Counter<f64, std::sync::atomic::AtomicU64>,
    rejected: Counter,
}

/// One integration's limiter.
pub struct Limiter {
    /// None: no limit.
    limiter: Option<Keyed>,
    /// The limiter's clock.
    clock: TokioClock,
    /// Sends waiting now.
    waiting: Arc<AtomicUsize>,
    /// At most this many wait.
    max_queue: usize,
    /// Metrics.
    counters: Counters,
}

/// Decrements the queue depth when a wait ends, however it ends (success, timeout, shutdown).
struct Waiting<'a>(&'a Limiter);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::Relaxed);
        self.0.counters.queue.dec();
    }
}

fn quota(events: u32, per: Duration, burst: u32) -> Option<Quota> {
    let events = NonZeroU32::new(events)?;
    let q = Quota::with_period(per / events.get())?;
    Some(q.allow_burst(NonZeroU32::new(burst).unwrap_or(events)))
}

impl Limiter {
    /// The limiter of an integration: its config's override, else `default` (None: no limit).
    pub fn new(
        kind: &'static str,
        over: Option<&RateLimitConfig>,
        default: Option<Rate>,
        metrics: &Metrics,
    ) -> Limiter {
        let q = match (over, default) {
            (Some(o), _) => quota(o.events, o.per.std(), o.burst.unwrap_or(o.events)),
            (None, Some(d)) => quota(d.events, d.per, d.burst),
            (None, None) => None,
        };
        let labels = Metrics::integration(kind);
        let clock = TokioClock::default();
        Limiter {
            limiter: q.map(|q| RateLimiter::hashmap_with_clock(q, clock.clone())),
            clock,
            waiting: Arc::new(AtomicUsize::new(0)),
            max_queue: MAX_QUEUE,
            counters: Counters {
                queue: metrics.ratelimit_queue.get_or_create(&labels).clone(),
                waits: metrics.ratelimit_waits.get_or_create(&labels).clone(),
                wait_seconds: metrics
                    .ratelimit_wait_seconds
                    .get_or_create(&labels)
                    .clone(),
                rejected: metrics.ratelimit_rejected.get_or_create(&labels).clone(),
            },
        }
    }

    /// Waits until a send to `key` is within the rate. Fails (retryable, rate limited) when the
    /// queue is full.
    pub async fn acquire(&self, key: &str) -> Result<(), NotifyError> {
        let Some(l) = &self.limiter else {
            return Ok(());
        };
        if l.len() > RETAIN_AFTER {
            l.retain_recent();
        }
        let key = key.to_owned();
        let mut guard = None;
        let started = clock::instant();
        loop {
            match l.check_key(&key) {
                Ok(()) => break,
                Err(not_until) => {
                    if guard.is_none() {
                        if self.waiting.fetch_add(1, Ordering::Relaxed) >= self.max_queue {
                            self.waiting.fetch_sub(1, Ordering::Relaxed);
                            self.counters.rejected.inc();
                            return Err(NotifyError::retryable(
                                FailureReason::RateLimited,
                                format!(
                                    "{} notifications already wait for this integration's rate \
                                     limit",
                                    self.max_queue
                                ),
                            ));
                        }
                        self.counters.queue.inc();
                        guard = Some(Waiting(self));
                    }
                    tokio::time::sleep(not_until.wait_time_from(self.clock.now())).await;
                }
            }
        }
        if guard.is_some() {
            self.counters.waits.inc();
            self.counters
                .wait_seconds
                .inc_by(started.elapsed().as_secs_f64());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(metrics: &Metrics, rate: Rate) -> Arc<Limiter> {
        Arc::new(Limiter::new("slack", None, Some(rate), metrics))
    }

    #[tokio::test(start_paused = true)]
    async fn waits_for_the_rate_per_key() {
        let m = Metrics::new();
        let l = limiter(
            &m,
            Rate {
                events: 1,
                per: Duration::from_secs(1),
                burst: 1,
            },
        );
        let t0 = tokio::time::Instant::now();
        for _ in 0..3 {
            l.acquire("#ops").await.unwrap();
        }
        assert_eq!(t0.elapsed(), Duration::from_secs(2));
        // Another key has its own budget.
        l.acquire("#dev").await.unwrap();
        assert_eq!(t0.elapsed(), Duration::from_secs(2));
        let text = m.encode();
        assert!(
            text.contains("tocsin_notification_ratelimit_waits_total{integration=\"slack\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("tocsin_notification_ratelimit_queue{integration=\"slack\"} 0"),
            "{text}"
        );
        assert!(
            text.contains(
                "tocsin_notification_ratelimit_wait_seconds_total{integration=\"slack\"} 2"
            ),
            "{text}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn pagerduty_default_lets_a_minute_of_burst_through() {
        let m = Metrics::new();
        let l = limiter(&m, PAGERDUTY);
        let t0 = tokio::time::Instant::now();
        for _ in 0..120 {
            l.acquire("key").await.unwrap();
        }
        assert_eq!(t0.elapsed(), Duration::ZERO);
        l.acquire("key").await.unwrap();
        assert_eq!(t0.elapsed(), Duration::from_millis(500));
    }

    #[tokio::test(start_paused = true)]
    async fn a_full_queue_fails_as_rate_limited_and_the_depth_is_visible() {
        let m = Metrics::new();
        let mut l = Limiter::new(
            "pagerduty",
            None,
            Some(Rate {
                events: 1,
                per: Duration::from_secs(10),
                burst: 1,
            }),
            &m,
        );
        l.max_queue = 2;
        let l = Arc::new(l);
        l.acquire("k").await.unwrap();
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let l = Arc::clone(&l);
                tokio::spawn(async move { l.acquire("k").await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert!(
            m.encode()
                .contains("tocsin_notification_ratelimit_queue{integration=\"pagerduty\"} 2")
        );
        let e = l.acquire("k").await.unwrap_err();
        assert!(e.retry);
        assert_eq!(e.reason, FailureReason::RateLimited);
        for w in waiters {
            w.await.unwrap().unwrap();
        }
        assert!(
            m.encode().contains(
                "tocsin_notification_ratelimit_rejected_total{integration=\"pagerduty\"} 1"
            )
        );
        assert!(
            m.encode()
                .contains("tocsin_notification_ratelimit_queue{integration=\"pagerduty\"} 0")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_override_of_zero_turns_the_limit_off() {
        let m = Metrics::new();
        let off = RateLimitConfig {
            events: 0,
            per: "1s".parse().unwrap(),
            burst: None,
        };
        let l = Limiter::new("slack", Some(&off), Some(SLACK), &m);
        let t0 = tokio::time::Instant::now();
        for _ in 0..100 {
            l.acquire("#ops").await.unwrap();
        }
        assert_eq!(t0.elapsed(), Duration::ZERO);
    }
}
