//! A cluster of real tocsin peers on 127.0.0.1 found through the test DNS server (one SRV name
//! listing every peer's port), sharing a key or, with [`Peers::start_tls`], mutual TLS
//! (`--cluster.tls-config`, certificates made here), all running one config: started, killed,
//! restarted and added to by the cluster tests.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::Duration;

use tokio::time::Instant;

use super::daemon::{Daemon, address_in_use};
use super::dns::DnsServer;
use super::pki::Ca;

/// The SRV name every peer resolves.
pub const SRV: &str = "_tocsin._udp.send.test";
/// The peers' names by index (`peer-0` sorts first: a peer added as index 0 wins claims).
pub const NAMES: [&str; 4] = ["peer-1", "peer-2", "peer-3", "peer-0"];

/// Peers behind one SRV name.
pub struct Peers {
    /// The DNS server the peers ask.
    pub dns: DnsServer,
    /// Holds the key file.
    keys: tempfile::TempDir,
    /// Each peer's cluster port.
    pub ports: Vec<u16>,
    /// The peers (None once killed).
    pub peers: Vec<Option<Daemon>>,
    /// The config every peer runs.
    config: String,
    /// `--cluster.peer-timeout`.
    peer_timeout: &'static str,
    /// Mutual TLS instead of the key file.
    tls: Option<Tls>,
}

/// Mutual TLS between the peers: the cluster's CA signs each peer's certificate (for
/// 127.0.0.1), except strangers', which another CA signs.
struct Tls {
    /// The cluster's CA (every peer trusts it, strangers included).
    ca: Ca,
    /// The CA of strangers' certificates.
    other: Ca,
    /// Peers (by index) whose certificate the other CA signed.
    strangers: Vec<usize>,
}

/// A free UDP port on 127.0.0.1, bound and released: the daemon binds it next (and
/// [`start_on_free_port`] tries another when some other process took it meanwhile).
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// How many ports [`start_on_free_port`] tries.
const PORT_TRIES: usize = 5;

/// Starts a daemon on a port a peer listens on: `start(port)` with `port` first, and while the
/// daemon exits because another process took the port between its pick and the daemon's bind
/// (the machine runs other tests), with a new port from `pick`. The daemon itself cannot bind
/// port 0 and say which it got: it advertises its listen address to its peers. Returns the
/// port it runs on.
pub fn start_on_free_port(
    mut port: u16,
    pick: impl Fn() -> u16,
    mut start: impl FnMut(u16) -> Result<Daemon, String>,
) -> (u16, Daemon) {
    for _ in 1..PORT_TRIES {
        match start(port) {
            Ok(d) => return (port, d),
            Err(log) if address_in_use(&log) => {
                eprintln!("port {port} was taken before the daemon bound it; trying another");
                port = pick();
            }
            Err(log) => panic!("tocsin exited before reporting its address; log:\n{log}"),
        }
    }
    match start(port) {
        Ok(d) => (port, d),
        Err(log) => panic!("no free port in {PORT_TRIES} tries; last log:\n{log}"),
    }
}

impl Peers {
    /// Starts three peers running `config` and waits until each sees all three, ready.
    pub async fn start(config: String, peer_timeout: &'static str) -> Peers {
        Self::start_with(config, peer_timeout, None).await
    }

    /// [`Peers::start`] with mutual TLS between the peers (`--cluster.tls-config`, no key
    /// file): they talk over TCP.
    pub async fn start_tls(config: String, peer_timeout: &'static str) -> Peers {
        let tls = Tls {
            ca: Ca::new("cluster CA"),
            other: Ca::new("another CA"),
            strangers: Vec::new(),
        };
        Self::start_with(config, peer_timeout, Some(tls)).await
    }

    async fn start_with(config: String, peer_timeout: &'static str, tls: Option<Tls>) -> Peers {
        let dns = DnsServer::start();
        dns.set_a("send.test", &[Ipv4Addr::LOCALHOST]);
        let keys = tempfile::tempdir().unwrap();
        std::fs::write(keys.path().join("key"), "exactly once, please!").unwrap();
        let mut t = Peers {
            dns,
            keys,
            ports: Vec::new(),
            peers: vec![None, None, None],
            config,
            peer_timeout,
            tls,
        };
        t.ports = (0..3).map(|_| t.free_port()).collect();
        t.publish_dns();
        for i in 0..3 {
            t.peers[i] = Some(t.spawn_fresh(i));
        }
        for i in 0..3 {
            t.wait_members(i, &NAMES[..3]).await;
        }
        t
    }

