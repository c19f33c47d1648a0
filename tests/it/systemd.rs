//! The systemd integration: READY=1 and WATCHDOG=1 reach $NOTIFY_SOCKET, the unit file passes
//! `systemd-analyze verify`, and its TLS drop-in (`systemd/web-config.conf`) verifies, leaves the
//! hardening as it was, and hands tocsin a credentials folder it serves TLS and basic auth from.

use std::os::unix::net::UnixDatagram;
use std::process::Command;
use std::time::Duration;

use crate::support::daemon::Daemon;
use crate::support::debian_tool;
use crate::support::pki::Ca;

const UNIT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/systemd/tocsin.service"
));
const DROP_IN: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/systemd/web-config.conf"
));

#[test]
fn notifies_ready_and_pings_the_watchdog() {
    let dir = tempfile::tempdir().unwrap();
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let d = Daemon::start_env(
        "route: {receiver: r}\nreceivers: [{name: r}]\n",
        &[],
        &[
            ("NOTIFY_SOCKET", sock_path.to_str().unwrap()),
            ("WATCHDOG_USEC", "200000"),
        ],
    );
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !(seen.iter().any(|m: &String| m.contains("READY=1"))
        && seen.iter().filter(|m| m.contains("WATCHDOG=1")).count() >= 2)
    {
        let n = sock.recv(&mut buf).expect("a notification within 10 s");
        seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert!(seen[0].contains("READY=1"), "READY comes first: {seen:?}");
    drop(d);
}

#[test]
fn unit_file_verifies() {
    let Some(analyze) = debian_tool("systemd-analyze") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/systemd/tocsin.service"
    ))
    .unwrap()
    .replace("/usr/local/bin/tocsin", env!("CARGO_BIN_EXE_tocsin"));
    for key in [
        "Type=notify",
        "WatchdogSec=",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "StateDirectory=tocsin",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
    ] {
        assert!(unit.contains(key), "unit lacks {key}");
    }
    let path = dir.path().join("tocsin.service");
    std::fs::write(&path, unit).unwrap();
    let out = Command::new(analyze)
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    // Only complaints about this unit count (the host's other units are not ours).
    let ours: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("tocsin.service"))
        .collect();
    assert!(
        out.status.success() && ours.is_empty(),
        "systemd-analyze verify: {err}"
    );
}

/// Writes the unit (the binary path pointed at the test build) into `dir`, with the TLS drop-in
/// in `tocsin.service.d/` when `drop_in`.
fn unit_dir(dir: &std::path::Path, drop_in: bool) {
    let unit = UNIT.replace("/usr/local/bin/tocsin", env!("CARGO_BIN_EXE_tocsin"));
    std::fs::write(dir.join("tocsin.service"), unit).unwrap();
    if drop_in {
        std::fs::create_dir_all(dir.join("tocsin.service.d")).unwrap();
        std::fs::write(dir.join("tocsin.service.d/web-config.conf"), DROP_IN).unwrap();
    }
}

/// `systemd-analyze <args> tocsin.service` with the unit (and drop-ins) found in `dir` only.
fn analyze(analyze: &std::path::Path, dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(analyze)
        .args(args)
        .arg("tocsin.service")
        .env("SYSTEMD_UNIT_PATH", format!("{}:", dir.display()))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The overall exposure `systemd-analyze security` gives the unit in `dir`.
fn exposure(tool: &std::path::Path, dir: &std::path::Path) -> f64 {
    let (_, text) = analyze(tool, dir, &["security", "--offline=yes", "--no-pager"]);
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level for tocsin.service:"))
        .unwrap_or_else(|| panic!("no exposure level in:\n{text}"));
    line.split(':')
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn tls_drop_in_verifies_and_keeps_the_hardening() {
    // The drop-in only loads credentials and names the web config: no hardening key.
    for line in DROP_IN
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains('='))
    {
        let key = line.split('=').next().unwrap();
        assert!(
            ["LoadCredential", "Environment"].contains(&key),
            "drop-in sets {key}"
        );
    }
    assert!(UNIT.contains("DynamicUser=yes") && UNIT.contains("$TOCSIN_WEB_ARGS"));
    let Some(tool) = debian_tool("systemd-analyze") else {
        return;
    };
    let (plain, with) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    unit_dir(plain.path(), false);
    unit_dir(with.path(), true);
    let (ok, text) = analyze(&tool, with.path(), &["verify"]);
    let ours: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("tocsin.service"))
        .collect();
    assert!(ok && ours.is_empty(), "systemd-analyze verify: {text}");
    // The drop-in is read (a key it does not know would be reported against it).
    std::fs::write(
        with.path().join("tocsin.service.d/zz-probe.conf"),
        "[Service]\nNoSuchKey=1\n",
    )
    .unwrap();
    let (_, text) = analyze(&tool, with.path(), &["verify"]);
    assert!(text.contains("zz-probe.conf"), "drop-ins not read: {text}");
    std::fs::remove_file(with.path().join("tocsin.service.d/zz-probe.conf")).unwrap();
    let (before, after) = (exposure(&tool, plain.path()), exposure(&tool, with.path()));
    assert!(
        after <= before && after < 2.0,
        "exposure {before} -> {after}"
    );
}

/// What systemd hands the service under the drop-in (its credentials, copied into one folder,
/// and `--web.config.file=%d/web.yml`) is what tocsin serves TLS and basic auth from.
#[tokio::test]
async fn the_credentials_folder_serves_tls_and_basic_auth() {
    let creds = tempfile::tempdir().unwrap();
    let ca = Ca::new("tocsin test CA");
    ca.leaf(&["127.0.0.1"]).write(creds.path(), "tls");
    let hash = bcrypt::hash("pw", 4).unwrap();
    let web = format!(
        "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\nbasic_auth_users:\n  prom: {hash}\n"
    );
    std::fs::write(creds.path().join("web.yml"), web).unwrap();
    // Each LoadCredential= of the drop-in names a file that is there, as systemd copies them.
    for line in DROP_IN.lines().filter(|l| l.starts_with("LoadCredential=")) {
        let name = line["LoadCredential=".len()..].split(':').next().unwrap();
        assert!(creds.path().join(name).is_file(), "{name} not made");
    }
    let args: String = DROP_IN
        .lines()
        .find_map(|l| l.strip_prefix("Environment=TOCSIN_WEB_ARGS="))
        .unwrap()
        .replace("%d", creds.path().to_str().unwrap());
    let d = Daemon::start_with("route: {receiver: r}\nreceivers: [{name: r}]\n", &[&args]);
    let c = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.pem.as_bytes()).unwrap()])
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let url = format!("https://127.0.0.1:{}/api/v2/status", d.addr.port());
    assert_eq!(c.get(&url).send().await.unwrap().status(), 401);
    let r = c
        .get(&url)
        .basic_auth("prom", Some("pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
