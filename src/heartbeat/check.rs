//! One check: its settings ([`CheckSpec`], from the config) and its state ([`CheckState`], what
//! pings did), with healthchecks.io's rules (integrations reference §5.1) plus the features its
//! users ask for most: N consecutive failures, a minimum run time, "ran too often", keywords.
//!
//! Pure: every method takes `now` (or the ping's time) and returns what changed; the registry
//! turns that into alerts. The state serialises (serde) so a store can persist it.

use std::collections::VecDeque;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::config::{HeartbeatConfig, Secret};
use crate::model::{LabelSet, Matcher, Schedule};

/// How many pings a check remembers (`GET .../pings`).
pub const PING_HISTORY: usize = 100;
/// How many bytes of a ping body the history keeps per ping (the last message is kept whole).
pub const BODY_EXCERPT: usize = 200;
/// How many concurrent runs (distinct `rid`s) a check tracks; the oldest is dropped past it.
pub const MAX_RUNS: usize = 10;

/// When a ping is expected.
#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    /// Within this long of the previous one.
    Period(SignedDuration),
    /// At each of these times.
    Schedule(Schedule),
}

/// A check's settings, from its `heartbeats:` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckSpec {
    /// The check's name (a lowercase slug).
    pub name: String,
    /// When pings are expected.
    pub expect: Expect,
    /// How late a ping may be, and how long a run may last.
    pub grace: SignedDuration,
    /// Labels of the alert (without `alertname` and `heartbeat`).
    pub labels: LabelSet,
    /// Annotations of the alert.
    pub annotations: LabelSet,
    /// The token pings must carry.
    pub token: Option<Secret<String>>,
    /// Received alerts matching these count as pings (empty: pings only).
    pub matchers: Vec<Matcher>,
    /// Consecutive failures before the check goes down.
    pub failures_before_alert: u32,
    /// A shorter run is a failure.
    pub min_duration: Option<SignedDuration>,
    /// More successes than this per period is a failure.
    pub max_pings_per_period: Option<u32>,
    /// A success body must contain one of these (when set).
    pub success_keywords: Vec<String>,
    /// A success body containing one of these is a failure.
    pub failure_keywords: Vec<String>,
}

fn signed(d: crate::model::Duration) -> SignedDuration {
    SignedDuration::try_from(d.std()).unwrap_or(SignedDuration::MAX)
}

impl CheckSpec {
    /// The settings of a validated config entry.
    pub fn from_config(c: &HeartbeatConfig) -> Self {
        let expect = match (&c.cron, c.period) {
            (Some(s), _) => Expect::Schedule(s.clone()),
            (None, p) => Expect::Period(signed(p.unwrap_or_default())),
        };
        let map = |m: &std::collections::BTreeMap<String, String>| {
            m.iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect::<LabelSet>()
        };
        CheckSpec {
            name: c.name.clone(),
            expect,
            grace: signed(c.grace),
            labels: map(&c.labels),
            annotations: map(&c.annotations),
            token: c.token.clone(),
            matchers: c.matchers.clone(),
            failures_before_alert: c.failures_before_alert.max(1),
            min_duration: c.min_duration.map(signed),
            max_pings_per_period: c.max_pings_per_period,
            success_keywords: c.success_keywords.clone(),
            failure_keywords: c.failure_keywords.clone(),
        }
    }

    /// The expected time of the next ping after one at `t` (`None`: a schedule that never
    /// fires again).
    pub fn due_after(&self, t: Timestamp) -> Option<Timestamp> {
        match &self.expect {
            Expect::Period(p) => t.checked_add(*p).ok(),
            Expect::Schedule(s) => s.next_after(t),
        }
    }

    /// The period or schedule as written.
    pub fn describe(&self) -> String {
        match &self.expect {
            Expect::Period(p) => crate::model::Duration(p.unsigned_abs()).to_string(),
            Expect::Schedule(s) => s.to_string(),
        }
    }
}

