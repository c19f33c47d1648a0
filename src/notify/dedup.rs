//! The dedup decision: given what the notification log says was sent last and what this flush
//! holds, should this integration notify, and why. Alertmanager's table (reference §4.4), with
//! two changes: the repeat check is `last + repeat_interval <= now` so an exact repeat timer fires
//! the repeat at the instant it is due; and a group still firing after its route was muted by a
//! time interval, or had an alert held back by a silence that has ended since the last
//! notification is notified again ("mute window ended", "silence ended"), where Alertmanager
//! waits for the repeat interval. Pure functions.

use std::collections::HashSet;

use jiff::{SignedDuration, Timestamp};

use crate::nflog::NflogEntry;

/// Why a notification goes out (Alertmanager 0.32+'s `notification_reason` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Nothing was sent before.
    FirstNotification,
    /// Firing alerts that were not in the last notification.
    NewAlertsAdded,
    /// Some alerts resolved since the last notification.
    SomeAlertsResolved,
    /// Every alert resolved.
    AllAlertsResolved,
    /// The repeat interval elapsed.
    RepeatIntervalElapsed,
    /// The route was muted by a time interval since the last notification and no longer is
    /// (tocsin only).
    MuteWindowEnded,
    /// A silence that held a still-firing alert back ended since the last notification
    /// (tocsin only).
    SilenceEnded,
}

impl Reason {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::FirstNotification => "first notification",
            Reason::NewAlertsAdded => "new alerts added",
            Reason::SomeAlertsResolved => "some alerts resolved",
            Reason::AllAlertsResolved => "all alerts resolved",
            Reason::RepeatIntervalElapsed => "repeat interval elapsed",
            Reason::MuteWindowEnded => "mute window ended",
            Reason::SilenceEnded => "silence ended",
        }
    }
}

/// Decides whether to notify. `None` means skip. `held_back_since(t)` says whether something
/// held the group back at some point from `t` (the last notification) until now and no longer
/// does, and which reason to notify with (see `MuteStages::held_back_since`).
pub fn needs_update(
    entry: Option<&NflogEntry>,
    firing: &HashSet<u64>,
    resolved: &HashSet<u64>,
    send_resolved: bool,
    repeat: SignedDuration,
    now: Timestamp,
    held_back_since: impl FnOnce(Timestamp) -> Option<Reason>,
) -> Option<Reason> {
    let Some(entry) = entry else {
        return (!firing.is_empty()).then_some(Reason::FirstNotification);
    };
    if !firing.is_subset(&entry.firing) {
        return Some(if entry.firing.is_empty() {
            Reason::FirstNotification
        } else {
            Reason::NewAlertsAdded
        });
    }
    if firing.is_empty() {
        return (!entry.firing.is_empty()).then_some(Reason::AllAlertsResolved);
    }
    if send_resolved && !resolved.is_subset(&entry.resolved) {
        return Some(Reason::SomeAlertsResolved);
    }
    if let Some(reason) = held_back_since(entry.timestamp) {
        return Some(reason);
    }
    match entry.timestamp.checked_add(repeat) {
        Ok(due) if due <= now => Some(Reason::RepeatIntervalElapsed),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[u64]) -> HashSet<u64> {
        v.iter().copied().collect()
    }

    fn entry(firing: &[u64], resolved: &[u64], at: i64) -> NflogEntry {
        NflogEntry {
            timestamp: Timestamp::from_second(at).unwrap(),
            firing: set(firing),
            resolved: set(resolved),
            expires_at: Timestamp::from_second(at + 1_000_000).unwrap(),
            receiver_data: Default::default(),
        }
    }

    #[test]
    fn decision_table() {
        let r = SignedDuration::from_secs(100);
        let now = Timestamp::from_second(50).unwrap();
        use Reason::*;
        type Case<'a> = (
            Option<NflogEntry>,
            &'a [u64],
            &'a [u64],
            bool,
            Option<Reason>,
        );
        let cases: Vec<Case> = vec![
            (None, &[1], &[], true, Some(FirstNotification)),
            (None, &[], &[1], true, None),
            (
                Some(entry(&[1], &[], 0)),
                &[1, 2],
                &[],
                true,
                Some(NewAlertsAdded),
            ),
            (
                Some(entry(&[], &[1], 0)),
                &[2],
                &[],
                true,
                Some(FirstNotification),
            ),
            (
                Some(entry(&[1], &[], 0)),
                &[],
                &[1],
                false,
                Some(AllAlertsResolved),
            ),
            (Some(entry(&[], &[1], 0)), &[], &[1], true, None),
            (
                Some(entry(&[1, 2], &[], 0)),
                &[1],
                &[2],
                true,
                Some(SomeAlertsResolved),
            ),
            (Some(entry(&[1, 2], &[], 0)), &[1], &[2], false, None),
            (Some(entry(&[1], &[], 0)), &[1], &[], true, None),
            (
                Some(entry(&[1], &[], -50)),
                &[1],
                &[],
                true,
                Some(RepeatIntervalElapsed),
            ),
            (Some(entry(&[1, 2], &[], 0)), &[1], &[], true, None),
        ];
        for (i, (e, f, res, sr, want)) in cases.into_iter().enumerate() {
            assert_eq!(
                needs_update(e.as_ref(), &set(f), &set(res), sr, r, now, |_| None),
                want,
                "case {i}"
            );
        }
    }

    #[test]
    fn a_mute_since_the_last_notification_notifies_a_still_firing_group() {
        let r = SignedDuration::from_secs(100);
        let now = Timestamp::from_second(50).unwrap();
        let muted = |since: Timestamp| {
            (since == Timestamp::from_second(10).unwrap()).then_some(Reason::MuteWindowEnded)
        };
        let e = entry(&[1, 2], &[], 10);
        // Still firing: notified again, before the repeat interval.
        assert_eq!(
            needs_update(Some(&e), &set(&[1]), &set(&[]), true, r, now, muted),
            Some(Reason::MuteWindowEnded)
        );
        // Nothing firing: the resolve rules decide, as without a mute.
        assert_eq!(
            needs_update(Some(&e), &set(&[]), &set(&[1, 2]), true, r, now, muted),
            Some(Reason::AllAlertsResolved)
        );
        // Not muted since the last notification: nothing to say.
        let later = entry(&[1, 2], &[], 20);
        assert_eq!(
            needs_update(Some(&later), &set(&[1]), &set(&[]), true, r, now, muted),
            None
        );
    }
}
