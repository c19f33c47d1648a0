//! Notification templates: a Go `text/template`-compatible engine with Alertmanager's data
//! model, function map and default templates, plus html/template-style auto-escaping for
//! email HTML bodies.
//!
//! This module owns template parsing, loading (built-in defaults, then user files, later
//! `define`s overriding earlier ones), load-time checks (syntax, unknown functions and
//! variables, undefined templates, HTML escaping contexts) and rendering. It is layer L1: it
//! imports nothing from the rest of the crate, and never reads the clock — the current time
//! and the time zone come in through [`RenderContext`].
//!
//! ```
//! use tocsin::template::{Data, Kv, RenderContext, Templates};
//! let t = Templates::with_defaults();
//! let title = t.parse_inline(r#"{{ template "slack.default.title" . }}"#).unwrap();
//! let ctx = RenderContext::new(jiff::tz::TimeZone::UTC, jiff::Timestamp::UNIX_EPOCH);
//! let data = Data {
//!     status: "resolved".into(),
//!     group_labels: Kv::from_pairs([("alertname", "DiskFull")]),
//!     common_labels: Kv::from_pairs([("alertname", "DiskFull"), ("job", "node")]),
//!     ..Data::default()
//! };
//! assert_eq!(title.render(&t, &data, &ctx).unwrap(), "[RESOLVED] DiskFull (node)");
//! ```

mod ast;
mod data;
mod escape;
mod exec;
mod funcs;
mod json;
mod lexer;
mod parse;
mod printf;
mod timefmt;
mod timeparse;
mod value;

#[cfg(test)]
mod difftest;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use jiff::Timestamp;
use jiff::tz::TimeZone;

pub use data::{Alert, Data, Kv, zero_time};
pub use exec::{MAX_EXEC_DEPTH, MAX_EXEC_STEPS, MAX_OUTPUT};
pub use parse::MAX_PARSE_DEPTH;

use ast::{Source, Tree, for_each_call, is_empty_body};
use exec::{ExecErr, Set};
use value::Value;

/// Our default templates (Alertmanager's `default.tmpl` names, our wording).
const DEFAULT_TMPL: &str = include_str!("defaults.tmpl");
/// Our default email templates (Alertmanager's `email.tmpl` names, our wording).
const EMAIL_TMPL: &str = include_str!("email.tmpl");

