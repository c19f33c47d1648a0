//! Flush benchmark: N aggregation groups flushing at once to a webhook receiver and to a
//! PagerDuty-like endpoint; how long until every notification is delivered (std only).
//!
//! The sink is one thread running an epoll loop over non-blocking HTTP/1.1 keep-alive
//! connections (listen backlog 4096), so the 2N connections a server may open at once cost the
//! harness neither a thread each nor a full accept queue: it measures the server, not itself. It
//! answers `200 ok` for the webhook path and `202 {"status":"success",..}` for `/v2/enqueue`
//! (after checking the body names a `routing_key` and an `event_action`), and stamps each
//! arrival. The driver POSTs N alerts, one per group (`group` label, routed with
//! `group_by: [group]`), in batches of 256; every group flushes `group_wait` after its creation,
//! so all N flush at about the same time.
//!
//! Reported (JSON on stdout): `post_ms`, how long the POSTs took (groups are created over that
//! time, so their flushes cannot all start together: a floor under the spread), `delivered` (2N
//! expected), `first_ms`/`last_ms` and the arrival percentiles `p50_ms`/`p90_ms`/`p99_ms` after
//! the POSTs were answered, `spread_ms` (last - first arrival), `per_s` = delivered / spread,
//! `connections` the sink accepted, the host's
//! `listen_overflows`/`listen_drops` during the run (should stay 0), and `harness_cpu_ms`, this
//! process's own CPU time (sink and driver), to show the harness was not the bound.
//!
//! Usage: flush --sink-port P --target HOST:PORT --groups N [--timeout S]

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Default)]
struct Seen {
    webhook: u64,
    pagerduty: u64,
    bad: u64,
    connections: u64,
    first: Option<Instant>,
    arrivals: Vec<Instant>,
    last: Option<Instant>,
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

/// One HTTP request parsed off a connection's buffer, if a whole one is there: returns the bytes
/// it took and the response to send.
fn handle(buf: &[u8], seen: &Mutex<Seen>) -> Option<(usize, &'static [u8])> {
    let head_end = find(buf, b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    if buf.len() < head_end + len {
        return None;
    }
    let now = Instant::now();
    let body = &buf[head_end..head_end + len];
    let pd = head.starts_with("post /v2/enqueue");
    let ok = if pd {
        find(body, b"\"routing_key\"").is_some() && find(body, b"\"event_action\"").is_some()
    } else {
        head.starts_with("post /hook")
    };
    {
        let mut g = seen.lock().unwrap();
        if !ok {
            g.bad += 1;
        } else if pd {
            g.pagerduty += 1;
        } else {
            g.webhook += 1;
        }
        g.first.get_or_insert(now);
        g.arrivals.push(now);
        g.last = Some(now);
    }
    let resp: &'static [u8] = match (ok, pd) {
        (false, _) => b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
        (true, true) => b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 48\r\n\r\n{\"status\":\"success\",\"message\":\"Event processed\"}",
        (true, false) => b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok",
    };
    Some((head_end + len, resp))
}

// epoll and listen(2) from the C library std already links (no crates): std has neither an
// event loop nor a way to choose the listen backlog (it uses 128).
#[cfg_attr(target_arch = "x86_64", repr(C, packed))]
#[cfg_attr(not(target_arch = "x86_64"), repr(C))]
#[derive(Clone, Copy)]
struct EpollEvent {
    events: u32,
    data: u64,
}
extern "C" {
    fn epoll_create1(flags: i32) -> i32;
    fn epoll_ctl(epfd: i32, op: i32, fd: i32, event: *mut EpollEvent) -> i32;
    fn epoll_wait(epfd: i32, events: *mut EpollEvent, maxevents: i32, timeout: i32) -> i32;
    fn listen(fd: i32, backlog: i32) -> i32;
    fn sysconf(name: i32) -> i64;
}
const EPOLLIN: u32 = 0x1;
const EPOLLOUT: u32 = 0x4;
const EPOLL_CTL_ADD: i32 = 1;
const EPOLL_CTL_MOD: i32 = 3;
const BACKLOG: i32 = 4096;

struct Conn {
    s: TcpStream,
    buf: Vec<u8>,
    out: Vec<u8>,
}

fn ctl(ep: i32, op: i32, fd: i32, events: u32, token: u64) {
    let mut ev = EpollEvent {
        events,
        data: token,
    };
    // SAFETY: plain syscall wrapper on fds this process owns, with a valid event pointer.
    let r = unsafe { epoll_ctl(ep, op, fd, &mut ev) };
    assert!(r == 0, "epoll_ctl: {}", std::io::Error::last_os_error());
}

/// The sink: one thread, one epoll loop, non-blocking keep-alive connections, so thousands of
/// connections opened at once cost neither a thread each nor a full accept queue (backlog 4096;
/// the kernel caps it at `net.core.somaxconn`).
fn sink(listener: TcpListener, seen: Arc<Mutex<Seen>>) {
    // SAFETY: listen(2) again on a listening socket only changes its backlog.
    let r = unsafe { listen(listener.as_raw_fd(), BACKLOG) };
    assert!(r == 0, "listen: {}", std::io::Error::last_os_error());
    listener.set_nonblocking(true).unwrap();
    // SAFETY: creates a new epoll fd; checked below.
    let ep = unsafe { epoll_create1(0) };
    assert!(
        ep >= 0,
        "epoll_create1: {}",
        std::io::Error::last_os_error()
    );
    ctl(ep, EPOLL_CTL_ADD, listener.as_raw_fd(), EPOLLIN, u64::MAX);
    let mut conns: HashMap<u64, Conn> = HashMap::new();
    let mut next: u64 = 0;
    let mut events = vec![EpollEvent { events: 0, data: 0 }; 1024];
    let mut tmp = vec![0u8; 1 << 16];
    loop {
        // SAFETY: `events` has room for its length in entries.
        let n = unsafe { epoll_wait(ep, events.as_mut_ptr(), events.len() as i32, -1) };
        if n < 0 {
            continue; // EINTR
        }
        for ev in &events[..n as usize] {
            let (token, flags) = (ev.data, ev.events);
            if token == u64::MAX {
                while let Ok((s, _)) = listener.accept() {
                    s.set_nonblocking(true).unwrap();
                    let _ = s.set_nodelay(true);
                    ctl(ep, EPOLL_CTL_ADD, s.as_raw_fd(), EPOLLIN, next);
                    conns.insert(
                        next,
                        Conn {
                            s,
                            buf: Vec::new(),
                            out: Vec::new(),
                        },
                    );
                    seen.lock().unwrap().connections += 1;
                    next += 1;
                }
                continue;
            }
            let Some(c) = conns.get_mut(&token) else {
                continue;
            };
            let mut close = false;
            if flags & !EPOLLOUT != 0 {
                // Readable, or hung up / in error (the read then tells which).
                loop {
                    match c.s.read(&mut tmp) {
                        Ok(0) => {
                            close = true;
                            break;
                        }
                        Ok(k) => c.buf.extend_from_slice(&tmp[..k]),
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(_) => {
                            close = true;
                            break;
                        }
                    }
                }
                let mut used = 0;
                while let Some((k, resp)) = handle(&c.buf[used..], &seen) {
                    used += k;
                    c.out.extend_from_slice(resp);
                }
                c.buf.drain(..used);
            }
            while !c.out.is_empty() && !close {
                match c.s.write(&c.out) {
                    Ok(k) => {
                        c.out.drain(..k);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => close = true,
                }
            }
            if close {
                conns.remove(&token); // closing the fd removes it from the epoll set
            } else if !c.out.is_empty() {
                ctl(
                    ep,
                    EPOLL_CTL_MOD,
                    c.s.as_raw_fd(),
                    EPOLLIN | EPOLLOUT,
                    token,
                );
            } else if flags & EPOLLOUT != 0 {
                ctl(ep, EPOLL_CTL_MOD, c.s.as_raw_fd(), EPOLLIN, token);
            }
        }
    }
}

/// This process's CPU time (user + system, all threads) in ms, from /proc/self/stat.
fn own_cpu_ms() -> f64 {
    let t = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = t.rsplit_once(") ").map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    const SC_CLK_TCK: i32 = 2;
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { sysconf(SC_CLK_TCK) }.max(1) as f64;
    f.get(11)
        .zip(f.get(12))
        .map_or(0.0, |(u, s)| (u + s) as f64 * 1000.0 / hz)
}

/// `TcpExtListenOverflows` and `ListenDrops` from /proc/net/netstat (all sockets on the host):
/// connections the kernel turned away because an accept queue was full.
fn listen_overflows() -> (u64, u64) {
    let t = std::fs::read_to_string("/proc/net/netstat").unwrap_or_default();
    let mut lines = t.lines().filter(|l| l.starts_with("TcpExt:"));
    let (Some(names), Some(vals)) = (lines.next(), lines.next()) else {
        return (0, 0);
    };
    let get = |k: &str| {
        names
            .split_whitespace()
            .zip(vals.split_whitespace())
            .find(|(n, _)| *n == k)
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0)
    };
    (get("ListenOverflows"), get("ListenDrops"))
}

fn post(target: &str, body: &str) -> u16 {
    let mut s = TcpStream::connect(target).expect("connect to the server");
    let req = format!(
        "POST /api/v2/alerts HTTP/1.1\r\nHost: {target}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .map(|i| args[i + 1].clone())
    };
    let sink_port: u16 = arg("--sink-port").expect("--sink-port").parse().unwrap();
    let target = arg("--target").expect("--target");
    let groups: usize = arg("--groups").map_or(1000, |v| v.parse().unwrap());
    let timeout = Duration::from_secs(arg("--timeout").map_or(120, |v| v.parse().unwrap()));

    let seen = Arc::new(Mutex::new(Seen::default()));
    let listener = TcpListener::bind(("127.0.0.1", sink_port)).expect("bind the sink");
    {
        let seen = Arc::clone(&seen);
        std::thread::spawn(move || sink(listener, seen));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let starts = {
        // RFC 3339 of `now` (UTC), without a date crate.
        let (d, s) = (now / 86400, now % 86400);
        let (y, m, dd) = civil(d as i64);
        format!(
            "{y:04}-{m:02}-{dd:02}T{:02}:{:02}:{:02}Z",
            s / 3600,
            s % 3600 / 60,
            s % 60
        )
    };
    let overflows0 = listen_overflows();
    let post_start = Instant::now();
    let cpu0 = own_cpu_ms();
    let ids: Vec<usize> = (0..groups).collect();
    for chunk in ids.chunks(256) {
        let alerts: Vec<String> = chunk
            .iter()
            .map(|i| {
                format!(
                    r#"{{"labels":{{"alertname":"FlushBench","group":"g{i}","instance":"host{i}:9100"}},"annotations":{{"summary":"bench"}},"startsAt":"{starts}","endsAt":"2099-01-01T00:00:00Z"}}"#
                )
            })
            .collect();
        let code = post(&target, &format!("[{}]", alerts.join(",")));
        assert_eq!(code, 200, "POST /api/v2/alerts answered {code}");
    }
    let posted = Instant::now();
    let want = 2 * groups as u64;
    let deadline = posted + timeout;
    loop {
        let g = seen.lock().unwrap();
        if g.webhook + g.pagerduty >= want || Instant::now() > deadline {
            break;
        }
        drop(g);
        std::thread::sleep(Duration::from_millis(2));
    }
    // A little longer, to catch duplicates.
    std::thread::sleep(Duration::from_millis(500));
    let g = seen.lock().unwrap();
    let ms = |t: Option<Instant>| {
        t.map_or(-1.0, |t| {
            t.saturating_duration_since(posted).as_secs_f64() * 1000.0
        })
    };
    let spread = match (g.first, g.last) {
        (Some(a), Some(b)) => b.duration_since(a).as_secs_f64(),
        _ => 0.0,
    };
    let delivered = g.webhook + g.pagerduty;
    let overflows1 = listen_overflows();
    let cpu = own_cpu_ms() - cpu0;
    let mut arr: Vec<f64> = g.arrivals.iter().map(|&t| ms(Some(t))).collect();
    arr.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        if arr.is_empty() {
            -1.0
        } else {
            arr[((arr.len() - 1) as f64 * p).round() as usize]
        }
    };
    println!(
        r#"{{"groups":{groups},"post_ms":{:.1},"expected":{want},"delivered":{delivered},"webhook":{},"pagerduty":{},"bad":{},"connections":{},"listen_overflows":{},"listen_drops":{},"p50_ms":{:.1},"p90_ms":{:.1},"p99_ms":{:.1},"harness_cpu_ms":{:.0},"first_ms":{:.1},"last_ms":{:.1},"spread_ms":{:.1},"per_s":{:.0}}}"#,
        posted.duration_since(post_start).as_secs_f64() * 1000.0,
        g.webhook,
        g.pagerduty,
        g.bad,
        g.connections,
        overflows1.0 - overflows0.0,
        overflows1.1 - overflows0.1,
        pct(0.5),
        pct(0.9),
        pct(0.99),
        cpu,
        ms(g.first),
        ms(g.last),
        spread * 1000.0,
        if spread > 0.0 {
            delivered as f64 / spread
        } else {
            0.0
        }
    );
}

/// Days since 1970-01-01 -> (year, month, day) (Howard Hinnant's civil_from_days).
fn civil(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}
