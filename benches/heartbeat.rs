//! The watchdog's own cost: 10,000 checks with 1 s periods (grace 1 s), each pinged once a
//! second (spread over the second), the deadline heap ticked every 100 ms as the timer loop
//! does, over 60 simulated seconds; then the same checks left silent, so all go down and their
//! alerts are built. Prints the CPU this costs as a share of one core (target: under 5%).
//!
//! In-process and single-threaded (std `Instant` around the registry calls, through the shared
//! handle and its mutex as the API uses it), so HTTP parsing is not in the figure; `bench/
//! heartbeat` measures the daemon over HTTP. Run with `cargo bench --bench heartbeat`.

// A benchmark measures real CPU time: std's clock, not the tokio-aware one.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::fmt::Write;
use std::path::Path;

use jiff::{SignedDuration, Timestamp};
use tocsin::config::Config;
use tocsin::heartbeat::{Heartbeats, Ping, PingKind};

const CHECKS: usize = 10_000;

/// CPU time this thread has run, in ns (`/proc/thread-self/schedstat`, Linux), so a busy
/// machine does not inflate the figure as wall time would.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}
const SECONDS: i64 = 60;

fn main() {
    let mut y = String::from("route: {receiver: r}\nreceivers: [{name: r}]\nheartbeats:\n");
    for i in 0..CHECKS {
        let _ = writeln!(y, "- {{name: c{i}, period: 1s, grace: 1s}}");
    }
    let cfg = Config::from_yaml(&y, Path::new("."), "bench.yml").expect("config");
    let names: Vec<String> = (0..CHECKS).map(|i| format!("c{i}")).collect();
    let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    let at = |ms: i64| t0.checked_add(SignedDuration::from_millis(ms)).unwrap();
    for round in 0..3 {
        let hb = Heartbeats::new(&cfg.heartbeats);
        let (start, cpu0) = (std::time::Instant::now(), cpu_ns());
        let mut alerts = 0usize;
        let per_tick = CHECKS / 10;
        for tick in 0..SECONDS * 10 {
            let now_ms = tick * 100;
            // The pings of this 100 ms slice.
            let slice = (tick % 10) as usize;
            for (k, name) in names[slice * per_tick..(slice + 1) * per_tick]
                .iter()
                .enumerate()
            {
                let p = Ping {
                    kind: PingKind::Success,
                    at: at(now_ms + (k as i64 * 100 / per_tick as i64)),
                    rid: None,
                    body: String::new(),
                    source: "127.0.0.1".into(),
                };
                alerts += hb.ping(name, &p).expect("known").len();
            }
            alerts += hb.tick(at(now_ms)).len();
        }
        let pinged = std::time::Duration::from_nanos(cpu_ns() - cpu0);
        let wall = start.elapsed();
        // Silence: every check goes down within the next 2 s.
        let cpu1 = cpu_ns();
        let mut down = 0;
        for tick in 0..30 {
            down += hb.tick(at(SECONDS * 1000 + tick * 100)).len();
        }
        let silent = std::time::Duration::from_nanos(cpu_ns() - cpu1);
        let pings = CHECKS as f64 * SECONDS as f64;
        println!(
            "round {round}: {CHECKS} checks pinged every second for {SECONDS} s: {:.3} s CPU ({:.3} s wall) = {:.2}% of one core ({:.0} ns per ping incl. ticks); {alerts} alerts meanwhile; then all {down} went down in {:.1} ms CPU",
            pinged.as_secs_f64(),
            wall.as_secs_f64(),
            pinged.as_secs_f64() / SECONDS as f64 * 100.0,
            pinged.as_nanos() as f64 / pings,
            silent.as_secs_f64() * 1000.0,
        );
        assert_eq!(alerts, 0, "no check may go down while pinged every second");
        assert_eq!(down, CHECKS);
    }
}
