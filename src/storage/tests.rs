use std::collections::BTreeMap;

use proptest::prelude::*;

use super::db::{decode_batch, encode_batch};
use super::*;

fn sorted(mut v: Vec<(Vec<u8>, Vec<u8>)>) -> Vec<(Vec<u8>, Vec<u8>)> {
    v.sort();
    v
}

fn open(dir: &Path) -> (Store, Contents) {
    Store::open(dir, &OpenOptions::default()).unwrap()
}

#[tokio::test]
async fn changes_read_back_after_close_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (store, contents) = open(dir.path());
    assert_eq!(contents.len(Kind::Alerts), 0);
    let j = store.journal();
    j.push(Change::put(Kind::Alerts, b"a".to_vec(), b"1".to_vec()));
    j.push(Change::put(Kind::Alerts, b"b".to_vec(), b"2".to_vec()));
    j.push(Change::put(Kind::Silences, b"s".to_vec(), b"x".to_vec()));
    let seq = j.push(Change::delete(Kind::Alerts, b"a".to_vec()));
    j.durable(seq).await.unwrap();
    assert!(j.health().is_ok());
    tokio::task::spawn_blocking(move || store.close())
        .await
        .unwrap();
    let (store, mut contents) = open(dir.path());
    assert_eq!(
        contents.take(Kind::Alerts),
        vec![(b"b".to_vec(), b"2".to_vec())]
    );
    assert_eq!(
        contents.take(Kind::Silences),
        vec![(b"s".to_vec(), b"x".to_vec())]
    );
    store.close();
}

#[test]
fn the_log_is_replayed_over_the_tables() {
    // A crash before a checkpoint leaves records in the log: start-up applies them in order.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE);
    {
        let d = db::open_rw(&path).unwrap();
        let mut buf = Vec::new();
        encode_batch(
            &[
                Change::put(Kind::Nflog, b"k".to_vec(), b"old".to_vec()),
                Change::put(Kind::Nflog, b"gone".to_vec(), b"x".to_vec()),
            ],
            &mut buf,
        );
        db::append(&d, 1, &buf).unwrap();
        encode_batch(
            &[
                Change::put(Kind::Nflog, b"k".to_vec(), b"new".to_vec()),
                Change::delete(Kind::Nflog, b"gone".to_vec()),
            ],
            &mut buf,
        );
        db::append(&d, 2, &buf).unwrap();
    }
    let (store, mut contents) = open(dir.path());
    assert_eq!(
        contents.take(Kind::Nflog),
        vec![(b"k".to_vec(), b"new".to_vec())]
    );
    store.close();
    // Folded at start-up: the tables alone hold it now.
    let (store, mut contents) = open(dir.path());
    assert_eq!(
        contents.take(Kind::Nflog),
        vec![(b"k".to_vec(), b"new".to_vec())]
    );
    store.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_share_commits_and_all_are_durable() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    let j = store.journal();
    let mut tasks = Vec::new();
    for t in 0..8u8 {
        let j = j.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..200u32 {
                let seq = j.push(Change::put(
                    Kind::Alerts,
                    [t].into_iter().chain(i.to_be_bytes()).collect::<Vec<u8>>(),
                    i.to_le_bytes().to_vec(),
                ));
                j.durable(seq).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    tokio::task::spawn_blocking(move || store.close())
        .await
        .unwrap();
    let (store, contents) = open(dir.path());
    assert_eq!(contents.len(Kind::Alerts), 1600);
    store.close();
}

#[test]
fn a_newer_format_stops_start_up_with_the_way_out() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE);
    {
        let d = redb::Database::create(&path).unwrap();
        let tx = d.begin_write().unwrap();
        {
            let mut meta = tx
                .open_table(redb::TableDefinition::<&str, u64>::new("meta"))
                .unwrap();
            meta.insert("format", FORMAT + 1).unwrap();
        }
        tx.commit().unwrap();
    }
    let e = Store::open(dir.path(), &OpenOptions::default())
        .err()
        .unwrap();
    let msg = e.to_string();
    assert!(
        matches!(e, OpenError::Newer { found, .. } if found == FORMAT + 1),
        "{msg}"
    );
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("--storage.reset"), "{msg}");
    // The file is untouched.
    let (store, _) = Store::open(
        dir.path(),
        &OpenOptions {
            reset: true,
            ..OpenOptions::default()
        },
    )
    .unwrap();
    store.close();
    let copies: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("tocsin.redb.reset-"))
        .collect();
    assert_eq!(copies.len(), 1, "--storage.reset keeps a copy");
}

#[test]
fn a_damaged_file_stops_start_up_and_reset_keeps_a_copy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE);
    let garbage: Vec<u8> = (0..20_000u32).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(&path, &garbage).unwrap();
    let e = Store::open(dir.path(), &OpenOptions::default())
        .err()
        .unwrap();
    let msg = e.to_string();
    assert!(matches!(e, OpenError::Damaged { .. }), "{msg}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(
        msg.contains("Move the file aside") && msg.contains("--storage.reset"),
        "{msg}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        garbage,
        "never repaired silently"
    );
    let (store, contents) = Store::open(
        dir.path(),
        &OpenOptions {
            reset: true,
            ..OpenOptions::default()
        },
    )
    .unwrap();
    assert_eq!(contents.len(Kind::Alerts), 0);
    store.close();
    let copy = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains(".reset-"))
        .expect("a copy");
    assert_eq!(std::fs::read(copy).unwrap(), garbage);
}

