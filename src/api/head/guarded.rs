//! [`Guarded`]: a connection's stream with its heads read by [`Heads`] before hyper reads them.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use warp::http::{HeaderName, HeaderValue, StatusCode};

use super::h2::{Answer, Plan, Watch};
use super::{HeadLimits, Heads, Refusal};

/// Told of each refusal; answers the headers to add to it.
type OnRefusal = Box<dyn Fn(&Refusal) -> Vec<(String, String)> + Send + Sync>;

/// A connection's stream with its heads read by [`Heads`] first: what hyper reads passes
/// through it; a refusal is answered when hyper closes the connection (after the answers to the
/// requests before it, in order).
pub struct Guarded<S> {
    inner: S,
    heads: Heads,
    /// Bytes for hyper, from `pos` on.
    out: Vec<u8>,
    pos: usize,
    /// Scratch for reads from `inner`.
    scratch: Vec<u8>,
    /// Bytes read past a body straight into hyper's buffer and taken back: the next head's,
    /// read by [`Heads`] before anything more from `inner`.
    pending: Vec<u8>,
    /// The refusal's answer, written at shutdown, from `sent` on.
    refusal: Option<(Vec<u8>, usize)>,
    /// Runs while a head is begun (`--web.read-header-timeout`).
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Told of each refusal (to count and log it); answers the headers to add to it.
    on_refusal: OnRefusal,
    /// An HTTP/2 connection's frames, once its preface is read. Then `out[pos..]` holds bytes
    /// for hyper of which the first `decided` are read by it.
    h2: Option<Box<Watch>>,
    decided: usize,
    /// Bytes to write before anything more hyper writes (an HTTP/2 frame changed), from
    /// `wpos` on.
    wq: Vec<u8>,
    wpos: usize,
    /// After a refusal: how long the client's input is still read (and dropped) once the
    /// answer is written, and how much of it was.
    linger: Option<Pin<Box<tokio::time::Sleep>>>,
    lingered: usize,
}

/// How long a refused client's input is read after the answer: closing a connection with
/// input unread resets it, and a client still sending (a header list of megabytes) may then
/// lose the answer before reading it. Go's server waits 500 ms too.
const LINGER: std::time::Duration = std::time::Duration::from_millis(500);
/// The most input read while lingering.
const LINGER_MAX: usize = 16 << 20;

impl<S> Guarded<S> {
    /// Wraps `inner`; `on_refusal` hears of each refusal (to count and log it) and answers the
    /// headers every answer carries (the web config's `http_server_config.headers`).
    pub fn new(
        inner: S,
        limits: HeadLimits,
        on_refusal: impl Fn(&Refusal) -> Vec<(String, String)> + Send + Sync + 'static,
    ) -> Guarded<S> {
        Guarded {
            inner,
            heads: Heads::new(limits),
            out: Vec::new(),
            pos: 0,
            scratch: Vec::new(),
            pending: Vec::new(),
            refusal: None,
            deadline: None,
            on_refusal: Box::new(on_refusal),
            h2: None,
            decided: 0,
            wq: Vec::new(),
            wpos: 0,
            linger: None,
            lingered: 0,
        }
    }

    /// The body and headers that replace h2's bare 431 (told to `on_refusal` like the others).
    fn h2_answer(on_refusal: &OnRefusal, limits: &HeadLimits) -> Answer {
        let r = Refusal {
            limit: Some(limits.head_flag),
            ..Refusal::new(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "",
                format!(
                    "request header list is over {} bytes as HTTP/2 counts it (names and values \
                     and 32 more per field), far more than --{}={}",
                    limits.h2_header_list(),
                    limits.head_flag,
                    limits.head_flag_value
                ),
            )
        };
        let headers = on_refusal(&r)
            .into_iter()
            .filter_map(|(k, v)| {
                let name = HeaderName::from_bytes(k.as_bytes()).ok()?;
                HeaderValue::from_str(&v).ok()?;
                // What HTTP/2 forbids in a response, and what the answer sets itself.
                let banned = [
                    "connection",
                    "keep-alive",
                    "proxy-connection",
                    "transfer-encoding",
                    "upgrade",
                    "content-type",
                    "content-length",
                ];
                (!banned.contains(&name.as_str())).then(|| (name.as_str().to_owned(), v))
            })
            .collect();
        // The path was not read (it is in the refused list): Alertmanager's JSON shape.
        let body = serde_json::json!({"code": 431, "message": r.message})
            .to_string()
            .into_bytes();
        Answer { headers, body }
    }

