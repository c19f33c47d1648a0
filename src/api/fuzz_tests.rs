//! Every fuzz target over its seed corpus (and the inputs fuzzing found, kept beside the seeds),
//! and over random mutations of those seeds: no panic, in bounded time.

use std::path::PathBuf;

use proptest::prelude::*;

use super::TARGETS;

fn corpus(name: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/fuzz")
        .join(name);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

#[test]
fn every_target_has_a_corpus_and_survives_it() {
    for (name, run) in TARGETS {
        let seeds = corpus(name);
        assert!(seeds.len() >= 3, "{name}: {} seeds", seeds.len());
        for s in &seeds {
            run(s);
        }
    }
}

/// One edit of a seed: replace, insert or delete a few bytes at a position.
#[derive(Debug, Clone)]
enum Edit {
    Replace(prop::sample::Index, Vec<u8>),
    Insert(prop::sample::Index, Vec<u8>),
    Delete(prop::sample::Index, usize),
    Repeat(prop::sample::Index, usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    // Bytes that matter to the formats: JSON and YAML punctuation, template and matcher
    // syntax, HTTP framing, and anything.
    let bytes = prop::collection::vec(
        prop_oneof![
            prop::sample::select(b"{}[]\":,\\-_|&*!<>=~#%?/ \t\r\n'`.$()0123456789aez".to_vec()),
            any::<u8>(),
        ],
        1..6,
    );
    prop_oneof![
        (any::<prop::sample::Index>(), bytes.clone()).prop_map(|(i, b)| Edit::Replace(i, b)),
        (any::<prop::sample::Index>(), bytes).prop_map(|(i, b)| Edit::Insert(i, b)),
        (any::<prop::sample::Index>(), 1usize..8).prop_map(|(i, n)| Edit::Delete(i, n)),
        (any::<prop::sample::Index>(), 1usize..16, 1usize..30)
            .prop_map(|(i, n, k)| Edit::Repeat(i, n, k)),
    ]
}

fn apply(mut s: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        match e {
            Edit::Replace(i, b) => {
                let at = i.index(s.len() + 1);
                let end = (at + b.len()).min(s.len());
                s.splice(at..end, b.iter().copied());
            }
            Edit::Insert(i, b) => {
                let at = i.index(s.len() + 1);
                s.splice(at..at, b.iter().copied());
            }
            Edit::Delete(i, n) => {
                let at = i.index(s.len() + 1);
                let end = (at + n).min(s.len());
                s.drain(at..end);
            }
            Edit::Repeat(i, n, k) => {
                let at = i.index(s.len() + 1);
                let end = (at + n).min(s.len());
                let piece = s[at..end].to_vec();
                for _ in 0..*k {
                    s.splice(end..end, piece.iter().copied());
                }
            }
        }
    }
    s
}

fn mutated(name: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let seeds = corpus(name);
    (
        prop::sample::select(seeds),
        prop::collection::vec(edit(), 0..6),
    )
        .prop_map(|(s, e)| apply(s, &e))
}

fn target(name: &str) -> fn(&[u8]) {
    TARGETS.iter().find(|(n, _)| *n == name).unwrap().1
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn alerts_mutated(input in mutated("alerts")) { target("alerts")(&input) }

    #[test]
    fn filters_mutated(input in mutated("filters")) { target("filters")(&input) }

    #[test]
    fn silence_mutated(input in mutated("silence")) { target("silence")(&input) }

    #[test]
    fn preview_mutated(input in mutated("preview")) { target("preview")(&input) }

    #[test]
    fn config_mutated(input in mutated("config")) { target("config")(&input) }

    #[test]
    fn heads_mutated(input in mutated("heads")) { target("heads")(&input) }

    #[test]
    fn any_bytes(input in prop::collection::vec(any::<u8>(), 0..512)) {
        for (_, run) in TARGETS {
            run(&input);
        }
    }
}
