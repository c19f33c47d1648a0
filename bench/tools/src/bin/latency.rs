//! POST -> webhook latency: a webhook sink and a prober in one process (std only).
//!
//! The sink accepts HTTP/1.1 keep-alive connections (one thread each), stamps each request with
//! `Instant::now()` when its first bytes arrive, answers `200` at once, and pulls every
//! `"probe_id":"..."` out of the body. The prober POSTs one alert per probe to the server under
//! test, open-loop every `--interval-ms`, through a pool of worker threads that each own one
//! keep-alive connection (so a slow POST does not hold back the next probe); a worker stamps the
//! send just before `write_all`. latency = arrival - send, same monotonic clock, same process.
//! It also reports how long the POST itself took to be answered (`ack_*`), which separates
//! waiting in the server's ingest path from the notification pipeline.
//!
//! Each probe has a unique `probe_id` label and `alertname=LatencyProbe`; `bench/latency.yml`
//! routes those with `group_by: [alertname, probe_id]`, `group_wait: 0s`, `group_interval: 1h`,
//! so every probe is a new group, flushed at once.
//!
//! `--self-test` points the prober at the sink itself: the figure is then the harness's own cost
//! (loopback + both ends), which has to stay well under 0.1 ms.
//!
//! Usage: latency --sink-port P (--target HOST:PORT | --self-test) [--probes N] [--warmup N]
//!        [--interval-ms F] [--start-delay S] [--drain S] [--workers N]
//! Prints one JSON object on stdout; progress on stderr.

// The repository's clippy.toml bans the wall clock (tocsin reads time through its clock module);
// a latency harness measures real time by definition.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Arrival instants by probe id, plus a count of webhook requests; the condvar wakes the drain.
struct Arrivals {
    map: Mutex<(HashMap<String, Instant>, u64)>,
    cv: Condvar,
}

/// Reads one HTTP/1.1 request or response from `s` into `buf` (which may already hold bytes).
/// Returns (head_end, total_len, first_byte_instant) or None on EOF.
fn read_message(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<(usize, usize, Instant)> {
    let mut first = if buf.is_empty() { None } else { Some(Instant::now()) };
    let mut tmp = [0u8; 65536];
    loop {
        if let Some(h) = find(buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..h]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
                .unwrap_or(0);
            if buf.len() >= h + 4 + len {
                return Some((h + 4, h + 4 + len, first.unwrap_or_else(Instant::now)));
            }
        }
        let n = s.read(&mut tmp).ok()?;
        if n == 0 {
            return None;
        }
        if first.is_none() {
            first = Some(Instant::now());
        }
        buf.extend_from_slice(&tmp[..n]);
    }
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

fn sink_conn(mut s: TcpStream, arr: Arc<Arrivals>) {
    let _ = s.set_nodelay(true);
    let mut buf = Vec::with_capacity(1 << 16);
    while let Some((body_start, end, t)) = read_message(&mut s, &mut buf) {
        if s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").is_err() {
            return;
        }
        let body = &buf[body_start..end];
        let key = b"\"probe_id\":\"";
        let mut ids = Vec::new();
        let mut i = 0;
        while let Some(p) = find(&body[i..], key) {
            let st = i + p + key.len();
            let Some(e) = body[st..].iter().position(|&c| c == b'"') else { break };
            ids.push(String::from_utf8_lossy(&body[st..st + e]).into_owned());
            i = st + e;
        }
        {
            let mut m = arr.map.lock().unwrap();
            m.1 += 1;
            for id in ids {
                m.0.entry(id).or_insert(t);
            }
        }
        arr.cv.notify_all();
        buf.drain(..end);
    }
}

/// RFC 3339 UTC with milliseconds, from the wall clock (only used in the alert body).
fn rfc3339(offset_s: i64) -> String {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let secs = d.as_secs() as i64 + offset_s;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // civil_from_days (H. Hinnant)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        d.subsec_millis()
    )
}

