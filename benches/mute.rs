//! The two checks every flushed alert goes through, at scale:
//!
//! - inhibition with 10,000 source alerts in one rule (`equal: [cluster, namespace]`), for a
//!   target that is inhibited and one that is not (target: ≤ 2 µs; Alertmanager 0.25 scans every
//!   source: 104 µs);
//! - silence matching of one alert against 10,000 active silences (target: ≤ 20 µs): silences on
//!   `alertname` + `instance`, on a regex alternation of instances, on a regex with a literal
//!   prefix (`host-N\..*`), on a general regex whose required literal the index files it under
//!   (`.+-N\..*` under `-N.`, found by an automaton over the alert's value), on the same with
//!   each digit a class of two (filed under every spelling), and a worst case where no silence
//!   has a useful literal (each digit a class too wide to spell out: only `-` and `.` are
//!   required, and every alert's instance has them; every one is tried, as Alertmanager tries
//!   every silence).
//!
//! Each silence check is measured twice: the same alert again (answered from the match cache
//! while no silence changes, as an alert is checked at every flush of its group) and an alert
//! seen for the first time (`first check`: through the index).
//!
//! `MUTE_ITERS=N` runs each check N times without criterion, for instruction counts under
//! `valgrind --tool=callgrind` or `perf stat`.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, criterion_group};
use jiff::{SignedDuration, Timestamp};
use tocsin::config::InhibitRule;
use tocsin::inhibit::Inhibitor;
use tocsin::model::{Alert, LabelSet, MatchType, Matcher};
use tocsin::silence::{Limits, Silence, Silences};

const N: usize = 10_000;

/// The kinds of silence the checks run against (see the module's comment).
const KINDS: [&str; 6] = [
    "equal",
    "alternation",
    "prefix",
    "literal",
    "classes",
    "unindexed",
];

fn now() -> Timestamp {
    Timestamp::from_second(1_800_000_000).unwrap()
}

fn labels(pairs: &[(&str, &str)]) -> LabelSet {
    pairs.iter().copied().collect()
}

/// An alert with the eight labels the ingest benchmark uses.
fn alert_labels(i: usize, severity: &str) -> LabelSet {
    let (name, inst, ns) = (
        format!("Alert{}", i % 200),
        format!("host-{i}.example.net:9100"),
        format!("ns{}", i % 50),
    );
    let cluster = format!("c{}", i % 20);
    labels(&[
        ("alertname", &name),
        ("cluster", &cluster),
        ("env", "prod"),
        ("instance", &inst),
        ("job", "node"),
        ("namespace", &ns),
        ("severity", severity),
        ("team", "infra"),
    ])
}

fn alert(l: LabelSet) -> Arc<Alert> {
    Arc::new(Alert {
        fingerprint: l.fingerprint(),
        labels: l,
        annotations: LabelSet::new(),
        starts_at: now(),
        ends_at: now() + SignedDuration::from_hours(1),
        generator_url: Arc::from(""),
        updated_at: now(),
        timeout: false,
    })
}

fn m(n: &str, op: MatchType, v: &str) -> Matcher {
    Matcher::new(n, op, v).unwrap()
}

fn inhibitor() -> Inhibitor {
    let rule = InhibitRule {
        name: Some("critical mutes warnings".into()),
        source_matchers: vec![m("severity", MatchType::Equal, "critical")],
        target_matchers: vec![m("severity", MatchType::Equal, "warning")],
        equal: vec!["cluster".into(), "namespace".into()],
    };
    let ih = Inhibitor::new(&[rule]);
    let sources: Vec<Arc<Alert>> = (0..N).map(|i| alert(alert_labels(i, "critical"))).collect();
    ih.observe(&sources, now());
    ih
}

