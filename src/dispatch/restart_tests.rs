//! Group timers across a restart, in paused time: the first dispatcher keeps its timer records
//! in a real store (a temporary directory), is stopped, and a second one is rebuilt from the
//! alerts and what the store kept, with the notification log carried over as storage carries
//! it. A group keeps its schedule; a flush due while tocsin was down goes once at start-up; a
//! flush in flight at the stop is done again at once. And the shutdown drain: a flush in flight
//! is waited for up to the deadline, then cut off (and then done again after the restart).

use std::sync::Arc;
use std::time::Duration as StdDuration;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::tests::{Rig, alert};
use super::{Dispatcher, RouteTree};
use crate::clock;
use crate::config::{Config, Route};
use crate::metrics::Metrics;
use crate::model::Alert;
use crate::nflog::Nflog;
use crate::notify::{Integration, Notifier, NotifySettings, ReceiverRuntime};
use crate::storage::{Entry, Kind, OpenOptions, Store};

fn root(gw: u64, gi: u64, ri: u64) -> Route {
    let yaml = format!(
        "route:\n  receiver: r\n  group_by: [alertname]\n  group_wait: {gw}s\n  group_interval: {gi}s\n  repeat_interval: {ri}s\nreceivers:\n  - name: r\n"
    );
    Config::from_yaml(&yaml, std::path::Path::new("."), "test.yml")
        .expect("valid test config")
        .route
}

/// One run of the daemon: a dispatcher whose timer records go to the store in `dir`.
struct Run {
    rig: Rig,
    /// Cancels the sends in flight (the process ending).
    sends: CancellationToken,
    store: Option<Store>,
    dir: std::path::PathBuf,
}

/// Starts a run over `route`, restoring `alerts` with the timer records the store in `dir`
/// holds; `hang` first requests are never answered.
fn start(
    route: &Route,
    dir: &std::path::Path,
    nflog: &Arc<Nflog>,
    alerts: &[Arc<Alert>],
    hang: usize,
) -> Run {
    let (store, mut contents) = Store::open(dir, &OpenOptions::default()).expect("store opens");
    let (tx, rx) = mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    let sends = CancellationToken::new();
    let integration = if hang > 0 {
        Integration::stalling(tx, hang)
    } else {
        Integration::channel(tx, true)
    };
    let notifier = Notifier::new(
        vec![ReceiverRuntime {
            name: Arc::from("r"),
            integrations: vec![integration],
            send_resolved_when_muted: true,
        }],
        Arc::clone(nflog),
        Arc::new(Metrics::new()),
        NotifySettings {
            external_url: "http://tocsin".into(),
            max_retry: StdDuration::from_secs(900),
            retention: SignedDuration::from_hours(120),
        },
        sends.clone(),
    );
    let d = Dispatcher::with_sends(
        Arc::new(RouteTree::new(route)),
        Arc::new(notifier),
        Arc::new(Metrics::new()),
        cancel.clone(),
        sends.clone(),
    );
    d.set_journal(store.journal());
    d.restore(alerts, contents.take(Kind::Groups))
        .expect("records decode");
    tokio::spawn(d.clone().run());
    Run {
        rig: Rig {
            d,
            rx,
            t0: tokio::time::Instant::now(),
            cancel,
        },
        sends,
        store: Some(store),
        dir: dir.to_path_buf(),
    }
}

impl Run {
    /// Stops the run as a crash would after its last write reached the disk: the scheduler and
    /// every flush end, the store keeps what was queued. Returns what the store holds.
    fn stop(mut self) -> Vec<Entry> {
        self.rig.cancel.cancel();
        self.sends.cancel();
        if let Some(s) = self.store.take() {
            s.close();
        }
        let (s, mut c) = Store::open(&self.dir, &OpenOptions::default()).expect("reopens");
        s.close();
        c.take(Kind::Groups)
    }
}

fn in_secs(s: i64) -> Timestamp {
    clock::now() + SignedDuration::from_secs(s)
}

fn near(t: f64, want: f64) -> bool {
    (t - want).abs() < 0.01
}

async fn none_within(r: &mut Rig, secs: f64) {
    let got = tokio::time::timeout(StdDuration::from_secs_f64(secs), r.rx.recv()).await;
    assert!(
        got.is_err(),
        "unexpected notification: {:?}",
        got.map(|n| n.map(|n| n.reason))
    );
}

