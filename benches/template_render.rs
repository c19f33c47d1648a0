//! Renders the default Slack message (title + text) for a group of 100 alerts.
//!
//! With `TEMPLATE_RENDER_ITERS=N` set, it renders N times and exits instead of benchmarking:
//! run it under valgrind at two values of N to count instructions per render, a figure that
//! does not move with the machine's load (see `bench/README.md`).

use criterion::{Criterion, black_box, criterion_group};
use tocsin::template::{Alert, Data, Inline, Kv, RenderContext, Templates};

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
            starts_at_offset: Some(0),
            ends_at_offset: Some(0),
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

/// The templates, data and context of one render, and the render itself.
struct Slack {
    t: Templates,
    title: Inline,
    text: Inline,
    data: Data,
    ctx: RenderContext,
}

impl Slack {
    fn new() -> Self {
        let t = Templates::with_defaults();
        let title = t
            .parse_inline(r#"{{ template "slack.default.title" . }}"#)
            .expect("title");
        let text = t
            .parse_inline(r#"{{ template "slack.default.text" . }}"#)
            .expect("text");
        let ctx = RenderContext::new(
            jiff::tz::TimeZone::UTC,
            "2026-11-22T22:00:00Z".parse().expect("now"),
        );
        Slack {
            t,
            title,
            text,
            data: group(100),
            ctx,
        }
    }

    fn render(&self) -> usize {
        let a = self.title.render(&self.t, black_box(&self.data), &self.ctx);
        let b = self.text.render(&self.t, black_box(&self.data), &self.ctx);
        a.expect("title").len() + b.expect("text").len()
    }
}

fn bench(c: &mut Criterion) {
    let s = Slack::new();
    c.bench_function("slack_default_title_and_text_100_alerts", |b| {
        b.iter(|| s.render())
    });
}

criterion_group!(benches, bench);

fn main() {
    if let Some(n) = std::env::var("TEMPLATE_RENDER_ITERS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        let s = Slack::new();
        let total: usize = (0..n).map(|_| s.render()).sum();
        println!("{n} renders, {total} bytes");
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
