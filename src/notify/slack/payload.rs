//! The Slack message, as Alertmanager builds it (reference integrations.md §2.5): one legacy
//! attachment (colour, title cut to 1024 runes, title link, pretext, text, fields, actions,
//! footer, fallback, `mrkdwn_in` defaulting to fallback/pretext/text), plus channel, username,
//! icons, `link_names` and the 0.31+ top-level `message_text`. The same body goes to an
//! incoming webhook, to `chat.postMessage`, and (with `ts`) to `chat.update`.
//! Pure: parsed templates + notification data -> message, tested without a network.

use serde::Serialize;

use crate::config::SlackConfig;
use crate::notify::error::{BuildCause, NotifyError};
use crate::notify::tmpl::{self, Renderer, truncate_runes};
use crate::template::{Inline, Templates};

/// The longest attachment title, in runes.
pub const MAX_TITLE_RUNES: usize = 1024;

/// A field of the attachment, parsed.
struct FieldT {
    title: Inline,
    value: Inline,
    short: bool,
}

/// A button, parsed.
struct ActionT {
    kind: Inline,
    text: Inline,
    url: Inline,
    style: Inline,
    name: Inline,
    value: Inline,
    confirm: Option<[Inline; 4]>,
}

/// The config's templated fields, parsed.
pub struct Fields {
    channel: Option<Inline>,
    username: Inline,
    icon_emoji: Inline,
    icon_url: Inline,
    link_names: bool,
    message_text: Option<Inline>,
    title: Inline,
    title_link: Inline,
    pretext: Inline,
    text: Inline,
    fallback: Inline,
    callback_id: Inline,
    image_url: Option<Inline>,
    thumb_url: Option<Inline>,
    footer: Inline,
    color: Inline,
    mrkdwn_in: Vec<String>,
    fields: Vec<FieldT>,
    actions: Vec<ActionT>,
}

impl Fields {
    /// Parses every templated field of the config.
    pub fn parse(c: &SlackConfig, t: &Templates) -> Result<Fields, BuildCause> {
        let p = |f: &str, v: &str| tmpl::parse(t, f, v);
        let fields = c
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| {
                Ok(FieldT {
                    title: p(&format!("fields[{i}].title"), &f.title)?,
                    value: p(&format!("fields[{i}].value"), &f.value)?,
                    short: f.short.unwrap_or(c.short_fields),
                })
            })
            .collect::<Result<_, BuildCause>>()?;
        let actions = c
            .actions
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let f = |n: &str, v: &str| p(&format!("actions[{i}].{n}"), v);
                // As Alertmanager: a URL button drops the interactive fields.
                let url_button = !a.url.is_empty();
                let (name, value) = if url_button {
                    ("", "")
                } else {
                    (a.name.as_str(), a.value.as_str())
                };
                Ok(ActionT {
                    kind: f("type", &a.kind)?,
                    text: f("text", &a.text)?,
                    url: f("url", &a.url)?,
                    style: f("style", &a.style)?,
                    name: f("name", name)?,
                    value: f("value", value)?,
                    confirm: match (&a.confirm, url_button) {
                        (Some(cf), false) => Some([
                            f("confirm.text", &cf.text)?,
                            f("confirm.title", &cf.title)?,
                            f("confirm.ok_text", &cf.ok_text)?,
                            f("confirm.dismiss_text", &cf.dismiss_text)?,
                        ]),
                        _ => None,
                    },
                })
            })
            .collect::<Result<_, BuildCause>>()?;
        Ok(Fields {
            channel: tmpl::parse_opt(t, "channel", c.channel.as_deref())?,
            username: p("username", &c.username)?,
            icon_emoji: p("icon_emoji", &c.icon_emoji)?,
            icon_url: p("icon_url", &c.icon_url)?,
            link_names: c.link_names,
            message_text: tmpl::parse_opt(t, "message_text", c.message_text.as_deref())?,
            title: p("title", &c.title)?,
            title_link: p("title_link", &c.title_link)?,
            pretext: p("pretext", &c.pretext)?,
            text: p("text", &c.text)?,
            fallback: p("fallback", &c.fallback)?,
            callback_id: p("callback_id", &c.callback_id)?,
            image_url: tmpl::parse_opt(t, "image_url", c.image_url.as_deref())?,
            thumb_url: tmpl::parse_opt(t, "thumb_url", c.thumb_url.as_deref())?,
            footer: p("footer", &c.footer)?,
            color: p("color", &c.color)?,
            mrkdwn_in: if c.mrkdwn_in.is_empty() {
                vec!["fallback".into(), "pretext".into(), "text".into()]
            } else {
                c.mrkdwn_in.clone()
            },
            fields,
            actions,
        })
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// The message body, in Alertmanager's field order and with its omissions.
#[derive(Debug, Clone, Serialize)]
pub struct Message {
    /// The channel (rendered); the stored channel ID for `chat.update`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub channel: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    username: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    icon_emoji: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    icon_url: String,
    #[serde(skip_serializing_if = "is_false")]
    link_names: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    text: String,
    attachments: Vec<Attachment>,
    /// The message to edit (`chat.update` only).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ts: String,
    /// The message to reply to (`post_updates_to_thread`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub thread_ts: String,
}