/// What a ping says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PingKind {
    /// `/ping/<name>`: the job succeeded (or a long-running process is alive).
    Success,
    /// `/ping/<name>/start`: a run began.
    Start,
    /// `/ping/<name>/fail`: the job failed.
    Fail,
    /// `/ping/<name>/log`: recorded only.
    Log,
    /// `/ping/<name>/<code>`: 0 is a success, anything else a failure.
    Exit(u8),
    /// A received alert matched the check's `alert_matchers`.
    Alert,
}

/// One ping as the API received it.
#[derive(Debug, Clone)]
pub struct Ping {
    /// What it says.
    pub kind: PingKind,
    /// When it arrived.
    pub at: Timestamp,
    /// The run id (`?rid=`), pairing a start with its finish.
    pub rid: Option<String>,
    /// The body (already cut to the size limit).
    pub body: String,
    /// Where it came from (address, or `alert`).
    pub source: String,
}

/// A ping as the history keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PingRecord {
    /// What it said.
    pub kind: PingKind,
    /// When it arrived.
    pub at: Timestamp,
    /// Where it came from.
    pub source: String,
    /// Its run id.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rid: Option<String>,
    /// The run's duration, when it finished one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub duration_seconds: Option<f64>,
    /// The first bytes of its body.
    #[serde(skip_serializing_if = "String::is_empty", default)]
    pub body: String,
    /// Why a success counted as a failure, or why a failure did not alert yet.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub note: Option<String>,
}

/// A check's state as reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// No ping yet (or resumed after a pause).
    New,
    /// Pinged in time.
    Up,
    /// A run is in progress (started, not yet finished, within grace).
    Started,
    /// Late, within the grace time.
    Grace,
    /// Late past the grace time, failed, or a run outlasted the grace time: alerting.
    Down,
    /// Paused: no alerts until resumed or pinged.
    Paused,
}

impl Status {
    /// Every status, in display order.
    pub const ALL: [Status; 6] = [
        Status::New,
        Status::Up,
        Status::Started,
        Status::Grace,
        Status::Down,
        Status::Paused,
    ];

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Up => "up",
            Status::Started => "started",
            Status::Grace => "grace",
            Status::Down => "down",
            Status::Paused => "paused",
        }
    }
}

/// The state a check stores (healthchecks.io stores new/up/down/paused; grace and started are
/// derived from times).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stored {
    /// No ping yet.
    New,
    /// Pinged; deadlines apply.
    Up,
    /// Down (alert raised).
    Down,
    /// Paused.
    Paused,
}

/// A started run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// Its run id (`None`: started without `rid`).
    pub rid: Option<String>,
    /// When it started.
    pub started: Timestamp,
}

/// Which alert a down check raised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlertKind {
    /// No success in time (or a run outlasted the grace time).
    HeartbeatMissing,
    /// The job reported failure (or a success counted as one).
    HeartbeatFailed,
}

impl AlertKind {
    /// The `alertname`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::HeartbeatMissing => "HeartbeatMissing",
            AlertKind::HeartbeatFailed => "HeartbeatFailed",
        }
    }
}

/// The alert a down check has raised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Raised {
    /// Which alert.
    pub kind: AlertKind,
    /// When it started (the missed deadline, or the failing ping).
    pub since: Timestamp,
    /// The summary annotation.
    pub summary: String,
}

/// What a transition asks of the alert store.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Put this alert, firing.
    Raise(Raised),
    /// Resolve this alert at the given time.
    Resolve(Raised, Timestamp),
}

