//! Peer discovery: `--cluster.peer` names resolved through DNS and re-resolved every
//! [`REFRESH_INTERVAL`], published on a `watch` channel the membership loop follows.
//!
//! A peer is given as `host:port` (A and AAAA records, or an IP literal), as
//! `dns+srv://_service._proto.name` or as a bare `_service._proto.name` (SRV records: their
//! targets resolved for A/AAAA, their ports used). `--cluster.dns-server` sends every query to
//! one nameserver (tests run theirs on loopback); else the system's configuration is used.
//! A name that fails to resolve keeps the addresses it had (a DNS outage does not empty the
//! cluster); it is retried at the next round.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ProtocolConfig, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::ClusterError;

/// How often names are resolved again (Alertmanager's refresh interval).
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(15);
/// How often names are retried at start while nothing resolved yet.
const START_RETRY: Duration = Duration::from_secs(2);

/// One `--cluster.peer` value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PeerSpec {
    /// An IP literal with its port.
    Addr(SocketAddr),
    /// A name resolved for A/AAAA, with the port given.
    Host {
        /// The name.
        host: String,
        /// The port.
        port: u16,
    },
    /// An SRV name (`_service._proto.name`): targets and ports come from the records.
    Srv(String),
}

impl PeerSpec {
    /// Parses one `--cluster.peer` value.
    pub fn parse(s: &str) -> Result<PeerSpec, ClusterError> {
        let bad = |why: &str| ClusterError::Flag(format!("--cluster.peer={s:?}: {why}"));
        if let Some(name) = s.strip_prefix("dns+srv://") {
            if name.is_empty() || name.contains(['/', ':']) {
                return Err(bad("want dns+srv://_service._proto.name"));
            }
            return Ok(PeerSpec::Srv(name.to_owned()));
        }
        if s.starts_with('_') && !s.contains(':') {
            let mut labels = s.split('.');
            let (a, b) = (labels.next(), labels.next());
            if a.is_some_and(|l| l.len() > 1) && b.is_some_and(|l| l.starts_with('_')) {
                return Ok(PeerSpec::Srv(s.to_owned()));
            }
        }
        if let Ok(a) = s.parse::<SocketAddr>() {
            return Ok(PeerSpec::Addr(a));
        }
        let (host, port) = s.rsplit_once(':').ok_or_else(|| {
            bad("want host:port, dns+srv://_service._proto.name or _service._proto.name")
        })?;
        let port: u16 = port
            .parse()
            .map_err(|_| bad("the port is not a number from 0 to 65535"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(bad("the host is empty"));
        }
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(PeerSpec::Addr(SocketAddr::new(ip, port)));
        }
        Ok(PeerSpec::Host {
            host: host.to_owned(),
            port,
        })
    }
}

/// Resolves peer specs with hickory.
pub struct Resolver {
    /// The resolver (system configuration or `--cluster.dns-server`).
    inner: TokioResolver,
}

impl Resolver {
    /// A resolver asking `dns_server` (UDP, then TCP) or the system's nameservers; each query
    /// gives up after `timeout`.
    pub fn new(dns_server: Option<SocketAddr>, timeout: Duration) -> Result<Self, ClusterError> {
        let provider = TokioRuntimeProvider::default();
        let mut builder = match dns_server {
            Some(server) => {
                let conn = |p| {
                    let mut c = ConnectionConfig::new(p);
                    c.port = server.port();
                    c
                };
                let ns = NameServerConfig::new(
                    server.ip(),
                    true,
                    vec![conn(ProtocolConfig::Udp), conn(ProtocolConfig::Tcp)],
                );
                TokioResolver::builder_with_config(
                    ResolverConfig::from_name_servers(vec![ns]),
                    provider,
                )
            }
            None => TokioResolver::builder(provider).map_err(|e| {
                ClusterError::Dns(format!("reading the system's resolver configuration: {e}"))
            })?,
        };
        let opts: &mut ResolverOpts = builder.options_mut();
        opts.timeout = timeout.max(Duration::from_millis(100));
        opts.attempts = 1;
        // Names are re-resolved every 15 s: a record that changed must be seen then.
        opts.positive_max_ttl = Some(Duration::from_secs(5));
        opts.negative_max_ttl = Some(Duration::from_secs(5));
        let inner = builder
            .build()
            .map_err(|e| ClusterError::Dns(format!("building the resolver: {e}")))?;
        Ok(Resolver { inner })
    }

