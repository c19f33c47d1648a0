use super::*;
use crate::model::test_ts as ts;
use proptest::prelude::*;

const HOUR: i64 = 3600;

fn m(name: &str, op: MatchType, value: &str) -> Matcher {
    Matcher::new(name, op, value).unwrap()
}

fn eq(name: &str, value: &str) -> Matcher {
    m(name, MatchType::Equal, value)
}

fn sil(matchers: Vec<Matcher>, starts: i64, ends: i64) -> Silence {
    Silence {
        id: Arc::from(""),
        matchers,
        starts_at: ts(starts),
        ends_at: ts(ends),
        updated_at: ts(0),
        created_by: "me".into(),
        comment: "why".into(),
        annotations: LabelSet::new(),
    }
}

fn store() -> Silences {
    Silences::new(SignedDuration::from_hours(120), Limits::default())
}

fn labels(pairs: &[(&str, &str)]) -> LabelSet {
    pairs.iter().copied().collect()
}

#[test]
fn create_clamps_a_past_start_and_makes_a_uuid() {
    let s = store();
    let (id, v) = s
        .set(sil(vec![eq("alertname", "A")], -100, HOUR), ts(0))
        .unwrap();
    assert!(is_uuid(&id), "{id}");
    assert_eq!(&id[14..15], "4", "version 4");
    assert_eq!(v, 1);
    let got = s.get(&id).unwrap();
    assert_eq!(got.starts_at, ts(0));
    assert_eq!(got.updated_at, ts(0));
    assert_eq!(got.state(ts(0)), SilenceState::Active);
    let (id2, _) = s
        .set(sil(vec![eq("alertname", "A")], 0, HOUR), ts(0))
        .unwrap();
    assert_ne!(id, id2, "every create gets a fresh id");
}

#[test]
fn update_in_place_or_replace_as_alertmanager() {
    let s = store();
    let (id, _) = s.set(sil(vec![eq("a", "1")], 0, HOUR), ts(0)).unwrap();
    // Active, same start and matchers, later end: updated in place.
    let mut upd = sil(vec![eq("a", "1")], 0, 2 * HOUR);
    upd.id = Arc::clone(&id);
    let (same, _) = s.set(upd.clone(), ts(60)).unwrap();
    assert_eq!(same, id);
    assert_eq!(s.get(&id).unwrap().ends_at, ts(2 * HOUR));
    assert_eq!(s.len(), 1);
    // Other matchers: the old one is expired, a new id is returned.
    let mut other = upd.clone();
    other.matchers = vec![eq("a", "2")];
    let (new, _) = s.set(other, ts(120)).unwrap();
    assert_ne!(new, id);
    assert_eq!(s.get(&id).unwrap().ends_at, ts(120));
    assert_eq!(s.get(&id).unwrap().state(ts(121)), SilenceState::Expired);
    assert_eq!(s.len(), 2);
    // A moved start of an active silence also replaces it.
    let mut moved = sil(vec![eq("a", "2")], 500, 2 * HOUR);
    moved.id = Arc::clone(&new);
    let (newer, _) = s.set(moved, ts(180)).unwrap();
    assert_ne!(newer, new);
    // A pending silence may move its start, but not into the past.
    let (p, _) = s
        .set(sil(vec![eq("b", "1")], HOUR, 2 * HOUR), ts(0))
        .unwrap();
    let mut later = sil(vec![eq("b", "1")], 2 * HOUR - 60, 2 * HOUR);
    later.id = Arc::clone(&p);
    assert_eq!(s.set(later, ts(10)).unwrap().0, p);
    // Unknown id.
    let mut unknown = sil(vec![eq("b", "1")], 0, HOUR);
    unknown.id = Arc::from("00000000-0000-4000-8000-000000000000");
    assert_eq!(s.set(unknown, ts(0)), Err(SilenceError::NotFound));
}

#[test]
fn expire_active_pending_and_expired() {
    let s = store();
    let (a, _) = s.set(sil(vec![eq("a", "1")], 0, HOUR), ts(0)).unwrap();
    let (p, _) = s
        .set(sil(vec![eq("a", "1")], HOUR, 2 * HOUR), ts(0))
        .unwrap();
    let v = s.expire(&a, ts(10)).unwrap();
    let got = s.get(&a).unwrap();
    assert_eq!((got.starts_at, got.ends_at), (ts(0), ts(10)));
    s.expire(&p, ts(10)).unwrap();
    let got = s.get(&p).unwrap();
    assert_eq!((got.starts_at, got.ends_at), (ts(10), ts(10)));
    // Expiring again changes nothing.
    let v2 = s.expire(&a, ts(20)).unwrap();
    assert_eq!(v2, v + 1, "only the pending one bumped the version");
    assert_eq!(s.get(&a).unwrap().ends_at, ts(10));
    assert_eq!(s.expire("nope", ts(0)), Err(SilenceError::NotFound));
    assert_eq!(s.count_states(ts(20)), [0, 0, 2]);
}