fn probe_request(host: &str, path: &str, id: &str) -> Vec<u8> {
    let body = format!(
        concat!(
            r#"[{{"labels":{{"alertname":"LatencyProbe","probe_id":"{id}","instance":"prober:9100","job":"bench","#,
            r#""severity":"info","env":"bench","region":"local","team":"perf"}},"#,
            r#""annotations":{{"summary":"latency probe","description":"probe {id}","runbook_url":"https://example.com/rb"}},"#,
            r#""startsAt":"{s}","endsAt":"{e}","generatorURL":"http://prober.example.com/probe"}}]"#
        ),
        id = id,
        s = rfc3339(0),
        e = rfc3339(3600)
    );
    let mut r = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body.as_bytes());
    r
}

struct Opts {
    sink_port: u16,
    target: String,
    self_test: bool,
    probes: usize,
    warmup: usize,
    interval: Duration,
    start_delay: Duration,
    drain: Duration,
    workers: usize,
}

fn parse() -> Opts {
    let mut o = Opts {
        sink_port: 0,
        target: String::new(),
        self_test: false,
        probes: 200,
        warmup: 5,
        interval: Duration::from_millis(20),
        start_delay: Duration::ZERO,
        drain: Duration::from_secs(10),
        workers: 8,
    };
    let mut a = std::env::args().skip(1);
    while let Some(k) = a.next() {
        let mut v = || a.next().unwrap_or_else(|| panic!("{k} needs a value"));
        match k.as_str() {
            "--sink-port" => o.sink_port = v().parse().unwrap(),
            "--target" => o.target = v(),
            "--self-test" => o.self_test = true,
            "--probes" => o.probes = v().parse().unwrap(),
            "--warmup" => o.warmup = v().parse().unwrap(),
            "--interval-ms" => o.interval = Duration::from_secs_f64(v().parse::<f64>().unwrap() / 1e3),
            "--start-delay" => o.start_delay = Duration::from_secs_f64(v().parse().unwrap()),
            "--drain" => o.drain = Duration::from_secs_f64(v().parse().unwrap()),
            "--workers" => o.workers = v().parse().unwrap(),
            _ => panic!("unknown argument {k}"),
        }
    }
    if o.self_test {
        o.target = format!("127.0.0.1:{}", o.sink_port);
    }
    assert!(!o.target.is_empty(), "--target or --self-test");
    o
}

