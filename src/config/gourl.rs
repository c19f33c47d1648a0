//! URLs accepted and refused exactly as Go's `net/url.Parse` does (Go 1.19, the toolchain of
//! Alertmanager 0.25's packages), because Alertmanager's config types are thin wrappers over it:
//! `proxy_url` is `url.Parse` alone (`foo` is a valid relative URL), and every other URL
//! (`api_url`, `url`, `pagerduty_url`, ...) is `url.Parse` plus "scheme is http or https" and
//! "host is not empty". Only the verdict and the reason are computed; nothing is rewritten.
//! Imports: std only.

use std::fmt;

/// Why Go's `url.Parse` refuses a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParseError {
    /// A byte below 0x20, or 0x7f.
    ControlCharacter,
    /// `:` as the first character.
    MissingScheme,
    /// A scheme-less URL whose first path segment holds a colon (`a:b/c` without a scheme is
    /// read as a scheme; `/x` and `x/a:b` are fine; `1a:b` is refused).
    ColonInFirstSegment,
    /// `%` not followed by two hex digits, or an escape Go does not allow where it is.
    BadEscape(String),
    /// A character not allowed in a host name (`{`, a space, ...).
    BadHostCharacter(char),
    /// `[` without `]` in the host.
    MissingBracket,
    /// A port that is not all digits.
    BadPort(String),
    /// A character not allowed in the user information.
    BadUserinfo,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::ControlCharacter => f.write_str("invalid control character in URL"),
            ParseError::MissingScheme => f.write_str("missing protocol scheme"),
            ParseError::ColonInFirstSegment => {
                f.write_str("first path segment in URL cannot contain colon")
            }
            ParseError::BadEscape(s) => write!(f, "invalid URL escape {s:?}"),
            ParseError::BadHostCharacter(c) => write!(f, "invalid character {c:?} in host name"),
            ParseError::MissingBracket => f.write_str("missing ']' in host"),
            ParseError::BadPort(p) => write!(f, "invalid port {p:?} after host"),
            ParseError::BadUserinfo => f.write_str("invalid userinfo"),
        }
    }
}

/// What of a parsed URL the config checks look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed {
    /// The scheme, lower-cased (empty when there is none).
    pub(crate) scheme: String,
    /// The host (with port), empty when the URL has no authority.
    pub(crate) host: String,
    /// The path as written (escapes not decoded).
    pub(crate) path: String,
}

/// Go's `url.Parse`.
pub(crate) fn parse(raw: &str) -> Result<Parsed, ParseError> {
    let (u, frag) = match raw.split_once('#') {
        Some((u, f)) => (u, Some(f)),
        None => (raw, None),
    };
    let parsed = parse_no_fragment(u)?;
    if let Some(f) = frag {
        unescape(f, Mode::Fragment)?;
    }
    Ok(parsed)
}

fn parse_no_fragment(raw: &str) -> Result<Parsed, ParseError> {
    if raw.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(ParseError::ControlCharacter);
    }
    if raw == "*" {
        return Ok(Parsed {
            scheme: String::new(),
            host: String::new(),
            path: "*".into(),
        });
    }
    let (scheme, rest) = scheme(raw)?;
    let scheme = scheme.to_ascii_lowercase();
    let rest = if rest.ends_with('?') && rest.matches('?').count() == 1 {
        &rest[..rest.len() - 1]
    } else {
        rest.split_once('?').map_or(rest, |(r, _)| r)
    };
    if !rest.starts_with('/') {
        if !scheme.is_empty() {
            // A rootless path after a scheme is opaque (`mailto:x`, `localhost:8080`).
            return Ok(Parsed {
                scheme,
                host: String::new(),
                path: String::new(),
            });
        }
        let segment = rest.split('/').next().unwrap_or("");
        if segment.contains(':') {
            return Err(ParseError::ColonInFirstSegment);
        }
    }
    let mut host = String::new();
    let mut path = rest;
    if (!scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
        let authority_and_path = &rest[2..];
        let (authority, p) = match authority_and_path.find('/') {
            Some(i) => (&authority_and_path[..i], &authority_and_path[i..]),
            None => (authority_and_path, ""),
        };
        host = parse_authority(authority)?;
        path = p;
    }
    unescape(path, Mode::Path)?;
    Ok(Parsed {
        scheme,
        host,
        path: path.to_owned(),
    })
}

/// Go's `getScheme`: letters first, then letters, digits, `+`, `-`, `.`, up to a colon.
fn scheme(raw: &str) -> Result<(&str, &str), ParseError> {
    for (i, c) in raw.bytes().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i == 0 => return Err(ParseError::MissingScheme),
            b':' => return Ok((&raw[..i], &raw[i + 1..])),
            _ => return Ok(("", raw)),
        }
    }
    Ok(("", raw))
}

fn parse_authority(authority: &str) -> Result<String, ParseError> {
    let (userinfo, host) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    let host = parse_host(host)?;
    if let Some(u) = userinfo {
        let valid = u.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    '-' | '.'
                        | '_'
                        | ':'
                        | '~'
                        | '!'
                        | '$'
                        | '&'
                        | '\''
                        | '('
                        | ')'
                        | '*'
                        | '+'
                        | ','
                        | ';'
                        | '='
                        | '%'
                        | '@'
                )
        });
        if !valid {
            return Err(ParseError::BadUserinfo);
        }
        for part in u.splitn(2, ':') {
            unescape(part, Mode::UserPassword)?;
        }
    }
    Ok(host)
}

