use proptest::prelude::*;

use super::*;

fn limits() -> HeadLimits {
    HeadLimits {
        max_head: 1024,
        max_url: 256,
        max_fields: 20,
        timeout: Duration::from_secs(10),
        h2: false,
        head_flag: "web.max-header-bytes",
        head_flag_value: 512,
    }
}

fn run(limits: HeadLimits, input: &[u8]) -> (Vec<u8>, Result<(), Refusal>) {
    let mut h = Heads::new(limits);
    let mut out = Vec::new();
    let r = h.feed(input, &mut out);
    (out, r)
}

fn refused(input: &str) -> Refusal {
    run(limits(), input.as_bytes()).1.unwrap_err()
}

#[test]
fn requests_go_through_unchanged() {
    let input = b"\r\nPOST /api/v2/alerts HTTP/1.1\r\nHost: t\r\nContent-Length: 13\r\n\r\n\
                  [{\"a\":\"<\"}]\nGET /?a=b HTTP/1.1\nHost: t\n\nGET / HTTP/1.0\r\n\r\n";
    let (out, r) = run(limits(), input);
    r.unwrap();
    assert_eq!(out, input[2..]);
}

#[test]
fn targets_go_takes_are_encoded() {
    let (out, r) = run(
        limits(),
        b"GET /api/v2/alerts?filter=alertname=\"a<b>\"&x=`#\xc3\xa9 HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    r.unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "GET /api/v2/alerts?filter=alertname=%22a%3Cb%3E%22&x=%60%23%C3%A9 HTTP/1.1\r\nHost: t\r\n\r\n"
    );
    // In the path too; a body that looks like a head is left alone, the next head is encoded.
    let input = b"POST /a<b> HTTP/1.1\r\nContent-Length: 22\r\n\r\nGET /\"x\" HTTP/1.1\r\n\r\nGET /\"y\" HTTP/1.1\r\n\r\n";
    let (out, r) = run(limits(), input);
    r.unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "POST /a%3Cb%3E HTTP/1.1\r\nContent-Length: 22\r\n\r\nGET /\"x\" HTTP/1.1\r\n\r\nGET /%22y%22 HTTP/1.1\r\n\r\n"
    );
}

#[test]
fn malformed_heads_are_refused_with_a_reason() {
    let r = refused("G@T / HTTP/1.1\r\n\r\n");
    assert_eq!(r.status, 400);
    assert!(r.message.contains("malformed request"), "{}", r.message);
    let r = refused("GET /api/v2/alerts HTTP/1.1\r\nBad Name: x\r\n\r\n");
    assert_eq!(
        (r.status.as_u16(), r.path.as_str()),
        (400, "/api/v2/alerts")
    );
    assert_eq!(refused("GET / HTTP/9.9\r\n\r\n").status, 505);
    assert_eq!(refused("GET / HTTP/2.0\r\n\r\n").status, 505);
    // Any HTTP/1.x is HTTP/1.1, as Go serves it.
    let (out, r) = run(limits(), b"GET / HTTP/1.7\r\n\r\nGET /x HTTP/1.0\n\n");
    r.unwrap();
    assert_eq!(out, b"GET / HTTP/1.1\r\n\r\nGET /x HTTP/1.0\n\n");
    assert_eq!(refused("GET / HTTX/1.1\r\n\r\n").status, 400);
    // A space in the target: Go reads "b HTTP/1.1" as the version, malformed.
    assert_eq!(refused("GET /a b HTTP/1.1\r\n\r\n").status, 400);
    assert_eq!(refused("GET /\x01 HTTP/1.1\r\n\r\n").status, 400);
    let r = refused("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n");
    assert!(r.message.contains("Content-Length"), "{}", r.message);
    let r = refused("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n");
    assert_eq!(r.status, 400);
    let r = refused("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n");
    assert!(r.message.contains("chunked"), "{}", r.message);
    assert_eq!(
        refused("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n").status,
        400
    );
    assert_eq!(refused("GET http://<>/ HTTP/1.1\r\n\r\n").status, 400);
}

