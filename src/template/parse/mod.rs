//! Parser: tokens to syntax trees, with Go's checks done at parse time (unknown functions,
//! undefined variables, `break` outside `range`, malformed pipelines) and a nesting bound.
//!
//! This file owns the parser state, definitions, the item list and control structures
//! (`if`/`range`/`with`/`block`/`template`); `pipeline` parses pipelines, commands and
//! operands.

use std::sync::Arc;

use super::ast::{Branch, Node, is_empty_body};
use super::lexer::{Kw, Tok, Token, lex};

mod pipeline;

/// Deepest nesting of control structures and parenthesized pipelines accepted.
pub const MAX_PARSE_DEPTH: usize = 200;

/// A parse error at a byte offset of the source.
#[derive(Debug)]
pub(crate) struct ParseError {
    pub(crate) pos: usize,
    pub(crate) msg: String,
}

/// Result of parsing one source: its top-level body and the templates it defines.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub(crate) top: Vec<Node>,
    pub(crate) defs: Vec<(Arc<str>, Vec<Node>)>,
}

enum Item {
    Node(Node),
    End(usize),
    /// `{{ else }}`, or `{{ else if` / `{{ else with` with the keyword not consumed.
    Else(usize, Option<Kw>),
}

struct Parser<'s> {
    src: &'s str,
    toks: Vec<Token>,
    i: usize,
    vars: Vec<Arc<str>>,
    range_depth: usize,
    depth: usize,
    defs: Vec<(Arc<str>, Vec<Node>)>,
}

type R<T> = Result<T, ParseError>;

/// Parses a template source.
pub(crate) fn parse(src: &str) -> R<Parsed> {
    let toks = lex(src).map_err(|e| ParseError {
        pos: e.pos,
        msg: e.msg,
    })?;
    let mut p = Parser {
        src,
        toks,
        i: 0,
        vars: vec![Arc::from("$")],
        range_depth: 0,
        depth: 0,
        defs: Vec::new(),
    };
    let top = p.top()?;
    Ok(Parsed { top, defs: p.defs })
}

fn describe(t: &Tok, src: &str) -> String {
    let q = |s: &str| {
        if s.chars().count() > 10 {
            format!("{:?}...", s.chars().take(10).collect::<String>())
        } else {
            format!("{s:?}")
        }
    };
    match t {
        Tok::Text(a, b) => q(&src[*a..*b]),
        Tok::LeftDelim => q("{{"),
        Tok::RightDelim => q("}}"),
        Tok::Space => q(" "),
        Tok::Ident(s) | Tok::Field(s) | Tok::Var(s) | Tok::Number(s) => q(s),
        Tok::Kw(k) => format!("<{}>", format!("{k:?}").to_lowercase()),
        Tok::Bool(b) => q(if *b { "true" } else { "false" }),
        Tok::Nil => "<nil>".into(),
        Tok::Dot => "<.>".into(),
        Tok::Str(s) => q(&format!("{s:?}")),
        Tok::Char(c) => format!("{c}"),
        Tok::LParen => q("("),
        Tok::RParen => q(")"),
        Tok::Pipe => q("|"),
        Tok::Declare => q(":="),
        Tok::Assign => q("="),
        Tok::Char0(c) => q(&c.to_string()),
        Tok::Eof => "EOF".into(),
    }
}

