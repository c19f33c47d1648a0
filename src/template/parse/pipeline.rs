//! Pipelines and their parts: `|`-separated commands, operands with field chains, terms
//! (literals, variables, functions, parenthesized pipelines) and Go's untyped number
//! constants.

use std::sync::Arc;

use super::super::ast::{Arg, Cmd, Name, Num, Pipe};
use super::super::funcs::Func;
use super::super::lexer::Tok;
use super::{Parser, R};

impl Parser<'_> {
    pub(super) fn pipeline(&mut self, context: &str, end: &Tok) -> R<Pipe> {
        let pos = self.peek_non_space().pos;
        let mut decl: Vec<Arc<str>> = Vec::new();
        let mut is_assign = false;
        loop {
            let save = self.i;
            let Tok::Var(name) = self.peek_non_space().tok.clone() else {
                break;
            };
            let vpos = self.next().pos;
            let name: Arc<str> = Arc::from(name);
            match self.peek_non_space().tok.clone() {
                Tok::Assign | Tok::Declare => {
                    is_assign = self.next().tok == Tok::Assign;
                    if is_assign && !self.vars.contains(&name) {
                        return self.err(vpos, format!("undefined variable {:?}", &*name));
                    }
                    decl.push(name.clone());
                    self.vars.push(name);
                    break;
                }
                Tok::Char0(',') => {
                    self.next();
                    decl.push(name.clone());
                    self.vars.push(name);
                    if context == "range" && decl.len() < 2 {
                        match self.peek_non_space().tok {
                            Tok::Var(_) | Tok::RightDelim | Tok::RParen => continue,
                            _ => return self.err(vpos, "range can only initialize variables"),
                        }
                    }
                    return self.err(vpos, format!("too many declarations in {context}"));
                }
                _ => {
                    self.i = save;
                    break;
                }
            }
        }
        let mut cmds = Vec::new();
        loop {
            let t = self.next_non_space();
            if &t.tok == end {
                if cmds.is_empty() {
                    return self.err(t.pos, format!("missing value for {context}"));
                }
                for (i, c) in cmds.iter().enumerate().skip(1) {
                    let c: &Cmd = c;
                    if matches!(
                        c.args[0],
                        Arg::Bool(..) | Arg::Dot(_) | Arg::Nil(_) | Arg::Num(..) | Arg::Str(..)
                    ) {
                        return self.err(
                            c.pos,
                            format!("non executable command in pipeline stage {}", i + 1),
                        );
                    }
                }
                return Ok(Pipe {
                    pos,
                    end: t.pos,
                    decl,
                    is_assign,
                    cmds,
                    esc: Vec::new(),
                });
            }
            match t.tok {
                Tok::Bool(_)
                | Tok::Char(_)
                | Tok::Dot
                | Tok::Field(_)
                | Tok::Ident(_)
                | Tok::Number(_)
                | Tok::Nil
                | Tok::Str(_)
                | Tok::Var(_)
                | Tok::LParen => {
                    self.i -= 1;
                    let (cmd, piped) = self.command()?;
                    cmds.push(cmd);
                    if piped && &self.peek_non_space().tok == end {
                        let pos = self.peek().pos;
                        return self.err(pos, "missing command after pipe");
                    }
                }
                _ => return self.unexpected(&t, context),
            }
        }
    }

    /// One command; returns whether it ended at a `|`.
    pub(super) fn command(&mut self) -> R<(Cmd, bool)> {
        let pos = self.peek_non_space().pos;
        let mut args = Vec::new();
        let mut end = pos;
        let piped;
        loop {
            self.skip_space();
            if let Some(op) = self.operand()? {
                args.push(op);
            }
            end = self.peek().pos.max(end);
            let t = self.next();
            match t.tok {
                Tok::Space => continue,
                Tok::RightDelim | Tok::RParen => {
                    self.i -= 1;
                    piped = false;
                }
                Tok::Pipe => piped = true,
                _ => return self.unexpected(&t, "operand"),
            }
            break;
        }
        if args.is_empty() {
            return self.err(pos, "empty command");
        }
        Ok((Cmd { pos, end, args }, piped))
    }

    pub(super) fn operand(&mut self) -> R<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if !matches!(self.peek().tok, Tok::Field(_)) {
            return Ok(Some(node));
        }
        let mut fields: Vec<Name> = Vec::new();
        while let Tok::Field(f) = &self.peek().tok {
            fields.push(Name::new(f));
            self.i += 1;
        }
        Ok(Some(match node {
            Arg::Field(p, names) => {
                let mut all = names.to_vec();
                all.extend(fields);
                Arg::Field(p, all.into())
            }
            Arg::Var(p, v, names) => {
                let mut all = names.to_vec();
                all.extend(fields);
                Arg::Var(p, v, all.into())
            }
            Arg::Bool(p, _) | Arg::Str(p, _) | Arg::Num(p, _) | Arg::Nil(p) | Arg::Dot(p) => {
                return self.err(p, "unexpected . after term");
            }
            other => Arg::Chain(other.pos(), Box::new(other), fields.into()),
        }))
    }

    pub(super) fn term(&mut self) -> R<Option<Arg>> {
        let t = self.next_non_space();
        let pos = t.pos;
        Ok(Some(match t.tok {
            Tok::Ident(name) => match Func::lookup(&name) {
                Some(f) => Arg::Func(pos, f),
                None => return self.err(pos, format!("function {name:?} not defined")),
            },
            Tok::Dot => Arg::Dot(pos),
            Tok::Nil => Arg::Nil(pos),
            Tok::Var(name) => {
                if !self.vars.iter().any(|v| **v == *name) {
                    return self.err(pos, format!("undefined variable {name:?}"));
                }
                Arg::Var(pos, Arc::from(name), Arc::from(Vec::new()))
            }
            Tok::Field(name) => Arg::Field(pos, Arc::from(vec![Name::new(&name)])),
            Tok::Bool(b) => Arg::Bool(pos, b),
            Tok::Char(c) => Arg::Num(pos, Num::Int(c)),
            Tok::Number(text) => match parse_number(&text) {
                Ok(n) => Arg::Num(pos, n),
                Err(msg) => return self.err(pos, msg),
            },
            Tok::LParen => {
                self.enter(pos)?;
                let p = self.pipeline("parenthesized pipeline", &Tok::RParen)?;
                self.depth -= 1;
                Arg::Pipe(pos, Box::new(p))
            }
            Tok::Str(s) => Arg::Str(pos, Arc::from(s)),
            _ => {
                self.i -= 1;
                return Ok(None);
            }
        }))
    }
}

