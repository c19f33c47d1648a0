//! Tokenizer for Go template syntax (`{{ ... }}` actions, `{{-`/`-}}` trimming, comments).
//!
//! Produces a flat token vector with byte offsets; the parser turns offsets into `line:col`
//! only when it reports an error. Runs in one pass, linear in the input.
//!
//! This file owns the token types, the driver and action scanning (delimiters, trimming,
//! comments, words, punctuation); `literals` scans strings, characters and numbers.

mod literals;

use literals::unicode_name;

/// A lexical token kind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// Literal text between actions (already trimmed by `{{-`/`-}}`), as a byte range.
    Text(usize, usize),
    LeftDelim,
    RightDelim,
    Space,
    /// A function name.
    Ident(String),
    Kw(Kw),
    Bool(bool),
    Nil,
    Dot,
    /// `.Name` (the name without the dot).
    Field(String),
    /// `$name` or `$` (with the `$`).
    Var(String),
    /// A quoted or raw string, unquoted.
    Str(String),
    /// A character constant's code point.
    Char(i64),
    /// Number text as written.
    Number(String),
    LParen,
    RParen,
    Pipe,
    Declare,
    Assign,
    /// Any other printable ASCII character inside an action (`,` is the useful one).
    Char0(char),
    Eof,
}

/// Keywords of the action language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kw {
    Block,
    Break,
    Continue,
    Define,
    Else,
    End,
    If,
    Range,
    Template,
    With,
}

/// A token with its byte offset in the source.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    pub(crate) pos: usize,
}

/// A lexing error at a byte offset.
#[derive(Debug)]
pub(crate) struct LexError {
    pub(crate) pos: usize,
    pub(crate) msg: String,
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

struct Lexer<'s> {
    src: &'s str,
    b: &'s [u8],
    pos: usize,
    out: Vec<Token>,
    paren: i32,
}

/// Tokenizes a whole template source.
pub(crate) fn lex(src: &str) -> Result<Vec<Token>, LexError> {
    let mut l = Lexer {
        src,
        b: src.as_bytes(),
        pos: 0,
        out: Vec::new(),
        paren: 0,
    };
    l.run()?;
    Ok(l.out)
}

impl<'s> Lexer<'s> {
    fn err<T>(&self, pos: usize, msg: impl Into<String>) -> Result<T, LexError> {
        Err(LexError {
            pos,
            msg: msg.into(),
        })
    }

    fn push(&mut self, tok: Tok, pos: usize) {
        self.out.push(Token { tok, pos });
    }

    fn starts(&self, at: usize, s: &str) -> bool {
        self.b.len() >= at + s.len() && &self.b[at..at + s.len()] == s.as_bytes()
    }

    /// `" -}}"` or `"}}"` at `at`: returns (is delim, has trim marker).
    fn at_right_delim(&self, at: usize) -> (bool, bool) {
        if at + 1 < self.b.len()
            && is_space(self.b[at])
            && self.b[at + 1] == b'-'
            && self.starts(at + 2, "}}")
        {
            return (true, true);
        }
        (self.starts(at, "}}"), false)
    }

    fn skip_ws(&self, mut at: usize) -> usize {
        while at < self.b.len() && is_space(self.b[at]) {
            at += 1;
        }
        at
    }

    fn run(&mut self) -> Result<(), LexError> {
        let mut text_start = 0;
        loop {
            // Text up to the next "{{".
            let rest = &self.src[self.pos..];
            let Some(off) = rest.find("{{") else {
                if self.b.len() > text_start {
                    self.push(Tok::Text(text_start, self.b.len()), text_start);
                }
                self.push(Tok::Eof, self.b.len());
                return Ok(());
            };
            let ld = self.pos + off;
            let mut after = ld + 2;
            let trim_left =
                after + 1 < self.b.len() && self.b[after] == b'-' && is_space(self.b[after + 1]);
            let mut text_end = ld;
            if trim_left {
                while text_end > text_start && is_space(self.b[text_end - 1]) {
                    text_end -= 1;
                }
                after += 2;
            }
            if text_end > text_start {
                self.push(Tok::Text(text_start, text_end), text_start);
            }
            if self.starts(after, "/*") {
                // Comment.
                let Some(x) = self.src[after + 2..].find("*/") else {
                    return self.err(ld, "unclosed comment");
                };
                let end = after + 2 + x + 2;
                let (is_delim, trim) = self.at_right_delim(end);
                if !is_delim {
                    return self.err(ld, "comment ends before closing delimiter");
                }
                let mut p = end + if trim { 2 } else { 0 } + 2;
                if trim {
                    p = self.skip_ws(p);
                }
                self.pos = p;
                text_start = p;
                continue;
            }
            self.push(Tok::LeftDelim, ld);
            self.pos = after;
            self.paren = 0;
            self.inside_action()?;
            text_start = self.pos;
        }
    }