#[test]
fn limits_refuse_with_their_flag() {
    let many: String = (0..30).map(|i| format!("X-{i}: v\r\n")).collect();
    let r = refused(&format!("GET / HTTP/1.1\r\n{many}\r\n"));
    assert_eq!(
        (r.status.as_u16(), r.limit),
        (431, Some("web.max-header-bytes"))
    );
    let r = refused(&format!(
        "GET / HTTP/1.1\r\nX: {}\r\n\r\n",
        "v".repeat(2000)
    ));
    assert_eq!(
        (r.status.as_u16(), r.limit),
        (431, Some("web.max-header-bytes"))
    );
    assert!(
        r.message.contains("--web.max-header-bytes=512"),
        "{}",
        r.message
    );
    let r = refused(&format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(300)));
    assert_eq!(
        (r.status.as_u16(), r.limit),
        (414, Some("web.max-url-bytes"))
    );
    assert!(r.message.contains("301 bytes"), "{}", r.message);
    // A request line that never ends.
    let r = refused(&format!("GET /{}", "a".repeat(2000)));
    assert_eq!(
        (r.status.as_u16(), r.limit),
        (414, Some("web.max-url-bytes"))
    );
}

#[test]
fn answers_say_why_in_the_shape_of_the_path() {
    let r = refused("GET /api/v2/alerts HTTP/1.1\r\nContent-Length: x\r\n\r\n");
    let bytes = String::from_utf8(r.to_bytes(&[])).unwrap();
    assert!(bytes.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{bytes}");
    assert!(
        bytes.contains("content-type: application/json\r\n"),
        "{bytes}"
    );
    let body = bytes.split("\r\n\r\n").nth(1).unwrap();
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["code"], 400);
    assert!(v["message"].as_str().unwrap().contains("Content-Length"));
    let r = refused("GET /-/healthy HTTP/1.1\r\nContent-Length: x\r\n\r\n");
    let bytes = String::from_utf8(r.to_bytes(&[])).unwrap();
    assert!(bytes.contains("content-type: text/plain"), "{bytes}");
    assert!(bytes.ends_with("invalid Content-Length \"x\"\n"), "{bytes}");
}

#[test]
fn answers_carry_the_configured_headers_and_only_valid_ones() {
    let r = refused("GET /x HTTP/1.1\r\nContent-Length: x\r\n\r\n");
    let headers = [
        (
            "Strict-Transport-Security".to_owned(),
            "max-age=31536000".to_owned(),
        ),
        ("X-Frame-Options".to_owned(), "deny".to_owned()),
        ("X-Bad".to_owned(), "a\r\nInjected: yes".to_owned()),
    ];
    let bytes = String::from_utf8(r.to_bytes(&headers)).unwrap();
    let (head, body) = bytes.split_once("\r\n\r\n").unwrap();
    assert!(
        head.contains("\r\nStrict-Transport-Security: max-age=31536000\r\n"),
        "{head}"
    );
    assert!(head.ends_with("\r\nX-Frame-Options: deny"), "{head}");
    assert!(!bytes.contains("Injected"), "{bytes}");
    assert_eq!(
        head.lines()
            .find_map(|l| l.strip_prefix("content-length: ")),
        Some(body.len().to_string().as_str())
    );
}

#[test]
fn heads_after_chunked_bodies_are_read() {
    // Sizes in hex with extensions and blanks, a body that looks like a head, trailers: the
    // body passes as it is, the head after it is encoded.
    let input = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\
                  1\r\n\"\r\nA ;x=y\r\nGET /<> HT\r\n0\r\nX-T: 1\r\n\r\n\
                  GET /\"x\" HTTP/1.1\r\n\r\n";
    let (out, r) = run(limits(), input);
    r.unwrap();
    let want = String::from_utf8_lossy(input).replace("/\"x\"", "/%22x%22");
    assert_eq!(String::from_utf8_lossy(&out), want);
    // A bad head after a chunked body is refused with a reason, as after any other.
    let r = refused(
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG@T / HTTP/1.1\r\n\r\n",
    );
    assert_eq!(r.status.as_u16(), 400);
    let long = format!(
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\nGET /{} HTTP/1.1\r\n\r\n",
        "a".repeat(300)
    );
    assert_eq!(refused(&long).status.as_u16(), 414);
    // A body hyper refuses (a bad size, no CRLF after the data, an endless extension) is left
    // to hyper: what follows passes as it comes.
    let ext = format!("1;{}\r\n", "e".repeat(17 << 10));
    for body in ["zz\r\n", "1\r\nab\r\n", "1\n\"\r\n", ext.as_str()] {
        let input = format!(
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n{body}G@T / HTTP/1.1\r\n\r\n"
        );
        let (out, r) = run(limits(), input.as_bytes());
        r.unwrap();
        assert_eq!(out, input.as_bytes(), "{body:?}");
    }
}

