//! Differential tests against Alertmanager's own template package: the corpus in
//! `tests/data/templates/corpus.txt`, Alertmanager's `default.tmpl` and `email.tmpl`, and our
//! default templates are rendered by this engine and by `tests/gotmpl`, a Go program built in
//! GOPATH mode against the Alertmanager source Debian's `golang-github-prometheus-alertmanager-dev`
//! installs (its data types, function map and default templates; only the functions added after
//! the packaged 0.25 are defined by the harness). They must agree byte for byte, including on
//! failure. Go builds offline, once per run, with its cache kept between runs. Without `go` or
//! the package the tests say why and skip, unless `CI=true`, where they fail.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use super::{Data, RenderContext, Templates};

const NOW: &str = "2026-11-22T22:00:00Z";

/// Alertmanager's source as Debian installs it (GOPATH layout).
const GOPATH: &str = "/usr/share/gocode";

/// Its template package: `default.tmpl`, `email.tmpl`, `template.go`.
pub(crate) const AM_TEMPLATES: &str =
    "/usr/share/gocode/src/github.com/prometheus/alertmanager/template";

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
    /// Alertmanager 0.26+ behaviour the packaged 0.25 lacks (`KV.String`, `Strings.Join`,
    /// `.NotificationReason`, ...): checked against `want`, and Go must still disagree.
    pub(crate) newer: bool,
}

