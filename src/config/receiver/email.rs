//! `email_configs`: SMTP email, with the `global.smtp_*` defaults inherited.
//! Imports: std, serde, the parent config modules.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::de::zero;

use crate::config::global::GlobalConfig;
use crate::config::http::TlsConfig;
use crate::config::secret::Secret;
use crate::config::validate::{Ctx, both_set, host_port_problem};
use crate::model::Duration;

fn d_html() -> String {
    r#"{{ template "email.default.html" . }}"#.to_owned()
}

/// One email destination.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// Notify about resolved alerts (default false).
    #[serde(default, deserialize_with = "zero")]
    pub send_resolved: bool,
    /// Recipients, comma-separated (template). Required.
    #[serde(default, deserialize_with = "zero")]
    pub to: String,
    /// Sender (default `global.smtp_from`; required one way or the other).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// HELO/EHLO name (default `global.smtp_hello`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hello: Option<String>,
    /// SMTP server `host:port` (default `global.smtp_smarthost`; required one way or the other).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smarthost: Option<String>,
    /// SMTP user name (default `global.smtp_auth_username`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_username: Option<String>,
    /// SMTP password (default `global.smtp_auth_password`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_password: Option<Secret<String>>,
    /// File holding the SMTP password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_password_file: Option<PathBuf>,
    /// CRAM-MD5 secret (default `global.smtp_auth_secret`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_secret: Option<Secret<String>>,
    /// File holding the CRAM-MD5 secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_secret_file: Option<PathBuf>,
    /// PLAIN auth identity (default `global.smtp_auth_identity`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_identity: Option<String>,
    /// Extra headers (templates); names are compared and stored in Go's canonical MIME form
    /// (`reply-to` is `Reply-To`).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub headers: BTreeMap<String, String>,
    /// HTML body (template; default `email.default.html`).
    #[serde(default = "d_html", deserialize_with = "zero")]
    pub html: String,
    /// Text body (template; default none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Require STARTTLS (default `global.smtp_require_tls`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_tls: Option<bool>,
    /// TLS settings (default `global.smtp_tls_config`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_config: Option<TlsConfig>,
    /// Implicit TLS (SMTPS); unset means "port 465 only" (0.31+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_implicit_tls: Option<bool>,
    /// Thread notifications of one group into one conversation (0.30+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threading: Option<EmailThreading>,
    /// How long one send may take, from connecting to the server's answer to the message
    /// (tocsin extension); 0 means the pipeline's deadline (the group interval, at least 10 s),
    /// with one minute per connection and command.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "crate::config::validate::is_zero"
    )]
    pub timeout: Duration,
    /// Send rate override per smarthost (tocsin extension; see `RateLimitConfig`; no limit by
    /// default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<super::RateLimitConfig>,
}

/// Email threading settings.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EmailThreading {
    /// Whether threading is on.
    #[serde(default, deserialize_with = "zero")]
    pub enabled: bool,
    /// `daily` (a new thread each day) or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_by_date: Option<String>,
}

/// Go's `textproto.CanonicalMIMEHeaderKey`, which Alertmanager compares header names in: the
/// first letter and every letter after `-` upper-cased, the others lower-cased (`subject` and
/// `SUBJECT` are both `Subject`); a name with a byte outside the HTTP token set (a space, say)
/// is left as written.
fn canonical_header(h: &str) -> String {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if !h.bytes().all(token) {
        return h.to_owned();
    }
    let mut upper = true;
    h.bytes()
        .map(|b| {
            let c = if upper {
                b.to_ascii_uppercase()
            } else {
                b.to_ascii_lowercase()
            };
            upper = c == b'-';
            char::from(c)
        })
        .collect()
}

impl EmailConfig {
    pub(crate) fn validate(&mut self, ctx: &mut Ctx<'_>, path: &str, g: &GlobalConfig) {
        if self.to.is_empty() {
            ctx.error(path, "missing to address in email config");
        }
        both_set(
            ctx,
            path,
            "auth_password",
            self.auth_password.is_some(),
            "auth_password_file",
            self.auth_password_file.is_some(),
        );
        both_set(
            ctx,
            path,
            "auth_secret",
            self.auth_secret.is_some(),
            "auth_secret_file",
            self.auth_secret_file.is_some(),
        );
        let mut headers = BTreeMap::new();
        for (h, v) in std::mem::take(&mut self.headers) {
            let n = canonical_header(&h);
            if headers.insert(n.clone(), v).is_some() {
                ctx.error(
                    &format!("{path}.headers"),
                    format!("duplicate header {n:?} in email config"),
                );
            }
        }
        self.headers = headers;
        match &self.smarthost {
            Some(s) => {
                if let Some(e) = host_port_problem(s) {
                    ctx.error(&format!("{path}.smarthost"), e);
                }
            }
            None => match &g.smtp_smarthost {
                Some(s) => self.smarthost = Some(s.clone()),
                None => ctx.error(path, "no global SMTP smarthost set"),
            },
        }
        if self.from.is_none() {
            match &g.smtp_from {
                Some(s) => self.from = Some(s.clone()),
                None => ctx.error(path, "no global SMTP from set"),
            }
        }
        if let Some(r) = &self.rate_limit {
            r.validate(ctx, &format!("{path}.rate_limit"));
        }
        if self.threading.as_ref().is_some_and(|t| t.enabled) {
            for h in ["In-Reply-To", "References"] {
                if self.headers.contains_key(h) {
                    ctx.error(
                        &format!("{path}.headers"),
                        format!("the {h} header conflicts with threading: it is set by threading"),
                    );
                }
            }
        }
        if let Some(t) = &self.threading
            && let Some(d) = &t.thread_by_date
            && !["daily", "none", ""].contains(&d.as_str())
        {
            ctx.error(
                &format!("{path}.threading.thread_by_date"),
                format!("invalid thread_by_date {d:?}, want daily or none"),
            );
        }
        self.hello.get_or_insert_with(|| g.smtp_hello.clone());
        if self.auth_username.is_none() {
            self.auth_username.clone_from(&g.smtp_auth_username);
        }
        if self.auth_password.is_none() && self.auth_password_file.is_none() {
            self.auth_password.clone_from(&g.smtp_auth_password);
            self.auth_password_file
                .clone_from(&g.smtp_auth_password_file);
        }
        if self.auth_secret.is_none() && self.auth_secret_file.is_none() {
            self.auth_secret.clone_from(&g.smtp_auth_secret);
            self.auth_secret_file.clone_from(&g.smtp_auth_secret_file);
        }
        if self.auth_identity.is_none() {
            self.auth_identity.clone_from(&g.smtp_auth_identity);
        }
        self.require_tls.get_or_insert(g.smtp_require_tls);
        if let Some(t) = &mut self.tls_config {
            t.validate(ctx, &format!("{path}.tls_config"));
        } else {
            self.tls_config.clone_from(&g.smtp_tls_config);
        }
        if self.force_implicit_tls.is_none() {
            self.force_implicit_tls = g.smtp_force_implicit_tls;
        }
        ctx.resolve_opt(&mut self.auth_password_file);
        ctx.resolve_opt(&mut self.auth_secret_file);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn canonical_mime_header_keys_as_go() {
        use super::canonical_header as c;
        assert_eq!(c("subject"), "Subject");
        assert_eq!(c("x-mailer-id"), "X-Mailer-Id");
        assert_eq!(c("REPLY-TO"), "Reply-To");
        assert_eq!(c("x_custom"), "X_custom");
        assert_eq!(c("with space"), "with space");
        assert_eq!(c("Ünicode"), "Ünicode");
    }
}
