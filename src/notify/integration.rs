//! The integrations, as one enum built in one function.
//!
//! Every integration lives in its own folder `notify/<name>/` with the same three files:
//! - `mod.rs`: the struct built from its config (`new(&Config, ..) -> Result<Self, BuildCause>`)
//!   and `async fn notify(&self, &NotificationData) -> Result<Sent, NotifyError>`, whose every
//!   request has a deadline: the config's `timeout`, else `NotificationData::timeout`;
//! - `payload.rs`: pure, config + data -> request body, tested without a network;
//! - `tests.rs`: the integration against its strict fake.
//!
//! Adding one: its folder, a variant of `Sender` with its arm in `Sender::notify`, and one
//! `add` line in [`Integration::build`].

use std::sync::Arc;

use super::data::NotificationData;
use super::error::{BuildCause, BuildError, NotifyError};
use super::http::ClientCache;
use super::{email, pagerduty, slack, webhook, zendesk};
use crate::config::{ConfigWarning, Receiver};
use crate::metrics::Metrics;
use crate::nflog::ReceiverData;
use crate::template::Templates;

/// What a successful send leaves behind for the next one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sent {
    /// Kept with the notification log entry and handed back as
    /// [`NotificationData::receiver_data`] at the group's next send (Slack's channel and `ts`,
    /// a Zendesk ticket id). Empty for integrations that need nothing.
    pub receiver_data: ReceiverData,
    /// The HTTP status the service answered, when it is known (the notification history
    /// shows it).
    pub status: Option<u16>,
    /// Ids the service knows the notification by that are not needed for the next send
    /// (PagerDuty's `dedup_key`); the notification history shows them with `receiver_data`.
    pub service_ids: ReceiverData,
}

/// At most this many requests of one integration are in flight at once; the rest wait their
/// turn (outside their request deadline). A thousand groups flushing at once to one webhook
/// then reuse a few hundred keep-alive connections instead of opening a thousand, which costs
/// the receiver and tocsin less and delivers sooner (`bench/flush`).
pub const MAX_IN_FLIGHT: usize = 256;

/// Of those, at most this many that were sent less than [`SLOW`] ago: a burst to a receiver that
/// answers quickly goes out over at most this many connections (the client opens a connection
/// for each request that finds none idle, and with 256 at once a thousand groups opened about
/// 800 for 2,000 requests; with 128, about 300, for a third less CPU in `bench/flush`), while a
/// slow or stuck receiver still gets [`MAX_IN_FLIGHT`].
pub const MAX_IN_FLIGHT_QUICK: usize = 128;

/// A request in flight longer than this no longer counts against [`MAX_IN_FLIGHT_QUICK`].
pub const SLOW: std::time::Duration = std::time::Duration::from_secs(1);

/// The two limits on an integration's requests in flight.
struct InFlight {
    /// [`MAX_IN_FLIGHT`] permits, held until the answer.
    all: tokio::sync::Semaphore,
    /// [`MAX_IN_FLIGHT_QUICK`] permits, held until the answer or [`SLOW`].
    quick: tokio::sync::Semaphore,
}

impl Default for InFlight {
    fn default() -> Self {
        InFlight {
            all: tokio::sync::Semaphore::new(MAX_IN_FLIGHT),
            quick: tokio::sync::Semaphore::new(MAX_IN_FLIGHT_QUICK),
        }
    }
}

/// One configured integration: the settings every integration has, and its sender.
pub struct Integration {
    /// The kind (`webhook`, `pagerduty`...), as metrics and the nflog name it.
    pub kind: &'static str,
    /// The index of its entry in its `*_configs` list.
    pub index: usize,
    /// Whether resolved alerts are sent.
    pub send_resolved: bool,
    /// How many alerts one notification carries at most (0 = all).
    pub max_alerts: usize,
    /// The integration itself.
    sender: Sender,
    /// Permits for requests in flight ([`MAX_IN_FLIGHT`], [`MAX_IN_FLIGHT_QUICK`]).
    in_flight: Arc<InFlight>,
}

