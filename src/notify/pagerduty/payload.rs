//! PagerDuty event bodies, as Alertmanager builds them (reference integrations.md §1.7): the
//! Events API v2 event, or the v1 event when a `service_key` is configured. Pure: parsed
//! templates + notification data -> bytes, tested without a network.
//!
//! - `dedup_key` (v1 `incident_key`) is the sha256 hex of the group key: stable across restarts
//!   and peers, so trigger and resolve of one group reach the same incident.
//! - `event_action` is `resolve` only when every carried alert is resolved.
//! - `summary` (v1 `description`) is cut to 1024 runes; an event over 512,000 bytes has its
//!   custom details replaced by Alertmanager's explanation.
//! - Field names, their order and what is omitted when empty follow Alertmanager's encoder;
//!   v1 bodies carry `"event_action":""` and `"payload":null` as Alertmanager's do.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::PagerdutyConfig;
use crate::notify::data::NotificationData;
use crate::notify::error::{BuildCause, NotifyError};
use crate::notify::tmpl::{self, Renderer, truncate_runes};
use crate::template::{Inline, Templates};

/// The largest event PagerDuty accepts, in bytes.
pub const MAX_EVENT_SIZE: usize = 512_000;
/// The longest summary (v2) or description (v1), in runes.
pub const MAX_SUMMARY_RUNES: usize = 1024;
/// What replaces the custom details of an event that is too large.
pub const DETAILS_REMOVED: &str = "Custom details have been removed because the original event \
                                   exceeds the maximum size of 512KB";

/// Which Events API an integration speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// Events API v2 (`routing_key`).
    V2,
    /// Events API v1 (`service_key`).
    V1,
}

/// The config's templated fields, parsed.
pub struct Fields {
    /// `client`.
    client: Inline,
    /// `client_url`.
    client_url: Inline,
    /// `description` (v2 `payload.summary`).
    description: Inline,
    /// `details` (v2 `payload.custom_details`, v1 `details`), by key.
    details: Vec<(String, Inline)>,
    /// `images[]`: src, alt, href.
    images: Vec<(Inline, Inline, Inline)>,
    /// `links[]`: href, text.
    links: Vec<(Inline, Inline)>,
    /// `source` (default: the `client` template).
    source: Inline,
    /// `severity` (default `error`).
    severity: Inline,
    /// `class`.
    class: Option<Inline>,
    /// `component`.
    component: Option<Inline>,
    /// `group`.
    group: Option<Inline>,
}

impl Fields {
    /// Parses every templated field of the config.
    pub fn parse(c: &PagerdutyConfig, t: &Templates) -> Result<Fields, BuildCause> {
        let source = c.source.as_deref().unwrap_or(&c.client);
        let severity = c.severity.as_deref().filter(|s| !s.is_empty());
        Ok(Fields {
            client: tmpl::parse(t, "client", &c.client)?,
            client_url: tmpl::parse(t, "client_url", &c.client_url)?,
            description: tmpl::parse(t, "description", &c.description)?,
            details: c
                .details
                .iter()
                .map(|(k, v)| Ok((k.clone(), tmpl::parse(t, &format!("details.{k}"), v)?)))
                .collect::<Result<_, BuildCause>>()?,
            images: c
                .images
                .iter()
                .enumerate()
                .map(|(i, im)| {
                    let f = |n: &str, v: &str| tmpl::parse(t, &format!("images[{i}].{n}"), v);
                    Ok((f("src", &im.src)?, f("alt", &im.alt)?, f("href", &im.href)?))
                })
                .collect::<Result<_, BuildCause>>()?,
            links: c
                .links
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let f = |n: &str, v: &str| tmpl::parse(t, &format!("links[{i}].{n}"), v);
                    Ok((f("href", &l.href)?, f("text", &l.text)?))
                })
                .collect::<Result<_, BuildCause>>()?,
            source: tmpl::parse(t, "source", source)?,
            severity: tmpl::parse(t, "severity", severity.unwrap_or("error"))?,
            class: tmpl::parse_opt(t, "class", c.class.as_deref())?,
            component: tmpl::parse_opt(t, "component", c.component.as_deref())?,
            group: tmpl::parse_opt(t, "group", c.group.as_deref())?,
        })
    }
}

/// One event, in Alertmanager's field order; empty optional fields are left out as its
/// encoder's `omitempty` leaves them out.
#[derive(Serialize)]
struct Message<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    routing_key: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    service_key: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    dedup_key: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    incident_key: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    event_type: &'a str,
    #[serde(skip_serializing_if = "String::is_empty")]
    description: String,
    event_action: &'a str,
    payload: Option<Payload<'a>>,
    #[serde(skip_serializing_if = "String::is_empty")]
    client: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    client_url: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    details: BTreeMap<&'a str, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    images: Vec<Image>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    links: Vec<Link>,
}

