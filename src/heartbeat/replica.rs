//! A check's state across a cluster: the merge law and the form a state travels in.
//!
//! A cron job pings one peer (through a load balancer); every peer must count the ping, or the
//! others would raise `HeartbeatMissing`. Each peer publishes its checks' states; a peer merges
//! what it receives with [`merge`]:
//!
//! - the state part (status, deadlines, runs, failures, the alert raised) is a register whose
//!   newest *event* wins: the greater [`CheckState::changed`] (the last ping, pause or resume),
//!   then a check that went down past its deadline over one that did not yet (a deadline
//!   passing is not an event: every peer reaches it alone, a little apart), then the greater
//!   encoding (a total order, so that any two peers pick the same);
//! - the ping log is the union of both logs, the newest [`PING_HISTORY`] kept (each record's
//!   encoding orders records at the same time).
//!
//! Both parts are joins of a total order (a maximum, and the top of a union), so the merge is
//! commutative, associative and idempotent (property-tested): peers converge whatever the order
//! and repetition of what they receive. Clocks: the event times are the receiving peer's, so
//! peers' clocks must roughly agree (as for silences).
//!
//! What travels ([`encode`]) is the state with only its last [`REPLICA_PINGS`] pings (those a
//! received alert made left out: every peer receives every alert and records its own) and the
//! last message cut to [`REPLICA_MESSAGE`] bytes, so a value stays well under a gossip datagram;
//! a peer builds its full log from the pings it learns one by one.

use std::cmp::Ordering;

use super::check::{CheckState, PING_HISTORY, PingKind, PingRecord, Stored};

/// How many of the newest pings a published state carries.
pub const REPLICA_PINGS: usize = 10;
/// How many bytes of the last message a published state carries.
pub const REPLICA_MESSAGE: usize = 4096;

/// The state part of a check (its ping log aside) as bytes: what the tie-break compares.
fn core_bytes(s: &CheckState) -> Vec<u8> {
    super::encode_core(s)
}

/// Orders two states by the merge law (the ping log aside).
fn order(a: &CheckState, b: &CheckState) -> Ordering {
    let down = |s: &CheckState| s.stored == Stored::Down;
    a.changed
        .cmp(&b.changed)
        .then_with(|| down(a).cmp(&down(b)))
        .then_with(|| core_bytes(a).cmp(&core_bytes(b)))
}

/// A ping record's sort key: its time, then its encoding.
fn ping_key(p: &PingRecord) -> (jiff::Timestamp, String) {
    (p.at, serde_json::to_string(p).unwrap_or_default())
}

/// The union of two ping logs, oldest first, the newest [`PING_HISTORY`] kept.
fn union_pings(a: &CheckState, b: &CheckState) -> std::collections::VecDeque<PingRecord> {
    let mut all: Vec<((jiff::Timestamp, String), &PingRecord)> = a
        .pings
        .iter()
        .chain(b.pings.iter())
        .map(|p| (ping_key(p), p))
        .collect();
    all.sort_by(|x, y| x.0.cmp(&y.0));
    all.dedup_by(|x, y| x.0 == y.0);
    let skip = all.len().saturating_sub(PING_HISTORY);
    all.into_iter().skip(skip).map(|(_, p)| p.clone()).collect()
}

/// The merge of two states of one check (see the module documentation).
pub fn merge(a: &CheckState, b: &CheckState) -> CheckState {
    let winner = if order(a, b) == Ordering::Less { b } else { a };
    CheckState {
        pings: union_pings(a, b),
        ..winner.clone()
    }
}

/// Whether a state carries anything worth publishing (a check never pinged does not).
pub fn is_blank(s: &CheckState) -> bool {
    s.changed.is_none() && s.stored == Stored::New && s.pings.is_empty() && s.raised.is_none()
}

/// The state as a peer publishes it: its newest [`REPLICA_PINGS`] pings, the last message cut
/// to [`REPLICA_MESSAGE`] bytes.
pub fn encode(s: &CheckState) -> String {
    let mut out = s.clone();
    // Every peer receives every alert, so each records its own alert-fed pings: the others'
    // would only repeat them.
    out.pings.retain(|p| p.kind != PingKind::Alert);
    let skip = out.pings.len().saturating_sub(REPLICA_PINGS);
    out.pings.drain(..skip);
    if out.last_message.len() > REPLICA_MESSAGE {
        let mut end = REPLICA_MESSAGE;
        while !out.last_message.is_char_boundary(end) {
            end -= 1;
        }
        out.last_message.truncate(end);
    }
    serde_json::to_string(&out).unwrap_or_default()
}