/// Everything a check remembers. Serialisable for a store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckState {
    /// The stored status.
    pub stored: Stored,
    /// The last run that counts toward the deadline (a success, or a failure below
    /// `failures_before_alert`).
    pub last_ping: Option<Timestamp>,
    /// The last success.
    pub last_success: Option<Timestamp>,
    /// When the next ping is expected (from `last_ping`); cached because a schedule search is
    /// not free.
    pub due: Option<Timestamp>,
    /// Runs in progress.
    pub runs: Vec<Run>,
    /// The duration of the last finished run.
    pub last_duration: Option<SignedDuration>,
    /// The body of the last ping that had one.
    pub last_message: String,
    /// Consecutive failures.
    pub failures: u32,
    /// Recent successes and the scheduled time each one precedes (for `max_pings_per_period`).
    pub recent: VecDeque<(Timestamp, Option<Timestamp>)>,
    /// The last [`PING_HISTORY`] pings, oldest first (stored apart from the rest: see
    /// `heartbeat::encode_core`).
    #[serde(default)]
    pub pings: VecDeque<PingRecord>,
    /// Pings received in all.
    pub n_pings: u64,
    /// The alert raised, while down.
    pub raised: Option<Raised>,
    /// When the last ping, pause or resume happened: in a cluster, the newest such event's
    /// state wins (`heartbeat::replica`). A deadline passing is not an event (every peer
    /// reaches it alone).
    #[serde(default)]
    pub changed: Option<Timestamp>,
}

impl Default for CheckState {
    fn default() -> Self {
        CheckState {
            stored: Stored::New,
            last_ping: None,
            last_success: None,
            due: None,
            runs: Vec::new(),
            last_duration: None,
            last_message: String::new(),
            failures: 0,
            recent: VecDeque::new(),
            pings: VecDeque::new(),
            n_pings: 0,
            raised: None,
            changed: None,
        }
    }
}

