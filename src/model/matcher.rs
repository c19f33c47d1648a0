//! Label matchers (`=`, `!=`, `=~`, `!~`) and Alertmanager's two matcher syntaxes.
//!
//! - The UTF-8 syntax (Alertmanager 0.27+): names and values unquoted (no whitespace or
//!   `{}!=~,\"'` and backtick) or double-quoted with Go escapes; optional braces; one trailing
//!   comma allowed.
//! - The classic syntax (0.25/0.26): `name OP value` split on commas outside quotes, value
//!   optionally quoted, with `\n`, `\"` and `\\` escapes.
//! - Fallback mode (the default) tries both and prefers classic where they disagree, as
//!   Alertmanager does.
//!
//! Regexes are anchored `^(?:...)$` and compiled with size limits: they may come from the API.
//! Imports: std, regex.

use std::fmt;

use regex::{Regex, RegexBuilder};

use super::labels::LabelSet;
use super::quote::{go_quote, go_unquote};

/// Compiled-program size limit for matcher regexes (API input is untrusted).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// The four matcher operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchType {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`
    Regex,
    /// `!~`
    NotRegex,
}

impl MatchType {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchType::Equal => "=",
            MatchType::NotEqual => "!=",
            MatchType::Regex => "=~",
            MatchType::NotRegex => "!~",
        }
    }

    /// Whether the operator uses a regex.
    pub fn is_regex(self) -> bool {
        matches!(self, MatchType::Regex | MatchType::NotRegex)
    }

    /// Whether the operator is positive (`=`, `=~`).
    pub fn is_equal(self) -> bool {
        matches!(self, MatchType::Equal | MatchType::Regex)
    }

    /// From Alertmanager's API flags `isEqual`, `isRegex`.
    pub fn from_flags(is_equal: bool, is_regex: bool) -> Self {
        match (is_equal, is_regex) {
            (true, false) => MatchType::Equal,
            (false, false) => MatchType::NotEqual,
            (true, true) => MatchType::Regex,
            (false, true) => MatchType::NotRegex,
        }
    }
}

impl fmt::Display for MatchType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which matcher syntax to accept (Alertmanager's `--enable-feature` modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MatcherSyntax {
    /// Try the UTF-8 syntax, fall back to classic (Alertmanager's default since 0.27).
    #[default]
    Fallback,
    /// UTF-8 syntax only (`utf8-strict-mode`).
    Utf8Strict,
    /// Classic syntax only (`classic-mode`, and Alertmanager ≤ 0.26).
    Classic,
}

/// Why a matcher could not be built or parsed. The message says what was wrong and where.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum MatcherError {
    /// The regex did not compile or is too large.
    #[error("invalid regex {pattern}: {reason}")]
    Regex {
        /// The pattern as given (Go-quoted).
        pattern: String,
        /// The compiler's reason.
        reason: String,
    },
    /// The text does not follow the matcher syntax.
    #[error("{0}")]
    Syntax(String),
}

/// One label matcher. Equality compares name, operator and value.
#[derive(Clone)]
pub struct Matcher {
    /// The label name.
    pub name: String,
    /// The operator.
    pub op: MatchType,
    /// The value or the (unanchored) regex source.
    pub value: String,
    /// The anchored compiled regex for `=~`/`!~`.
    re: Option<Regex>,
}

impl Matcher {
    /// Builds a matcher, compiling the anchored regex for `=~`/`!~`.
    pub fn new(
        name: impl Into<String>,
        op: MatchType,
        value: impl Into<String>,
    ) -> Result<Self, MatcherError> {
        let value = value.into();
        let re = if op.is_regex() {
            Some(compile_anchored(&value)?)
        } else {
            None
        };
        Ok(Matcher {
            name: name.into(),
            op,
            value,
            re,
        })
    }

    /// Whether `value` satisfies this matcher (a missing label is `""`).
    pub fn matches_value(&self, value: &str) -> bool {
        match (self.op, &self.re) {
            (MatchType::Equal, _) => value == self.value,
            (MatchType::NotEqual, _) => value != self.value,
            (MatchType::Regex, Some(re)) => re.is_match(value),
            (MatchType::NotRegex, Some(re)) => !re.is_match(value),
            (_, None) => false,
        }
    }

