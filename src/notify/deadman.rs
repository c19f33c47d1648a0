//! The outbound dead man's switch: every `interval`, each target is pinged if tocsin is healthy
//! (the verdict is `heartbeat::deadman::verdict`); when it stops being healthy, tocsin stops
//! pinging and POSTs the reason to `fail_url` once (on the change from healthy, so not at a
//! start-up that has not seen its required alert yet). A failed ping is retried with backoff
//! within the interval.
//!
//! [`run`] is the loop; it asks its caller for the current targets and facts each round, so a
//! reload takes effect at the next ping. Layer L3.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::http::{ClientCache, RequestAuth, USER_AGENT};
use crate::clock;
use crate::config::{Config, DeadMansSwitchConfig};
use crate::heartbeat::deadman::{Health, verdict};
use crate::metrics::Metrics;
use crate::model::Alert;

/// What the loop needs each round: the config, tocsin's health, the alerts in the store.
pub trait Facts: Send + Sync + 'static {
    /// The current config.
    fn config(&self) -> Arc<Config>;
    /// tocsin's health now.
    fn health(&self) -> Health;
    /// The alerts in the store.
    fn alerts(&self) -> Vec<Arc<Alert>>;
    /// Whether this peer is the one that pings: always on a single node; in a cluster, once it
    /// has settled, the live member first by name (position 0), so the service is pinged once
    /// per interval and, when that peer dies, the next one takes over as soon as the failure
    /// detector drops it. No peer pings while settling (as no peer sends notifications then).
    fn pinger(&self) -> bool;
}

/// One target's client and schedule.
#[derive(Clone)]
struct Target {
    /// Its settings (when they change, the client is rebuilt).
    cfg: DeadMansSwitchConfig,
    /// The HTTP client from its `http_config`.
    client: reqwest::Client,
    /// Authentication and headers.
    auth: RequestAuth,
    /// The next ping.
    next: Instant,
    /// Whether the last verdict was healthy (`fail_url` is called on a change from healthy).
    healthy: bool,
}

fn read_url(cfg: &DeadMansSwitchConfig) -> Result<String, String> {
    match (&cfg.url, &cfg.url_file) {
        (Some(u), _) => Ok(u.expose().clone()),
        (None, Some(f)) => std::fs::read_to_string(f)
            .map(|s| s.trim().to_owned())
            .map_err(|e| format!("url_file {}: {e}", f.display())),
        (None, None) => Err("no url".to_owned()),
    }
}

/// Sends one request, retrying with backoff (1 s, 2 s, 4 s, ... capped at 30 s) until it gets a
/// 2xx or `until` passes. Errors never contain the URL (it is a secret).
async fn send(
    t: &Target,
    method: reqwest::Method,
    url: &str,
    body: Option<String>,
    until: Instant,
) -> Result<(), String> {
    let mut wait = Duration::from_secs(1);
    loop {
        let mut req = t
            .client
            .request(method.clone(), url)
            .header(reqwest::header::USER_AGENT, USER_AGENT)
            .timeout(Duration::from_secs(10));
        if let Some(b) = &body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
                .body(b.clone());
        }
        let result = match t.auth.apply(req).await {
            Err(e) => return Err(e.to_string()),
            Ok(req) => match req.send().await {
                Ok(r) if r.status().is_success() => return Ok(()),
                Ok(r) => format!("answered {}", r.status()),
                Err(e) => format!("request failed: {}", e.without_url()),
            },
        };
        if Instant::now() + wait >= until {
            return Err(result);
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(30));
    }
}