#[test]
fn a_second_process_on_the_same_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    let e = Store::open(dir.path(), &OpenOptions::default())
        .err()
        .unwrap();
    assert!(matches!(e, OpenError::Locked { .. }), "{e}");
    store.close();
}

#[tokio::test]
async fn a_journal_without_a_file_is_durable_at_once() {
    let j = Journal::none();
    let seq = j.push(Change::put(Kind::Alerts, b"a".to_vec(), b"1".to_vec()));
    assert!(j.durable(seq).await.is_ok());
    assert!(j.health().is_ok());
    assert!(!j.is_persistent());
}

#[test]
fn io_reasons_name_the_condition() {
    let e = |n| std::io::Error::from_raw_os_error(n);
    assert_eq!(io_reason(&e(28)), "disk full");
    assert_eq!(io_reason(&e(27)), "disk full");
    assert_eq!(io_reason(&e(30)), "read-only file system");
    assert_eq!(io_reason(&e(13)), "permission denied");
    assert_eq!(io_reason(&e(5)), "I/O error");
}

fn arb_change() -> impl Strategy<Value = Change> {
    (
        0usize..Kind::ALL.len(),
        proptest::collection::vec(any::<u8>(), 0..40),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..200)),
    )
        .prop_map(|(k, key, value)| Change {
            kind: Kind::ALL[k],
            key,
            value,
        })
}

proptest! {
    #[test]
    fn log_records_round_trip(changes in proptest::collection::vec(arb_change(), 0..20)) {
        let mut buf = Vec::new();
        encode_batch(&changes, &mut buf);
        prop_assert_eq!(decode_batch(&buf), Some(changes));
    }

    #[test]
    fn truncated_log_records_are_refused_not_misread(
        changes in proptest::collection::vec(arb_change(), 1..5),
        cut in 1usize..64,
    ) {
        let mut buf = Vec::new();
        encode_batch(&changes, &mut buf);
        let at = buf.len().saturating_sub(cut);
        if let Some(read) = decode_batch(&buf[..at]) {
            // A cut that falls between two changes reads a prefix.
            prop_assert!(read.len() < changes.len());
            prop_assert_eq!(&read[..], &changes[..read.len()]);
        }
    }
}

#[test]
fn the_store_ends_as_the_changes_say() {
    // Random puts and deletes, then a reopen: what is read equals a map applying the same
    // changes in order.
    let dir = tempfile::tempdir().unwrap();
    let mut model: BTreeMap<(Kind, Vec<u8>), Vec<u8>> = BTreeMap::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for round in 0..3u8 {
        let (store, mut contents) = open(dir.path());
        for kind in Kind::ALL {
            let want: Vec<(Vec<u8>, Vec<u8>)> = model
                .iter()
                .filter(|((k, _), _)| *k == kind)
                .map(|((_, key), v)| (key.clone(), v.clone()))
                .collect();
            assert_eq!(sorted(contents.take(kind)), want, "round {round} {kind:?}");
        }
        let j = store.journal();
        let mut seq = 0;
        for i in 0..300u32 {
            let kind = Kind::ALL[i as usize % Kind::ALL.len()];
            let key = vec![(i % 37) as u8, round];
            if i % 5 == 0 {
                model.remove(&(kind, key.clone()));
                seq = j.push(Change::delete(kind, key));
            } else {
                let v = i.to_le_bytes().to_vec();
                model.insert((kind, key.clone()), v.clone());
                seq = j.push(Change::put(kind, key, v));
            }
        }
        rt.block_on(j.durable(seq)).unwrap();
        store.close();
    }
}

#[test]
fn an_older_format_is_read_and_upgraded() {
    // A format-1 file (no `groups` table) opens, keeps its entries, and carries our format
    // afterwards, so an older tocsin refuses it rather than misreading the new table.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE);
    {
        let d = redb::Database::create(&path).unwrap();
        let tx = d.begin_write().unwrap();
        {
            let mut meta = tx
                .open_table(redb::TableDefinition::<&str, u64>::new("meta"))
                .unwrap();
            meta.insert("format", 1).unwrap();
            let mut alerts = tx
                .open_table(redb::TableDefinition::<&[u8], &[u8]>::new("alerts"))
                .unwrap();
            alerts.insert(&b"k"[..], &b"v"[..]).unwrap();
        }
        tx.commit().unwrap();
    }
    let (store, mut contents) = open(dir.path());
    assert_eq!(
        contents.take(Kind::Alerts),
        vec![(b"k".to_vec(), b"v".to_vec())]
    );
    assert!(contents.take(Kind::Groups).is_empty());
    store.close();
    let d = redb::Database::open(&path).unwrap();
    let rtx = redb::ReadableDatabase::begin_read(&d).unwrap();
    let meta = rtx
        .open_table(redb::TableDefinition::<&str, u64>::new("meta"))
        .unwrap();
    assert_eq!(meta.get("format").unwrap().unwrap().value(), FORMAT);
}

