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

use std::collections::HashMap;
use std::sync::Arc;

use super::ast::{Arg, Branch, Node, Pipe, Tree};
use super::exec::Set;
use super::funcs::Func;

mod escapers;
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
        out: HashMap::new(),
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

    /// Runs the HTML state machine over a text node; returns the end context and the text as
    /// Go rewrites it.
    fn text(&self, mut c: Ctx, s: &str) -> R<(Ctx, String)> {
        let b = s.as_bytes();
        let mut out = String::with_capacity(s.len());
        let mut written = 0;
        let mut i = 0;
        while i < b.len() {
            let (c1, n) = self.after_text(c, &s[i..])?;
            let i1 = i + n;
            if matches!(c.state, State::Text | State::Rcdata) {
                let mut end = i1;
                if c1.state != c.state
                    && let Some(j) = s[i..i1].rfind('<')
                {
                    end = i + j;
                }
                for j in i..end {
                    if b[j] == b'<'
                        && !s[j..]
                            .get(..9)
                            .is_some_and(|p| p.eq_ignore_ascii_case("<!doctype"))
                    {
                        out.push_str(&s[written..j]);
                        out.push_str("&lt;");
                        written = j + 1;
                    }
                }
            }
            if c.state != c1.state && is_comment(c1.state) && c1.delim == Delim::None {
                let cs = i1 - if c1.state == State::HtmlCmt { 4 } else { 2 };
                out.push_str(&s[written..cs.max(written)]);
                written = i1;
            }
            if is_comment(c.state) && c.delim == Delim::None {
                if c.state == State::CssBlockCmt {
                    // Go replaces a CSS block comment with one space.
                    out.push(' ');
                }
                written = i1;
            }
            if i1 == i && c1 == c {
                return self.err(0, "internal error: HTML escaper made no progress");
            }
            c = c1;
            i = i1;
        }
        if !(is_comment(c.state) && c.delim == Delim::None) && written < b.len() {
            out.push_str(&s[written..]);
        }
        Ok((c, out))
    }

    fn after_text(&self, c: Ctx, s: &str) -> R<(Ctx, usize)> {
        let b = s.as_bytes();
        if c.delim == Delim::None {
            let mut lim = b.len();
            if c.element != Element::None {
                let tag = match c.element {
                    Element::Style => "style",
                    Element::Title => "title",
                    _ => "textarea",
                };
                if let Some(i) = index_tag_end(s, tag) {
                    if i == 0 {
                        return Ok((START, 0));
                    }
                    lim = i;
                }
            }
            let (c1, n) = self.transition(c, &s[..lim])?;
            return Ok((c1, n));
        }
        let ends: &[u8] = match c.delim {
            Delim::Dq => b"\"",
            Delim::Sq => b"'",
            _ => b" \t\n\x0c\r>",
        };
        let i = b.iter().position(|x| ends.contains(x)).unwrap_or(b.len());
        if c.delim == Delim::Unquoted
            && let Some(j) = b[..i].iter().position(|x| b"\"'<=`".contains(x))
        {
            return self.err(
                0,
                format!("{:?} in unquoted attr: {:?}", b[j] as char, &s[..i]),
            );
        }
        if i == b.len() {
            // Still inside the value: track where in a URL we are.
            let mut c = c;
            if c.attr == AttrKind::Url {
                if s.contains(['#', '?']) {
                    c.url = UrlPart::QueryOrFrag;
                } else if !s
                    .trim_start_matches([' ', '\t', '\n', '\x0c', '\r'])
                    .is_empty()
                    && c.url == UrlPart::None
                {
                    c.url = UrlPart::PreQuery;
                }
            }
            return Ok((c, b.len()));
        }
        let consumed = if c.delim == Delim::Unquoted { i } else { i + 1 };
        Ok((
            Ctx {
                state: State::Tag,
                element: c.element,
                ..START
            },
            consumed,
        ))
    }

    fn transition(&self, c: Ctx, s: &str) -> R<(Ctx, usize)> {
        let b = s.as_bytes();
        match c.state {
            State::Text => Ok(t_text(c, s)),
            State::Rcdata => Ok((c, b.len())),
            State::HtmlCmt => match s.find("-->") {
                Some(i) => Ok((START, i + 3)),
                None => Ok((c, b.len())),
            },
            State::Tag => {
                let i = eat_ws(b, 0);
                if i == b.len() {
                    return Ok((c, b.len()));
                }
                if b[i] == b'>' {
                    let state = match c.element {
                        Element::None => State::Text,
                        Element::Style => State::Css,
                        Element::Title | Element::Textarea => State::Rcdata,
                    };
                    return Ok((
                        Ctx {
                            state,
                            element: c.element,
                            ..START
                        },
                        i + 1,
                    ));
                }
                let j = self.eat_attr_name(s, i)?;
                if i == j {
                    return self.err(
                        0,
                        format!(
                            "expected space, attr name, or end of tag, but got {:?}",
                            &s[i..]
                        ),
                    );
                }
                let attr = attr_kind(&s[i..j].to_ascii_lowercase());
                let state = if j == b.len() {
                    State::AttrName
                } else {
                    State::AfterName
                };
                Ok((
                    Ctx {
                        state,
                        element: c.element,
                        attr,
                        ..START
                    },
                    j,
                ))
            }
            State::AttrName => {
                let i = self.eat_attr_name(s, 0)?;
                if i != b.len() {
                    return Ok((
                        Ctx {
                            state: State::AfterName,
                            ..c
                        },
                        i,
                    ));
                }
                Ok((c, i))
            }
            State::AfterName => {
                let i = eat_ws(b, 0);
                if i == b.len() {
                    Ok((c, i))
                } else if b[i] != b'=' {
                    Ok((
                        Ctx {
                            state: State::Tag,
                            ..c
                        },
                        i,
                    ))
                } else {
                    Ok((
                        Ctx {
                            state: State::BeforeValue,
                            ..c
                        },
                        i + 1,
                    ))
                }
            }
            State::BeforeValue => {
                let mut i = eat_ws(b, 0);
                if i == b.len() {
                    return Ok((c, i));
                }
                let delim = match b[i] {
                    b'"' => {
                        i += 1;
                        Delim::Dq
                    }
                    b'\'' => {
                        i += 1;
                        Delim::Sq
                    }
                    _ => Delim::Unquoted,
                };
                Ok((
                    Ctx {
                        state: State::Attr,
                        delim,
                        ..c
                    },
                    i,
                ))
            }
            State::Attr => Ok((c, b.len())),
            State::Css => Ok(t_css(c, s)),
            State::CssDq | State::CssSq | State::CssUrl(_) => {
                let ends: &[u8] = match c.state {
                    State::CssDq => b"\\\"",
                    State::CssSq => b"\\'",
                    State::CssUrl(b'"') => b"\\\"",
                    State::CssUrl(b'\'') => b"\\'",
                    _ => b"\\\t\n\x0c\r )",
                };
                let mut k = 0;
                while k < b.len() {
                    match b[k..].iter().position(|x| ends.contains(x)) {
                        None => return Ok((c, b.len())),
                        Some(p) if b[k + p] == b'\\' => k += p + 2,
                        Some(p) => {
                            return Ok((
                                Ctx {
                                    state: State::Css,
                                    ..c
                                },
                                k + p + 1,
                            ));
                        }
                    }
                }
                Ok((c, b.len()))
            }
            State::CssBlockCmt => match s.find("*/") {
                Some(i) => Ok((
                    Ctx {
                        state: State::Css,
                        ..c
                    },
                    i + 2,
                )),
                None => Ok((c, b.len())),
            },
            State::CssLineCmt => {
                match b.iter().position(|x| matches!(x, b'\n' | b'\x0c' | b'\r')) {
                    Some(i) => Ok((
                        Ctx {
                            state: State::Css,
                            ..c
                        },
                        i,
                    )),
                    None => Ok((c, b.len())),
                }
            }
        }
    }

    fn eat_attr_name(&self, s: &str, i: usize) -> R<usize> {
        let b = s.as_bytes();
        for (j, &x) in b.iter().enumerate().skip(i) {
            match x {
                b' ' | b'\t' | b'\n' | b'\x0c' | b'\r' | b'=' | b'>' => return Ok(j),
                b'\'' | b'"' | b'<' => {
                    return self.err(
                        0,
                        format!(
                            "{:?} in attribute name: {:?}",
                            x as char,
                            s.chars().take(32).collect::<String>()
                        ),
                    );
                }
                _ => {}
            }
        }
        Ok(b.len())
    }
}

