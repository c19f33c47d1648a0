//! Differential tests: the corpus in `tests/data/templates/corpus.txt` and every default
//! template are rendered by this engine and by Go itself (`tests/gotmpl`, standard library
//! only, Alertmanager's data model and function map), and must agree byte for byte —
//! including agreeing on failure. Go is built once into a temporary directory. Without a
//! `go` binary the tests say why and skip, unless `CI=true`, where they fail.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use super::{Data, RenderContext, Templates};

const NOW: &str = "2026-11-22T22:00:00Z";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// One corpus snippet.
#[derive(Debug, Clone)]
pub(crate) struct Case {
    pub(crate) id: String,
    pub(crate) text: String,
    pub(crate) html: bool,
    pub(crate) fail: bool,
    /// Expected output for snippets Go 1.19 cannot run (newer Go features).
    pub(crate) want: Option<String>,
    pub(crate) rust_only: bool,
}

/// Parses the corpus format: `=== id` starts a snippet; `=== fail|html|rust` lines flag the
/// snippet before them; `--- want` separates a rust-only snippet from its expected output.
pub(crate) fn corpus() -> Vec<Case> {
    let text = std::fs::read_to_string(root().join("tests/data/templates/corpus.txt"))
        .expect("corpus.txt");
    let mut cases: Vec<Case> = Vec::new();
    let mut body: Option<Vec<&str>> = None;
    let finish = |cases: &mut Vec<Case>, body: &mut Option<Vec<&str>>| {
        if let (Some(lines), Some(c)) = (body.take(), cases.last_mut()) {
            let joined = lines.join("\n");
            match joined.split_once("\n--- want\n") {
                Some((t, w)) => {
                    c.text = t.to_string();
                    c.want = Some(w.to_string());
                }
                None => c.text = joined,
            }
        }
    };
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("=== ") {
            finish(&mut cases, &mut body);
            match rest.trim() {
                "fail" => cases.last_mut().expect("flag before any case").fail = true,
                "html" => cases.last_mut().expect("flag before any case").html = true,
                "rust" => cases.last_mut().expect("flag before any case").rust_only = true,
                id => {
                    cases.push(Case {
                        id: id.to_string(),
                        text: String::new(),
                        html: false,
                        fail: false,
                        want: None,
                        rust_only: false,
                    });
                    body = Some(Vec::new());
                }
            }
        } else if let Some(b) = body.as_mut() {
            b.push(line);
        }
    }
    finish(&mut cases, &mut body);
    // Flags after a snippet's body must not be part of the text; they were consumed above,
    // but a flag line also ended the body, so nothing else to do.
    cases
}

pub(crate) fn data_json() -> String {
    std::fs::read_to_string(root().join("tests/data/templates/data.json")).expect("data.json")
}

pub(crate) fn data() -> Data {
    serde_json::from_str(&data_json()).expect("data.json parses")
}

pub(crate) fn ctx() -> RenderContext {
    RenderContext::new(jiff::tz::TimeZone::UTC, NOW.parse().expect("now"))
}

/// Renders one snippet with this engine: `Ok(output)` or `Err(message)`.
pub(crate) fn render_rust(
    t: &Templates,
    text: &str,
    html: bool,
    data: &Data,
) -> Result<String, String> {
    let inline = if html {
        t.parse_inline_html(text)
    } else {
        t.parse_inline(text)
    };
    inline
        .and_then(|i| i.render(t, data, &ctx()))
        .map_err(|e| e.to_string())
}

fn find_go() -> Option<PathBuf> {
    if let Ok(out) = Command::new("go").arg("version").output()
        && out.status.success()
    {
        return Some(PathBuf::from("go"));
    }
    let p = PathBuf::from("/usr/lib/go/bin/go");
    p.exists().then_some(p)
}

