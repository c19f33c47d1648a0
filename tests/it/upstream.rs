//! Alertmanager's own config tests as ours. Debian's `golang-github-prometheus-alertmanager-dev`
//! ships Alertmanager 0.25's source; at run time (nothing is copied into this repository) this
//! test reads its `config/testdata/*.yml` and `cli/testdata/*.yml`, and pulls the YAML literals
//! out of `config/config_test.go` (whole configs) and `config/notifiers_test.go` (one
//! integration config each, wrapped in a minimal receiver). Every file goes through `amtool
//! check-config` and `tocsin check-config`, which must give the same verdict.
//!
//! amtool 0.25 predates the UTF-8 label names of Alertmanager 0.27, so it is compared with
//! `tocsin check-config --enable-feature=classic-mode` file for file. Without the flag (0.27+
//! fallback mode) the only allowed difference is a label name that only the classic rule
//! refuses.

use std::path::{Path, PathBuf};
use std::process::Command;

use regex::Regex;

use crate::support::{debian_dir, debian_tool};

/// Where Debian installs Alertmanager's source.
const SOURCE: &str = "/usr/share/gocode/src/github.com/prometheus/alertmanager";

/// One upstream config: where it came from and the file holding it.
struct Case {
    /// `config/testdata/conf.good.yml`, `config/config_test.go:47`, ...
    origin: String,
    file: PathBuf,
}

/// Go test type name (`var cfg XConfig`) -> receiver key prefix.
fn integration_key(go_type: &str) -> &'static str {
    match go_type {
        "Email" => "email",
        "Pagerduty" => "pagerduty",
        "Webhook" => "webhook",
        "VictorOps" => "victorops",
        "Pushover" => "pushover",
        "Slack" => "slack",
        "OpsGenie" => "opsgenie",
        "SNS" => "sns",
        "Webex" => "webex",
        "Telegram" => "telegram",
        "WeChat" | "Wechat" => "wechat",
        "Discord" => "discord",
        "MSTeams" => "msteams",
        other => panic!("notifiers_test.go decodes into {other}Config: add it to integration_key"),
    }
}

/// The raw string literals assigned to `in` (`in := `...``, `in: `...``) that span lines,
/// with the line they start on. Single-line literals are URLs and regexes, not configs.
fn yaml_literals(go: &str) -> Vec<(usize, usize, String)> {
    let re = Regex::new(r"\bin\s*(?::=|=|:)\s*`([^`]*)`").unwrap();
    re.captures_iter(go)
        .filter_map(|c| {
            let body = c.get(1).unwrap();
            body.as_str().contains('\n').then(|| {
                let at = c.get(0).unwrap().start();
                (
                    go[..at].matches('\n').count() + 1,
                    body.end(),
                    body.as_str().to_owned(),
                )
            })
        })
        .collect()
}

/// The integration a notifiers_test.go literal is decoded into: the `var cfg XConfig` of the
/// same test function, the next one after the literal, else the last one before it.
fn decoded_type(go: &str, literal_end: usize) -> String {
    let re = Regex::new(r"var cfg (\w+)Config").unwrap();
    let start = go[..literal_end].rfind("\nfunc ").unwrap_or(0);
    let end = go[literal_end..]
        .find("\nfunc ")
        .map_or(go.len(), |i| literal_end + i);
    let after = re.captures(&go[literal_end..end]);
    let before = re.captures_iter(&go[start..literal_end]).last();
    after
        .or(before)
        .map(|c| c[1].to_owned())
        .expect("a notifiers_test.go literal without `var cfg XConfig` in its test")
}

fn upstream_cases(src: &Path, scratch: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    for dir in ["config/testdata", "cli/testdata"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(src.join(dir))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "yml"))
            .collect();
        files.sort();
        for f in files {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            cases.push(Case {
                origin: format!("{dir}/{name}"),
                file: f,
            });
        }
    }
    for test_file in ["config_test.go", "notifiers_test.go"] {
        let go = std::fs::read_to_string(src.join("config").join(test_file)).unwrap();
        for (line, end, body) in yaml_literals(&go) {
            let yaml = if test_file == "config_test.go" {
                body
            } else {
                let key = integration_key(&decoded_type(&go, end));
                let indented: String = body.lines().map(|l| format!("      {l}\n")).collect();
                format!(
                    "route:\n  receiver: r\nreceivers:\n- name: r\n  {key}_configs:\n  -\n{indented}"
                )
            };
            let file = scratch.join(format!("{}-{line}.yml", test_file.trim_end_matches(".go")));
            std::fs::write(&file, yaml).unwrap();
            cases.push(Case {
                origin: format!("config/{test_file}:{line}"),
                file,
            });
        }
    }
    cases
}

