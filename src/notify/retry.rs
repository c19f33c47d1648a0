//! The retry loop shared by every integration, and its policy: exponential backoff with jitter,
//! `Retry-After` honoured, bounded by a total duration rather than by the group's flush interval
//! (so a slow receiver is retried across ticks instead of being cut off).
//!
//! [`Retrier::send`] is the loop: attempt, count, classify (the integration's [`NotifyError`]
//! says whether and when), wait, again. [`Backoff`] and [`parse_retry_after`] are pure.

use std::time::Duration;

use jiff::Timestamp;
use tokio_util::sync::CancellationToken;

use super::data::NotificationData;
use super::error::{FailureReason, NotifyError};
use super::integration::{Integration, Sent};
use super::sli::Due;
use crate::clock;
use crate::metrics::Metrics;

/// Sends one notification through one integration, retrying as its errors allow.
pub struct Retrier<'a> {
    /// Where attempts, failures and latencies are counted.
    pub metrics: &'a Metrics,
    /// How long one notification is retried before it is given up.
    pub max_retry: Duration,
    /// Cancelled at shutdown: the wait between attempts ends and the send is given up.
    pub cancel: &'a CancellationToken,
    /// Cancelled when a newer state of the group supersedes this flush: the attempt in
    /// progress (even one the receiver never answers) is dropped and the send abandoned.
    pub superseded: &'a CancellationToken,
    /// The due notification whose history records each attempt (None: not recorded).
    pub due: Option<&'a Due<'a>>,
}

impl Retrier<'_> {
    /// Attempts the send until it succeeds, fails permanently, would wait past `max_retry`, or
    /// shutdown or a newer state of the group cancels it. No attempt outlives `max_retry`
    /// either (each request also has its own deadline, `NotificationData::timeout`): one that
    /// has not answered by then fails as `contextDeadlineExceeded`. Counts
    /// `notifications_total` once, every attempt in `notification_requests_total` (and its
    /// latency), and a final failure in `notifications_failed_total{reason}`. Returns the last
    /// error on failure.
    pub async fn send(
        &self,
        receiver: &str,
        integ: &Integration,
        data: &NotificationData,
    ) -> Result<Sent, NotifyError> {
        let kind = integ.kind;
        let labels = Metrics::integration(kind);
        self.metrics.notifications.get_or_create(&labels).inc();
        let started = clock::instant();
        let mut backoff =
            Backoff::new(started.elapsed().as_nanos() as u64 ^ data.now.as_nanosecond() as u64);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            self.metrics
                .notification_requests
                .get_or_create(&labels)
                .inc();
            let t0 = clock::instant();
            let wall0 = clock::now();
            let record = |r: Result<&Sent, &NotifyError>| {
                if let Some(d) = self.due {
                    d.attempt(wall0, r);
                }
            };
            let left = self
                .max_retry
                .saturating_sub(started.elapsed())
                .max(MIN_ATTEMPT);
            let res = tokio::select! {
                biased;
                _ = self.cancel.cancelled() => {
                    self.failed(kind, FailureReason::Canceled);
                    let e = NotifyError::permanent(
                        FailureReason::Canceled,
                        "shutting down".to_owned(),
                    );
                    record(Err(&e));
                    return Err(e);
                }
                _ = self.superseded.cancelled() => {
                    self.failed(kind, FailureReason::Canceled);
                    record(Err(&NotifyError::permanent(
                        FailureReason::Canceled,
                        "abandoned: a newer state of the group is sent instead",
                    )));
                    tracing::warn!(
                        receiver,
                        integration = kind,
                        attempt,
                        "Notify abandoned: a newer state of the group is sent instead."
                    );
                    return Err(NotifyError::permanent(
                        FailureReason::Canceled,
                        "superseded by a newer state of the group".to_owned(),
                    ));
                }
                r = tokio::time::timeout(left, integ.notify(data)) => r.unwrap_or_else(|_| {
                    Err(NotifyError::retryable(
                        FailureReason::DeadlineExceeded,
                        format!(
                            "no answer within {} (--notify.max-retry-duration)",
                            crate::model::Duration(left)
                        ),
                    ))
                }),
            };
            self.metrics
                .notification_latency
                .get_or_create(&labels)
                .observe(t0.elapsed().as_secs_f64());
            record(res.as_ref());
            let err = match res {
                Ok(sent) => {
                    tracing::debug!(receiver, integration = kind, attempt, "Notify success.");
                    return Ok(sent);
                }
                Err(e) => e,
            };
            self.metrics
                .notification_requests_failed
                .get_or_create(&labels)
                .inc();
            let wait = backoff.next_wait(err.retry_after);
            let give_up = !err.retry || started.elapsed() + wait > self.max_retry;
            if give_up {
                self.failed(kind, err.reason);
                tracing::error!(
                    receiver,
                    integration = kind,
                    attempt,
                    retryable = err.retry,
                    error = %err,
                    "Notify failed; giving up."
                );
                return Err(err);
            }
            tracing::warn!(
                receiver,
                integration = kind,
                attempt,
                wait_ms = wait.as_millis() as u64,
                error = %err,
                "Notify failed; retrying."
            );
            tokio::select! {
                biased;
                _ = self.cancel.cancelled() => {
                    self.failed(kind, FailureReason::Canceled);
                    return Err(NotifyError::permanent(
                        FailureReason::Canceled,
                        format!("shutting down; last error: {err}"),
                    ));
                }
                _ = self.superseded.cancelled() => {
                    self.failed(kind, FailureReason::Canceled);
                    return Err(NotifyError::permanent(
                        FailureReason::Canceled,
                        format!("superseded by a newer state of the group; last error: {err}"),
                    ));
                }
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Counts a final failure.
    fn failed(&self, kind: &'static str, reason: FailureReason) {
        let mut labels = Metrics::integration(kind);
        labels.push(("reason", reason.as_str().to_owned()));
        self.metrics
            .notifications_failed
            .get_or_create(&labels)
            .inc();
    }
}

/// The least time an attempt is given, even with the retry budget nearly spent.
pub const MIN_ATTEMPT: Duration = Duration::from_secs(1);

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