#[test]
fn matching_counts_only_active_silences() {
    let s = store();
    let (a, _) = s
        .set(
            sil(
                vec![
                    eq("alertname", "Disk"),
                    m("instance", MatchType::Regex, "a|b"),
                ],
                0,
                HOUR,
            ),
            ts(0),
        )
        .unwrap();
    let (b, _) = s
        .set(
            sil(vec![m("severity", MatchType::NotEqual, "page")], 0, HOUR),
            ts(0),
        )
        .unwrap();
    let (pending, _) = s
        .set(sil(vec![eq("alertname", "Disk")], HOUR, 2 * HOUR), ts(0))
        .unwrap();
    let disk_a = labels(&[("alertname", "Disk"), ("instance", "a")]);
    let mut want = vec![a.clone(), b.clone()];
    want.sort();
    assert_eq!(s.silenced_by(&disk_a, ts(1)), want);
    assert!(s.is_silenced(&disk_a, ts(1)));
    let disk_c = labels(&[
        ("alertname", "Disk"),
        ("instance", "c"),
        ("severity", "page"),
    ]);
    assert!(s.silenced_by(&disk_c, ts(1)).is_empty());
    assert!(!s.is_silenced(&disk_c, ts(1)));
    // Both ends are inclusive: at HOUR the first two still hold and the pending one started;
    // a moment later only the third one does.
    assert_eq!(s.silenced_by(&disk_a, ts(HOUR)).len(), 3);
    assert_eq!(s.silenced_by(&disk_a, ts(HOUR + 1)), vec![pending]);
}

#[test]
fn validation_messages() {
    let wm = |name: &str, value: &str, is_regex: bool, is_equal: bool| WireMatcher {
        name: name.into(),
        value: value.into(),
        is_regex,
        is_equal,
    };
    let err = |ms: Vec<WireMatcher>| {
        build_matchers(&ms)
            .and_then(|ms| validate_matchers(&ms))
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        err(vec![wm("a", "", false, true)]),
        "silence invalid: at least one matcher must not match the empty string"
    );
    assert_eq!(
        err(vec![wm("a", ".*", true, true), wm("b", "", false, true)]),
        "silence invalid: at least one matcher must not match the empty string"
    );
    // Negative matchers never count as matching the empty string (as upstream).
    assert!(
        build_matchers(&[wm("a", ".*", true, false)])
            .and_then(|ms| validate_matchers(&ms))
            .is_ok()
    );
    assert!(
        err(vec![wm("a", "(", true, true)]).starts_with(
            "silence invalid: invalid label matcher 0: invalid regular expression \"(\": "
        ),
        "{}",
        err(vec![wm("a", "(", true, true)])
    );
    assert_eq!(
        err(vec![wm("x", "y", false, true), wm("", "y", false, true)]),
        "silence invalid: invalid label matcher 1: invalid label name \"\""
    );
    assert_eq!(
        err(vec![]),
        "silence invalid: at least one matcher required"
    );
    assert_eq!(
        check_times(ts(10), ts(10), ts(0)).unwrap_err().to_string(),
        "Failed to create silence: start time must be before end time"
    );
    assert_eq!(
        check_times(ts(-20), ts(-10), ts(0))
            .unwrap_err()
            .to_string(),
        "Failed to create silence: end time can't be in the past"
    );
}