#[tokio::test]
async fn a_value_encoded_in_place_reads_back_as_a_put() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    let j = store.journal();
    j.put_with(Kind::Alerts, b"in-place", |out| {
        out.extend_from_slice(b"v1")
    });
    j.push(Change::put(
        Kind::Alerts,
        b"copied".to_vec(),
        b"v2".to_vec(),
    ));
    let seq = j.put_with(Kind::Alerts, b"empty", |_| {});
    j.durable(seq).await.unwrap();
    tokio::task::spawn_blocking(move || store.close())
        .await
        .unwrap();
    let (store, mut contents) = open(dir.path());
    assert_eq!(
        sorted(contents.take(Kind::Alerts)),
        vec![
            (b"copied".to_vec(), b"v2".to_vec()),
            (b"empty".to_vec(), Vec::new()),
            (b"in-place".to_vec(), b"v1".to_vec()),
        ]
    );
    store.close();
}

#[test]
fn changes_nobody_waits_for_are_written_within_the_linger() {
    // Timers and garbage collection queue changes without waiting: the writer commits them on
    // its own, without a waiter to wake it.
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    let j = store.journal();
    // Twice: once with no segment open, once after a commit (the writer parked in between).
    let shared = j.shared.clone().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(100));
    let seq = j.push(Change::put(Kind::Alerts, b"c".to_vec(), b"s".to_vec()));
    let deadline = crate::clock::instant() + writer::LINGER * 20;
    while shared.progress.borrow().durable < seq {
        assert!(
            crate::clock::instant() < deadline,
            "not written without a waiter"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    let seq = j.push(Change::put(Kind::Alerts, b"d".to_vec(), b"s".to_vec()));
    let deadline = crate::clock::instant() + writer::LINGER * 20;
    while shared.progress.borrow().durable < seq {
        assert!(
            crate::clock::instant() < deadline,
            "not written without a waiter"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    store.close();
}

/// Writes log segment `n` beside the store in `dir` with one record per batch, sealed (as
/// every segment but the last is) or not (as a kill leaves the last one).
fn write_segment(dir: &Path, n: u64, batches: &[&[Change]], sealed: bool) {
    let db_path = dir.join(DB_FILE);
    let seed = wal::seed(db::stored_wal_id(&db_path), n);
    let mut seg = wal::Segment::create(&db_path, n, seed, None).unwrap();
    let mut buf = Vec::new();
    for b in batches {
        encode_batch(b, &mut buf);
        seg.append(&buf).unwrap();
    }
    if sealed {
        seg.seal().unwrap();
    }
}

#[test]
fn log_segments_are_replayed_in_order_and_folded() {
    // A kill -9 leaves segments the tables do not hold: start-up replays them in order, the
    // folder folds them, and the files go.
    let dir = tempfile::tempdir().unwrap();
    open(dir.path()).0.close();
    write_segment(
        dir.path(),
        7,
        &[&[
            Change::put(Kind::Alerts, b"a".to_vec(), b"1".to_vec()),
            Change::put(Kind::Alerts, b"gone".to_vec(), b"x".to_vec()),
        ]],
        true,
    );
    write_segment(
        dir.path(),
        8,
        &[
            &[Change::put(Kind::Alerts, b"a".to_vec(), b"2".to_vec())],
            &[Change::delete(Kind::Alerts, b"gone".to_vec())],
        ],
        false,
    );
    let (store, mut contents) = open(dir.path());
    assert_eq!(
        contents.take(Kind::Alerts),
        vec![(b"a".to_vec(), b"2".to_vec())]
    );
    store.close();
    assert!(wal::list(&dir.path().join(DB_FILE)).unwrap().is_empty());
    let (store, mut contents) = open(dir.path());
    assert_eq!(
        contents.take(Kind::Alerts),
        vec![(b"a".to_vec(), b"2".to_vec())]
    );
    // New writes go to a segment numbered after the old ones.
    let j = store.journal();
    let seq = j.push(Change::put(Kind::Alerts, b"b".to_vec(), b"3".to_vec()));
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(j.durable(seq))
        .unwrap();
    let segs = wal::list(&dir.path().join(DB_FILE)).unwrap();
    assert!(segs.iter().all(|(n, _)| *n > 8), "{segs:?}");
    store.close();
    let (store, contents) = open(dir.path());
    assert_eq!(contents.len(Kind::Alerts), 2);
    store.close();
}

#[test]
fn a_torn_end_of_the_last_segment_is_dropped_and_damage_elsewhere_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join(DB_FILE);
    open(dir.path()).0.close();
    write_segment(
        dir.path(),
        3,
        &[&[Change::put(Kind::Silences, b"s".to_vec(), b"1".to_vec())]],
        true,
    );
    write_segment(
        dir.path(),
        4,
        &[&[Change::put(Kind::Silences, b"t".to_vec(), b"2".to_vec())]],
        false,
    );
    // A record whose write was cut short (never acknowledged).
    let last = wal::segment_path(&db_path, 4);
    let whole = std::fs::metadata(&last).unwrap().len();
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&last)
            .unwrap();
        f.write_all(&[200, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9])
            .unwrap();
    }
    let (store, mut contents) = open(dir.path());
    assert_eq!(
        sorted(contents.take(Kind::Silences)),
        vec![
            (b"s".to_vec(), b"1".to_vec()),
            (b"t".to_vec(), b"2".to_vec())
        ]
    );
    store.close();

    // The same in a segment that is not the last one is damage, named with its file.
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join(DB_FILE);
    open(dir.path()).0.close();
    write_segment(
        dir.path(),
        3,
        &[&[Change::put(Kind::Silences, b"s".to_vec(), b"1".to_vec())]],
        true,
    );
    write_segment(
        dir.path(),
        4,
        &[&[Change::put(Kind::Silences, b"t".to_vec(), b"2".to_vec())]],
        false,
    );
    let first = wal::segment_path(&db_path, 3);
    let mut bytes = std::fs::read(&first).unwrap();
    let at = bytes.len() - 1;
    bytes[at] ^= 0xff;
    std::fs::write(&first, bytes).unwrap();
    let err = match Store::open(dir.path(), &OpenOptions::default()) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("damage in a sealed segment was accepted"),
    };
    assert!(
        err.contains(&first.display().to_string()) && err.contains("damaged"),
        "{err}"
    );
    assert!(whole > 0);
}

