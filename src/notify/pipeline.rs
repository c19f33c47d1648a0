//! The pipeline: what happens to a flushed aggregation group, in DESIGN.md §2's order.
//!
//! ```text
//! Notifier::flush(ctx, alerts)
//!   1. mute stages (mute/): inhibit -> time intervals -> silence     nothing left: done, ok
//!      (except the resolve of a held-back alert an integration was told is firing)
//!   2. per integration of the receiver, concurrently (flush_integration):
//!        dedup against the nflog (dedup.rs)                           nothing new: done
//!          (all held back and news to it: one due notification, suppressed; sli.rs)
//!        -> due (sli.rs)
//!        -> in a cluster, claim the send (claim.rs)     another peer's send covers it: done,
//!                                                       due delivered by a peer
//!        -> retry + send (retry.rs, the integration's notify) -> its outcome
//!        -> record in the nflog, with what the integration asked to keep
//!   3. the outcome: every integration ok? when is the next repeat due?
//! ```
//!
//! `dispatch` builds a [`FlushCtx`] and calls [`Notifier::flush`]; it drops the flushed resolved
//! alerts when the outcome is ok, and schedules the repeat.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use tokio_util::sync::CancellationToken;

use super::claim::{Acquired, Claims};
use super::data::NotificationData;
use super::dedup::needs_update;
use super::error::BuildError;
use super::http::ClientCache;
use super::integration::Integration;
use super::mute::{MuteStages, SuppressReason};
use super::retry::Retrier;
use super::sli::{Due, Kind, Notice, Outcome, SuppressedStates};
use crate::clock;
use crate::config::{ConfigWarning, Receiver};
use crate::metrics::Metrics;
use crate::model::{Alert, LabelSet};
use crate::nflog::{Nflog, NflogEntry, NflogKey};
use crate::template::Templates;

/// Everything the pipeline needs to know about one flush (no bag of values).
#[derive(Debug, Clone)]
pub struct FlushCtx {
    /// The receiver name.
    pub receiver: Arc<str>,
    /// The group key (`{}/{...}:{...}`).
    pub group_key: Arc<str>,
    /// The group's labels.
    pub group_labels: LabelSet,
    /// The route's repeat interval.
    pub repeat_interval: SignedDuration,
    /// The route's `active_time_intervals` (names in the config's `time_intervals`).
    pub active_time_intervals: Arc<[String]>,
    /// The route's `mute_time_intervals`.
    pub mute_time_intervals: Arc<[String]>,
    /// The route's `group_interval`: a request whose integration sets no `timeout` gets this
    /// long, at least [`MIN_REQUEST_TIMEOUT`] (as Alertmanager bounds a flush).
    pub group_interval: Duration,
    /// The flush (tick) time.
    pub now: Timestamp,
    /// Fires when a newer state of the group supersedes this flush: its sends are abandoned.
    pub cancel: CancellationToken,
}

/// The shortest default request deadline (Alertmanager's `notify.MinTimeout`).
pub const MIN_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A receiver ready to send.
pub struct ReceiverRuntime {
    /// The receiver name.
    pub name: Arc<str>,
    /// Its integrations, in config order.
    pub integrations: Vec<Integration>,
    /// `send_resolved_when_muted` (tocsin, default true): an integration that was told an alert
    /// fires is told when it resolves, even if a silence, inhibition or mute window holds it
    /// back then.
    pub send_resolved_when_muted: bool,
}

/// The receivers built from a config, and what in them tocsin does not send to.
pub struct BuiltReceivers {
    /// One per configured receiver.
    pub receivers: Vec<ReceiverRuntime>,
    /// Warnings from building the integrations (logged at start-up and reload, printed by
    /// `check-config`; none today: every typed `*_configs` list sends).
    pub warnings: Vec<ConfigWarning>,
}

/// Settings of the notifier that come from flags, not from the config file.
#[derive(Debug, Clone)]
pub struct NotifySettings {
    /// The external URL put in payloads and links.
    pub external_url: String,
    /// How long one notification is retried before it is given up.
    pub max_retry: Duration,
    /// How long nflog entries live at most (`--data.retention`).
    pub retention: SignedDuration,
}

