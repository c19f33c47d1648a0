//! Starts the real `tocsin` binary on 127.0.0.1 port 0 with a config written to a temp dir, finds
//! its address in the log, and kills it on drop.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

/// A running daemon.
pub struct Daemon {
    child: Child,
    /// Where the API listens.
    pub addr: SocketAddr,
    /// The temp dir holding the config and storage.
    pub dir: tempfile::TempDir,
    /// Everything the daemon logged so far.
    pub log: Arc<Mutex<Vec<String>>>,
    /// The extra flags and environment it was started with (for [`Daemon::restart`]).
    extra: (Vec<String>, Vec<(String, String)>),
    /// A command the binary is started through (`prlimit ...`, `setpriv ...`), if any.
    wrapper: Vec<String>,
}

impl Daemon {
    /// Writes `config` to `<tmp>/tocsin.yml` and starts the daemon on it.
    pub fn start(config: &str) -> Daemon {
        Self::start_with(config, &[])
    }

    /// As [`Daemon::start`], with extra flags.
    pub fn start_with(config: &str, extra: &[&str]) -> Daemon {
        Self::start_env(config, extra, &[])
    }

    /// As [`Daemon::start_with`], with extra environment variables.
    pub fn start_env(config: &str, extra: &[&str], env: &[(&str, &str)]) -> Daemon {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("tocsin.yml"), config).expect("write config");
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Self::spawn(dir, (extra, env), Vec::new())
    }

    /// As [`Daemon::start_with`], but a daemon that exits before it reports its address is an
    /// `Err` with its log (for instance a port another process took: [`address_in_use`]).
    pub fn try_start_with(config: &str, extra: &[&str]) -> Result<Daemon, String> {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("tocsin.yml"), config).expect("write config");
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        Self::try_spawn(dir, (extra, Vec::new()), Vec::new())
    }

    /// As [`Daemon::start_with`], started through `wrapper` (a command that runs its last
    /// argument: `prlimit --fsize=N --`, `setpriv --reuid=N ...`), in the directory `dir`.
    pub fn start_via(dir: tempfile::TempDir, wrapper: &[&str], extra: &[&str]) -> Daemon {
        let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        let wrapper = wrapper.iter().map(|s| s.to_string()).collect();
        Self::spawn(dir, (extra, Vec::new()), wrapper)
    }

    /// Kills the daemon (SIGKILL: no shutdown work) and starts it again on the same config and
    /// storage directory.
    pub fn restart(mut self) -> Daemon {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let extra = std::mem::take(&mut self.extra);
        let wrapper = std::mem::take(&mut self.wrapper);
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("tempdir"));
        Self::spawn(dir, extra, wrapper)
    }

    fn spawn(
        dir: tempfile::TempDir,
        extra: (Vec<String>, Vec<(String, String)>),
        wrapper: Vec<String>,
    ) -> Daemon {
        Self::try_spawn(dir, extra, wrapper)
            .unwrap_or_else(|log| panic!("tocsin exited before reporting its address; log:\n{log}"))
    }

    fn try_spawn(
        dir: tempfile::TempDir,
        extra: (Vec<String>, Vec<(String, String)>),
        wrapper: Vec<String>,
    ) -> Result<Daemon, String> {
        let bin = env!("CARGO_BIN_EXE_tocsin");
        let mut cmd = match wrapper.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        let mut child = cmd
            .arg(format!(
                "--config.file={}",
                dir.path().join("tocsin.yml").display()
            ))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("data").display()
            ))
            .arg("--web.listen-address=127.0.0.1:0")
            // A test's own external URL replaces the default one.
            .args(
                (!extra.0.iter().any(|a| a.starts_with("--web.external-url=")))
                    .then_some("--web.external-url=http://tocsin.test:9093"),
            )
            .arg("--log.format=json")
            .args(&extra.0)
            .envs(extra.1.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tocsin");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Some(addr) = listening_address(&line) {
                        let _ = tx.send(addr);
                    }
                    log.lock().unwrap().push(line);
                }
            });
        }
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(a) => a,
            // The log reader ended: the daemon exited (its log is complete once reaped).
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                let _ = child.wait();
                return Err(log.lock().unwrap().join("\n"));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                panic!(
                    "tocsin did not report its address; log:\n{}",
                    log.lock().unwrap().join("\n")
                );
            }
        };
        Ok(Daemon {
            child,
            addr,
            dir,
            log,
            extra,
            wrapper,
        })
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `GET <path>` decoded as JSON.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let r = reqwest::get(self.url(path)).await.expect("GET");
        r.json().await.expect("a JSON body")
    }

    /// The `/metrics` text.
    pub async fn metrics(&self) -> String {
        let r = reqwest::get(self.url("/metrics"))
            .await
            .expect("GET /metrics");
        r.text().await.expect("metrics text")
    }

    /// `http://<addr><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The config file path.
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("tocsin.yml")
    }

    /// Replaces the config file (without reloading).
    pub fn write_config(&self, config: &str) {
        std::fs::write(self.config_path(), config).expect("write config");
    }

    /// The log so far, one line each.
    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Sends a signal to the daemon (`kill -s SIG`).
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args(["-s", sig, &self.child.id().to_string()])
            .status()
            .expect("kill")
            .success();
        assert!(ok, "kill -s {sig} failed");
    }

    /// Waits for the process to exit and returns its exit code.
    pub fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let step = Duration::from_millis(20);
        for _ in 0..(within.as_millis() / step.as_millis()).max(1) {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st.code();
            }
            std::thread::sleep(step);
        }
        None
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn listening_address(line: &str) -> Option<SocketAddr> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    if v["msg"] != "Listening." {
        return None;
    }
    v["address"].as_str()?.parse().ok()
}

/// Whether a daemon's log says it could not bind an address another process holds.
pub fn address_in_use(log: &str) -> bool {
    log.contains("Address already in use")
}

/// Polls `cond` every 20 ms until it holds or `within` passes.
pub async fn eventually<F: FnMut() -> bool>(within: Duration, mut cond: F) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cond()
}

/// A blocking `GET` (for polling inside [`eventually`]'s synchronous condition): the status code
/// and body, or None when nothing answers.
pub fn http_get(url: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut s = std::net::TcpStream::connect(host).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").ok()?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).ok()?;
    let text = String::from_utf8_lossy(&resp).into_owned();
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}