    /// Whether the label set satisfies this matcher.
    pub fn matches(&self, labels: &LabelSet) -> bool {
        self.matches_value(labels.get(&self.name))
    }

    /// Whether this matcher accepts the empty string (a silence needs one that does not).
    pub fn matches_empty(&self) -> bool {
        self.matches_value("")
    }
}

/// Anchors and compiles a regex with our size limits.
pub fn compile_anchored(pattern: &str) -> Result<Regex, MatcherError> {
    RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .nest_limit(100)
        .build()
        .map_err(|e| MatcherError::Regex {
            pattern: go_quote(pattern),
            reason: first_line(&e.to_string()),
        })
}

fn first_line(s: &str) -> String {
    // regex's errors are multi-line diagrams; the last non-empty line holds the reason.
    s.lines()
        .rev()
        .find(|l| l.trim_start().starts_with("error:"))
        .map(|l| l.trim().trim_start_matches("error:").trim().to_owned())
        .unwrap_or_else(|| s.lines().next().unwrap_or("").to_owned())
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}
impl Eq for Matcher {}

impl PartialOrd for Matcher {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Alertmanager's matcher order: name, then value, then operator.
impl Ord for Matcher {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (&self.name, &self.value, self.op).cmp(&(&other.name, &other.value, other.op))
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Matcher({self})")
    }
}

/// `name="value"`; the name is quoted only when it holds a character the UTF-8 syntax reserves.
impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name.chars().any(is_reserved) || self.name.is_empty() {
            write!(f, "{}", go_quote(&self.name))?;
        } else {
            f.write_str(&self.name)?;
        }
        write!(f, "{}{}", self.op, go_quote(&self.value))
    }
}

/// Prints a list `{a="b",c=~"d"}` (Alertmanager's `Matchers.String()`).
pub fn matchers_to_string(ms: &[Matcher]) -> String {
    let parts: Vec<String> = ms.iter().map(ToString::to_string).collect();
    format!("{{{}}}", parts.join(","))
}

/// Whether all matchers accept the label set.
pub fn all_match(ms: &[Matcher], labels: &LabelSet) -> bool {
    ms.iter().all(|m| m.matches(labels))
}

fn is_reserved(c: char) -> bool {
    c.is_whitespace() || "{}!=~,\\\"'`".contains(c)
}

/// Parses a matcher list (`{a="b", c=~d}` or `a=b,c!=d`) in the given syntax.
pub fn parse_matchers(input: &str, syntax: MatcherSyntax) -> Result<Vec<Matcher>, MatcherError> {
    match syntax {
        MatcherSyntax::Utf8Strict => parse_utf8(input),
        MatcherSyntax::Classic => parse_classic(input),
        MatcherSyntax::Fallback => match (parse_utf8(input), parse_classic(input)) {
            (Ok(_), Ok(c)) => Ok(c),
            (Ok(u), Err(_)) => Ok(u),
            (Err(_), Ok(c)) => Ok(c),
            (Err(_), Err(c)) => Err(c),
        },
    }
}

/// Parses exactly one matcher.
pub fn parse_matcher(input: &str, syntax: MatcherSyntax) -> Result<Matcher, MatcherError> {
    let mut ms = parse_matchers(input, syntax)?;
    if ms.len() != 1 {
        return Err(MatcherError::Syntax(format!(
            "expected exactly one matcher, got {} in {}",
            ms.len(),
            go_quote(input)
        )));
    }
    Ok(ms.remove(0))
}