#[test]
fn reset_moves_the_log_aside_too() {
    let dir = tempfile::tempdir().unwrap();
    open(dir.path()).0.close();
    write_segment(
        dir.path(),
        2,
        &[&[Change::put(Kind::Alerts, b"a".to_vec(), b"1".to_vec())]],
        false,
    );
    let (store, contents) = Store::open(
        dir.path(),
        &OpenOptions {
            reset: true,
            ..OpenOptions::default()
        },
    )
    .unwrap();
    assert_eq!(contents.len(Kind::Alerts), 0);
    store.close();
    assert!(wal::list(&dir.path().join(DB_FILE)).unwrap().is_empty());
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("tocsin.redb.reset-") && n.contains(".wal-")),
        "{names:?}"
    );
}

/// A record as the writer writes it, checked with `seed`.
fn record(seed: u64, p: &[u8]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&(p.len() as u32).to_le_bytes());
    b.extend_from_slice(&wal::check(seed, p).to_le_bytes());
    b.extend_from_slice(p);
    b
}

proptest! {
    #[test]
    fn segment_records_check_and_a_cut_anywhere_keeps_the_whole_ones(
        payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..100), 1..6),
        cut in any::<proptest::sample::Index>(),
        seed in any::<u64>(),
    ) {
        let mut bytes = Vec::new();
        let mut ends = Vec::new();
        for p in &payloads {
            bytes.extend_from_slice(&record(seed, p));
            ends.push(bytes.len());
        }
        let scan = wal::records(&bytes, seed);
        prop_assert_eq!(scan.payloads.len(), payloads.len());
        prop_assert_eq!(scan.whole, bytes.len());
        let at = cut.index(bytes.len());
        let scan = wal::records(&bytes[..at], seed);
        let n = ends.iter().filter(|e| **e <= at).count();
        prop_assert_eq!(scan.payloads.len(), n);
        prop_assert_eq!(scan.whole, if n == 0 { 0 } else { ends[n - 1] });
        prop_assert!(!scan.sealed);
    }

    /// A recycled file: an older segment's records (sealed, then filler) are overwritten in
    /// place by the new segment's, and a kill tears the new segment's write at any byte: the
    /// scan yields exactly the new segment's whole records before the tear, never a record the
    /// older segment left, and says the segment is not sealed (start-up seals it there).
    #[test]
    fn a_recycled_segment_torn_anywhere_yields_only_its_own_whole_records(
        old in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..80), 1..8),
        new in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..80), 1..8),
        id in any::<u64>(),
        cut in any::<proptest::sample::Index>(),
        same_payloads in any::<bool>(),
    ) {
        let (n_old, n_new) = (3u64, 9u64);
        let new = if same_payloads { old.clone() } else { new };
        let mut file = Vec::new();
        for p in &old {
            file.extend_from_slice(&record(wal::seed(id, n_old), p));
        }
        file.extend_from_slice(&record(wal::seed(id, n_old), &[]));
        file.resize(file.len() + 200, 0xFF);
        let mut written = Vec::new();
        let mut ends = Vec::new();
        for p in &new {
            written.extend_from_slice(&record(wal::seed(id, n_new), p));
            ends.push(written.len());
        }
        let at = cut.index(written.len() + 1);
        let mut torn = file.clone();
        if torn.len() < at {
            torn.resize(at, 0xFF);
        }
        torn[..at].copy_from_slice(&written[..at]);
        let scan = wal::records(&torn, wal::seed(id, n_new));
        // The whole records: those written before the tear, and any the tear cut where the
        // bytes it left are the ones that were being written (the same payload again).
        let n = ends
            .iter()
            .take_while(|e| torn.get(..**e) == Some(&written[..**e]))
            .count();
        prop_assert_eq!(scan.payloads.len(), n);
        for (got, want) in scan.payloads.iter().zip(&new) {
            prop_assert_eq!(*got, want.as_slice());
        }
        prop_assert_eq!(scan.whole, if n == 0 { 0 } else { ends[n - 1] });
        prop_assert!(!scan.sealed);
        // Sealed after its records, it reads as sealed, with the same records.
        let mut sealed = torn.clone();
        let end = record(wal::seed(id, n_new), &[]);
        let w = scan.whole;
        if sealed.len() < w + end.len() {
            sealed.resize(w + end.len(), 0xFF);
        }
        sealed[w..w + end.len()].copy_from_slice(&end);
        let scan2 = wal::records(&sealed, wal::seed(id, n_new));
        prop_assert!(scan2.sealed);
        prop_assert_eq!(scan2.payloads.len(), n);
        // Another store's log id reads nothing of it.
        prop_assert!(wal::records(&sealed, wal::seed(id ^ 1, n_new)).payloads.is_empty());
    }
}

