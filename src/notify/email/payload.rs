//! The email message, pure: the config's templated fields rendered for one notification, then
//! the envelope (one `from`, every `to`) and the RFC 5322 message (reference integrations.md
//! §4.2), written by hand so every byte is decided here and tested without a network:
//!
//! - headers: `Subject` (default `email.default.subject`, Alertmanager's), `To`, `From`, the
//!   configured `headers` (Go canonical names, templated), `Message-Id` (unless configured),
//!   `Date`, threading's `In-Reply-To`/`References`, `MIME-Version`, `Content-Type`. A value with
//!   a character outside printable ASCII is written as RFC 2047 encoded words (`=?utf-8?q?..?=`),
//!   word by word so address headers stay parseable; long values are folded at spaces; a line
//!   break in a value becomes a space (no header injection).
//! - body: `multipart/alternative`, the text part (our `email.default.text` unless `text` is
//!   set; none when `text: ''`) before the HTML part (`email.default.html`), each
//!   quoted-printable with lines of at most 76 characters, so the message is 7-bit and no line
//!   comes near SMTP's 1000-octet limit. Dot-stuffing is the SMTP client's job (lettre).
//!
//! Alertmanager differs on purpose in: header order (Alertmanager's is random), a text part by
//! default (Alertmanager sends HTML only unless `text` is set), folding (Alertmanager writes one
//! line per header whatever its length) and encoding only the words that need it (Alertmanager
//! encodes the whole value, which breaks `To: Jörg <j@example.org>`).

use jiff::Zoned;

use super::super::error::{BuildCause, FailureReason, NotifyError};
use super::super::tmpl::{self, Renderer};
use crate::config::EmailConfig;
use crate::template::{Inline, Templates};

/// The default subject: Alertmanager's.
pub const DEFAULT_SUBJECT: &str = r#"{{ template "email.default.subject" . }}"#;
/// The default text body: ours (Alertmanager sends none).
pub const DEFAULT_TEXT: &str = r#"{{ template "email.default.text" . }}"#;
/// Headers tocsin writes itself and a config may not set (the MIME structure depends on them).
const RESERVED: [&str; 3] = ["Mime-Version", "Content-Type", "Content-Transfer-Encoding"];
/// Longest line of a quoted-printable body, and of a folded header where it can be kept.
const MAX_LINE: usize = 76;

/// How notifications of one group are threaded (`threading:`), if at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threading {
    /// One thread per group.
    Group,
    /// One thread per group and day.
    Daily,
}

/// The templated fields, parsed when the integration is built.
pub struct Fields {
    /// `to` (a comma-separated address list).
    to: Inline,
    /// `from` (one address).
    from: Inline,
    /// Every header, `Subject`, `To` and `From` included, in name order.
    headers: Vec<(String, Inline)>,
    /// The HTML body, if any.
    html: Option<Inline>,
    /// The text body, if any.
    text: Option<Inline>,
    /// `threading:`.
    threading: Option<Threading>,
}

/// Parses a config field's template.
fn parse(templates: &Templates, field: &str, text: &str, html: bool) -> Result<Inline, BuildCause> {
    templates
        .parse_inline_named(field, text, html)
        .map_err(|source| BuildCause::Template {
            field: field.to_owned(),
            source: Box::new(source),
        })
}

/// Whether a header name is one RFC 5322 allows (printable ASCII, no colon).
fn valid_header_name(n: &str) -> bool {
    !n.is_empty() && n.bytes().all(|b| (33..=126).contains(&b) && b != b':')
}

