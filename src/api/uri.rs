//! Which `generatorURL` values Alertmanager accepts: go-swagger checks the `uri` format with Go's
//! `url.ParseRequestURI`, so an absolute URL or an absolute path passes and `foo`, `a/b`,
//! `#frag` or `http://x y` answer 422. This is that parser's accept/reject decision (Go 1.19,
//! what Debian's Alertmanager 0.25 is built with), nothing more.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    /// The path (and the user info, which is checked the same way here).
    Path,
    /// The host, port included.
    Host,
    /// An IPv6 zone (`%25en0`).
    Zone,
}

/// Whether Go's `url.ParseRequestURI` accepts `raw`.
pub(super) fn is_request_uri(raw: &str) -> bool {
    if raw.is_empty() || raw.bytes().any(|c| c < b' ' || c == 0x7f) {
        return false;
    }
    if raw == "*" {
        return true;
    }
    let Some((scheme, rest)) = split_scheme(raw) else {
        return false;
    };
    // The query is not checked; a fragment is not split off (a request URI has none).
    let rest = if rest.ends_with('?') && rest.matches('?').count() == 1 {
        &rest[..rest.len() - 1]
    } else {
        rest.split_once('?').map_or(rest, |(r, _)| r)
    };
    if !rest.starts_with('/') {
        // `mailto:x` is opaque and fine; a relative reference is not a request URI.
        return !scheme.is_empty();
    }
    let mut path = rest;
    if !scheme.is_empty()
        && let Some(after) = rest.strip_prefix("//")
    {
        let (authority, p) = after.find('/').map_or((after, ""), |i| after.split_at(i));
        if !authority_ok(authority) {
            return false;
        }
        path = p;
    }
    unescape_ok(path, Part::Path)
}

/// Splits off a scheme (`http:`). None when the text starts with `:`.
fn split_scheme(raw: &str) -> Option<(&str, &str)> {
    for (i, c) in raw.bytes().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i == 0 => return None,
            b':' => return Some((&raw[..i], &raw[i + 1..])),
            _ => return Some(("", raw)),
        }
    }
    Some(("", raw))
}

fn authority_ok(authority: &str) -> bool {
    let (user, host) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    host_ok(host)
        && user.is_none_or(|u| {
            u.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._:~!$&'()*+,;=%@".contains(c))
                && {
                    let (name, password) = u.split_once(':').unwrap_or((u, ""));
                    unescape_ok(name, Part::Path) && unescape_ok(password, Part::Path)
                }
        })
}

fn host_ok(host: &str) -> bool {
    if host.starts_with('[') {
        let Some(i) = host.rfind(']') else {
            return false;
        };
        if !port_ok(&host[i + 1..]) {
            return false;
        }
        if let Some(zone) = host[..i].find("%25") {
            return unescape_ok(&host[..zone], Part::Host)
                && unescape_ok(&host[zone..i], Part::Zone)
                && unescape_ok(&host[i..], Part::Host);
        }
    } else if let Some(i) = host.rfind(':')
        && !port_ok(&host[i..])
    {
        return false;
    }
    unescape_ok(host, Part::Host)
}

fn port_ok(port: &str) -> bool {
    port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether a host byte must be percent-encoded (Go's `shouldEscape` in host mode).
fn host_escapes(c: u8) -> bool {
    !(c.is_ascii_alphanumeric() || b"!$&'()*+,;=:[]<>\"-_.~".contains(&c))
}

/// Go's `unescape` succeeds: every `%` starts two hex digits, and a host holds no byte that
/// would need escaping (nor a percent-encoded ASCII byte, `%25` aside).
fn unescape_ok(s: &str, part: Part) -> bool {
    let b = s.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16);
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            ) else {
                return false;
            };
            let escape = &s[i..i + 3];
            if part == Part::Host && h < 8 && escape != "%25" {
                return false;
            }
            let v = (h * 16 + l) as u8;
            if part == Part::Zone && escape != "%25" && v != b' ' && host_escapes(v) {
                return false;
            }
            i += 3;
        } else {
            if part != Part::Path && b[i] < 0x80 && host_escapes(b[i]) {
                return false;
            }
            i += 1;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::is_request_uri;

    /// Go 1.19's `url.ParseRequestURI` on each input (checked against Alertmanager 0.25 in
    /// `tests/it/am_diff.rs`).
    #[test]
    fn as_go_parses_request_uris() {
        let ok = [
            "http://prom:9090/graph?g0.expr=up",
            "/foo",
            "http:",
            "mailto:x@y",
            "*",
            "https://u:p@host/p",
            "http://[fe80::1%25en0]:80/",
            "http://host:/x",
            "/a b",
            "http://h/a%20b",
            "foo:bar",
            "http://x/#frag",
            "http://h@/x@",
        ];
        let bad = [
            "",
            "foo",
            "a/b",
            "#frag",
            "?a=b",
            "http://x y",
            ":foo",
            "http://h:port/",
            "http://h/%zz",
            "http://h%41/",
            "http://[::1/",
            "http://a\nb",
            "http://u^@h/",
            "http://u:%zz@h/",
        ];
        for u in ok {
            assert!(is_request_uri(u), "{u:?} should pass");
        }
        for u in bad {
            assert!(!is_request_uri(u), "{u:?} should fail");
        }
    }
}
