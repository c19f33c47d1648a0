//! A no-op HTTP/1.1 server: reads each request (headers + Content-Length body) and answers
//! `200 OK` with an empty body. `bench/run --check-generator` points wrk at it to show how many
//! alerts/s the load generator can push when the server costs (almost) nothing.
//! Usage: noop 127.0.0.1:PORT

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

fn serve(mut s: TcpStream) -> std::io::Result<()> {
    s.set_nodelay(true)?;
    let mut buf = vec![0u8; 1 << 20];
    let (mut start, mut end) = (0usize, 0usize);
    loop {
        // Find the end of the headers.
        let hdr_end = loop {
            if let Some(p) = buf[start..end].windows(4).position(|w| w == b"\r\n\r\n") {
                break start + p + 4;
            }
            if start > 0 {
                buf.copy_within(start..end, 0);
                end -= start;
                start = 0;
            }
            let n = s.read(&mut buf[end..])?;
            if n == 0 {
                return Ok(());
            }
            end += n;
        };
        let head = std::str::from_utf8(&buf[start..hdr_end]).unwrap_or("");
        let len: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length").then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0);
        // Consume the body without keeping it.
        let have = end - hdr_end;
        if have >= len {
            start = hdr_end + len;
        } else {
            let mut left = len - have;
            while left > 0 {
                let cap = left.min(buf.len());
                let n = s.read(&mut buf[..cap])?;
                if n == 0 {
                    return Ok(());
                }
                left -= n;
            }
            start = 0;
            end = 0;
        }
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")?;
    }
}

fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:19190".into());
    let l = TcpListener::bind(&addr).expect("bind");
    for s in l.incoming().flatten() {
        std::thread::spawn(move || {
            let _ = serve(s);
        });
    }
}
