//! HTTP/2 connections: the one answer the HTTP/2 layer gives itself, given a body.
//!
//! h2 refuses a request whose header list is over its limit (`max_header_list_size`, set to
//! twice `--web.max-header-bytes` and more, so that lists HTTP/1.1 would take reach the API,
//! which refuses those over the limit with a body) without asking the service: it sends a
//! `HEADERS` frame with `:status: 431`, the end of the stream and nothing else. [`Watch`] reads
//! the frames both ways and makes that answer one with a body that says why: the same header
//! block (its HPACK state is the client's too, so not a byte of it changes) without the end of
//! the stream, followed by `content-type`, `content-length` and the web config's headers as
//! literals that touch no table, then a `DATA` frame with the body.
//!
//! The answer is recognised by its shape, not by its value (HPACK would have to be decoded for
//! that): every answer of the API carries `date` and more, so a block of a lone `:status` (an
//! indexed field, or `:status` with a value of at most three octets) that ends its stream is
//! h2's. A `RST_STREAM` h2 sends after it (the request not read to its end) is made
//! `NO_ERROR`, as RFC 9113 (8.1) has a server end a request it answered early.
//!
//! The body's bytes count against the client's flow-control windows, which h2 does not know
//! of: h2 may already have used the whole connection window it knows. So a little of the
//! window the client gives ([`RESERVE`], at most half of each connection `WINDOW_UPDATE`) is
//! kept from h2, and a body is added only while what is kept holds it (and the stream's window,
//! as the client's `SETTINGS` set it). h2's count of the window is never more than the
//! client's. A client that never enlarges the connection window beyond its first 64 KiB (most
//! give megabytes at once) gets h2's answer as it is until its first update.
//!
//! Sans-IO: [`Watch::incoming`] reads (and may edit) the bytes on their way to hyper,
//! [`Watch::plan`], [`Watch::advance`] and [`Watch::absorb`] the bytes hyper writes.

use std::io::IoSlice;

/// The HTTP/2 client preface, which comes before the client's frames.
const PREFACE_LEN: usize = 24;
/// A frame header's length.
const HEADER_LEN: usize = 9;
const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const GOAWAY: u8 = 0x7;
const WINDOW_UPDATE: u8 = 0x8;
const CONTINUATION: u8 = 0x9;
const COMPRESSION_ERROR: u32 = 0x9;
const ENHANCE_YOUR_CALM: u32 = 0xb;
/// The longest `GOAWAY` gathered (h2's carry a few words of debug data).
const GOAWAY_MAX: usize = 64;
/// `:status: 431` as a literal without indexing.
const STATUS_431_LITERAL: &[u8] = b"\x08\x03431";
const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;
const SETTINGS_INITIAL_WINDOW_SIZE: u16 = 0x4;
/// Every window's size before `SETTINGS` or `WINDOW_UPDATE` change it (RFC 9113, 6.9.2).
const DEFAULT_WINDOW: i64 = 65_535;
/// The smallest `SETTINGS_MAX_FRAME_SIZE` a client may set: what a frame we add may carry.
const MIN_MAX_FRAME: usize = 16_384;
/// The longest block h2's bare answer can be (size updates, then one field).
const BARE_BLOCK_MAX: usize = 32;
/// The `:status` pseudo-header's index in HPACK's static table.
const STATUS_NAME_INDEX: u64 = 8;
/// The first index of HPACK's dynamic table.
const FIRST_DYNAMIC: u64 = 62;
/// How many streams answered this way are remembered (for their `RST_STREAM`).
const ANSWERED_KEPT: usize = 8;
/// The connection window kept from h2 for bodies (a body is about 200 bytes).
const RESERVE: i64 = 4096;

/// The body and headers of the answer that replaces h2's bare 431.
pub struct Answer {
    /// The header fields after `:status` (lower-case names).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

/// What to do with the bytes hyper writes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Write this many of them as they are (then [`Watch::advance`] by what was written).
    Through(usize),
    /// Hand them to [`Watch::absorb`].
    Absorb,
}