    /// Lexes one action after its left delimiter up to and including the right delimiter.
    fn inside_action(&mut self) -> Result<(), LexError> {
        loop {
            let (is_delim, trim) = self.at_right_delim(self.pos);
            if is_delim {
                if self.paren != 0 {
                    return self.err(self.pos, "unclosed left paren");
                }
                let p = self.pos + if trim { 2 } else { 0 };
                self.push(Tok::RightDelim, p);
                self.pos = p + 2;
                if trim {
                    self.pos = self.skip_ws(self.pos);
                }
                return Ok(());
            }
            let start = self.pos;
            let Some(c) = self.src[self.pos..].chars().next() else {
                return self.err(start, "unclosed action");
            };
            match c {
                c if c.is_ascii() && is_space(c as u8) => {
                    let mut p = self.pos;
                    while p < self.b.len() && is_space(self.b[p]) {
                        // Stop before a space that starts " -}}".
                        if self.at_right_delim(p) == (true, true) {
                            break;
                        }
                        p += 1;
                    }
                    if p > self.pos {
                        self.push(Tok::Space, start);
                    }
                    self.pos = p;
                }
                '=' => {
                    self.push(Tok::Assign, start);
                    self.pos += 1;
                }
                ':' => {
                    if !self.starts(self.pos + 1, "=") {
                        return self.err(start, "expected :=");
                    }
                    self.push(Tok::Declare, start);
                    self.pos += 2;
                }
                '|' => {
                    self.push(Tok::Pipe, start);
                    self.pos += 1;
                }
                '"' => self.quote()?,
                '`' => {
                    let Some(x) = self.src[self.pos + 1..].find('`') else {
                        return self.err(start, "unterminated raw quoted string");
                    };
                    let raw: String = self.src[self.pos + 1..self.pos + 1 + x]
                        .chars()
                        .filter(|&c| c != '\r')
                        .collect();
                    self.push(Tok::Str(raw), start);
                    self.pos += x + 2;
                }
                '$' => {
                    self.pos += 1;
                    let name = self.word(start)?;
                    self.push(Tok::Var(format!("${name}")), start);
                }
                '\'' => self.char_const()?,
                '.' if !self.b.get(self.pos + 1).is_some_and(|b| b.is_ascii_digit()) => {
                    self.pos += 1;
                    let name = self.word(start)?;
                    if name.is_empty() {
                        self.push(Tok::Dot, start);
                    } else {
                        self.push(Tok::Field(name), start);
                    }
                }
                '.' | '+' | '-' | '0'..='9' => self.number()?,
                c if is_alnum(c) => {
                    let word = self.word(start)?;
                    let tok = match word.as_str() {
                        "block" => Tok::Kw(Kw::Block),
                        "break" => Tok::Kw(Kw::Break),
                        "continue" => Tok::Kw(Kw::Continue),
                        "define" => Tok::Kw(Kw::Define),
                        "else" => Tok::Kw(Kw::Else),
                        "end" => Tok::Kw(Kw::End),
                        "if" => Tok::Kw(Kw::If),
                        "range" => Tok::Kw(Kw::Range),
                        "template" => Tok::Kw(Kw::Template),
                        "with" => Tok::Kw(Kw::With),
                        "nil" => Tok::Nil,
                        "true" => Tok::Bool(true),
                        "false" => Tok::Bool(false),
                        _ => Tok::Ident(word),
                    };
                    self.push(tok, start);
                }
                '(' => {
                    self.push(Tok::LParen, start);
                    self.paren += 1;
                    self.pos += 1;
                }
                ')' => {
                    self.push(Tok::RParen, start);
                    self.paren -= 1;
                    self.pos += 1;
                    if self.paren < 0 {
                        return self.err(start, "unexpected right paren U+0029 ')'");
                    }
                }
                c if c.is_ascii() && !c.is_ascii_control() => {
                    self.push(Tok::Char0(c), start);
                    self.pos += 1;
                }
                c => {
                    return self.err(
                        start,
                        format!("unrecognized character in action: {}", unicode_name(c)),
                    );
                }
            }
        }
    }

    /// Scans an alphanumeric word at `self.pos` that must end at a terminator.
    fn word(&mut self, start: usize) -> Result<String, LexError> {
        let rest = &self.src[self.pos..];
        let len: usize = rest
            .chars()
            .take_while(|&c| is_alnum(c))
            .map(char::len_utf8)
            .sum();
        let word = rest[..len].to_string();
        self.pos += len;
        if !self.at_terminator() {
            let c = self.src[self.pos..].chars().next().unwrap_or(' ');
            return self.err(start, format!("bad character {}", unicode_name(c)));
        }
        Ok(word)
    }

    fn at_terminator(&self) -> bool {
        match self.b.get(self.pos) {
            None => true,
            Some(&b) if is_space(b) => true,
            Some(b'.' | b',' | b'|' | b':' | b')' | b'(') => true,
            _ => self.starts(self.pos, "}}"),
        }
    }
}
