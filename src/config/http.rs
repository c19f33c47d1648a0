//! `http_config`: the HTTP client settings every HTTP integration takes (Prometheus's common
//! `HTTPClientConfig`), with Alertmanager's defaults (`follow_redirects` and `enable_http2` true)
//! and its checks (one auth method, not both a secret and its `_file`).
//! Imports: std, serde, and the sibling `secret` and `validate` modules.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize};

use super::de::zero;

use super::secret::Secret;
use super::validate::{Ctx, both_set, check_proxy_url};

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

/// HTTP client settings of an integration (or of `global.http_config`, their default).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// HTTP basic authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    /// The `Authorization` header (`type` + `credentials`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Authorization>,
    /// OAuth 2.0 client credentials (parsed; tocsin does not fetch tokens yet, reported as a
    /// warning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth2: Option<OAuth2>,
    /// Deprecated form of `authorization` with type Bearer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token: Option<Secret<String>>,
    /// File holding the bearer token (relative to the config file's directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token_file: Option<PathBuf>,
    /// TLS settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_config: Option<TlsConfig>,
    /// Proxy URL (`http://proxy:3128`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_url: Option<String>,
    /// Comma-separated hosts, IPs and CIDRs that bypass the proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_proxy: Option<String>,
    /// Take the proxy from `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY`.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub proxy_from_environment: bool,
    /// Headers sent to the proxy on CONNECT (values are secrets).
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub proxy_connect_header: BTreeMap<String, Vec<Secret<String>>>,
    /// Follow HTTP 3xx redirects (default true).
    #[serde(default = "yes", deserialize_with = "zero")]
    pub follow_redirects: bool,
    /// Allow HTTP/2 (default true).
    #[serde(
        default = "yes",
        deserialize_with = "zero",
        skip_serializing_if = "is_true"
    )]
    pub enable_http2: bool,
    /// Extra headers on every request.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub http_headers: BTreeMap<String, HttpHeader>,
    /// Whether the integration set its own `http_config` (otherwise the global one applies).
    #[serde(skip)]
    pub explicit: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            basic_auth: None,
            authorization: None,
            oauth2: None,
            bearer_token: None,
            bearer_token_file: None,
            tls_config: None,
            proxy_url: None,
            no_proxy: None,
            proxy_from_environment: false,
            proxy_connect_header: BTreeMap::new(),
            follow_redirects: true,
            enable_http2: true,
            http_headers: BTreeMap::new(),
            explicit: false,
        }
    }
}

/// Deserializes an integration's own `http_config`, remembering that it was given.
/// A null `http_config:` is no own config (Go's nil pointer), so the global one applies.
pub(crate) fn explicit<'de, D: Deserializer<'de>>(d: D) -> Result<HttpConfig, D::Error> {
    Ok(match Option::<HttpConfig>::deserialize(d)? {
        Some(mut c) => {
            c.explicit = true;
            c
        }
        None => HttpConfig::default(),
    })
}

/// HTTP basic authentication.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// The user name.
    #[serde(default, deserialize_with = "zero")]
    pub username: String,
    /// File holding the user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_file: Option<PathBuf>,
    /// The password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret<String>>,
    /// File holding the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
}

/// The `Authorization` header.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    /// The scheme (default `Bearer`; `Basic` is refused: use `basic_auth`).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Secret<String>>,
    /// File holding the credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_file: Option<PathBuf>,
}

/// OAuth 2.0 client-credentials settings.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2 {
    /// The client ID.
    #[serde(default, deserialize_with = "zero")]
    pub client_id: String,
    /// The client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<Secret<String>>,
    /// File holding the client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_file: Option<PathBuf>,
    /// Requested scopes.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub scopes: Vec<String>,
    /// The token endpoint.
    #[serde(default, deserialize_with = "zero")]
    pub token_url: String,
    /// Extra parameters for the token request.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub endpoint_params: BTreeMap<String, String>,
    /// TLS settings for the token endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_config: Option<TlsConfig>,
    /// Proxy for the token endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_url: Option<String>,
    /// Hosts that bypass the proxy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_proxy: Option<String>,
    /// Take the proxy from the environment.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub proxy_from_environment: bool,
    /// Headers sent to the proxy on CONNECT.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub proxy_connect_header: BTreeMap<String, Vec<Secret<String>>>,
}

/// TLS settings.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM CA certificates, inline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
    /// File with PEM CA certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// Client certificate, inline PEM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<String>,
    /// File with the client certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<PathBuf>,
    /// Client key, inline PEM (a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Secret<String>>,
    /// File with the client key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    /// The name the server's certificate is verified for instead of the host dialled. Email
    /// and the cluster also send it as SNI; HTTP receivers send the URL's host, as reqwest
    /// allows no other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// Skip certificate verification (dangerous).
    #[serde(default, deserialize_with = "zero")]
    pub insecure_skip_verify: bool,
    /// Minimum TLS version (`TLS12`, `TLS13`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_version: Option<String>,
    /// Maximum TLS version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_version: Option<String>,
}

/// One extra header: plain values, secret values, or values read from files.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpHeader {
    /// Plain values.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub values: Vec<String>,
    /// Secret values.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub secrets: Vec<Secret<String>>,
    /// Files whose contents are values.
    #[serde(
        default,
        deserialize_with = "zero",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub files: Vec<PathBuf>,
}

const TLS_VERSIONS: &[&str] = &["TLS10", "TLS11", "TLS12", "TLS13"];