    fn refused(&mut self, r: Refusal) {
        let headers = (self.on_refusal)(&r);
        self.refusal = Some((r.to_bytes(&headers), 0));
        self.deadline = None;
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.h2.is_some() {
            return this.poll_read_h2(cx, buf);
        }
        loop {
            if this.pos < this.out.len() {
                let n = buf.remaining().min(this.out.len() - this.pos);
                buf.put_slice(&this.out[this.pos..this.pos + n]);
                this.pos += n;
                if this.pos == this.out.len() {
                    this.out.clear();
                    this.pos = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if this.refusal.is_some() {
                // End of input for hyper: it finishes its answers and closes, and the refusal
                // is written then.
                return Poll::Ready(Ok(()));
            }
            if this.heads.through() {
                return Pin::new(&mut this.inner).poll_read(cx, buf);
            }
            if let Some(left) = this.heads.body_left().filter(|&l| l > 0) {
                // A body goes straight into hyper's buffer, read into its unfilled part as it
                // is (the stream fills uninitialised memory itself: zeroing a large body's
                // buffer first cost the runtime's worker 7% of its time at saturated ingest).
                // Bytes past the body (a pipelined request's head) are taken back for `heads`.
                let before = buf.filled().len();
                ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
                let n = buf.filled().len() - before;
                let body = usize::try_from(left).unwrap_or(usize::MAX).min(n);
                if n > body {
                    this.pending
                        .extend_from_slice(&buf.filled()[before + body..]);
                    buf.set_filled(before + body);
                }
                this.heads.body_read(body as u64);
                return Poll::Ready(Ok(()));
            }
            let (data, n) = if this.pending.is_empty() {
                if this.scratch.len() < 8192 {
                    this.scratch.resize(8192, 0);
                }
                let mut rb = ReadBuf::new(&mut this.scratch);
                match Pin::new(&mut this.inner).poll_read(cx, &mut rb) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => {
                        if let Some(d) = &mut this.deadline
                            && d.as_mut().poll(cx).is_ready()
                        {
                            let r = this.heads.timed_out();
                            this.refused(r);
                            continue;
                        }
                        return Poll::Pending;
                    }
                }
                let n = rb.filled().len();
                if n == 0 {
                    // End of the connection.
                    return Poll::Ready(Ok(()));
                }
                (std::mem::take(&mut this.scratch), n)
            } else {
                let p = std::mem::take(&mut this.pending);
                let n = p.len();
                (p, n)
            };
            let fed = this.heads.feed(&data[..n], &mut this.out);
            if this.scratch.is_empty() {
                this.scratch = data;
            }
            if let Err(r) = fed {
                // What came before the refused head (whole requests) is still hyper's to
                // answer: `out` holds no byte of the refused head.
                this.refused(r);
                continue;
            }
            if this.heads.h2() {
                // `out` begins with the preface: everything from it on is read by the watch.
                this.deadline = None;
                this.h2 = Some(Box::new(Watch::new(this.heads.limits.h2_header_list())));
                return this.poll_read_h2(cx, buf);
            }
            if this.heads.head_begun() {
                if this.deadline.is_none() {
                    this.deadline = Some(Box::pin(tokio::time::sleep(this.heads.limits.timeout)));
                }
            } else {
                this.deadline = None;
            }
        }
    }
}

impl<S: AsyncRead + Unpin> Guarded<S> {
    /// An HTTP/2 connection's reads: each byte for hyper is read by the watch first, which may
    /// hold back the start of a window increment it has to edit until the rest comes.
    fn poll_read_h2(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let Some(watch) = self.h2.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            let staged = self.out.len() - self.pos;
            if self.decided < staged {
                let from = self.pos + self.decided;
                self.decided += watch.incoming(&mut self.out[from..], false);
            }
            if self.decided > 0 {
                let n = buf.remaining().min(self.decided);
                buf.put_slice(&self.out[self.pos..self.pos + n]);
                self.pos += n;
                self.decided -= n;
                if self.pos == self.out.len() {
                    self.out.clear();
                    self.pos = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if staged == 0 {
                // Straight into hyper's buffer, read there.
                let before = buf.filled().len();
                ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
                let n = buf.filled().len() - before;
                if n == 0 {
                    return Poll::Ready(Ok(()));
                }
                let k = watch.incoming(&mut buf.filled_mut()[before..], false);
                if k < n {
                    self.out.extend_from_slice(&buf.filled()[before + k..]);
                    buf.set_filled(before + k);
                }
                if k > 0 {
                    return Poll::Ready(Ok(()));
                }
                continue;
            }
            // Held-back bytes wait for more.
            if self.scratch.len() < 8192 {
                self.scratch.resize(8192, 0);
            }
            let mut rb = ReadBuf::new(&mut self.scratch);
            ready!(Pin::new(&mut self.inner).poll_read(cx, &mut rb))?;
            if rb.filled().is_empty() {
                // The end: what is held goes as it is.
                let from = self.pos;
                self.decided = watch.incoming(&mut self.out[from..], true);
                continue;
            }
            let n = rb.filled().len();
            self.out.extend_from_slice(&self.scratch[..n]);
        }
    }
}

impl<S: AsyncWrite + Unpin> Guarded<S> {
    /// Writes what an HTTP/2 frame's change queued, before anything more.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.wpos < self.wq.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.wq[self.wpos..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.wpos += n;
        }
        self.wq.clear();
        self.wpos = 0;
        Poll::Ready(Ok(()))
    }