/// The integrations tocsin sends to.
enum Sender {
    /// A generic webhook.
    Webhook(Box<webhook::Webhook>),
    /// PagerDuty Events API v2 or v1.
    PagerDuty(Box<pagerduty::PagerDuty>),
    /// Slack incoming webhook or Web API.
    Slack(Box<slack::Slack>),
    /// Zendesk tickets.
    Zendesk(Box<zendesk::Zendesk>),
    /// Email over SMTP.
    Email(Box<email::Email>),
    /// Test-only: hands every notification to a channel.
    #[cfg(test)]
    Channel(tokio::sync::mpsc::UnboundedSender<NotificationData>),
    /// Test-only: a receiver that never answers the first `n` requests (each then fails at its
    /// deadline, as a real request does), and hands later ones to a channel.
    #[cfg(test)]
    Stall(
        tokio::sync::mpsc::UnboundedSender<NotificationData>,
        std::sync::atomic::AtomicUsize,
    ),
    /// Test-only: answers the queued errors first, then hands notifications to a channel.
    #[cfg(test)]
    Script(
        tokio::sync::mpsc::UnboundedSender<NotificationData>,
        std::sync::Mutex<std::collections::VecDeque<NotifyError>>,
    ),
}

impl Sender {
    async fn notify(&self, data: &NotificationData) -> Result<Sent, NotifyError> {
        match self {
            Sender::Webhook(w) => w.notify(data).await,
            Sender::PagerDuty(p) => p.notify(data).await,
            Sender::Slack(s) => s.notify(data).await,
            Sender::Zendesk(z) => z.notify(data).await,
            Sender::Email(e) => e.notify(data).await,
            #[cfg(test)]
            Sender::Channel(tx) => {
                let _ = tx.send(data.clone());
                Ok(Sent::default())
            }
            #[cfg(test)]
            Sender::Stall(tx, n) => {
                use std::sync::atomic::Ordering::SeqCst;
                if n.fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1)).is_ok() {
                    let never = std::future::pending::<()>();
                    let _ = tokio::time::timeout(data.timeout, never).await;
                    return Err(NotifyError::retryable(
                        super::error::FailureReason::DeadlineExceeded,
                        "operation timed out".to_owned(),
                    ));
                }
                let _ = tx.send(data.clone());
                Ok(Sent::default())
            }
            #[cfg(test)]
            Sender::Script(tx, errors) => {
                let next = errors
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .pop_front();
                if let Some(e) = next {
                    return Err(e);
                }
                let _ = tx.send(data.clone());
                Ok(Sent::default())
            }
        }
    }
}

/// What every integration constructor may need besides its own config.
pub struct BuildEnv<'a> {
    /// The loaded templates.
    pub templates: &'a Arc<Templates>,
    /// The metrics (integrations count their own template failures).
    pub metrics: &'a Metrics,
    /// Where HTTP integrations get their clients (shared between equal `http_config`s).
    pub clients: &'a ClientCache,
}

/// The integrations of one receiver, and the warnings about configs tocsin does not send to.
pub struct Built {
    /// In config order: kinds in [`Integration::build`]'s order, entries in list order.
    pub integrations: Vec<Integration>,
    /// Warnings about the receiver's integrations (none today: every typed `*_configs` list
    /// sends; the lists tocsin does not support are warned about by the config loader).
    pub warnings: Vec<ConfigWarning>,
}

/// Collects the integrations of one receiver.
struct Builder<'a> {
    receiver: &'a Receiver,
    env: BuildEnv<'a>,
    out: Built,
}

impl Builder<'_> {
    /// Builds every entry of one `*_configs` list with `new`, which returns the sender and the
    /// entry's `send_resolved` and `max_alerts`.
    fn add<C>(
        &mut self,
        kind: &'static str,
        configs: &[C],
        new: impl Fn(&C, &BuildEnv<'_>) -> Result<(Sender, bool, usize), BuildCause>,
    ) -> Result<(), BuildError> {
        for (index, c) in configs.iter().enumerate() {
            let (sender, send_resolved, max_alerts) =
                new(c, &self.env).map_err(|cause| BuildError {
                    receiver: self.receiver.name.clone(),
                    kind,
                    index,
                    cause,
                })?;
            self.out.integrations.push(Integration {
                kind,
                index,
                send_resolved,
                max_alerts,
                sender,
                in_flight: Arc::new(InFlight::default()),
            });
        }
        Ok(())
    }
}