#[tokio::test(start_paused = true)]
async fn a_restart_mid_group_wait_waits_only_what_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let nflog = Arc::new(Nflog::new());
    let route = root(30, 300, 10_000);
    let a = alert("A", in_secs(0), in_secs(100_000));
    let mut run = start(&route, dir.path(), &nflog, &[], 0);
    run.rig.d.ingest(std::slice::from_ref(&a));
    none_within(&mut run.rig, 10.0).await;
    let kept = run.stop();
    tokio::time::sleep(StdDuration::from_secs(5)).await; // down
    let mut run = start(&route, dir.path(), &nflog, &[a], 0);
    assert!(kept.is_empty(), "nothing flushed yet, nothing kept");
    let (t, n) = run.rig.next().await;
    assert!(near(t, 15.0), "30 s group_wait, 15 s already passed: {t}");
    assert_eq!(n.reason, "first notification");
    run.stop();
}

#[tokio::test(start_paused = true)]
async fn a_restart_between_flushes_keeps_the_group_interval() {
    let dir = tempfile::tempdir().unwrap();
    let nflog = Arc::new(Nflog::new());
    let route = root(30, 300, 10_000);
    let a = alert("A", in_secs(0), in_secs(100_000));
    let mut run = start(&route, dir.path(), &nflog, &[], 0);
    run.rig.d.ingest(std::slice::from_ref(&a));
    let (t, _) = run.rig.next().await;
    assert!(near(t, 30.0));
    // A second alert joins at 100 s; tocsin stops at 120 s and is down for a minute.
    tokio::time::sleep(StdDuration::from_secs(70)).await;
    let b = Arc::new(a.as_ref().clone().with_label("x", "1"));
    run.rig.d.ingest(std::slice::from_ref(&b));
    tokio::time::sleep(StdDuration::from_secs(20)).await;
    let kept = run.stop();
    assert_eq!(kept.len(), 1, "one group's timers kept");
    tokio::time::sleep(StdDuration::from_secs(60)).await;
    // Back at 180 s: the group's next tick is 330 s, 150 s from now; not at start-up.
    let mut run = start(&route, dir.path(), &nflog, &[a, b], 0);
    let (t, n) = run.rig.next().await;
    assert!(near(t, 150.0), "at the group's next tick, got {t}");
    assert_eq!(n.reason, "new alerts added");
    assert_eq!(n.alerts.len(), 2);
    none_within(&mut run.rig, 1000.0).await;
    run.stop();
}

#[tokio::test(start_paused = true)]
async fn a_flush_due_while_down_goes_once_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let nflog = Arc::new(Nflog::new());
    let route = root(30, 300, 10_000);
    let a = alert("A", in_secs(0), in_secs(100_000));
    let mut run = start(&route, dir.path(), &nflog, &[], 0);
    run.rig.d.ingest(std::slice::from_ref(&a));
    run.rig.next().await;
    let b = Arc::new(a.as_ref().clone().with_label("x", "1"));
    run.rig.d.ingest(std::slice::from_ref(&b));
    run.stop();
    // Down for ten minutes: the tick at 330 s passed meanwhile.
    tokio::time::sleep(StdDuration::from_secs(600)).await;
    let mut run = start(&route, dir.path(), &nflog, &[a, b], 0);
    let (t, n) = run.rig.next().await;
    assert!(near(t, 0.0), "at once at start-up, got {t}");
    assert_eq!(n.alerts.len(), 2);
    none_within(&mut run.rig, 5000.0).await;
    run.stop();
}

#[tokio::test(start_paused = true)]
async fn a_flush_in_flight_at_the_stop_is_done_again_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let nflog = Arc::new(Nflog::new());
    let route = root(10, 300, 10_000);
    let a = alert("A", in_secs(0), in_secs(100_000));
    // The receiver does not answer the first request: the flush at 10 s hangs.
    let run = start(&route, dir.path(), &nflog, &[], 1);
    run.rig.d.ingest(std::slice::from_ref(&a));
    tokio::time::sleep(StdDuration::from_secs(12)).await;
    run.stop();
    tokio::time::sleep(StdDuration::from_secs(3)).await;
    let mut run = start(&route, dir.path(), &nflog, &[a], 0);
    let (t, n) = run.rig.next().await;
    assert!(near(t, 0.0), "done again at once, got {t}");
    assert_eq!(n.reason, "first notification");
    none_within(&mut run.rig, 5000.0).await;
    run.stop();
}

