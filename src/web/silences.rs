//! Silences: the list (`/silences`: active, pending, expired, with creator, comment, matchers
//! and how many alerts each hides) and the form (`/silences/new`), which previews the alerts a
//! silence would hide before it can be saved. Saving and expiring go through the API
//! (`POST /api/v2/silences`, `DELETE /api/v2/silence/<id>`) from the page's script; the
//! preview carries the exact JSON body it would send, so what was previewed is what is saved.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use maud::{Markup, html};
use warp::http::StatusCode;

use super::Sources;
use super::layout::{self, Nav, chips, utc, when};
use super::query::{Query, encode};
use crate::clock;
use crate::model::{Alert, Matcher, MatcherSyntax, matchers_to_string, parse_matchers};
use crate::silence::{Silence, SilenceState, check_times, validate_matchers};

/// Expired silences listed (newest first).
const EXPIRED_SHOWN: usize = 50;
/// Alerts listed in a preview.
const PREVIEW_SHOWN: usize = 100;

fn matcher_chips(ms: &[Matcher]) -> Markup {
    html! {
        @for m in ms {
            span.chip.matcher { (m.name) span.op { (m.op.as_str()) } span.v { (m.value) } } " "
        }
    }
}

/// `GET /silences`.
pub(super) fn list(src: &Sources, _q: &Query, root: &str) -> (StatusCode, Markup) {
    let now = clock::now();
    let alerts: Vec<Arc<Alert>> = src
        .store
        .list()
        .into_iter()
        .filter(|a| !a.resolved_at(now))
        .collect();
    let mut all = src.silences.list();
    all.sort_by(|a, b| b.ends_at.cmp(&a.ends_at).then(a.id.cmp(&b.id)));
    let of = |st: SilenceState| -> Vec<&Arc<Silence>> {
        all.iter().filter(|s| s.state(now) == st).collect()
    };
    let (active, pending, expired) = (
        of(SilenceState::Active),
        of(SilenceState::Pending),
        of(SilenceState::Expired),
    );
    let body = html! {
        p.actions { a.button href={ (root) "silences/new" } { "New silence" } }
        @for (title, list, st) in [("Active", &active, SilenceState::Active), ("Pending", &pending, SilenceState::Pending), ("Expired", &expired, SilenceState::Expired)] {
            section.silences id=(st.as_str()) {
                h2 { (title) " " span.count { "(" (list.len()) ")" } }
                @if list.is_empty() { p.empty { "None." } }
                @for s in list.iter().take(if st == SilenceState::Expired { EXPIRED_SHOWN } else { usize::MAX }) {
                    (silence(s, st, &alerts, root, now))
                }
                @if st == SilenceState::Expired && list.len() > EXPIRED_SHOWN {
                    p.more { (list.len() - EXPIRED_SHOWN) " older expired silences not shown." }
                }
            }
        }
    };
    (
        StatusCode::OK,
        layout::page("Silences", root, Nav::Silences, Some(15), body),
    )
}

fn silence(
    s: &Silence,
    st: SilenceState,
    alerts: &[Arc<Alert>],
    root: &str,
    now: Timestamp,
) -> Markup {
    let hides = if st == SilenceState::Expired {
        None
    } else {
        Some(alerts.iter().filter(|a| s.matches(&a.labels)).count())
    };
    let filter = matchers_to_string(&s.matchers);
    html! {
        article.silence.(st.as_str()) id={ "s-" (s.id) } data-id=(s.id) {
            div.line {
                (matcher_chips(&s.matchers))
            }
            p.meta {
                @if let Some(n) = hides {
                    a href={ (root) "?filter=" (encode(&filter)) } {
                        @if st == SilenceState::Active { "hides " } @else { "will hide " }
                        strong.hides { (n) } @if n == 1 { " alert" } @else { " alerts" }
                    }
                    " · "
                }
                @match st {
                    SilenceState::Active => { "ends " (when(s.ends_at, now)) },
                    SilenceState::Pending => { "starts " (when(s.starts_at, now)) ", ends " (when(s.ends_at, now)) },
                    SilenceState::Expired => { "ended " (when(s.ends_at, now)) },
                }
                " · by " strong.creator { (s.created_by) }
            }
            @if !s.comment.is_empty() { p.comment { (s.comment) } }
            p.meta.small {
                "id " code { (s.id) } " · " (utc(s.starts_at)) " → " (utc(s.ends_at))
            }
            div.buttons {
                @if st == SilenceState::Expired {
                    a.button href={ (root) "silences/new?from=" (encode(&s.id)) "&preview=1" } { "Recreate" }
                } @else {
                    a.button href={ (root) "silences/new?id=" (encode(&s.id)) "&preview=1" } { "Edit" }
                    button.expire type="button" data-id=(s.id) { "Expire" }
                }
                p.msg role="status" {}
            }
        }
    }
}