#[test]
fn hostile_silences_are_refused_before_compiling() {
    let many: Vec<WireMatcher> = (0..10_000)
        .map(|i| WireMatcher {
            name: format!("l{i}"),
            value: "(a+)+$".into(),
            is_regex: true,
            is_equal: true,
        })
        .collect();
    let t = crate::clock::instant();
    let e = build_matchers(&many).unwrap_err().to_string();
    assert_eq!(
        e,
        "silence invalid: 10000 matchers; at most 1000 are allowed"
    );
    let huge = vec![WireMatcher {
        name: "a".into(),
        value: "x".repeat(1 << 20),
        is_regex: true,
        is_equal: true,
    }];
    let e = build_matchers(&huge).unwrap_err().to_string();
    assert!(e.contains("at most 131072 are allowed"), "{e}");
    // A large regex under the byte bound still meets the compiled-size limit.
    let big = vec![WireMatcher {
        name: "a".into(),
        value: "(\\w{50}){50}".repeat(40),
        is_regex: true,
        is_equal: true,
    }];
    let e = build_matchers(&big).unwrap_err().to_string();
    assert!(e.contains("invalid regular expression"), "{e}");
    assert!(t.elapsed() < std::time::Duration::from_secs(5));
    // A catastrophic-backtracking pattern compiles and matches in linear time.
    let cat = build_matchers(&[WireMatcher {
        name: "a".into(),
        value: "(a+)+$".into(),
        is_regex: true,
        is_equal: true,
    }])
    .unwrap();
    let evil = labels(&[("a", &format!("{}!", "a".repeat(100_000)))]);
    assert!(!cat[0].matches(&evil));
}

#[test]
fn limits_count_expired_silences_and_size() {
    let s = Silences::new(
        SignedDuration::from_hours(1),
        Limits {
            max_silences: 2,
            max_silence_size_bytes: 0,
        },
    );
    let (a, _) = s.set(sil(vec![eq("a", "1")], 0, HOUR), ts(0)).unwrap();
    s.set(sil(vec![eq("a", "2")], 0, HOUR), ts(0)).unwrap();
    s.expire(&a, ts(1)).unwrap();
    assert_eq!(
        s.set(sil(vec![eq("a", "3")], 0, HOUR), ts(2))
            .unwrap_err()
            .to_string(),
        "exceeded maximum number of silences: 2 (limit: 2)"
    );
    // Once retention drops the expired one, there is room again.
    assert_eq!(s.gc(ts(1 + HOUR)), 1);
    s.set(sil(vec![eq("a", "3")], 0, 3 * HOUR), ts(1 + HOUR))
        .unwrap();
    let small = Silences::new(
        SignedDuration::from_hours(1),
        Limits {
            max_silences: 0,
            max_silence_size_bytes: 100,
        },
    );
    let e = small
        .set(sil(vec![eq("a", &"x".repeat(200))], 0, HOUR), ts(0))
        .unwrap_err();
    assert!(
        matches!(e, SilenceError::TooLarge { size, limit: 100 } if size > 200),
        "{e}"
    );
}

/// Sizes computed by Alertmanager's own generated code (`MeshSilence.Size()`, gogo protobuf).
#[test]
fn proto_size_is_alertmanagers() {
    let t = |s: i64, n: i32| Timestamp::new(s, n).unwrap();
    let s = Silence {
        id: Arc::from("d2b69044-0f77-41c1-bbf7-dec2a2d2594f"),
        matchers: vec![
            eq("alertname", "Disk"),
            m("instance", MatchType::NotRegex, "a|b"),
        ],
        starts_at: t(1_700_000_000, 123_000_000),
        ends_at: t(1_700_003_600, 0),
        updated_at: t(1_700_000_000, 123_456_789),
        created_by: "me".into(),
        comment: "maintenance".into(),
        annotations: LabelSet::new(),
    };
    assert_eq!(proto_size(&s, t(1_700_435_600, 0)), 137);
    let tiny = Silence {
        id: Arc::from("x"),
        matchers: vec![m("a", MatchType::Regex, "")],
        starts_at: t(1, 0),
        ends_at: t(2, 0),
        updated_at: t(1, 0),
        created_by: String::new(),
        comment: String::new(),
        annotations: LabelSet::new(),
    };
    assert_eq!(proto_size(&tiny, t(3, 0)), 28);
}

#[test]
fn gc_and_transitions() {
    let s = Silences::new(SignedDuration::from_hours(1), Limits::default());
    let (a, _) = s.set(sil(vec![eq("a", "1")], 0, 100), ts(0)).unwrap();
    let (p, _) = s.set(sil(vec![eq("a", "1")], 50, 200), ts(0)).unwrap();
    assert_eq!(s.next_end_after(ts(0)), Some(ts(100)));
    assert_eq!(s.next_end_after(ts(100)), Some(ts(200)));
    let ended: Vec<_> = s
        .ended_between(ts(0), ts(100))
        .iter()
        .map(|x| x.id.clone())
        .collect();
    assert_eq!(ended, vec![a.clone()]);
    // A pending silence expired early never silenced anything: not reported.
    let (q, _) = s.set(sil(vec![eq("b", "1")], 500, 600), ts(0)).unwrap();
    s.expire(&q, ts(10)).unwrap();
    assert!(s.ended_between(ts(5), ts(20)).is_empty());
    assert_eq!(s.gc(ts(100 + HOUR)), 2, "a and q");
    assert!(s.get(&a).is_none());
    assert!(s.get(&p).is_some());
}

