//! Three real tocsin peers on 127.0.0.1, found through a DNS server the test runs (SRV and A
//! records): they become one cluster (status, `amtool cluster show`, metrics), a silence made
//! on one is in force on the others within a second, and a fourth peer with another key is
//! refused by all.

use std::net::Ipv4Addr;
use std::time::Duration;

use tokio::time::Instant;

use crate::support::daemon::Daemon;
use crate::support::dns::DnsServer;
use crate::support::peers::{free_udp_port, start_on_free_port};

const CONFIG: &str = "route:\n  receiver: r\nreceivers:\n- name: r\n";
const SRV: &str = "_tocsin._udp.cluster.test";

/// Starts a peer listening on `port`; its log if it exits first (the port was taken).
fn peer(
    name: &str,
    port: u16,
    peer_flag: &str,
    dns: &DnsServer,
    key: &std::path::Path,
    settle: &str,
) -> Result<Daemon, String> {
    Daemon::try_start_with(
        CONFIG,
        &[
            &format!("--cluster.listen-address=127.0.0.1:{port}"),
            &format!("--cluster.peer={peer_flag}"),
            &format!("--cluster.peer-name={name}"),
            &format!("--cluster.dns-server={}", dns.addr),
            &format!("--cluster.key-file={}", key.display()),
            "--cluster.gossip-interval=100ms",
            &format!("--cluster.settle-timeout={settle}"),
        ],
    )
}