impl Integration {
    /// Builds every integration of one receiver.
    pub fn build(
        r: &Receiver,
        templates: &Arc<Templates>,
        metrics: &Metrics,
        clients: &ClientCache,
    ) -> Result<Built, BuildError> {
        let mut b = Builder {
            receiver: r,
            env: BuildEnv {
                templates,
                metrics,
                clients,
            },
            out: Built {
                integrations: Vec::new(),
                warnings: Vec::new(),
            },
        };
        b.add("webhook", &r.webhook_configs, |c, env| {
            let w = webhook::Webhook::new(c, env)?;
            Ok((
                Sender::Webhook(Box::new(w)),
                c.send_resolved,
                c.max_alerts as usize,
            ))
        })?;
        b.add("email", &r.email_configs, |c, env| {
            let e = email::Email::new(c, env)?;
            Ok((Sender::Email(Box::new(e)), c.send_resolved, 0))
        })?;
        b.add("pagerduty", &r.pagerduty_configs, |c, env| {
            let p = pagerduty::PagerDuty::new(c, env)?;
            Ok((Sender::PagerDuty(Box::new(p)), c.send_resolved, 0))
        })?;
        b.add("slack", &r.slack_configs, |c, env| {
            let s = slack::Slack::new(c, env)?;
            Ok((Sender::Slack(Box::new(s)), c.send_resolved, 0))
        })?;
        b.add("zendesk", &r.zendesk_configs, |c, env| {
            let z = zendesk::Zendesk::new(c, env)?;
            Ok((Sender::Zendesk(Box::new(z)), c.send_resolved, 0))
        })?;
        Ok(b.out)
    }

    /// The ids the service knows a group's notifications by that follow from the group alone
    /// (PagerDuty's `dedup_key`), for the history record of a notification another peer sent.
    pub fn derived_service_ids(&self, group_key: &str) -> crate::nflog::ReceiverData {
        match &self.sender {
            Sender::PagerDuty(p) => p.service_ids(group_key),
            _ => crate::nflog::ReceiverData::new(),
        }
    }

    /// Sends one notification (one attempt; the caller retries).
    pub async fn notify(&self, data: &NotificationData) -> Result<Sent, NotifyError> {
        // The semaphores are never closed; were they, the request goes out unlimited.
        let _permit = self.in_flight.all.acquire().await.ok();
        let quick = self.in_flight.quick.acquire().await.ok();
        let send = self.sender.notify(data);
        tokio::pin!(send);
        match tokio::time::timeout(SLOW, &mut send).await {
            Ok(res) => res,
            Err(_) => {
                drop(quick);
                send.await
            }
        }
    }

    /// Test-only: an integration that hands every notification to a channel.
    #[cfg(test)]
    pub fn channel(
        tx: tokio::sync::mpsc::UnboundedSender<NotificationData>,
        send_resolved: bool,
    ) -> Integration {
        Integration {
            kind: "test",
            index: 0,
            send_resolved,
            max_alerts: 0,
            in_flight: Arc::new(InFlight::default()),
            sender: Sender::Channel(tx),
        }
    }

    /// Test-only: an integration answering `errors` in turn, then accepting.
    #[cfg(test)]
    pub fn scripted(
        tx: tokio::sync::mpsc::UnboundedSender<NotificationData>,
        errors: Vec<NotifyError>,
    ) -> Integration {
        Integration {
            kind: "test",
            index: 0,
            send_resolved: true,
            max_alerts: 0,
            in_flight: Arc::new(InFlight::default()),
            sender: Sender::Script(tx, std::sync::Mutex::new(errors.into())),
        }
    }

