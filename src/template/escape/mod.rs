//! html/template's contextual auto-escaping, for the contexts that matter in email HTML.
//!
//! Before an HTML render, the entry template and every template it calls are copied and
//! rewritten: each output action gets the escapers its position in the HTML requires, and
//! text nodes are normalised the way Go does it (HTML comments and CSS comments in `<style>`
//! removed, stray `<` written as `&lt;`). Covered contexts:
//!
//! - HTML text, and the text of `<title>`/`<textarea>` (RCDATA): HTML-escaped; `safeHtml`
//!   values pass through in text.
//! - Quoted attribute values (`"..."` or `'...'`): attribute-escaped.
//! - URL attributes (`href`, `src`, `action`, `data-*url*`, ... ): at the start of the URL the
//!   scheme is filtered (anything but http, https and mailto becomes `#ZgotmplZ` unless the
//!   value is `safeUrl`), then the URL is normalised; after `?` or `#` values are
//!   query-escaped.
//! - Inside HTML comments actions print nothing (the comment is removed anyway).
//! - `<style>` element text without actions (CSS comments removed as Go does).
//!
//! Everything else is an escape error at load time rather than possibly wrong output: actions
//! inside a tag (attribute names), in unquoted attribute values, in `style`/`on*`/`srcset`
//! attribute values, inside `<style>`, and any `<script>` element.
//!
//! This file owns the context types, the walk over trees (branches, `template` calls,
//! actions) and the `<script>` guard; `transition` runs the HTML/CSS state machine over
//! text; `scan` holds its byte-level helpers; `escapers` are the runtime escapers.

use std::collections::HashMap;
use std::sync::Arc;

use super::ast::{Arg, Branch, Node, Pipe, Tree};
use super::exec::Set;
use super::funcs::Func;

mod escapers;
mod scan;
mod transition;
pub(crate) use escapers::apply_escapers;