/// Builds the Go renderer once; `None` (with the reason printed) when Go is unavailable.
fn go_binary() -> Option<&'static PathBuf> {
    static BIN: OnceLock<Option<PathBuf>> = OnceLock::new();
    BIN.get_or_init(|| {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        let Some(go) = find_go() else {
            assert!(
                !ci,
                "CI=true but no `go` binary: the differential tests cannot run"
            );
            eprintln!("SKIP: no `go` binary found (install golang-go); differential tests skipped");
            return None;
        };
        let dir = std::env::temp_dir().join(format!("tocsin-gotmpl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let bin = dir.join("gotmpl");
        let status = Command::new(&go)
            .args(["build", "-o"])
            .arg(&bin)
            .arg(".")
            .current_dir(root().join("tests/gotmpl"))
            .env("GOTOOLCHAIN", "local")
            .env("GOPROXY", "off")
            .env("GOFLAGS", "-mod=mod")
            .env("GOCACHE", dir.join("cache"))
            .env("GOPATH", dir.join("gopath"))
            .status()
            .expect("run go build");
        assert!(status.success(), "go build of tests/gotmpl failed");
        Some(bin)
    })
    .as_ref()
}

#[derive(serde::Deserialize)]
struct GoResult {
    id: String,
    ok: bool,
    out: String,
    err: String,
}

/// Renders `(id, text, html)` cases through Go with the default templates loaded.
fn run_go(bin: &Path, cases: &[(String, String, bool)]) -> HashMap<String, GoResult> {
    let defaults = vec![
        ("default.tmpl".to_string(), super::DEFAULT_TMPL.to_string()),
        ("email.tmpl".to_string(), super::EMAIL_TMPL.to_string()),
    ];
    let input = serde_json::json!({
        "data": serde_json::from_str::<serde_json::Value>(&data_json()).expect("json"),
        "now": NOW,
        "defaults": defaults,
        "cases": cases.iter().map(|(id, text, html)| serde_json::json!({"id": id, "text": text, "html": html})).collect::<Vec<_>>(),
    });
    let mut child = Command::new(bin)
        .env("TZ", "UTC")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn gotmpl");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("gotmpl output");
    assert!(out.status.success(), "gotmpl failed");
    let results: Vec<GoResult> = serde_json::from_slice(&out.stdout).expect("gotmpl JSON");
    results.into_iter().map(|r| (r.id.clone(), r)).collect()
}

/// Compares Rust and Go on cases; returns a description of each disagreement.
fn compare(
    t: &Templates,
    cases: &[(String, String, bool)],
    fail_expected: &HashMap<String, bool>,
) -> Vec<String> {
    let Some(bin) = go_binary() else {
        return Vec::new();
    };
    let go = run_go(bin, cases);
    let data = data();
    let mut bad = Vec::new();
    for (id, text, html) in cases {
        let g = &go[id];
        let r = render_rust(t, text, *html, &data);
        let want_fail = fail_expected.get(id).copied();
        match (&r, g.ok) {
            (Ok(out), true) if *out == g.out => {
                if want_fail == Some(true) {
                    bad.push(format!("{id}: marked fail but both succeeded"));
                }
            }
            (Ok(out), true) => bad.push(format!(
                "{id}: output differs\n  rust: {out:?}\n  go:   {:?}",
                g.out
            )),
            (Err(_), false) => {
                if want_fail == Some(false) {
                    bad.push(format!(
                        "{id}: both failed but not marked fail (go: {})",
                        g.err
                    ));
                }
            }
            (Ok(out), false) => bad.push(format!(
                "{id}: rust succeeded ({out:?}) but go failed: {}",
                g.err
            )),
            (Err(e), true) => bad.push(format!("{id}: rust failed ({e}) but go gave {:?}", g.out)),
        }
    }
    bad
}

#[test]
fn corpus_matches_go() {
    let t = Templates::with_defaults();
    let all = corpus();
    let cases: Vec<(String, String, bool)> = all
        .iter()
        .filter(|c| !c.rust_only)
        .map(|c| (c.id.clone(), c.text.clone(), c.html))
        .collect();
    assert!(
        cases.len() >= 150,
        "corpus has only {} snippets",
        cases.len()
    );
    let fails: HashMap<String, bool> = all.iter().map(|c| (c.id.clone(), c.fail)).collect();
    let bad = compare(&t, &cases, &fails);
    assert!(
        bad.is_empty(),
        "{} of {} snippets disagree with Go:\n{}",
        bad.len(),
        cases.len(),
        bad.join("\n")
    );
    eprintln!("{} snippets agree with Go", cases.len());
}

#[test]
fn rust_only_snippets_give_expected_output() {
    let t = Templates::with_defaults();
    let data = data();
    for c in corpus().into_iter().filter(|c| c.rust_only) {
        let got = render_rust(&t, &c.text, c.html, &data);
        match &c.want {
            Some(w) => assert_eq!(got.as_deref(), Ok(w.as_str()), "{}", c.id),
            None => assert!(got.is_err(), "{}: expected failure", c.id),
        }
    }
}

#[test]
fn default_templates_match_go() {
    let t = Templates::with_defaults();
    // Helpers take a list of alerts or one alert; everything else takes the whole data.
    let dots = |n: &str| -> Vec<&'static str> {
        match n {
            "__text_alert_list" | "__text_alert_list_markdown" | "pagerduty.default.instances" => {
                vec![".Alerts", ".Alerts.Resolved"]
            }
            "__slack_alert" | "__email_alert" | "__tocsin_when" => {
                vec!["index .Alerts 0", "index .Alerts 2"]
            }
            "__tocsin_time" => vec!["(index .Alerts 0).StartsAt"],
            _ => vec!["."],
        }
    };
    let mut cases: Vec<(String, String, bool)> = Vec::new();
    for n in t.names() {
        for (k, d) in dots(&n).into_iter().enumerate() {
            cases.push((
                format!("text:{n}:{k}"),
                format!("{{{{ template {n:?} {d} }}}}"),
                false,
            ));
        }
    }
    cases.push((
        "html:email.default.html".into(),
        r#"{{ template "email.default.html" . }}"#.into(),
        true,
    ));
    cases.push((
        "html:email.default.subject".into(),
        r#"{{ template "email.default.subject" . }}"#.into(),
        true,
    ));
    cases.push((
        "html:telegram.default.message".into(),
        r#"{{ template "telegram.default.message" . }}"#.into(),
        true,
    ));
    let fails: HashMap<String, bool> = cases.iter().map(|c| (c.0.clone(), false)).collect();
    let bad = compare(&t, &cases, &fails);
    assert!(
        bad.is_empty(),
        "default templates disagree with Go:\n{}",
        bad.join("\n")
    );
}