/// One HTTP/2 connection's frames, both ways.
#[derive(Debug)]
pub struct Watch {
    // Client to server.
    /// Preface bytes still to pass.
    preface_left: usize,
    /// The frame header being read (`in_hlen` bytes of it).
    in_hdr: [u8; HEADER_LEN],
    in_hlen: usize,
    /// Payload bytes of the current frame still to come.
    in_left: usize,
    /// The current frame's payload bytes kept (a `SETTINGS` entry, a window increment).
    in_part: [u8; 6],
    in_plen: usize,
    /// The client's `SETTINGS_INITIAL_WINDOW_SIZE`.
    stream_window: i64,
    /// The client's last header block: its stream, its bytes so far, whether it goes on.
    block_stream: u32,
    block_bytes: usize,
    block_open: bool,
    /// A header block this long (compressed) is over the list limit, or nearly.
    big_block: usize,
    /// The connection window's increments the client gave.
    conn_given: i64,

    // Server to client.
    /// Bytes of the current frame (header included) still to pass through unchanged.
    out_left: usize,
    /// A frame gathered whole before it is passed on (its header first).
    gather: Vec<u8>,
    /// `DATA` bytes sent (h2's and ours).
    conn_sent: i64,
    /// Connection window the client gave that h2 was not told of, for bodies.
    reserve: i64,
    /// Streams answered with a body here, newest last.
    answered: Vec<u32>,
    /// Whether a request was answered before h2's `GOAWAY` (the client may still be sending
    /// its header list: the connection is not closed under it).
    pub answered_goaway: bool,
}

impl Watch {
    /// A new connection's, before its client preface; h2 refuses header lists over `list`
    /// octets (as HTTP/2 counts them).
    pub fn new(list: usize) -> Watch {
        let big_block = list / 4;
        Watch {
            preface_left: PREFACE_LEN,
            in_hdr: [0; HEADER_LEN],
            in_hlen: 0,
            in_left: 0,
            in_part: [0; 6],
            in_plen: 0,
            stream_window: DEFAULT_WINDOW,
            block_stream: 0,
            block_bytes: 0,
            block_open: false,
            big_block,
            conn_given: 0,
            out_left: 0,
            gather: Vec::new(),
            conn_sent: 0,
            reserve: 0,
            answered: Vec::new(),
            answered_goaway: false,
        }
    }

    /// The connection window the client has left, as far as it is known here (a client's
    /// increments still on their way only make it larger).
    fn conn_window(&self) -> i64 {
        DEFAULT_WINDOW + self.conn_given - self.conn_sent
    }

    /// Reads the client's `bytes` on their way to hyper, editing a connection `WINDOW_UPDATE`
    /// while the reserve is not full. Answers how many of them are read; the rest (at most 3 bytes,
    /// the start of an increment to edit) must come again with the bytes after them, unless
    /// `eof` (then all are read, and none is edited).
    pub fn incoming(&mut self, bytes: &mut [u8], eof: bool) -> usize {
        let mut i = 0;
        while i < bytes.len() {
            if self.preface_left > 0 {
                let n = self.preface_left.min(bytes.len() - i);
                self.preface_left -= n;
                i += n;
                continue;
            }
            if self.in_hlen < HEADER_LEN {
                let n = (HEADER_LEN - self.in_hlen).min(bytes.len() - i);
                self.in_hdr[self.in_hlen..self.in_hlen + n].copy_from_slice(&bytes[i..i + n]);
                self.in_hlen += n;
                i += n;
                if self.in_hlen == HEADER_LEN {
                    self.in_left = frame_len(&self.in_hdr);
                    self.in_plen = 0;
                    self.note_block();
                    if self.in_left == 0 {
                        self.in_hlen = 0;
                    }
                }
                continue;
            }
            let kind = self.in_hdr[3];
            let stream = stream_id(&self.in_hdr);
            let n = self.in_left.min(bytes.len() - i);
            if kind == WINDOW_UPDATE && stream == 0 && self.in_left == 4 {
                if self.in_plen == 0 && n == 4 {
                    // The whole increment at once: it can be edited.
                    let inc = i64::from(read_u32(&bytes[i..i + 4]) & 0x7fff_ffff);
                    self.conn_given += inc;
                    let kept = (RESERVE - self.reserve).min(inc / 2).max(0);
                    if kept > 0 {
                        self.reserve += kept;
                        let left = u32::try_from(inc - kept).unwrap_or(1);
                        bytes[i..i + 4].copy_from_slice(&left.to_be_bytes());
                    }
                    i += 4;
                    self.end_in_frame();
                    continue;
                }
                if self.in_plen == 0 && self.reserve < RESERVE && !eof {
                    // Wait for the rest of the increment, to edit it whole.
                    return i;
                }
            }
            if kind == WINDOW_UPDATE && stream == 0 || kind == SETTINGS {
                self.keep_payload(&bytes[i..i + n]);
            }
            self.in_left -= n;
            i += n;
            if self.in_left == 0 {
                self.end_in_frame();
            }
        }
        i
    }

