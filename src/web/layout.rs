//! The page shell (head, navigation, the live-refresh switch) and the small pieces every page
//! uses: times and ages, severity, label chips, links from annotations.

use jiff::{SignedDuration, Timestamp};
use maud::{DOCTYPE, Markup, html};

use crate::model::LabelSet;

/// Which page is shown (marked in the navigation).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Nav {
    Alerts,
    Silences,
    Heartbeats,
    Status,
}

/// A whole page: `title`, `root` (the relative way back to the pages' root), `refresh` (seconds
/// between live refreshes of `<main>`; none for forms), and the body.
pub(super) fn page(
    title: &str,
    root: &str,
    nav: Nav,
    refresh: Option<u32>,
    body: Markup,
) -> Markup {
    let v = env!("CARGO_PKG_VERSION");
    let item = |n: Nav, href: String, label: &str| {
        html! {
            a href=(href) aria-current=[(n == nav).then_some("page")] { (label) }
        }
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) " · tocsin" }
                link rel="icon" href="data:,";
                link rel="stylesheet" href={ (root) "assets/app.css?v=" (v) };
                script defer src={ (root) "assets/app.js?v=" (v) } {}
            }
            body data-root=(root) {
                header.top {
                    nav aria-label="pages" {
                        strong.brand { "tocsin" }
                        (item(Nav::Alerts, root.to_owned(), "Alerts"))
                        (item(Nav::Silences, format!("{root}silences"), "Silences"))
                        (item(Nav::Heartbeats, format!("{root}heartbeats"), "Heartbeats"))
                        (item(Nav::Status, format!("{root}status"), "Status"))
                    }
                    @if let Some(s) = refresh {
                        label.live title="Refresh this view when it changes" {
                            input #live type="checkbox" checked data-every=(s);
                            " live"
                        }
                    }
                }
                main #content data-refresh=[refresh] { (body) }
            }
        }
    }
}

/// `2026-12-02 04:10:31 UTC`.
pub(super) fn utc(t: Timestamp) -> String {
    let d = jiff::tz::Offset::UTC.to_datetime(t);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        d.year(),
        d.month(),
        d.day(),
        d.hour(),
        d.minute(),
        d.second()
    )
}

/// A span as people say it: `45s`, `12m`, `3h 5m`, `2d 4h`.
pub(super) fn span(d: SignedDuration) -> String {
    let s = d.as_secs().unsigned_abs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 if (s % 3600) / 60 == 0 => format!("{}h", s / 3600),
        3600..86400 => format!("{}h {}m", s / 3600, (s % 3600) / 60),
        _ if (s % 86400) / 3600 == 0 => format!("{}d", s / 86400),
        _ => format!("{}d {}h", s / 86400, (s % 86400) / 3600),
    }
}

/// A time with its distance from now: `3h 5m ago` or `in 10m`, the exact time on hover.
pub(super) fn when(t: Timestamp, now: Timestamp) -> Markup {
    let d = now.duration_since(t);
    let text = if d.is_negative() {
        format!("in {}", span(d))
    } else {
        format!("{} ago", span(d))
    };
    html! { time datetime=(t.to_string()) title=(utc(t)) { (text) } }
}

/// Severity rank (4 critical … 1 info, 0 unknown) and its class, from the `severity` label.
pub(super) fn severity(labels: &LabelSet) -> (u8, &'static str) {
    match labels.get("severity").to_ascii_lowercase().as_str() {
        "critical" | "page" | "emergency" | "alert" | "fatal" | "p1" => (4, "sev-critical"),
        "error" | "high" | "major" | "p2" => (3, "sev-error"),
        "warning" | "warn" | "medium" | "minor" | "p3" => (2, "sev-warning"),
        "info" | "low" | "notice" | "informational" | "p4" | "p5" => (1, "sev-info"),
        _ => (0, "sev-none"),
    }
}

/// Label chips; each is a link built by `href` (to filter on it), when one is given.
pub(super) fn chips<'a>(
    labels: impl IntoIterator<Item = (&'a str, &'a str)>,
    href: impl Fn(&str, &str) -> Option<String>,
) -> Markup {
    html! {
        @for (k, v) in labels {
            @match href(k, v) {
                Some(h) => a.chip href=(h) title="Filter on this label" { (k) "=" span.v { (v) } },
                None => span.chip { (k) "=" span.v { (v) } },
            }
            " "
        }
    }
}

/// A value shown as a link when it is an http(s) URL, else as text (never a `javascript:` link).
pub(super) fn text_or_link(v: &str) -> Markup {
    let lower = v.trim_start().to_ascii_lowercase();
    html! {
        @if (lower.starts_with("https://") || lower.starts_with("http://")) && !v.contains(char::is_whitespace) {
            a href=(v.trim()) rel="noopener noreferrer" target="_blank" { (v) }
        } @else {
            (v)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_as_people_say_them() {
        let s = |secs: i64| span(SignedDuration::from_secs(secs));
        assert_eq!(s(5), "5s");
        assert_eq!(s(-125), "2m");
        assert_eq!(s(3 * 3600), "3h");
        assert_eq!(s(3 * 3600 + 5 * 60), "3h 5m");
        assert_eq!(s(2 * 86400 + 4 * 3600 + 59), "2d 4h");
    }

    #[test]
    fn only_web_urls_become_links() {
        assert!(
            text_or_link("https://runbooks/x")
                .into_string()
                .contains("href=\"https://runbooks/x\"")
        );
        let js = text_or_link("javascript:alert(1)").into_string();
        assert!(!js.contains("href"), "{js}");
        assert_eq!(text_or_link("<b>").into_string(), "&lt;b&gt;");
    }
}