impl Fields {
    /// Parses every templated field (a broken one fails the config load, naming the field).
    pub fn parse(c: &EmailConfig, templates: &Templates) -> Result<Fields, BuildCause> {
        let from = c.from.as_deref().ok_or(BuildCause::Missing(
            "email_config needs from or global.smtp_from",
        ))?;
        let mut names: Vec<(String, String)> = c
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (name, default) in [
            ("Subject", DEFAULT_SUBJECT),
            ("To", c.to.as_str()),
            ("From", from),
        ] {
            if !c.headers.contains_key(name) {
                names.push((name.to_owned(), default.to_owned()));
            }
        }
        names.sort();
        let mut headers = Vec::with_capacity(names.len());
        for (name, text) in names {
            if !valid_header_name(&name) {
                return Err(BuildCause::Invalid(format!(
                    "headers: {name:?} is not a valid header name"
                )));
            }
            if RESERVED.contains(&name.as_str()) {
                return Err(BuildCause::Invalid(format!(
                    "headers: {name} is written by tocsin (the message is multipart/alternative) \
                     and cannot be set"
                )));
            }
            let t = parse(templates, &format!("headers.{name}"), &text, false)?;
            headers.push((name, t));
        }
        let text = c.text.as_deref().unwrap_or(DEFAULT_TEXT);
        let fields = Fields {
            to: tmpl::parse(templates, "to", &c.to)?,
            from: tmpl::parse(templates, "from", from)?,
            headers,
            html: (!c.html.is_empty())
                .then(|| parse(templates, "html", &c.html, true))
                .transpose()?,
            text: (!text.is_empty())
                .then(|| parse(templates, "text", text, false))
                .transpose()?,
            threading: c.threading.as_ref().filter(|t| t.enabled).map(|t| {
                match t.thread_by_date.as_deref() {
                    Some("daily") => Threading::Daily,
                    _ => Threading::Group,
                }
            }),
        };
        if fields.html.is_none() && fields.text.is_none() {
            return Err(BuildCause::Invalid(
                "html and text are both empty: the message would have no body".to_owned(),
            ));
        }
        Ok(fields)
    }
}

/// What varies between two sends of the same content.
pub struct Meta<'a> {
    /// The send time, in the zone the `Date` header is written in.
    pub now: Zoned,
    /// The `Message-Id` (with its angle brackets), unless the config sets one.
    pub message_id: String,
    /// The multipart boundary (random, so no body can contain it).
    pub boundary: String,
    /// The group key (threading).
    pub group_key: &'a str,
}

/// One rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The envelope sender (`MAIL FROM`).
    pub from: String,
    /// The envelope recipients (`RCPT TO`), in order.
    pub to: Vec<String>,
    /// The whole message, CRLF line ends, 7-bit.
    pub message: Vec<u8>,
}

/// Renders the message of one notification. Template and address errors are permanent (the
/// same data fails again).
pub fn render(f: &Fields, r: &Renderer<'_>, meta: &Meta<'_>) -> Result<Mail, NotifyError> {
    let bad = |what: &str, e: String| {
        NotifyError::permanent(
            FailureReason::Other,
            format!("parsing {what} addresses: {e}"),
        )
    };
    let from = parse_address_list(&r.text("from", &f.from)?).map_err(|e| bad("'from'", e))?;
    if from.len() != 1 {
        return Err(NotifyError::permanent(
            FailureReason::Other,
            format!("must be exactly one 'from' address (got: {})", from.len()),
        ));
    }
    let to = parse_address_list(&r.text("to", &f.to)?).map_err(|e| bad("'to'", e))?;
    if to.is_empty() {
        return Err(bad("'to'", "no address".to_owned()));
    }

    let mut m = String::with_capacity(8192);
    let mut has_id = false;
    let mut has_date = false;
    for (name, t) in &f.headers {
        let v = r.text(&format!("headers.{name}"), t)?;
        has_id |= name == "Message-Id";
        has_date |= name == "Date";
        m.push_str(&header_line(name, &v));
    }
    if !has_id {
        m.push_str(&header_line("Message-Id", &meta.message_id));
    }
    if !has_date {
        let date = meta.now.strftime("%a, %d %b %Y %H:%M:%S %z").to_string();
        m.push_str(&header_line("Date", &date));
    }
    if let Some(t) = f.threading {
        let id = thread_id(meta.group_key, t, &meta.now);
        m.push_str(&header_line("In-Reply-To", &id));
        m.push_str(&header_line("References", &id));
    }
    m.push_str("MIME-Version: 1.0\r\n");
    m.push_str(&format!(
        "Content-Type: multipart/alternative; boundary=\"{}\"\r\n\r\n",
        meta.boundary
    ));
    for (t, ctype, field) in [
        (&f.text, "text/plain", "text"),
        (&f.html, "text/html", "html"),
    ] {
        if let Some(t) = t {
            let body = r.text(field, t)?;
            m.push_str(&format!(
                "--{}\r\nContent-Type: {ctype}; charset=UTF-8\r\n\
                 Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                meta.boundary
            ));
            m.push_str(&qp_encode(&body));
            m.push_str("\r\n");
        }
    }
    m.push_str(&format!("--{}--\r\n", meta.boundary));
    Ok(Mail {
        from: from.into_iter().next().unwrap_or_default(),
        to,
        message: m.into_bytes(),
    })
}

