//! Zendesk request bodies, pure: the config's templated fields rendered for one notification,
//! then the create, comment and solve bodies (reference integrations.md §3.2, §3.3).

use serde_json::{Map, Value, json};

use super::super::error::{BuildCause, FailureReason, NotifyError};
use super::super::tmpl::{self, Renderer};
use crate::config::ZendeskConfig;
use crate::template::{Inline, Templates};

/// The priorities Zendesk accepts.
pub const PRIORITIES: [&str; 4] = ["urgent", "high", "normal", "low"];

/// The config's default comment template (a new ticket then gets the longer description).
const DEFAULT_COMMENT: &str = r#"{{ template "zendesk.default.comment" . }}"#;

/// The ticket's `external_id` for a group: `tocsin:` and the sha256 of the group key (hex), so
/// the same group always finds its ticket again, after a restart too.
pub fn external_id(group_key: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, group_key.as_bytes());
    let hex: String = d.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("tocsin:{hex}")
}

/// The templated fields, parsed when the integration is built.
pub struct Fields {
    /// `subject`.
    subject: Inline,
    /// The first comment of a new ticket (`zendesk.default.description` unless `comment` is set).
    description: Inline,
    /// `comment`: the comment added on change and on resolve.
    comment: Inline,
    /// `priority`.
    priority: Inline,
    /// `tags`.
    tags: Vec<Inline>,
    /// `custom_fields` by id.
    custom_fields: Vec<(u64, Inline)>,
    /// `ticket_type`.
    ticket_type: Option<String>,
    /// `group_id`.
    group_id: Option<u64>,
    /// `assignee_email`.
    assignee_email: Option<String>,
}

impl Fields {
    /// Parses every templated field (a broken one fails the config load, naming the field).
    pub fn parse(c: &ZendeskConfig, templates: &Templates) -> Result<Fields, BuildCause> {
        let description = if c.comment == DEFAULT_COMMENT {
            r#"{{ template "zendesk.default.description" . }}"#
        } else {
            c.comment.as_str()
        };
        Ok(Fields {
            subject: tmpl::parse(templates, "subject", &c.subject)?,
            description: tmpl::parse(templates, "comment", description)?,
            comment: tmpl::parse(templates, "comment", &c.comment)?,
            priority: tmpl::parse(templates, "priority", &c.priority)?,
            tags: c
                .tags
                .iter()
                .enumerate()
                .map(|(i, t)| tmpl::parse(templates, &format!("tags[{i}]"), t))
                .collect::<Result<_, _>>()?,
            custom_fields: c
                .custom_fields
                .iter()
                .map(|(id, t)| {
                    Ok((
                        *id,
                        tmpl::parse(templates, &format!("custom_fields.{id}"), t)?,
                    ))
                })
                .collect::<Result<_, BuildCause>>()?,
            ticket_type: c.ticket_type.clone(),
            group_id: c.group_id,
            assignee_email: c.assignee_email.clone(),
        })
    }
}

/// A comment: its text, private (alert updates are for agents).
fn comment(body: String, public: bool) -> Value {
    json!({"body": body, "public": public})
}

/// The body that creates the group's ticket (a follow-up of `follow_up` when its old ticket is
/// closed).
pub fn create(
    f: &Fields,
    r: &Renderer<'_>,
    external_id: &str,
    follow_up: Option<u64>,
) -> Result<Value, NotifyError> {
    let mut t = Map::new();
    t.insert("subject".into(), r.text("subject", &f.subject)?.into());
    t.insert(
        "comment".into(),
        comment(r.text("comment", &f.description)?, true),
    );
    t.insert("external_id".into(), external_id.into());
    let priority = r.text("priority", &f.priority)?;
    let priority = priority.trim();
    if !priority.is_empty() {
        if !PRIORITIES.contains(&priority) {
            return Err(NotifyError::permanent(
                FailureReason::Other,
                format!("priority rendered {priority:?}, want one of {PRIORITIES:?}"),
            ));
        }
        t.insert("priority".into(), priority.into());
    }
    if let Some(k) = &f.ticket_type {
        t.insert("type".into(), k.as_str().into());
    }
    let mut tags = Vec::new();
    for (i, tag) in f.tags.iter().enumerate() {
        let v = r.text(&format!("tags[{i}]"), tag)?;
        if !v.trim().is_empty() {
            tags.push(Value::from(v.trim()));
        }
    }
    if !tags.is_empty() {
        t.insert("tags".into(), Value::Array(tags));
    }
    let mut custom = Vec::new();
    for (id, v) in &f.custom_fields {
        custom.push(json!({"id": id, "value": r.text(&format!("custom_fields.{id}"), v)?}));
    }
    if !custom.is_empty() {
        t.insert("custom_fields".into(), Value::Array(custom));
    }
    if let Some(g) = f.group_id {
        t.insert("group_id".into(), g.into());
    }
    if let Some(a) = &f.assignee_email {
        t.insert("assignee_email".into(), a.as_str().into());
    }
    if let Some(id) = follow_up {
        t.insert("via_followup_source_id".into(), id.into());
    }
    Ok(json!({ "ticket": t }))
}

/// The body that adds the change as a private comment, reopening a ticket tocsin had solved.
pub fn update(f: &Fields, r: &Renderer<'_>, reopen: bool) -> Result<Value, NotifyError> {
    let mut t = Map::new();
    t.insert(
        "comment".into(),
        comment(r.text("comment", &f.comment)?, false),
    );
    if reopen {
        t.insert("status".into(), "open".into());
    }
    Ok(json!({ "ticket": t }))
}

/// The body that solves the ticket with a private comment.
pub fn solve(f: &Fields, r: &Renderer<'_>) -> Result<Value, NotifyError> {
    Ok(json!({"ticket": {
        "status": "solved",
        "comment": comment(r.text("comment", &f.comment)?, false),
    }}))
}