fn valid_optional_port(port: &str) -> bool {
    match port.strip_prefix(':') {
        None => port.is_empty(),
        Some(digits) => digits.bytes().all(|b| b.is_ascii_digit()),
    }
}

fn parse_host(host: &str) -> Result<String, ParseError> {
    if host.starts_with('[') {
        let Some(i) = host.rfind(']') else {
            return Err(ParseError::MissingBracket);
        };
        let colon_port = &host[i + 1..];
        if !valid_optional_port(colon_port) {
            return Err(ParseError::BadPort(colon_port.to_owned()));
        }
        if let Some(zone) = host[..i].find("%25") {
            unescape(&host[..zone], Mode::Host)?;
            unescape(&host[zone..i], Mode::Zone)?;
            unescape(&host[i..], Mode::Host)?;
            return Ok(host.to_owned());
        }
    } else if let Some(i) = host.rfind(':') {
        let colon_port = &host[i..];
        if !valid_optional_port(colon_port) {
            return Err(ParseError::BadPort(colon_port.to_owned()));
        }
    }
    unescape(host, Mode::Host)?;
    Ok(host.to_owned())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Path,
    Host,
    Zone,
    UserPassword,
    Fragment,
}

/// Go's `shouldEscape` for the host and zone modes (the only ones `unescape` consults).
fn host_should_escape(c: u8) -> bool {
    !(c.is_ascii_alphanumeric()
        || matches!(
            c,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'['
                | b']'
                | b'<'
                | b'>'
                | b'"'
                | b'-'
                | b'_'
                | b'.'
                | b'~'
        ))
}

fn unhex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c - b'A' + 10,
    }
}

/// The checks of Go's `unescape` (the decoded value is not needed).
fn unescape(s: &str, mode: Mode) -> Result<(), ParseError> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                if i + 2 >= b.len()
                    || !b[i + 1].is_ascii_hexdigit()
                    || !b[i + 2].is_ascii_hexdigit()
                {
                    let end = (i + 3).min(b.len());
                    return Err(ParseError::BadEscape(
                        String::from_utf8_lossy(&b[i..end]).into_owned(),
                    ));
                }
                let esc = &s[i..i + 3];
                if mode == Mode::Host && unhex(b[i + 1]) < 8 && esc != "%25" {
                    return Err(ParseError::BadEscape(esc.to_owned()));
                }
                if mode == Mode::Zone {
                    let v = (unhex(b[i + 1]) << 4) | unhex(b[i + 2]);
                    if esc != "%25" && v != b' ' && host_should_escape(v) {
                        return Err(ParseError::BadEscape(esc.to_owned()));
                    }
                }
                i += 3;
            }
            c => {
                if matches!(mode, Mode::Host | Mode::Zone) && c < 0x80 && host_should_escape(c) {
                    return Err(ParseError::BadHostCharacter(char::from(c)));
                }
                i += 1;
            }
        }
    }
    Ok(())
}

/// Why Alertmanager's `URL` type (parse, then http or https with a host) refuses a string.
pub(crate) fn http_url_problem(raw: &str) -> Option<String> {
    match parse(raw) {
        Err(e) => Some(format!("invalid URL: {e}")),
        Ok(p) if p.scheme != "http" && p.scheme != "https" => {
            Some(format!("unsupported scheme {:?} for URL", p.scheme))
        }
        Ok(p) if p.host.is_empty() => Some("missing host for URL".to_owned()),
        Ok(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_accepts() {
        for u in [
            "http://x/",
            "HTTPS://x:1/a?b#c",
            "foo",
            "foo/bar:baz",
            "/a:b",
            "mailto:x@y",
            "localhost:8080",
            "http://[::1]:80/",
            "http://u:p@h/",
            "http://h/%41",
            "http://h:/",
            "*",
            "",
        ] {
            assert!(parse(u).is_ok(), "{u}: {:?}", parse(u));
        }
    }

    #[test]
    fn go_refuses() {
        let cases = [
            (":foo", ParseError::MissingScheme),
            ("1a:b", ParseError::ColonInFirstSegment),
            ("http://{x}/", ParseError::BadHostCharacter('{')),
            ("http://a b/", ParseError::BadHostCharacter(' ')),
            ("http://h:x/", ParseError::BadPort(":x".into())),
            ("http://[::1/", ParseError::MissingBracket),
            ("http://h/%4", ParseError::BadEscape("%4".into())),
            ("http://h%41/", ParseError::BadEscape("%41".into())),
            ("http://h/\n", ParseError::ControlCharacter),
            ("http://u^@h/", ParseError::BadUserinfo),
            ("http://h/#%zz", ParseError::BadEscape("%zz".into())),
        ];
        for (u, want) in cases {
            assert_eq!(parse(u), Err(want), "{u}");
        }
    }

    #[test]
    fn alertmanager_urls() {
        assert_eq!(http_url_problem("http://x/"), None);
        assert_eq!(http_url_problem("HTTP://x"), None);
        assert!(http_url_problem("x/").unwrap().contains("scheme \"\""));
        assert!(http_url_problem("ftp://x/").unwrap().contains("\"ftp\""));
        assert_eq!(
            http_url_problem("http:///a").as_deref(),
            Some("missing host for URL")
        );
        assert_eq!(
            http_url_problem("http:x").as_deref(),
            Some("missing host for URL")
        );
        assert!(http_url_problem("http://{{ .x }}/").is_some());
    }
}