#[test]
fn upgrades_go_on_as_http1_and_h2_passes_through() {
    // No route agrees to an upgrade: the header is renamed (hyper would hold the connection
    // for the upgrade) and the next head on the connection is read like any, refused with a
    // body when it is bad.
    let first = "GET / HTTP/1.1\r\nConnection: Upgrade, HTTP2-Settings\r\nupgrade: h2c\r\n\r\n";
    let ok = format!("{first}GET /?a=\"b\" HTTP/1.1\r\nHost: t\r\n\r\n");
    let (out, r) = run(limits(), ok.as_bytes());
    r.unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "GET / HTTP/1.1\r\nConnection: Upgrade, HTTP2-Settings\r\nIgnored: h2c\r\n\r\n\
         GET /?a=%22b%22 HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    let bad = format!("{first}\x00\x01 junk\r\n\r\n");
    assert_eq!(run(limits(), bad.as_bytes()).1.unwrap_err().status, 400);
    // No route opens a tunnel either: CONNECT is renamed for hyper (the server gives it back),
    // the connection goes on as HTTP/1.1, and a bad head after it is refused with a body.
    let connect = "CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n";
    let ok = format!("{connect}GET /?a=\"b\" HTTP/1.1\r\n\r\n");
    let (out, r) = run(limits(), ok.as_bytes());
    r.unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "CONNECt h:443 HTTP/1.1\r\nHost: h:443\r\n\r\nGET /?a=%22b%22 HTTP/1.1\r\n\r\n"
    );
    let bad = format!("{connect}\x00\x01 junk\r\n\r\n");
    assert_eq!(run(limits(), bad.as_bytes()).1.unwrap_err().status, 400);
    let mut input = PREFACE.to_vec();
    input.extend_from_slice(b"\x00\x00\x12\x04");
    let (out, r) = run(
        HeadLimits {
            h2: true,
            ..limits()
        },
        &input,
    );
    r.unwrap();
    assert_eq!(out, input);
    assert_eq!(run(limits(), &input).1.unwrap_err().status, 505);
}

#[test]
fn a_late_head_times_out() {
    let mut h = Heads::new(limits());
    let mut out = Vec::new();
    assert!(!h.head_begun());
    h.feed(b"GET /api/v2/alerts HTTP/1.1\r\nX-Slow: ", &mut out)
        .unwrap();
    assert!(h.head_begun() && out.is_empty());
    let r = h.timed_out();
    assert_eq!(
        (r.status.as_u16(), r.limit),
        (408, Some("web.read-header-timeout"))
    );
    assert_eq!(r.path, "/api/v2/alerts");
    // Nothing more is read after a refusal.
    h.feed(b"\r\n\r\n", &mut out).unwrap();
    assert!(out.is_empty());
}