#[test]
fn snapshot_round_trip() {
    let s = store();
    let mut with_ann = sil(
        vec![eq("a", "1"), m("b", MatchType::NotRegex, "x|y")],
        0,
        HOUR,
    );
    with_ann.annotations = labels(&[("ticket", "OPS-1")]);
    s.set(with_ann, ts(0)).unwrap();
    s.set(sil(vec![eq("c", "1")], HOUR, 2 * HOUR), ts(0))
        .unwrap();
    let bytes = s.snapshot_bytes();
    let other = store();
    let entries = Silences::decode_snapshot(&bytes).unwrap();
    assert_eq!(other.merge(entries, ts(0)).unwrap(), 2);
    assert_eq!(other.snapshot(), s.snapshot());
    let l = labels(&[("a", "1"), ("b", "z")]);
    assert_eq!(other.silenced_by(&l, ts(1)), s.silenced_by(&l, ts(1)));
    assert!(Silences::decode_snapshot(b"{\"version\":2,\"silences\":[]}").is_err());
    assert!(Silences::decode_snapshot(b"nope").is_err());
}

// ---- property tests: the index against a naive scan, and the merge laws ------------------

fn arb_matcher() -> impl Strategy<Value = Matcher> {
    let names = prop::sample::select(vec!["a", "b", "c"]);
    let values = prop::sample::select(vec![
        "",
        "x",
        "y",
        "x|y",
        "x|",
        "x.*",
        r"y\.z",
        "y.z",
        // Literal prefixes (the prefix index).
        "xx*",
        "x.+",
        r"y\.z.*",
        "ya.?",
        "yab?",
        "é.*",
        // Literals inside general regexes (the literal index).
        ".*z",
        ".+a.*",
        "(y|x)az?",
        "(?:ya)+z?",
        ".*é.?",
        "[xy]+.z",
        "(?i)Y.*",
        "x(a|b)?",
        ".*a.*|x",
    ]);
    let ops = prop::sample::select(vec![
        MatchType::Equal,
        MatchType::NotEqual,
        MatchType::Regex,
        MatchType::NotRegex,
    ]);
    (names, ops, values).prop_map(|(n, o, v)| m(n, o, v))
}

fn arb_labels() -> impl Strategy<Value = LabelSet> {
    prop::collection::btree_map(
        prop::sample::select(vec!["a", "b", "c", "d"]),
        prop::sample::select(vec![
            "x", "y", "y.z", "yaz", "x|y", "xx", "y.zq", "ya", "yab", "é", "éa", "xaz", "yaya",
            "zaz", "Yé",
        ]),
        0..4,
    )
    .prop_map(|m| m.into_iter().collect())
}

fn arb_silence() -> impl Strategy<Value = (Vec<Matcher>, i64, i64)> {
    (
        prop::collection::vec(arb_matcher(), 1..4),
        -50i64..50,
        1i64..100,
    )
        .prop_map(|(ms, start, len)| (ms, start, start + len))
}

