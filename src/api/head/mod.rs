//! HTTP/1 request heads, read before hyper reads them, so that no request gets the HTTP layer's
//! bare answer (a status with an empty body) and request targets Alertmanager takes are taken.
//!
//! Go's server (Alertmanager) accepts a raw `"`, `<`, `>`, `` ` ``, `#` or a byte over 0x7f in a
//! request target (curl sends `?filter=alertname="x"` as typed); hyper's URI parser refuses them
//! with a 400 and no body. [`Heads`] sees every head of a connection first: it percent-encodes
//! those bytes (the API decodes them again, so the request means what it meant to Go), and
//! answers what hyper would refuse (a malformed head, an invalid `Content-Length`, a head over
//! the size limits, a head that stops arriving) itself, with a body that says why, in
//! Alertmanager's JSON error shape under `/api/v2` and plain text elsewhere.
//!
//! To find the next head it follows the message framing: a `Content-Length` body is passed on
//! untouched, and so is a chunked body, whose chunk sizes and trailers are read as hyper reads
//! them (a body hyper would refuse is left to hyper, whose error the API answers with a body
//! that says why). A request asking for an upgrade goes on as HTTP/1.1 (no route of ours
//! switches protocols; its `Upgrade` header is renamed so hyper does not wait for one), and so
//! does a `CONNECT` (no route opens a tunnel; the method is renamed for hyper and given back by
//! the server). After a malformed chunked body or an
//! HTTP/2 preface it stops looking and passes the rest of the connection through as it comes. [`Heads`] is the sans-IO core,
//! [`Guarded`] the stream wrapper the server puts between the socket (or TLS) and hyper.

mod guarded;
mod h2;

use std::time::Duration;

use warp::http::StatusCode;

pub use guarded::Guarded;

/// The limits a head is read under.
#[derive(Debug, Clone, Copy)]
pub struct HeadLimits {
    /// The largest head read (request line and headers); over it, 431 (414 while the request
    /// line is not even complete).
    pub max_head: usize,
    /// The longest request target (`--web.max-url-bytes`; 414 above).
    pub max_url: usize,
    /// The most header fields read (431 above).
    pub max_fields: usize,
    /// `--web.read-header-timeout`: how long a begun head may take to arrive (408 after).
    pub timeout: Duration,
    /// Whether an HTTP/2 preface is served (TLS with `http2`); if not, it is refused with 505.
    pub h2: bool,
    /// The flag `max_head` comes from, named in the refusal.
    pub head_flag: &'static str,
    /// The value of that flag.
    pub head_flag_value: usize,
}

impl HeadLimits {
    /// The header list size (names, values and 32 octets per field, RFC 9113 6.5.2) HTTP/2's
    /// layer refuses itself: twice the flag and more, so that the API sees (and refuses, with
    /// a body) any list HTTP/1.1 would take. [`Guarded`] gives h2's refusal a body too.
    pub fn h2_header_list(&self) -> usize {
        self.max_head
            .saturating_add(self.max_fields.saturating_mul(32))
    }
}

/// A head refused: the answer to send before closing the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The status code.
    pub status: StatusCode,
    /// Why, as the body says it.
    pub message: String,
    /// The request path, when it could be read (picks the JSON or the text shape).
    pub path: String,
    /// The limit's flag when a limit refused it (counted in `tocsin_requests_limited_total`).
    pub limit: Option<&'static str>,
}

impl Refusal {
    fn new(status: StatusCode, path: &str, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            message: message.into(),
            path: path.to_owned(),
            limit: None,
        }
    }

    /// The whole HTTP/1.1 answer, closing the connection, with `headers` added (the web
    /// config's `http_server_config.headers`; a name or value not valid in HTTP is left out, as
    /// on every other answer).
    pub fn to_bytes(&self, headers: &[(String, String)]) -> Vec<u8> {
        let (content_type, body) =
            super::limits::refusal_body(&self.path, self.status, &self.message);
        let mut out = format!(
            "HTTP/1.1 {} {}\r\ncontent-type: {content_type}\r\ncache-control: no-store\r\n\
             connection: close\r\ncontent-length: {}\r\n",
            self.status.as_u16(),
            self.status.canonical_reason().unwrap_or(""),
            body.len()
        )
        .into_bytes();
        for (k, v) in headers {
            if warp::http::HeaderName::from_bytes(k.as_bytes()).is_ok()
                && warp::http::HeaderValue::from_str(v).is_ok()
            {
                out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
            }
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&body);
        out
    }
}

