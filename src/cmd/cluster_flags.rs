//! The `--cluster.*` flags: Alertmanager 0.34's (kingpin syntax, accepted with a warning where
//! they mean nothing here) and tocsin's `--cluster.key-file` and `--cluster.dns-server`.
//! Clustering is on when `--cluster.listen-address` is not empty, or when peers are given
//! without it (then on Alertmanager's `0.0.0.0:9094`); with neither, tocsin runs alone.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use crate::cluster::transport::tls::{DEFAULT_DIAL_TIMEOUT, ServerTls, TlsSettings};
use crate::cluster::{self, discovery::PeerSpec};
use crate::config::go_duration_problem;
use crate::webconfig::cluster_tls::ClusterTls;

/// A duration as Alertmanager's flags take it: Go's syntax (`200ms`, `1h30m`, `1.5s`) or
/// Prometheus's (`1d`, `1w`).
fn duration(s: &str) -> Result<Duration, String> {
    if let Ok(d) = s.parse::<crate::model::Duration>() {
        return Ok(d.std());
    }
    if go_duration_problem(s).is_some() || s.starts_with('-') {
        return Err(format!("invalid duration {s:?}"));
    }
    // Go's form: a sequence of decimal numbers, each with a unit.
    let mut total = 0f64;
    let mut rest = s.trim_start_matches('+');
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..n]
            .parse()
            .map_err(|_| format!("invalid duration {s:?}"))?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..u] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(format!("invalid duration {s:?}")),
        };
        total += value * unit;
        rest = &rest[u..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| format!("invalid duration {s:?}"))
}

/// A kingpin boolean given a value (`--flag=true`).
fn boolean(s: &str) -> Result<bool, String> {
    match s {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!("invalid boolean {s:?}")),
    }
}

/// Go's `host:port` with an empty host meaning every interface.
fn socket_addr(flag: &str, s: &str) -> Result<SocketAddr, String> {
    let full = if s.starts_with(':') {
        format!("0.0.0.0{s}")
    } else {
        s.to_owned()
    };
    full.parse()
        .map_err(|_| format!("--{flag}={s:?}: want IP:port (a host name is not supported here)"))
}