    /// Test-only: an integration whose first `hang` requests are never answered.
    #[cfg(test)]
    pub fn stalling(
        tx: tokio::sync::mpsc::UnboundedSender<NotificationData>,
        hang: usize,
    ) -> Integration {
        Integration {
            kind: "test",
            index: 0,
            send_resolved: true,
            max_alerts: 0,
            in_flight: Arc::new(InFlight::default()),
            sender: Sender::Stall(tx, std::sync::atomic::AtomicUsize::new(hang)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    /// A CA certificate in PEM.
    fn ca_pem(name: &str) -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap();
        params.self_signed(&key).unwrap().pem()
    }

    /// 200 receivers whose `http_config`s differ only in credentials share one client (building
    /// one loads the system's CA roots); a different CA gets its own; a CA file whose contents
    /// change gets a new one at the next build, an unchanged one keeps it.
    #[test]
    fn equal_http_configs_share_one_client() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, ca_pem("one.test")).unwrap();
        let mut y = String::from("route: {receiver: r0}\nreceivers:\n");
        for i in 0..200 {
            y.push_str(&format!(
                "- name: r{i}\n  webhook_configs:\n  - url: http://127.0.0.1:1/{i}\n    \
                 http_config: {{basic_auth: {{username: u{i}, password: p{i}}}}}\n"
            ));
        }
        for i in 0..3 {
            y.push_str(&format!(
                "- name: tls{i}\n  webhook_configs:\n  - url: https://127.0.0.1:1/\n    \
                 http_config: {{tls_config: {{ca_file: {}}}}}\n",
                ca.display()
            ));
        }
        let c = Config::from_yaml(&y, std::path::Path::new("."), "t.yml").unwrap();
        let templates = Arc::new(c.load_templates().unwrap());
        let metrics = Metrics::new();
        let cache = ClientCache::new();
        let build = |cache: &ClientCache| {
            crate::notify::Notifier::build_receivers(&c.receivers, &templates, &metrics, cache)
                .unwrap()
        };
        assert_eq!(build(&cache).receivers.len(), 203);
        assert_eq!(cache.len(), 2, "one plain client and one for the CA file");
        build(&cache);
        assert_eq!(cache.len(), 2, "a reload of the same config builds nothing");
        std::fs::write(&ca, ca_pem("two.test")).unwrap();
        build(&cache);
        assert_eq!(cache.len(), 3, "a rotated CA file gets a new client");
    }

    /// Every typed `*_configs` list becomes integrations, in config order: nothing is silently
    /// ignored.
    #[test]
    fn every_config_list_sends_or_warns() {
        let yaml = r#"
route: {receiver: all}
receivers:
  - name: none
  - name: all
    webhook_configs: [{url: "http://127.0.0.1:1/hook"}, {url: "http://127.0.0.1:1/b"}]
    email_configs: [{to: a@example.org, from: b@example.org, smarthost: "127.0.0.1:25"}]
    pagerduty_configs: [{routing_key: "0123456789abcdef0123456789abcdef"}]
    slack_configs: [{api_url: "http://127.0.0.1:1/slack"}]
    zendesk_configs: [{subdomain: ex, email: a@example.org, api_token: t}]
"#;
        let c = Config::from_yaml(yaml, std::path::Path::new("."), "t.yml").unwrap();
        let templates = Arc::new(c.load_templates().unwrap());
        let metrics = Metrics::new();
        let none =
            Integration::build(&c.receivers[0], &templates, &metrics, &ClientCache::new()).unwrap();
        assert!(none.integrations.is_empty() && none.warnings.is_empty());
        let all =
            Integration::build(&c.receivers[1], &templates, &metrics, &ClientCache::new()).unwrap();
        for (kind, count) in [
            ("webhook", 2),
            ("email", 1),
            ("pagerduty", 1),
            ("slack", 1),
            ("zendesk", 1),
        ] {
            let built = all.integrations.iter().filter(|i| i.kind == kind).count();
            let warned: Vec<String> = all
                .warnings
                .iter()
                .filter(|w| w.path == format!("receivers[1].{kind}_configs"))
                .map(|w| w.to_string())
                .collect();
            assert!(
                built == count && warned.is_empty(),
                "{kind}: built {built}, warnings {warned:?}"
            );
        }
        let indexes: Vec<usize> = all.integrations.iter().map(|i| i.index).collect();
        assert_eq!(&indexes[..2], &[0, 1]);
    }
}

