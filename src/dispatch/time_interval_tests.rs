//! Timeline tests of mute and active time intervals in paused time, on real dates: a mute window
//! crossing midnight, office hours across Europe/London's DST changes (last Sunday of March and
//! of October). Each checks that nothing is sent while muted and that a group still firing is
//! notified at the exact instant the window ends, not at its next tick or repeat.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::tests::{Rig, alert, notifier};
use super::{Dispatcher, RouteTree};
use crate::clock;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::notify::data::NotificationData;
use crate::notify::mute::{MuteStages, TimeIntervalStage};

fn ts(s: &str) -> Timestamp {
    s.parse().expect("test timestamp")
}

/// A rig whose wall clock starts at `start`, with one child route (group_wait 30s,
/// group_interval 10m, the given repeat) carrying `route_keys`, and the `time_intervals`.
fn rig_at(start: &str, repeat: &str, route_keys: &str, time_intervals: &str) -> Rig {
    clock::set_now_for_test(ts(start));
    let yaml = format!(
        "route:\n  receiver: r\n  routes:\n  - receiver: r\n    group_by: [alertname]\n    group_wait: 30s\n    group_interval: 10m\n    repeat_interval: {repeat}\n    {route_keys}\nreceivers:\n- name: r\ntime_intervals:\n{time_intervals}"
    );
    let cfg = Config::from_yaml(&yaml, std::path::Path::new("."), "test.yml")
        .unwrap_or_else(|e| panic!("test config: {e}\n{yaml}"));
    let (tx, rx) = mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    let notifier = notifier(tx, &cancel).with_mute_stages(MuteStages {
        time_intervals: TimeIntervalStage::new(Arc::new(cfg.time_intervals.clone())),
        ..MuteStages::default()
    });
    let d = Dispatcher::new(
        Arc::new(RouteTree::new(&cfg.route)),
        Arc::new(notifier),
        Arc::new(Metrics::new()),
        cancel.clone(),
    );
    tokio::spawn(d.clone().run());
    Rig {
        d,
        rx,
        t0: tokio::time::Instant::now(),
        cancel,
    }
}

impl Rig {
    /// The next notification and the wall-clock instant it was sent at.
    async fn next_at(&mut self) -> (Timestamp, NotificationData) {
        let n = self.rx.recv().await.expect("notification");
        (clock::now(), n)
    }

    /// Fires alert `name` now, ending far in the future.
    fn fire(&self, name: &str) {
        let now = clock::now();
        self.d
            .ingest(&[alert(name, now, now + SignedDuration::from_hours(24 * 30))]);
    }
}

const NIGHTS: &str = "- name: nights\n  time_intervals:\n  - times: [{start_time: '22:00', end_time: '06:00'}]\n    location: Europe/London\n";

#[tokio::test(start_paused = true)]
async fn a_mute_window_crossing_midnight_holds_back_then_notifies_when_it_ends() {
    // Friday 6 June 2025, 20:00 UTC = 21:00 BST; muted from 22:00 to 06:00 London time.
    let mut r = rig_at(
        "2025-06-06T20:00:00Z",
        "6h",
        "mute_time_intervals: [nights]",
        NIGHTS,
    );
    r.fire("Before");
    let (t, n) = r.next_at().await;
    assert_eq!(t, ts("2025-06-06T20:00:30Z"), "after group_wait");
    assert_eq!(n.reason, "first notification");
    // Muted from 21:00 UTC: the repeat due at 02:00:30 is held back, and so is an alert that
    // starts in the night, after midnight. (The notification log keeps the first send for two
    // repeat intervals, so the morning notification knows it is a reminder.)
    tokio::time::sleep_until(r.t0 + std::time::Duration::from_secs(6 * 3600)).await;
    assert_eq!(clock::now(), ts("2025-06-07T02:00:00Z"));
    r.fire("Night");
    // At 06:00 BST (05:00 UTC) both groups are notified at once: the one announced before the
    // window because it still fires, the new one for the first time.
    let (t1, n1) = r.next_at().await;
    let (t2, n2) = r.next_at().await;
    assert_eq!(
        (t1, t2),
        (ts("2025-06-07T05:00:00Z"), ts("2025-06-07T05:00:00Z"))
    );
    let mut got = [
        (n1.group_labels.get("alertname").to_owned(), n1.reason),
        (n2.group_labels.get("alertname").to_owned(), n2.reason),
    ];
    got.sort();
    assert_eq!(
        got,
        [
            ("Before".to_owned(), "mute window ended"),
            ("Night".to_owned(), "first notification")
        ]
    );
    // Then the normal cadence: the next repeats 6h later, before the next night.
    let (t, n) = r.next_at().await;
    assert_eq!(t, ts("2025-06-07T11:00:00Z"));
    assert_eq!(n.reason, "repeat interval elapsed");
    r.cancel.cancel();
}

