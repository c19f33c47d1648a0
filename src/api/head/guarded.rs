//! [`Guarded`]: a connection's stream with its heads read by [`Heads`] before hyper reads them.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

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
}

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
        }
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

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
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
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}
