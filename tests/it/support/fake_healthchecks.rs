//! A fake healthchecks.io ping endpoint on 127.0.0.1:0, strict as the real one (integrations
//! reference §5.1): `GET|HEAD|POST /ping/<uuid>[/start|/fail|/log|/<0-255>]`, answering
//! `200 OK` for a known UUID, 404 `not found` for another, 400 `invalid url format` for a bad
//! suffix, 405 for other methods. It records each accepted ping.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use warp::Filter;
use warp::http::{Method, StatusCode};

/// One accepted ping.
#[derive(Debug, Clone)]
pub struct HcPing {
    /// The method.
    pub method: String,
    /// The suffix after the UUID (`""`, `fail`, `start`, ...).
    pub action: String,
    /// The body.
    pub body: String,
    /// When it arrived (tokio clock).
    pub at: tokio::time::Instant,
}

/// The fake.
#[derive(Clone)]
pub struct FakeHealthchecks {
    /// Its address.
    pub addr: SocketAddr,
    /// The one check UUID it knows.
    pub uuid: &'static str,
    pings: Arc<Mutex<Vec<HcPing>>>,
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

impl FakeHealthchecks {
    /// Starts it on the current runtime.
    pub async fn start() -> FakeHealthchecks {
        let uuid = "5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278";
        let pings: Arc<Mutex<Vec<HcPing>>> = Arc::default();
        let rec = Arc::clone(&pings);
        let route = warp::method()
            .and(warp::path::full())
            .and(warp::body::bytes())
            .map(
                move |m: Method, path: warp::path::FullPath, body: bytes::Bytes| {
                    let reply = |s: StatusCode, t: &'static str| {
                        warp::reply::with_status(t, s).into_response()
                    };
                    if !matches!(m, Method::GET | Method::HEAD | Method::POST) {
                        return reply(StatusCode::METHOD_NOT_ALLOWED, "");
                    }
                    let Some(rest) = path.as_str().strip_prefix("/ping/") else {
                        return reply(StatusCode::NOT_FOUND, "not found");
                    };
                    let (id, action) = rest.split_once('/').unwrap_or((rest, ""));
                    let ok_action = matches!(action, "" | "start" | "fail" | "log")
                        || action.parse::<u16>().is_ok_and(|c| c <= 255);
                    if !is_uuid(id) || !ok_action {
                        return reply(StatusCode::BAD_REQUEST, "invalid url format");
                    }
                    if id != uuid {
                        return reply(StatusCode::NOT_FOUND, "not found");
                    }
                    rec.lock().unwrap().push(HcPing {
                        method: m.to_string(),
                        action: action.to_owned(),
                        body: String::from_utf8_lossy(&body).into_owned(),
                        at: tokio::time::Instant::now(),
                    });
                    reply(StatusCode::OK, "OK")
                },
            );
        use warp::Reply as _;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(warp::serve(route).incoming(listener).run());
        FakeHealthchecks { addr, uuid, pings }
    }

    /// The check's ping URL.
    pub fn url(&self) -> String {
        format!("http://{}/ping/{}", self.addr, self.uuid)
    }

    /// Every accepted ping.
    pub fn pings(&self) -> Vec<HcPing> {
        self.pings.lock().unwrap().clone()
    }
}