/// What the bytes being read are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The first bytes of a connection that may be an HTTP/2 preface.
    Preface,
    /// A request head (possibly not begun).
    Head,
    /// So many bytes of a `Content-Length` body.
    Body(u64),
    /// A chunked body, at this point of its framing.
    Chunked(Chunk),
    /// Everything as it comes, to the end of the connection.
    Through,
    /// A head was refused; nothing more is read.
    Refused,
}

/// Where a chunked body is (hyper's decoder's states, so both agree where the body ends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// The first digit of a chunk size.
    Start,
    /// More digits of a chunk size (the size so far).
    Size(u64),
    /// Blanks after the size.
    SizeLws(u64),
    /// A chunk extension (the size).
    Extension(u64),
    /// The LF ending the size line.
    SizeLf(u64),
    /// So many bytes of chunk data.
    Data(u64),
    /// The CR after the data.
    DataCr,
    /// The LF after the data.
    DataLf,
    /// After the last chunk: CR of the final blank line, or a trailer's first byte (trailer
    /// lines so far, trailer bytes so far).
    EndCr(usize, usize),
    /// Inside a trailer line.
    Trailer(usize, usize),
    /// The LF ending a trailer line.
    TrailerLf(usize, usize),
    /// The final LF.
    EndLf,
    /// The body is over.
    Done,
}

/// hyper's bound on the chunk extension bytes of one body.
const CHUNK_EXTENSIONS_LIMIT: u64 = 16 << 10;

/// hyper's bound on a chunked body's trailer bytes (it is given no other).
const TRAILER_LIMIT: usize = 16 << 10;

impl Chunk {
    /// The state after `b`, or `None` where hyper's decoder fails; `extensions` counts the
    /// chunk extension bytes of the body, as hyper does.
    fn next(self, b: u8, max_trailers: usize, extensions: &mut u64) -> Option<Chunk> {
        fn digit(b: u8) -> Option<u64> {
            (b as char).to_digit(16).map(u64::from)
        }
        let grow = |size: u64, d: u64| size.checked_mul(16)?.checked_add(d);
        Some(match self {
            Chunk::Start => Chunk::Size(digit(b)?),
            Chunk::Size(n) => match b {
                b'\t' | b' ' => Chunk::SizeLws(n),
                b';' => Chunk::Extension(n),
                b'\r' => Chunk::SizeLf(n),
                _ => Chunk::Size(grow(n, digit(b)?)?),
            },
            Chunk::SizeLws(n) => match b {
                b'\t' | b' ' => Chunk::SizeLws(n),
                b';' => Chunk::Extension(n),
                b'\r' => Chunk::SizeLf(n),
                _ => return None,
            },
            Chunk::Extension(n) => match b {
                b'\r' => Chunk::SizeLf(n),
                b'\n' => return None,
                _ => {
                    *extensions += 1;
                    if *extensions >= CHUNK_EXTENSIONS_LIMIT {
                        return None;
                    }
                    Chunk::Extension(n)
                }
            },
            Chunk::SizeLf(n) => match (b, n) {
                (b'\n', 0) => Chunk::EndCr(0, 0),
                (b'\n', n) => Chunk::Data(n),
                _ => return None,
            },
            Chunk::Data(_) => return None,
            Chunk::DataCr => (b == b'\r').then_some(Chunk::DataLf)?,
            Chunk::DataLf => (b == b'\n').then_some(Chunk::Start)?,
            Chunk::EndCr(lines, bytes) => match b {
                b'\r' => Chunk::EndLf,
                _ => Chunk::Trailer(lines, bytes + 1),
            },
            Chunk::Trailer(lines, bytes) => {
                if bytes + 1 >= TRAILER_LIMIT {
                    return None;
                }
                match b {
                    b'\r' => Chunk::TrailerLf(lines, bytes + 1),
                    _ => Chunk::Trailer(lines, bytes + 1),
                }
            }
            Chunk::TrailerLf(lines, bytes) => {
                if b != b'\n' || lines >= max_trailers || bytes + 1 >= TRAILER_LIMIT {
                    return None;
                }
                Chunk::EndCr(lines + 1, bytes + 1)
            }
            Chunk::EndLf => (b == b'\n').then_some(Chunk::Done)?,
            Chunk::Done => return None,
        })
    }
}