/// The v2 `payload` object.
#[derive(Serialize)]
struct Payload<'a> {
    summary: String,
    source: String,
    severity: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    class: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    component: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    group: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    custom_details: BTreeMap<&'a str, String>,
}

#[derive(Serialize)]
struct Image {
    src: String,
    alt: String,
    href: String,
}

#[derive(Serialize)]
struct Link {
    href: String,
    text: String,
}

/// The sha256 hex of the group key: PagerDuty's `dedup_key` / `incident_key`.
pub fn dedup_key(group_key: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, group_key.as_bytes());
    let mut out = String::with_capacity(2 * d.as_ref().len());
    for b in d.as_ref() {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

/// An encoded event and whether its details were dropped to fit the size limit.
pub struct Event {
    /// The JSON body.
    pub body: Vec<u8>,
    /// `trigger` or `resolve`.
    pub action: &'static str,
    /// True when the details were replaced to fit [`MAX_EVENT_SIZE`].
    pub details_removed: bool,
    /// True when the summary was cut to [`MAX_SUMMARY_RUNES`].
    pub summary_truncated: bool,
    /// The dedup key (v1: incident key) it carries.
    pub dedup_key: String,
}

/// Builds the event for one notification. `key` is the routing key (v2) or service key (v1),
/// already read and rendered.
pub fn build(
    api: Api,
    f: &Fields,
    r: &Renderer<'_>,
    data: &NotificationData,
    key: &str,
) -> Result<Event, NotifyError> {
    let action = if data.status == "resolved" {
        "resolve"
    } else {
        "trigger"
    };
    let hash = dedup_key(&data.group_key);
    let mut details = BTreeMap::new();
    for (k, t) in &f.details {
        details.insert(k.as_str(), r.text(&format!("details.{k}"), t)?);
    }
    let (summary, summary_truncated) =
        truncate_runes(&r.text("description", &f.description)?, MAX_SUMMARY_RUNES);
    let mut msg = match api {
        Api::V2 => {
            let mut images = Vec::new();
            for (src, alt, href) in &f.images {
                let src = r.text("images.src", src)?;
                if !src.is_empty() {
                    images.push(Image {
                        src,
                        alt: r.text("images.alt", alt)?,
                        href: r.text("images.href", href)?,
                    });
                }
            }
            let mut links = Vec::new();
            for (href, text) in &f.links {
                let href = r.text("links.href", href)?;
                if !href.is_empty() {
                    links.push(Link {
                        href,
                        text: r.text("links.text", text)?,
                    });
                }
            }
            Message {
                routing_key: key,
                service_key: "",
                dedup_key: &hash,
                incident_key: "",
                event_type: "",
                description: String::new(),
                event_action: action,
                payload: Some(Payload {
                    summary,
                    source: r.text("source", &f.source)?,
                    severity: r.text("severity", &f.severity)?,
                    class: r.opt("class", &f.class)?,
                    component: r.opt("component", &f.component)?,
                    group: r.opt("group", &f.group)?,
                    custom_details: details,
                }),
                client: r.text("client", &f.client)?,
                client_url: r.text("client_url", &f.client_url)?,
                details: BTreeMap::new(),
                images,
                links,
            }
        }
        Api::V1 => {
            let trigger = action == "trigger";
            Message {
                routing_key: "",
                service_key: key,
                dedup_key: "",
                incident_key: &hash,
                event_type: action,
                description: summary,
                event_action: "",
                payload: None,
                client: if trigger {
                    r.text("client", &f.client)?
                } else {
                    String::new()
                },
                client_url: if trigger {
                    r.text("client_url", &f.client_url)?
                } else {
                    String::new()
                },
                details,
                images: Vec::new(),
                links: Vec::new(),
            }
        }
    };
    let encode =
        |m: &Message<'_>| serde_json::to_vec(m).map_err(|e| NotifyError::payload("the event", e));
    let mut body = encode(&msg)?;
    let mut details_removed = false;
    if body.len() > MAX_EVENT_SIZE {
        let replaced: BTreeMap<&str, String> = [("error", DETAILS_REMOVED.to_owned())].into();
        match &mut msg.payload {
            Some(p) => p.custom_details = replaced,
            None => msg.details = replaced,
        }
        body = encode(&msg)?;
        details_removed = true;
    }
    Ok(Event {
        body,
        action,
        details_removed,
        summary_truncated,
        dedup_key: hash,
    })
}