impl Parser<'_> {
    fn err<T>(&self, pos: usize, msg: impl Into<String>) -> R<T> {
        Err(ParseError {
            pos,
            msg: msg.into(),
        })
    }

    fn peek(&self) -> &Token {
        &self.toks[self.i.min(self.toks.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i < self.toks.len() - 1 {
            self.i += 1;
        }
        t
    }

    fn skip_space(&mut self) {
        while matches!(self.peek().tok, Tok::Space) {
            self.i += 1;
        }
    }

    fn peek_non_space(&mut self) -> &Token {
        self.skip_space();
        self.peek()
    }

    fn next_non_space(&mut self) -> Token {
        self.skip_space();
        self.next()
    }

    fn unexpected<T>(&self, t: &Token, context: &str) -> R<T> {
        self.err(
            t.pos,
            format!("unexpected {} in {context}", describe(&t.tok, self.src)),
        )
    }

    fn expect(&mut self, want: &Tok, context: &str) -> R<Token> {
        let t = self.next_non_space();
        if &t.tok != want {
            return self.unexpected(&t, context);
        }
        Ok(t)
    }

    fn enter(&mut self, pos: usize) -> R<()> {
        self.depth += 1;
        if self.depth > MAX_PARSE_DEPTH {
            return self.err(
                pos,
                format!("template nesting too deep (more than {MAX_PARSE_DEPTH} levels)"),
            );
        }
        Ok(())
    }

    fn top(&mut self) -> R<Vec<Node>> {
        let mut list = Vec::new();
        loop {
            if matches!(self.peek().tok, Tok::Eof) {
                return Ok(list);
            }
            if matches!(self.peek().tok, Tok::LeftDelim) {
                let save = self.i;
                self.i += 1;
                if matches!(self.peek_non_space().tok, Tok::Kw(Kw::Define)) {
                    let t = self.next();
                    self.definition(t.pos)?;
                    continue;
                }
                self.i = save;
            }
            match self.text_or_action()? {
                Item::Node(n) => list.push(n),
                Item::End(pos) => return self.err(pos, "unexpected {{end}}"),
                Item::Else(pos, _) => return self.err(pos, "unexpected {{else}}"),
            }
        }
    }

    fn add_def(&mut self, pos: usize, name: Arc<str>, body: Vec<Node>) -> R<()> {
        if let Some(slot) = self.defs.iter_mut().find(|(n, _)| *n == name) {
            if is_empty_body(&slot.1) {
                slot.1 = body;
            } else if !is_empty_body(&body) {
                return self.err(
                    pos,
                    format!("template: multiple definition of template {name:?}"),
                );
            }
            return Ok(());
        }
        self.defs.push((name, body));
        Ok(())
    }

    fn template_name(&mut self, context: &str) -> R<Arc<str>> {
        let t = self.next_non_space();
        match t.tok {
            Tok::Str(s) => Ok(Arc::from(s)),
            _ => self.unexpected(&t, context),
        }
    }

    /// A body with a fresh variable scope (`define`, `block`).
    fn body(&mut self, pos: usize, context: &str) -> R<Vec<Node>> {
        self.enter(pos)?;
        let vars = std::mem::replace(&mut self.vars, vec![Arc::from("$")]);
        let range_depth = std::mem::replace(&mut self.range_depth, 0);
        let (list, end) = self.item_list()?;
        self.vars = vars;
        self.range_depth = range_depth;
        self.depth -= 1;
        match end {
            Item::End(_) => Ok(list),
            Item::Else(p, _) => self.err(p, format!("unexpected {{{{else}}}} in {context}")),
            Item::Node(_) => self.err(pos, "internal error: list ended on a node"),
        }
    }

    fn definition(&mut self, pos: usize) -> R<()> {
        let name = self.template_name("define clause")?;
        self.expect(&Tok::RightDelim, "define clause")?;
        let body = self.body(pos, "define clause")?;
        self.add_def(pos, name, body)
    }

    fn item_list(&mut self) -> R<(Vec<Node>, Item)> {
        let mut list = Vec::new();
        loop {
            if matches!(self.peek_non_space().tok, Tok::Eof) {
                let pos = self.peek().pos;
                return self.err(pos, "unexpected EOF");
            }
            match self.text_or_action()? {
                Item::Node(n) => list.push(n),
                other => return Ok((list, other)),
            }
        }
    }

    fn text_or_action(&mut self) -> R<Item> {
        let t = self.next_non_space();
        match t.tok {
            Tok::Text(a, b) => Ok(Item::Node(Node::Text(Arc::from(&self.src[a..b])))),
            Tok::LeftDelim => self.action(),
            _ => self.unexpected(&t, "input"),
        }
    }

    fn action(&mut self) -> R<Item> {
        let t = self.next_non_space();
        let pos = t.pos;
        match t.tok {
            Tok::Kw(Kw::Block) => self.block(pos).map(Item::Node),
            Tok::Kw(Kw::Break) | Tok::Kw(Kw::Continue) => {
                let is_break = t.tok == Tok::Kw(Kw::Break);
                let word = if is_break { "break" } else { "continue" };
                if self.range_depth == 0 {
                    return self.err(pos, format!("{{{{{word}}}}} outside {{{{range}}}}"));
                }
                self.expect(&Tok::RightDelim, word)?;
                Ok(Item::Node(if is_break {
                    Node::Break
                } else {
                    Node::Continue
                }))
            }
            Tok::Kw(Kw::Else) => {
                let next = self.peek_non_space().tok.clone();
                match next {
                    Tok::Kw(k @ (Kw::If | Kw::With)) => Ok(Item::Else(pos, Some(k))),
                    _ => {
                        self.expect(&Tok::RightDelim, "else")?;
                        Ok(Item::Else(pos, None))
                    }
                }
            }
            Tok::Kw(Kw::End) => {
                self.expect(&Tok::RightDelim, "end")?;
                Ok(Item::End(pos))
            }
            Tok::Kw(Kw::If) => self.control(pos, Kw::If).map(Item::Node),
            Tok::Kw(Kw::Range) => self.control(pos, Kw::Range).map(Item::Node),
            Tok::Kw(Kw::With) => self.control(pos, Kw::With).map(Item::Node),
            Tok::Kw(Kw::Template) => {
                let name = self.template_name("template clause")?;
                let pipe = if matches!(self.peek_non_space().tok, Tok::RightDelim) {
                    self.next();
                    None
                } else {
                    Some(Box::new(
                        self.pipeline("template clause", &Tok::RightDelim)?,
                    ))
                };
                Ok(Item::Node(Node::Template { pos, name, pipe }))
            }
            _ => {
                self.i -= 1;
                let pipe = self.pipeline("command", &Tok::RightDelim)?;
                Ok(Item::Node(Node::Action(Box::new(pipe))))
            }
        }
    }

    fn block(&mut self, pos: usize) -> R<Node> {
        let name = self.template_name("block clause")?;
        let pipe = self.pipeline("block clause", &Tok::RightDelim)?;
        let body = self.body(pos, "block clause")?;
        self.add_def(pos, name.clone(), body)?;
        Ok(Node::Template {
            pos,
            name,
            pipe: Some(Box::new(pipe)),
        })
    }

    fn control(&mut self, pos: usize, kind: Kw) -> R<Node> {
        self.enter(pos)?;
        let mark = self.vars.len();
        let context = match kind {
            Kw::If => "if",
            Kw::Range => "range",
            _ => "with",
        };
        let pipe = self.pipeline(context, &Tok::RightDelim)?;
        if kind == Kw::Range {
            self.range_depth += 1;
        }
        let (list, next) = self.item_list()?;
        if kind == Kw::Range {
            self.range_depth -= 1;
        }
        let else_list = match next {
            Item::End(_) => None,
            Item::Else(_, Some(k)) => {
                if k != kind || kind == Kw::Range {
                    let t = self.peek().clone();
                    return self.unexpected(&t, "input");
                }
                let t = self.next_non_space();
                Some(vec![self.control(t.pos, k)?])
            }
            Item::Else(_, None) => {
                let (list, next) = self.item_list()?;
                match next {
                    Item::End(_) => Some(list),
                    Item::Else(p, _) => return self.err(p, "expected end; found {{else}}"),
                    Item::Node(_) => return self.err(pos, "internal error"),
                }
            }
            Item::Node(_) => return self.err(pos, "internal error"),
        };
        self.vars.truncate(mark);
        self.depth -= 1;
        let b = Box::new(Branch {
            pipe,
            list,
            else_list,
        });
        Ok(match kind {
            Kw::If => Node::If(b),
            Kw::Range => Node::Range(b),
            _ => Node::With(b),
        })
    }
}
