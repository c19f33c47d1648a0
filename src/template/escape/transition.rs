//! The context state machine over template text: how each text node moves the HTML/CSS
//! context (tags, attributes, quoted values, URLs, comments, `<style>`), and how Go
//! rewrites the text on the way (comments dropped, stray `<` escaped).

use super::scan::{attr_kind, eat_ws, index_tag_end, is_comment, t_css, t_text};
use super::{AttrKind, Ctx, Delim, Element, Escaper, R, START, State, UrlPart};

impl Escaper<'_> {
    /// Runs the HTML state machine over a text node; returns the end context and the text as
    /// Go rewrites it.
    pub(super) fn text(&self, mut c: Ctx, s: &str) -> R<(Ctx, String)> {
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

    pub(super) fn after_text(&self, c: Ctx, s: &str) -> R<(Ctx, usize)> {
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

    pub(super) fn transition(&self, c: Ctx, s: &str) -> R<(Ctx, usize)> {
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

    pub(super) fn eat_attr_name(&self, s: &str, i: usize) -> R<usize> {
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
