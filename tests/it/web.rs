//! The on-call pages over HTTP, with the real binary: what the alerts page shows (groups as the
//! routing tree made them, severity, annotations as links, state with the silence that hides an
//! alert), its filters (matchers, receiver, state, all in the query string), escaping (a label
//! holding `<script>` is text), the silence list and form preview, the heartbeat pages and the
//! status page; assets are served from the binary with a strict content security policy.

use std::time::Duration;

use serde_json::json;

use crate::support::daemon::{Daemon, eventually, http_get};

pub(crate) const CONFIG: &str = r#"
route:
  receiver: default
  group_by: [alertname]
  group_wait: 1h
  routes:
    - receiver: db-team
      matchers: [team="db"]
receivers:
  - name: default
  - name: db-team
heartbeats:
  - {name: nightly-backup, period: 1h, grace: 5m}
"#;

/// The alerts the tests post: a critical database alert with a runbook, a warning whose label
/// tries to inject a script, and an annotation that tries a `javascript:` link.
pub(crate) fn alerts() -> serde_json::Value {
    json!([
        {"labels": {"alertname": "DiskFull", "team": "db", "severity": "critical", "instance": "db1"},
         "annotations": {"summary": "disk 98% full", "runbook_url": "https://runbooks.example/disk"}},
        {"labels": {"alertname": "DiskFull", "team": "db", "severity": "critical", "instance": "db2"}},
        {"labels": {"alertname": "Injected", "severity": "warning", "payload": "<script>alert(1)</script>"},
         "annotations": {"dashboard": "javascript:alert(2)"}},
    ])
}

/// Posts [`alerts`] and waits until the alerts page shows both groups.
pub(crate) async fn post_alerts(d: &Daemon) {
    let r = reqwest::Client::new()
        .post(d.url("/api/v2/alerts"))
        .json(&alerts())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let url = d.url("/");
    assert!(
        eventually(Duration::from_secs(10), || {
            http_get(&url).is_some_and(|(_, b)| b.contains("3</strong> firing"))
        })
        .await,
        "the alerts page never showed the 3 alerts: {:?}",
        http_get(&url)
    );
}