#[tokio::test(start_paused = true)]
async fn a_group_destroyed_leaves_no_record() {
    let dir = tempfile::tempdir().unwrap();
    let nflog = Arc::new(Nflog::new());
    let route = root(10, 60, 10_000);
    let a = alert("A", in_secs(0), in_secs(100_000));
    let mut run = start(&route, dir.path(), &nflog, &[], 0);
    run.rig.d.ingest(std::slice::from_ref(&a));
    run.rig.next().await;
    let resolved = alert("A", in_secs(-20), in_secs(-1));
    run.rig.d.ingest(std::slice::from_ref(&resolved));
    let (_, n) = run.rig.next().await;
    assert_eq!(n.status, "resolved");
    tokio::time::sleep(StdDuration::from_secs(1)).await;
    assert!(
        run.stop().is_empty(),
        "the group's record is deleted with it"
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_waits_for_a_flush_in_flight_up_to_its_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let nflog = Arc::new(Nflog::new());
    let route = root(10, 60, 10_000);
    let a = alert("A", in_secs(0), in_secs(100_000));
    // The first request is never answered: it fails at its 60 s deadline and the retry
    // succeeds, about 70 s in.
    let mut run = start(&route, dir.path(), &nflog, &[], 1);
    run.rig.d.ingest(std::slice::from_ref(&a));
    tokio::time::sleep(StdDuration::from_secs(12)).await;
    run.rig.cancel.cancel(); // SIGTERM: the scheduler stops
    let t = tokio::time::Instant::now();
    assert_eq!(run.rig.d.drain(StdDuration::from_secs(300)).await, 0);
    let waited = t.elapsed().as_secs_f64();
    assert!(
        (55.0..80.0).contains(&waited),
        "waited for the retry: {waited}"
    );
    let (_, n) = run.rig.next().await;
    assert_eq!(n.reason, "first notification");
    run.stop();
    // Delivered before the exit: not sent again after the restart.
    let mut run = start(&route, dir.path(), &nflog, &[a], 0);
    none_within(&mut run.rig, 5000.0).await;
    run.stop();
}

#[tokio::test(start_paused = true)]
async fn shutdown_cuts_off_a_flush_past_its_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let nflog = Arc::new(Nflog::new());
    let route = root(10, 60, 10_000);
    let a = alert("A", in_secs(0), in_secs(100_000));
    let run = start(&route, dir.path(), &nflog, &[], 1);
    run.rig.d.ingest(std::slice::from_ref(&a));
    tokio::time::sleep(StdDuration::from_secs(12)).await;
    run.rig.cancel.cancel();
    let t = tokio::time::Instant::now();
    assert_eq!(run.rig.d.drain(StdDuration::from_secs(5)).await, 1);
    assert!(t.elapsed() < StdDuration::from_secs(7), "{:?}", t.elapsed());
    run.stop();
    let mut run = start(&route, dir.path(), &nflog, &[a], 0);
    let (t, n) = run.rig.next().await;
    assert!(near(t, 0.0), "sent at once after the restart, got {t}");
    assert_eq!(n.reason, "first notification");
    run.stop();
}

#[test]
fn records_round_trip_and_garbage_is_refused() {
    use super::dispatcher::GroupRecord;
    let r = GroupRecord {
        next_tick: Timestamp::from_millisecond(1_700_000_000_123).unwrap(),
        wake: Some(Timestamp::from_millisecond(1_700_000_100_000).unwrap()),
        flushed: true,
        in_flight: false,
    };
    assert_eq!(GroupRecord::decode(&r.encode()), Ok(r));
    let none = GroupRecord {
        wake: None,
        in_flight: true,
        ..r
    };
    assert_eq!(GroupRecord::decode(&none.encode()), Ok(none));
    for bad in [&b""[..], &[1u8; 17][..], &[2u8; 18][..], &[1u8; 19][..]] {
        assert!(GroupRecord::decode(bad).is_err(), "{bad:?}");
    }
}