#[derive(Debug, Clone, Serialize)]
struct Attachment {
    #[serde(skip_serializing_if = "String::is_empty")]
    title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    title_link: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pretext: String,
    text: String,
    fallback: String,
    callback_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fields: Vec<Field>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    actions: Vec<Action>,
    #[serde(skip_serializing_if = "String::is_empty")]
    image_url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    thumb_url: String,
    footer: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    color: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    mrkdwn_in: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
struct Field {
    #[serde(skip_serializing_if = "String::is_empty")]
    title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    value: String,
    short: bool,
}

#[derive(Debug, Clone, Serialize)]
struct Action {
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    style: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    confirm: Option<Confirm>,
}

#[derive(Debug, Clone, Serialize)]
struct Confirm {
    #[serde(skip_serializing_if = "String::is_empty")]
    text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    ok_text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    dismiss_text: String,
}

/// The rendered message and whether its title was cut.
pub struct Built {
    /// The message.
    pub message: Message,
    /// True when the title was cut to [`MAX_TITLE_RUNES`].
    pub title_truncated: bool,
}

/// Renders the message for one notification.
pub fn build(f: &Fields, r: &Renderer<'_>) -> Result<Built, NotifyError> {
    let (title, title_truncated) = truncate_runes(&r.text("title", &f.title)?, MAX_TITLE_RUNES);
    let mut fields = Vec::with_capacity(f.fields.len());
    for x in &f.fields {
        fields.push(Field {
            title: r.text("fields.title", &x.title)?,
            value: r.text("fields.value", &x.value)?,
            short: x.short,
        });
    }
    let mut actions = Vec::with_capacity(f.actions.len());
    for a in &f.actions {
        actions.push(Action {
            kind: r.text("actions.type", &a.kind)?,
            text: r.text("actions.text", &a.text)?,
            url: r.text("actions.url", &a.url)?,
            style: r.text("actions.style", &a.style)?,
            name: r.text("actions.name", &a.name)?,
            value: r.text("actions.value", &a.value)?,
            confirm: match &a.confirm {
                Some([text, title, ok, dismiss]) => Some(Confirm {
                    text: r.text("actions.confirm.text", text)?,
                    title: r.text("actions.confirm.title", title)?,
                    ok_text: r.text("actions.confirm.ok_text", ok)?,
                    dismiss_text: r.text("actions.confirm.dismiss_text", dismiss)?,
                }),
                None => None,
            },
        });
    }
    let attachment = Attachment {
        title,
        title_link: r.text("title_link", &f.title_link)?,
        pretext: r.text("pretext", &f.pretext)?,
        text: r.text("text", &f.text)?,
        fallback: r.text("fallback", &f.fallback)?,
        callback_id: r.text("callback_id", &f.callback_id)?,
        fields,
        actions,
        image_url: r.opt("image_url", &f.image_url)?,
        thumb_url: r.opt("thumb_url", &f.thumb_url)?,
        footer: r.text("footer", &f.footer)?,
        color: r.text("color", &f.color)?,
        mrkdwn_in: f.mrkdwn_in.clone(),
    };
    Ok(Built {
        message: Message {
            channel: r.opt("channel", &f.channel)?,
            username: r.text("username", &f.username)?,
            icon_emoji: r.text("icon_emoji", &f.icon_emoji)?,
            icon_url: r.text("icon_url", &f.icon_url)?,
            link_names: f.link_names,
            text: r.opt("message_text", &f.message_text)?,
            attachments: vec![attachment],
            ts: String::new(),
            thread_ts: String::new(),
        },
        title_truncated,
    })
}