/// The `--cluster.*` flags.
#[derive(Debug, Clone, Default, Args)]
pub struct ClusterFlags {
    /// Address the cluster listens on, UDP (TCP with --cluster.tls-config; Alertmanager's
    /// default port 9094); empty
    /// (`--cluster.listen-address=`) disables clustering, as does giving neither this nor
    /// `--cluster.peer`.
    #[arg(long = "cluster.listen-address", value_name = "ADDR")]
    pub listen_address: Option<String>,
    /// IP:port peers reach this one at; needed when listening on every interface.
    #[arg(long = "cluster.advertise-address", value_name = "ADDR")]
    pub advertise_address: Option<String>,
    /// Allow discovering a public advertise address (accepted; tocsin does not discover it:
    /// give --cluster.advertise-address).
    #[arg(long = "cluster.allow-insecure-public-advertise-address-discovery", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", value_parser = boolean)]
    pub allow_insecure_public_advertise: Option<bool>,
    /// Not `--cluster.allow-insecure-public-advertise-address-discovery`.
    #[arg(
        long = "no-cluster.allow-insecure-public-advertise-address-discovery",
        hide = true
    )]
    pub no_allow_insecure_public_advertise: bool,
    /// A peer, repeatable: `host:port` (A/AAAA records), `dns+srv://_service._proto.name` or
    /// `_service._proto.name` (SRV records); names are resolved again every 15 s.
    #[arg(long = "cluster.peer", value_name = "ADDR")]
    pub peer: Vec<String>,
    /// This peer's name (default: a ULID, sortable by start time).
    #[arg(long = "cluster.peer-name", value_name = "NAME")]
    pub peer_name: Option<String>,
    /// How long a peer's send claim holds without being renewed (a claimer renews it every
    /// third of this while it sends): a claimer that dies or stalls is replaced after at most
    /// this long. Default 15s, as Alertmanager's.
    #[arg(long = "cluster.peer-timeout", value_name = "DURATION", value_parser = duration)]
    pub peer_timeout: Option<Duration>,
    /// The longest one DNS query for peers may take.
    #[arg(long = "cluster.peers-resolve-timeout", value_name = "DURATION", value_parser = duration, default_value = "15s")]
    pub peers_resolve_timeout: Duration,
    /// Interval between gossip rounds.
    #[arg(long = "cluster.gossip-interval", value_name = "DURATION", value_parser = duration, default_value = "200ms")]
    pub gossip_interval: Duration,
    /// Interval of full state syncs (accepted; no effect: every gossip round reconciles the
    /// whole state).
    #[arg(long = "cluster.pushpull-interval", value_name = "DURATION", value_parser = duration)]
    pub pushpull_interval: Option<Duration>,
    /// With --cluster.tls-config: how long connecting to a peer (TCP and TLS handshake) may take
    /// (default 10s). Without it no effect: peers talk over UDP.
    #[arg(long = "cluster.tcp-timeout", value_name = "DURATION", value_parser = duration)]
    pub tcp_timeout: Option<Duration>,
    /// Timeout of a probe's ack (accepted; no effect: a phi-accrual failure detector replaces
    /// probes).
    #[arg(long = "cluster.probe-timeout", value_name = "DURATION", value_parser = duration)]
    pub probe_timeout: Option<Duration>,
    /// Interval between probes (accepted; no effect, as `--cluster.probe-timeout`).
    #[arg(long = "cluster.probe-interval", value_name = "DURATION", value_parser = duration)]
    pub probe_interval: Option<Duration>,
    /// The longest the cluster reports `settling` before `ready`.
    #[arg(long = "cluster.settle-timeout", value_name = "DURATION", value_parser = duration, default_value = "1m")]
    pub settle_timeout: Duration,
    /// Interval between reconnects to lost peers (accepted; no effect: resolved peers that are
    /// not members are contacted every 10 gossip rounds).
    #[arg(long = "cluster.reconnect-interval", value_name = "DURATION", value_parser = duration)]
    pub reconnect_interval: Option<Duration>,
    /// How long a lost peer is remembered.
    #[arg(long = "cluster.reconnect-timeout", value_name = "DURATION", value_parser = duration, default_value = "6h")]
    pub reconnect_timeout: Duration,
    /// A label mixed into every peer message's authentication tag: clusters with different
    /// labels refuse each other.
    #[arg(long = "cluster.label", value_name = "LABEL", default_value = "")]
    pub label: String,
    /// Alertmanager's file for mutual TLS between peers (`tls_server_config`,
    /// `tls_client_config`): peers then talk over TCP and TLS instead of UDP. With it,
    /// --cluster.key-file is optional (both may be given: messages are then sealed with the key
    /// inside TLS).
    #[arg(long = "cluster.tls-config", value_name = "FILE")]
    pub tls_config: Option<String>,
    /// File holding the shared secret (at least 16 bytes) that authenticates every peer
    /// message (HMAC-SHA256); required when clustering is on without --cluster.tls-config.
    /// tocsin's flag.
    #[arg(long = "cluster.key-file", value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Nameserver (IP or IP:port) asked for `--cluster.peer` names instead of the system's.
    /// tocsin's flag.
    #[arg(long = "cluster.dns-server", value_name = "ADDR")]
    pub dns_server: Option<String>,
}

impl ClusterFlags {
    /// Whether clustering is on.
    pub fn enabled(&self) -> bool {
        match self.listen_address.as_deref() {
            Some(a) => !a.is_empty(),
            None => !self.peer.is_empty(),
        }
    }

