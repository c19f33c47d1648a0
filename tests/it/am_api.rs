//! API v2 side by side with Alertmanager 0.25: the same requests to both, and Alertmanager's
//! answer (status and body) is the expectation. Bodies that Alertmanager reads leniently
//! (`null`, invalid UTF-8, `active=maybe`, a filter value with a comma), its 422s, its
//! millisecond times, the active-alert gauge.

use serde_json::{Value, json};

use crate::support::alertmanager::{Alertmanager, post_json};
use crate::support::daemon::{Daemon, eventually, http_get};

const CONFIG: &str = r#"
route:
  receiver: r
  group_by: [alertname]
  group_wait: 0s
  group_interval: 1s
receivers:
  - name: r
"#;

/// One raw request to one server: the status and body.
async fn send(base: &str, method: &str, path: &str, body: &[u8]) -> (u16, String) {
    let c = reqwest::Client::new();
    let url = format!("{base}{path}");
    let r = match method {
        "GET" => c.get(url),
        _ => c
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_vec()),
    };
    let r = r.send().await.expect("an answer");
    let status = r.status().as_u16();
    (status, r.text().await.expect("a body"))
}

/// JSON when it parses, else the text: so key order and spacing do not count.
fn normal(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.trim_end().to_owned()))
}

#[tokio::test]
async fn posts_and_queries_answer_as_alertmanager() {
    let Some(am) = Alertmanager::start(CONFIG).await else {
        return;
    };
    let d = Daemon::start(CONFIG);
    let tocsin = format!("http://{}", d.addr);
    let alert = |url: &str| format!(r#"[{{"labels":{{"alertname":"g"}},"generatorURL":"{url}"}}]"#);
    let mut cases: Vec<(&str, String, Vec<u8>)> = vec![
        ("POST", "/api/v2/alerts".into(), b"".to_vec()),
        ("POST", "/api/v2/alerts".into(), b" \n".to_vec()),
        ("POST", "/api/v2/alerts".into(), b"null".to_vec()),
        ("POST", "/api/v2/alerts".into(), b"{}".to_vec()),
        (
            "POST",
            "/api/v2/alerts".into(),
            b"[{\"labels\":{\"alertname\":\"utf\",\"bad\":\"a\xffb\xe2\x82c\"}},{\"labels\":{\"alertname\":\"ok\"}}]"
                .to_vec(),
        ),
        (
            "POST",
            "/api/v2/alerts".into(),
            br#"[{"labels":{"alertname":"nogen"}}]"#.to_vec(),
        ),
    ];
    for url in [
        "foo",
        "a/b",
        "#frag",
        "?a=b",
        "http://x y",
        ":x",
        "http://h:port/",
        "http://h/%zz",
        "http://h%41/",
        "http://[::1/",
        "http://u^@h/",
        "/foo",
        "/a b",
        "http:",
        "mailto:x@y",
        "*",
        "http://h@/x@",
        "http://[fe80::1%25en0]:80/",
        "http://prom:9090/graph?g0.expr=up",
        "",
    ] {
        cases.push(("POST", "/api/v2/alerts".into(), alert(url).into_bytes()));
    }
    for q in [
        "active=maybe",
        "active=TRUE",
        "active=0",
        "filter=alertname%3Dutf%2Cy",
        "filter=alertname%3D%22ok%22",
        "filter=alertname%3D~%22o.%2A%22",
        "filter=foo",
    ] {
        cases.push((
            "GET",
            format!("/api/v2/alerts?{q}&filter=alertname!%3Dg"),
            Vec::new(),
        ));
    }
    // Alertmanager 0.25 reads a filter as one classic matcher: no braces (0.27+ takes them),
    // and everything after the operator is the value, for silences as for alerts.
    for path in [
        "/api/v2/alerts?filter=%7Balertname%3D%22ok%22%7D",
        "/api/v2/alerts?filter=%7Balertname%3D%22ok%22%2Cx%3D%22y%22%7D",
        "/api/v2/alerts/groups?filter=%7Balertname%3D%22ok%22%7D",
        "/api/v2/alerts/groups?filter=alertname%3D%22ok%22",
        "/api/v2/silences?filter=%7Balertname%3D%22ok%22%7D",
        "/api/v2/silences?filter=alertname%3Dx%2Cy",
        "/api/v2/silences?filter=alertname%3D%22ok%22",
        "/api/v2/silences?filter=%7B%7D",
    ] {
        cases.push(("GET", path.into(), Vec::new()));
    }
    for (method, path, body) in &cases {
        let want = send(&am.base, method, path, body).await;
        let got = send(&tocsin, method, path, body).await;
        let (wb, gb) = (normal(&want.1), normal(&got.1));
        let what = format!("{method} {path} {}", String::from_utf8_lossy(body));
        assert_eq!(got.0, want.0, "status of {what}: {}", got.1);
        if method == &"GET" && want.0 == 200 {
            // Same alerts (times and fingerprint order aside: both sort by fingerprint).
            let names = |v: &Value| -> Vec<Value> {
                v.as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a["labels"].clone())
                    .collect()
            };
            assert_eq!(names(&gb), names(&wb), "alerts of {what}");
        } else if !(want.0 == 400 && method == &"POST" && body.starts_with(b"{")) {
            // (Go's and serde's JSON error texts differ; the status is what clients act on.)
            assert_eq!(gb, wb, "body of {what}");
        }
    }

    // The stored alert with invalid UTF-8, and the shape of a read alert.
    let one = |base: String| async move {
        let (_, b) = send(
            &base,
            "GET",
            "/api/v2/alerts?filter=alertname%3D%22utf%22",
            b"",
        )
        .await;
        normal(&b)[0].clone()
    };
    let (want, got) = (one(am.base.clone()).await, one(tocsin.clone()).await);
    assert_eq!(
        got["labels"], want["labels"],
        "U+FFFD for each invalid byte"
    );
    let keys = |v: &Value| -> Vec<String> { v.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(keys(&got), keys(&want), "generatorURL left out when empty");
    let millis = regex::Regex::new(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$").unwrap();
    for t in ["startsAt", "endsAt", "updatedAt"] {
        assert!(millis.is_match(want[t].as_str().unwrap()), "{want}");
        assert!(
            millis.is_match(got[t].as_str().unwrap()),
            "{t} in milliseconds: {got}"
        );
    }
    let status =
        |base: String| async move { normal(&send(&base, "GET", "/api/v2/status", b"").await.1) };
    let uptime = status(tocsin.clone()).await["uptime"].clone();
    assert!(millis.is_match(uptime.as_str().unwrap()), "{uptime}");
    assert!(millis.is_match(status(am.base.clone()).await["uptime"].as_str().unwrap()));
}

/// `alertmanager_alerts{state="active"}` leaves out resolved alerts still in the store.
#[tokio::test]
async fn active_alert_gauge_counts_what_alertmanager_counts() {
    let Some(am) = Alertmanager::start(CONFIG).await else {
        return;
    };
    let d = Daemon::start(CONFIG);
    let tocsin = format!("http://{}", d.addr);
    let body = json!([
        {"labels": {"alertname": "Firing"}},
        {"labels": {"alertname": "Resolved"}, "startsAt": "2026-01-01T00:00:00Z",
         "endsAt": "2026-01-01T00:05:00Z"},
    ]);
    for base in [&am.base, &tocsin] {
        assert_eq!(
            post_json(&format!("{base}/api/v2/alerts"), &body).await,
            200
        );
    }
    let active = |base: &str| {
        let text = http_get(&format!("{base}/metrics"))
            .map(|(_, t)| t)
            .unwrap_or_default();
        text.lines()
            .find(|l| l.starts_with("alertmanager_alerts{state=\"active\"}"))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
    };
    // Alertmanager counts an alert as active once its group has flushed.
    let settled = eventually(std::time::Duration::from_secs(10), || {
        active(&am.base) == Some(1.0)
    })
    .await;
    assert!(settled, "alertmanager: {:?}", active(&am.base));
    assert_eq!(active(&tocsin), Some(1.0));
}