fn is_comment(s: State) -> bool {
    matches!(s, State::HtmlCmt | State::CssBlockCmt | State::CssLineCmt)
}

fn eat_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\x0c' | b'\r') {
        i += 1;
    }
    i
}

/// Finds `</tag` (case-insensitive) followed by a tag-end separator.
fn index_tag_end(s: &str, tag: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut k = 0;
    while let Some(p) = s[k..].find("</") {
        let at = k + p + 2;
        if b.len() >= at + tag.len()
            && b[at..at + tag.len()].eq_ignore_ascii_case(tag.as_bytes())
            && b.get(at + tag.len())
                .is_some_and(|x| b"> \t\n\x0c/".contains(x))
        {
            return Some(k + p);
        }
        k = at;
    }
    None
}

fn t_text(c: Ctx, s: &str) -> (Ctx, usize) {
    let b = s.as_bytes();
    let mut k = 0;
    loop {
        let Some(p) = s[k..].find('<') else {
            return (c, b.len());
        };
        let mut i = k + p;
        if i + 1 == b.len() {
            return (c, b.len());
        }
        if s[i..].starts_with("<!--") {
            return (
                Ctx {
                    state: State::HtmlCmt,
                    ..START
                },
                i + 4,
            );
        }
        i += 1;
        let mut end = false;
        if b[i] == b'/' {
            if i + 1 == b.len() {
                return (c, b.len());
            }
            end = true;
            i += 1;
        }
        let j = eat_tag_name(b, i);
        if j != i {
            let name = s[i..j].to_ascii_lowercase();
            let element = if end {
                Element::None
            } else {
                match name.as_str() {
                    "style" => Element::Style,
                    "title" => Element::Title,
                    "textarea" => Element::Textarea,
                    // `<script>` is refused separately; see `script_guard`.
                    _ => Element::None,
                }
            };
            return (
                Ctx {
                    state: State::Tag,
                    element,
                    ..START
                },
                j,
            );
        }
        k = j.max(i);
    }
}