/// The most header fields [`HeadLimits::max_fields`] may allow.
pub const MAX_FIELDS: usize = 512;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The heads of one connection (sans-IO): bytes in, the same bytes out with each head's target
/// encoded where hyper would refuse it, or a [`Refusal`].
#[derive(Debug)]
pub struct Heads {
    state: State,
    /// The head read so far (empty between messages).
    head: Vec<u8>,
    /// How much of `head` has been searched for its end.
    scanned: usize,
    /// The chunk extension bytes of the chunked body being read.
    extensions: u64,
    limits: HeadLimits,
    /// Whether the connection began with an HTTP/2 preface (and is served).
    h2: bool,
}

impl Heads {
    /// A new connection's.
    pub fn new(limits: HeadLimits) -> Heads {
        Heads {
            state: State::Preface,
            head: Vec::new(),
            scanned: 0,
            extensions: 0,
            limits,
            h2: false,
        }
    }

    /// Whether a head has begun and is not complete (the read timeout runs).
    pub fn head_begun(&self) -> bool {
        matches!(self.state, State::Preface | State::Head) && !self.head.is_empty()
    }

    /// Whether the rest of the connection passes through untouched.
    pub fn through(&self) -> bool {
        self.state == State::Through
    }

    /// Whether the connection is HTTP/2 (its preface, which is passed on, was read).
    pub fn h2(&self) -> bool {
        self.h2
    }

    /// The bytes of a body (or of a chunk's data) still to come, when they are being read.
    pub fn body_left(&self) -> Option<u64> {
        match self.state {
            State::Body(n) | State::Chunked(Chunk::Data(n)) => Some(n),
            _ => None,
        }
    }

    /// Notes that `n` body bytes were passed on without [`Heads::feed`].
    pub fn body_read(&mut self, n: u64) {
        match self.state {
            State::Body(left) => {
                let left = left.saturating_sub(n);
                self.state = if left == 0 {
                    State::Head
                } else {
                    State::Body(left)
                };
            }
            State::Chunked(Chunk::Data(left)) => {
                let left = left.saturating_sub(n);
                self.state = State::Chunked(if left == 0 {
                    Chunk::DataCr
                } else {
                    Chunk::Data(left)
                });
            }
            _ => {}
        }
    }

    /// The refusal for a head that did not arrive within the timeout.
    pub fn timed_out(&mut self) -> Refusal {
        self.state = State::Refused;
        let path = guess_path(&self.head);
        Refusal {
            limit: Some("web.read-header-timeout"),
            ..Refusal::new(
                StatusCode::REQUEST_TIMEOUT,
                &path,
                format!(
                    "request headers not received within {:?} (--web.read-header-timeout)",
                    self.limits.timeout
                ),
            )
        }
    }

