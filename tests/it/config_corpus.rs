//! The config corpus (`tests/data/configs/`, verdicts in `expected.tsv`): our loader's verdict,
//! first error path and line; the same verdict as Alertmanager 0.25's `amtool check-config`
//! for every file 0.25 understands; `config.original` accepted by amtool; and `routes test`
//! agreeing with `amtool config routes test`.

use std::path::{Path, PathBuf};
use std::process::Command;

use tocsin::config::Config;

use crate::support::debian_tool;

struct Expect {
    file: String,
    ok: bool,
    path: Option<String>,
    line: Option<u64>,
    amtool: bool,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/configs")
}

fn expectations() -> Vec<Expect> {
    let text = std::fs::read_to_string(corpus_dir().join("expected.tsv")).expect("expected.tsv");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            assert_eq!(c.len(), 5, "bad expected.tsv line: {l}");
            Expect {
                file: c[0].to_owned(),
                ok: match c[1] {
                    "ok" => true,
                    "error" => false,
                    v => panic!("bad verdict {v} in {l}"),
                },
                path: (c[2] != "-").then(|| c[2].trim_matches('"').to_owned()),
                line: (c[3] != "-").then(|| c[3].parse().expect("line")),
                amtool: c[4] == "yes",
            }
        })
        .collect()
}

#[test]
fn corpus_is_complete_and_large_enough() {
    let listed: Vec<String> = expectations().into_iter().map(|e| e.file).collect();
    let mut on_disk: Vec<String> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".yml"))
        .collect();
    on_disk.sort();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(sorted, on_disk, "expected.tsv and the folder disagree");
    assert!(listed.len() >= 40);
}

#[test]
fn our_verdicts_paths_and_lines() {
    let mut failures = Vec::new();
    for e in expectations() {
        let got = Config::load(&corpus_dir().join(&e.file));
        match (e.ok, got) {
            (true, Ok(_)) => {}
            (true, Err(err)) => failures.push(format!("{}: expected valid, got {err}", e.file)),
            (false, Ok(_)) => failures.push(format!("{}: expected an error", e.file)),
            (false, Err(err)) => {
                let d = &err.diagnostics()[0];
                if e.path.as_deref().is_some_and(|p| p != d.path)
                    || e.line.is_some_and(|l| l != d.line)
                {
                    failures.push(format!(
                        "{}: expected {:?} line {:?}, got {:?} line {} ({})",
                        e.file, e.path, e.line, d.path, d.line, d.message
                    ));
                }
                let shown = err.to_string();
                if d.line > 0 {
                    let want = format!("{}:{}:{}: ", e.file, d.line, d.column);
                    assert!(shown.contains(&want), "{shown}");
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn amtool_accepts(amtool: &Path, file: &Path) -> (bool, String) {
    let out = Command::new(amtool)
        .arg("check-config")
        .arg(file)
        .output()
        .expect("run amtool");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn same_verdict_as_amtool() {
    let Some(amtool) = debian_tool("amtool") else {
        return;
    };
    let mut failures = Vec::new();
    let mut compared = 0;
    for e in expectations().into_iter().filter(|e| e.amtool) {
        let (am_ok, out) = amtool_accepts(&amtool, &corpus_dir().join(&e.file));
        compared += 1;
        if am_ok != e.ok {
            failures.push(format!(
                "{}: amtool says {}, we say {}\n{out}",
                e.file, am_ok, e.ok
            ));
        }
    }
    assert!(compared >= 40, "only {compared} files compared");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn amtool_accepts_our_original() {
    let Some(amtool) = debian_tool("amtool") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for e in expectations().into_iter().filter(|e| e.ok && e.amtool) {
        let cfg = Config::load(&corpus_dir().join(&e.file)).unwrap();
        let tmp = dir.path().join(&e.file);
        std::fs::write(&tmp, &cfg.original).unwrap();
        let (ok, out) = amtool_accepts(&amtool, &tmp);
        assert!(
            ok,
            "{}: amtool rejects our original:\n{out}\n{}",
            e.file, cfg.original
        );
        // Our loader reads it back too.
        Config::load(&tmp).unwrap_or_else(|err| panic!("{}: {err}\n{}", e.file, cfg.original));
        checked += 1;
    }
    assert!(checked >= 10);
}

/// The `routes test` cases of `routes.tsv`: a config file and an alert's labels.
fn routing_cases() -> Vec<(String, Vec<String>)> {
    let text = std::fs::read_to_string(corpus_dir().join("routes.tsv")).expect("routes.tsv");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut fields = l.split('\t').map(str::to_owned);
            let file = fields.next().unwrap();
            (file, fields.collect())
        })
        .collect()
}

#[test]
fn routes_test_agrees_with_amtool() {
    let Some(amtool) = debian_tool("amtool") else {
        return;
    };
    let cases = routing_cases();
    assert!(cases.len() >= 70, "only {} routing cases", cases.len());
    let mut failures = Vec::new();
    for (file, labels) in &cases {
        let flag = format!("--config.file={}", corpus_dir().join(file).display());
        let am = Command::new(&amtool)
            .args(["config", "routes", "test", &flag])
            .args(labels)
            .output()
            .unwrap();
        let ours = Command::new(env!("CARGO_BIN_EXE_tocsin"))
            .args(["routes", "test", &flag])
            .args(labels)
            .output()
            .unwrap();
        assert!(am.status.success(), "amtool: {file} {labels:?}");
        assert!(ours.status.success(), "tocsin: {file} {labels:?}");
        let (want, got) = (
            String::from_utf8_lossy(&am.stdout),
            String::from_utf8_lossy(&ours.stdout),
        );
        if want != got {
            failures.push(format!(
                "{file} {labels:?}: amtool {want:?}, tocsin {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