fn eat_tag_name(b: &[u8], i: usize) -> usize {
    if i >= b.len() || !b[i].is_ascii_alphabetic() {
        return i;
    }
    let mut j = i + 1;
    while j < b.len() {
        let x = b[j];
        if x.is_ascii_alphanumeric() {
            j += 1;
            continue;
        }
        if (x == b':' || x == b'-') && j + 1 < b.len() && b[j + 1].is_ascii_alphanumeric() {
            j += 2;
            continue;
        }
        break;
    }
    j
}

fn t_css(c: Ctx, s: &str) -> (Ctx, usize) {
    let b = s.as_bytes();
    let mut k = 0;
    loop {
        let Some(p) = b[k..].iter().position(|x| b"(\"'/".contains(x)) else {
            return (c, b.len());
        };
        let i = k + p;
        match b[i] {
            b'(' => {
                let before = s[..i].trim_end_matches([' ', '\t', '\n', '\x0c', '\r']);
                if before.len() >= 3 && before[before.len() - 3..].eq_ignore_ascii_case("url") {
                    let j = eat_ws(b, i + 1);
                    return match b.get(j) {
                        Some(b'"') => (
                            Ctx {
                                state: State::CssUrl(b'"'),
                                ..c
                            },
                            j + 1,
                        ),
                        Some(b'\'') => (
                            Ctx {
                                state: State::CssUrl(b'\''),
                                ..c
                            },
                            j + 1,
                        ),
                        _ => (
                            Ctx {
                                state: State::CssUrl(0),
                                ..c
                            },
                            j,
                        ),
                    };
                }
            }
            b'/' => match b.get(i + 1) {
                Some(b'/') => {
                    return (
                        Ctx {
                            state: State::CssLineCmt,
                            ..c
                        },
                        i + 2,
                    );
                }
                Some(b'*') => {
                    return (
                        Ctx {
                            state: State::CssBlockCmt,
                            ..c
                        },
                        i + 2,
                    );
                }
                _ => {}
            },
            b'"' => {
                return (
                    Ctx {
                        state: State::CssDq,
                        ..c
                    },
                    i + 1,
                );
            }
            b'\'' => {
                return (
                    Ctx {
                        state: State::CssSq,
                        ..c
                    },
                    i + 1,
                );
            }
            _ => {}
        }
        k = i + 1;
    }
}

fn attr_kind(name: &str) -> AttrKind {
    let mut name = name;
    if let Some(rest) = name.strip_prefix("data-") {
        name = rest;
    } else if let Some((prefix, short)) = name.split_once(':') {
        if prefix == "xmlns" {
            return AttrKind::Url;
        }
        name = short;
    }
    match name {
        "action" | "archive" | "background" | "cite" | "classid" | "codebase" | "data"
        | "formaction" | "href" | "icon" | "longdesc" | "manifest" | "poster" | "profile"
        | "src" | "usemap" | "xmlns" => AttrKind::Url,
        "style" => AttrKind::Css,
        "srcset" => AttrKind::Srcset,
        _ if name.starts_with("on") => AttrKind::Js,
        _ if name.contains("src") || name.contains("uri") || name.contains("url") => AttrKind::Url,
        _ => AttrKind::Plain,
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
