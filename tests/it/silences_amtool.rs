//! amtool as the oracle: one script of silence and alert commands runs against Alertmanager 0.25
//! (Debian package) and against tocsin, and prints the same thing (`silence add`, `query` with
//! its filters and formats, `update`, `import`, `expire`, `alert query --silenced/--inhibited`);
//! the same script with `tocsin silence` in place of `amtool silence` prints the same thing too. Ids and times near
//! now are replaced by placeholders before comparing (everything else is fixed by the script).

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::daemon::{Daemon, eventually, http_get};
use crate::support::debian_tool;

const CONFIG: &str = r#"
route:
  receiver: default
  group_by: [alertname]
  group_wait: 1h
receivers:
  - name: default
inhibit_rules:
  - source_matchers: [severity="critical"]
    target_matchers: [severity="warning"]
    equal: [cluster]
  # The deprecated forms.
  - source_match: {alertname: Maint}
    source_match_re: {team: "ops|infra"}
    target_match_re: {alertname: "Disk|Free"}
    equal: [cluster]
"#;

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_alertmanager(bin: &Path, dir: &Path) -> (Kill, String) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(dir.join("am.yml"), CONFIG).unwrap();
    let child = Command::new(bin)
        .arg(format!("--config.file={}", dir.join("am.yml").display()))
        .arg(format!("--storage.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start alertmanager");
    (Kill(child), format!("http://127.0.0.1:{port}"))
}

/// One step: which tool (`silence` steps may use tocsin's CLI), the arguments, with `{N}` for
/// the Nth silence id seen so far.
enum Step {
    Silence(&'static [&'static str]),
    Alert(&'static [&'static str]),
    /// Expire every silence `silence query -q` lists.
    ExpireAll,
    /// Wait until the server shows `n` alerts suppressed (the inhibitor may lag in 0.25).
    WaitSuppressed(usize),
    /// `silence query -o json` into a file, then `silence import <args> <file>`.
    Import(&'static [&'static str]),
    /// A silence step whose output lines are compared sorted: silences that tie in
    /// Alertmanager's order (same state and end) come in random order from it (Go's sort is
    /// not stable and its silences live in a map).
    SilenceUnordered(&'static [&'static str]),
    /// A silence step the server refuses: amtool's message (the server's reason in go-swagger's
    /// wording) is compared; `tocsin silence` must fail too and show the same reason.
    Refused(&'static [&'static str]),
    /// Refused by both, in different words by design: only the failure is compared.
    RefusedDifferently(&'static [&'static str]),
}

const SCRIPT: &[Step] = &[
    Step::Silence(&[
        "add",
        "alertname=Disk",
        "instance=~a|b",
        "-c",
        "disk work",
        "-a",
        "alice",
        "--end=2099-01-01T00:00:00Z",
    ]),
    Step::Silence(&["add", "Cpu", "-c", "cpu", "-a", "bob", "-d", "2h"]),
    Step::Silence(&[
        "add",
        "team=x",
        "-c",
        "pending one",
        "-a",
        "carol",
        "--start=2098-01-01T00:00:00Z",
        "--end=2098-06-01T00:00:00Z",
    ]),
    Step::Silence(&[
        "add",
        "cluster=b",
        "severity!=info",
        "-c",
        "a \"quoted\" <comment>",
        "-a",
        "dave",
        "--end=2099-02-01T00:00:00Z",
    ]),
    Step::Silence(&["query"]),
    Step::Silence(&["query", "-o", "extended"]),
    Step::Silence(&["query", "-o", "json"]),
    Step::Silence(&["query", "-q"]),
    Step::Silence(&["query", "alertname=Disk"]),
    Step::Silence(&["query", "Cpu"]),
    Step::Silence(&["query", "--created-by=alice"]),
    Step::Silence(&["query", "instance=~a|b", "alertname=Disk"]),
    Step::Silence(&["update", "{0}", "-c", "changed comment"]),
    Step::Silence(&["update", "{2}", "--start=2098-02-01T00:00:00Z"]),
    Step::Silence(&["update", "{1}", "--end=2099-06-01T00:00:00Z"]),
    Step::Silence(&["update", "{3}", "--end=2099-03-01T00:00:00Z"]),
    Step::Silence(&["update", "{2}", "-d", "36h"]),
    Step::Silence(&["query"]),
    // The same silences back: each is updated in place (same ids); forced: new ones.
    Step::Import(&["-w", "1"]),
    Step::Import(&["--force", "-w", "1"]),
    Step::SilenceUnordered(&["query", "-o", "extended"]),
    Step::Refused(&[
        "add",
        "alertname=Old",
        "-c",
        "past",
        "-a",
        "eve",
        "--start=2000-01-01T00:00:00Z",
        "--end=2000-01-02T00:00:00Z",
    ]),
    Step::Refused(&[
        "add",
        "alertname=Now",
        "-c",
        "empty",
        "-a",
        "eve",
        "--start=2099-01-01T00:00:00Z",
        "--end=2099-01-01T00:00:00Z",
    ]),
    Step::Refused(&["add", "team=~.*", "-c", "all", "-a", "eve"]),
    // Alertmanager 0.25 answers 500 "silence not found"; newer ones, and tocsin, 404.
    Step::RefusedDifferently(&["expire", "00000000-0000-4000-8000-000000000000"]),
    Step::Refused(&["update", "00000000-0000-4000-8000-000000000000", "-c", "x"]),
    Step::Alert(&["add", "alertname=Crit", "severity=critical", "cluster=a"]),
    Step::Alert(&["add", "alertname=Warn", "severity=warning", "cluster=a"]),
    Step::Alert(&[
        "add",
        "alertname=Disk",
        "instance=a",
        "severity=page",
        "cluster=c",
    ]),
    Step::Alert(&["add", "alertname=Free", "severity=warning", "cluster=z"]),
    Step::Alert(&["add", "alertname=Maint", "team=ops", "cluster=z"]),
    Step::Alert(&["add", "alertname=Maint", "team=dev", "cluster=c"]),
    Step::WaitSuppressed(3),
    Step::Alert(&["query"]),
    Step::Alert(&["query", "--silenced"]),
    Step::Alert(&["query", "--inhibited"]),
    Step::Alert(&["query", "--silenced", "--inhibited"]),
    Step::Alert(&[
        "query",
        "--silenced",
        "--inhibited",
        "-o",
        "extended",
        "alertname=~D.*|W.*",
    ]),
    Step::Silence(&["expire", "{1}"]),
    Step::Silence(&["query", "--expired"]),
    Step::Silence(&["query", "--expired", "-o", "extended"]),
    Step::Alert(&["query"]),
    Step::ExpireAll,
    Step::Silence(&["query"]),
    // Expired in `query -q` order, where the imported copies tie with their originals.
    Step::SilenceUnordered(&["query", "--expired", "-q"]),
];