/// Parses one matcher given on its own, as Alertmanager 0.25's API reads a `filter` parameter:
/// the classic single-matcher form (everything after the operator is the value, so `foo=x,y`
/// means `foo="x,y"`; no braces: `{foo="x"}` is refused). A quoted label name (`"a b"="x"`,
/// for the UTF-8 names tocsin takes as Alertmanager 0.28+ does) is read in the UTF-8 syntax.
pub fn parse_filter_matcher(input: &str) -> Result<Matcher, MatcherError> {
    parse_classic_one(input).or_else(|classic| {
        if input.trim_start().starts_with('"') {
            parse_matcher(input, MatcherSyntax::Utf8Strict).map_err(|_| classic)
        } else {
            Err(classic)
        }
    })
}

// ---- UTF-8 syntax -------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    Comma,
    Op(MatchType),
    Quoted(String),
    Unquoted(String),
}

fn lex_utf8(input: &str) -> Result<Vec<(usize, Tok)>, MatcherError> {
    let err = |pos: usize, what: &str| MatcherError::Syntax(format!("{pos}: {what}"));
    let mut out = Vec::new();
    let bytes = input.as_bytes();
    let mut i = 0;
    while i < input.len() {
        let c = input[i..].chars().next().unwrap_or(' ');
        let start = i;
        match c {
            c if c.is_whitespace() => {
                i += c.len_utf8();
                continue;
            }
            '{' | '}' | ',' | '=' | '!' => {
                let (len, tok) = match (c, bytes.get(i + 1)) {
                    ('{', _) => (1, Tok::Open),
                    ('}', _) => (1, Tok::Close),
                    (',', _) => (1, Tok::Comma),
                    ('=', Some(b'~')) => (2, Tok::Op(MatchType::Regex)),
                    ('=', _) => (1, Tok::Op(MatchType::Equal)),
                    ('!', Some(b'=')) => (2, Tok::Op(MatchType::NotEqual)),
                    ('!', Some(b'~')) => (2, Tok::Op(MatchType::NotRegex)),
                    _ => return Err(err(start, "expected one of '!=' or '!~' after '!'")),
                };
                i += len;
                out.push((start, tok));
            }
            '"' => {
                let mut j = i + 1;
                let mut escaped = false;
                loop {
                    let Some(ch) = input[j..].chars().next() else {
                        return Err(err(start, "quoted string is missing its closing '\"'"));
                    };
                    j += ch.len_utf8();
                    match ch {
                        '\\' if !escaped => escaped = true,
                        '"' if !escaped => break,
                        _ => escaped = false,
                    }
                }
                let lit = &input[i..j];
                let s = go_unquote(lit)
                    .ok_or_else(|| err(start, &format!("invalid quoted string {lit}")))?;
                i = j;
                out.push((start, Tok::Quoted(s)));
            }
            c if is_reserved(c) => {
                return Err(err(start, &format!("unexpected character {c:?}")));
            }
            _ => {
                let len: usize = input[i..]
                    .chars()
                    .take_while(|c| !is_reserved(*c))
                    .map(char::len_utf8)
                    .sum();
                out.push((start, Tok::Unquoted(input[i..i + len].to_owned())));
                i += len;
            }
        }
    }
    Ok(out)
}

fn parse_utf8(input: &str) -> Result<Vec<Matcher>, MatcherError> {
    let toks = lex_utf8(input)?;
    let err = |pos: usize, what: &str| MatcherError::Syntax(format!("{pos}: {what}"));
    let end = input.len();
    let mut i = 0;
    let braced = matches!(toks.first(), Some((_, Tok::Open)));
    if braced {
        i = 1;
    }
    let mut out = Vec::new();
    let text = |t: &Tok| match t {
        Tok::Quoted(s) | Tok::Unquoted(s) => Some(s.clone()),
        _ => None,
    };
    loop {
        match toks.get(i) {
            None => {
                if braced {
                    return Err(err(end, "missing closing '}'"));
                }
                break;
            }
            Some((p, Tok::Close)) => {
                if !braced {
                    return Err(err(*p, "unexpected '}' without an opening '{'"));
                }
                if i + 1 != toks.len() {
                    return Err(err(toks[i + 1].0, "unexpected input after closing '}'"));
                }
                break;
            }
            Some((p, t)) => {
                let name = text(t).ok_or_else(|| err(*p, "expected a label name"))?;
                let (op_pos, op) = match toks.get(i + 1) {
                    Some((p, Tok::Op(op))) => (*p, *op),
                    Some((p, _)) => return Err(err(*p, "expected one of '=', '!=', '=~', '!~'")),
                    None => return Err(err(end, "unexpected end of input, expected an operator")),
                };
                let value = match toks.get(i + 2) {
                    Some((_, t)) => text(t).ok_or_else(|| err(op_pos + 1, "expected a value"))?,
                    None => return Err(err(end, "unexpected end of input, expected a value")),
                };
                if name.is_empty() {
                    return Err(err(*p, "label name must not be empty"));
                }
                out.push(Matcher::new(name, op, value)?);
                i += 3;
                match toks.get(i) {
                    Some((_, Tok::Comma)) => i += 1,
                    Some((_, Tok::Close)) | None => {}
                    Some((p, _)) => return Err(err(*p, "expected ',' or '}' after a matcher")),
                }
            }
        }
    }
    Ok(out)
}

