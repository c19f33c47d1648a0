//! Every ingest limit against the real binary: its status code, a message naming its flag, what
//! is kept of a batch, and its count in `/metrics`.

use serde_json::{Value, json};

use crate::support::daemon::Daemon;

const CONFIG: &str = "route:\n  receiver: r\n  group_wait: 1h\nreceivers:\n- name: r\n";

async fn post(d: &Daemon, body: &Value) -> (u16, String, Option<String>) {
    let r = reqwest::Client::new()
        .post(d.url("/api/v2/alerts"))
        .json(body)
        .send()
        .await
        .unwrap();
    let retry = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (r.status().as_u16(), r.text().await.unwrap(), retry)
}

fn alert(name: &str, instance: &str) -> Value {
    json!({"labels": {"alertname": name, "instance": instance}})
}

/// The names of the active alerts called `name`, sorted by instance.
async fn instances(d: &Daemon, name: &str) -> Vec<String> {
    let got = d
        .get_json(&format!("/api/v2/alerts?filter=alertname%3D%22{name}%22"))
        .await;
    let mut v: Vec<String> = got
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["labels"]["instance"].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

fn metric(text: &str, line_start: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn each_limit_refuses_with_its_flag_and_is_counted() {
    let d = Daemon::start_with(
        CONFIG,
        &[
            "--web.max-request-bytes=100000",
            "--alerts.max-per-request=3",
            "--alerts.max-labels=4",
            "--alerts.max-label-bytes=50",
            "--alerts.per-alertname-limit=2",
            "--web.ingest-rate-limit=1",
            "--web.ingest-rate-burst=30",
        ],
    );

    // A body over --web.max-request-bytes: 413 in Alertmanager's error shape.
    let big = json!([{"labels": {"alertname": "Big"}, "annotations": {"x": "y".repeat(120_000)}}]);
    let (s, b, _) = post(&d, &big).await;
    assert_eq!(s, 413, "{b}");
    let b: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(
        b,
        json!({"code": 413, "message": "request body larger than --web.max-request-bytes=100000 bytes"})
    );

    // More alerts than --alerts.max-per-request: the whole request is refused.
    let four: Vec<Value> = (0..4).map(|i| alert("Four", &i.to_string())).collect();
    let (s, b, _) = post(&d, &Value::Array(four)).await;
    assert_eq!(s, 413, "{b}");
    assert!(
        b.contains("4 alerts in one request, more than --alerts.max-per-request=3"),
        "{b}"
    );
    assert!(instances(&d, "Four").await.is_empty());

    // Too many labels, a too long value: those alerts are refused (400 naming the flags), the
    // valid one of the batch is kept.
    let batch = json!([
        alert("Ok", "1"),
        {"labels": {"alertname": "Wide", "a": "1", "b": "2", "c": "3", "d": "4"}},
        {"labels": {"alertname": "Long", "v": "x".repeat(51)}},
    ]);
    let (s, b, _) = post(&d, &batch).await;
    assert_eq!(s, 400, "{b}");
    // Alertmanager's 400 for invalid alerts: a JSON string listing them.
    let b: String = serde_json::from_str(&b).unwrap();
    assert!(
        b.contains("5 labels, more than --alerts.max-labels=4"),
        "{b}"
    );
    assert!(
        b.contains("label \"v\": value of 51 bytes, more than --alerts.max-label-bytes=50"),
        "{b}"
    );
    assert_eq!(instances(&d, "Ok").await, ["1"]);
    assert!(instances(&d, "Wide").await.is_empty());
    assert!(instances(&d, "Long").await.is_empty());

    // --alerts.per-alertname-limit: as Alertmanager, the answer is 200, a third firing alert
    // of the name is dropped, the two admitted ones keep being updated, and a resolve frees a
    // place.
    let three: Vec<Value> = (1..=3).map(|i| alert("Flood", &i.to_string())).collect();
    let (s, b, _) = post(&d, &Value::Array(three)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(instances(&d, "Flood").await, ["1", "2"]);
    let mut update = alert("Flood", "1");
    update["annotations"] = json!({"summary": "updated"});
    assert_eq!(post(&d, &json!([update])).await.0, 200);
    let got = d
        .get_json("/api/v2/alerts?filter=alertname%3D%22Flood%22&filter=instance%3D%221%22")
        .await;
    assert_eq!(got[0]["annotations"]["summary"], "updated");
    let mut resolve = alert("Flood", "1");
    resolve["endsAt"] = json!("2020-01-01T00:00:00Z");
    resolve["startsAt"] = json!("2019-01-01T00:00:00Z");
    assert_eq!(
        post(&d, &json!([resolve, alert("Flood", "3")])).await.0,
        200
    );
    assert_eq!(instances(&d, "Flood").await, ["2", "3"]);
    assert!(
        d.log_text().contains("--alerts.per-alertname-limit allows"),
        "no warning in the log"
    );

    // The ingest rate per client address: past the burst, 429 with Retry-After naming the
    // flag; reads are not limited.
    let mut refused = None;
    for i in 0..60 {
        let (s, b, retry) = post(&d, &json!([alert(&format!("Rate{i}"), "1")])).await;
        if s == 429 {
            refused = Some((b, retry));
            break;
        }
        assert_eq!(s, 200, "{b}");
    }
    let (b, retry) = refused.expect("no 429 within 60 POSTs");
    assert!(b.contains("(--web.ingest-rate-limit)"), "{b}");
    assert_eq!(retry.as_deref(), Some("1"));
    let r = reqwest::get(d.url("/api/v2/alerts")).await.unwrap();
    assert_eq!(r.status(), 200);

    let m = d.metrics().await;
    for (limit, n) in [
        ("web.max-request-bytes", 1.0),
        ("alerts.max-per-request", 1.0),
        ("alerts.max-labels", 1.0),
        ("alerts.max-label-bytes", 1.0),
        ("web.ingest-rate-limit", 1.0),
    ] {
        assert_eq!(
            metric(
                &m,
                &format!("tocsin_requests_limited_total{{limit=\"{limit}\"}}")
            ),
            Some(n),
            "{limit}:\n{m}"
        );
    }
    assert_eq!(
        metric(&m, "alertmanager_alerts_limited_total "),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        metric(&m, "alertmanager_alerts_per_alert_limit "),
        Some(2.0),
        "{m}"
    );
    // The refused alerts are also Alertmanager's invalid ones.
    assert_eq!(
        metric(&m, "alertmanager_alerts_invalid_total{version=\"v2\"}"),
        Some(2.0),
        "{m}"
    );
}

#[tokio::test]
async fn the_defaults_take_what_prometheus_sends() {
    // Prometheus sends batches of up to 256 alerts with a few dozen labels; the defaults take
    // them, with no rate limit.
    let d = Daemon::start(CONFIG);
    let batch: Vec<Value> = (0..256)
        .map(|i| {
            let mut labels = serde_json::Map::new();
            labels.insert("alertname".into(), json!("Big"));
            labels.insert("instance".into(), json!(i.to_string()));
            for l in 0..40 {
                labels.insert(format!("label_{l}"), json!("v".repeat(200)));
            }
            json!({"labels": labels})
        })
        .collect();
    for _ in 0..5 {
        let (s, b, _) = post(&d, &Value::Array(batch.clone())).await;
        assert_eq!(s, 200, "{b}");
    }
    assert_eq!(instances(&d, "Big").await.len(), 256);
}

/// Requests pipelined in one write, with bodies of many sizes (most larger than one read):
/// each is answered, in order, and every alert is kept (a body is read straight into hyper's
/// buffer and the bytes past it, the next request's head, are taken back and read as a head).
#[tokio::test]
async fn pipelined_requests_with_bodies_are_each_answered_in_order() {
    use std::io::{Read, Write};
    let d = Daemon::start(CONFIG);
    let post = |body: &[u8]| {
        let mut r = format!(
            "POST /api/v2/alerts HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        r.extend_from_slice(body);
        r
    };
    let mut all = Vec::new();
    let mut expected = 0;
    let sizes = [1, 30, 60, 100, 170, 250, 400, 700, 1200, 2000];
    for (batch, n) in sizes.into_iter().enumerate() {
        let alerts: Vec<Value> = (0..n)
            .map(|i| alert("Piped", &format!("b{batch:02}-{i:04}")))
            .collect();
        all.extend(post(&serde_json::to_vec(&alerts).unwrap()));
        expected += n;
    }
    all.extend_from_slice(b"GET /-/healthy HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let addr = d.url("").trim_start_matches("http://").to_owned();
    let answers = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        s.write_all(&all).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    })
    .await
    .unwrap();
    let statuses: Vec<&str> = answers
        .lines()
        .filter(|l| l.starts_with("HTTP/1.1 "))
        .collect();
    assert_eq!(
        statuses,
        vec!["HTTP/1.1 200 OK"; sizes.len() + 1],
        "one answer per request, in order: {answers}"
    );
    assert_eq!(instances(&d, "Piped").await.len(), expected);
}
