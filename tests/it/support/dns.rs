//! A small authoritative DNS server on 127.0.0.1 (UDP, port 0) for cluster discovery tests:
//! A and SRV records that a test sets and changes while it runs. Messages are parsed and built
//! with hickory's protocol types (the resolver's own), on a thread of its own so it answers
//! while the test blocks on starting a daemon. Stops on drop.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_resolver::proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_resolver::proto::rr::rdata::{A, SRV};
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};

/// The records served, by lower-case fully qualified name.
#[derive(Default)]
struct Zone {
    /// A records.
    a: HashMap<String, Vec<Ipv4Addr>>,
    /// SRV records: (port, target).
    srv: HashMap<String, Vec<(u16, String)>>,
}

/// A running DNS server.
pub struct DnsServer {
    /// Where it answers.
    pub addr: SocketAddr,
    /// Its records.
    zone: Arc<Mutex<Zone>>,
    /// Set on drop.
    stop: Arc<AtomicBool>,
}

fn fqdn(name: &str) -> String {
    let n = name.to_ascii_lowercase();
    if n.ends_with('.') { n } else { format!("{n}.") }
}

impl DnsServer {
    /// Starts the server with no records.
    pub fn start() -> DnsServer {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind DNS");
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let zone = Arc::new(Mutex::new(Zone::default()));
        let stop = Arc::new(AtomicBool::new(false));
        {
            let (zone, stop) = (Arc::clone(&zone), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while !stop.load(Ordering::Relaxed) {
                    let Ok((n, from)) = socket.recv_from(&mut buf) else {
                        continue;
                    };
                    let Ok(q) = Message::from_vec(&buf[..n]) else {
                        continue;
                    };
                    let answer = answer(&q, &zone.lock().unwrap());
                    if let Ok(bytes) = answer.to_vec() {
                        let _ = socket.send_to(&bytes, from);
                    }
                }
            });
        }
        DnsServer { addr, zone, stop }
    }

    /// Sets the A records of `name`.
    pub fn set_a(&self, name: &str, ips: &[Ipv4Addr]) {
        self.zone.lock().unwrap().a.insert(fqdn(name), ips.to_vec());
    }

    /// Sets the SRV records of `name`: (port, target) each.
    pub fn set_srv(&self, name: &str, targets: &[(u16, &str)]) {
        self.zone.lock().unwrap().srv.insert(
            fqdn(name),
            targets.iter().map(|(p, t)| (*p, fqdn(t))).collect(),
        );
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn answer(q: &Message, zone: &Zone) -> Message {
    let mut r = Message::new(q.metadata.id, MessageType::Response, OpCode::Query);
    r.metadata.authoritative = true;
    r.metadata.recursion_desired = q.metadata.recursion_desired;
    let mut known = false;
    for query in &q.queries {
        r.add_query(query.clone());
        let name = fqdn(&query.name().to_utf8());
        match query.query_type() {
            RecordType::A => {
                if let Some(ips) = zone.a.get(&name) {
                    known = true;
                    for ip in ips {
                        r.add_answer(Record::from_rdata(
                            query.name().clone(),
                            1,
                            RData::A(A(*ip)),
                        ));
                    }
                }
            }
            RecordType::SRV => {
                if let Some(targets) = zone.srv.get(&name) {
                    known = true;
                    for (port, target) in targets {
                        let target = Name::from_ascii(target).unwrap();
                        r.add_answer(Record::from_rdata(
                            query.name().clone(),
                            1,
                            RData::SRV(SRV::new(0, 0, *port, target)),
                        ));
                    }
                }
            }
            _ => known |= zone.a.contains_key(&name) || zone.srv.contains_key(&name),
        }
    }
    if !known {
        r.metadata.response_code = ResponseCode::NXDomain;
    }
    r
}
