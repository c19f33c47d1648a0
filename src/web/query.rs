//! Query strings: reading `a=b&c=d` (form encoding, `+` is a space) and writing links that keep
//! the page's filters, so a view can be pasted in chat.

pub(super) use crate::model::{form_decode as decode, percent_encode as encode};

/// A parsed query string, pairs in order.
pub(super) struct Query(Vec<(String, String)>);

impl Query {
    /// Parses a raw query string.
    pub(super) fn parse(raw: &str) -> Self {
        Query(
            raw.split('&')
                .filter(|p| !p.is_empty())
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap_or((p, ""));
                    (decode(k), decode(v))
                })
                .collect(),
        )
    }

    /// The first value of `key`, trimmed; `None` when absent or empty.
    pub(super) fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }
}

/// `?k=v&...` from the pairs whose value is not empty (empty when none is).
pub(super) fn link(pairs: &[(&str, &str)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    if parts.is_empty() {
        "?".to_owned()
    } else {
        format!("?{}", parts.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let s = "{alertname=\"a b\", x=~\"é|<script>\"}";
        assert_eq!(decode(&encode(s)), s);
        assert_eq!(decode("a+b%3D%22c%22"), "a b=\"c\"");
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz%4"), "%zz%4");
        let q = Query::parse("filter=x%3D1&state=&receiver=team+a");
        assert_eq!(q.get("filter"), Some("x=1"));
        assert_eq!(q.get("state"), None);
        assert_eq!(q.get("receiver"), Some("team a"));
        assert_eq!(link(&[("a", "1"), ("b", "")]), "?a=1");
        assert_eq!(link(&[("b", "")]), "?");
    }
}
