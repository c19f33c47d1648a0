//! Templated config fields, shared by every integration: parsed once when the integration is
//! built (a broken template fails the config load, naming the field), rendered per notification
//! against Alertmanager's template data. Plus the rune truncation Alertmanager applies to titles
//! and summaries.

use crate::template::{Data, Inline, RenderContext, Templates};

use super::data::NotificationData;
use super::error::{BuildCause, FailureReason, NotifyError};

/// Parses one config field's template.
pub fn parse(templates: &Templates, field: &str, text: &str) -> Result<Inline, BuildCause> {
    templates
        .parse_inline_named(field, text, false)
        .map_err(|source| BuildCause::Template {
            field: field.to_owned(),
            source: Box::new(source),
        })
}

/// Parses an optional field (absent stays absent).
pub fn parse_opt(
    templates: &Templates,
    field: &str,
    text: Option<&str>,
) -> Result<Option<Inline>, BuildCause> {
    text.map(|t| parse(templates, field, t)).transpose()
}

/// Renders the fields of one notification: the template data is built once.
pub struct Renderer<'a> {
    /// The template set the fields were parsed against.
    templates: &'a Templates,
    /// `.Receiver`, `.Alerts`, ... for this notification.
    data: Data,
    /// Zone and `now` of the render.
    ctx: RenderContext,
}

impl<'a> Renderer<'a> {
    /// A renderer for one notification, in the process's time zone (as Alertmanager renders).
    pub fn new(templates: &'a Templates, nd: &NotificationData) -> Self {
        Renderer {
            templates,
            data: nd.template_data(),
            ctx: RenderContext::system_zone(nd.now),
        }
    }

    /// Renders one field; a failure is a permanent error naming the field (the same data will
    /// fail again).
    pub fn text(&self, field: &str, t: &Inline) -> Result<String, NotifyError> {
        t.render(self.templates, &self.data, &self.ctx)
            .map_err(|e| {
                NotifyError::permanent(FailureReason::Other, format!("rendering {field}: {e}"))
            })
    }

    /// Renders an optional field (absent renders as empty, as Go's zero string).
    pub fn opt(&self, field: &str, t: &Option<Inline>) -> Result<String, NotifyError> {
        match t {
            Some(t) => self.text(field, t),
            None => Ok(String::new()),
        }
    }

    /// Renders a template given as text at send time (a templated key read from a file).
    pub fn adhoc(&self, field: &str, text: &str) -> Result<String, NotifyError> {
        if !text.contains("{{") {
            return Ok(text.to_owned());
        }
        let t = self
            .templates
            .parse_inline_named(field, text, false)
            .map_err(|e| {
                NotifyError::permanent(FailureReason::Other, format!("parsing {field}: {e}"))
            })?;
        self.text(field, &t)
    }
}

/// Alertmanager's `TruncateInRunes`: at most `n` runes, the last one replaced by `…` when cut.
/// Returns whether it cut.
pub fn truncate_runes(s: &str, n: usize) -> (String, bool) {
    match s.char_indices().nth(n) {
        None => (s.to_owned(), false),
        Some(_) if n <= 3 => (s.chars().take(n).collect(), true),
        Some(_) => {
            let mut out: String = s.chars().take(n - 1).collect();
            out.push('…');
            (out, true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_like_alertmanager() {
        assert_eq!(truncate_runes("abc", 3), ("abc".to_owned(), false));
        assert_eq!(truncate_runes("abcdef", 3), ("abc".to_owned(), true));
        assert_eq!(truncate_runes("äöüßxy", 5), ("äöüß…".to_owned(), true));
        assert_eq!(truncate_runes("äöüß", 4), ("äöüß".to_owned(), false));
    }
}