    /// An HTTP/2 connection's writes: frames pass through as hyper wrote them, but for those
    /// the watch changes, which it gathers whole.
    fn poll_write_h2(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_drain(cx))?;
        let Some(watch) = self.h2.as_mut() else {
            return Poll::Ready(Ok(0));
        };
        if bufs.iter().all(|b| b.is_empty()) {
            return Poll::Ready(Ok(0));
        }
        match watch.plan(bufs) {
            Plan::Through(n) => {
                let inner = Pin::new(&mut self.inner);
                let written = if inner.is_write_vectored() {
                    let mut left = n;
                    let mut cut = Vec::with_capacity(bufs.len());
                    for b in bufs {
                        if left == 0 {
                            break;
                        }
                        let take = left.min(b.len());
                        cut.push(io::IoSlice::new(&b[..take]));
                        left -= take;
                    }
                    ready!(inner.poll_write_vectored(cx, &cut))?
                } else {
                    let first = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| b);
                    ready!(inner.poll_write(cx, &first[..n.min(first.len())]))?
                };
                watch.advance(bufs, written);
                Poll::Ready(Ok(written))
            }
            Plan::Absorb => {
                let (on_refusal, limits) = (&self.on_refusal, &self.heads.limits);
                let taken = watch.absorb(bufs, &mut self.wq, &mut || {
                    Self::h2_answer(on_refusal, limits)
                });
                Poll::Ready(Ok(taken))
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.h2.is_some() {
            return this.poll_write_h2(cx, &[io::IoSlice::new(buf)]);
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.h2.is_some() {
            return this.poll_write_h2(cx, bufs);
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(w) = this.h2.as_mut() {
            let partial = w.take_partial();
            this.wq.extend_from_slice(&partial);
        }
        ready!(this.poll_drain(cx))?;
        if let Some((bytes, sent)) = &mut this.refusal {
            while *sent < bytes.len() {
                let n = ready!(Pin::new(&mut this.inner).poll_write(cx, &bytes[*sent..]))?;
                if n == 0 {
                    return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
                }
                *sent += n;
            }
            ready!(Pin::new(&mut this.inner).poll_flush(cx))?;
        }
        let refused = this.refusal.is_some() || this.h2.as_ref().is_some_and(|w| w.answered_goaway);
        if !refused {
            return Pin::new(&mut this.inner).poll_shutdown(cx);
        }
        if this.linger.is_none() {
            ready!(Pin::new(&mut this.inner).poll_shutdown(cx))?;
            this.linger = Some(Box::pin(tokio::time::sleep(LINGER)));
        }
        this.poll_linger(cx)
    }
}

impl<S: AsyncRead + Unpin> Guarded<S> {
    /// Reads and drops the client's input until it ends, for at most [`LINGER`] and
    /// [`LINGER_MAX`] bytes.
    fn poll_linger(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.scratch.len() < 8192 {
            self.scratch.resize(8192, 0);
        }
        while self.lingered < LINGER_MAX {
            let mut rb = ReadBuf::new(&mut self.scratch);
            match Pin::new(&mut self.inner).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) if !rb.filled().is_empty() => {
                    self.lingered += rb.filled().len();
                }
                Poll::Ready(_) => break,
                Poll::Pending => {
                    if let Some(d) = &mut self.linger
                        && d.as_mut().poll(cx).is_pending()
                    {
                        return Poll::Pending;
                    }
                    break;
                }
            }
        }
        Poll::Ready(Ok(()))
    }
}
