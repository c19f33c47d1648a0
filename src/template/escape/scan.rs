//! Byte-level helpers of the escaper's state machine: whitespace, tag names, raw-text
//! element ends, the HTML text and CSS transitions, and attribute kinds.

use super::{AttrKind, Ctx, Element, START, State};

pub(super) fn is_comment(s: State) -> bool {
    matches!(s, State::HtmlCmt | State::CssBlockCmt | State::CssLineCmt)
}

pub(super) fn eat_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\x0c' | b'\r') {
        i += 1;
    }
    i
}

/// Finds `</tag` (case-insensitive) followed by a tag-end separator.
pub(super) fn index_tag_end(s: &str, tag: &str) -> Option<usize> {
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

pub(super) fn t_text(c: Ctx, s: &str) -> (Ctx, usize) {
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

pub(super) fn eat_tag_name(b: &[u8], i: usize) -> usize {
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

pub(super) fn t_css(c: Ctx, s: &str) -> (Ctx, usize) {
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

pub(super) fn attr_kind(name: &str) -> AttrKind {
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