/// Errors from loading or rendering templates. Every variant names the file (or inline
/// template), line and column it is about.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The template text does not parse.
    #[error("{file}:{line}:{col}: {msg}")]
    Parse {
        /// File path or inline name.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// What is wrong.
        msg: String,
    },
    /// A `{{ template "x" }}` call names a template that no loaded source defines.
    #[error("{file}:{line}:{col}: template {name:?} is not defined")]
    Undefined {
        /// File path or inline name of the call.
        file: String,
        /// 1-based line of the call.
        line: usize,
        /// 1-based column of the call.
        col: usize,
        /// The missing template.
        name: String,
    },
    /// HTML contextual escaping refused the template (unsupported or inconsistent context).
    #[error("{file}:{line}:{col}: html/template {template:?}: {msg}")]
    Escape {
        /// File path or inline name.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// Template being escaped.
        template: String,
        /// What is wrong.
        msg: String,
    },
    /// Executing a template failed.
    #[error("{file}:{line}:{col}: executing {template:?} at <{at}>: {msg}")]
    Render {
        /// File path or inline name.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// Template being executed.
        template: String,
        /// Source text of the failing action or command.
        at: String,
        /// What went wrong.
        msg: String,
    },
    /// A template file could not be read.
    #[error("{file}: {source}")]
    Io {
        /// The path.
        file: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl From<Box<ExecErr>> for Error {
    fn from(e: Box<ExecErr>) -> Self {
        let (line, col) = e.src.line_col(e.pos);
        let at: String = e
            .src
            .snippet(e.pos, e.end)
            .trim()
            .chars()
            .take(80)
            .collect();
        Error::Render {
            file: e.src.name.clone(),
            line,
            col,
            template: e.name.to_string(),
            at,
            msg: e.msg,
        }
    }
}

/// What a render may read from the outside world: the time zone times are shown in (Go's
/// `time.Local`; Alertmanager uses the process zone) and the instant used by `now`/`since`.
#[derive(Debug, Clone)]
pub struct RenderContext {
    /// Zone for alert times, `now`, `.Local` and `tz "Local"`.
    pub zone: TimeZone,
    /// The current instant, as far as templates are concerned.
    pub now: Timestamp,
}

impl RenderContext {
    /// A context with an explicit zone and instant.
    pub fn new(zone: TimeZone, now: Timestamp) -> Self {
        RenderContext { zone, now }
    }

    /// A context in the process's time zone (`TZ` or the system zone), as Alertmanager renders.
    pub fn system_zone(now: Timestamp) -> Self {
        RenderContext {
            zone: TimeZone::system(),
            now,
        }
    }
}

/// A loaded template set: built-in defaults and user files, parsed and checked at load.
///
/// Cheap to clone (shared internally); safe to share across threads once loaded.
#[derive(Debug, Clone, Default)]
pub struct Templates {
    set: Arc<Set>,
}

/// A config field's template (`title: '{{ template "slack.default.title" . }}'`), parsed and
/// checked once at config load, rendered against the shared [`Templates`].
#[derive(Debug, Clone)]
pub struct Inline {
    tree: Arc<Tree>,
    /// The set plus the inline text's own `define`s, when it has any.
    own: Option<Arc<Set>>,
    /// The HTML-escaped copies of everything this template runs, in HTML mode.
    html: Option<Arc<Set>>,
    /// Length of the last output, so the next render allocates its buffer once.
    size_hint: SizeHint,
}

/// The last output length of a template (a hint; races between renders are harmless).
#[derive(Debug, Default)]
struct SizeHint(std::sync::atomic::AtomicUsize);

impl Clone for SizeHint {
    fn clone(&self) -> Self {
        SizeHint(self.get().into())
    }
}

impl SizeHint {
    fn get(&self) -> usize {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
    fn set(&self, len: usize) {
        self.0.store(len, std::sync::atomic::Ordering::Relaxed);
    }
}

fn parse_error(src: &Source, pos: usize, msg: String) -> Error {
    let (line, col) = src.line_col(pos);
    Error::Parse {
        file: src.name.clone(),
        line,
        col,
        msg,
    }
}

/// Parses one source into its top-level tree and definitions.
fn parse_source(name: &str, text: &str) -> Result<(Arc<Tree>, Vec<Arc<Tree>>), Error> {
    let src = Arc::new(Source {
        name: name.to_string(),
        text: text.to_string(),
    });
    let parsed = parse::parse(text).map_err(|e| parse_error(&src, e.pos, e.msg))?;
    let base: Arc<str> = Arc::from(
        Path::new(name)
            .file_name()
            .and_then(|s| s.to_str())
            .unwrap_or(name),
    );
    let top = Arc::new(Tree {
        name: base,
        src: src.clone(),
        root: parsed.top,
    });
    let defs = parsed
        .defs
        .into_iter()
        .map(|(n, root)| {
            Arc::new(Tree {
                name: n,
                src: src.clone(),
                root,
            })
        })
        .collect();
    Ok((top, defs))
}

/// Adds a tree unless it is empty and would replace a non-empty one (Go's rule).
fn associate(set: &mut Set, tree: Arc<Tree>) {
    if is_empty_body(&tree.root)
        && let Some(old) = set.get(&tree.name)
        && !is_empty_body(&old.root)
    {
        return;
    }
    set.insert(tree.name.clone(), tree);
}

/// Checks that every template reachable from `root` is defined in `set`.
fn check_calls(set: &Set, root: &Tree) -> Result<(), Error> {
    let mut seen: HashSet<Arc<str>> = HashSet::new();
    let mut stack: Vec<Arc<Tree>> = Vec::new();
    let visit = |tree: &Tree, stack: &mut Vec<Arc<Tree>>, seen: &mut HashSet<Arc<str>>| {
        let mut err = None;
        for_each_call(&tree.root, &mut |name, pos| {
            if err.is_some() || seen.contains(name) {
                return;
            }
            match set.get(name) {
                Some(t) => {
                    seen.insert(t.name.clone());
                    stack.push(t.clone());
                }
                None => {
                    let (line, col) = tree.src.line_col(pos);
                    err = Some(Error::Undefined {
                        file: tree.src.name.clone(),
                        line,
                        col,
                        name: name.to_string(),
                    });
                }
            }
        });
        err.map_or(Ok(()), Err)
    };
    visit(root, &mut stack, &mut seen)?;
    while let Some(t) = stack.pop() {
        visit(&t, &mut stack, &mut seen)?;
    }
    Ok(())
}

impl Templates {
    /// An empty set (no defaults).
    pub fn new() -> Self {
        Templates::default()
    }

    /// A set holding our default templates: every name Alertmanager's `default.tmpl` and
    /// `email.tmpl` define, plus `zendesk.default.*`.
    pub fn with_defaults() -> Self {
        let mut t = Templates::new();
        for (name, text) in [("default.tmpl", DEFAULT_TMPL), ("email.tmpl", EMAIL_TMPL)] {
            if let Err(e) = t.add_source(name, text) {
                // The built-in files are constants covered by tests; this cannot happen.
                unreachable!("built-in template {name} failed to load: {e}");
            }
        }
        t
    }

    /// Reads and adds a template file. Its `define`s replace earlier ones of the same name
    /// (except that an empty definition never replaces a non-empty one); its top-level text
    /// becomes a template named after the file's base name.
    pub fn add_file(&mut self, path: &Path) -> Result<(), Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            file: path.display().to_string(),
            source,
        })?;
        self.add_source(&path.display().to_string(), &text)
    }

    /// Adds template text as if read from a file called `name`.
    pub fn add_source(&mut self, name: &str, text: &str) -> Result<(), Error> {
        let (top, defs) = parse_source(name, text)?;
        let set = Arc::make_mut(&mut self.set);
        associate(set, top);
        for d in defs {
            associate(set, d);
        }
        Ok(())
    }

    /// True if a template of this name is loaded.
    pub fn contains(&self, name: &str) -> bool {
        self.set.contains_key(name)
    }

    /// Names of all loaded templates, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.set.keys().map(|k| k.to_string()).collect();
        v.sort();
        v
    }

    /// Strict check: every `{{ template }}` call in every loaded template names a loaded
    /// template. (Alertmanager only fails when such a template is executed; call this to
    /// reject dead references at load as well.)
    pub fn validate(&self) -> Result<(), Error> {
        let mut names: Vec<&Arc<str>> = self.set.keys().collect();
        names.sort();
        for n in names {
            check_calls(&self.set, &self.set[n])?;
        }
        Ok(())
    }

    /// Parses a config field's template text (named `inline` in messages) for text output.
    pub fn parse_inline(&self, text: &str) -> Result<Inline, Error> {
        self.parse_inline_named("inline", text, false)
    }

    /// Parses a config field's template text for HTML output (email `html`, pushover with
    /// `html: true`, telegram `parse_mode: HTML`): contextual escaping is decided now.
    pub fn parse_inline_html(&self, text: &str) -> Result<Inline, Error> {
        self.parse_inline_named("inline", text, true)
    }

    /// Like [`Templates::parse_inline`]/[`Templates::parse_inline_html`], naming the source
    /// in messages (e.g. `receivers[0].slack_configs[0].title`).
    pub fn parse_inline_named(&self, name: &str, text: &str, html: bool) -> Result<Inline, Error> {
        let src = Arc::new(Source {
            name: name.to_string(),
            text: text.to_string(),
        });
        let parsed = parse::parse(text).map_err(|e| parse_error(&src, e.pos, e.msg))?;
        let own = if parsed.defs.is_empty() {
            None
        } else {
            let mut set = (*self.set).clone();
            for (n, root) in parsed.defs {
                associate(
                    &mut set,
                    Arc::new(Tree {
                        name: n,
                        src: src.clone(),
                        root,
                    }),
                );
            }
            Some(Arc::new(set))
        };
        let tree = Arc::new(Tree {
            name: Arc::from(name),
            src: src.clone(),
            root: parsed.top,
        });
        let set: &Set = own.as_deref().unwrap_or(&self.set);
        check_calls(set, &tree)?;
        let html = if html {
            let escaped = escape::escape_set(set, &tree).map_err(|e| {
                let (file, line, col, template) = match &e.tree {
                    Some(t) => {
                        let (l, c) = t.src.line_col(e.pos);
                        (t.src.name.clone(), l, c, t.name.to_string())
                    }
                    None => (name.to_string(), 1, 1, name.to_string()),
                };
                Error::Escape {
                    file,
                    line,
                    col,
                    template,
                    msg: e.msg,
                }
            })?;
            escape::script_guard(&escaped).map_err(|(t, msg)| Error::Escape {
                file: t.src.name.clone(),
                line: 1,
                col: 1,
                template: t.name.to_string(),
                msg,
            })?;
            Some(Arc::new(escaped))
        } else {
            None
        };
        Ok(Inline {
            tree,
            own,
            html,
            size_hint: SizeHint::default(),
        })
    }

    /// Renders a loaded template by name (text mode).
    pub fn render_named(
        &self,
        name: &str,
        data: &Data,
        ctx: &RenderContext,
    ) -> Result<String, Error> {
        let inline = self.parse_inline_named(
            "render_named",
            &format!("{{{{ template {name:?} . }}}}"),
            false,
        )?;
        inline.render(self, data, ctx)
    }
}