    /// The cluster settings, or `None` when clustering is off; an error names the flag.
    pub fn options(&self) -> Result<Option<cluster::Options>, String> {
        if !self.enabled() {
            return Ok(None);
        }
        let listen = socket_addr(
            "cluster.listen-address",
            self.listen_address.as_deref().unwrap_or("0.0.0.0:9094"),
        )?;
        let tls = self
            .tls_config
            .as_deref()
            .filter(|f| !f.is_empty())
            .map(|f| {
                ClusterTls::load(Path::new(f))
                    .map_err(|e| format!("--cluster.tls-config: {e}"))
                    .map(|t| TlsSettings {
                        server: {
                            let files = t.server;
                            ServerTls::per_connection(move || {
                                files.current().map_err(|e| e.to_string())
                            })
                        },
                        client: t.client,
                        server_name: t.server_name,
                        dial_timeout: self.tcp_timeout.unwrap_or(DEFAULT_DIAL_TIMEOUT),
                        warnings: t.warnings,
                    })
            })
            .transpose()?;
        let key = match (&self.key_file, &tls) {
            (Some(f), _) => cluster::read_key(f).map_err(|e| e.to_string())?,
            (None, Some(_)) => cluster::TLS_ONLY_KEY.to_vec(),
            (None, None) => return Err(
                "clustering is on (--cluster.listen-address or --cluster.peer) and needs --cluster.key-file (a file with a shared secret of at least 16 bytes, the same on every peer: peer messages are authenticated with it) or --cluster.tls-config (mutual TLS between peers)".to_owned(),
            ),
        };
        let mut o = cluster::Options::new(listen, key);
        o.advertise = self
            .advertise_address
            .as_deref()
            .filter(|a| !a.is_empty())
            .map(|a| socket_addr("cluster.advertise-address", a))
            .transpose()?;
        o.peers = self
            .peer
            .iter()
            .filter(|p| !p.is_empty())
            .map(|p| PeerSpec::parse(p).map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?;
        o.name = self.peer_name.clone().filter(|n| !n.is_empty());
        o.label = self.label.clone();
        o.gossip_interval = self.gossip_interval;
        o.settle_timeout = self.settle_timeout;
        o.resolve_timeout = self.peers_resolve_timeout;
        o.reconnect_timeout = self.reconnect_timeout;
        if let Some(t) = self.peer_timeout {
            o.peer_timeout = t;
        }
        o.tls = tls;
        o.dns_server = self
            .dns_server
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<SocketAddr>()
                    .or_else(|_| s.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
                    .map_err(|_| format!("--cluster.dns-server={s:?}: want IP or IP:port"))
            })
            .transpose()?;
        Ok(Some(o))
    }