/// Writes batches of about `each` bytes through the journal and waits for each.
fn write_batches(store: &Store, from: u32, count: u32, each: usize) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let j = store.journal();
    for i in from..from + count {
        let seq = j.push(Change::put(
            Kind::Alerts,
            format!("k{:03}", i % 300).into_bytes(),
            vec![(i % 251) as u8; each],
        ));
        rt.block_on(j.durable(seq)).unwrap();
    }
}

fn expected(upto: u32, each: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut m = BTreeMap::new();
    for i in 0..upto {
        m.insert(
            format!("k{:03}", i % 300).into_bytes(),
            vec![(i % 251) as u8; each],
        );
    }
    m.into_iter().collect()
}

#[test]
fn segments_are_recycled_written_in_place_and_read_back() {
    // Small segments: a store that writes much seals many, prepares spares, folds the sealed
    // ones and keeps them as spares, and writes the next segments in place over what older
    // ones left; every change reads back, across reopenings that reuse the spares.
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join(DB_FILE);
    let opts = OpenOptions {
        segment_bytes: 16 << 10,
        ..OpenOptions::default()
    };
    let (store, _) = Store::open(dir.path(), &opts).unwrap();
    write_batches(&store, 0, 400, 300);
    store.close();
    let spares = wal::list_spares(&db_path).unwrap();
    assert!(!spares.is_empty(), "no spare was kept");
    let (store, mut contents) = Store::open(dir.path(), &opts).unwrap();
    assert_eq!(sorted(contents.take(Kind::Alerts)), expected(400, 300));
    write_batches(&store, 400, 400, 200);
    store.close();
    let (store, mut contents) = Store::open(dir.path(), &opts).unwrap();
    let mut want: BTreeMap<Vec<u8>, Vec<u8>> = expected(400, 300).into_iter().collect();
    for i in 400..800u32 {
        want.insert(
            format!("k{:03}", i % 300).into_bytes(),
            vec![(i % 251) as u8; 200],
        );
    }
    assert_eq!(
        sorted(contents.take(Kind::Alerts)),
        want.into_iter().collect::<Vec<_>>()
    );
    store.close();
}

#[test]
fn a_recycled_segment_left_open_by_a_kill_replays_its_own_records_only() {
    // What a kill -9 leaves: a last segment written in place over an older segment's records
    // (a spare) and not sealed. Start-up replays only its own records and seals it; the next
    // start-up reads the same.
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join(DB_FILE);
    open(dir.path()).0.close();
    let id = db::stored_wal_id(&db_path);
    let batch = |c: Change| {
        let mut buf = Vec::new();
        encode_batch(&[c], &mut buf);
        buf
    };
    let old = wal::seed(id, 5);
    let mut spare = Vec::new();
    spare.extend_from_slice(&record(
        old,
        &batch(Change::put(Kind::Alerts, b"a".to_vec(), b"old".to_vec())),
    ));
    for _ in 0..3 {
        spare.extend_from_slice(&record(
            old,
            &batch(Change::put(Kind::Alerts, b"stale".to_vec(), b"x".to_vec())),
        ));
    }
    spare.extend_from_slice(&record(old, &[]));
    spare.resize(spare.len() + 4096, 0xFF);
    std::fs::write(wal::spare_path(&db_path, 1), &spare).unwrap();
    let mut seg = wal::Segment::create(
        &db_path,
        6,
        wal::seed(id, 6),
        Some(&wal::spare_path(&db_path, 1)),
    )
    .unwrap();
    assert_eq!(seg.prepared, spare.len() as u64);
    seg.append(&batch(Change::put(
        Kind::Alerts,
        b"a".to_vec(),
        b"new".to_vec(),
    )))
    .unwrap();
    drop(seg);
    for _ in 0..2 {
        let (store, mut contents) = open(dir.path());
        assert_eq!(
            sorted(contents.take(Kind::Alerts)),
            vec![(b"a".to_vec(), b"new".to_vec())],
            "a record the older segment left was replayed, or the new one lost"
        );
        store.close();
    }
}

