//! Syntax tree of a parsed template (Go's `text/template/parse` node kinds).
//!
//! Trees are immutable after parsing and shared (`Arc`) between the template set, inline
//! handles and the HTML-escaped copies that `escape` derives from them.

use std::sync::Arc;

use super::escape::Esc;
use super::funcs::Func;

/// A source file or inline text, kept to turn byte offsets into `line:col` in messages.
#[derive(Debug)]
pub(crate) struct Source {
    /// File path or inline name, as shown in messages.
    pub(crate) name: String,
    /// The full text.
    pub(crate) text: String,
}

impl Source {
    /// 1-based line and column (in characters) of a byte offset.
    pub(crate) fn line_col(&self, pos: usize) -> (usize, usize) {
        let pos = pos.min(self.text.len());
        let before = self.text.get(..pos).unwrap_or("");
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        (line, col)
    }

    /// Source text between two offsets (for "executing ... at <...>").
    pub(crate) fn snippet(&self, start: usize, end: usize) -> &str {
        self.text.get(start..end.min(self.text.len())).unwrap_or("")
    }
}

/// One named template: a `define`/`block` body or a file's top-level text.
#[derive(Debug)]
pub(crate) struct Tree {
    /// Template name.
    pub(crate) name: Arc<str>,
    /// Where it was defined.
    pub(crate) src: Arc<Source>,
    /// Body.
    pub(crate) root: Vec<Node>,
}

/// A node of a template body.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// Literal text.
    Text(Arc<str>),
    /// `{{ pipeline }}` (boxed, like every variant's payload, so nodes stay small).
    Action(Box<Pipe>),
    /// `{{ if }}`.
    If(Box<Branch>),
    /// `{{ range }}`.
    Range(Box<Branch>),
    /// `{{ with }}`.
    With(Box<Branch>),
    /// `{{ template "name" pipeline }}` (also the call half of `block`).
    Template {
        /// Offset of the action.
        pos: usize,
        /// Called template.
        name: Arc<str>,
        /// Argument that becomes dot, if any.
        pipe: Option<Box<Pipe>>,
    },
    /// `{{ break }}`.
    Break,
    /// `{{ continue }}`.
    Continue,
}

/// The shared shape of `if`, `range` and `with`.
#[derive(Debug, Clone)]
pub(crate) struct Branch {
    /// Condition / collection.
    pub(crate) pipe: Pipe,
    /// Body.
    pub(crate) list: Vec<Node>,
    /// `{{ else }}` body.
    pub(crate) else_list: Option<Vec<Node>>,
}

/// A pipeline, possibly with variable declarations.
#[derive(Debug, Clone)]
pub(crate) struct Pipe {
    /// Start offset.
    pub(crate) pos: usize,
    /// End offset.
    pub(crate) end: usize,
    /// Declared or assigned variables (with `$`).
    pub(crate) decl: Vec<Arc<str>>,
    /// `=` rather than `:=`.
    pub(crate) is_assign: bool,
    /// Commands separated by `|`.
    pub(crate) cmds: Vec<Cmd>,
    /// HTML escapers appended by the escaper (empty in text mode).
    pub(crate) esc: Vec<Esc>,
}

/// One command of a pipeline.
#[derive(Debug, Clone)]
pub(crate) struct Cmd {
    /// Start offset.
    pub(crate) pos: usize,
    /// End offset.
    pub(crate) end: usize,
    /// Words; the first decides what the command does.
    pub(crate) args: Vec<Arg>,
}

/// A numeric constant, already converted the way Go converts an untyped constant.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Num {
    /// Fits an `int`.
    Int(i64),
    /// A float constant.
    Float(f64),
}

/// Declares [`Fid`], one variant per field or method name the data model knows.
macro_rules! field_ids {
    ($($id:ident)*) => {
        /// A field or method name resolved when the template is parsed, so execution matches
        /// a small integer instead of comparing strings. `Other` is anything else (a label
        /// name, a `dict` key, or a name no type has).
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[allow(clippy::upper_case_acronyms, reason = "variants are spelled as the Go names they match")]
        pub(crate) enum Fid {
            $($id,)*
            Other,
        }

        impl Fid {
            /// The id of `name`.
            pub(crate) fn of(name: &str) -> Fid {
                match name {
                    $(stringify!($id) => Fid::$id,)*
                    _ => Fid::Other,
                }
            }
        }
    };
}

field_ids! {
    Receiver Status Alerts GroupLabels CommonLabels CommonAnnotations RouteLabels ExternalURL
    NotificationReason Labels Annotations StartsAt EndsAt GeneratorURL Fingerprint Firing
    Resolved SortedPairs Names Values String Remove Name Value Join Format Sub Add Unix
    UnixMilli UnixMicro UnixNano UTC Local IsZero Year YearDay Day Hour Minute Second
    Nanosecond Month Weekday Seconds Minutes Hours Milliseconds Microseconds Nanoseconds
    Equal Before After Compare
}

/// One `.Name` of a field chain: the text and its resolved id.
#[derive(Debug, Clone)]
pub(crate) struct Name {
    /// Which known name it is.
    pub(crate) id: Fid,
    /// The name as written (label names and `dict` keys are looked up by it).
    pub(crate) text: Arc<str>,
}

impl Name {
    pub(crate) fn new(text: &str) -> Name {
        Name {
            id: Fid::of(text),
            text: Arc::from(text),
        }
    }
}

impl std::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// An operand.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    /// `.A.B`.
    Field(usize, Arc<[Name]>),
    /// `$x.A.B`.
    Var(usize, Arc<str>, Arc<[Name]>),
    /// `(pipeline).A.B`.
    Chain(usize, Box<Arg>, Arc<[Name]>),
    /// `.`.
    Dot(usize),
    /// `nil`.
    Nil(usize),
    /// `true`/`false`.
    Bool(usize, bool),
    /// A number or character constant.
    Num(usize, Num),
    /// A string constant.
    Str(usize, Arc<str>),
    /// A function name.
    Func(usize, Func),
    /// `( pipeline )`.
    Pipe(usize, Box<Pipe>),
}

impl Arg {
    pub(crate) fn pos(&self) -> usize {
        match self {
            Arg::Field(p, _)
            | Arg::Var(p, ..)
            | Arg::Chain(p, ..)
            | Arg::Dot(p)
            | Arg::Nil(p)
            | Arg::Bool(p, _)
            | Arg::Num(p, _)
            | Arg::Str(p, _)
            | Arg::Func(p, _)
            | Arg::Pipe(p, _) => *p,
        }
    }
}

/// True when a body has nothing but whitespace text (Go's `IsEmptyTree`): such a
/// definition does not replace an existing one.
pub(crate) fn is_empty_body(list: &[Node]) -> bool {
    list.iter().all(|n| match n {
        Node::Text(t) => t.trim_matches([' ', '\t', '\n', '\r']).is_empty(),
        _ => false,
    })
}

/// Calls every template name referenced by `list` (recursively).
pub(crate) fn for_each_call(list: &[Node], f: &mut dyn FnMut(&str, usize)) {
    for n in list {
        match n {
            Node::Template { name, pos, .. } => f(name, *pos),
            Node::If(b) | Node::Range(b) | Node::With(b) => {
                for_each_call(&b.list, f);
                if let Some(e) = &b.else_list {
                    for_each_call(e, f);
                }
            }
            _ => {}
        }
    }
}
