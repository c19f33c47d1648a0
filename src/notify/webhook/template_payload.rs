//! The webhook `payload:` option (Alertmanager 0.32+): a YAML map whose string leaves are
//! templates, rendered per notification and sent as the JSON body instead of the v4 payload.
//!
//! Every leaf is parsed when the config loads (a broken template is a load error). A leaf whose
//! output is a JSON object or array (`{{ .Alerts | toJson }}`) is embedded as that structure;
//! other output stays a string; non-string YAML values are sent as they are. If a leaf fails to
//! render at send time, the caller logs and counts it and sends the standard v4 payload instead,
//! so the receiver still hears about the alerts.

use std::sync::Arc;

use serde_json::Value;

use crate::notify::error::BuildCause;
use crate::template::{Data, Error, Inline, RenderContext, Templates};

/// A parsed payload template.
pub enum PayloadTemplate {
    /// A string leaf: a template.
    Text(Inline),
    /// An object of templates.
    Object(Vec<(String, PayloadTemplate)>),
    /// An array of templates.
    Array(Vec<PayloadTemplate>),
    /// A non-string leaf, sent as is.
    Literal(Value),
}

impl PayloadTemplate {
    /// Parses every string leaf of `v` against `templates`; errors name the leaf's path.
    pub fn parse(v: &Value, templates: &Templates, path: &str) -> Result<Self, BuildCause> {
        Ok(match v {
            Value::String(s) => {
                PayloadTemplate::Text(templates.parse_inline(s).map_err(|source| {
                    BuildCause::Template {
                        field: path.to_owned(),
                        source: Box::new(source),
                    }
                })?)
            }
            Value::Object(m) => PayloadTemplate::Object(
                m.iter()
                    .map(|(k, v)| {
                        Ok((
                            k.clone(),
                            Self::parse(v, templates, &format!("{path}.{k}"))?,
                        ))
                    })
                    .collect::<Result<_, BuildCause>>()?,
            ),
            Value::Array(a) => PayloadTemplate::Array(
                a.iter()
                    .enumerate()
                    .map(|(i, v)| Self::parse(v, templates, &format!("{path}[{i}]")))
                    .collect::<Result<_, BuildCause>>()?,
            ),
            other => PayloadTemplate::Literal(other.clone()),
        })
    }

    /// Renders the payload.
    pub fn render(
        &self,
        templates: &Arc<Templates>,
        data: &Data,
        ctx: &RenderContext,
    ) -> Result<Value, Error> {
        Ok(match self {
            PayloadTemplate::Text(t) => {
                let s = t.render(templates, data, ctx)?;
                let trimmed = s.trim_start();
                if trimmed.starts_with('{') || trimmed.starts_with('[') {
                    serde_json::from_str(&s).unwrap_or(Value::String(s))
                } else {
                    Value::String(s)
                }
            }
            PayloadTemplate::Object(fields) => {
                let mut m = serde_json::Map::new();
                for (k, t) in fields {
                    m.insert(k.clone(), t.render(templates, data, ctx)?);
                }
                Value::Object(m)
            }
            PayloadTemplate::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|t| t.render(templates, data, ctx))
                    .collect::<Result<_, _>>()?,
            ),
            PayloadTemplate::Literal(v) => v.clone(),
        })
    }
}