    /// Moves `input` on to `out`, each completed head checked and its target encoded where
    /// needed. After a refusal nothing more is accepted.
    pub fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<(), Refusal> {
        while !input.is_empty() {
            match self.state {
                State::Refused => return Ok(()),
                State::Through => {
                    out.extend_from_slice(input);
                    return Ok(());
                }
                State::Body(left) | State::Chunked(Chunk::Data(left)) => {
                    let n = input.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                    out.extend_from_slice(&input[..n]);
                    input = &input[n..];
                    self.body_read(n as u64);
                }
                State::Chunked(c) => {
                    out.push(input[0]);
                    // Trailers: at most as many lines as hyper reads header fields (the server
                    // lets it read one more than `max_fields`, to find more and refuse them).
                    let max_trailers = self.limits.max_fields + 1;
                    self.state = match c.next(input[0], max_trailers, &mut self.extensions) {
                        Some(Chunk::Done) => State::Head,
                        Some(next) => State::Chunked(next),
                        // A malformed body: hyper refuses it, and the API answers why.
                        None => State::Through,
                    };
                    input = &input[1..];
                }
                State::Preface => {
                    let n = input.len().min(PREFACE.len() - self.head.len());
                    self.head.extend_from_slice(&input[..n]);
                    input = &input[n..];
                    if self.head == PREFACE {
                        if !self.limits.h2 {
                            return Err(self.refuse(Refusal::new(
                                StatusCode::HTTP_VERSION_NOT_SUPPORTED,
                                "",
                                "HTTP/2 is served only over TLS with http2 enabled in \
                                 --web.config.file; use HTTP/1.1",
                            )));
                        }
                        out.extend_from_slice(&self.head);
                        self.head.clear();
                        self.state = State::Through;
                        self.h2 = true;
                    } else if !PREFACE.starts_with(&self.head) {
                        // Not a preface: read what came as a head.
                        self.state = State::Head;
                        let begun = std::mem::take(&mut self.head);
                        self.feed(&begun, out)?;
                    }
                }
                State::Head => {
                    if self.head.is_empty() {
                        // Empty lines before a request line are ignored (RFC 9112, 2.2).
                        let skip = input
                            .iter()
                            .take_while(|&&b| b == b'\r' || b == b'\n')
                            .count();
                        input = &input[skip..];
                        if input.is_empty() {
                            return Ok(());
                        }
                    }
                    // At most one byte past the limit is kept, to know it was passed.
                    let room = (self.limits.max_head + 1).saturating_sub(self.head.len());
                    let take = input.len().min(room);
                    let start = self.head.len();
                    self.head.extend_from_slice(&input[..take]);
                    match head_end(&self.head, self.scanned) {
                        Some(end) => {
                            input = &input[end - start..];
                            self.head.truncate(end);
                            self.finish(out)?;
                        }
                        None => {
                            input = &input[take..];
                            self.scanned = self.head.len();
                            if self.head.len() > self.limits.max_head {
                                return Err(self.too_long());
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn refuse(&mut self, r: Refusal) -> Refusal {
        self.state = State::Refused;
        self.head.clear();
        r
    }

    /// 431 for a head over the limit, 414 when not even its request line fitted.
    fn too_long(&mut self) -> Refusal {
        let path = guess_path(&self.head);
        let limits = self.limits;
        let r = if !self.head.contains(&b'\n') {
            Refusal {
                limit: Some("web.max-url-bytes"),
                ..Refusal::new(
                    StatusCode::URI_TOO_LONG,
                    &path,
                    url_message(None, limits.max_url),
                )
            }
        } else {
            Refusal {
                limit: Some(limits.head_flag),
                ..Refusal::new(
                    StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                    &path,
                    format!(
                        "request headers are more than {} bytes (--{}={})",
                        limits.max_head, limits.head_flag, limits.head_flag_value
                    ),
                )
            }
        };
        self.refuse(r)
    }

    /// Checks the complete head in `self.head`, writes it (its target encoded if need be) to
    /// `out`, and sets what comes next.
    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), Refusal> {
        let mut head = std::mem::take(&mut self.head);
        self.scanned = 0;
        go_version(&mut head);
        let checked = check_head(&head, &self.limits);
        self.head = head;
        let (next, target, renames) = match checked {
            Ok(c) => c,
            Err(r) => return Err(self.refuse(r)),
        };
        for (at, new) in renames {
            if let Some(old) = self.head.get_mut(at..at + new.len()) {
                old.copy_from_slice(new);
            }
        }
        match target {
            None => out.extend_from_slice(&self.head),
            Some((range, encoded)) => {
                out.extend_from_slice(&self.head[..range.start]);
                out.extend_from_slice(encoded.as_bytes());
                out.extend_from_slice(&self.head[range.end..]);
            }
        }
        self.head.clear();
        self.state = next;
        self.extensions = 0;
        Ok(())
    }
}

/// Bytes of a head replaced by as many others: (offset, new bytes).
type Rename = (usize, &'static [u8]);

/// What an `Upgrade` header's name becomes (as long, so nothing else moves).
const UPGRADE_RENAMED: &[u8] = b"Ignored";

/// What the method `CONNECT` becomes for hyper (as long): hyper holds a connection after any
/// `CONNECT` for the tunnel a 2xx would open, and hands it over instead of closing it, so the
/// refusal of a bad head after it was never written. No route of ours opens a tunnel (they
/// answer 404 or 405), so the request goes on as any other; the server gives it its method back
/// ([`CONNECT_RENAMED`] is restored in `server.rs`).
pub const CONNECT_RENAMED: &str = "CONNECt";

/// Go serves any `HTTP/1.x` as HTTP/1.1 (httparse knows only 1.0 and 1.1): the minor digit of
/// a request line's `HTTP/1.2` to `HTTP/1.9` becomes 1.
fn go_version(head: &mut [u8]) {
    let line = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let end = if line > 0 && head[line - 1] == b'\r' {
        line - 1
    } else {
        line
    };
    let spaces = head[..end].iter().filter(|&&b| b == b' ').count();
    if spaces == 2
        && end >= 8
        && head[end - 8..end - 1] == *b"HTTP/1."
        && matches!(head[end - 1], b'2'..=b'9')
        && head[end - 9] == b' '
    {
        head[end - 1] = b'1';
    }
}

/// The end of the head in `buf` (just past its blank line), searching from about `from`.
fn head_end(buf: &[u8], from: usize) -> Option<usize> {
    let from = from.saturating_sub(2).max(1);
    (from..buf.len()).find_map(|i| {
        let blank = buf[i] == b'\n'
            && (buf[i - 1] == b'\n' || (buf[i - 1] == b'\r' && i >= 2 && buf[i - 2] == b'\n'));
        blank.then_some(i + 1)
    })
}

/// The request path of a head that may not parse (for the shape of its refusal).
fn guess_path(head: &[u8]) -> String {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let target = line.split(|&b| b == b' ').nth(1).unwrap_or_default();
    let path = target.split(|&b| b == b'?').next().unwrap_or_default();
    String::from_utf8_lossy(path).into_owned()
}

fn url_message(len: Option<usize>, max: usize) -> String {
    match len {
        Some(n) => format!("request URL is {n} bytes, more than --web.max-url-bytes={max}"),
        None => format!("request URL is more than --web.max-url-bytes={max}"),
    }
}

/// A target with its offending bytes encoded: where it sits in the head, and the new text.
type Rewrite = (std::ops::Range<usize>, String);

/// What follows a well-formed head, and its target rewritten if it must be; or why it is
/// refused.
fn check_head(
    head: &[u8],
    limits: &HeadLimits,
) -> Result<(State, Option<Rewrite>, Vec<Rename>), Refusal> {
    // Uninitialised on the stack: no allocation nor zeroing per head.
    let mut fields =
        [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_FIELDS];
    let mut req = httparse::Request::new(&mut []);
    let path = guess_path(head);
    let bad = |msg: String| Refusal::new(StatusCode::BAD_REQUEST, &path, msg);
    match req.parse_with_uninit_headers(head, &mut fields[..limits.max_fields.min(MAX_FIELDS)]) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(bad("incomplete request head".into())),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(Refusal {
                limit: Some(limits.head_flag),
                ..Refusal::new(
                    StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                    &path,
                    format!("request has more than {} header fields", limits.max_fields),
                )
            });
        }
        Err(httparse::Error::Version) => {
            // Go answers a well-formed version other than 1.x with 505.
            let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let version = line.splitn(3, |&b| b == b' ').nth(2).unwrap_or_default();
            let status = match version {
                [b'H', b'T', b'T', b'P', b'/', m, b'.', n]
                    if m.is_ascii_digit() && n.is_ascii_digit() =>
                {
                    StatusCode::HTTP_VERSION_NOT_SUPPORTED
                }
                _ => StatusCode::BAD_REQUEST,
            };
            return Err(Refusal::new(
                status,
                &path,
                format!(
                    "malformed request line {:?}: unsupported HTTP version (HTTP/1.0 and HTTP/1.1 \
                     are served)",
                    String::from_utf8_lossy(&line[..line.len().min(200)]).trim_end()
                ),
            ));
        }
        Err(e) => {
            let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
            return Err(bad(format!(
                "malformed request: {e} (request line {:?})",
                String::from_utf8_lossy(&line[..line.len().min(200)]).trim_end()
            )));
        }
    }
    let (Some(method), Some(target), Some(version)) = (req.method, req.path, req.version) else {
        return Err(bad("incomplete request line".into()));
    };
    if warp::http::Method::from_bytes(method.as_bytes()).is_err() {
        return Err(bad(format!("invalid method {method:?}")));
    }
    if target.len() > limits.max_url {
        return Err(Refusal {
            limit: Some("web.max-url-bytes"),
            ..Refusal::new(
                StatusCode::URI_TOO_LONG,
                &path,
                url_message(Some(target.len()), limits.max_url),
            )
        });
    }
    let rewrite = match target_rewrite(target) {
        Ok(None) => None,
        Ok(Some(encoded)) => {
            let start = target.as_ptr() as usize - head.as_ptr() as usize;
            Some((start..start + target.len(), encoded))
        }
        Err(e) => {
            return Err(bad(format!("invalid request target {target:?}: {e}")));
        }
    };
    // The framing, as hyper reads it (RFC 9112, 6.3).
    let mut next = State::Head;
    let mut length: Option<u64> = None;
    let mut chunked = None;
    let mut renames: Vec<Rename> = Vec::new();
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            if version == 0 {
                return Err(bad("Transfer-Encoding in an HTTP/1.0 request".into()));
            }
            let last = h.value.rsplit(|&b| b == b',').next().unwrap_or_default();
            chunked = Some(last.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        } else if h.name.eq_ignore_ascii_case("content-length") {
            for v in h.value.split(|&b| b == b',') {
                let n = parse_length(v.trim_ascii()).ok_or_else(|| {
                    bad(format!(
                        "invalid Content-Length {:?}",
                        String::from_utf8_lossy(h.value)
                    ))
                })?;
                if length.is_some_and(|l| l != n) {
                    return Err(bad(
                        "Content-Length given twice with different values".into()
                    ));
                }
                length = Some(n);
            }
        } else if h.name.eq_ignore_ascii_case("upgrade") {
            // No route of ours switches protocols: the connection goes on as HTTP/1.1 (as
            // `curl --http2` finds after its `Upgrade: h2c`). The header is renamed so hyper
            // does not hold the connection for an upgrade that never comes (it would close it
            // without the answer to a refused head after it).
            renames.push((
                h.name.as_ptr() as usize - head.as_ptr() as usize,
                UPGRADE_RENAMED,
            ));
        }
    }
    match chunked {
        Some(true) if next == State::Head => next = State::Chunked(Chunk::Start),
        Some(true) => {}
        Some(false) => {
            return Err(bad(
                "Transfer-Encoding must end with chunked in a request".into()
            ));
        }
        None => {
            if let (State::Head, Some(n)) = (next, length.filter(|&n| n > 0)) {
                next = State::Body(n);
            }
        }
    }
    if method == "CONNECT" {
        renames.push((
            method.as_ptr() as usize - head.as_ptr() as usize,
            CONNECT_RENAMED.as_bytes(),
        ));
    }
    Ok((next, rewrite, renames))
}

/// A `Content-Length` value: digits only.
fn parse_length(v: &[u8]) -> Option<u64> {
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(v).ok()?.parse().ok()
}

/// The bytes of an origin-form target encoded (`%XX`) so that hyper takes it: those Go takes
/// raw and the URI parser refuses (`"`, `<`, `>`, `` ` ``, bytes over 0x7e), and `#`, which
/// Go reads as part of the target (hyper would cut the rest off as a fragment). `None` when
/// the target is taken as it is.
fn target_rewrite(target: &str) -> Result<Option<String>, warp::http::uri::InvalidUri> {
    fn keep(b: u8) -> bool {
        matches!(b, 0x21 | 0x24..=0x3B | 0x3D | 0x3F..=0x5F | 0x61..=0x7E)
    }
    let parsed = warp::http::Uri::try_from(target);
    let needs = target.starts_with('/') && target.bytes().any(|b| !keep(b));
    if !needs {
        return parsed.map(|_| None);
    }
    let mut encoded = String::with_capacity(target.len() + 16);
    for b in target.bytes() {
        if keep(b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    warp::http::Uri::try_from(encoded.as_str())?;
    Ok(Some(encoded))
}

#[cfg(test)]
mod tests;