#[cfg(test)]
mod in_flight_tests {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::{MAX_IN_FLIGHT, MAX_IN_FLIGHT_QUICK, SLOW};
    use crate::model::LabelSet;
    use crate::notify::data::NotificationData;
    use crate::notify::testkit::{GROUP_KEY, Rig, alert};

    /// Counts of a webhook receiver that holds every request until released.
    #[derive(Default)]
    struct Seen {
        connections: AtomicUsize,
        open_requests: AtomicUsize,
        most_at_once: AtomicUsize,
        answered: AtomicUsize,
    }

    /// Reads one request head and its body (Content-Length) off `s`; false at end of stream.
    async fn read_request(s: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> bool {
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + len {
                    buf.drain(..end + 4 + len);
                    return true;
                }
            }
            let mut chunk = [0u8; 4096];
            match s.read(&mut chunk).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// A thousand groups flushing at once to one webhook that holds every request: at first at
    /// most [`MAX_IN_FLIGHT_QUICK`] requests are open, once those are [`SLOW`] at most
    /// [`MAX_IN_FLIGHT`], the rest wait and then reuse the connections, and every one is
    /// delivered.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn requests_in_flight_to_one_integration_are_capped() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = std::sync::Arc::new(Seen::default());
        let (release, released) = tokio::sync::watch::channel(false);
        {
            let seen = std::sync::Arc::clone(&seen);
            tokio::spawn(async move {
                while let Ok((mut s, _)) = listener.accept().await {
                    seen.connections.fetch_add(1, SeqCst);
                    let seen = std::sync::Arc::clone(&seen);
                    let mut released = released.clone();
                    tokio::spawn(async move {
                        let mut buf = Vec::new();
                        while read_request(&mut s, &mut buf).await {
                            let now = seen.open_requests.fetch_add(1, SeqCst) + 1;
                            seen.most_at_once.fetch_max(now, SeqCst);
                            let _ = released.wait_for(|r| *r).await;
                            seen.open_requests.fetch_sub(1, SeqCst);
                            seen.answered.fetch_add(1, SeqCst);
                            let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
                            if s.write_all(ok).await.is_err() {
                                return;
                            }
                        }
                    });
                }
            });
        }
        let rig = Rig::new(
            "",
            &format!("    webhook_configs:\n      - url: http://{addr}/hook\n"),
            Duration::from_secs(60),
        );
        let n = MAX_IN_FLIGHT + 100;
        let data = NotificationData::new(
            "r",
            vec![alert(&rig, "a:9100", 100_000)],
            0,
            &LabelSet::new(),
            "http://tocsin.test",
            GROUP_KEY,
            "first notification",
            rig.t0,
        );
        let integ = &rig.notifier.receiver("r").unwrap().integrations[0];
        let started = tokio::time::Instant::now();
        let sends = futures_util::future::join_all((0..n).map(|_| integ.notify(&data)));
        let check = async {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            while seen.open_requests.load(SeqCst) < MAX_IN_FLIGHT_QUICK {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "no requests arrived"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            tokio::time::sleep(SLOW / 5).await;
            // Checked only if it still is before SLOW (a loaded machine may be later).
            if started.elapsed() < SLOW {
                assert_eq!(seen.most_at_once.load(SeqCst), MAX_IN_FLIGHT_QUICK);
            }
            while seen.open_requests.load(SeqCst) < MAX_IN_FLIGHT {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "only {} requests arrived",
                    seen.open_requests.load(SeqCst)
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            // Time for any request beyond the cap to arrive, were it sent.
            tokio::time::sleep(Duration::from_millis(500)).await;
            assert_eq!(seen.most_at_once.load(SeqCst), MAX_IN_FLIGHT);
            release.send(true).unwrap();
        };
        let (results, ()) = tokio::join!(sends, check);
        assert!(results.iter().all(Result::is_ok));
        assert_eq!(seen.answered.load(SeqCst), n);
        // The waiting requests went out over connections the first ones opened (a connection
        // may be back in the pool a moment after its permit: a few new ones are fine).
        assert!(
            seen.connections.load(SeqCst) < n,
            "{} connections for {n} requests",
            seen.connections.load(SeqCst)
        );
    }
}
