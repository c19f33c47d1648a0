//! Ingest limits of tocsin's own (Alertmanager has none): alerts per request, labels per alert,
//! the size of one label, and the ingest rate per client address (governor, keyed by IP). Each
//! refusal names its flag and is counted in `tocsin_requests_limited_total{limit="<flag>"}`.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};

use crate::metrics::Metrics;

/// The ingest limits' flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IngestLimits {
    /// `--alerts.max-per-request`: alerts in one POST (413 above); 0 for none.
    pub max_alerts: usize,
    /// `--alerts.max-labels`: labels on one alert (that alert is refused above); 0 for none.
    pub max_labels: usize,
    /// `--alerts.max-label-bytes`: bytes of one label name or value (that alert is refused
    /// above); 0 for none.
    pub max_label_bytes: usize,
    /// `--web.ingest-rate-limit`: alert POSTs per second per client address (429 above); 0 for
    /// none.
    pub rate: u32,
    /// `--web.ingest-rate-burst`: POSTs a client may send at once before the rate applies (0:
    /// as many as the rate).
    pub burst: u32,
}

impl Default for IngestLimits {
    fn default() -> Self {
        IngestLimits {
            max_alerts: 10_000,
            max_labels: 256,
            max_label_bytes: 256 << 10,
            rate: 0,
            burst: 0,
        }
    }
}

impl IngestLimits {
    /// Why `labels` breaks the label limits, if it does.
    pub fn check_labels(&self, labels: &crate::model::LabelSet) -> Result<(), String> {
        if self.max_labels > 0 && labels.len() > self.max_labels {
            return Err(format!(
                "{} labels, more than --alerts.max-labels={}",
                labels.len(),
                self.max_labels
            ));
        }
        if self.max_label_bytes > 0 {
            for (name, value) in labels.iter() {
                let size = name.len().max(value.len());
                if size > self.max_label_bytes {
                    let what = if name.len() >= value.len() {
                        "name"
                    } else {
                        "value"
                    };
                    let shown: String = name.chars().take(64).collect();
                    return Err(format!(
                        "label {shown:?}: {what} of {size} bytes, more than \
                         --alerts.max-label-bytes={}",
                        self.max_label_bytes
                    ));
                }
            }
        }
        Ok(())
    }
}

type Keyed = governor::DefaultKeyedRateLimiter<IpAddr>;

/// The per-client ingest rate limiter (`--web.ingest-rate-limit`).
pub struct IngestRate {
    limiter: Option<Keyed>,
    rate: u32,
    checks: AtomicU64,
}

/// Clients remembered before idle ones are forgotten.
const KEEP_CLIENTS: usize = 10_000;

impl IngestRate {
    /// `rate` POSTs per second per address with bursts of `burst` (0: `rate`); none when `rate`
    /// is 0.
    pub fn new(rate: u32, burst: u32) -> Self {
        let limiter = NonZeroU32::new(rate).map(|r| {
            let burst = NonZeroU32::new(burst).unwrap_or(r);
            governor::RateLimiter::keyed(governor::Quota::per_second(r).allow_burst(burst))
        });
        IngestRate {
            limiter,
            rate,
            checks: AtomicU64::new(0),
        }
    }

    /// Ok when `ip` may POST now; otherwise how long it should wait.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        let Some(l) = &self.limiter else {
            return Ok(());
        };
        // Forget idle clients now and then, so a scan of many addresses holds no memory.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 && l.len() > KEEP_CLIENTS {
            l.retain_recent();
            l.shrink_to_fit();
        }
        l.check_key(&ip)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// The refusal: 429 with `Retry-After` (whole seconds, at least 1), naming the flag.
    pub fn refusal(&self, wait: Duration) -> warp::reply::Response {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let secs = secs.max(1);
        let mut r = super::swagger_error(
            warp::http::StatusCode::TOO_MANY_REQUESTS,
            429,
            &format!(
                "more than {} alert POSTs per second from this address \
                 (--web.ingest-rate-limit); retry in {secs}s",
                self.rate
            ),
        );
        r.headers_mut()
            .insert("retry-after", warp::http::HeaderValue::from(secs));
        r
    }
}

/// A refusal with a body that says why: Alertmanager's JSON error shape under `/api/v2`, plain
/// text elsewhere.
pub fn refusal(path: &str, status: warp::http::StatusCode, message: &str) -> warp::reply::Response {
    let (content_type, body) = refusal_body(path, status, message);
    super::raw(status, content_type, body)
}

/// The content type and body of [`refusal`] (also written raw by [`super::head`]).
pub fn refusal_body(
    path: &str,
    status: warp::http::StatusCode,
    message: &str,
) -> (&'static str, Vec<u8>) {
    if path.contains("/api/v2/") {
        let body = serde_json::json!({"code": status.as_u16(), "message": message});
        ("application/json", body.to_string().into_bytes())
    } else {
        (
            "text/plain; charset=utf-8",
            format!("{message}\n").into_bytes(),
        )
    }
}

/// Counts one refusal by the limit `flag` (its name without the dashes).
pub fn count(metrics: &Metrics, flag: &str) {
    metrics
        .requests_limited
        .get_or_create(&vec![("limit", flag.to_owned())])
        .inc();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LabelSet;

    #[test]
    fn label_limits_name_the_flag() {
        let l = IngestLimits {
            max_labels: 2,
            max_label_bytes: 5,
            ..IngestLimits::default()
        };
        let mut ls = LabelSet::default();
        ls.insert("a", "12345");
        assert_eq!(l.check_labels(&ls), Ok(()));
        ls.insert("b", "123456");
        assert_eq!(
            l.check_labels(&ls).unwrap_err(),
            "label \"b\": value of 6 bytes, more than --alerts.max-label-bytes=5"
        );
        ls.insert("b", "1");
        ls.insert("c", "1");
        assert_eq!(
            l.check_labels(&ls).unwrap_err(),
            "3 labels, more than --alerts.max-labels=2"
        );
        let none = IngestLimits {
            max_labels: 0,
            max_label_bytes: 0,
            ..IngestLimits::default()
        };
        assert_eq!(none.check_labels(&ls), Ok(()));
    }

    #[test]
    fn the_rate_is_per_client_address() {
        let r = IngestRate::new(1, 2);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        assert!(r.check(a).is_ok());
        assert!(r.check(a).is_ok());
        let wait = r.check(a).unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        assert!(r.check(b).is_ok());
        let resp = r.refusal(wait);
        assert_eq!(resp.status(), 429);
        assert_eq!(resp.headers()["retry-after"], "1");
        assert!(IngestRate::new(0, 0).check(a).is_ok());
    }
}
