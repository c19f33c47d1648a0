//! Flush benchmark: N aggregation groups flushing at once to a webhook receiver and to a
//! PagerDuty-like endpoint; how long until every notification is delivered (std only).
//!
//! The sink accepts HTTP/1.1 keep-alive connections (one thread each), answers `200 ok` for the
//! webhook path and `202 {"status":"success",..}` for `/v2/enqueue` (after checking the body
//! names a `routing_key` and an `event_action`), and stamps each arrival. The driver POSTs N
//! alerts, one per group (`group` label, routed with `group_by: [group]`), in batches of 256;
//! every group flushes `group_wait` after its creation, so all N flush at about the same time.
//!
//! Reported (JSON on stdout): `delivered` (2N expected), `first_ms`/`last_ms` after the POSTs
//! were answered, `spread_ms` (last - first arrival), `per_s` = delivered / spread.
//!
//! Usage: flush --sink-port P --target HOST:PORT --groups N [--timeout S]

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Default)]
struct Seen {
    webhook: u64,
    pagerduty: u64,
    bad: u64,
    first: Option<Instant>,
    last: Option<Instant>,
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

fn serve(mut s: TcpStream, seen: Arc<Mutex<Seen>>) {
    let _ = s.set_nodelay(true);
    let mut buf: Vec<u8> = Vec::new();
    let mut tmp = vec![0u8; 1 << 16];
    loop {
        let head_end = loop {
            if let Some(p) = find(&buf, b"\r\n\r\n") {
                break p + 4;
            }
            match s.read(&mut tmp) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&tmp[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
            .unwrap_or(0);
        while buf.len() < head_end + len {
            match s.read(&mut tmp) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&tmp[..n]),
            }
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
            g.last = Some(now);
        }
        const PD_BODY: &str = r#"{"status":"success","message":"Event processed"}"#;
        let resp = match (ok, pd) {
            (false, _) => "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".to_owned(),
            (true, true) => format!(
                "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{PD_BODY}",
                PD_BODY.len()
            ),
            (true, false) => {
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok".to_owned()
            }
        };
        if s.write_all(resp.as_bytes()).is_err() {
            return;
        }
        buf.drain(..head_end + len);
    }
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
    out.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |k: &str| args.iter().position(|a| a == k).map(|i| args[i + 1].clone());
    let sink_port: u16 = arg("--sink-port").expect("--sink-port").parse().unwrap();
    let target = arg("--target").expect("--target");
    let groups: usize = arg("--groups").map_or(1000, |v| v.parse().unwrap());
    let timeout = Duration::from_secs(arg("--timeout").map_or(120, |v| v.parse().unwrap()));

    let seen = Arc::new(Mutex::new(Seen::default()));
    let listener = TcpListener::bind(("127.0.0.1", sink_port)).expect("bind the sink");
    {
        let seen = Arc::clone(&seen);
        std::thread::spawn(move || {
            for s in listener.incoming().flatten() {
                let seen = Arc::clone(&seen);
                std::thread::spawn(move || serve(s, seen));
            }
        });
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let starts = {
        // RFC 3339 of `now` (UTC), without a date crate.
        let (d, s) = (now / 86400, now % 86400);
        let (y, m, dd) = civil(d as i64);
        format!("{y:04}-{m:02}-{dd:02}T{:02}:{:02}:{:02}Z", s / 3600, s % 3600 / 60, s % 60)
    };
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
    let ms = |t: Option<Instant>| t.map_or(-1.0, |t| t.saturating_duration_since(posted).as_secs_f64() * 1000.0);
    let spread = match (g.first, g.last) {
        (Some(a), Some(b)) => b.duration_since(a).as_secs_f64(),
        _ => 0.0,
    };
    let delivered = g.webhook + g.pagerduty;
    println!(
        r#"{{"groups":{groups},"expected":{want},"delivered":{delivered},"webhook":{},"pagerduty":{},"bad":{},"first_ms":{:.1},"last_ms":{:.1},"spread_ms":{:.1},"per_s":{:.0}}}"#,
        g.webhook,
        g.pagerduty,
        g.bad,
        ms(g.first),
        ms(g.last),
        spread * 1000.0,
        if spread > 0.0 { delivered as f64 / spread } else { 0.0 }
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