impl TlsConfig {
    pub(crate) fn validate(&mut self, ctx: &mut Ctx<'_>, path: &str) {
        both_set(
            ctx,
            path,
            "ca",
            self.ca.is_some(),
            "ca_file",
            self.ca_file.is_some(),
        );
        both_set(
            ctx,
            path,
            "cert",
            self.cert.is_some(),
            "cert_file",
            self.cert_file.is_some(),
        );
        both_set(
            ctx,
            path,
            "key",
            self.key.is_some(),
            "key_file",
            self.key_file.is_some(),
        );
        let has_cert = self.cert.is_some() || self.cert_file.is_some();
        let has_key = self.key.is_some() || self.key_file.is_some();
        if has_cert != has_key {
            ctx.error(
                path,
                "exactly one of key or cert was specified; both or neither are needed",
            );
        }
        for (k, v) in [
            ("min_version", &self.min_version),
            ("max_version", &self.max_version),
        ] {
            if let Some(v) = v
                && !TLS_VERSIONS.contains(&v.as_str())
            {
                ctx.error(&format!("{path}.{k}"), format!("unknown TLS version: {v}"));
            }
        }
        for f in [&mut self.ca_file, &mut self.cert_file, &mut self.key_file] {
            ctx.resolve_opt(f);
        }
    }
}

impl HttpConfig {
    /// Whether requests carry an `Authorization` header of this config's own: `authorization`,
    /// or the `bearer_token(_file)` that Prometheus's client turns into one.
    pub fn has_authorization(&self) -> bool {
        self.authorization.is_some()
            || self
                .bearer_token
                .as_ref()
                .is_some_and(|t| !t.expose().is_empty())
            || self
                .bearer_token_file
                .as_ref()
                .is_some_and(|f| !f.as_os_str().is_empty())
    }

    /// Alertmanager's checks, and relative file paths resolved against the config directory.
    pub(crate) fn validate(&mut self, ctx: &mut Ctx<'_>, path: &str) {
        let p = |k: &str| format!("{path}.{k}");
        let bearer = self.bearer_token.is_some() || self.bearer_token_file.is_some();
        both_set(
            ctx,
            path,
            "bearer_token",
            self.bearer_token.is_some(),
            "bearer_token_file",
            self.bearer_token_file.is_some(),
        );
        let methods = [
            self.basic_auth.is_some(),
            self.authorization.is_some(),
            self.oauth2.is_some(),
            bearer,
        ];
        if methods.iter().filter(|b| **b).count() > 1 {
            ctx.error(
                path,
                "at most one of basic_auth, authorization, oauth2, bearer_token & bearer_token_file must be configured",
            );
        }
        if let Some(b) = &mut self.basic_auth {
            let bp = p("basic_auth");
            both_set(
                ctx,
                &bp,
                "password",
                b.password.is_some(),
                "password_file",
                b.password_file.is_some(),
            );
            both_set(
                ctx,
                &bp,
                "username",
                !b.username.is_empty(),
                "username_file",
                b.username_file.is_some(),
            );
            ctx.resolve_opt(&mut b.password_file);
            ctx.resolve_opt(&mut b.username_file);
        }
        if let Some(a) = &mut self.authorization {
            let ap = p("authorization");
            if a.kind
                .as_deref()
                .is_some_and(|k| k.eq_ignore_ascii_case("basic"))
            {
                ctx.error(
                    &format!("{ap}.type"),
                    "authorization type cannot be set to \"basic\", use \"basic_auth\" instead",
                );
            }
            both_set(
                ctx,
                &ap,
                "credentials",
                a.credentials.is_some(),
                "credentials_file",
                a.credentials_file.is_some(),
            );
            if a.kind.is_none() {
                a.kind = Some("Bearer".to_owned());
            }
            ctx.resolve_opt(&mut a.credentials_file);
        }
        if let Some(o) = &mut self.oauth2 {
            let op = p("oauth2");
            both_set(
                ctx,
                &op,
                "client_secret",
                o.client_secret.is_some(),
                "client_secret_file",
                o.client_secret_file.is_some(),
            );
            if o.client_id.is_empty() {
                ctx.error(&op, "oauth2 client_id must be configured");
            }
            if o.token_url.is_empty() {
                ctx.error(&op, "oauth2 token_url must be configured");
            }
            ctx.resolve_opt(&mut o.client_secret_file);
            if let Some(t) = &mut o.tls_config {
                t.validate(ctx, &format!("{op}.tls_config"));
            }
        }
        ctx.resolve_opt(&mut self.bearer_token_file);
        if let Some(t) = &mut self.tls_config {
            t.validate(ctx, &p("tls_config"));
        }
        if let Some(u) = &self.proxy_url {
            check_proxy_url(ctx, &p("proxy_url"), u);
            if self.proxy_from_environment {
                ctx.error(
                    path,
                    "if proxy_from_environment is configured, proxy_url must not be configured",
                );
            }
        }
        if self.no_proxy.is_some() && self.proxy_url.is_none() {
            ctx.error(
                path,
                "if no_proxy is configured, proxy_url must also be configured",
            );
        }
        if !self.proxy_connect_header.is_empty()
            && self.proxy_url.is_none()
            && !self.proxy_from_environment
        {
            ctx.error(path, "if proxy_connect_header is configured, proxy_url or proxy_from_environment must also be configured");
        }
        for (name, h) in &mut self.http_headers {
            for f in &mut h.files {
                *f = ctx.resolve(f);
            }
            if [
                "authorization",
                "host",
                "content-length",
                "content-type",
                "user-agent",
                "connection",
                "keep-alive",
                "proxy-authenticate",
                "proxy-authorization",
                "www-authenticate",
            ]
            .contains(&name.to_ascii_lowercase().as_str())
            {
                ctx.error(
                    &p(&format!("http_headers.{name}")),
                    format!("setting header {name:?} is not allowed"),
                );
            }
        }
    }
}