    /// Keeps payload bytes of a frame whose values count here, acting on each value complete.
    fn keep_payload(&mut self, mut bytes: &[u8]) {
        let kind = self.in_hdr[3];
        let unit = if kind == SETTINGS { 6 } else { 4 };
        if kind == SETTINGS && self.in_hdr[4] & ACK != 0 {
            return;
        }
        while !bytes.is_empty() {
            let n = (unit - self.in_plen).min(bytes.len());
            self.in_part[self.in_plen..self.in_plen + n].copy_from_slice(&bytes[..n]);
            self.in_plen += n;
            bytes = &bytes[n..];
            if self.in_plen == unit {
                self.in_plen = 0;
                if kind == SETTINGS {
                    let id = u16::from_be_bytes([self.in_part[0], self.in_part[1]]);
                    if id == SETTINGS_INITIAL_WINDOW_SIZE {
                        self.stream_window = i64::from(read_u32(&self.in_part[2..6]));
                    }
                } else {
                    self.conn_given += i64::from(read_u32(&self.in_part[..4]) & 0x7fff_ffff);
                }
            }
        }
    }

    /// Follows the client's header blocks (a frame's header just read).
    fn note_block(&mut self) {
        let (kind, flags) = (self.in_hdr[3], self.in_hdr[4]);
        if kind == HEADERS {
            self.block_stream = stream_id(&self.in_hdr);
            self.block_bytes = 0;
        } else if kind != CONTINUATION {
            return;
        }
        self.block_bytes = self.block_bytes.saturating_add(self.in_left);
        self.block_open = flags & END_HEADERS == 0;
    }

    fn end_in_frame(&mut self) {
        self.in_hlen = 0;
        self.in_left = 0;
        self.in_plen = 0;
    }

    /// Whether a frame with this header is gathered whole before it is passed on.
    fn wanted(&self, hdr: &[u8; HEADER_LEN]) -> bool {
        let (len, kind, flags) = (frame_len(hdr), hdr[3], hdr[4]);
        match kind {
            HEADERS => {
                flags & (END_STREAM | END_HEADERS) == END_STREAM | END_HEADERS
                    && flags & (PADDED | PRIORITY) == 0
                    && len <= BARE_BLOCK_MAX
            }
            RST_STREAM => len == 4 && self.answered.contains(&stream_id(hdr)),
            GOAWAY => (8..=GOAWAY_MAX).contains(&len) && self.block_stream != 0,
            _ => false,
        }
    }

