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
        db::checkpoint(&d).unwrap();
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
    let (store, _) = Store::open(dir.path(), &OpenOptions { reset: true }).unwrap();
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
    let (store, contents) = Store::open(dir.path(), &OpenOptions { reset: true }).unwrap();
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
    let seq = j.push(Change::put(Kind::Heartbeats, b"c".to_vec(), b"s".to_vec()));
    let shared = j.shared.clone().unwrap();
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

/// Writes log segment `n` beside the store in `dir` with one record per batch.
fn write_segment(dir: &Path, n: u64, batches: &[&[Change]]) {
    let mut seg = wal::Segment::create(&dir.join(DB_FILE), n).unwrap();
    let mut buf = Vec::new();
    for b in batches {
        encode_batch(b, &mut buf);
        seg.append(&buf).unwrap();
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
    );
    write_segment(
        dir.path(),
        8,
        &[
            &[Change::put(Kind::Alerts, b"a".to_vec(), b"2".to_vec())],
            &[Change::delete(Kind::Alerts, b"gone".to_vec())],
        ],
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
    );
    write_segment(
        dir.path(),
        4,
        &[&[Change::put(Kind::Silences, b"t".to_vec(), b"2".to_vec())]],
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
    );
    write_segment(
        dir.path(),
        4,
        &[&[Change::put(Kind::Silences, b"t".to_vec(), b"2".to_vec())]],
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
    );
    let (store, contents) = Store::open(dir.path(), &OpenOptions { reset: true }).unwrap();
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

proptest! {
    #[test]
    fn segment_records_check_and_a_cut_anywhere_keeps_the_whole_ones(
        payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..100), 1..6),
        cut in any::<proptest::sample::Index>(),
    ) {
        let mut bytes = Vec::new();
        let mut ends = Vec::new();
        for p in &payloads {
            bytes.extend_from_slice(&(p.len() as u32).to_le_bytes());
            bytes.extend_from_slice(&wal::check(p).to_le_bytes());
            bytes.extend_from_slice(p);
            ends.push(bytes.len());
        }
        let (recs, whole) = wal::records(&bytes);
        prop_assert_eq!(recs.len(), payloads.len());
        prop_assert_eq!(whole, bytes.len());
        let at = cut.index(bytes.len());
        let (recs, whole) = wal::records(&bytes[..at]);
        let n = ends.iter().filter(|e| **e <= at).count();
        prop_assert_eq!(recs.len(), n);
        prop_assert_eq!(whole, if n == 0 { 0 } else { ends[n - 1] });
    }
}