/// What the form holds.
struct Form {
    id: String,
    matchers: String,
    starts: String,
    ends: String,
    created_by: String,
    comment: String,
}

/// Reads `2h`, `1d12h` (from `starts`) or an RFC 3339 time.
fn parse_end(s: &str, starts: Timestamp) -> Result<Timestamp, String> {
    if let Ok(d) = crate::model::Duration::parse(s) {
        let d = SignedDuration::try_from(d.0).map_err(|e| format!("ends {s:?}: {e}"))?;
        return starts
            .checked_add(d)
            .map_err(|e| format!("ends {s:?}: {e}"));
    }
    s.parse::<Timestamp>().map_err(|_| {
        format!("ends {s:?}: neither a duration (2h, 1d) nor a time (2026-01-02T09:00:00Z)")
    })
}

/// The API body a valid form makes, or what is wrong with it.
fn body_of(f: &Form, now: Timestamp) -> (Vec<Matcher>, Result<String, Vec<String>>) {
    let mut errors = Vec::new();
    let matchers = match parse_matchers(&f.matchers, MatcherSyntax::Fallback) {
        Ok(m) => m,
        Err(e) => {
            errors.push(format!("matchers: {e}"));
            Vec::new()
        }
    };
    if errors.is_empty()
        && let Err(e) = validate_matchers(&matchers)
    {
        errors.push(format!("matchers: {e}"));
    }
    let starts = if f.starts.is_empty() {
        Ok(now)
    } else {
        f.starts.parse::<Timestamp>().map_err(|_| {
            format!(
                "starts {:?}: not a time like 2026-01-02T09:00:00Z",
                f.starts
            )
        })
    };
    let times = starts.and_then(|s| {
        let e = parse_end(&f.ends, s)?;
        check_times(s, e, now).map_err(|e| e.to_string())?;
        Ok((s, e))
    });
    let times = match times {
        Ok(t) => Some(t),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    if f.created_by.is_empty() {
        errors.push("created by: say who you are".to_owned());
    }
    if f.comment.is_empty() {
        errors.push("comment: say why".to_owned());
    }
    let Some((starts, ends)) = times.filter(|_| errors.is_empty()) else {
        return (matchers, Err(errors));
    };
    let wire: Vec<serde_json::Value> = matchers
        .iter()
        .map(|m| {
            serde_json::json!({
                "name": m.name, "value": m.value,
                "isRegex": m.op.is_regex(), "isEqual": m.op.is_equal(),
            })
        })
        .collect();
    let mut body = serde_json::json!({
        "matchers": wire,
        "startsAt": starts.to_string(),
        "endsAt": ends.to_string(),
        "createdBy": f.created_by,
        "comment": f.comment,
    });
    if !f.id.is_empty() {
        body["id"] = serde_json::Value::String(f.id.clone());
    }
    (matchers, Ok(body.to_string()))
}

/// `GET /silences/new`: `matchers`, `starts`, `ends`, `createdBy`, `comment`; `id` edits a
/// silence, `from` copies one; `preview` shows the alerts it would hide and offers to save.
pub(super) fn form(src: &Sources, q: &Query, root: &str) -> (StatusCode, Markup) {
    let now = clock::now();
    let base = q
        .get("id")
        .or(q.get("from"))
        .and_then(|id| src.silences.get(id));
    if let Some(id) = q.get("id").or(q.get("from"))
        && base.is_none()
    {
        let body = html! { p.error role="alert" { "No silence with id " code { (id) } "." } };
        return (
            StatusCode::NOT_FOUND,
            layout::page("Silence", root, Nav::Silences, None, body),
        );
    }
    let editing = q.get("id").is_some();
    let pick = |key: &str, from_base: Option<String>, default: &str| -> String {
        q.get(key)
            .map(str::to_owned)
            .or(from_base)
            .unwrap_or_else(|| default.to_owned())
    };
    let b = base.as_deref();
    let f = Form {
        id: if editing {
            b.map(|s| s.id.to_string()).unwrap_or_default()
        } else {
            String::new()
        },
        matchers: pick("matchers", b.map(|s| matchers_to_string(&s.matchers)), ""),
        starts: pick(
            "starts",
            b.filter(|s| editing && s.starts_at > now)
                .map(|s| s.starts_at.to_string()),
            "",
        ),
        ends: pick(
            "ends",
            b.filter(|_| editing).map(|s| s.ends_at.to_string()),
            "2h",
        ),
        created_by: pick("createdBy", b.map(|s| s.created_by.clone()), ""),
        comment: pick("comment", b.map(|s| s.comment.clone()), ""),
    };
    let preview = q.get("preview").is_some();
    let (matchers, body) = body_of(&f, now);
    let hidden: Vec<Arc<Alert>> = if matchers.is_empty() {
        Vec::new()
    } else {
        let mut v: Vec<Arc<Alert>> = src
            .store
            .list()
            .into_iter()
            .filter(|a| !a.resolved_at(now) && matchers.iter().all(|m| m.matches(&a.labels)))
            .collect();
        v.sort_by(|a, b| crate::model::alert_order(a, b));
        v
    };
    let title = if editing {
        "Edit silence"
    } else {
        "New silence"
    };
    let page = html! {
        h1 { (title) }
        form.silence-form method="get" action="" {
            @if editing { input type="hidden" name="id" value=(f.id); }
            label { "Matchers"
                input name="matchers" required value=(f.matchers) autocomplete="off"
                    placeholder="{alertname=\"DiskFull\", instance=~\"db.*\"}"; }
            div.row {
                label { "Starts" input name="starts" value=(f.starts) placeholder="now"; }
                label { "Ends" input name="ends" value=(f.ends) placeholder="2h, 1d, or 2026-01-02T09:00:00Z"; }
            }
            div.row {
                label { "Created by" input name="createdBy" value=(f.created_by) autocomplete="username" data-remember="author"; }
                label { "Comment" input name="comment" value=(f.comment); }
            }
            input type="hidden" name="preview" value="1";
            button type="submit" { "Preview" }
        }
        @if preview {
            section.preview #preview {
                @match &body {
                    Err(errors) => {
                        ul.error role="alert" { @for e in errors { li { (e) } } }
                    }
                    Ok(json) => {
                        button #save-silence type="button" data-body=(json) data-editing[editing] {
                            @if editing { "Save changes" } @else { "Create silence" }
                        }
                        p.msg role="status" {}
                    }
                }
                @if !matchers.is_empty() {
                    h2 { "Would hide " strong #preview-count { (hidden.len()) } @if hidden.len() == 1 { " alert" } @else { " alerts" } " now" }
                    ul.alerts.compact {
                        @for a in hidden.iter().take(PREVIEW_SHOWN) {
                            li.alert {
                                strong.name { (a.labels.get("alertname")) } " "
                                span.age { (when(a.starts_at, now)) } " "
                                (chips(a.labels.iter().filter(|(k, _)| *k != "alertname"), |_, _| None))
                            }
                        }
                    }
                    @if hidden.len() > PREVIEW_SHOWN {
                        p.more { "and " (hidden.len() - PREVIEW_SHOWN) " more" }
                    }
                }
            }
        }
    };
    (
        StatusCode::OK,
        layout::page(title, root, Nav::Silences, None, page),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(matchers: &str, ends: &str) -> Form {
        Form {
            id: String::new(),
            matchers: matchers.into(),
            starts: String::new(),
            ends: ends.into(),
            created_by: "ann".into(),
            comment: "known".into(),
        }
    }

    #[test]
    fn a_valid_form_makes_the_api_body() {
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let (ms, body) = body_of(&form("{job=\"db\", instance=~\"a.*\"}", "2h"), now);
        assert_eq!(ms.len(), 2);
        let v: serde_json::Value = serde_json::from_str(&body.unwrap()).unwrap();
        assert_eq!(v["endsAt"], "2026-01-01T02:00:00Z");
        assert_eq!(v["matchers"][1]["isRegex"], true);
        assert_eq!(v["createdBy"], "ann");
    }

    #[test]
    fn what_is_wrong_is_said() {
        let now: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let errs = body_of(&form("{job=~\".*\"}", "soon"), now).1.unwrap_err();
        assert!(errs[0].starts_with("matchers:"), "{errs:?}");
        assert!(errs[1].contains("ends \"soon\""), "{errs:?}");
        let errs = body_of(&form("job=db", "2025-01-01T00:00:00Z"), now)
            .1
            .unwrap_err();
        assert_eq!(errs.len(), 1, "{errs:?}");
    }
}