    /// What to do with the bytes hyper writes next (`bufs`, in order).
    pub fn plan(&self, bufs: &[IoSlice<'_>]) -> Plan {
        if !self.gather.is_empty() {
            return Plan::Absorb;
        }
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        // The rest of the current frame, then each frame whose header is all there and that
        // is not to be looked at.
        let mut p = self.out_left.min(total);
        while total - p >= HEADER_LEN {
            let hdr = header_at(bufs, p);
            if self.wanted(&hdr) {
                break;
            }
            p = (p + HEADER_LEN + frame_len(&hdr)).min(total);
        }
        if p == 0 {
            Plan::Absorb
        } else {
            Plan::Through(p)
        }
    }

    /// Notes that the first `n` bytes of `bufs` were written as they are (at most what
    /// [`Watch::plan`] answered).
    pub fn advance(&mut self, bufs: &[IoSlice<'_>], n: usize) {
        let mut p = 0;
        loop {
            let step = self.out_left.min(n - p);
            p += step;
            self.out_left -= step;
            if p == n {
                return;
            }
            let hdr = header_at(bufs, p);
            if hdr[3] == DATA {
                self.conn_sent += frame_len(&hdr) as i64;
            }
            self.out_left = HEADER_LEN + frame_len(&hdr);
        }
    }

    /// Takes bytes of `bufs` (at least one) into a frame being gathered; a frame complete goes
    /// to `out` as it is or as the answer with a body (`answer` gives its headers and body).
    /// Answers how many bytes were taken.
    pub fn absorb(
        &mut self,
        bufs: &[IoSlice<'_>],
        out: &mut Vec<u8>,
        answer: &mut dyn FnMut() -> Answer,
    ) -> usize {
        let mut taken = 0;
        for b in bufs {
            let mut b: &[u8] = b;
            while !b.is_empty() {
                let need = if self.gather.len() < HEADER_LEN {
                    HEADER_LEN
                } else {
                    HEADER_LEN + frame_len(&self.gather[..HEADER_LEN])
                };
                let n = (need - self.gather.len()).min(b.len());
                self.gather.extend_from_slice(&b[..n]);
                b = &b[n..];
                taken += n;
                let hdr: [u8; HEADER_LEN] = match self.gather.get(..HEADER_LEN) {
                    Some(h) => h.try_into().unwrap_or([0; HEADER_LEN]),
                    None => continue,
                };
                if self.gather.len() == HEADER_LEN && !self.wanted(&hdr) {
                    // Not one to look at: its header goes on, its payload passes through.
                    if hdr[3] == DATA {
                        self.conn_sent += frame_len(&hdr) as i64;
                    }
                    out.extend_from_slice(&self.gather);
                    self.gather.clear();
                    self.out_left = frame_len(&hdr);
                    return taken;
                }
                if self.gather.len() == HEADER_LEN + frame_len(&hdr) {
                    let frame = std::mem::take(&mut self.gather);
                    self.finish(frame, out, answer);
                    return taken;
                }
            }
        }
        taken
    }

    /// The start of a frame being gathered, given up as it is (at the connection's end: h2
    /// writes whole frames, so there is none then but from a broken write).
    pub fn take_partial(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.gather)
    }

    /// A gathered frame, passed on as it is or changed.
    fn finish(
        &mut self,
        mut frame: Vec<u8>,
        out: &mut Vec<u8>,
        answer: &mut dyn FnMut() -> Answer,
    ) {
        let stream = stream_id(&frame[..HEADER_LEN]);
        match frame[3] {
            RST_STREAM => {
                // The request's end was not read: the stream ends with no error (RFC 9113, 8.1).
                frame[HEADER_LEN..].copy_from_slice(&0u32.to_be_bytes());
                self.answered.retain(|&s| s != stream);
            }
            GOAWAY => {
                let last = read_u32(&frame[HEADER_LEN..]) & 0x7fff_ffff;
                let code = read_u32(&frame[HEADER_LEN + 4..]);
                let debug = &frame[HEADER_LEN + 8..];
                let n = self.block_stream;
                let too_big = match code {
                    ENHANCE_YOUR_CALM => {
                        debug == b"too_many_continuations" || debug == b"header_list_way_too_large"
                    }
                    COMPRESSION_ERROR => self.block_open && self.block_bytes >= self.big_block,
                    _ => false,
                };
                // The request whose header list ends the connection is answered first (its
                // block was not used, so `:status` is a literal that touches no table), and
                // named in the GOAWAY as acted upon.
                if too_big
                    && n > last
                    && n % 2 == 1
                    && self.answer(STATUS_431_LITERAL, n, out, answer)
                {
                    frame[HEADER_LEN..HEADER_LEN + 4].copy_from_slice(&n.to_be_bytes());
                    self.answered_goaway = true;
                }
            }
            _ => {
                if !is_bare_status(&frame[HEADER_LEN..])
                    || !self.answer(&frame[HEADER_LEN..], stream, out, answer)
                {
                    out.extend_from_slice(&frame);
                }
                return;
            }
        }
        out.extend_from_slice(&frame);
    }

    /// Writes to `out` an answer on `stream`: `status` (an HPACK block of `:status`), then the
    /// answer's headers and body, if the client's windows hold the body. Answers whether it
    /// was written.
    fn answer(
        &mut self,
        status: &[u8],
        stream: u32,
        out: &mut Vec<u8>,
        answer: &mut dyn FnMut() -> Answer,
    ) -> bool {
        let Answer { headers, body } = answer();
        let size = body.len() as i64;
        if body.len() > MIN_MAX_FRAME
            || size > self.reserve
            || size > self.conn_window()
            || size > self.stream_window
        {
            return false;
        }
        let mut block = status.to_vec();
        literal(&mut block, "content-type", "application/json");
        literal(&mut block, "content-length", &body.len().to_string());
        let mut with_all = block.clone();
        for (k, v) in &headers {
            literal(&mut with_all, k, v);
        }
        // The configured headers go along unless they make the frame too long to send.
        if with_all.len() <= MIN_MAX_FRAME {
            block = with_all;
        }
        out.extend_from_slice(&frame_header(block.len(), HEADERS, END_HEADERS, stream));
        out.extend_from_slice(&block);
        out.extend_from_slice(&frame_header(body.len(), DATA, END_STREAM, stream));
        out.extend_from_slice(&body);
        self.conn_sent += size;
        self.reserve -= size;
        if self.answered.len() == ANSWERED_KEPT {
            self.answered.remove(0);
        }
        self.answered.push(stream);
        true
    }
}

/// Whether an HPACK block is one `:status` field and nothing else (size updates aside), as h2
/// encodes the `:status: 431` of its own answer: indexed (from the dynamic table, where an
/// earlier one put it), or a literal of `:status` with a value of at most three octets (`431`,
/// or its Huffman code).
fn is_bare_status(mut block: &[u8]) -> bool {
    while let Some(&b) = block.first() {
        if b & 0xe0 != 0x20 {
            break;
        }
        // A dynamic table size update.
        match integer(block, 5) {
            Some((_, rest)) => block = rest,
            None => return false,
        }
    }
    let Some(&first) = block.first() else {
        return false;
    };
    if first & 0x80 != 0 {
        return matches!(integer(block, 7), Some((i, rest)) if i >= FIRST_DYNAMIC && rest.is_empty());
    }
    let prefix = if first & 0x40 != 0 { 6 } else { 4 };
    let Some((STATUS_NAME_INDEX, rest)) = integer(block, prefix) else {
        return false;
    };
    let Some(&lead) = rest.first() else {
        return false;
    };
    let Some((len, value)) = integer(rest, 7) else {
        return false;
    };
    let huffman = lead & 0x80 != 0;
    len <= 3 && value.len() as u64 == len && (huffman || value == b"431")
}

/// An HPACK integer with an `n`-bit prefix at the start of `b`, and what follows it.
fn integer(b: &[u8], n: u32) -> Option<(u64, &[u8])> {
    let max = (1u64 << n) - 1;
    let mut value = u64::from(*b.first()?) & max;
    if value < max {
        return Some((value, &b[1..]));
    }
    let mut shift = 0;
    for (i, &byte) in b[1..].iter().enumerate() {
        value = value.checked_add(u64::from(byte & 0x7f).checked_shl(shift)?)?;
        if byte & 0x80 == 0 {
            return Some((value, &b[i + 2..]));
        }
        shift += 7;
        if shift > 28 {
            return None;
        }
    }
    None
}

/// Appends an HPACK integer with an `n`-bit prefix, the prefix's other bits `flags`.
fn put_integer(out: &mut Vec<u8>, flags: u8, n: u32, mut value: usize) {
    let max = (1usize << n) - 1;
    if value < max {
        out.push(flags | value as u8);
        return;
    }
    out.push(flags | max as u8);
    value -= max;
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Appends a literal header field without indexing, with a new name (RFC 7541, 6.2.2): it
/// leaves both sides' tables as they were.
fn literal(out: &mut Vec<u8>, name: &str, value: &str) {
    out.push(0x00);
    put_integer(out, 0, 7, name.len());
    out.extend(name.bytes().map(|b| b.to_ascii_lowercase()));
    put_integer(out, 0, 7, value.len());
    out.extend_from_slice(value.as_bytes());
}

fn frame_header(len: usize, kind: u8, flags: u8, stream: u32) -> [u8; HEADER_LEN] {
    let l = (len as u32).to_be_bytes();
    let s = stream.to_be_bytes();
    [l[1], l[2], l[3], kind, flags, s[0], s[1], s[2], s[3]]
}

fn frame_len(hdr: &[u8]) -> usize {
    usize::from(hdr[0]) << 16 | usize::from(hdr[1]) << 8 | usize::from(hdr[2])
}

fn stream_id(hdr: &[u8]) -> u32 {
    read_u32(&hdr[5..9]) & 0x7fff_ffff
}

fn read_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// The frame header starting `at` bytes into `bufs` (which hold at least 9 bytes from there).
fn header_at(bufs: &[IoSlice<'_>], mut at: usize) -> [u8; HEADER_LEN] {
    let mut hdr = [0; HEADER_LEN];
    let mut n = 0;
    for b in bufs {
        if at >= b.len() {
            at -= b.len();
            continue;
        }
        let take = (HEADER_LEN - n).min(b.len() - at);
        hdr[n..n + take].copy_from_slice(&b[at..at + take]);
        n += take;
        at = 0;
        if n == HEADER_LEN {
            break;
        }
    }
    hdr
}

#[cfg(test)]
mod tests;