/// Parses the corpus format: `=== id` starts a snippet; `=== fail|html|rust|newer` lines flag
/// the snippet before them; `--- want` separates a snippet from its expected output.
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
                "newer" => cases.last_mut().expect("flag before any case").newer = true,
                id => {
                    cases.push(Case {
                        id: id.to_string(),
                        text: String::new(),
                        html: false,
                        fail: false,
                        want: None,
                        rust_only: false,
                        newer: false,
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

/// Builds the Go renderer once; `None` (with the reason printed) when Go or Alertmanager's
/// source package is unavailable.
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
        if !Path::new(AM_TEMPLATES).join("template.go").exists() {
            assert!(
                !ci,
                "CI=true but {AM_TEMPLATES} is missing (install golang-github-prometheus-alertmanager-dev)"
            );
            eprintln!("SKIP: {AM_TEMPLATES} is missing; differential tests skipped");
            return None;
        }
        let dir = std::env::temp_dir().join(format!("tocsin-gotmpl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let bin = dir.join("gotmpl");
        // The build cache outlives the run: compiling Alertmanager's dependencies takes a
        // while, and Go's cache is safe to share between processes.
        let cache = std::env::temp_dir().join("tocsin-gotmpl-cache");
        let status = Command::new(&go)
            .args(["build", "-o"])
            .arg(&bin)
            .arg(".")
            .current_dir(root().join("tests/gotmpl"))
            .env("GO111MODULE", "off")
            .env("GOPATH", GOPATH)
            .env("GOTOOLCHAIN", "local")
            .env("GOPROXY", "off")
            .env("GOFLAGS", "")
            .env("GOCACHE", cache)
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

/// Which default templates a comparison loads on both sides.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Defaults {
    /// Ours (`src/template/*.tmpl`), parsed in Go over Alertmanager's as a config's `templates:`
    /// would be.
    Ours,
    /// Alertmanager's `default.tmpl` and `email.tmpl` only.
    Alertmanagers,
}

/// Our default template files, as Go reads them.
fn our_template_files() -> Vec<String> {
    ["defaults.tmpl", "email.tmpl"]
        .iter()
        .map(|f| root().join("src/template").join(f).display().to_string())
        .collect()
}

/// Renders `(id, text, html)` cases through Alertmanager's package.
fn run_go(
    bin: &Path,
    cases: &[(String, String, bool)],
    defaults: Defaults,
) -> HashMap<String, GoResult> {
    let overlay = match defaults {
        Defaults::Ours => our_template_files(),
        Defaults::Alertmanagers => Vec::new(),
    };
    let input = serde_json::json!({
        "data": serde_json::from_str::<serde_json::Value>(&data_json()).expect("json"),
        "now": NOW,
        "templates": AM_TEMPLATES,
        "overlay": overlay,
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
    defaults: Defaults,
    cases: &[(String, String, bool)],
    fail_expected: &HashMap<String, bool>,
) -> Vec<String> {
    let Some(bin) = go_binary() else {
        return Vec::new();
    };
    let go = run_go(bin, cases, defaults);
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
        .filter(|c| !c.rust_only && !c.newer)
        .map(|c| (c.id.clone(), c.text.clone(), c.html))
        .collect();
    assert!(
        cases.len() >= 150,
        "corpus has only {} snippets",
        cases.len()
    );
    let fails: HashMap<String, bool> = all.iter().map(|c| (c.id.clone(), c.fail)).collect();
    let bad = compare(&t, Defaults::Ours, &cases, &fails);
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
fn newer_snippets_still_differ_in_alertmanager_0_25() {
    let Some(bin) = go_binary() else {
        return;
    };
    let newer: Vec<Case> = corpus().into_iter().filter(|c| c.newer).collect();
    assert!(newer.len() >= 10, "only {} newer snippets", newer.len());
    let cases: Vec<(String, String, bool)> = newer
        .iter()
        .map(|c| (c.id.clone(), c.text.clone(), c.html))
        .collect();
    let go = run_go(bin, &cases, Defaults::Ours);
    let stale: Vec<&str> = newer
        .iter()
        .filter(|c| {
            let g = &go[&c.id];
            g.ok && c.want.as_deref() == Some(g.out.as_str())
        })
        .map(|c| c.id.as_str())
        .collect();
    assert!(
        stale.is_empty(),
        "Alertmanager 0.25 renders these like 0.34 after all; drop `=== newer`: {stale:?}"
    );
}

#[test]
fn rust_only_snippets_give_expected_output() {
    let t = Templates::with_defaults();
    let data = data();
    for c in corpus().into_iter().filter(|c| c.rust_only || c.newer) {
        let got = render_rust(&t, &c.text, c.html, &data);
        match &c.want {
            Some(w) => assert_eq!(got.as_deref(), Ok(w.as_str()), "{}", c.id),
            None => assert!(got.is_err(), "{}: expected failure", c.id),
        }
    }
}

/// Alertmanager's own `default.tmpl` and `email.tmpl`, loaded into this engine from its
/// package (read at test time, not copied).
fn alertmanager_defaults() -> Option<Templates> {
    go_binary()?;
    let mut t = Templates::new();
    for f in ["default.tmpl", "email.tmpl"] {
        t.add_file(&Path::new(AM_TEMPLATES).join(f))
            .unwrap_or_else(|e| panic!("Alertmanager's {f} does not parse here: {e}"));
    }
    Some(t)
}

/// `{{ template "name" dot }}` cases for each name, text and (for the email body) HTML.
fn template_cases(names: &[String]) -> Vec<(String, String, bool)> {
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
            "__tocsin_pairs" => vec![".CommonLabels", "(index .Alerts 2).Labels"],
            _ => vec!["."],
        }
    };
    let mut cases = Vec::new();
    // A file's own name is a template only where `ParseFiles` loaded it; not compared.
    for n in names.iter().filter(|n| !n.ends_with(".tmpl")) {
        for (k, d) in dots(n).into_iter().enumerate() {
            cases.push((
                format!("text:{n}:{k}"),
                format!("{{{{ template {n:?} {d} }}}}"),
                false,
            ));
        }
        if n.starts_with("email.") || n.starts_with("telegram.") {
            cases.push((
                format!("html:{n}"),
                format!("{{{{ template {n:?} . }}}}"),
                true,
            ));
        }
    }
    cases
}

#[test]
fn alertmanagers_default_templates_render_as_in_go() {
    let Some(am) = alertmanager_defaults() else {
        return;
    };
    // Go parses these two files into the unnamed root template; this engine also names them
    // after the files, as `ParseFiles` would.
    let names: Vec<String> = am
        .names()
        .into_iter()
        .filter(|n| !n.ends_with(".tmpl"))
        .collect();
    assert!(names.len() >= 40, "only {} templates", names.len());
    let cases = template_cases(&names);
    let fails: HashMap<String, bool> = cases.iter().map(|c| (c.0.clone(), false)).collect();
    let bad = compare(&am, Defaults::Alertmanagers, &cases, &fails);
    assert!(
        bad.is_empty(),
        "Alertmanager's default templates render differently here:\n{}",
        bad.join("\n")
    );
}

#[test]
fn our_default_templates_render_as_in_go() {
    if go_binary().is_none() {
        return;
    }
    let ours = Templates::with_defaults();
    let cases = template_cases(&ours.names());
    let fails: HashMap<String, bool> = cases.iter().map(|c| (c.0.clone(), false)).collect();
    let bad = compare(&ours, Defaults::Ours, &cases, &fails);
    assert!(
        bad.is_empty(),
        "our default templates render differently in Go:\n{}",
        bad.join("\n")
    );
}

#[test]
fn our_defaults_define_every_name_alertmanagers_do() {
    let Some(am) = alertmanager_defaults() else {
        return;
    };
    let ours = Templates::with_defaults();
    let missing: Vec<String> = am
        .names()
        .into_iter()
        .filter(|n| !n.ends_with(".tmpl") && !ours.contains(n))
        .collect();
    assert!(missing.is_empty(), "not defined by ours: {missing:?}");
}