#[test]
fn a_format_4_store_with_its_log_is_read_and_upgraded() {
    // Format 4 wrote unseeded, appended segments without end records: start-up reads them
    // (the last one torn), folds them into the tables, deletes them and stamps format 5.
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join(DB_FILE);
    {
        let d = redb::Database::create(&db_path).unwrap();
        let tx = d.begin_write().unwrap();
        {
            let mut meta = tx
                .open_table(redb::TableDefinition::<&str, u64>::new("meta"))
                .unwrap();
            meta.insert("format", 4).unwrap();
            meta.insert("wal_from", 2).unwrap();
        }
        tx.commit().unwrap();
    }
    let v4 = |n: u64, batches: &[&[Change]], torn: bool| {
        let mut bytes = Vec::new();
        let mut buf = Vec::new();
        for b in batches {
            encode_batch(b, &mut buf);
            bytes.extend_from_slice(&record(0, &buf));
        }
        if torn {
            bytes.extend_from_slice(&[90, 0, 0, 0, 1, 2, 3]);
        }
        std::fs::write(wal::segment_path(&db_path, n), bytes).unwrap();
    };
    v4(
        2,
        &[
            &[Change::put(Kind::Silences, b"s1".to_vec(), b"1".to_vec())],
            &[Change::put(Kind::Silences, b"s2".to_vec(), b"2".to_vec())],
        ],
        false,
    );
    v4(
        3,
        &[&[
            Change::delete(Kind::Silences, b"s1".to_vec()),
            Change::put(Kind::Silences, b"s3".to_vec(), b"3".to_vec()),
        ]],
        true,
    );
    let want = vec![
        (b"s2".to_vec(), b"2".to_vec()),
        (b"s3".to_vec(), b"3".to_vec()),
    ];
    let (store, mut contents) = open(dir.path());
    assert_eq!(sorted(contents.take(Kind::Silences)), want);
    // Folded and gone before the writer wrote anything.
    assert!(
        wal::list(&db_path).unwrap().iter().all(|(n, _)| *n > 3),
        "{:?}",
        wal::list(&db_path).unwrap()
    );
    write_batches(&store, 0, 3, 10);
    store.close();
    assert_ne!(db::stored_wal_id(&db_path), 0);
    let (store, mut contents) = open(dir.path());
    assert_eq!(sorted(contents.take(Kind::Silences)), want);
    assert_eq!(contents.len(Kind::Alerts), 3);
    store.close();
    let d = redb::Database::open(&db_path).unwrap();
    let rtx = redb::ReadableDatabase::begin_read(&d).unwrap();
    let meta = rtx
        .open_table(redb::TableDefinition::<&str, u64>::new("meta"))
        .unwrap();
    assert_eq!(meta.get("format").unwrap().unwrap().value(), FORMAT);
}

#[test]
fn heartbeat_states_live_in_their_own_file_and_old_ones_are_moved_there() {
    // A store of format 4 kept heartbeat states in the main file: start-up moves them to the
    // heartbeat file (and deletes them from the main one); later writes of heartbeat states go
    // to the heartbeat file only, and everything reads back.
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join(DB_FILE);
    let hb_path = dir.path().join(HEARTBEATS_FILE);
    {
        let d = redb::Database::create(&db_path).unwrap();
        let tx = d.begin_write().unwrap();
        {
            let mut meta = tx
                .open_table(redb::TableDefinition::<&str, u64>::new("meta"))
                .unwrap();
            meta.insert("format", 4).unwrap();
            let mut hb = tx
                .open_table(redb::TableDefinition::<&[u8], &[u8]>::new("heartbeats"))
                .unwrap();
            hb.insert(&b"backup"[..], &b"old"[..]).unwrap();
            hb.insert(&b"nightly"[..], &b"n"[..]).unwrap();
        }
        tx.commit().unwrap();
    }
    let (store, mut contents) = open(dir.path());
    assert_eq!(
        sorted(contents.take(Kind::Heartbeats)),
        vec![
            (b"backup".to_vec(), b"old".to_vec()),
            (b"nightly".to_vec(), b"n".to_vec())
        ]
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let hb = store.heartbeat_journal();
    let seq = hb.push(Change::put(
        Kind::Heartbeats,
        b"backup".to_vec(),
        b"new".to_vec(),
    ));
    rt.block_on(hb.durable(seq)).unwrap();
    rt.block_on(store.journal().sync()).unwrap();
    store.close();
    let count = |path: &Path| {
        let d = redb::Database::open(path).unwrap();
        let rtx = redb::ReadableDatabase::begin_read(&d).unwrap();
        match rtx.open_table(redb::TableDefinition::<&[u8], &[u8]>::new("heartbeats")) {
            Ok(t) => redb::ReadableTableMetadata::len(&t).unwrap(),
            Err(_) => 0,
        }
    };
    assert_eq!(
        count(&db_path),
        0,
        "the main file still holds heartbeat states"
    );
    assert_eq!(count(&hb_path), 2);
    let (store, mut contents) = open(dir.path());
    assert_eq!(
        sorted(contents.take(Kind::Heartbeats)),
        vec![
            (b"backup".to_vec(), b"new".to_vec()),
            (b"nightly".to_vec(), b"n".to_vec())
        ]
    );
    store.close();
}

/// The heartbeat file's commits are answered once written, before their sync: on a disk busy
/// with ingest's syncs one sync waits for the device's whole cache, and a ping must not. What
/// is written survives a killed process; the sync follows at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_commits_are_answered_written_and_synced_right_after() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path());
    let syncer = store
        .heartbeat_syncer
        .clone()
        .expect("the heartbeat file syncs apart");
    let hb = store.heartbeat_journal();
    syncer.hold(true);
    let seq = hb.push(Change::put(
        Kind::Heartbeats,
        b"job".to_vec(),
        b"up".to_vec(),
    ));
    tokio::time::timeout(std::time::Duration::from_secs(30), hb.written(seq))
        .await
        .expect("a written commit is answered while its sync is held")
        .unwrap();
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(300), hb.durable(seq))
            .await
            .is_err(),
        "durable before its sync"
    );
    // Read back by a fresh open of what the process wrote (as after kill -9: nothing synced).
    let copy = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), copy.path().join(e.file_name())).unwrap();
    }
    let (other, mut contents) = open(copy.path());
    assert_eq!(
        contents.take(Kind::Heartbeats),
        vec![(b"job".to_vec(), b"up".to_vec())]
    );
    other.close();
    syncer.hold(false);
    tokio::time::timeout(std::time::Duration::from_secs(30), hb.durable(seq))
        .await
        .expect("synced once released")
        .unwrap();
    // The main file's commits are synced before they are answered.
    let j = store.journal();
    let seq = j.push(Change::put(Kind::Alerts, b"a".to_vec(), b"1".to_vec()));
    j.written(seq).await.unwrap();
    assert!(futures_util::FutureExt::now_or_never(j.durable(seq)).is_some());
    tokio::task::spawn_blocking(move || store.close())
        .await
        .unwrap();
}