fn main() {
    let o = parse();
    let arr = Arc::new(Arrivals { map: Mutex::new((HashMap::new(), 0)), cv: Condvar::new() });
    let l = TcpListener::bind(("127.0.0.1", o.sink_port)).expect("bind sink port");
    {
        let arr = arr.clone();
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                let arr = arr.clone();
                std::thread::spawn(move || sink_conn(s, arr));
            }
        });
    }
    eprintln!("sink ready");
    std::thread::sleep(o.start_delay);
    let path = if o.self_test { "/hook" } else { "/api/v2/alerts" };

    // Workers: each owns one keep-alive connection; (id, record?) jobs come from a shared queue.
    type Job = (String, bool);
    let (jtx, jrx) = mpsc::channel::<Job>();
    let jrx = Arc::new(Mutex::new(jrx));
    // (probe id, counted?, sent at, POST answered at, status)
    let (rtx, rrx) = mpsc::channel::<(String, bool, Instant, Instant, u16)>();
    let mut handles = Vec::new();
    for _ in 0..o.workers {
        let (jrx, rtx, target) = (jrx.clone(), rtx.clone(), o.target.clone());
        handles.push(std::thread::spawn(move || {
            // Connect up front, so no probe pays for a connection (or the sink's thread spawn).
            let mut conn: Option<TcpStream> = TcpStream::connect(&target).ok();
            if let Some(s) = &conn {
                s.set_nodelay(true).unwrap();
            }
            let mut buf = Vec::new();
            loop {
                let job = jrx.lock().unwrap().recv();
                let Ok((id, record)) = job else { return };
                let req = probe_request(&target, path, &id);
                let mut status = 0u16;
                let mut sent_at = Instant::now();
                for _attempt in 0..2 {
                    if conn.is_none() {
                        let s = TcpStream::connect(&target).expect("connect to target");
                        s.set_nodelay(true).unwrap();
                        conn = Some(s);
                        buf.clear();
                    }
                    let s = conn.as_mut().unwrap();
                    sent_at = Instant::now();
                    if s.write_all(&req).is_ok() {
                        if let Some((_, end, _)) = read_message(s, &mut buf) {
                            status = String::from_utf8_lossy(&buf[9..12]).parse().unwrap_or(0);
                            buf.drain(..end);
                            break;
                        }
                    }
                    conn = None; // closed by the server: reconnect once
                }
                rtx.send((id, record, sent_at, Instant::now(), status)).unwrap();
            }
        }));
    }
    drop(rtx);

    std::thread::sleep(Duration::from_millis(50)); // let the workers connect
    let run = format!("{:x}", std::process::id() as u64 * 1000 + SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() % 1000);
    for i in 0..o.warmup {
        jtx.send((format!("{run}-w{i}"), false)).unwrap();
        rrx.recv().unwrap();
        std::thread::sleep(o.interval);
    }
    let mut next = Instant::now();
    for i in 0..o.probes {
        jtx.send((format!("{run}-{i}"), true)).unwrap();
        next += o.interval;
        if let Some(d) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
    }
    drop(jtx);
    let mut sends = HashMap::new();
    let mut statuses: HashMap<u16, u64> = HashMap::new();
    let mut acks: Vec<f64> = Vec::new();
    for (id, record, t, acked, st) in rrx.iter() {
        if record {
            sends.insert(id, t);
            acks.push(acked.saturating_duration_since(t).as_secs_f64() * 1e3);
            *statuses.entry(st).or_default() += 1;
        }
    }
    let deadline = Instant::now() + o.drain;
    let mut m = arr.map.lock().unwrap();
    while sends.keys().any(|id| !m.0.contains_key(id)) {
        let Some(left) = deadline.checked_duration_since(Instant::now()) else { break };
        m = arr.cv.wait_timeout(m, left).unwrap().0;
    }
    let mut lat: Vec<f64> = sends
        .iter()
        .filter_map(|(id, t0)| m.0.get(id).map(|t| t.saturating_duration_since(*t0).as_secs_f64() * 1e3))
        .collect();
    lat.sort_by(f64::total_cmp);
    acks.sort_by(f64::total_cmp);
    let pct_of = |v: &[f64], q: f64| -> String {
        if v.is_empty() {
            "null".into()
        } else {
            format!("{:.3}", v[((q * v.len() as f64) as usize).min(v.len() - 1)])
        }
    };
    let pct = |q: f64| pct_of(&lat, q);
    let non2xx: u64 = statuses.iter().filter(|(k, _)| !(200..300).contains(*k)).map(|(_, v)| v).sum();
    let st: Vec<String> = statuses.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
    let ls: Vec<String> = lat.iter().map(|x| format!("{x:.3}")).collect();
    println!(
        "{{\"sent\":{},\"received\":{},\"lost\":{},\"p50_ms\":{},\"p90_ms\":{},\"p99_ms\":{},\"max_ms\":{},\"ack_p50_ms\":{},\"ack_p99_ms\":{},\"post_statuses\":{{{}}},\"post_non2xx\":{},\"sink_requests\":{},\"latencies_ms\":[{}]}}",
        sends.len(),
        lat.len(),
        sends.len() - lat.len(),
        pct(0.5),
        pct(0.9),
        pct(0.99),
        pct(1.0),
        pct_of(&acks, 0.5),
        pct_of(&acks, 0.99),
        st.join(","),
        non2xx,
        m.1,
        ls.join(",")
    );
    std::process::exit(0);
}