fn stream() -> impl Strategy<Value = Vec<u8>> {
    let target = "/[a-z\"<>#`{}%?=&/]{0,20}";
    let body = prop::collection::vec(any::<u8>(), 0..40);
    let request = (target, body, any::<bool>(), any::<bool>()).prop_map(|(t, b, lf, chunked)| {
        let nl = if lf { "\n" } else { "\r\n" };
        if chunked {
            // Content-Length stays, for the check below; Transfer-Encoding wins.
            let mut r = format!(
                "POST {t} HTTP/1.1{nl}Host: t{nl}Transfer-Encoding: chunked{nl}Content-Length: 0{nl}{nl}"
            )
            .into_bytes();
            for part in b.chunks(7) {
                r.extend(format!("{:x}\r\n", part.len()).as_bytes());
                r.extend(part);
                r.extend(b"\r\n");
            }
            r.extend(b"0\r\n\r\n");
            return r;
        }
        let mut r = format!(
            "POST {t} HTTP/1.1{nl}Host: t{nl}Content-Length: {}{nl}{nl}",
            b.len()
        )
        .into_bytes();
        r.extend(b);
        r
    });
    prop::collection::vec(request, 1..5).prop_map(|rs| rs.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// However the bytes arrive, the same bytes come out, and every head hyper then reads
    /// parses.
    #[test]
    fn splitting_changes_nothing(input in stream(), cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8)) {
        let (whole, r) = run(limits(), &input);
        prop_assert!(r.is_ok(), "{:?}", r);
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(input.len() + 1)).collect();
        cuts.sort_unstable();
        let mut h = Heads::new(limits());
        let mut out = Vec::new();
        let mut at = 0;
        for c in cuts.into_iter().chain([input.len()]) {
            h.feed(&input[at..c], &mut out).unwrap();
            at = c;
        }
        prop_assert_eq!(&out, &whole);
        // What comes out is what hyper takes: each head parses with a valid URI.
        let mut rest = &whole[..];
        while !rest.is_empty() {
            let mut fields = [httparse::EMPTY_HEADER; 8];
            let mut req = httparse::Request::new(&mut fields);
            let n = match req.parse(rest) {
                Ok(httparse::Status::Complete(n)) => n,
                other => return Err(TestCaseError::fail(format!("{other:?}"))),
            };
            prop_assert!(warp::http::Uri::try_from(req.path.unwrap()).is_ok(), "{:?}", req.path);
            let len: usize = req.headers.iter().find(|h| h.name == "Content-Length")
                .map(|h| std::str::from_utf8(h.value).unwrap().parse().unwrap()).unwrap();
            let len = if req.headers.iter().any(|h| h.name == "Transfer-Encoding") {
                // Past the last chunk: the first "0\r\n\r\n" at a chunk boundary.
                let mut at = n;
                loop {
                    let line = rest[at..].windows(2).position(|w| w == b"\r\n").unwrap();
                    let size = usize::from_str_radix(std::str::from_utf8(&rest[at..at + line]).unwrap(), 16).unwrap();
                    at += line + 2;
                    if size == 0 {
                        break at + 2 - n;
                    }
                    at += size + 2;
                }
            } else {
                len
            };
            rest = &rest[n + len..];
        }
    }

    /// Any bytes: no panic, and the output never outgrows the input by more than the encoding.
    #[test]
    fn any_bytes_are_survived(input in prop::collection::vec(any::<u8>(), 0..2048)) {
        let (out, _) = run(limits(), &input);
        prop_assert!(out.len() <= input.len() * 3);
    }
}

/// A refused client still sending is read until it stops, not cut off: all of its bytes are
/// taken and the answer comes after them.
#[tokio::test]
async fn a_refused_client_still_sending_is_read_before_the_close() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut client, server) = tokio::io::duplex(4096);
    let mut guarded = Guarded::new(server, limits(), |_: &Refusal| Vec::new());
    let sender = tokio::spawn(async move {
        let mut head = b"GET /api/v2/status HTTP/1.1\r\nX-Big: ".to_vec();
        head.extend(vec![b'v'; 256 << 10]);
        let sent = client.write_all(&head).await;
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).await.unwrap();
        (sent, String::from_utf8_lossy(&answer).into_owned())
    });
    // hyper's side: the input ends at the refused head; the answer is written at shutdown.
    let mut got = Vec::new();
    guarded.read_to_end(&mut got).await.unwrap();
    assert!(got.is_empty());
    guarded.shutdown().await.unwrap();
    drop(guarded);
    let (sent, answer) = sender.await.unwrap();
    assert!(sent.is_ok(), "{sent:?}");
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
}
