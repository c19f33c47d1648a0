//! Large JSON answers written off the async workers.
//!
//! A full `GET /api/v2/alerts` at a million alerts is hundreds of megabytes of JSON and seconds
//! of CPU. Built on a runtime worker, two of them took both cores' workers and `/-/healthy`
//! waited seconds. Here the body is written on the blocking pool, in chunks sent through a
//! bounded channel: the workers only pass chunks along, the whole answer is never in memory at
//! once, and a client that stops reading (or goes away) stops the writer. How many such reads
//! run at once is bounded by `--web.get-concurrency` (the caller holds a permit, which the
//! writer releases when done).

use std::convert::Infallible;
use std::io;

use bytes::Bytes;
use tokio::sync::OwnedSemaphorePermit;
use tokio::sync::mpsc;
use warp::Reply as _;
use warp::http::{HeaderValue, StatusCode};
use warp::reply::Response;

/// Size of one body chunk.
const CHUNK: usize = 64 << 10;

/// Chunks written ahead of the client.
const CHUNKS_AHEAD: usize = 4;

/// An `io::Write` that sends full chunks down the response body.
pub(super) struct ChunkWriter {
    /// Where chunks go (the response body).
    tx: mpsc::Sender<Bytes>,
    /// The chunk being filled.
    buf: Vec<u8>,
}

impl ChunkWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx
            .blocking_send(Bytes::from(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl io::Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A 200 JSON response whose body `write` produces on the blocking pool. `permit` (a
/// `--web.get-concurrency` slot) is held until the body is written or the client is gone.
pub(super) fn json<F>(permit: Option<OwnedSemaphorePermit>, write: F) -> Response
where
    F: FnOnce(&mut ChunkWriter) -> io::Result<()> + Send + 'static,
{
    let (tx, mut rx) = mpsc::channel::<Bytes>(CHUNKS_AHEAD);
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let mut w = ChunkWriter {
            tx,
            buf: Vec::with_capacity(CHUNK),
        };
        // An error means the client went away: nothing left to do.
        if write(&mut w).is_ok() {
            let _ = w.send();
        }
    });
    let body = futures_util::stream::poll_fn(move |cx| {
        rx.poll_recv(cx).map(|c| c.map(Ok::<Bytes, Infallible>))
    });
    let mut r = warp::reply::stream(body).into_response();
    *r.status_mut() = StatusCode::OK;
    let h = r.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h.insert("cache-control", HeaderValue::from_static("no-store"));
    r
}