fn excerpt(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

fn fmt_ts(t: Option<Timestamp>) -> String {
    t.map_or_else(|| "never".to_owned(), |t| t.to_string())
}

impl CheckState {
    /// When the check goes down if nothing else happens: the expected time plus grace (once up),
    /// or a run's start plus grace. `None` while new (without runs), down or paused.
    pub fn down_at(&self, spec: &CheckSpec) -> Option<Timestamp> {
        if matches!(self.stored, Stored::Down | Stored::Paused) {
            return None;
        }
        let late = match self.stored {
            Stored::Up => self.due.and_then(|d| d.checked_add(spec.grace).ok()),
            _ => None,
        };
        let run = self
            .runs
            .iter()
            .filter_map(|r| r.started.checked_add(spec.grace).ok())
            .min();
        match (late, run) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The status at `now`.
    pub fn status(&self, spec: &CheckSpec, now: Timestamp) -> Status {
        match self.stored {
            Stored::Paused => return Status::Paused,
            Stored::Down => return Status::Down,
            _ => {}
        }
        if self.down_at(spec).is_some_and(|d| now >= d) {
            return Status::Down;
        }
        if !self.runs.is_empty() {
            return Status::Started;
        }
        if self.stored == Stored::New {
            return Status::New;
        }
        if self.due.is_some_and(|d| now >= d) {
            Status::Grace
        } else {
            Status::Up
        }
    }

    /// Recomputes the cached expected time (after a ping, or when the spec changed).
    pub fn refresh_due(&mut self, spec: &CheckSpec) {
        self.due = self.last_ping.and_then(|t| spec.due_after(t));
    }

    fn record(&mut self, p: &Ping, duration: Option<SignedDuration>, note: Option<String>) {
        if self.pings.len() >= PING_HISTORY {
            self.pings.pop_front();
        }
        self.pings.push_back(PingRecord {
            kind: p.kind,
            at: p.at,
            source: p.source.clone(),
            rid: p.rid.clone(),
            duration_seconds: duration.map(|d| d.as_secs_f64()),
            body: excerpt(&p.body, BODY_EXCERPT),
            note,
        });
    }

    /// Takes the run this finishing ping closes: the one with its `rid`, or without `rid` the
    /// run started without one (healthchecks.io pairs those by order too).
    fn finish_run(&mut self, rid: Option<&str>) -> Option<Run> {
        let i = self.runs.iter().position(|r| r.rid.as_deref() == rid)?;
        Some(self.runs.remove(i))
    }

    /// Why a success counts as a failure, if it does.
    fn judge(
        &mut self,
        spec: &CheckSpec,
        p: &Ping,
        duration: Option<SignedDuration>,
    ) -> Option<String> {
        if p.kind != PingKind::Alert {
            if let Some(k) = spec
                .failure_keywords
                .iter()
                .find(|k| p.body.contains(k.as_str()))
            {
                return Some(format!("the body contains the failure keyword {k:?}"));
            }
            if !spec.success_keywords.is_empty()
                && !spec
                    .success_keywords
                    .iter()
                    .any(|k| p.body.contains(k.as_str()))
            {
                return Some("the body contains none of the success keywords".to_owned());
            }
            if let (Some(min), Some(d)) = (spec.min_duration, duration)
                && d < min
            {
                return Some(format!(
                    "the run took {:.3}s, shorter than min_duration {}",
                    d.as_secs_f64(),
                    crate::model::Duration(min.unsigned_abs())
                ));
            }
        }
        let max = spec.max_pings_per_period?;
        let slot = match &spec.expect {
            Expect::Period(_) => None,
            Expect::Schedule(s) => s.next_after(p.at),
        };
        if self.recent.len() > max as usize {
            self.recent.pop_front();
        }
        self.recent.push_back((p.at, slot));
        let n = match &spec.expect {
            Expect::Period(period) => {
                let from = p.at.checked_sub(*period).unwrap_or(p.at);
                self.recent.iter().filter(|(t, _)| *t > from).count()
            }
            Expect::Schedule(_) => self.recent.iter().filter(|(_, s)| *s == slot).count(),
        };
        (n > max as usize).then(|| {
            let window = match &spec.expect {
                Expect::Period(_) => "one period",
                Expect::Schedule(_) => "one scheduled interval",
            };
            format!("{n} successful pings within {window}, more than max_pings_per_period {max}")
        })
    }

    /// Applies a ping; returns the alert changes.
    pub fn apply(&mut self, spec: &CheckSpec, p: &Ping) -> Vec<Effect> {
        self.n_pings += 1;
        self.changed = Some(self.changed.map_or(p.at, |c| c.max(p.at)));
        if !p.body.is_empty() {
            self.last_message.clone_from(&p.body);
        }
        match p.kind {
            PingKind::Log => {
                self.record(p, None, None);
                Vec::new()
            }
            PingKind::Start => {
                if let Some(i) = self.runs.iter().position(|r| r.rid == p.rid) {
                    self.runs.remove(i);
                }
                if self.runs.len() >= MAX_RUNS {
                    self.runs.remove(0);
                }
                self.runs.push(Run {
                    rid: p.rid.clone(),
                    started: p.at,
                });
                self.record(p, None, None);
                Vec::new()
            }
            PingKind::Success | PingKind::Exit(0) | PingKind::Alert => {
                let run = self.finish_run(p.rid.as_deref());
                let duration = run.map(|r| p.at.duration_since(r.started));
                match self.judge(spec, p, duration) {
                    Some(reason) => self.fail(spec, p, duration, reason),
                    None => {
                        self.record(p, duration, None);
                        self.last_duration = duration.or(self.last_duration);
                        self.succeed(spec, p.at)
                    }
                }
            }
            PingKind::Fail | PingKind::Exit(_) => {
                let run = self.finish_run(p.rid.as_deref());
                let duration = run.map(|r| p.at.duration_since(r.started));
                let reason = match p.kind {
                    PingKind::Exit(code) => format!("the job exited with code {code}"),
                    _ => "the job reported failure".to_owned(),
                };
                self.fail(spec, p, duration, reason)
            }
        }
    }

    fn succeed(&mut self, spec: &CheckSpec, at: Timestamp) -> Vec<Effect> {
        self.stored = Stored::Up;
        self.last_ping = Some(at);
        self.last_success = Some(at);
        self.failures = 0;
        self.refresh_due(spec);
        self.raised
            .take()
            .map(|r| Effect::Resolve(r, at))
            .into_iter()
            .collect()
    }

    fn fail(
        &mut self,
        spec: &CheckSpec,
        p: &Ping,
        duration: Option<SignedDuration>,
        reason: String,
    ) -> Vec<Effect> {
        self.failures = self.failures.saturating_add(1);
        self.last_ping = Some(p.at);
        self.last_duration = duration.or(self.last_duration);
        self.refresh_due(spec);
        let mut out = Vec::new();
        if self.failures < spec.failures_before_alert {
            self.record(
                p,
                duration,
                Some(format!(
                    "failure {} of {} before alerting: {reason}",
                    self.failures, spec.failures_before_alert
                )),
            );
            // A failed run is still a run: the check is no longer missing.
            self.stored = Stored::Up;
            if let Some(r) = self
                .raised
                .take_if(|r| r.kind == AlertKind::HeartbeatMissing)
            {
                out.push(Effect::Resolve(r, p.at));
            }
            return out;
        }
        self.record(p, duration, Some(reason.clone()));
        self.stored = Stored::Down;
        let summary = if self.failures > 1 {
            format!(
                "Heartbeat {} failed {} times in a row; last: {reason} at {}",
                spec.name, self.failures, p.at
            )
        } else {
            format!("Heartbeat {} failed: {reason} at {}", spec.name, p.at)
        };
        match self.raised.take() {
            Some(r) if r.kind == AlertKind::HeartbeatFailed => {
                // Still failing: keep the alert, refresh its summary.
                let r = Raised { summary, ..r };
                self.raised = Some(r.clone());
                out.push(Effect::Raise(r));
            }
            other => {
                if let Some(r) = other {
                    out.push(Effect::Resolve(r, p.at));
                }
                let r = Raised {
                    kind: AlertKind::HeartbeatFailed,
                    since: p.at,
                    summary,
                };
                self.raised = Some(r.clone());
                out.push(Effect::Raise(r));
            }
        }
        out
    }

    /// The deadline passed (`now >= down_at`): the check goes down with `HeartbeatMissing`.
    pub fn expire(&mut self, spec: &CheckSpec, now: Timestamp) -> Vec<Effect> {
        let Some(at) = self.down_at(spec).filter(|d| now >= *d) else {
            return Vec::new();
        };
        let late_run = self
            .runs
            .iter()
            .filter(|r| r.started.checked_add(spec.grace).is_ok_and(|d| d <= now))
            .min_by_key(|r| r.started)
            .cloned();
        let late = self.due.filter(|_| self.stored == Stored::Up);
        let summary = match (&late_run, late) {
            (Some(run), d) if d.is_none_or(|d| d.checked_add(spec.grace).is_ok_and(|x| x > at)) => {
                format!(
                    "Heartbeat {}: the run started at {}{} has not finished within the grace time {}",
                    spec.name,
                    run.started,
                    run.rid
                        .as_deref()
                        .map(|r| format!(" (rid {r})"))
                        .unwrap_or_default(),
                    crate::model::Duration(spec.grace.unsigned_abs())
                )
            }
            _ => format!(
                "Heartbeat {}: no ping since {}; one was expected by {} (schedule {}, grace {})",
                spec.name,
                fmt_ts(self.last_ping),
                fmt_ts(late),
                spec.describe(),
                crate::model::Duration(spec.grace.unsigned_abs())
            ),
        };
        self.runs.clear();
        self.stored = Stored::Down;
        let r = Raised {
            kind: AlertKind::HeartbeatMissing,
            since: at,
            summary,
        };
        self.raised = Some(r.clone());
        vec![Effect::Raise(r)]
    }

    /// Pauses: no deadlines, and a raised alert resolves.
    pub fn pause(&mut self, now: Timestamp) -> Vec<Effect> {
        self.changed = Some(self.changed.map_or(now, |c| c.max(now)));
        self.stored = Stored::Paused;
        self.runs.clear();
        self.raised
            .take()
            .map(|r| Effect::Resolve(r, now))
            .into_iter()
            .collect()
    }

    /// Resumes a paused check as new (no deadline until the next ping), as healthchecks.io
    /// does.
    pub fn resume(&mut self, now: Timestamp) {
        if self.stored == Stored::Paused {
            self.changed = Some(self.changed.map_or(now, |c| c.max(now)));
            self.stored = Stored::New;
            self.last_ping = None;
            self.due = None;
        }
    }
}
