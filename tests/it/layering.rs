//! Fails when a module imports from a higher layer than its own (the table in ARCHITECTURE.md
//! and `src/lib.rs`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Layer of each top-level module of the library.
fn layers() -> BTreeMap<&'static str, u8> {
    [
        ("model", 0),
        ("clock", 0),
        ("metrics", 0),
        ("timeinterval", 0),
        ("workers", 0),
        ("config", 1),
        ("template", 1),
        ("storage", 1),
        ("cluster", 1),
        ("webconfig", 1),
        ("alerts", 2),
        ("silence", 2),
        ("nflog", 2),
        ("inhibit", 2),
        ("heartbeat", 2),
        ("notify", 3),
        ("dispatch", 4),
        ("api", 5),
        ("web", 5),
        ("app", 6),
        ("cmd", 6),
    ]
    .into_iter()
    .collect()
}

/// Same-layer imports that the table allows explicitly.
const ALLOWED_SIDEWAYS: &[(&str, &str)] = &[
    ("inhibit", "alerts"),
    ("heartbeat", "alerts"),
    ("config", "template"),
    ("api", "web"),
    ("webconfig", "config"),
    ("workers", "clock"),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The `crate::<module>` names a source text refers to.
fn crate_refs(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        let name: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        // `crate::{a, b}` groups: take every first segment inside the braces.
        if name.is_empty() && after.starts_with('{') {
            let group = &after[1..after.find('}').unwrap_or(after.len())];
            for part in group.split(',') {
                let seg: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !seg.is_empty() {
                    out.push(seg);
                }
            }
        } else if !name.is_empty() {
            out.push(name);
        }
        rest = after;
    }
    out
}

fn violations(src: &Path) -> Vec<String> {
    let layers = layers();
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut bad = Vec::new();
    for file in files {
        let rel = file.strip_prefix(src).expect("under src");
        let first = rel.components().next().expect("non-empty path");
        let module = first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        let Some(&own) = layers.get(module.as_str()) else {
            continue; // lib.rs and main.rs sit at the top
        };
        let text = std::fs::read_to_string(&file).expect("read source");
        for target in crate_refs(&text) {
            let Some(&theirs) = layers.get(target.as_str()) else {
                continue;
            };
            let sideways_ok = target == module || ALLOWED_SIDEWAYS.contains(&(&*module, &*target));
            // L6 (the composition root and the commands) may use anything.
            if own < 6 && (theirs > own || (theirs == own && !sideways_ok)) {
                bad.push(format!(
                    "{}: `{module}` (L{own}) imports `crate::{target}` (L{theirs})",
                    rel.display()
                ));
            }
        }
    }
    bad
}

#[test]
fn no_upward_imports() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let bad = violations(&src);
    assert!(bad.is_empty(), "layering violations:\n{}", bad.join("\n"));
}

#[test]
fn detects_an_upward_import() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("model")).expect("mkdir");
    std::fs::write(dir.path().join("model/x.rs"), "use crate::api::Server;\n").expect("write");
    std::fs::write(dir.path().join("inhibit.rs"), "use crate::alerts::Store;\n").expect("write");
    std::fs::write(
        dir.path().join("silence.rs"),
        "use crate::{model, nflog::Log};\n",
    )
    .expect("write");
    let bad = violations(dir.path());
    assert_eq!(bad.len(), 2, "{bad:?}");
    assert!(bad[0].contains("`crate::api`") || bad[1].contains("`crate::api`"));
    assert!(bad.iter().any(|b| b.contains("`crate::nflog`")));
}
