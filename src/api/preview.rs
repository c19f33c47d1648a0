//! `POST /api/tocsin/v1/templates/render`: template preview against the loaded templates.
//! Body: `{"template": "...", "data": <webhook payload v4>, "html": false}`; answer
//! `{"output": "..."}` (200) or `{"error": "..."}` (400, with file, line and column).

use serde::{Deserialize, Serialize};
use warp::http::StatusCode;
use warp::reply::Response;

use super::{ApiState, Req, json};
use crate::clock;
use crate::template::{Data, RenderContext, Templates, render_preview, render_preview_html};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    template: String,
    #[serde(default)]
    data: Data,
    #[serde(default)]
    html: bool,
}

#[derive(Serialize)]
struct Output {
    output: String,
}

#[derive(Serialize)]
struct Failure {
    error: String,
}

/// Renders the posted template.
pub(super) fn render(state: &ApiState, req: &Req) -> Response {
    let templates =
        std::sync::Arc::clone(&state.templates.lock().unwrap_or_else(|p| p.into_inner()));
    answer(&templates, &req.body, clock::now())
}

/// The answer to a preview request with `body`, rendered against `templates` at `now`.
pub(super) fn answer(templates: &Templates, body: &[u8], now: jiff::Timestamp) -> Response {
    let body: Body = match serde_json::from_slice(body) {
        Ok(b) => b,
        Err(e) => {
            return json(
                StatusCode::BAD_REQUEST,
                &Failure {
                    error: format!(
                        "want {{\"template\": ..., \"data\": ..., \"html\": bool}}: {e}"
                    ),
                },
            );
        }
    };
    let ctx = RenderContext::system_zone(now);
    let out = if body.html {
        render_preview_html(templates, &body.template, &body.data, &ctx)
    } else {
        render_preview(templates, &body.template, &body.data, &ctx)
    };
    match out {
        Ok(output) => json(StatusCode::OK, &Output { output }),
        Err(e) => json(
            StatusCode::BAD_REQUEST,
            &Failure {
                error: e.to_string(),
            },
        ),
    }
}