    /// A free port of the peers' protocol (UDP, or TCP with TLS) on 127.0.0.1, bound and
    /// released: the daemon binds it next.
    fn free_port(&self) -> u16 {
        if self.tls.is_some() {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        } else {
            free_udp_port()
        }
    }

    /// Lists every peer's port under the SRV name.
    fn publish_dns(&self) {
        self.publish(&self.ports);
    }

    /// Lists `ports` under the SRV name.
    fn publish(&self, ports: &[u16]) {
        let srv: Vec<(u16, &str)> = ports.iter().map(|p| (*p, "send.test")).collect();
        self.dns.set_srv(SRV, &srv);
    }

    /// Adds a peer to the DNS records and starts it (on a fresh store); returns its index.
    pub fn add(&mut self) -> usize {
        let i = self.ports.len();
        assert!(i < NAMES.len(), "at most {} peers", NAMES.len());
        self.ports.push(self.free_port());
        self.publish_dns();
        let d = self.spawn_fresh(i);
        self.peers.push(Some(d));
        i
    }

    /// Starts peer `i` for the first time, on `ports[i]` or, when another process took that
    /// port meanwhile, on a new one (published in the DNS records before the start).
    fn spawn_fresh(&mut self, i: usize) -> Daemon {
        let first = self.ports[i];
        let this = &*self;
        let moved = std::cell::Cell::new(false);
        let (port, d) = start_on_free_port(
            first,
            || this.free_port(),
            |port| {
                if port != first {
                    let mut ports = this.ports.clone();
                    ports[i] = port;
                    this.publish(&ports);
                    moved.set(true);
                }
                this.try_spawn(i, port)
            },
        );
        if moved.get() {
            self.ports[i] = port;
        }
        d
    }

    /// Adds a peer to the DNS records whose certificate another CA signed (it trusts the
    /// cluster's CA) and starts it; returns its index. Needs [`Peers::start_tls`].
    pub fn add_stranger(&mut self) -> usize {
        let i = self.ports.len();
        self.tls
            .as_mut()
            .expect("strangers need TLS peers")
            .strangers
            .push(i);
        self.add()
    }

    /// The flags that authenticate peer `i`: the key file, or its `--cluster.tls-config` (its
    /// certificate, key and the file written now).
    fn auth_flag(&self, i: usize) -> String {
        let dir = self.keys.path();
        let Some(tls) = &self.tls else {
            return format!("--cluster.key-file={}", dir.join("key").display());
        };
        let signer = if tls.strangers.contains(&i) {
            &tls.other
        } else {
            &tls.ca
        };
        signer
            .leaf(&["127.0.0.1", "localhost"])
            .write(dir, &format!("peer-{i}"));
        std::fs::write(dir.join("ca.pem"), &tls.ca.pem).unwrap();
        let file = dir.join(format!("tls-{i}.yml"));
        // Relative paths: read from the file's folder.
        std::fs::write(
            &file,
            format!(
                "tls_server_config:\n  cert_file: peer-{i}.crt\n  key_file: peer-{i}.key\n  client_ca_file: ca.pem\n  client_auth_type: RequireAndVerifyClientCert\ntls_client_config:\n  cert_file: peer-{i}.crt\n  key_file: peer-{i}.key\n  ca_file: ca.pem\n"
            ),
        )
        .unwrap();
        format!("--cluster.tls-config={}", file.display())
    }

    /// Starts peer `i` on a fresh, empty store, on its port (a restart: the port it had).
    pub fn spawn(&self, i: usize) -> Daemon {
        self.try_spawn(i, self.ports[i])
            .unwrap_or_else(|log| panic!("{} exited at start; log:\n{log}", NAMES[i]))
    }

    /// Starts peer `i` on a fresh, empty store, listening on `port`; its log if it exits first.
    fn try_spawn(&self, i: usize, port: u16) -> Result<Daemon, String> {
        Daemon::try_start_with(
            &self.config,
            &[
                &format!("--cluster.listen-address=127.0.0.1:{port}"),
                &format!("--cluster.peer=dns+srv://{SRV}"),
                &format!("--cluster.peer-name={}", NAMES[i]),
                &format!("--cluster.dns-server={}", self.dns.addr),
                &self.auth_flag(i),
                "--cluster.gossip-interval=100ms",
                "--cluster.settle-timeout=10s",
                &format!("--cluster.peer-timeout={}", self.peer_timeout),
            ],
        )
    }