/// amtool's verdict (a crash counts as refusing the file) and its first output line.
fn amtool_verdict(amtool: &Path, file: &Path) -> (bool, String) {
    let out = Command::new(amtool)
        .arg("check-config")
        .arg(file)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (
        out.status.success(),
        text.lines().next().unwrap_or("").to_owned(),
    )
}

/// `tocsin check-config` over every file at once: each file's verdict and output line.
fn tocsin_verdicts(cases: &[Case], extra: &[&str]) -> Vec<(bool, String)> {
    let out = Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .arg("check-config")
        .args(extra)
        .args(cases.iter().map(|c| &c.file))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("Checking '"))
        .collect();
    assert_eq!(lines.len(), cases.len(), "one verdict per file:\n{text}");
    lines
        .iter()
        .zip(cases)
        .map(|(l, c)| {
            assert!(
                l.starts_with(&format!("Checking '{}'", c.file.display())),
                "{l}"
            );
            (l.contains("  SUCCESS"), (*l).to_owned())
        })
        .collect()
}

#[test]
fn alertmanagers_own_configs_get_amtools_verdict() {
    let Some(src) = debian_dir(SOURCE, "golang-github-prometheus-alertmanager-dev") else {
        return;
    };
    let Some(amtool) = debian_tool("amtool") else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let cases = upstream_cases(&src, scratch.path());
    let from = |p: &str| cases.iter().filter(|c| c.origin.starts_with(p)).count();
    // The extraction must keep finding what is there (Debian's 0.25 package: 24 + 4 files,
    // 21 whole configs, 42 integration configs).
    assert!(from("config/testdata") >= 20, "testdata files");
    assert!(from("cli/testdata") >= 4, "cli testdata files");
    assert!(
        from("config/config_test.go") >= 15,
        "config_test.go literals"
    );
    assert!(
        from("config/notifiers_test.go") >= 30,
        "notifiers_test.go literals"
    );

    let amtool_says: Vec<(bool, String)> = cases
        .iter()
        .map(|c| amtool_verdict(&amtool, &c.file))
        .collect();
    let classic = tocsin_verdicts(&cases, &["--enable-feature=classic-mode"]);
    let fallback = tocsin_verdicts(&cases, &[]);
    let mut failures = Vec::new();
    let mut agree = 0;
    for ((case, am), (cl, fb)) in cases
        .iter()
        .zip(&amtool_says)
        .zip(classic.iter().zip(&fallback))
    {
        if am.0 == cl.0 {
            agree += 1;
        } else {
            failures.push(format!(
                "{}: amtool {}, tocsin (classic-mode) {}\n  amtool: {}\n  tocsin: {}",
                case.origin,
                verdict(am.0),
                verdict(cl.0),
                am.1,
                cl.1
            ));
        }
        let utf8_name = !am.0 && fb.0 && am.1.contains("invalid label name");
        if am.0 != fb.0 && !utf8_name {
            failures.push(format!(
                "{}: amtool {}, tocsin (default mode) {}\n  amtool: {}\n  tocsin: {}",
                case.origin,
                verdict(am.0),
                verdict(fb.0),
                am.1,
                fb.1
            ));
        }
    }
    eprintln!(
        "upstream configs: {} files, {agree} with amtool's verdict",
        cases.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Both verdicts occur, so agreement is not vacuous.
    assert!(amtool_says.iter().filter(|v| v.0).count() >= 20);
    assert!(amtool_says.iter().filter(|v| !v.0).count() >= 20);
}

fn verdict(ok: bool) -> &'static str {
    if ok { "accepts" } else { "refuses" }
}

#[test]
fn literal_extraction_finds_configs_and_their_integration() {
    let go = "func TestA(t *testing.T) {\n\tin := `\nto: ''\n`\n\tvar cfg EmailConfig\n}\n\nfunc TestB(t *testing.T) {\n\ttests := []struct{in string}{\n\t\t{in: `\na: 1\n`},\n\t}\n\tfor _, tc := range tests {\n\t\tvar cfg SlackConfig\n\t}\n\tb := []byte(`\"http://x\"`)\n}\n";
    let lits = yaml_literals(go);
    assert_eq!(lits.len(), 2, "single-line literals are left out");
    assert_eq!(lits[0].0, 2);
    assert_eq!(lits[0].2, "\nto: ''\n");
    assert_eq!(decoded_type(go, lits[0].1), "Email");
    assert_eq!(decoded_type(go, lits[1].1), "Slack");
}