/// A log record of one patch (see [`Journal::patch_with`]).
fn patch_record(kind: Kind, key: &[u8], base_len: u32, at: u32, bytes: &[u8]) -> Vec<u8> {
    let mut buf = Vec::new();
    db::encode_patch_with(kind, key, base_len, at, &mut buf, |o| {
        o.extend_from_slice(bytes)
    });
    buf
}

#[test]
fn a_patch_fits_only_the_value_it_was_made_for() {
    let p = db::Patch {
        base_len: 6,
        at: 2,
        bytes: b"XY",
    };
    let mut v = b"abcdef".to_vec();
    assert!(p.apply(&mut v));
    assert_eq!(v, b"abXYef");
    for other in [&b"abcdefg"[..], b"abcde", b""] {
        let mut v = other.to_vec();
        assert!(!p.apply(&mut v), "{other:?}");
        assert_eq!(v, other, "a value of another length is left as it is");
    }
    let past_end = db::Patch {
        base_len: 3,
        at: 2,
        bytes: b"XY",
    };
    let mut v = b"abc".to_vec();
    assert!(!past_end.apply(&mut v));
    assert_eq!(v, b"abc");
}

#[test]
fn patches_are_replayed_over_the_tables_and_over_their_segment_s_puts() {
    // What a kill -9 leaves: segments holding patches of values in the tables, of values put
    // earlier in the same segment, and of values put in an earlier segment. Start-up applies
    // them in order; the folds write the patched values.
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join(DB_FILE);
    {
        let (store, _) = open(dir.path());
        let j = store.journal();
        j.push(Change::put(Kind::Alerts, b"t".to_vec(), b"table".to_vec()));
        j.push(Change::put(
            Kind::Alerts,
            b"u".to_vec(),
            b"untouched".to_vec(),
        ));
        store.close();
    }
    let id = db::stored_wal_id(&db_path);
    let put = |k: &[u8], v: &[u8]| {
        let mut buf = Vec::new();
        encode_batch(
            &[Change::put(Kind::Alerts, k.to_vec(), v.to_vec())],
            &mut buf,
        );
        buf
    };
    let write = |n: u64, records: &[Vec<u8>], sealed: bool| {
        let mut seg = wal::Segment::create(&db_path, n, wal::seed(id, n), None).unwrap();
        for r in records {
            seg.append(r).unwrap();
        }
        if sealed {
            seg.seal().unwrap();
        }
    };
    let first = wal::list(&db_path)
        .unwrap()
        .last()
        .map_or(1, |(n, _)| n + 1)
        + 10;
    write(
        first,
        &[
            patch_record(Kind::Alerts, b"t", 5, 0, b"T"),
            put(b"s", b"segment"),
            patch_record(Kind::Alerts, b"s", 7, 1, b"E"),
            put(b"x", b"xxx"),
        ],
        true,
    );
    write(
        first + 1,
        &[
            patch_record(Kind::Alerts, b"s", 7, 6, b"T"),
            patch_record(Kind::Alerts, b"x", 3, 2, b"Z"),
            patch_record(Kind::Alerts, b"t", 5, 4, b"E"),
            // A patch made for a value of another length (a rewrite put a later value in the
            // tables before this record is replayed): left out.
            patch_record(Kind::Alerts, b"u", 4, 0, b"!"),
            patch_record(Kind::Alerts, b"gone", 4, 0, b"!"),
        ],
        false,
    );
    let want = vec![
        (b"s".to_vec(), b"sEgmenT".to_vec()),
        (b"t".to_vec(), b"TablE".to_vec()),
        (b"u".to_vec(), b"untouched".to_vec()),
        (b"x".to_vec(), b"xxZ".to_vec()),
    ];
    let (store, mut contents) = open(dir.path());
    assert_eq!(sorted(contents.take(Kind::Alerts)), want, "replayed");
    store.close();
    assert!(wal::list(&db_path).unwrap().is_empty(), "not folded");
    let (store, mut contents) = open(dir.path());
    assert_eq!(sorted(contents.take(Kind::Alerts)), want, "folded");
    store.close();
}

