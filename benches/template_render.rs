//! Renders the default Slack message (title + text) for a group of 100 alerts.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use tocsin::template::{Alert, Data, Kv, RenderContext, Templates};

fn group(n: usize) -> Data {
    let start: jiff::Timestamp = "2026-11-22T20:41:09.386046549Z".parse().expect("time");
    let alerts = (0..n)
        .map(|i| Alert {
            status: if i % 10 == 9 {
                "resolved".into()
            } else {
                "firing".into()
            },
            labels: Kv::from_pairs([
                ("alertname", "DiskFull".to_string()),
                ("cluster", "eu1".to_string()),
                ("instance", format!("db-{i}:9100")),
                ("job", "node".to_string()),
                (
                    "severity",
                    if i % 3 == 0 { "critical" } else { "warning" }.to_string(),
                ),
            ]),
            annotations: Kv::from_pairs([
                ("summary", format!("Disk /var on db-{i} is 97% full")),
                (
                    "runbook_url",
                    "https://runbooks.example.com/disk-full".to_string(),
                ),
            ]),
            starts_at: start,
            ends_at: if i % 10 == 9 {
                start
            } else {
                tocsin::template::zero_time()
            },
            generator_url: "http://prom.example:9090/graph?g0.expr=x".into(),
            fingerprint: format!("{i:016x}"),
        })
        .collect();
    Data {
        receiver: "team-db".into(),
        status: "firing".into(),
        alerts,
        group_labels: Kv::from_pairs([("alertname", "DiskFull"), ("cluster", "eu1")]),
        common_labels: Kv::from_pairs([
            ("alertname", "DiskFull"),
            ("cluster", "eu1"),
            ("job", "node"),
        ]),
        external_url: "http://am.example:9093".into(),
        ..Data::default()
    }
}

fn bench(c: &mut Criterion) {
    let t = Templates::with_defaults();
    let title = t
        .parse_inline(r#"{{ template "slack.default.title" . }}"#)
        .expect("title");
    let text = t
        .parse_inline(r#"{{ template "slack.default.text" . }}"#)
        .expect("text");
    let data = group(100);
    let ctx = RenderContext::new(
        jiff::tz::TimeZone::UTC,
        "2026-11-22T22:00:00Z".parse().expect("now"),
    );
    c.bench_function("slack_default_title_and_text_100_alerts", |b| {
        b.iter(|| {
            let a = title.render(&t, black_box(&data), &ctx).expect("title");
            let b2 = text.render(&t, black_box(&data), &ctx).expect("text");
            (a.len(), b2.len())
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