proptest! {
    /// The index finds exactly the silences a scan of all of them finds.
    #[test]
    fn index_agrees_with_a_naive_scan(
        sils in prop::collection::vec(arb_silence(), 0..30),
        alerts in prop::collection::vec(arb_labels(), 1..10),
        now in -60i64..160,
    ) {
        let s = store();
        let mut all = Vec::new();
        for (ms, start, end) in sils {
            let mut x = sil(ms, start, end);
            // Keep the times as given: create at the earliest instant.
            if let Ok((id, _)) = s.set(x.clone(), ts(-100)) {
                x.id = id;
                all.push(x);
            }
        }
        s.gc(ts(now)); // also prunes the index
        for l in &alerts {
            let mut want: Vec<Arc<str>> = all
                .iter()
                .filter(|x| x.state(ts(now)) == SilenceState::Active
                    && x.matchers.iter().all(|m| m.matches_value(l.get(&m.name))))
                .map(|x| Arc::clone(&x.id))
                .collect();
            want.sort();
            prop_assert_eq!(s.silenced_by(l, ts(now)), want.clone());
            prop_assert_eq!(s.is_silenced(l, ts(now)), !want.is_empty());
        }
    }

    /// Merging snapshots is commutative, associative and idempotent.
    #[test]
    fn merge_laws(
        a in prop::collection::vec((0usize..4, -5i64..5, 0i64..3), 0..6),
        b in prop::collection::vec((0usize..4, -5i64..5, 0i64..3), 0..6),
        c in prop::collection::vec((0usize..4, -5i64..5, 0i64..3), 0..6),
    ) {
        let ids = [
            "00000000-0000-4000-8000-000000000001",
            "00000000-0000-4000-8000-000000000002",
            "00000000-0000-4000-8000-000000000003",
            "00000000-0000-4000-8000-000000000004",
        ];
        let entries = |xs: &[(usize, i64, i64)]| -> Vec<SnapshotEntry> {
            xs.iter().map(|(i, upd, end)| SnapshotEntry {
                id: ids[*i].to_owned(),
                matchers: vec![WireMatcher { name: "a".into(), value: "x".into(), is_regex: false, is_equal: true }],
                starts_at: ts(0),
                ends_at: ts(100 + end),
                updated_at: ts(*upd),
                created_by: "me".into(),
                comment: format!("{end}"),
                annotations: LabelSet::new(),
                expires_at: ts(1000),
            }).collect()
        };
        let merged = |parts: &[&Vec<SnapshotEntry>]| {
            let s = store();
            for p in parts {
                let _ = s.merge((*p).clone(), ts(0));
            }
            s.snapshot()
        };
        let (ea, eb, ec) = (entries(&a), entries(&b), entries(&c));
        prop_assert_eq!(merged(&[&ea, &eb]), merged(&[&eb, &ea]));
        prop_assert_eq!(merged(&[&ea, &eb, &ec]), merged(&[&ec, &eb, &ea]));
        let ab = merged(&[&ea, &eb]);
        prop_assert_eq!(merged(&[&ab, &ec]), merged(&[&ea, &merged(&[&eb, &ec])]));
        prop_assert_eq!(merged(&[&ea, &ea]), merged(&[&ea]));
    }
}

/// The answers remembered per label set follow every change and the passing of time: a new
/// silence, an expired one, an update, a merge from a peer, a pending one starting and an
/// active one ending with no change at all.
#[test]
fn remembered_answers_follow_changes_and_time() {
    let s = store();
    let a = labels(&[("alertname", "A"), ("instance", "web-1")]);
    assert!(!s.is_silenced(&a, ts(0)));
    assert!(s.silenced_by(&a, ts(0)).is_empty());
    let (id, _) = s
        .set(sil(vec![eq("alertname", "A")], 0, HOUR), ts(0))
        .unwrap();
    assert_eq!(s.silenced_by(&a, ts(1)), vec![Arc::clone(&id)]);
    // Pending until 100, active until HOUR: no change in between, the state is read anew.
    let b = labels(&[("alertname", "B")]);
    let (pending, _) = s
        .set(
            sil(vec![m("alertname", MatchType::Regex, "B|C")], 100, HOUR),
            ts(1),
        )
        .unwrap();
    assert!(!s.is_silenced(&b, ts(50)));
    assert_eq!(s.silenced_by(&b, ts(150)), vec![Arc::clone(&pending)]);
    assert!(!s.is_silenced(&b, ts(HOUR + 1)), "ended by time");
    // Expiring, then a new silence for another label.
    s.expire(&id, ts(200)).unwrap();
    assert!(!s.is_silenced(&a, ts(201)));
    let (by_instance, _) = s
        .set(
            sil(vec![m("instance", MatchType::Regex, "web-.*")], 0, HOUR),
            ts(202),
        )
        .unwrap();
    assert_eq!(s.silenced_by(&a, ts(203)), vec![by_instance.clone()]);
    // An update that no longer matches (replaced: the old one expires).
    let mut moved = sil(vec![m("instance", MatchType::Regex, "db-.*")], 202, HOUR);
    moved.id = by_instance;
    s.set(moved, ts(204)).unwrap();
    assert!(!s.is_silenced(&a, ts(205)));
    // A silence a peer made arrives through a merge.
    let peer = store();
    peer.set(sil(vec![eq("instance", "web-1")], 0, HOUR), ts(206))
        .unwrap();
    assert_eq!(s.merge(peer.snapshot(), ts(207)).unwrap(), 1);
    assert!(s.is_silenced(&a, ts(208)));
}