/// Runs the script against `url` with `silence_tool` for silence steps (amtool for the rest);
/// returns every step's output, normalised.
async fn run_script(amtool: &Path, silence_tool: &Path, url: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("silences.json");
    let mut ids: Vec<String> = Vec::new();
    let mut outputs = Vec::new();
    let flag = format!("--alertmanager.url={url}");
    let run = |tool: &Path, args: Vec<String>| -> (bool, String, String) {
        let out = Command::new(tool)
            .args(&args)
            .arg(&flag)
            .output()
            .expect("run tool");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    for step in SCRIPT {
        let mut file = None;
        let unordered = matches!(step, Step::SilenceUnordered(_));
        let refused = matches!(step, Step::Refused(_) | Step::RefusedDifferently(_));
        let loosely = matches!(step, Step::RefusedDifferently(_));
        let (tool, group, args): (&Path, &str, &[&str]) = match step {
            Step::Silence(a)
            | Step::SilenceUnordered(a)
            | Step::Refused(a)
            | Step::RefusedDifferently(a) => (silence_tool, "silence", a),
            Step::Import(a) => {
                let (ok, out, err) = run(
                    silence_tool,
                    vec!["silence".into(), "query".into(), "-o".into(), "json".into()],
                );
                assert!(ok, "query -o json: {err}");
                std::fs::write(&export, out).unwrap();
                file = Some(export.display().to_string());
                (silence_tool, "silence", a)
            }
            Step::Alert(a) => (amtool, "alert", a),
            Step::ExpireAll => {
                let (_, out, _) = run(
                    silence_tool,
                    vec!["silence".into(), "query".into(), "-q".into()],
                );
                for id in out.lines() {
                    let (ok, _, err) = run(
                        silence_tool,
                        vec!["silence".into(), "expire".into(), id.into()],
                    );
                    assert!(ok, "expire {id}: {err}");
                }
                continue;
            }
            Step::WaitSuppressed(n) => {
                let url = format!("{url}/api/v2/alerts?active=false");
                let ok = eventually(Duration::from_secs(10), || {
                    http_get(&url).is_some_and(|(_, b)| {
                        serde_json::from_str::<serde_json::Value>(&b)
                            .ok()
                            .and_then(|v| v.as_array().map(Vec::len))
                            == Some(*n)
                    })
                })
                .await;
                assert!(ok, "{url}: {n} suppressed alerts");
                continue;
            }
        };
        let mut full = vec![group.to_owned()];
        if file.is_some() {
            full.push("import".into());
        }
        for a in args {
            let mut a = a.to_string();
            for (i, id) in ids.iter().enumerate() {
                a = a.replace(&format!("{{{i}}}"), id);
            }
            full.push(a);
        }
        full.extend(file.clone());
        let (ok, out, err) = run(tool, full.clone());
        if refused {
            assert!(!ok, "{} {full:?} should fail: {out}", tool.display());
            if loosely {
                outputs.push(format!("$ {group} {} (refused)\n", args.join(" ")));
                continue;
            }
            // amtool warns on stderr that tocsin's version is not its own.
            let err: String = err
                .lines()
                .filter(|l| !l.starts_with("Warning: amtool version"))
                .map(|l| format!("{l}\n"))
                .collect();
            outputs.push(format!("$ {group} {} (refused)\n{err}", args.join(" ")));
            continue;
        }
        assert!(ok, "{} {full:?}: {err}", tool.display());
        for id in uuids(&out) {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        let mut out = normalise(&out, &ids);
        if unordered {
            let mut lines: Vec<&str> = out.lines().collect();
            lines.sort_unstable();
            out = lines.join("\n");
        }
        outputs.push(format!(
            "$ {group}{} {}\n{out}",
            if file.is_some() { " import" } else { "" },
            args.join(" "),
        ));
    }
    outputs
}

fn uuids(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i + 36 <= b.len() {
        let cand = &text[i..i + 36];
        if tocsin::silence::is_uuid(cand) {
            out.push(cand.to_owned());
            i += 36;
        } else {
            i += 1;
        }
    }
    out
}

/// Ids become `<idN>` (N in order of first appearance) and times of this year and the next
/// (the script's fixed times are in 2098 and 2099) become `<now>` of the same width.
fn normalise(text: &str, ids: &[String]) -> String {
    let mut t = text.to_owned();
    let names: HashMap<&str, String> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), format!("<id{i:<32}>")))
        .collect();
    for (id, name) in &names {
        t = t.replace(id, name);
    }
    let year = tocsin::clock::now().strftime("%Y").to_string();
    let next = (year.parse::<u32>().unwrap() + 1).to_string();
    let mut out = String::with_capacity(t.len());
    let mut rest = t.as_str();
    while let Some(i) = rest.find(&year).into_iter().chain(rest.find(&next)).min() {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        // `2026-12-02 01:23:12 UTC` or `2026-12-02T01:23:12.821Z`.
        let len = if tail.len() >= 23 && &tail[10..11] == " " && tail[19..].starts_with(" UTC") {
            23
        } else if tail.len() >= 24 && &tail[10..11] == "T" && &tail[23..24] == "Z" {
            24
        } else {
            4
        };
        out.push_str(&format!("<{:<width$}>", "now", width = len - 2));
        rest = &tail[len..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn amtool_script_matches_alertmanager_0_25() {
    let (Some(amtool), Some(am_bin)) = (
        debian_tool("amtool"),
        debian_tool("prometheus-alertmanager"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (dir1, dir2) = (dir.path().join("1"), dir.path().join("2"));
    std::fs::create_dir_all(&dir1).unwrap();
    std::fs::create_dir_all(&dir2).unwrap();
    let (_am1, url1) = start_alertmanager(&am_bin, &dir1);
    let (_am2, url2) = start_alertmanager(&am_bin, &dir2);
    for u in [&url1, &url2] {
        let up = eventually(Duration::from_secs(20), || {
            http_get(&format!("{u}/-/ready")).is_some_and(|(s, _)| s == 200)
        })
        .await;
        assert!(up, "alertmanager did not start");
    }
    let t = Daemon::start(CONFIG);
    let tocsin_bin = Path::new(env!("CARGO_BIN_EXE_tocsin"));
    let reference = run_script(&amtool, &amtool, &url1).await;
    let ours = run_script(&amtool, &amtool, &format!("http://{}", t.addr)).await;
    let our_cli = run_script(&amtool, tocsin_bin, &url2).await;
    let printed = SCRIPT
        .iter()
        .filter(|s| !matches!(s, Step::ExpireAll | Step::WaitSuppressed(_)))
        .count();
    assert_eq!(reference.len(), printed);
    for ((r, o), c) in reference.iter().zip(&ours).zip(&our_cli) {
        assert_eq!(
            o, r,
            "amtool against tocsin differs from amtool against Alertmanager 0.25"
        );
        if r.lines().next().is_some_and(|l| l.ends_with("(refused)")) && r.lines().count() > 1 {
            // amtool words its client's errors as go-swagger does (`[POST /silences][400]
            // postSilencesBadRequest  reason`); tocsin shows the same status and reason.
            let after = r.split_once("][").map_or("", |(_, rest)| rest);
            let status = after.get(..3).unwrap_or("");
            let reason = after
                .split_once("  ")
                .map_or("", |(_, reason)| reason.trim());
            assert_eq!(status.len(), 3, "{r}");
            assert!(
                c.contains(&format!("][{status}]")) && c.contains(reason),
                "tocsin silence does not show the refusal ({status}, {reason:?}): {c}\nwant like: {r}"
            );
            continue;
        }
        assert_eq!(
            c, r,
            "tocsin silence differs from amtool silence (both against Alertmanager 0.25)"
        );
    }
}
