//! Every shipped config (`config/tocsin.yml`, `config/examples/*.yml`) loads with our loader
//! (warnings allowed), and amtool 0.25 accepts every one that uses no tocsin extension.

use std::path::{Path, PathBuf};
use std::process::Command;

use tocsin::config::Config;

use crate::support::debian_tool;

fn shipped() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut files = vec![root.join("tocsin.yml")];
    let mut examples: Vec<PathBuf> = std::fs::read_dir(root.join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    examples.sort();
    files.extend(examples);
    files
}

fn uses_extensions(c: &Config) -> bool {
    !c.heartbeats.is_empty()
        || !c.dead_mans_switch.is_empty()
        || c.receivers.iter().any(|r| !r.zendesk_configs.is_empty())
}

#[test]
fn every_example_loads() {
    let files = shipped();
    assert!(files.len() >= 7, "{files:?}");
    for f in &files {
        let c = Config::load(f).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            c.receivers.iter().all(|r| r.unsupported.is_empty()),
            "{}",
            f.display()
        );
    }
    let gov = Config::load(
        &files
            .iter()
            .find(|f| f.ends_with("gov-service.yml"))
            .unwrap()
            .clone(),
    )
    .unwrap();
    assert!(uses_extensions(&gov));
    assert!(!gov.time_intervals["office-hours"].intervals.is_empty());
}

#[test]
fn amtool_accepts_examples_without_extensions() {
    let Some(amtool) = debian_tool("amtool") else {
        return;
    };
    let mut checked = 0;
    for f in shipped() {
        let c = Config::load(&f).unwrap();
        if uses_extensions(&c) {
            continue;
        }
        let out = Command::new(&amtool)
            .arg("check-config")
            .arg(&f)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            f.display(),
            String::from_utf8_lossy(&out.stdout)
        );
        checked += 1;
    }
    assert!(checked >= 5);
}