    /// The addresses one spec stands for now.
    pub async fn resolve(&self, spec: &PeerSpec) -> Result<BTreeSet<SocketAddr>, String> {
        match spec {
            PeerSpec::Addr(a) => Ok(BTreeSet::from([*a])),
            PeerSpec::Host { host, port } => self.ips(host, *port).await,
            PeerSpec::Srv(name) => {
                let lookup = self
                    .inner
                    .srv_lookup(name.as_str())
                    .await
                    .map_err(|e| format!("SRV {name}: {e}"))?;
                let mut out = BTreeSet::new();
                let mut last_err = None;
                for r in lookup.answers() {
                    if let RData::SRV(srv) = &r.data {
                        match self.ips(&srv.target.to_utf8(), srv.port).await {
                            Ok(a) => out.extend(a),
                            Err(e) => last_err = Some(e),
                        }
                    }
                }
                match (out.is_empty(), last_err) {
                    (true, Some(e)) => Err(e),
                    _ => Ok(out),
                }
            }
        }
    }

    async fn ips(&self, host: &str, port: u16) -> Result<BTreeSet<SocketAddr>, String> {
        let ips = self
            .inner
            .lookup_ip(host)
            .await
            .map_err(|e| format!("A/AAAA {host}: {e}"))?;
        Ok(ips.iter().map(|ip| SocketAddr::new(ip, port)).collect())
    }
}

/// Resolves every spec once; a spec that fails keeps its `previous` addresses.
pub async fn resolve_all(
    resolver: &Resolver,
    specs: &[PeerSpec],
    previous: &mut BTreeMap<PeerSpec, BTreeSet<SocketAddr>>,
) -> BTreeSet<SocketAddr> {
    for spec in specs {
        match resolver.resolve(spec).await {
            Ok(addrs) => {
                previous.insert(spec.clone(), addrs);
            }
            Err(e) => {
                tracing::warn!(error = %e, "Cannot resolve a cluster peer; keeping its last addresses.");
            }
        }
    }
    previous.values().flatten().copied().collect()
}

/// Resolves the specs now and then every `refresh` (every 2 s at first while nothing
/// resolved), publishing the addresses on the returned channel until `cancel`.
pub async fn spawn(
    resolver: Resolver,
    specs: Vec<PeerSpec>,
    refresh: Duration,
    cancel: CancellationToken,
) -> watch::Receiver<BTreeSet<SocketAddr>> {
    let mut known = BTreeMap::new();
    let first = resolve_all(&resolver, &specs, &mut known).await;
    let (tx, rx) = watch::channel(first);
    if specs.iter().all(|s| matches!(s, PeerSpec::Addr(_))) {
        return rx;
    }
    tokio::spawn(async move {
        loop {
            let wait = if tx.borrow().is_empty() {
                START_RETRY.min(refresh)
            } else {
                refresh
            };
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
            let now = resolve_all(&resolver, &specs, &mut known).await;
            tx.send_if_modified(|cur| {
                if *cur == now {
                    false
                } else {
                    tracing::info!(peers = ?now, "Cluster peer addresses changed.");
                    *cur = now;
                    true
                }
            });
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_specs() {
        assert_eq!(
            PeerSpec::parse("10.0.0.1:9094").unwrap(),
            PeerSpec::Addr("10.0.0.1:9094".parse().unwrap())
        );
        assert_eq!(
            PeerSpec::parse("[::1]:9094").unwrap(),
            PeerSpec::Addr("[::1]:9094".parse().unwrap())
        );
        assert_eq!(
            PeerSpec::parse("am.example:9094").unwrap(),
            PeerSpec::Host {
                host: "am.example".into(),
                port: 9094
            }
        );
        assert_eq!(
            PeerSpec::parse("dns+srv://_am._udp.example").unwrap(),
            PeerSpec::Srv("_am._udp.example".into())
        );
        assert_eq!(
            PeerSpec::parse("_am._udp.example.").unwrap(),
            PeerSpec::Srv("_am._udp.example.".into())
        );
        for bad in [
            "am.example",
            "am.example:port",
            ":9094",
            "dns+srv://",
            "x:70000",
        ] {
            let e = PeerSpec::parse(bad).unwrap_err().to_string();
            assert!(e.contains("--cluster.peer"), "{bad}: {e}");
        }
    }
}
