//! Loading and validating a large generated config: 1,000 routes (100 top-level routes with 9
//! children each) and 200 receivers. Target: under 50 ms in release. Routes reuse a few regexes,
//! as real configs do (the loader compiles each distinct one once); a second case gives every
//! route its own regexes, which is bound by regex compilation. Each load also builds the
//! receivers' integrations as the daemon and `check-config` do (HTTP clients included, with a
//! fresh client cache each time, so the system's CA roots are loaded in every iteration).

use std::fmt::Write;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use tocsin::config::Config;
use tocsin::metrics::Metrics;
use tocsin::notify::Notifier;
use tocsin::notify::http::ClientCache;

/// A config with `routes` routes and `receivers` webhook receivers.
fn generate(routes: usize, receivers: usize, distinct: bool) -> String {
    let mut y = String::from(
        "global:\n  resolve_timeout: 5m\nroute:\n  receiver: r0\n  group_by: [alertname, cluster]\n  routes:\n",
    );
    let top = routes / 10;
    let mut n = 0;
    for t in 0..top {
        let _ = writeln!(
            y,
            "  - matchers: ['team=\"team{t}\"']\n    receiver: r{}\n    continue: {}\n    routes:",
            n % receivers,
            t % 3 == 0
        );
        n += 1;
        for c in 0..9 {
            let c = if distinct { n } else { c };
            let _ = writeln!(
                y,
                "    - matchers: ['severity=~\"crit|page{c}\"', 'service!=\"svc{c}\"']\n      match_re:\n        cluster: \"eu-.*|us-{c}\"\n      receiver: r{}\n      group_wait: {}s",
                n % receivers,
                c % 9 + 1
            );
            n += 1;
        }
    }
    y.push_str("receivers:\n");
    for r in 0..receivers {
        let _ = writeln!(
            y,
            "- name: r{r}\n  webhook_configs:\n  - url: http://127.0.0.1:5001/r{r}\n    send_resolved: true"
        );
    }
    y
}

fn bench(c: &mut Criterion) {
    for (name, distinct) in [
        ("config_load_1000_routes_200_receivers", false),
        (
            "config_load_1000_routes_200_receivers_distinct_regexes",
            true,
        ),
    ] {
        let text = generate(1000, 200, distinct);
        let cfg = Config::from_yaml(&text, Path::new("."), "bench.yml").expect("valid");
        assert_eq!(cfg.route.walk().len(), 1001);
        assert_eq!(cfg.receivers.len(), 200);
        c.bench_function(name, |b| {
            b.iter(|| {
                let cfg =
                    Config::from_yaml(std::hint::black_box(&text), Path::new("."), "bench.yml")
                        .expect("valid");
                let templates = std::sync::Arc::new(cfg.load_templates().expect("templates"));
                Notifier::build_receivers(
                    &cfg.receivers,
                    &templates,
                    &Metrics::new(),
                    &ClientCache::new(),
                )
                .expect("receivers")
                .receivers
                .len()
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