/// The peer names `/api/v2/status` lists, and the status.
async fn members(d: &Daemon) -> (Vec<String>, String) {
    let s = d.get_json("/api/v2/status").await;
    let names = s["cluster"]["peers"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| p["name"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default();
    (
        names,
        s["cluster"]["status"].as_str().unwrap_or("").to_owned(),
    )
}

async fn wait_members(d: &Daemon, want: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (names, status) = members(d).await;
        if names == want && status == "ready" {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "members {names:?} ({status}), want {want:?} ready; log:\n{}",
            d.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn three_peers_found_by_dns_share_silences_and_refuse_a_wrong_key() {
    let dns = DnsServer::start();
    let mut ports = [free_udp_port(), free_udp_port(), free_udp_port()];
    for i in 1..=3 {
        dns.set_a(&format!("tocsin-{i}.cluster.test"), &[Ipv4Addr::LOCALHOST]);
    }
    let publish = |ports: &[u16; 3]| {
        dns.set_srv(
            SRV,
            &[
                (ports[0], "tocsin-1.cluster.test"),
                (ports[1], "tocsin-2.cluster.test"),
                (ports[2], "tocsin-3.cluster.test"),
            ],
        )
    };
    publish(&ports);
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("cluster.key");
    std::fs::write(&key, "correct horse battery staple\n").unwrap();
    let wrong = keys.path().join("wrong.key");
    std::fs::write(&wrong, "another secret, not the cluster's").unwrap();

    // The three ways of naming peers: SRV with and without the scheme, and host:port (A).
    // Each starts on its port, or on a new one (published first) if another process took it.
    let start = |ports: &mut [u16; 3], i: usize, flag: &str| {
        let before = *ports;
        let (port, d) = start_on_free_port(ports[i], free_udp_port, |port| {
            let mut now = before;
            now[i] = port;
            publish(&now);
            peer(&format!("peer-{}", i + 1), port, flag, &dns, &key, "10s")
        });
        ports[i] = port;
        d
    };
    let p1 = start(&mut ports, 0, &format!("dns+srv://{SRV}"));
    let p2 = start(&mut ports, 1, SRV);
    let by_address = format!("tocsin-1.cluster.test:{}", ports[0]);
    let p3 = start(&mut ports, 2, &by_address);
    let all = ["peer-1", "peer-2", "peer-3"];
    for p in [&p1, &p2, &p3] {
        wait_members(p, &all).await;
    }
    let status = p2.get_json("/api/v2/status").await;
    assert_eq!(status["cluster"]["name"], "peer-2");
    assert_eq!(
        status["cluster"]["peers"][0]["address"],
        format!("127.0.0.1:{}", ports[0])
    );
    let m = p2.metrics().await;
    for line in [
        "alertmanager_cluster_enabled 1",
        "alertmanager_cluster_members 3",
        "alertmanager_cluster_failed_peers 0",
        "alertmanager_peer_position 1",
        "alertmanager_cluster_health_score 0",
    ] {
        assert!(m.lines().any(|l| l == line), "no {line:?} in:\n{m}");
    }
    // The gossip's bandwidth, both ways.
    for name in [
        "tocsin_cluster_bytes_sent_total ",
        "tocsin_cluster_bytes_received_total ",
    ] {
        let bytes = m
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse::<f64>().ok());
        assert!(bytes.is_some_and(|b| b > 0.0), "{name}{bytes:?} in:\n{m}");
    }
    if let Some(amtool) = crate::support::debian_tool("amtool") {
        let out = std::process::Command::new(amtool)
            .arg(format!("--alertmanager.url=http://{}/", p1.addr))
            .args(["cluster", "show", "-o", "extended"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "amtool: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for want in [
            "Cluster Status:  ready",
            "Node Name:       peer-1",
            "peer-2",
            "peer-3",
        ] {
            assert!(
                text.contains(want),
                "amtool cluster show lacks {want}: {text}"
            );
        }
    }

    // A silence made on peer 2 is in force on 1 and 3 within a second.
    let body = serde_json::json!({
        "matchers": [{"name": "alertname", "value": "Disk", "isRegex": false, "isEqual": true}],
        // A past start is clamped to now.
        "startsAt": "2020-01-01T00:00:00Z",
        "endsAt": "2099-01-01T00:00:00Z",
        "createdBy": "test",
        "comment": "replicated",
    });
    let c = reqwest::Client::new();
    let r = c
        .post(p2.url("/api/v2/silences"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let created = Instant::now();
    let id = r.json::<serde_json::Value>().await.unwrap()["silenceID"]
        .as_str()
        .unwrap()
        .to_owned();
    for p in [&p1, &p3] {
        loop {
            let r = c
                .get(p.url(&format!("/api/v2/silence/{id}")))
                .send()
                .await
                .unwrap();
            if r.status() == 200 {
                let s: serde_json::Value = r.json().await.unwrap();
                assert_eq!(s["status"]["state"], "active");
                assert_eq!(s["comment"], "replicated");
                break;
            }
            assert!(
                created.elapsed() < Duration::from_secs(1),
                "silence {id} not on {} after 1 s",
                p.addr
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    // A peer with another key, pointed at peer 1: refused by everyone, sees no one.
    let (_, intruder) = start_on_free_port(free_udp_port(), free_udp_port, |port| {
        peer(
            "intruder",
            port,
            &format!("tocsin-1.cluster.test:{}", ports[0]),
            &dns,
            &wrong,
            "60s",
        )
    });
    // Never synced with the peer it was given: settling, not ready.
    let ready = reqwest::get(intruder.url("/-/ready")).await.unwrap();
    assert_eq!(ready.status(), 503);
    assert!(ready.text().await.unwrap().contains("settling"));
    assert_eq!(members(&intruder).await.1, "settling");
    assert_eq!(
        reqwest::get(p1.url("/-/ready")).await.unwrap().status(),
        200
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !p1.log_text().contains("Refused a cluster message") {
        assert!(
            Instant::now() < deadline,
            "peer 1 logged no refusal:\n{}",
            p1.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(p1.log_text().contains("another --cluster.key-file"));
    // The counter follows within a gossip round.
    let refused = |m: &str| {
        m.lines()
            .any(|l| l.starts_with("tocsin_cluster_messages_refused_total ") && !l.ends_with(" 0"))
    };
    loop {
        let m = p1.metrics().await;
        if refused(&m) {
            break;
        }
        assert!(Instant::now() < deadline, "no refusal counted:\n{m}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(members(&intruder).await.0, ["intruder"]);
    assert_eq!(members(&p1).await.0, all);
    let r = c
        .get(intruder.url(&format!("/api/v2/silence/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "the intruder must not learn the silence");
}

/// Starts a clustered tocsin with `extra` flags (`{dir}` stands for a temp dir holding the
/// config and a key file) that must stop at start-up: its exit code and stderr.
fn start_refused(extra: &[&str]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tocsin.yml"), CONFIG).unwrap();
    std::fs::write(dir.path().join("key"), "a key of sixteen bytes or more").unwrap();
    let d = dir.path().display().to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .arg(format!("--config.file={d}/tocsin.yml"))
        .arg(format!("--storage.path={d}/data"))
        .arg("--web.listen-address=127.0.0.1:0")
        .arg("--cluster.listen-address=127.0.0.1:0")
        .args(extra.iter().map(|a| a.replace("{dir}", &d)))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn clustering_without_a_key_file_refuses_to_start() {
    let (code, err) = start_refused(&[]);
    assert_eq!(code, Some(1));
    assert!(err.contains("--cluster.key-file"), "{err}");
}

/// A `--cluster.tls-config` file that cannot be used stops start-up naming the file (the
/// flag's validation in depth is unit-tested in cmd/cluster_flags.rs and webconfig).
#[tokio::test]
async fn a_missing_cluster_tls_config_refuses_to_start() {
    let (code, err) = start_refused(&["--cluster.tls-config={dir}/tls.yml"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("--cluster.tls-config") && err.contains("tls.yml: cannot read"),
        "{err}"
    );
}

#[tokio::test]
async fn a_cluster_port_taken_before_the_start_is_replaced_by_another() {
    // What another process on the machine may do between the pick and the daemon's bind.
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let taken_port = taken.local_addr().unwrap().port();
    let dns = DnsServer::start();
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("cluster.key");
    std::fs::write(&key, "correct horse battery staple\n").unwrap();
    let mut tried = Vec::new();
    let (port, d) = start_on_free_port(taken_port, free_udp_port, |port| {
        tried.push(port);
        peer("alone", port, "", &dns, &key, "1s")
    });
    assert_eq!(tried[0], taken_port);
    assert_ne!(port, taken_port);
    let status = d.get_json("/api/v2/status").await;
    assert_eq!(
        status["cluster"]["peers"][0]["address"],
        format!("127.0.0.1:{port}"),
        "{status}"
    );
}
