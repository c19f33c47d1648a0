//! `GET /api/tocsin/v1/delivery`: the page-delivery SLI from the stored notification history,
//! so the figure survives restarts and covers time before Prometheus scraped.
//!
//! For a window of due times (`since`, default 30 days ago; `until`, default now) and optional
//! `receiver`, `integration` and `group` filters: how many notifications were due, how each
//! ended (delivered, suppressed, superseded, failed, still pending), how many were delivered
//! within `within` (default 60 s), the SLI (delivered within / owed, where owed leaves out the
//! suppressed and superseded ones, as the shipped recording rules do; null when nothing was
//! owed), the delivery-time percentiles (due to accepted, retries and restarts included), and
//! the same per receiver. `coveredSince` is the oldest due time still stored: the window never
//! reaches further back than `--data.retention`.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::SignedDuration;
use serde::Serialize;
use warp::http::StatusCode;
use warp::reply::Response;

use super::notifications::parse;
use super::{ApiState, Req, json};
use crate::clock;
use crate::nflog::history::{Filter, Outcome, Record};

/// The default window.
const DEFAULT_WINDOW: SignedDuration = SignedDuration::from_hours(30 * 24);
/// The default bound of a good delivery.
const DEFAULT_WITHIN: Duration = Duration::from_secs(60);

/// Counts and delivery times of a set of notifications.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tally {
    /// Due notifications.
    pub due: u64,
    /// Accepted by the service.
    pub delivered: u64,
    /// Accepted within the bound.
    pub delivered_within: u64,
    /// Held back by a silence, inhibition or time interval.
    pub suppressed: u64,
    /// Replaced by a newer notification of the group.
    pub superseded: u64,
    /// Given up.
    pub failed: u64,
    /// Not ended yet.
    pub pending: u64,
    /// Due minus suppressed minus superseded.
    pub owed: u64,
    /// `delivered_within / owed`; None when nothing was owed.
    pub sli: Option<f64>,
    /// Delivery-time percentiles in seconds (`p50`, `p90`, `p99`, `max`); empty when none was
    /// delivered.
    pub delivery_seconds: BTreeMap<&'static str, f64>,
    /// Delivery times seen (seconds), for the percentiles.
    #[serde(skip)]
    times: Vec<f64>,
}

impl Tally {
    /// Counts one record.
    pub fn add(&mut self, r: &Record, within: SignedDuration) {
        self.due += 1;
        match r.outcome {
            Outcome::Delivered => {
                self.delivered += 1;
                if r.delivered_within(within) {
                    self.delivered_within += 1;
                }
                if let Some(d) = r.delivery_time() {
                    self.times.push(d.as_secs_f64().max(0.0));
                }
            }
            Outcome::Suppressed => self.suppressed += 1,
            Outcome::Superseded => self.superseded += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Pending => self.pending += 1,
        }
    }

    /// Derives the owed count, the SLI and the percentiles.
    pub fn finish(mut self) -> Self {
        self.owed = self.due - self.suppressed - self.superseded;
        self.sli = (self.owed > 0).then(|| self.delivered_within as f64 / self.owed as f64);
        self.times.sort_by(f64::total_cmp);
        let n = self.times.len();
        if n > 0 {
            for (name, p) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)] {
                // Nearest rank.
                let rank = ((p * n as f64).ceil() as usize).clamp(1, n);
                self.delivery_seconds.insert(name, self.times[rank - 1]);
            }
            self.delivery_seconds.insert("max", self.times[n - 1]);
        }
        self
    }
}

/// The answer.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Delivery {
    since: String,
    until: String,
    within_seconds: f64,
    covered_since: Option<String>,
    #[serde(flatten)]
    total: Tally,
    receivers: BTreeMap<String, Tally>,
}

/// `GET /api/tocsin/v1/delivery`.
pub(super) fn get(state: &ApiState, req: &Req) -> Response {
    let q = match parse(&req.query) {
        Ok(q) => q,
        Err(r) => return r,
    };
    let now = clock::now();
    let until = q.filter.until.unwrap_or(now);
    let since = q
        .filter
        .since
        .unwrap_or_else(|| until.checked_sub(DEFAULT_WINDOW).unwrap_or(until));
    let within = q.within.unwrap_or(DEFAULT_WITHIN);
    let bound = SignedDuration::try_from(within).unwrap_or(SignedDuration::MAX);
    let filter = Filter {
        since: Some(since),
        until: Some(until),
        outcome: None,
        id: None,
        ..q.filter
    };
    let mut total = Tally::default();
    let mut receivers: BTreeMap<String, Tally> = BTreeMap::new();
    state.nflog.history().each(&filter, |r| {
        total.add(r, bound);
        receivers
            .entry(r.receiver.clone())
            .or_default()
            .add(r, bound);
    });
    let covered = state.nflog.history().oldest().map(|t| t.to_string());
    json(
        StatusCode::OK,
        &Delivery {
            since: since.to_string(),
            until: until.to_string(),
            within_seconds: within.as_secs_f64(),
            covered_since: covered,
            total: total.finish(),
            receivers: receivers
                .into_iter()
                .map(|(k, t)| (k, t.finish()))
                .collect(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nflog::ReceiverData;
    use jiff::Timestamp;

    fn rec(outcome: Outcome, took: i64) -> Record {
        let due = Timestamp::from_second(1_800_000_000).unwrap();
        Record {
            id: String::new(),
            group_key: "g".into(),
            receiver: "r".into(),
            integration: "pagerduty".into(),
            index: 0,
            kind: "firing".into(),
            firing: 1,
            resolved: 0,
            due_at: due,
            outcome,
            reason: String::new(),
            ended_at: Some(due + SignedDuration::from_secs(took)),
            attempts: Vec::new(),
            service_ids: ReceiverData::new(),
            state: 0,
        }
    }

    #[test]
    fn owed_leaves_out_suppressed_and_superseded_and_percentiles_rank() {
        let mut t = Tally::default();
        let within = SignedDuration::from_secs(60);
        for took in [1, 2, 3, 120] {
            t.add(&rec(Outcome::Delivered, took), within);
        }
        for o in [
            Outcome::Suppressed,
            Outcome::Superseded,
            Outcome::Failed,
            Outcome::Pending,
        ] {
            t.add(&rec(o, 0), within);
        }
        let t = t.finish();
        assert_eq!(
            (t.due, t.owed, t.delivered, t.delivered_within),
            (8, 6, 4, 3)
        );
        assert_eq!(t.sli, Some(0.5));
        assert_eq!(t.delivery_seconds["p50"], 2.0);
        assert_eq!(t.delivery_seconds["p90"], 120.0);
        assert_eq!(t.delivery_seconds["max"], 120.0);
        assert_eq!(Tally::default().finish().sli, None);
    }
}