const OFFICE: &str = "- name: office\n  time_intervals:\n  - times: [{start_time: '09:00', end_time: '17:00'}]\n    weekdays: ['monday:friday']\n    location: Europe/London\n";

/// Fires on Friday at 16:00 UTC; the office closes at 17:00 London time; the next
/// notification must be at Monday's 09:00 London time, `monday_open` in UTC.
async fn office_hours_over_a_dst_weekend(friday_16: &str, closes: &str, monday_open: &str) {
    let mut r = rig_at(friday_16, "48h", "active_time_intervals: [office]", OFFICE);
    r.fire("Disk");
    let (t, n) = r.next_at().await;
    assert_eq!(t, ts(friday_16) + SignedDuration::from_secs(30));
    assert_eq!(n.reason, "first notification");
    // Nothing over the weekend (the group still ticks every 10 minutes).
    let (t, n) = r.next_at().await;
    assert_eq!(t, ts(monday_open), "{}", n.reason);
    assert_eq!(n.reason, "mute window ended");
    assert!(ts(closes) < t);
    r.cancel.cancel();
}

#[tokio::test(start_paused = true)]
async fn office_hours_across_the_march_dst_change_in_london() {
    // Clocks go forward on Sunday 30 March 2025: Monday 09:00 BST is 08:00 UTC.
    office_hours_over_a_dst_weekend(
        "2025-03-28T16:00:00Z",
        "2025-03-28T17:00:00Z",
        "2025-03-31T08:00:00Z",
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn office_hours_across_the_october_dst_change_in_london() {
    // Clocks go back on Sunday 26 October 2025: Friday closes at 17:00 BST (16:00 UTC) and
    // Monday opens at 09:00 GMT (09:00 UTC). Fired at 15:00 UTC (16:00 BST).
    office_hours_over_a_dst_weekend(
        "2025-10-24T15:00:00Z",
        "2025-10-24T16:00:00Z",
        "2025-10-27T09:00:00Z",
    )
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_resolve_inside_a_mute_window_reaches_the_receiver_told_it_fired() {
    // Fired at 20:00 UTC (21:00 BST), announced before the 22:00 London mute window; it
    // resolves at 21:25 UTC (22:25 BST), inside the window. The receiver was told it fires, so
    // it is told it resolved at the group's next tick (21:30:30), not left with an open
    // incident until morning (Alertmanager drops it: the whole group is muted).
    let mut r = rig_at(
        "2025-06-06T20:00:00Z",
        "6h",
        "mute_time_intervals: [nights]",
        NIGHTS,
    );
    let start = clock::now();
    r.d.ingest(&[alert("Disk", start, start + SignedDuration::from_hours(24))]);
    let (t, n) = r.next_at().await;
    assert_eq!(
        (t, n.reason, n.status),
        (ts("2025-06-06T20:00:30Z"), "first notification", "firing")
    );
    tokio::time::sleep_until(r.t0 + std::time::Duration::from_secs(3600 + 20 * 60)).await;
    // Another group first fires inside the window and resolves there: never announced, it
    // gets no resolve.
    let night = clock::now();
    r.d.ingest(&[alert(
        "Quiet",
        night,
        night + SignedDuration::from_hours(24),
    )]);
    tokio::time::sleep_until(r.t0 + std::time::Duration::from_secs(3600 + 25 * 60)).await;
    let now = clock::now();
    r.d.ingest(&[alert("Disk", start, now), alert("Quiet", night, now)]);
    let (t, n) = r.next_at().await;
    assert_eq!(t, ts("2025-06-06T21:30:30Z"));
    assert_eq!(n.group_labels.get("alertname"), "Disk");
    assert_eq!((n.alerts.len(), n.status), (1, "resolved"));
    // Nothing more: not at the window's end, not for the group that was never announced.
    tokio::time::sleep_until(r.t0 + std::time::Duration::from_secs(12 * 3600)).await;
    assert!(r.rx.try_recv().is_err(), "no further notification");
    r.cancel.cancel();
}