/// The thread's message id: `<alert-` and the first 16 hex digits of the group key's sha256,
/// `-` and the day (with `thread_by_date: daily`), `@alertmanager>`, as Alertmanager 0.30 writes it.
pub fn thread_id(group_key: &str, t: Threading, now: &Zoned) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, group_key.as_bytes());
    let hex: String = d.as_ref()[..8].iter().map(|b| format!("{b:02x}")).collect();
    let day = match t {
        Threading::Daily => now.strftime("%Y-%m-%d").to_string(),
        Threading::Group => String::new(),
    };
    format!("<alert-{hex}-{day}@alertmanager>")
}

/// Whether a word can stand in a header as it is.
fn plain_word(w: &str) -> bool {
    w.len() <= 900 && w.bytes().all(|b| (33..=126).contains(&b))
}

/// RFC 2047 `Q` encoded words for `s` (UTF-8), each at most 60 characters (RFC 2047 allows
/// 75: shorter words keep `Name: word` within 78 characters), never splitting a character. Only letters, digits and `!*+-/` stay as they are (safe in every header context).
fn encoded_words(s: &str) -> Vec<String> {
    const OPEN: &str = "=?utf-8?q?";
    const ROOM: usize = 60 - OPEN.len() - 2;
    let mut words = Vec::new();
    let mut cur = String::new();
    for ch in s.chars() {
        let mut enc = String::new();
        if ch == ' ' {
            enc.push('_');
        } else if ch.is_ascii_alphanumeric() || "!*+-/".contains(ch) {
            enc.push(ch);
        } else {
            let mut buf = [0u8; 4];
            for b in ch.encode_utf8(&mut buf).bytes() {
                enc.push_str(&format!("={b:02X}"));
            }
        }
        if cur.len() + enc.len() > ROOM {
            words.push(format!("{OPEN}{cur}?="));
            cur.clear();
        }
        cur.push_str(&enc);
    }
    if !cur.is_empty() || words.is_empty() {
        words.push(format!("{OPEN}{cur}?="));
    }
    words
}

/// One header line (`Name: value\r\n`), the value encoded where needed and folded at spaces.
pub fn header_line(name: &str, value: &str) -> String {
    let value: String = value
        .chars()
        .map(|c| {
            if matches!(c, '\r' | '\n' | '\t') {
                ' '
            } else {
                c
            }
        })
        .collect();
    // Tokens: plain words as they are, runs of words needing encoding as encoded words (the
    // space between two encoded words is dropped by readers, so a run keeps its spaces inside).
    let mut tokens: Vec<String> = Vec::new();
    let mut run: Vec<&str> = Vec::new();
    for w in value.split(' ').filter(|w| !w.is_empty()) {
        if plain_word(w) {
            if !run.is_empty() {
                tokens.extend(encoded_words(&run.join(" ")));
                run.clear();
            }
            tokens.push(w.to_owned());
        } else {
            run.push(w);
        }
    }
    if !run.is_empty() {
        tokens.extend(encoded_words(&run.join(" ")));
    }
    let mut out = format!("{name}:");
    let mut line = out.len();
    for t in tokens {
        if line + 1 + t.len() > MAX_LINE + 2 && line > name.len() + 1 {
            out.push_str("\r\n");
            line = 0;
        }
        out.push(' ');
        out.push_str(&t);
        line += 1 + t.len();
    }
    out.push_str("\r\n");
    out
}

