//! The style sheet and the script, compiled into the binary: the pages fetch nothing from
//! elsewhere.

use warp::http::{HeaderValue, StatusCode};
use warp::reply::Response;

const CSS: &str = include_str!("assets/app.css");
const JS: &str = include_str!("assets/app.js");

/// `GET /assets/<name>`. Links carry the version (`?v=`), so a browser may keep a copy for a
/// day.
pub(super) fn serve(name: &str) -> Response {
    let (body, kind) = match name {
        "app.css" => (CSS, "text/css; charset=utf-8"),
        "app.js" => (JS, "text/javascript; charset=utf-8"),
        _ => {
            let mut r = Response::new("404 page not found".into());
            *r.status_mut() = StatusCode::NOT_FOUND;
            return r;
        }
    };
    let mut r = Response::new(body.into());
    let h = r.headers_mut();
    h.insert("content-type", HeaderValue::from_static(kind));
    h.insert("cache-control", HeaderValue::from_static("max-age=86400"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    r
}