/// Converts number text the way Go converts an untyped constant used as a value.
pub(crate) fn parse_number(text: &str) -> Result<Num, String> {
    if text.ends_with('i') {
        return Err(format!("complex constants are not supported: {text:?}"));
    }
    let clean: String = text.chars().filter(|&c| c != '_').collect();
    let (neg, body) = match clean.as_bytes().first() {
        Some(b'-') => (true, &clean[1..]),
        Some(b'+') => (false, &clean[1..]),
        _ => (false, clean.as_str()),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') && lower.bytes().all(|b| b.is_ascii_digit())
    {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if radix == 16 && (digits.contains('p') || digits.contains('.')) {
        return Err(format!(
            "hexadecimal floating-point constants are not supported: {text:?}"
        ));
    }
    let floaty = radix == 10 && digits.contains(['.', 'e']);
    if !floaty {
        return match u64::from_str_radix(digits, radix) {
            Ok(u) => {
                let v = if neg { -(i128::from(u)) } else { i128::from(u) };
                i64::try_from(v)
                    .map(Num::Int)
                    .map_err(|_| format!("{text} overflows int"))
            }
            Err(e) if matches!(e.kind(), std::num::IntErrorKind::PosOverflow) => {
                Err(format!("{text} overflows int"))
            }
            Err(_) => Err(format!("illegal number syntax: {text:?}")),
        };
    }
    match body.parse::<f64>() {
        Ok(f) if f.is_finite() => Ok(Num::Float(if neg { -f } else { f })),
        _ => Err(format!("illegal number syntax: {text:?}")),
    }
}
