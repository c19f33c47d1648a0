//! Alertmanager and tocsin side by side on the same config, each with its own strict fake
//! webhook: the same requests to both, then the notifications and groups compared, with
//! Alertmanager's as the expectation.

use std::time::Duration;

use serde_json::Value;

use super::alertmanager::{Alertmanager, post_json, reload};
use super::daemon::{Daemon, eventually};
use super::fake_webhook::FakeWebhook;

/// Alertmanager and tocsin on the same config, each with its own hook.
pub struct Pair {
    /// The reference.
    pub am: Alertmanager,
    /// tocsin.
    pub tocsin: Daemon,
    /// Alertmanager's webhook receiver.
    pub am_hook: FakeWebhook,
    /// tocsin's webhook receiver.
    pub tocsin_hook: FakeWebhook,
}

impl Pair {
    /// Starts both on `conf(hook_url)`; None when Alertmanager is not installed (outside CI).
    pub async fn start(conf: impl Fn(&str) -> String) -> Option<Pair> {
        Self::start_with(conf, &[]).await
    }

    /// As [`Pair::start`], with extra flags for tocsin.
    pub async fn start_with(conf: impl Fn(&str) -> String, flags: &[&str]) -> Option<Pair> {
        let am_hook = FakeWebhook::start().await;
        let tocsin_hook = FakeWebhook::start().await;
        let am = Alertmanager::start(&conf(&am_hook.url())).await?;
        let tocsin = Daemon::start_with(&conf(&tocsin_hook.url()), flags);
        Some(Pair {
            am,
            tocsin,
            am_hook,
            tocsin_hook,
        })
    }

    /// Alertmanager's and tocsin's base URLs.
    pub fn bases(&self) -> [String; 2] {
        [self.am.base.clone(), format!("http://{}", self.tocsin.addr)]
    }

    /// POSTs the same alerts to both (200 expected).
    pub async fn post(&self, body: &Value) {
        for base in self.bases() {
            assert_eq!(post_json(&format!("{base}/api/v2/alerts"), body).await, 200);
        }
    }

    /// Rewrites both configs and reloads both.
    pub async fn reconfigure(&self, conf: impl Fn(&str) -> String) {
        self.am.write_config(&conf(&self.am_hook.url()));
        self.tocsin.write_config(&conf(&self.tocsin_hook.url()));
        for base in self.bases() {
            reload(&base).await;
        }
    }

    /// Waits until both hooks got `n` notifications.
    pub async fn wait_for(&self, n: usize) {
        let ok = eventually(Duration::from_secs(20), || {
            self.am_hook.received().len() >= n && self.tocsin_hook.received().len() >= n
        })
        .await;
        assert!(
            ok,
            "{n} notifications each: alertmanager {:?}, tocsin {:?}",
            summary(&self.am_hook),
            summary(&self.tocsin_hook)
        );
    }

    /// Both sent the same notifications, and show the same groups.
    pub async fn assert_same(&self) {
        assert_eq!(
            summary(&self.tocsin_hook),
            summary(&self.am_hook),
            "notifications"
        );
        let [am, tocsin] = self.bases();
        assert_eq!(groups(&tocsin).await, groups(&am).await, "groups");
    }
}

/// Every notification as `receiver status: alert ids`, sorted.
pub fn summary(h: &FakeWebhook) -> Vec<String> {
    let mut out: Vec<String> = h
        .received()
        .iter()
        .map(|r| {
            let ids: Vec<String> = r.body["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    format!(
                        "{}:{}",
                        a["labels"]["id"].as_str().unwrap_or(""),
                        a["status"].as_str().unwrap_or("")
                    )
                })
                .collect();
            format!(
                "{} {}: {}",
                r.body["receiver"],
                r.body["status"],
                ids.join(",")
            )
        })
        .collect();
    out.sort();
    out
}

/// How many alerts `GET /api/v2/alerts/groups` shows.
pub async fn alerts_in_groups(base: &str) -> usize {
    let v: Value = reqwest::get(format!("{base}/api/v2/alerts/groups"))
        .await
        .expect("GET groups")
        .json()
        .await
        .expect("JSON");
    v.as_array()
        .unwrap()
        .iter()
        .map(|g| g["alerts"].as_array().unwrap().len())
        .sum()
}

/// Every group as `receiver: alert ids`, sorted.
pub async fn groups(base: &str) -> Vec<String> {
    let v: Value = reqwest::get(format!("{base}/api/v2/alerts/groups"))
        .await
        .expect("GET groups")
        .json()
        .await
        .expect("JSON");
    let mut out: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let mut ids: Vec<&str> = g["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["labels"]["id"].as_str().unwrap_or(""))
                .collect();
            ids.sort_unstable();
            format!("{}: {}", g["receiver"]["name"], ids.join(","))
        })
        .collect();
    out.sort();
    out
}

/// Now, truncated to the second.
pub fn whole_second() -> jiff::Timestamp {
    jiff::Timestamp::from_second(tocsin::clock::now().as_second()).unwrap()
}

/// An end time that is already past when it arrives but after `start` (or both servers would
/// keep the old end, by Alertmanager's merge rule).
pub async fn end_after(start: jiff::Timestamp) -> String {
    let mut end = whole_second();
    while end <= start {
        tokio::time::sleep(Duration::from_millis(100)).await;
        end = whole_second();
    }
    end.to_string()
}