// ---- classic syntax -----------------------------------------------------------------------

fn parse_classic(input: &str) -> Result<Vec<Matcher>, MatcherError> {
    let s = input.strip_prefix('{').unwrap_or(input);
    let s = s.strip_suffix('}').unwrap_or(s);
    let mut tokens = Vec::new();
    let (mut in_quotes, mut escaped) = (false, false);
    let mut tok = String::new();
    for c in s.chars() {
        match c {
            ',' if !in_quotes => {
                tokens.push(std::mem::take(&mut tok));
                continue;
            }
            ',' => {}
            '"' => {
                if !escaped {
                    in_quotes = !in_quotes;
                } else {
                    escaped = false;
                }
            }
            '\\' => escaped = !escaped,
            _ => escaped = false,
        }
        tok.push(c);
    }
    if !tok.trim().is_empty() {
        tokens.push(tok);
    }
    tokens.iter().map(|t| parse_classic_one(t)).collect()
}

fn parse_classic_one(s: &str) -> Result<Matcher, MatcherError> {
    let bad = || MatcherError::Syntax(format!("bad matcher format: {s}"));
    let t = s.trim();
    let name_len = t
        .char_indices()
        .take_while(|(i, c)| {
            c.is_ascii_alphabetic() || *c == '_' || *c == ':' || (*i > 0 && c.is_ascii_digit())
        })
        .count();
    if name_len == 0 {
        return Err(bad());
    }
    let name = &t[..name_len];
    let rest = t[name_len..].trim_start();
    let (op, rest) = [
        ("=~", MatchType::Regex),
        ("!=", MatchType::NotEqual),
        ("!~", MatchType::NotRegex),
        ("=", MatchType::Equal),
    ]
    .iter()
    .find_map(|(lit, op)| rest.strip_prefix(lit).map(|r| (*op, r)))
    .ok_or_else(bad)?;
    let raw_all = rest.trim();
    let (mut raw, mut expect_quote) = (raw_all, false);
    if let Some(r) = raw.strip_prefix('"') {
        raw = r;
        expect_quote = true;
    }
    let unescaped_quote = || {
        MatcherError::Syntax(format!(
            "matcher value contains unescaped double quote: {raw_all}"
        ))
    };
    let mut value = String::with_capacity(raw.len());
    let mut escaped = false;
    for (i, c) in raw.char_indices() {
        if escaped {
            escaped = false;
            match c {
                'n' => value.push('\n'),
                '"' | '\\' => value.push(c),
                _ => {
                    value.push('\\');
                    value.push(c);
                }
            }
            continue;
        }
        let last = i + c.len_utf8() == raw.len();
        match c {
            '\\' if !last => escaped = true,
            '\\' => value.push('\\'),
            '"' => {
                if !expect_quote || !last {
                    return Err(unescaped_quote());
                }
                expect_quote = false;
            }
            _ => value.push(c),
        }
    }
    if expect_quote {
        return Err(unescaped_quote());
    }
    Matcher::new(name, op, value)
}

#[cfg(test)]
mod tests;
