//! Alertmanager 0.25 (Debian's `prometheus-alertmanager`) on 127.0.0.1, the reference of the
//! differential tests: same config and same requests to it and to tocsin, and where the two
//! differ, Alertmanager's answer is the expectation. Killed on drop.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::daemon::{eventually, http_get};
use super::debian_tool;

/// A running Alertmanager.
pub struct Alertmanager {
    child: Child,
    /// Its base URL, `http://127.0.0.1:<port>`.
    pub base: String,
    /// The temp dir holding its config and data.
    dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Alertmanager {
    /// Starts Alertmanager on `config` and waits until it is ready. None (the test skips)
    /// when the package is not installed, outside CI.
    pub async fn start(config: &str) -> Option<Alertmanager> {
        let bin = debian_tool("prometheus-alertmanager")?;
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("am.yml"), config).expect("write config");
        let port = free_port();
        let child = Command::new(bin)
            .arg(format!(
                "--config.file={}",
                dir.path().join("am.yml").display()
            ))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--web.external-url=http://tocsin.test:9093")
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start alertmanager");
        let am = Alertmanager {
            child,
            base: format!("http://127.0.0.1:{port}"),
            dir,
        };
        let ready = eventually(Duration::from_secs(20), || {
            http_get(&am.url("/-/ready")).is_some_and(|(status, _)| status == 200)
        })
        .await;
        assert!(ready, "alertmanager did not start");
        Some(am)
    }

    /// `<base><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The config file path.
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("am.yml")
    }

    /// Replaces the config file (without reloading).
    pub fn write_config(&self, config: &str) {
        std::fs::write(self.config_path(), config).expect("write config");
    }
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `POST <url>` with a JSON body; the status code.
pub async fn post_json(url: &str, body: &serde_json::Value) -> u16 {
    reqwest::Client::new()
        .post(url)
        .json(body)
        .send()
        .await
        .expect("POST")
        .status()
        .as_u16()
}

/// `POST <base>/-/reload`, asserting success.
pub async fn reload(base: &str) {
    let r = reqwest::Client::new()
        .post(format!("{base}/-/reload"))
        .send()
        .await
        .expect("POST /-/reload");
    assert_eq!(r.status(), 200, "reload of {base} failed");
}