/// Reads a state another peer published.
pub fn decode(s: &str) -> Result<CheckState, serde_json::Error> {
    serde_json::from_str(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heartbeat::check::{AlertKind, Raised};
    use jiff::Timestamp;
    use proptest::prelude::*;

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_second(1_704_067_200 + s).unwrap()
    }

    fn arb_ping() -> impl Strategy<Value = PingRecord> {
        (0i64..20, 0u8..4, "[ab]{0,2}").prop_map(|(t, k, body)| PingRecord {
            kind: [
                PingKind::Success,
                PingKind::Start,
                PingKind::Fail,
                PingKind::Alert,
            ][k as usize],
            at: ts(t),
            source: "10.0.0.1".into(),
            rid: None,
            duration_seconds: None,
            body,
            note: None,
        })
    }

    fn arb_state() -> impl Strategy<Value = CheckState> {
        (
            proptest::option::of(0i64..20),
            0u8..4,
            proptest::option::of(0i64..20),
            0u32..3,
            proptest::collection::vec(arb_ping(), 0..6),
            proptest::option::of((0i64..20, any::<bool>())),
            "[xy]{0,2}",
        )
            .prop_map(|(changed, stored, last, failures, pings, raised, msg)| {
                let mut pings = pings;
                pings.sort_by_key(ping_key);
                pings.dedup_by_key(|p| ping_key(p));
                CheckState {
                    stored: [Stored::New, Stored::Up, Stored::Down, Stored::Paused]
                        [stored as usize],
                    last_ping: last.map(ts),
                    last_success: last.map(ts),
                    due: last.map(|l| ts(l + 10)),
                    failures,
                    pings: pings.into(),
                    n_pings: 3,
                    raised: raised.map(|(t, missing)| Raised {
                        kind: if missing {
                            AlertKind::HeartbeatMissing
                        } else {
                            AlertKind::HeartbeatFailed
                        },
                        since: ts(t),
                        summary: "s".into(),
                    }),
                    changed: changed.map(ts),
                    last_message: msg,
                    ..CheckState::default()
                }
            })
    }

    proptest! {
        #[test]
        fn merge_is_commutative_associative_and_idempotent(
            a in arb_state(), b in arb_state(), c in arb_state(),
        ) {
            prop_assert_eq!(merge(&a, &b), merge(&b, &a));
            prop_assert_eq!(merge(&merge(&a, &b), &c), merge(&a, &merge(&b, &c)));
            let ab = merge(&a, &b);
            prop_assert_eq!(merge(&ab, &ab), ab.clone());
            // Learning a state again changes nothing.
            prop_assert_eq!(merge(&ab, &b), ab);
        }

        #[test]
        fn a_published_state_reads_back_and_merges_into_its_source_unchanged(a in arb_state()) {
            let back = decode(&encode(&a)).unwrap();
            prop_assert_eq!(merge(&a, &back), a);
        }
    }

    #[test]
    fn the_newest_event_wins_and_a_passed_deadline_beats_none_at_the_same_event() {
        let up = CheckState {
            stored: Stored::Up,
            changed: Some(ts(5)),
            last_ping: Some(ts(5)),
            ..CheckState::default()
        };
        let down = CheckState {
            stored: Stored::Down,
            raised: Some(Raised {
                kind: AlertKind::HeartbeatMissing,
                since: ts(20),
                summary: "late".into(),
            }),
            ..up.clone()
        };
        // The same last ping: one peer already saw the deadline pass.
        assert_eq!(merge(&up, &down).stored, Stored::Down);
        // A newer ping (on another peer) beats a deadline that passed here.
        let pinged = CheckState {
            changed: Some(ts(19)),
            last_ping: Some(ts(19)),
            ..up.clone()
        };
        let m = merge(&down, &pinged);
        assert_eq!((m.stored, m.raised), (Stored::Up, None));
    }

    #[test]
    fn the_ping_logs_are_joined_and_capped() {
        let rec = |t: i64| PingRecord {
            kind: PingKind::Success,
            at: ts(t),
            source: "a".into(),
            rid: None,
            duration_seconds: None,
            body: String::new(),
            note: None,
        };
        let a = CheckState {
            pings: (0..80).map(|i| rec(2 * i)).collect(),
            ..CheckState::default()
        };
        let b = CheckState {
            pings: (0..80).map(|i| rec(2 * i + 1)).collect(),
            ..CheckState::default()
        };
        let m = merge(&a, &b);
        assert_eq!(m.pings.len(), PING_HISTORY);
        assert_eq!(m.pings.front().unwrap().at, ts(60));
        assert_eq!(m.pings.back().unwrap().at, ts(159));
        // A published state carries the newest few.
        let sent = decode(&encode(&m)).unwrap();
        assert_eq!(sent.pings.len(), REPLICA_PINGS);
        assert_eq!(sent.pings.back().unwrap().at, ts(159));
        // Alert-fed pings stay home: every peer records its own.
        let mut fed = m.clone();
        fed.pings.push_back(PingRecord {
            kind: PingKind::Alert,
            ..rec(200)
        });
        let sent = decode(&encode(&fed)).unwrap();
        assert!(sent.pings.iter().all(|p| p.kind != PingKind::Alert));
        assert_eq!(sent.pings.back().unwrap().at, ts(159));
    }
}