impl Inline {
    /// Renders against `templates` (the set this was parsed against, normally).
    pub fn render(
        &self,
        templates: &Templates,
        data: &Data,
        ctx: &RenderContext,
    ) -> Result<String, Error> {
        let env = funcs::Env::new(ctx.zone.clone(), ctx.now);
        let cap = self.size_hint.get().clamp(256, 1 << 20);
        let out = if let Some(html) = &self.html {
            let tree = html.get(&self.tree.name).unwrap_or(&self.tree);
            exec::execute(html, tree, Value::Data(data), env, cap)?
        } else {
            let set: &Set = self.own.as_deref().unwrap_or(&templates.set);
            exec::execute(set, &self.tree, Value::Data(data), env, cap)?
        };
        self.size_hint.set(out.len());
        Ok(out)
    }

    /// Renders, or on failure returns `fallback` together with the error (for the caller to
    /// log) so a notification still goes out.
    pub fn render_or_fallback(
        &self,
        templates: &Templates,
        data: &Data,
        ctx: &RenderContext,
        fallback: &str,
    ) -> (String, Option<Error>) {
        match self.render(templates, data, ctx) {
            Ok(s) => (s, None),
            Err(e) => (fallback.to_string(), Some(e)),
        }
    }

    /// True when this template renders HTML with contextual escaping.
    pub fn is_html(&self) -> bool {
        self.html.is_some()
    }
}

/// Preview: parses `text` against `templates` and renders it with `data` (text mode), for
/// `tocsin template render` and `POST /api/tocsin/v1/templates/render`.
pub fn render_preview(
    templates: &Templates,
    text: &str,
    data: &Data,
    ctx: &RenderContext,
) -> Result<String, Error> {
    templates.parse_inline(text)?.render(templates, data, ctx)
}

/// Preview in HTML mode (as the email `html` field renders).
pub fn render_preview_html(
    templates: &Templates,
    text: &str,
    data: &Data,
    ctx: &RenderContext,
) -> Result<String, Error> {
    templates
        .parse_inline_html(text)?
        .render(templates, data, ctx)
}