fn silences(kind: &str) -> Silences {
    let s = Silences::new(SignedDuration::from_hours(120), Limits::default());
    for i in 0..N {
        let matchers = match kind {
            "equal" => vec![
                m("alertname", MatchType::Equal, &format!("Alert{}", i % 200)),
                m(
                    "instance",
                    MatchType::Equal,
                    &format!("host-{i}.example.net:9100"),
                ),
            ],
            "alternation" => vec![m(
                "instance",
                MatchType::Regex,
                &format!(
                    r"host-{i}\.example\.net:9100|host-{}\.example\.net:9100",
                    i + N
                ),
            )],
            "prefix" => vec![
                m("instance", MatchType::Regex, &format!("host-{i}\\..*")),
                m("severity", MatchType::NotEqual, "info"),
            ],
            "literal" => vec![
                m("instance", MatchType::Regex, &format!(".+-{i}\\..*")),
                m("severity", MatchType::NotEqual, "info"),
            ],
            "classes" => vec![
                m(
                    "instance",
                    MatchType::Regex,
                    // Each digit a class of two: filed under the sixteen spellings of
                    // `-4242.` and the like.
                    &format!(
                        ".+-{}\\..*",
                        i.to_string()
                            .chars()
                            .map(|d| format!("[{d}_]"))
                            .collect::<String>()
                    ),
                ),
                m("severity", MatchType::NotEqual, "info"),
            ],
            _ => vec![
                m(
                    "instance",
                    MatchType::Regex,
                    // Each digit a class too wide to spell out: the only literals left are
                    // `-` and `.`, in every instance, so every silence is a candidate.
                    &format!(
                        ".+-{}\\..*",
                        i.to_string()
                            .chars()
                            .map(|d| format!("[{d}\\x{{100}}-\\x{{140}}]"))
                            .collect::<String>()
                    ),
                ),
                m("severity", MatchType::NotEqual, "info"),
            ],
        };
        let sil = Silence {
            id: Arc::from(""),
            matchers,
            starts_at: now(),
            ends_at: now() + SignedDuration::from_hours(2),
            updated_at: now(),
            created_by: "bench".into(),
            comment: "bench".into(),
            annotations: LabelSet::new(),
        };
        s.set(sil, now()).unwrap();
    }
    s
}

fn checks() -> Vec<(String, Box<dyn Fn() -> bool>)> {
    let ih = Arc::new(inhibitor());
    let t = now() + SignedDuration::from_secs(1);
    let inhibited = alert_labels(4242, "warning");
    // A cluster/namespace pair no source has.
    let free = labels(&[
        ("alertname", "Alert1"),
        ("cluster", "c99"),
        ("namespace", "ns99"),
        ("severity", "warning"),
    ]);
    let mut out: Vec<(String, Box<dyn Fn() -> bool>)> = Vec::new();
    {
        let ih = Arc::clone(&ih);
        let l = inhibited.clone();
        out.push((
            "inhibit 10k sources, inhibited".into(),
            Box::new(move || ih.mutes(&l, t)),
        ));
    }
    out.push((
        "inhibit 10k sources, not inhibited".into(),
        Box::new(move || ih.mutes(&free, t)),
    ));
    for kind in KINDS {
        let s = Arc::new(silences(kind));
        let hit = alert_labels(4242, "warning");
        let miss = alert_labels(3 * N + 7, "warning");
        {
            let s = Arc::clone(&s);
            out.push((
                format!("silence 10k {kind}, silenced"),
                Box::new(move || !s.silenced_by(&hit, t).is_empty()),
            ));
        }
        out.push((
            format!("silence 10k {kind}, not silenced"),
            Box::new(move || s.is_silenced(&miss, t)),
        ));
    }
    out
}

fn bench(c: &mut Criterion) {
    let checks = checks();
    // Each check answers what its name says.
    for (name, f) in &checks {
        let want = !name.ends_with("not inhibited") && !name.ends_with("not silenced");
        assert_eq!(f(), want, "{name}");
    }
    let mut g = c.benchmark_group("mute");
    for (name, f) in &checks {
        g.bench_function(name.as_str(), |b| b.iter(|| black_box(f())));
    }
    // The same alert checked again is answered from the match cache while no silence changes
    // (above); an alert seen for the first time goes through the index: a label set that differs
    // in each iteration (an extra `probe` label no silence names) measures that.
    let t = now() + SignedDuration::from_secs(1);
    for kind in KINDS {
        let s = silences(kind);
        for (which, i) in [("silenced", 4242), ("not silenced", 3 * N + 7)] {
            let base = alert_labels(i, "warning");
            let mut n = 0u64;
            g.bench_function(format!("silence 10k {kind}, {which}, first check"), |b| {
                b.iter_batched(
                    || {
                        n += 1;
                        let probe = n.to_string();
                        let mut pairs: Vec<(&str, &str)> = base.iter().collect();
                        pairs.push(("probe", &probe));
                        labels(&pairs)
                    },
                    |l| black_box(s.silenced_by(&l, t)),
                    BatchSize::SmallInput,
                )
            });
        }
    }
    g.finish();
}

fn main_iters() -> bool {
    let Some(n) = std::env::var("MUTE_ITERS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    else {
        return false;
    };
    for (_, f) in checks() {
        for _ in 0..n {
            black_box(f());
        }
    }
    true
}

criterion_group!(benches, bench);

fn main() {
    if main_iters() {
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