    /// Peer `i` (running).
    pub fn peer(&self, i: usize) -> &Daemon {
        self.peers[i].as_ref().expect("a running peer")
    }

    /// The running peers.
    pub fn live(&self) -> impl Iterator<Item = &Daemon> {
        self.peers.iter().flatten()
    }

    /// Waits until peer `i` is ready with exactly the members `want` (in any order).
    pub async fn wait_members(&self, i: usize, want: &[&str]) {
        let mut want: Vec<&str> = want.to_vec();
        want.sort_unstable();
        let d = self.peer(i);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let s = d.get_json("/api/v2/status").await;
            let names: Vec<&str> = s["cluster"]["peers"]
                .as_array()
                .map(|ps| ps.iter().filter_map(|p| p["name"].as_str()).collect())
                .unwrap_or_default();
            if names == want && s["cluster"]["status"] == "ready" {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: members {names:?}, want {want:?}; log:\n{}",
                NAMES[i],
                d.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Posts `alerts` to every running peer at once (as Prometheus sends to each).
    pub async fn post_alerts(&self, alerts: &serde_json::Value) {
        let c = reqwest::Client::new();
        let posts: Vec<_> = self
            .live()
            .map(|d| {
                let req = c.post(d.url("/api/v2/alerts")).json(alerts);
                tokio::spawn(async move { req.send().await.map(|r| r.status()) })
            })
            .collect();
        for p in posts {
            let status = p.await.unwrap().unwrap();
            assert_eq!(status, 200);
        }
    }

    /// Posts one alert per name to every running peer.
    pub async fn post(&self, names: &[String]) {
        let alerts: Vec<serde_json::Value> = names
            .iter()
            .map(|n| serde_json::json!({"labels": {"alertname": n, "job": "t"}}))
            .collect();
        self.post_alerts(&serde_json::Value::from(alerts)).await;
    }

    /// Creates, through peer `i`, a silence of `alertname` for 2020-2099 with this comment;
    /// returns its id.
    pub async fn silence(&self, i: usize, alertname: &str, comment: &str) -> String {
        let body = serde_json::json!({
            "matchers": [{"name": "alertname", "value": alertname, "isRegex": false,
                          "isEqual": true}],
            "startsAt": "2020-01-01T00:00:00Z",
            "endsAt": "2099-01-01T00:00:00Z",
            "createdBy": "test",
            "comment": comment,
        });
        let r = reqwest::Client::new()
            .post(self.peer(i).url("/api/v2/silences"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.json::<serde_json::Value>().await.unwrap()["silenceID"]
            .as_str()
            .expect("a silence id")
            .to_owned()
    }

    /// Claim decisions taken so far, summed over the running peers, by outcome.
    pub async fn claims(&self) -> HashMap<String, u64> {
        let mut out = HashMap::new();
        for d in self.live() {
            for (k, v) in claim_counts(&d.metrics().await) {
                *out.entry(k).or_default() += v;
            }
        }
        out
    }

    /// Waits until every running peer flushed `groups` groups in all (nflog queries) and none
    /// is sending or waiting on a claim, with `sent()` (what the receivers got) steady over two
    /// looks: no send is still to come. Returns the claim outcomes summed over the peers.
    pub async fn wait_settled(
        &self,
        groups: u64,
        sent: impl Fn() -> usize,
    ) -> HashMap<String, u64> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut last = usize::MAX;
        loop {
            let mut done = true;
            for d in self.live() {
                let m = d.metrics().await;
                done &= metric_sum(&m, "alertmanager_nflog_queries_total ") >= groups as f64
                    && metric_sum(&m, "tocsin_cluster_claims_waiting ") == 0.0
                    && metric_sum(&m, "tocsin_notifications_pending{") == 0.0;
            }
            let now = sent();
            if done && now == last {
                return self.claims().await;
            }
            last = now;
            assert!(
                Instant::now() < deadline,
                "peers not settled after 60 s ({:?}); {now} requests received; log of the first:\n{}",
                self.claims().await,
                self.live().next().map(|d| d.log_text()).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// The sum of the values of the lines of a metrics text that start with `prefix`.
pub fn metric_sum(metrics: &str, prefix: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

/// `tocsin_cluster_claims_total{outcome="x"} n` lines of a metrics text.
pub fn claim_counts(metrics: &str) -> HashMap<String, u64> {
    metrics
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("tocsin_cluster_claims_total{outcome=\"")?;
            let (outcome, value) = rest.split_once("\"} ")?;
            Some((outcome.to_owned(), value.trim().parse().ok()?))
        })
        .collect()
}
