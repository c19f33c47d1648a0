//! URL query and form encoding, the one place it is written: decoding queries and form bodies
//! (the API, the pages, an OAuth 2.0 token endpoint's answer) and encoding values.

/// Decodes form encoding (`application/x-www-form-urlencoded`: `+` is a space, `%XX` a byte);
/// a bad escape is kept as written, bytes that are not UTF-8 become U+FFFD.
pub fn form_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| char::from(c).to_digit(16);
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        // Two hex digits: at most 255.
                        out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes everything but the unreserved characters (`A-Za-z0-9-_.~`), a space as
/// `%20`: safe in a path segment and in a query value.
pub fn percent_encode(s: &str) -> String {
    encode_with(s, "%20")
}

/// Go's `url.QueryEscape`: as [`percent_encode`], but a space is `+` (form encoding).
pub fn query_escape(s: &str) -> String {
    encode_with(s, "+")
}

fn encode_with(s: &str, space: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(c));
            }
            b' ' => out.push_str(space),
            _ => out.push_str(&format!("%{c:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_keeps_bad_escapes() {
        for s in ["a b=\"c\"&d/é~", "", "%", "100%"] {
            assert_eq!(form_decode(&percent_encode(s)), s);
            assert_eq!(form_decode(&query_escape(s)), s);
        }
        assert_eq!(query_escape("a b&c=d/é~"), "a+b%26c%3Dd%2F%C3%A9~");
        assert_eq!(percent_encode("a b"), "a%20b");
        assert_eq!(form_decode("a+b%3D%22c%22"), "a b=\"c\"");
        assert_eq!(form_decode("100%"), "100%");
        assert_eq!(form_decode("%zz%4"), "%zz%4");
    }
}
