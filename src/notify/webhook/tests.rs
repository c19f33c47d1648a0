use std::sync::Arc;

use jiff::Timestamp;

use super::payload::Payload;
use crate::model::{Alert, LabelSet};
use crate::notify::data::NotificationData;

fn alert(pairs: &[(&str, &str)], starts: &str, ends: &str) -> Arc<Alert> {
    let labels: LabelSet = pairs.iter().copied().collect();
    Arc::new(Alert {
        fingerprint: labels.fingerprint(),
        labels,
        annotations: [("summary", "disk")].into_iter().collect(),
        starts_at: starts.parse().unwrap(),
        ends_at: ends.parse().unwrap(),
        generator_url: Arc::from("http://prom/graph?g0.expr=x"),
        updated_at: starts.parse().unwrap(),
        timeout: false,
    })
}

#[test]
fn v4_payload_matches_alertmanager() {
    let now: Timestamp = "2026-11-22T20:45:00Z".parse().unwrap();
    let a = alert(
        &[
            ("alertname", "DiskFull"),
            ("instance", "b:9100"),
            ("job", "node"),
        ],
        "2026-11-22T20:41:09.386046549Z",
        "2026-11-22T21:41:09Z",
    );
    let b = alert(
        &[
            ("alertname", "DiskFull"),
            ("instance", "a:9100"),
            ("job", "node"),
        ],
        "2026-11-22T20:40:00Z",
        "2026-11-22T20:44:00.5Z",
    );
    let group: LabelSet = [("alertname", "DiskFull")].into_iter().collect();
    let d = NotificationData::new(
        "hook.crit",
        vec![a, b],
        1,
        &group,
        "http://am.example:9093",
        "{}/{severity=\"critical\"}:{alertname=\"DiskFull\"}",
        "first notification",
        now,
    );
    let json = serde_json::to_string(&Payload::new(&d)).unwrap();
    let want = concat!(
        r#"{"receiver":"hook\\.crit","status":"resolved","alerts":[{"status":"resolved","#,
        r#""labels":{"alertname":"DiskFull","instance":"a:9100","job":"node"},"#,
        r#""annotations":{"summary":"disk"},"startsAt":"2026-11-22T20:40:00Z","#,
        r#""endsAt":"2026-11-22T20:44:00.5Z","generatorURL":"http://prom/graph?g0.expr=x","#,
        r#""fingerprint":"#
    );
    assert!(json.starts_with(want), "{json}");
    assert!(
        json.ends_with(concat!(
            r#""groupLabels":{"alertname":"DiskFull"},"#,
            r#""commonLabels":{"alertname":"DiskFull","instance":"a:9100","job":"node"},"#,
            r#""commonAnnotations":{"summary":"disk"},"externalURL":"http://am.example:9093","#,
            r#""version":"4","groupKey":"{}/{severity=\"critical\"}:{alertname=\"DiskFull\"}","#,
            r#""truncatedAlerts":1}"#
        )),
        "{json}"
    );
}

#[test]
fn firing_alerts_carry_zero_end_time() {
    let now: Timestamp = "2026-11-22T20:45:00Z".parse().unwrap();
    let a = alert(
        &[("alertname", "X")],
        "2026-11-22T20:41:09.386046549Z",
        "2026-11-22T21:00:00Z",
    );
    let d = NotificationData::new("r", vec![a], 0, &LabelSet::new(), "", "{}:{}", "", now);
    let v: serde_json::Value = serde_json::to_value(Payload::new(&d)).unwrap();
    assert_eq!(v["status"], "firing");
    assert_eq!(v["alerts"][0]["endsAt"], "0001-01-01T00:00:00Z");
    assert_eq!(v["alerts"][0]["startsAt"], "2026-11-22T20:41:09.386046549Z");
    assert_eq!(v["truncatedAlerts"], 0);
}

/// The webhook URL (which often carries a token) never appears in an error, whatever fails.
#[tokio::test]
async fn errors_never_name_the_url() {
    use crate::notify::testkit::{Rig, closed_port, error_text};
    let addr = closed_port().await;
    let r = Rig::new(
        "  resolve_timeout: 5m",
        &format!("    webhook_configs:\n    - url: http://{addr}/hook?token=S3cr3tT0ken\n"),
        std::time::Duration::from_secs(1),
    );
    let e = error_text(&r).await;
    assert!(e.contains("onnect"), "{e}");
    assert!(!e.contains("S3cr3tT0ken"), "{e}");
}