/// What a flush achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlushOutcome {
    /// Whether every integration succeeded (or had nothing to do).
    pub ok: bool,
    /// When the earliest repeat notification is due, if any alert is firing.
    pub next_repeat: Option<Timestamp>,
    /// When what holds the group back next ends (the route's current or next mute window, a
    /// silence holding back one of its alerts; see `MuteStages::next_release`): the group is
    /// flushed then, so a still-firing group is notified at once.
    pub next_release: Option<Timestamp>,
}

/// The pipeline for all receivers.
pub struct Notifier {
    /// Receivers by name.
    receivers: HashMap<String, Arc<ReceiverRuntime>>,
    /// Inhibit, time intervals, silence.
    mute: MuteStages,
    /// The notification log.
    nflog: Arc<Nflog>,
    /// Metrics.
    metrics: Arc<Metrics>,
    /// Flag settings.
    settings: NotifySettings,
    /// Cancelled at shutdown: retries stop.
    cancel: CancellationToken,
    /// Held-back states already counted as suppressed due notifications.
    suppressed: SuppressedStates,
    /// In a cluster: send claims, so that one peer sends each notification.
    claims: Option<Arc<Claims>>,
}

impl Notifier {
    /// A notifier over the given receivers, with mute stages that hold nothing back.
    pub fn new(
        receivers: Vec<ReceiverRuntime>,
        nflog: Arc<Nflog>,
        metrics: Arc<Metrics>,
        settings: NotifySettings,
        cancel: CancellationToken,
    ) -> Self {
        Notifier {
            receivers: receivers
                .into_iter()
                .map(|r| (r.name.to_string(), Arc::new(r)))
                .collect(),
            mute: MuteStages::default(),
            nflog,
            metrics,
            settings,
            cancel,
            suppressed: SuppressedStates::default(),
            claims: None,
        }
    }

    /// The same notifier claiming each send in the cluster first (see `claim.rs`).
    pub fn with_claims(mut self, claims: Option<Arc<Claims>>) -> Self {
        self.claims = claims;
        self
    }

    /// The same notifier with these mute stages.
    pub fn with_mute_stages(mut self, mute: MuteStages) -> Self {
        self.mute = mute;
        self
    }

    /// The receiver of this name.
    pub fn receiver(&self, name: &str) -> Option<&ReceiverRuntime> {
        self.receivers.get(name).map(|r| &**r)
    }

    /// Builds the runtime receivers from the config's receivers.
    pub fn build_receivers(
        receivers: &[Receiver],
        templates: &Arc<Templates>,
        metrics: &Metrics,
        clients: &ClientCache,
    ) -> Result<BuiltReceivers, BuildError> {
        let mut out = BuiltReceivers {
            receivers: Vec::with_capacity(receivers.len()),
            warnings: Vec::new(),
        };
        for r in receivers {
            let built = Integration::build(r, templates, metrics, clients)?;
            out.warnings.extend(built.warnings);
            out.receivers.push(ReceiverRuntime {
                name: Arc::from(r.name.as_str()),
                integrations: built.integrations,
                send_resolved_when_muted: r.send_resolved_when_muted,
            });
        }
        Ok(out)
    }

