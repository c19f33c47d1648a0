//! The binary's commands, run as a user would: exit codes and output of `check-config` and
//! `routes`, and `run` stopping cleanly on SIGTERM.

use std::path::Path;
use std::process::Command;

fn tocsin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tocsin"))
}

fn data(f: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/configs")
        .join(f)
        .display()
        .to_string()
}

#[test]
fn check_config_exit_codes_and_summary() {
    let ok = tocsin()
        .args(["check-config", &data("v-full-025.yml")])
        .output()
        .unwrap();
    assert_eq!(ok.status.code(), Some(0));
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(out.contains("  SUCCESS\nFound:\n - global config\n - route\n - 2 inhibit rules\n - 5 receivers\n - 2 templates\n"), "{out}");

    let bad = tocsin()
        .args([
            "check-config",
            &data("v-minimal.yml"),
            &data("e-bad-regex.yml"),
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let out = String::from_utf8_lossy(&bad.stdout);
    assert!(out.contains("e-bad-regex.yml'  FAILED: "), "{out}");
    assert!(
        out.contains("e-bad-regex.yml:8:7: route.routes[2].matchers[0]: invalid regex"),
        "{out}"
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("failed to validate 1 file(s)"));

    let warn = tocsin()
        .args(["check-config", &data("v-unsupported.yml")])
        .output()
        .unwrap();
    assert_eq!(warn.status.code(), Some(0));
    let out = String::from_utf8_lossy(&warn.stdout);
    assert!(out.contains("receivers[0].opsgenie_configs: opsgenie is not supported by tocsin; this receiver will not send to it"), "{out}");
}

/// Every typed `*_configs` list sends (email was the last): check-config warns about none of
/// them, only about the lists tocsin does not support (checked above).
#[test]
fn check_config_warns_about_no_sent_integration() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("am.yml");
    std::fs::write(
        &f,
        "route: {receiver: r}\nreceivers:\n- name: r\n  webhook_configs: [{url: 'http://127.0.0.1:1/'}]\n  email_configs: [{to: a@example.org, from: b@example.org, smarthost: '127.0.0.1:25'}]\n",
    )
    .unwrap();
    let run = tocsin().arg("check-config").arg(&f).output().unwrap();
    assert_eq!(run.status.code(), Some(0));
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(out.contains("SUCCESS"), "{out}");
    assert!(!out.contains("Warnings"), "{out}");
    assert!(
        !out.contains("email_configs") && !out.contains("not sent"),
        "{out}"
    );
}

#[test]
fn routes_show_and_verify() {
    let flag = format!("--config.file={}", data("v-routing.yml"));
    let show = tocsin().args(["routes", "show", &flag]).output().unwrap();
    let out = String::from_utf8_lossy(&show.stdout);
    assert!(out.starts_with("Routing tree:\n.\n└── default-route  receiver: default\n    ├── {alertname=\"Watchdog\"}  receiver: deadman\n"), "{out}");
    let ok = tocsin()
        .args([
            "routes",
            "test",
            &flag,
            "--verify.receivers=db-pager,chat",
            "severity=page",
            "team=db",
            "env=prod",
        ])
        .output()
        .unwrap();
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    let bad = tocsin()
        .args([
            "routes",
            "test",
            &flag,
            "--verify.receivers=chat",
            "severity=page",
            "team=db",
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&bad.stdout)
            .contains("WARNING: Expected receivers did not match resolved receivers.")
    );
}

#[cfg(unix)]
#[test]
fn run_loads_the_config_and_stops_on_sigterm() {
    use std::io::Read;
    // The store goes to a temp dir: the default (`data/`) would be the source tree.
    let dir = tempfile::tempdir().unwrap();
    let storage = format!("--storage.path={}", dir.path().display());
    let mut child = tocsin()
        .args([
            "--config.file",
            &data("v-unsupported.yml"),
            "--log.format=json",
            "--web.listen-address=127.0.0.1:0",
            &storage,
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = child.stderr.take().unwrap();
    // Wait (with a deadline) until the config is loaded, then send SIGTERM.
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    while !seen.contains("Listening.") {
        let n = err.read(&mut buf).unwrap();
        assert!(n > 0, "exited early: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(seen.contains("opsgenie is not supported"), "{seen}");
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

/// A misspelt option or subcommand names the one meant, and fails with clap's usage code.
#[test]
fn misspelt_options_and_commands_name_the_closest() {
    let run = tocsin().arg("--config.fiel=x.yml").output().unwrap();
    assert_eq!(run.status.code(), Some(2));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("unexpected argument '--config.fiel'")
            && err.contains("a similar argument exists: '--config.file'"),
        "{err}"
    );
    let run = tocsin().args(["chek-config", "x.yml"]).output().unwrap();
    assert_eq!(run.status.code(), Some(2));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("'check-config'"), "{err}");
    let run = tocsin()
        .args(["routes", "show", "--config.flie=x.yml"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("'--config.file'"), "{err}");
}