/// An escaper inserted at the end of an action's pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Esc {
    /// HTML text.
    Html,
    /// `<title>`/`<textarea>` text.
    Rcdata,
    /// Quoted attribute value.
    Attr,
    /// Scheme filter at the start of a URL attribute.
    UrlFilter,
    /// URL normalisation (percent-encode what is not allowed, keep reserved characters).
    UrlNorm,
    /// Query-component escaping.
    UrlQuery,
    /// Inside an HTML comment: print nothing.
    Comment,
    /// The user's own `html` at the end of the pipeline, standing in for an equivalent escaper.
    BuiltinHtml,
    /// The user's own `urlquery` at the end of the pipeline.
    BuiltinUrlQuery,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum State {
    Text,
    Tag,
    AttrName,
    AfterName,
    BeforeValue,
    /// Inside an attribute value.
    Attr,
    Rcdata,
    HtmlCmt,
    Css,
    CssDq,
    CssSq,
    CssUrl(u8),
    CssBlockCmt,
    CssLineCmt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Delim {
    None,
    Dq,
    Sq,
    Unquoted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum UrlPart {
    None,
    PreQuery,
    QueryOrFrag,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Element {
    None,
    Style,
    Title,
    Textarea,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum AttrKind {
    None,
    Plain,
    Url,
    Css,
    Js,
    Srcset,
}

/// Where in an HTML document the output currently is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Ctx {
    state: State,
    delim: Delim,
    url: UrlPart,
    element: Element,
    attr: AttrKind,
}

const START: Ctx = Ctx {
    state: State::Text,
    delim: Delim::None,
    url: UrlPart::None,
    element: Element::None,
    attr: AttrKind::None,
};

/// An escaping failure: the template, its byte offset, and what is wrong.
#[derive(Debug)]
pub(crate) struct EscapeErr {
    pub(crate) tree: Option<Arc<Tree>>,
    pub(crate) pos: usize,
    pub(crate) msg: String,
}

type R<T> = Result<T, EscapeErr>;

struct Escaper<'s> {
    set: &'s Set,
    /// Output context per (template, input context); provisional while being computed.
    memo: HashMap<(Arc<str>, Ctx), Ctx>,
    out: Set,
    cur: Option<Arc<Tree>>,
}

/// Escapes `entry` (an inline template) and everything it calls, returning the escaped set;
/// the entry itself is stored under `entry.name`.
pub(crate) fn escape_set(set: &Set, entry: &Arc<Tree>) -> R<Set> {
    let mut e = Escaper {
        set,
        memo: HashMap::new(),
        out: Set::default(),
        cur: Some(entry.clone()),
    };
    let (root, end) = e.list(START, &entry.root)?;
    if end.state != State::Text {
        return Err(EscapeErr {
            tree: Some(entry.clone()),
            pos: 0,
            msg: format!("ends in a non-text context: {}", describe(end)),
        });
    }
    e.out.insert(
        entry.name.clone(),
        Arc::new(Tree {
            name: entry.name.clone(),
            src: entry.src.clone(),
            root,
        }),
    );
    Ok(e.out)
}

fn describe(c: Ctx) -> String {
    format!(
        "{:?} (delim {:?}, url {:?}, element {:?}, attr {:?})",
        c.state, c.delim, c.url, c.element, c.attr
    )
}

impl Escaper<'_> {
    fn err<T>(&self, pos: usize, msg: impl Into<String>) -> R<T> {
        Err(EscapeErr {
            tree: self.cur.clone(),
            pos,
            msg: msg.into(),
        })
    }

    fn list(&mut self, mut c: Ctx, list: &[Node]) -> R<(Vec<Node>, Ctx)> {
        let mut out = Vec::with_capacity(list.len());
        for n in list {
            match n {
                Node::Text(t) => {
                    let (c1, s) = self.text(c, t)?;
                    c = c1;
                    out.push(Node::Text(Arc::from(s)));
                }
                Node::Action(p) => {
                    let mut p = p.clone();
                    if p.decl.is_empty() {
                        self.action(c, &mut p)?;
                    }
                    out.push(Node::Action(p));
                }
                Node::If(b) => {
                    let (b, c1) = self.branch(c, b, "if")?;
                    out.push(Node::If(b));
                    c = c1;
                }
                Node::With(b) => {
                    let (b, c1) = self.branch(c, b, "with")?;
                    out.push(Node::With(b));
                    c = c1;
                }
                Node::Range(b) => {
                    let (b, c1) = self.branch(c, b, "range")?;
                    out.push(Node::Range(b));
                    c = c1;
                }
                Node::Template { pos, name, pipe } => {
                    let (dname, c1) = self.call(*pos, name, c)?;
                    out.push(Node::Template {
                        pos: *pos,
                        name: dname,
                        pipe: pipe.clone(),
                    });
                    c = c1;
                }
                Node::Break | Node::Continue => out.push(n.clone()),
            }
        }
        Ok((out, c))
    }

    fn join(&self, pos: usize, a: Ctx, b: Ctx, what: &str) -> R<Ctx> {
        if a == b {
            return Ok(a);
        }
        if (Ctx { url: b.url, ..a }) == b {
            return Ok(Ctx {
                url: UrlPart::Unknown,
                ..a
            });
        }
        self.err(
            pos,
            format!(
                "{{{{{what}}}}} branches end in different contexts: {}, {}",
                describe(a),
                describe(b)
            ),
        )
    }

    fn branch(&mut self, c: Ctx, b: &Branch, what: &str) -> R<(Box<Branch>, Ctx)> {
        let pos = b.pipe.pos;
        let (mut list, mut c0) = self.list(c, &b.list)?;
        if what == "range" && c0 != c {
            let cj = self.join(pos, c, c0, what)?;
            let (list2, c1) = self.list(cj, &b.list)?;
            c0 = self.join(pos, cj, c1, what).map_err(|e| EscapeErr {
                msg: format!("on range loop re-entry: {}", e.msg),
                ..e
            })?;
            list = list2;
        }
        let (else_list, c1) = match &b.else_list {
            Some(e) => {
                let (l, c1) = self.list(c, e)?;
                (Some(l), c1)
            }
            None => (None, c),
        };
        let end = self.join(pos, c0, c1, what)?;
        Ok((
            Box::new(Branch {
                pipe: b.pipe.clone(),
                list,
                else_list,
            }),
            end,
        ))
    }

    fn call(&mut self, pos: usize, name: &Arc<str>, c: Ctx) -> R<(Arc<str>, Ctx)> {
        let dname: Arc<str> = if c == START {
            name.clone()
        } else {
            Arc::from(format!(
                "{name}$html{:?}",
                (c.state, c.delim, c.url, c.element, c.attr)
            ))
        };
        if let Some(out) = self.memo.get(&(name.clone(), c)) {
            return Ok((dname, *out));
        }
        let Some(tree) = self.set.get(name).cloned() else {
            return self.err(pos, format!("no such template {:?}", &**name));
        };
        self.memo.insert((name.clone(), c), c);
        let saved = self.cur.replace(tree.clone());
        let (root, end) = self.list(c, &tree.root)?;
        self.cur = saved;
        self.memo.insert((name.clone(), c), end);
        self.out.insert(
            dname.clone(),
            Arc::new(Tree {
                name: tree.name.clone(),
                src: tree.src.clone(),
                root,
            }),
        );
        Ok((dname, end))
    }

    fn action(&mut self, c: Ctx, p: &mut Pipe) -> R<()> {
        let n = p.cmds.len();
        for (i, cmd) in p.cmds.iter().enumerate() {
            if let Arg::Func(pos, f @ (Func::Html | Func::UrlQuery)) = cmd.args[0]
                && i + 1 < n
            {
                return self.err(
                    pos,
                    format!("predefined escaper {:?} disallowed in template", f.name()),
                );
            }
        }
        let mut esc: Vec<Esc> = match (c.state, c.delim) {
            (State::Text, _) => vec![Esc::Html],
            (State::Rcdata, _) => vec![Esc::Rcdata],
            (State::HtmlCmt, _) => vec![Esc::Comment],
            (State::Attr, Delim::Dq | Delim::Sq) => match c.attr {
                AttrKind::None | AttrKind::Plain => vec![Esc::Attr],
                AttrKind::Url => match c.url {
                    UrlPart::None => vec![Esc::UrlFilter, Esc::UrlNorm, Esc::Attr],
                    UrlPart::PreQuery => vec![Esc::UrlNorm, Esc::Attr],
                    UrlPart::QueryOrFrag => vec![Esc::UrlQuery, Esc::Attr],
                    UrlPart::Unknown => {
                        return self
                            .err(p.pos, "action appears in an ambiguous context within a URL");
                    }
                },
                AttrKind::Css | AttrKind::Js | AttrKind::Srcset => {
                    return self.err(
                        p.pos,
                        format!("actions inside {:?} attribute values are not supported in HTML templates", c.attr),
                    );
                }
            },
            (State::Attr, _) | (State::BeforeValue, _) => {
                return self.err(
                    p.pos,
                    "actions in unquoted attribute values are not supported in HTML templates",
                );
            }
            (State::Tag | State::AttrName | State::AfterName, _) => {
                return self.err(
                    p.pos,
                    "actions inside a tag (attribute names) are not supported in HTML templates",
                );
            }
            _ => {
                return self.err(
                    p.pos,
                    "actions inside <style> are not supported in HTML templates",
                );
            }
        };
        // A trailing `html`/`urlquery` stands in for an equivalent escaper, as in Go.
        if let Some(last) = p.cmds.last()
            && let Arg::Func(fpos, f @ (Func::Html | Func::UrlQuery)) = last.args[0]
        {
            let builtin = if f == Func::Html {
                Esc::BuiltinHtml
            } else {
                Esc::BuiltinUrlQuery
            };
            let mut dup = false;
            for e in esc.iter_mut() {
                let eq = match builtin {
                    Esc::BuiltinHtml => matches!(e, Esc::Html | Esc::Attr | Esc::Rcdata),
                    _ => matches!(e, Esc::UrlQuery | Esc::UrlNorm),
                };
                if eq {
                    *e = builtin;
                    dup = true;
                }
            }
            if dup {
                if n == 1 && last.args.len() > 1 {
                    if let Some(l) = p.cmds.last_mut() {
                        l.args[0] = Arg::Func(fpos, Func::EvalArgs);
                    }
                } else {
                    p.cmds.pop();
                    if p.cmds.is_empty() {
                        return self
                            .err(fpos, "internal error: empty pipeline after escaper merge");
                    }
                }
            }
        }
        p.esc = esc;
        Ok(())
    }
}

/// Refuses templates whose text opens a `<script>` element (checked over escaped output).
pub(crate) fn script_guard(set: &Set) -> Result<(), (Arc<Tree>, String)> {
    for tree in set.values() {
        let mut found = false;
        check_script(&tree.root, &mut found);
        if found {
            return Err((
                tree.clone(),
                "<script> elements are not supported in HTML templates".into(),
            ));
        }
    }
    Ok(())
}

fn check_script(list: &[Node], found: &mut bool) {
    for n in list {
        match n {
            Node::Text(t) => {
                let lower = t.to_ascii_lowercase();
                let b = lower.as_bytes();
                let mut k = 0;
                while let Some(p) = lower[k..].find("<script") {
                    let after = b.get(k + p + 7);
                    if after.is_none_or(|x| !x.is_ascii_alphanumeric() && *x != b'-' && *x != b':')
                    {
                        *found = true;
                    }
                    k += p + 7;
                }
            }
            Node::If(b) | Node::Range(b) | Node::With(b) => {
                check_script(&b.list, found);
                if let Some(e) = &b.else_list {
                    check_script(e, found);
                }
            }
            _ => {}
        }
    }
}
