//! `GET /events`: server-sent events that tell an open page what it shows may have changed, so
//! it refreshes at once instead of polling.
//!
//! One stream per open page. It sends `change` when the API changed state (an alert POSTed, a
//! silence set or expired, a heartbeat pinged or paused: [`Live::changed`], called by the
//! router after every successful write), when the silences change (replicated or expired by
//! GC) or when the notification history records an attempt or an outcome; changes that
//! arrive together are sent as one after [`SETTLE`]. Every [`TICK`] it sends `tick` (what time
//! alone changes: ages, deadlines, alerts timing out). A comment every 15 s keeps proxies from
//! closing an idle stream. The stream ends at shutdown, so an open page never holds the
//! daemon's graceful stop. Served behind the same authentication as every page and the API.

use std::convert::Infallible;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use warp::Reply as _;
use warp::reply::Response;
use warp::sse::Event;

use super::Sources;

/// How long a burst of changes is gathered before one `change` event.
pub const SETTLE: Duration = Duration::from_millis(200);
/// How often `tick` is sent.
pub const TICK: Duration = Duration::from_secs(30);

/// The daemon's side of the live refresh: a counter of state changes made through the API, and
/// the shutdown signal that ends every stream. Cheap to clone.
#[derive(Clone)]
pub struct Live {
    /// Bumped after each successful write through the API.
    changes: watch::Sender<u64>,
    /// Cancelled at shutdown.
    stop: CancellationToken,
}

impl Live {
    /// A live-refresh hub whose streams end when `stop` is cancelled.
    pub fn new(stop: CancellationToken) -> Self {
        Live {
            changes: watch::channel(0).0,
            stop,
        }
    }

    /// Something changed (called after a successful write request).
    pub fn changed(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }
}

impl Default for Live {
    fn default() -> Self {
        Live::new(CancellationToken::new())
    }
}

/// What one stream waits on.
struct Watch {
    api: watch::Receiver<u64>,
    silences: watch::Receiver<u64>,
    history: watch::Receiver<u64>,
    stop: CancellationToken,
    /// Events sent so far (the `id` of the next).
    sent: u64,
}

impl Watch {
    /// The next event, or None at shutdown.
    async fn next(&mut self) -> Option<Event> {
        let tick = tokio::time::sleep(TICK);
        let changed = tokio::select! {
            biased;
            _ = self.stop.cancelled() => return None,
            r = self.api.changed() => r.is_ok(),
            r = self.silences.changed() => r.is_ok(),
            r = self.history.changed() => r.is_ok(),
            _ = tick => false,
        };
        if changed {
            tokio::select! {
                _ = self.stop.cancelled() => return None,
                _ = tokio::time::sleep(SETTLE) => {}
            }
            self.api.borrow_and_update();
            self.silences.borrow_and_update();
            self.history.borrow_and_update();
        }
        self.sent += 1;
        let name = if changed { "change" } else { "tick" };
        Some(
            Event::default()
                .event(name)
                .id(self.sent.to_string())
                .data(name),
        )
    }
}

/// Answers `GET /events` with a stream of events (see the module doc).
pub fn serve(src: &Sources) -> Response {
    let mut w = Watch {
        api: src.live.changes.subscribe(),
        silences: src.silences.subscribe(),
        history: src.nflog.history().subscribe(),
        stop: src.live.stop.clone(),
        sent: 0,
    };
    w.api.borrow_and_update();
    w.silences.borrow_and_update();
    w.history.borrow_and_update();
    // A first event at once: the page knows the stream is open (and refreshes what it may
    // have missed while it connected).
    let first = futures_util::stream::once(async {
        Ok::<Event, Infallible>(Event::default().event("hello").data("hello"))
    });
    let rest = futures_util::stream::unfold(w, |mut w| async move {
        w.next().await.map(|e| (Ok::<Event, Infallible>(e), w))
    });
    let stream = futures_util::StreamExt::chain(first, rest);
    let mut r = warp::sse::reply(
        warp::sse::keep_alive()
            .interval(Duration::from_secs(15))
            .stream(stream),
    )
    .into_response();
    r.headers_mut().insert(
        "cache-control",
        warp::http::HeaderValue::from_static("no-store"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_changes_is_one_event_and_quiet_time_ticks() {
        let live = Live::default();
        let silences = watch::channel(0u64);
        let history = watch::channel(0u64);
        let mut w = Watch {
            api: live.changes.subscribe(),
            silences: silences.0.subscribe(),
            history: history.0.subscribe(),
            stop: live.stop.clone(),
            sent: 0,
        };
        live.changed();
        history.0.send_modify(|n| *n += 1);
        let t0 = tokio::time::Instant::now();
        let e = format!("{:?}", w.next().await.unwrap());
        assert!(e.contains("change"), "{e}");
        assert_eq!(t0.elapsed(), SETTLE);
        // Both changes went into that one event: next is a tick, TICK later.
        let e = format!("{:?}", w.next().await.unwrap());
        assert!(e.contains("tick"), "{e}");
        assert_eq!(t0.elapsed(), SETTLE + TICK);
        // Shutdown ends the stream.
        live.stop.cancel();
        assert!(w.next().await.is_none());
    }
}