    /// Runs the pipeline for one flushed group.
    pub async fn flush(&self, ctx: &FlushCtx, alerts: Vec<Arc<Alert>>) -> FlushOutcome {
        let mut out = FlushOutcome {
            ok: true,
            next_repeat: None,
            next_release: None,
        };
        let Some(receiver) = self.receivers.get(&*ctx.receiver).cloned() else {
            tracing::warn!(receiver = %ctx.receiver, "Receiver not found; dropping flush.");
            return out;
        };
        let muted = self.mute.apply(ctx, alerts, &self.metrics);
        let held_by_silence: &[Arc<Alert>] = if muted.silenced { &muted.held } else { &[] };
        out.next_release = self.mute.next_release(ctx, held_by_silence);
        if muted.kept.is_empty() && muted.held.is_empty() {
            return out;
        }
        let held = Held {
            alerts: &muted.held,
            resolve: receiver.send_resolved_when_muted,
            reason: muted.reason,
        };
        let sends = receiver
            .integrations
            .iter()
            .map(|integ| self.flush_integration(ctx, &receiver.name, integ, &muted.kept, &held));
        for r in futures_util::future::join_all(sends).await {
            match r {
                Ok(next) => {
                    out.next_repeat = match (out.next_repeat, next) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    }
                }
                Err(()) => out.ok = false,
            }
        }
        out
    }

    /// Dedup, send with retries, record: one integration's part of a flush. Ok holds when its
    /// next repeat is due; Err means the send was given up (already logged and counted).
    async fn flush_integration(
        &self,
        ctx: &FlushCtx,
        receiver: &str,
        integ: &Integration,
        kept: &[Arc<Alert>],
        held: &Held<'_>,
    ) -> Result<Option<Timestamp>, ()> {
        let now = ctx.now;
        let key = NflogKey {
            group_key: ctx.group_key.to_string(),
            receiver: receiver.to_owned(),
            integration: integ.kind.to_owned(),
            index: integ.index,
        };
        self.metrics.nflog_queries.inc();
        let entry = self.nflog.query(&key, now);
        let ttl = (ctx.repeat_interval * 2).min(self.settings.retention);
        // Held-back alerts this integration was last told are firing: the resolved ones go out
        // (their resolve must reach it), and the entry that remembers them is kept alive
        // however long they are held.
        let announced = |a: &&Arc<Alert>| {
            entry
                .as_ref()
                .is_some_and(|e| e.firing.contains(&a.fingerprint.0))
        };
        let mut alerts: Vec<Arc<Alert>> = kept.to_vec();
        if held.resolve {
            alerts.extend(
                held.alerts
                    .iter()
                    .filter(|a| a.resolved_at(now))
                    .filter(announced)
                    .cloned(),
            );
        }
        if alerts.is_empty() {
            if held.resolve && held.alerts.iter().any(|a| announced(&a)) {
                self.nflog
                    .keep_until(&key, now.checked_add(ttl).unwrap_or(now));
            }
            self.count_suppressed(ctx, integ, &key, entry.as_ref(), held);
            return Ok(None);
        }
        self.suppressed.forget(&key);
        let alerts = &alerts[..];
        let mut firing = HashSet::new();
        let mut resolved = HashSet::new();
        for a in alerts {
            if a.resolved_at(now) {
                resolved.insert(a.fingerprint.0);
            } else {
                firing.insert(a.fingerprint.0);
            }
        }
        let any_firing = !firing.is_empty();
        let repeat_due = |e: &NflogEntry| {
            any_firing
                .then(|| e.timestamp.checked_add(ctx.repeat_interval).ok())
                .flatten()
        };
        let send_resolved = integ.send_resolved;
        let decide = |entry: Option<&NflogEntry>| {
            needs_update(
                entry,
                &firing,
                &resolved,
                send_resolved,
                ctx.repeat_interval,
                now,
                |since| {
                    let still_firing: Vec<Arc<Alert>> = kept
                        .iter()
                        .filter(|a| !a.resolved_at(now))
                        .cloned()
                        .collect();
                    self.mute.held_back_since(ctx, since, &still_firing)
                },
            )
        };
        let Some(reason) = decide(entry.as_ref()) else {
            return Ok(entry.as_ref().and_then(repeat_due));
        };
        let mut previous = entry.map(|e| e.receiver_data).unwrap_or_default();
        let to_send: Vec<Arc<Alert>> = alerts
            .iter()
            .filter(|a| send_resolved || !a.resolved_at(now))
            .cloned()
            .collect();
        let kind = if any_firing {
            Kind::Firing
        } else {
            Kind::Resolved
        };
        // Due on this peer whichever peer sends it (sli.rs: every peer counts the cluster's
        // notifications).
        let due = (!to_send.is_empty()).then(|| {
            Due::traced(
                &self.metrics,
                self.nflog.history(),
                &Notice {
                    key: &key,
                    kind,
                    firing: &firing,
                    resolved: &resolved,
                },
            )
        });
        // In a cluster, one peer sends: claim it, or wait for the peer that did.
        let mut permit = None;
        if let Some(claims) = self.claims.as_ref().filter(|_| !to_send.is_empty()) {
            let needed = |e: Option<&NflogEntry>| decide(e).is_some();
            match claims
                .acquire(&key, needed, [&ctx.cancel, &self.cancel])
                .await
            {
                Acquired::Send(p) => {
                    // Another peer may have sent since (a Slack ts, a Zendesk ticket).
                    if let Some(e) = self.nflog.query(&key, clock::now()) {
                        previous = e.receiver_data;
                    }
                    permit = Some(p);
                }
                Acquired::Covered => {
                    let e = self.nflog.query(&key, clock::now());
                    if let Some(due) = due {
                        let mut ids = integ.derived_service_ids(&ctx.group_key);
                        if let Some(e) = &e {
                            ids.extend(e.receiver_data.clone());
                        }
                        due.end_by_peer(&ids);
                    }
                    return Ok(e.as_ref().and_then(repeat_due));
                }
                Acquired::Cancelled => {
                    if let Some(due) = due
                        && ctx.cancel.is_cancelled()
                    {
                        due.end(Outcome::Superseded);
                    }
                    return Err(());
                }
            }
        }
        // With send_resolved false and nothing firing, nothing is sent, but the entry is still
        // written (its firing set empties), keeping what the integration stored before.
        let receiver_data = match due {
            None => previous,
            Some(due) => {
                let mut data = NotificationData::new(
                    receiver,
                    to_send,
                    integ.max_alerts,
                    &ctx.group_labels,
                    &self.settings.external_url,
                    &ctx.group_key,
                    reason.as_str(),
                    now,
                );
                data.receiver_data = previous;
                data.timeout = ctx.group_interval.max(MIN_REQUEST_TIMEOUT);
                let retrier = Retrier {
                    metrics: &self.metrics,
                    max_retry: self.settings.max_retry,
                    cancel: &self.cancel,
                    superseded: &ctx.cancel,
                    due: Some(&due),
                };
                match retrier.send(receiver, integ, &data).await {
                    Ok(sent) => {
                        due.end(Outcome::Delivered);
                        sent.receiver_data
                    }
                    Err(e) => {
                        if let Some(p) = permit {
                            p.release().await;
                        }
                        if ctx.cancel.is_cancelled() {
                            due.end(Outcome::Superseded);
                        } else if !self.cancel.is_cancelled() {
                            due.end(Outcome::Failed(e.reason));
                        }
                        // Shutdown: no outcome; the notification is due again after the restart.
                        return Err(());
                    }
                }
            }
        };
        let done = clock::now();
        let entry = NflogEntry {
            timestamp: done,
            firing,
            resolved,
            expires_at: done.checked_add(ttl).unwrap_or(done),
            receiver_data,
        };
        let next = repeat_due(&entry);
        // Stored before the group's next flush can read it (that flush waits for this one).
        let seq = self.nflog.log(key, entry.clone());
        if let Some(p) = permit {
            p.done(&entry).await;
        }
        self.nflog.stored(seq).await;
        Ok(next)
    }
}