/// Quoted-printable (RFC 2045 §6.7) of UTF-8 text: line breaks (LF or CRLF) become CRLF, lines
/// are cut with soft breaks at 76 characters, `=`, controls, non-ASCII bytes and whitespace at
/// a line end are encoded.
pub fn qp_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let lines: Vec<&str> = text.split('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let bytes = line.as_bytes();
        let mut width = 0;
        for (j, &b) in bytes.iter().enumerate() {
            let last = j + 1 == bytes.len();
            let literal =
                ((b == b' ' || b == b'\t') && !last) || ((33..=126).contains(&b) && b != b'=');
            let len = if literal { 1 } else { 3 };
            // Keep room for the soft break's `=` unless this is the line's last character.
            let limit = if last { MAX_LINE } else { MAX_LINE - 1 };
            if width + len > limit {
                out.push_str("=\r\n");
                width = 0;
            }
            if literal {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("={b:02X}"));
            }
            width += len;
        }
        if i + 1 < lines.len() {
            out.push_str("\r\n");
        }
    }
    out
}

/// The addresses (`local@domain`) of an RFC 5322 address list: `a@example.org`, `Name
/// <a@example.org>`, `"Last, First" <a@example.org>`, comments in parentheses, separated by
/// commas. Each is checked as lettre checks an envelope address.
pub fn parse_address_list(s: &str) -> Result<Vec<String>, String> {
    let mut items = Vec::new();
    let (mut cur, mut quoted, mut angle, mut comment) = (String::new(), false, false, 0u32);
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' if quoted || comment > 0 => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                continue;
            }
            '"' if comment == 0 => quoted = !quoted,
            '(' if !quoted => comment += 1,
            ')' if !quoted && comment > 0 => {
                comment -= 1;
                continue;
            }
            '<' if !quoted && comment == 0 => angle = true,
            '>' if !quoted && comment == 0 => angle = false,
            ',' if !quoted && !angle && comment == 0 => {
                items.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        if comment == 0 && c != '(' {
            cur.push(c);
        }
    }
    if quoted || angle || comment > 0 {
        return Err(format!("unclosed quote, angle bracket or comment in {s:?}"));
    }
    items.push(cur);
    if items.len() == 1 && items[0].trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let item = item.trim();
        let addr = match (item.rfind('<'), item.ends_with('>')) {
            (Some(i), true) => &item[i + 1..item.len() - 1],
            (None, false) => item,
            _ => return Err(format!("no angle-addr in {item:?}")),
        };
        let addr = addr.trim();
        if addr.is_empty() {
            return Err(format!("no address in {item:?}"));
        }
        addr.parse::<lettre::Address>()
            .map_err(|e| format!("{addr:?}: {e}"))?;
        out.push(addr.to_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes quoted-printable, checking the line limit on the way.
    fn qp_decode(s: &str) -> String {
        let mut out = Vec::new();
        for line in s.split("\r\n") {
            assert!(line.len() <= MAX_LINE, "line of {}: {line:?}", line.len());
            assert!(!line.contains('\n') && !line.contains('\r'), "{line:?}");
            let (body, soft) = match line.strip_suffix('=') {
                Some(b) => (b, true),
                None => (line, false),
            };
            assert!(!body.ends_with(' ') || soft, "trailing space: {line:?}");
            let b = body.as_bytes();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'=' {
                    out.push(u8::from_str_radix(&body[i + 1..i + 3], 16).unwrap());
                    i += 3;
                } else {
                    out.push(b[i]);
                    i += 1;
                }
            }
            if !soft {
                out.extend_from_slice(b"\n");
            }
        }
        out.pop();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn quoted_printable_round_trips_with_short_lines() {
        for text in [
            "",
            "plain",
            "a = b\nend with space \nend with tab\t",
            "crlf\r\nlines\r\n",
            "Grüße, 日本語 and emoji 🔥 ".repeat(20).as_str(),
            &"x".repeat(300),
            &format!("{}=\n{}", "y".repeat(74), "=".repeat(80)),
            ".leading dot\n..two",
        ] {
            let enc = qp_encode(text);
            assert!(enc.is_ascii(), "{enc}");
            assert_eq!(qp_decode(&enc), text.replace("\r\n", "\n"), "{enc}");
        }
        assert_eq!(qp_encode("a=b\n"), "a=3Db\r\n");
        assert_eq!(qp_encode("end "), "end=20");
        let long = qp_encode(&"x".repeat(80));
        assert_eq!(long, format!("{}=\r\n{}", "x".repeat(75), "x".repeat(5)));
    }

    #[test]
    fn headers_are_encoded_word_by_word_and_folded() {
        assert_eq!(
            header_line("Subject", "[FIRING:1] DiskFull"),
            "Subject: [FIRING:1] DiskFull\r\n"
        );
        assert_eq!(
            header_line("To", "Jörg Müller <j@example.org>, b@example.org"),
            "To: =?utf-8?q?J=C3=B6rg_M=C3=BCller?= <j@example.org>, b@example.org\r\n"
        );
        // No header injection: a line break in a value is a space.
        assert_eq!(
            header_line("Subject", "a\r\nBcc: x@example.org"),
            "Subject: a Bcc: x@example.org\r\n"
        );
        let long = header_line("Subject", &"word ".repeat(40));
        for l in long.trim_end().split("\r\n") {
            assert!(l.len() <= 78, "{l:?}");
        }
        assert!(long.starts_with("Subject: word word"));
        assert_eq!(long.matches("word").count(), 40);
        let utf = header_line("Subject", &"ü".repeat(100));
        for l in utf.trim_end().split("\r\n") {
            assert!(l.len() <= 78, "{l:?}");
            assert!(l.is_ascii());
        }
        assert_eq!(utf.matches("=C3=BC").count(), 100);
    }

    #[test]
    fn address_lists_as_go_parses_them() {
        let ok = |s: &str| parse_address_list(s).unwrap();
        assert_eq!(ok("a@example.org"), vec!["a@example.org"]);
        assert_eq!(
            ok("Ops <ops@example.org>, \"Last, First\" <f@example.org>,b@example.org (bee)"),
            vec!["ops@example.org", "f@example.org", "b@example.org"]
        );
        assert!(ok("").is_empty());
        for bad in [
            "a@",
            "not an address",
            "<a@example.org",
            "a@example.org,",
            "x <>",
        ] {
            assert!(parse_address_list(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn thread_ids_as_alertmanager() {
        let now: Zoned = "2026-03-01T10:00:00+00:00[UTC]".parse().unwrap();
        let g = "{}:{alertname=\"DiskFull\"}";
        let id = thread_id(g, Threading::Group, &now);
        assert!(
            id.starts_with("<alert-") && id.ends_with("-@alertmanager>"),
            "{id}"
        );
        assert_eq!(id.len(), "<alert-".len() + 16 + "-@alertmanager>".len());
        let daily = thread_id(g, Threading::Daily, &now);
        assert!(daily.ends_with("-2026-03-01@alertmanager>"), "{daily}");
    }
}