/// Pings every target at its interval while tocsin is healthy, until `cancel`.
pub async fn run(facts: Arc<dyn Facts>, metrics: Arc<Metrics>, cancel: CancellationToken) {
    let mut targets: HashMap<String, Target> = HashMap::new();
    loop {
        let cfg = facts.config();
        targets.retain(|name, _| cfg.dead_mans_switch.iter().any(|d| &d.name == name));
        let now = Instant::now();
        for d in &cfg.dead_mans_switch {
            let stale = targets.get(&d.name).is_none_or(|t| t.cfg != *d);
            if stale {
                match ClientCache::shared().client(&d.http_config) {
                    Ok(client) => {
                        targets.insert(
                            d.name.clone(),
                            Target {
                                cfg: d.clone(),
                                client,
                                auth: RequestAuth::new(&d.http_config),
                                next: now,
                                // Not yet known healthy: a start-up before the first Watchdog
                                // arrives calls no fail_url (the service sees no ping anyway).
                                healthy: false,
                            },
                        );
                    }
                    Err(e) => {
                        tracing::error!(target = %d.name, error = %e, "Dead man's switch client failed to build.");
                        continue;
                    }
                }
            }
        }
        let due: Vec<String> = targets
            .iter()
            .filter(|(_, t)| t.next <= now)
            .map(|(n, _)| n.clone())
            .collect();
        if !due.is_empty() && !facts.pinger() {
            // Another peer pings: keep the schedule, say nothing to the service.
            for name in &due {
                if let Some(t) = targets.get_mut(name) {
                    t.next = now + t.cfg.interval.std().max(Duration::from_millis(100));
                    t.healthy = false;
                }
            }
        } else if !due.is_empty() {
            let (health, alerts) = (facts.health(), facts.alerts());
            let wall = clock::now();
            for name in due {
                let Some(t) = targets.get_mut(&name) else {
                    continue;
                };
                let interval = t.cfg.interval.std().max(Duration::from_millis(100));
                t.next = now + interval;
                let v = verdict(&t.cfg, &health, &alerts, wall);
                let was_healthy = std::mem::replace(&mut t.healthy, v.is_ok());
                let target_name = name.clone();
                let labels = move |result: &str| {
                    vec![
                        ("target", target_name.clone()),
                        ("result", result.to_owned()),
                    ]
                };
                let until = t.next;
                let target = t.clone();
                let metrics = Arc::clone(&metrics);
                match v {
                    Ok(()) => {
                        tokio::spawn(async move {
                            let method = reqwest::Method::from_bytes(target.cfg.method.as_bytes())
                                .unwrap_or(reqwest::Method::GET);
                            let result = match read_url(&target.cfg) {
                                Ok(url) => send(&target, method, &url, None, until).await,
                                Err(e) => Err(e),
                            };
                            match result {
                                Ok(()) => {
                                    metrics
                                        .dead_mans_switch_pings
                                        .get_or_create(&labels("success"))
                                        .inc();
                                }
                                Err(e) => {
                                    metrics
                                        .dead_mans_switch_pings
                                        .get_or_create(&labels("failure"))
                                        .inc();
                                    tracing::warn!(target = %target.cfg.name, error = %e, "Dead man's switch ping failed.");
                                }
                            }
                        });
                    }
                    Err(reason) => {
                        metrics
                            .dead_mans_switch_pings
                            .get_or_create(&labels("skipped"))
                            .inc();
                        if was_healthy {
                            tracing::warn!(target = %name, reason = %reason, "Not healthy; the dead man's switch stops pinging.");
                            if let Some(fail) = target.cfg.fail_url.clone() {
                                tokio::spawn(async move {
                                    let r = send(
                                        &target,
                                        reqwest::Method::POST,
                                        fail.expose(),
                                        Some(reason),
                                        until,
                                    )
                                    .await;
                                    if let Err(e) = r {
                                        tracing::warn!(target = %target.cfg.name, error = %e, "Dead man's switch fail_url call failed.");
                                    }
                                });
                            }
                        }
                    }
                }
            }
        }
        let next = targets
            .values()
            .map(|t| t.next)
            .min()
            .unwrap_or(now + Duration::from_secs(1))
            // Wake at least every second to see reloads.
            .min(now + Duration::from_secs(1));
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {}
            _ = cancel.cancelled() => return,
        }
    }
}