impl Notifier {
    /// Nothing goes out to `integ` because the mute stages held the group back: if the held
    /// alerts are news to this integration (dedup says it would be told) and this held state was
    /// not counted yet, that is one due notification, suppressed with the first stage's reason.
    fn count_suppressed(
        &self,
        ctx: &FlushCtx,
        integ: &Integration,
        key: &NflogKey,
        entry: Option<&NflogEntry>,
        held: &Held<'_>,
    ) {
        let Some(reason) = held.reason else { return };
        let (mut firing, mut resolved) = (HashSet::new(), HashSet::new());
        for a in held.alerts {
            if a.resolved_at(ctx.now) {
                resolved.insert(a.fingerprint.0);
            } else {
                firing.insert(a.fingerprint.0);
            }
        }
        let due = needs_update(
            entry,
            &firing,
            &resolved,
            integ.send_resolved,
            ctx.repeat_interval,
            ctx.now,
            |_| None,
        );
        if due.is_some() && self.suppressed.is_new(key, &firing, &resolved) {
            let kind = if firing.is_empty() {
                Kind::Resolved
            } else {
                Kind::Firing
            };
            let notice = Notice {
                key,
                kind,
                firing: &firing,
                resolved: &resolved,
            };
            Due::traced(&self.metrics, self.nflog.history(), &notice)
                .end(Outcome::Suppressed(reason));
        }
    }
}

/// What the mute stages held back in a flush, as every integration's part sees it.
struct Held<'a> {
    /// The alerts held back.
    alerts: &'a [Arc<Alert>],
    /// The receiver's `send_resolved_when_muted`.
    resolve: bool,
    /// Why (the first stage that held any back).
    reason: Option<SuppressReason>,
}