    /// One warning per flag given that has no effect.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.enabled() {
            let given = self.advertise_address.is_some()
                || !self.peer.is_empty()
                || self.peer_name.is_some()
                || self.peer_timeout.is_some()
                || self.pushpull_interval.is_some()
                || self.tcp_timeout.is_some()
                || self.probe_timeout.is_some()
                || self.probe_interval.is_some()
                || self.reconnect_interval.is_some()
                || !self.label.is_empty()
                || self.tls_config.as_deref().is_some_and(|f| !f.is_empty())
                || self.key_file.is_some()
                || self.dns_server.is_some();
            if given {
                out.push("clustering is off (--cluster.listen-address is empty): the other --cluster.* flags have no effect".to_owned());
            }
            return out;
        }
        let mut no_effect = |flag: &str, given: bool, why: &str| {
            if given {
                out.push(format!(
                    "--{flag} is accepted but has no effect in tocsin: {why}"
                ));
            }
        };
        no_effect(
            "cluster.allow-insecure-public-advertise-address-discovery",
            self.allow_insecure_public_advertise.is_some()
                || self.no_allow_insecure_public_advertise,
            "tocsin does not discover the advertise address; give --cluster.advertise-address",
        );
        no_effect(
            "cluster.pushpull-interval",
            self.pushpull_interval.is_some(),
            "every gossip round reconciles the whole state",
        );
        no_effect(
            "cluster.tcp-timeout",
            self.tcp_timeout.is_some() && self.tls_config.as_deref().is_none_or(str::is_empty),
            "peers talk over UDP without --cluster.tls-config",
        );
        no_effect(
            "cluster.probe-timeout",
            self.probe_timeout.is_some(),
            "a phi-accrual failure detector replaces probes",
        );
        no_effect(
            "cluster.probe-interval",
            self.probe_interval.is_some(),
            "a phi-accrual failure detector replaces probes",
        );
        no_effect(
            "cluster.reconnect-interval",
            self.reconnect_interval.is_some(),
            "resolved peers that are not members are contacted every 10 gossip rounds",
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        f: ClusterFlags,
    }

    fn parse(args: &[&str]) -> Result<ClusterFlags, clap::Error> {
        Cli::try_parse_from(std::iter::once("tocsin").chain(args.iter().copied())).map(|c| c.f)
    }

    #[test]
    fn durations_in_go_and_prometheus_syntax() {
        assert_eq!(duration("200ms").unwrap(), Duration::from_millis(200));
        assert_eq!(duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(duration("1d").unwrap(), Duration::from_secs(86_400));
        assert!(duration("soon").is_err());
        assert!(duration("-1s").is_err());
    }

    #[test]
    fn off_unless_listening_or_given_peers() {
        let f = parse(&[]).unwrap();
        assert!(!f.enabled() && f.options().unwrap().is_none() && f.warnings().is_empty());
        let f = parse(&["--cluster.listen-address=", "--cluster.peer=a:1"]).unwrap();
        assert!(!f.enabled(), "an empty listen address wins");
        assert!(f.warnings()[0].contains("clustering is off"));
        let f = parse(&["--cluster.peer=10.0.0.2:9094"]).unwrap();
        assert!(f.enabled());
        let e = f.options().unwrap_err();
        assert!(e.contains("--cluster.key-file"), "{e}");
    }

    #[test]
    fn every_flag_of_alertmanager_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key");
        std::fs::write(&key, "0123456789abcdef0123\n").unwrap();
        let key_arg = format!("--cluster.key-file={}", key.display());
        let f = parse(&[
            "--cluster.listen-address=127.0.0.1:9094",
            "--cluster.advertise-address=127.0.0.1:9094",
            "--cluster.allow-insecure-public-advertise-address-discovery",
            "--cluster.peer=am-1.example:9094",
            "--cluster.peer",
            "dns+srv://_am._udp.example",
            "--cluster.peer-name=am-0",
            "--cluster.peer-timeout=15s",
            "--cluster.peers-resolve-timeout=5s",
            "--cluster.gossip-interval=100ms",
            "--cluster.pushpull-interval=1m0s",
            "--cluster.tcp-timeout=10s",
            "--cluster.probe-timeout=500ms",
            "--cluster.probe-interval=1s",
            "--cluster.settle-timeout=30s",
            "--cluster.reconnect-interval=10s",
            "--cluster.reconnect-timeout=6h0m0s",
            "--cluster.label=eu",
            "--cluster.tls-config=",
            &key_arg,
            "--cluster.dns-server=127.0.0.1:5353",
        ])
        .unwrap();
        let o = f.options().unwrap().unwrap();
        assert_eq!(o.listen, "127.0.0.1:9094".parse().unwrap());
        assert_eq!(o.peers.len(), 2);
        assert_eq!(o.name.as_deref(), Some("am-0"));
        assert_eq!(o.gossip_interval, Duration::from_millis(100));
        assert_eq!(o.settle_timeout, Duration::from_secs(30));
        assert_eq!(o.label, "eu");
        assert_eq!(o.peer_timeout, Duration::from_secs(15));
        assert!(!f.warnings().join("\n").contains("peer-timeout"));
        assert_eq!(o.key, b"0123456789abcdef0123");
        assert_eq!(o.dns_server, Some("127.0.0.1:5353".parse().unwrap()));
        let w = f.warnings().join("\n");
        for flag in [
            "pushpull-interval",
            "tcp-timeout",
            "probe-timeout",
            "probe-interval",
            "reconnect-interval",
            "allow-insecure",
        ] {
            assert!(w.contains(flag), "no warning about {flag}: {w}");
        }
        let f = parse(&[
            "--cluster.listen-address=:9094",
            "--cluster.dns-server=10.0.0.53",
            &key_arg,
        ])
        .unwrap();
        let o = f.options().unwrap().unwrap();
        assert_eq!(o.listen, "0.0.0.0:9094".parse().unwrap());
        assert_eq!(o.dns_server, Some("10.0.0.53:53".parse().unwrap()));
        assert!(parse(&["--cluster.gossip-interval=often"]).is_err());
        let off = parse(&["--cluster.listen-address=", "--cluster.tls-config=tls.yml"]).unwrap();
        assert!(off.options().unwrap().is_none());
        assert!(off.warnings()[0].contains("clustering is off"));
        let bad_peer = parse(&["--cluster.peer=nohost", &key_arg]).unwrap();
        assert!(bad_peer.options().unwrap_err().contains("--cluster.peer"));
    }

    /// A CA and a peer certificate it signs, and a `--cluster.tls-config` file naming them
    /// (relative paths) in `dir`.
    fn write_tls(dir: &std::path::Path) -> std::path::PathBuf {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_key = KeyPair::generate().unwrap();
        std::fs::write(dir.join("ca.pem"), p.self_signed(&ca_key).unwrap().pem()).unwrap();
        let issuer = Issuer::new(p, ca_key);
        let key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        std::fs::write(dir.join("peer.pem"), leaf.pem()).unwrap();
        std::fs::write(dir.join("peer-key.pem"), key.serialize_pem()).unwrap();
        let file = dir.join("tls.yml");
        std::fs::write(
            &file,
            "tls_server_config:\n  cert_file: peer.pem\n  key_file: peer-key.pem\n  client_ca_file: ca.pem\n  client_auth_type: RequireAndVerifyClientCert\ntls_client_config:\n  cert_file: peer.pem\n  key_file: peer-key.pem\n  ca_file: ca.pem\n",
        )
        .unwrap();
        file
    }

    #[test]
    fn tls_config_is_loaded_and_validated() {
        let dir = tempfile::tempdir().unwrap();
        let file = write_tls(dir.path());
        let tls_arg = format!("--cluster.tls-config={}", file.display());
        // TLS alone authenticates peers: no key file needed; --cluster.tcp-timeout is the dial
        // timeout and no longer warned about.
        let f = parse(&[
            "--cluster.listen-address=127.0.0.1:9094",
            &tls_arg,
            "--cluster.tcp-timeout=3s",
        ])
        .unwrap();
        let o = f.options().unwrap().unwrap();
        let tls = o.tls.expect("TLS settings");
        assert_eq!(tls.dial_timeout, Duration::from_secs(3));
        assert!(tls.warnings.is_empty(), "{:?}", tls.warnings);
        assert_eq!(o.key, cluster::TLS_ONLY_KEY);
        assert!(f.warnings().is_empty(), "{:?}", f.warnings());
        // Both: the key seals the messages inside TLS.
        std::fs::write(dir.path().join("key"), "0123456789abcdef0123").unwrap();
        let key_arg = format!("--cluster.key-file={}", dir.path().join("key").display());
        let f = parse(&[
            "--cluster.listen-address=127.0.0.1:9094",
            &tls_arg,
            &key_arg,
        ])
        .unwrap();
        let o = f.options().unwrap().unwrap();
        assert!(o.tls.is_some());
        assert_eq!(o.key, b"0123456789abcdef0123");
        assert_eq!(
            o.tls.unwrap().dial_timeout,
            crate::cluster::transport::tls::DEFAULT_DIAL_TIMEOUT
        );
        // A bad file stops start-up naming the flag, the file and the key.
        std::fs::write(
            &file,
            "tls_server_config:\n  cert_file: peer.pem\n  key_file: gone.pem\n",
        )
        .unwrap();
        let e = f.options().unwrap_err();
        assert!(
            e.starts_with(&format!(
                "--cluster.tls-config: {}: tls_server_config.key_file: cannot read",
                file.display()
            )),
            "{e}"
        );
        let missing = parse(&[
            "--cluster.listen-address=127.0.0.1:9094",
            "--cluster.tls-config=/nonexistent/tls.yml",
        ])
        .unwrap();
        let e = missing.options().unwrap_err();
        assert!(e.contains("/nonexistent/tls.yml: cannot read"), "{e}");
        // Neither a key nor TLS: the error names both ways.
        let e = parse(&["--cluster.listen-address=127.0.0.1:9094"])
            .unwrap()
            .options()
            .unwrap_err();
        assert!(
            e.contains("--cluster.key-file") && e.contains("--cluster.tls-config"),
            "{e}"
        );
    }
}