async fn get(d: &Daemon, path: &str) -> (u16, String) {
    let r = reqwest::get(d.url(path)).await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

#[tokio::test]
async fn alerts_page_groups_filters_and_escapes() {
    let d = Daemon::start(CONFIG);
    post_alerts(&d).await;
    let r = reqwest::get(d.url("/")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "text/html; charset=utf-8"
    );
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    let html = r.text().await.unwrap();
    // Groups as the routing tree made them: receiver and group labels; critical first.
    assert!(html.contains("in 2 groups"), "{html}");
    let db = html.find("db-team").expect("the db-team group");
    let default = html.find(">default<").expect("the default group");
    assert!(db < default, "the critical group comes first");
    assert!(html.contains("sev-critical") && html.contains("sev-warning"));
    // Annotations: a web link is a link, a javascript: one is text.
    assert!(
        html.contains("href=\"https://runbooks.example/disk\""),
        "{html}"
    );
    assert!(html.contains("javascript:alert(2)"));
    assert!(!html.contains("href=\"javascript:"), "{html}");
    // A label holding a script is text.
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(!html.contains("<script>alert(1)"), "{html}");

    // Matchers in Alertmanager's syntax, kept in the page's links.
    let (s, html) = get(&d, "/?filter=%7Binstance%3D%22db1%22%7D").await;
    assert_eq!(s, 200);
    assert!(html.contains("1</strong> firing"), "{html}");
    assert!(!html.contains("Injected"));
    assert!(
        html.contains("value=\"{instance=&quot;db1&quot;}\""),
        "{html}"
    );
    // Receiver filter.
    let (_, html) = get(&d, "/?receiver=default").await;
    assert!(html.contains("1</strong> firing") && html.contains("Injected"));
    assert!(!html.contains("db1"));
    // A filter that does not parse says why, with 400.
    let (s, html) = get(&d, "/?filter=%7Binstance%3D%7E%22%28%22%7D").await;
    assert_eq!(s, 400);
    assert!(html.contains("filter"), "{html}");

    // Silence one alert through the API: the page marks it silenced by that silence.
    let now = tocsin::clock::now();
    let r: serde_json::Value = reqwest::Client::new()
        .post(d.url("/api/v2/silences"))
        .json(&json!({
            "matchers": [{"name": "instance", "value": "db2", "isRegex": false, "isEqual": true}],
            "startsAt": now.to_string(),
            "endsAt": (now + jiff::SignedDuration::from_hours(1)).to_string(),
            "createdBy": "ann", "comment": "replacing the disk",
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = r["silenceID"].as_str().unwrap().to_owned();
    let (_, html) = get(&d, "/?state=silenced").await;
    assert!(html.contains("0</strong> firing, 1 suppressed"), "{html}");
    assert!(
        html.contains(&format!("silenced by {}", &id[..8])),
        "{html}"
    );
    let (_, html) = get(&d, "/?state=active&view=compact").await;
    assert!(html.contains("2</strong> firing"), "{html}");
    assert!(html.contains("alerts compact"), "{html}");

    // The silence list: creator, comment, matchers, how many alerts it hides.
    let (s, html) = get(&d, "/silences").await;
    assert_eq!(s, 200);
    assert!(html.contains("Active <span class=\"count\">(1)"), "{html}");
    assert!(html.contains("ann") && html.contains("replacing the disk"));
    assert!(
        html.contains("<strong class=\"hides\">1</strong> alert"),
        "{html}"
    );

    // The form previews what a silence would hide before it can be saved.
    let (s, html) = get(
        &d,
        "/silences/new?matchers=%7Balertname%3D%22DiskFull%22%7D&ends=4h&createdBy=bob&comment=night&preview=1",
    )
    .await;
    assert_eq!(s, 200);
    assert!(
        html.contains("id=\"preview-count\">2</strong> alerts now"),
        "{html}"
    );
    assert!(html.contains("id=\"save-silence\""), "{html}");
    // Without a comment it says what is missing and offers no save.
    let (_, html) = get(
        &d,
        "/silences/new?matchers=%7Balertname%3D%22DiskFull%22%7D&createdBy=bob&preview=1",
    )
    .await;
    assert!(html.contains("comment: say why"), "{html}");
    assert!(!html.contains("save-silence"), "{html}");
    let (s, _) = get(&d, "/silences/new?id=nope").await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn heartbeat_status_and_asset_pages() {
    let d = Daemon::start(CONFIG);
    let (s, html) = get(&d, "/heartbeats").await;
    assert_eq!(s, 200);
    assert!(html.contains("nightly-backup"), "{html}");
    assert!(html.contains("every 1h, 5m grace"), "{html}");
    assert!(html.contains("hb-new"), "{html}");
    let r = reqwest::Client::new()
        .post(d.url("/ping/nightly-backup"))
        .body("backup <b>done</b> 12 GB")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (s, html) = get(&d, "/heartbeats/nightly-backup").await;
    assert_eq!(s, 200);
    assert!(html.contains("hb-up"), "{html}");
    assert!(
        html.contains("backup &lt;b&gt;done&lt;/b&gt; 12 GB"),
        "{html}"
    );
    assert!(html.contains("api/tocsin/v1/heartbeats/nightly-backup/pause"));
    let (s, _) = get(&d, "/heartbeats/nope").await;
    assert_eq!(s, 404);

    let (s, html) = get(&d, "/status").await;
    assert_eq!(s, 200);
    assert!(html.contains(env!("CARGO_PKG_VERSION")), "{html}");
    assert!(html.contains("db-team"), "the config is shown: {html}");
    assert!(html.contains("not clustered"), "{html}");

    let r = reqwest::get(d.url("/assets/app.js")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let (s, _) = get(&d, "/assets/nope.js").await;
    assert_eq!(s, 404);
}

/// Under `--web.route-prefix` (as Alertmanager: the external URL's path by default) the pages
/// and the API are served under the prefix, `/` and the bare prefix redirect to the pages, and
/// the pages' links stay under it.
#[tokio::test]
async fn pages_and_api_under_a_route_prefix() {
    let d = Daemon::start_with(CONFIG, &["--web.route-prefix=/am/"]);
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for from in ["/", "/am"] {
        let r = c.get(d.url(from)).send().await.unwrap();
        assert_eq!(r.status(), 302, "{from}");
        assert_eq!(r.headers()["location"], "/am/", "{from}");
    }
    let r = c.get(d.url("/am/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("href=\"./silences\""), "{html}");
    let (s, html) = get(&d, "/am/heartbeats/nightly-backup").await;
    assert_eq!(s, 200);
    assert!(html.contains("href=\"../assets/app.css"), "{html}");
    assert_eq!(get(&d, "/am/assets/app.css").await.0, 200);
    assert_eq!(get(&d, "/am/api/v2/status").await.0, 200);
    assert_eq!(get(&d, "/am/-/ready").await.0, 200);
    assert_eq!(get(&d, "/api/v2/status").await.0, 404);
    assert_eq!(get(&d, "/amx/api/v2/status").await.0, 404);
}

/// A group's own view says who was told: the integration the notification log recorded, when,
/// and how many alerts it carried; the status page shows the store's health.
#[tokio::test]
async fn group_view_says_who_was_told() {
    use crate::support::fake_webhook::FakeWebhook;
    let hook = FakeWebhook::start().await;
    let cfg = format!(
        "route:\n  receiver: hook\n  group_by: [alertname]\n  group_wait: 0s\nreceivers:\n- name: hook\n  webhook_configs:\n  - url: {}\n",
        hook.url()
    );
    let d = Daemon::start(&cfg);
    let r = reqwest::Client::new()
        .post(d.url("/api/v2/alerts"))
        .json(&json!([{"labels": {"alertname": "Down", "job": "api"}}]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    hook.wait_for(1, Duration::from_secs(10)).await;
    let (_, html) = get(&d, "/").await;
    let id = html
        .split("data-group=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a group")
        .to_owned();
    // The list does not say; the group's own view does.
    assert!(!html.contains("Who was told"));
    let url = d.url(&format!("/?group={id}"));
    assert!(
        eventually(Duration::from_secs(10), || {
            http_get(&url).is_some_and(|(_, b)| b.contains("<td>webhook</td>"))
        })
        .await,
        "{:?}",
        http_get(&url)
    );
    let (_, html) = get(&d, &format!("/?group={id}")).await;
    assert!(html.contains("Who was told"), "{html}");
    assert!(html.contains("<td>hook</td><td>webhook</td>"), "{html}");
    // From the notification history: the outcome and each attempt with the service's status.
    assert!(
        html.contains("<td class=\"outcome\">delivered in "),
        "{html}"
    );
    assert!(html.contains("#1 200</span>"), "{html}");
    let (_, html) = get(&d, "/status").await;
    assert!(html.contains("writable"), "{html}");

    // The same from the API, with its filters.
    let v = d
        .get_json("/api/tocsin/v1/notifications?receiver=hook")
        .await;
    assert_eq!(v.as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v[0]["integration"], "webhook");
    assert_eq!(v[0]["firing"], 1);
    assert_eq!(v[0]["groupKey"], "{}:{alertname=\"Down\"}", "{v}");
    let v = d
        .get_json("/api/tocsin/v1/notifications?receiver=other")
        .await;
    assert_eq!(v, json!([]));
    let v = d
        .get_json("/api/tocsin/v1/notifications?since=2999-01-01T00:00:00Z")
        .await;
    assert_eq!(v, json!([]));
    let v = d
        .get_json("/api/tocsin/v1/notifications?view=history&outcome=delivered")
        .await;
    assert_eq!(v.as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(v[0]["attempts"][0]["status"], 200, "{v}");
    assert_eq!(v[0]["kind"], "firing", "{v}");
    let id = v[0]["id"].as_str().unwrap();
    let one = d
        .get_json(&format!(
            "/api/tocsin/v1/notifications?view=history&id={id}"
        ))
        .await;
    assert_eq!(one, v);
    let v = d
        .get_json("/api/tocsin/v1/notifications?view=history&outcome=failed")
        .await;
    assert_eq!(v, json!([]));
    for bad in ["view=all", "outcome=lost", "limit=0"] {
        let r = reqwest::get(d.url(&format!("/api/tocsin/v1/notifications?{bad}")))
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        let (k, _) = bad.split_once('=').unwrap();
        assert!(
            r.text().await.unwrap().starts_with(&format!("\"{k} ")),
            "{bad}"
        );
    }
    let r = reqwest::get(d.url("/api/tocsin/v1/notifications?since=soon"))
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("since \\\"soon\\\""));
}

/// Reads `r`'s body until a server-sent event named `name` arrives (10 s at most); panics with
/// what was read.
async fn wait_event(r: &mut reqwest::Response, seen: &mut String, name: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let want = format!("event:{name}\n");
    while !seen.replace(' ', "").contains(&want) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, r.chunk()).await {
            Ok(Ok(Some(c))) => seen.push_str(&String::from_utf8_lossy(&c)),
            other => panic!("no {name} event ({other:?}); read: {seen:?}"),
        }
    }
    seen.clear();
}

/// With `--web.config.file` basic auth, every page, asset and the live-refresh stream refuse a
/// request without the right credentials; with them, the stream says hello at once and sends
/// `change` when an alert is posted.
#[tokio::test]
async fn pages_and_their_event_stream_need_basic_auth() {
    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("web.yml");
    let hash = bcrypt::hash("night-shift", 4).unwrap();
    std::fs::write(&web, format!("basic_auth_users:\n  oncall: {hash}\n")).unwrap();
    let d = Daemon::start_with(CONFIG, &[&format!("--web.config.file={}", web.display())]);
    let c = reqwest::Client::new();
    for p in [
        "/",
        "/silences",
        "/heartbeats",
        "/status",
        "/events",
        "/assets/app.js",
    ] {
        let r = c.get(d.url(p)).send().await.unwrap();
        assert_eq!(r.status(), 401, "{p} without credentials");
        let r = c
            .get(d.url(p))
            .basic_auth("oncall", Some("wrong"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{p} with a wrong password");
    }
    let (_, page) = {
        let r = c
            .get(d.url("/"))
            .basic_auth("oncall", Some("night-shift"))
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    };
    assert!(page.contains("id=\"live\""), "{page}");

    let mut r = c
        .get(d.url("/events"))
        .basic_auth("oncall", Some("night-shift"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let mut seen = String::new();
    wait_event(&mut r, &mut seen, "hello").await;
    let post = c
        .post(d.url("/api/v2/alerts"))
        .basic_auth("oncall", Some("night-shift"))
        .json(&alerts())
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), 200);
    wait_event(&mut r, &mut seen, "change").await;
}

/// A clustered daemon's status page names the cluster's readiness and lists its peers (here the
/// one peer it has: itself, with the address it advertises).
#[tokio::test]
async fn status_page_lists_the_cluster_peers() {
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("cluster.key");
    std::fs::write(&key, "a shared secret for the status page test\n").unwrap();
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let d = Daemon::start_with(
        CONFIG,
        &[
            &format!("--cluster.listen-address=127.0.0.1:{port}"),
            "--cluster.peer-name=status-peer",
            &format!("--cluster.key-file={}", key.display()),
            "--cluster.gossip-interval=100ms",
            "--cluster.settle-timeout=1s",
        ],
    );
    let mut html = String::new();
    let ready = eventually(Duration::from_secs(20), || {
        html = http_get(&d.url("/status")).map(|r| r.1).unwrap_or_default();
        html.contains("badge ok\">ready")
    })
    .await;
    assert!(ready, "the cluster never shows ready: {html}");
    assert!(!html.contains("not clustered"), "{html}");
    assert!(
        html.contains("<code>status-peer</code> (this peer)"),
        "{html}"
    );
    assert!(
        html.contains(&format!("<code>127.0.0.1:{port}</code>")),
        "{html}"
    );
    assert!(html.contains("1 member"), "{html}");
}