#[test]
fn puts_deletes_and_patches_end_as_a_model_says_through_folds_of_small_segments() {
    // Random puts, deletes and patches through the journal, with segments of 2 KiB: segments
    // are sealed and folded while writes go on (a fold skips the keys a later sealed segment
    // puts or deletes, never those it only patches), kept as spares and written over; after
    // each reopening the store equals a map that applied the same changes in order.
    let dir = tempfile::tempdir().unwrap();
    let opts = OpenOptions {
        segment_bytes: 2 << 10,
        ..OpenOptions::default()
    };
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut next = |below: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % below
    };
    for round in 0..4 {
        let (store, mut contents) = Store::open(dir.path(), &opts).unwrap();
        assert_eq!(
            sorted(contents.take(Kind::Alerts)),
            model.clone().into_iter().collect::<Vec<_>>(),
            "round {round}"
        );
        let j = store.journal();
        let mut seq = 0;
        for i in 0..1500u32 {
            let key = format!("k{}", next(40)).into_bytes();
            match (next(10), model.get_mut(&key)) {
                (0, _) => {
                    model.remove(&key);
                    seq = j.push(Change::delete(Kind::Alerts, key));
                }
                (1..=6, Some(v)) => {
                    let at = next(v.len() as u64 - 3) as usize;
                    let bytes = i.to_le_bytes()[..3].to_vec();
                    let base_len = v.len() as u32;
                    v[at..at + 3].copy_from_slice(&bytes);
                    seq = j.patch_with(Kind::Alerts, &key, base_len, at as u32, |o| {
                        o.extend_from_slice(&bytes)
                    });
                }
                _ => {
                    let v = vec![(i % 251) as u8; 8 + next(40) as usize];
                    model.insert(key.clone(), v.clone());
                    seq = j.push(Change::put(Kind::Alerts, key, v));
                }
            }
            if i % 7 == 0 {
                rt.block_on(j.durable(seq)).unwrap();
            }
        }
        rt.block_on(j.durable(seq)).unwrap();
        store.close();
    }
}

#[test]
fn a_format_5_store_with_its_log_is_read_and_upgraded() {
    // Format 5 wrote the same segments without patches: a store left with an unfolded one
    // opens, reads it, folds it, and carries format 6, so that a format-5 tocsin refuses it
    // once it may hold patches.
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join(DB_FILE);
    open(dir.path()).0.close();
    {
        let d = redb::Database::open(&db_path).unwrap();
        let tx = d.begin_write().unwrap();
        {
            let mut meta = tx
                .open_table(redb::TableDefinition::<&str, u64>::new("meta"))
                .unwrap();
            meta.insert("format", 5).unwrap();
        }
        tx.commit().unwrap();
    }
    let n = wal::list(&db_path)
        .unwrap()
        .last()
        .map_or(1, |(n, _)| n + 1)
        + 3;
    write_segment(
        dir.path(),
        n,
        &[
            &[Change::put(Kind::Alerts, b"a".to_vec(), b"1".to_vec())],
            &[
                Change::put(Kind::Alerts, b"b".to_vec(), b"2".to_vec()),
                Change::delete(Kind::Alerts, b"a".to_vec()),
            ],
        ],
        false,
    );
    let (store, mut contents) = open(dir.path());
    assert_eq!(
        contents.take(Kind::Alerts),
        vec![(b"b".to_vec(), b"2".to_vec())]
    );
    let seq = store
        .journal()
        .patch_with(Kind::Alerts, b"b", 1, 0, |o| o.push(b'3'));
    rt_block(store.journal().durable(seq)).unwrap();
    store.close();
    let d = redb::Database::open(&db_path).unwrap();
    let rtx = redb::ReadableDatabase::begin_read(&d).unwrap();
    let meta = rtx
        .open_table(redb::TableDefinition::<&str, u64>::new("meta"))
        .unwrap();
    assert_eq!(meta.get("format").unwrap().unwrap().value(), 6);
    drop((meta, rtx, d));
    let (store, mut contents) = open(dir.path());
    assert_eq!(
        contents.take(Kind::Alerts),
        vec![(b"b".to_vec(), b"3".to_vec())]
    );
    store.close();
}

fn rt_block<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}
