//! `--web.config.file`: the web configuration file every Prometheus component reads (Prometheus's
//! exporter-toolkit format), so users keep the file they already have: `tls_server_config`,
//! `http_server_config`, `basic_auth_users` (bcrypt hashes), `auth_excluded_paths`,
//! `rate_limit`, plus one tocsin extension, `tocsin_roles` (what each user may do).
//!
//! `cluster_tls.rs` reads Alertmanager's `--cluster.tls-config` file (the same server keys, and
//! a `tls_client_config` as receivers' `tls_config`) into the rustls configs peers use.
//!
//! This module parses and validates the file ([`WebConfig::parse`], [`WebConfig::load`]), builds
//! the rustls server config from it (`tls.rs`; `san.rs` reads a client certificate's names for
//! `client_allowed_sans`), checks passwords (`users.rs`), and re-reads it
//! for each new connection without rebuilding what did not change ([`Loader`]). It never touches
//! a socket. Layer L1: imports L0 and `config` (for `Secret` and `TlsConfig`).

pub mod cluster_tls;
mod san;
pub mod tls;
pub mod users;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::Deserialize;

use crate::config::Secret;
pub use users::{Role, RoleSet, Users};

/// Largest web config file read (the same bound as the main config's).
const MAX_FILE_BYTES: usize = 4 << 20;

/// Why a web config file cannot be used. Messages name the key and never contain a secret.
#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    /// The file (or a file it names) could not be read.
    #[error("{file}: cannot read: {reason}")]
    Read {
        /// The file as named.
        file: String,
        /// The I/O error.
        reason: std::io::Error,
    },
    /// The YAML is not a valid web config (syntax, unknown key, wrong type).
    #[error("{file}:{line}:{column}: {message}")]
    Syntax {
        /// The file as named.
        file: String,
        /// 1-based line, 0 when unknown.
        line: u64,
        /// 1-based column, 0 when unknown.
        column: u64,
        /// What was wrong.
        message: String,
    },
    /// A value is not acceptable.
    #[error("{file}: {key}: {message}")]
    Invalid {
        /// The file as named.
        file: String,
        /// The key (`tls_server_config.min_version`).
        key: String,
        /// What was wrong.
        message: String,
    },
}

/// The file as written (exporter-toolkit's keys, unknown keys refused as its strict parser does).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebConfig {
    tls_server_config: Option<RawTls>,
    http_server_config: Option<RawHttp>,
    basic_auth_users: Option<BTreeMap<String, Secret<String>>>,
    auth_excluded_paths: Option<Vec<String>>,
    rate_limit: Option<RawRateLimit>,
    tocsin_roles: Option<BTreeMap<String, Vec<String>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert: Option<String>,
    key: Option<Secret<String>>,
    client_ca: Option<String>,
    cert_file: Option<String>,
    key_file: Option<String>,
    client_auth_type: Option<String>,
    client_ca_file: Option<String>,
    client_allowed_sans: Option<Vec<String>>,
    min_version: Option<String>,
    max_version: Option<String>,
    cipher_suites: Option<Vec<String>>,
    prefer_server_cipher_suites: Option<bool>,
    curve_preferences: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    http2: Option<bool>,
    headers: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRateLimit {
    burst: Option<u32>,
    interval: Option<String>,
}

/// Where a PEM value comes from: a file (re-read for every new connection) or inline text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pem {
    /// A file, its path resolved against the web config file's folder.
    File(PathBuf),
    /// Inline text from the web config file.
    Inline(Secret<String>),
}

impl Pem {
    /// The bytes (reads the file).
    pub fn read(&self, file: &str, key: &str) -> Result<Vec<u8>, WebConfigError> {
        match self {
            Pem::File(p) => std::fs::read(p).map_err(|e| WebConfigError::Invalid {
                file: file.to_owned(),
                key: key.to_owned(),
                message: format!("cannot read {}: {e}", p.display()),
            }),
            Pem::Inline(s) => Ok(s.expose().as_bytes().to_vec()),
        }
    }
}

/// Go's client authentication policies (`client_auth_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// No client certificate asked for (the default).
    NoClientCert,
    /// Asked for, not required, not verified.
    RequestClientCert,
    /// Required, not verified against a CA (`RequireAnyClientCert`, `RequireClientCert`).
    RequireAnyClientCert,
    /// Verified against the client CA when given.
    VerifyClientCertIfGiven,
    /// Required and verified against the client CA.
    RequireAndVerifyClientCert,
}

/// A TLS protocol version tocsin can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

/// `tls_server_config`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsServer {
    /// The server certificate chain.
    pub cert: Pem,
    /// The server private key.
    pub key: Pem,
    /// CA certificates client certificates are verified against.
    pub client_ca: Option<Pem>,
    /// The client authentication policy.
    pub client_auth: ClientAuth,
    /// Lowest version accepted (default TLS 1.2).
    pub min_version: TlsVersion,
    /// Highest version accepted (default TLS 1.3).
    pub max_version: TlsVersion,
    /// TLS 1.2 cipher suites by Go name, in preference order; empty for rustls's defaults.
    pub cipher_suites: Vec<String>,
    /// Whether the server's cipher order wins (default true).
    pub prefer_server_cipher_suites: bool,
    /// Key exchange groups by Go name, in preference order; empty for rustls's defaults.
    pub curve_preferences: Vec<String>,
    /// `client_allowed_sans`: a client certificate must carry one of these subject alternative
    /// names (DNS name, email, IP address or URI, compared exactly); empty for any.
    pub client_allowed_sans: Vec<String>,
}

/// `rate_limit`: one token bucket for every request (exporter-toolkit's; 429 past it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed at once.
    pub burst: u32,
    /// One more request allowed per interval.
    pub interval: std::time::Duration,
}

/// A validated web config.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// TLS; `None` serves plain HTTP.
    pub tls: Option<TlsServer>,
    /// HTTP/2 over TLS (ALPN `h2`); default true. Plain HTTP is HTTP/1.1 only.
    pub http2: bool,
    /// Headers added to every answer (exporter-toolkit's five security headers).
    pub headers: Vec<(String, String)>,
    /// Basic-auth users and their roles; empty means no authentication.
    pub users: Users,
    /// Paths served without authentication.
    pub auth_excluded_paths: Vec<String>,
    /// The global request rate limit.
    pub rate_limit: Option<RateLimit>,
    /// What is accepted but not acted on as written (a cipher suite rustls lacks, ...).
    pub warnings: Vec<String>,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            tls: None,
            http2: true,
            headers: Vec::new(),
            users: Users::default(),
            auth_excluded_paths: Vec::new(),
            rate_limit: None,
            warnings: Vec::new(),
        }
    }
}

/// exporter-toolkit's configurable headers and, where it restricts them, their values.
const HEADERS: &[(&str, &[&str])] = &[
    ("Strict-Transport-Security", &[]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-XSS-Protection", &[]),
    ("Content-Security-Policy", &[]),
];

impl WebConfig {
    /// Reads and validates the file, and everything it names (certificates, keys, CAs): what
    /// `tocsin check-web-config` and start-up do.
    pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
        let text = read_file(path)?;
        let cfg = Self::parse(&text, path)?;
        if let Some(t) = &cfg.tls {
            tls::server_config(t, cfg.http2, &path.display().to_string())?;
        }
        Ok(cfg)
    }

    /// Parses and validates the text of the file at `path` (relative paths in it are read from
    /// its folder); names no file but `path` in errors and reads none.
    pub fn parse(text: &str, path: &Path) -> Result<WebConfig, WebConfigError> {
        let file = path.display().to_string();
        let dir = path.parent().unwrap_or(Path::new("."));
        let options = serde_saphyr::options! { with_snippet: false };
        let raw: Option<RawWebConfig> = serde_saphyr::from_str_with_options(text, options)
            .map_err(|e| {
                let (line, column) = e
                    .location()
                    .map(|l| (l.line(), l.column()))
                    .unwrap_or((0, 0));
                WebConfigError::Syntax {
                    file: file.clone(),
                    line,
                    column,
                    message: strip_position(&e.without_snippet().to_string()).to_owned(),
                }
            })?;
        let raw = raw.unwrap_or_default();
        let invalid = |key: &str, message: String| WebConfigError::Invalid {
            file: file.clone(),
            key: key.to_owned(),
            message,
        };
        let mut cfg = WebConfig::default();
        if let Some(h) = raw.http_server_config {
            cfg.http2 = h.http2.unwrap_or(true);
            for (k, v) in h.headers.unwrap_or_default() {
                let Some((_, allowed)) = HEADERS.iter().find(|(name, _)| *name == k) else {
                    return Err(invalid(
                        "http_server_config.headers",
                        format!("HTTP header {k:?} can not be configured"),
                    ));
                };
                if !allowed.is_empty() && !allowed.contains(&v.as_str()) {
                    return Err(invalid(
                        &format!("http_server_config.headers.{k}"),
                        format!("invalid value {v:?}; expected one of {allowed:?}"),
                    ));
                }
                // exporter-toolkit leaves a blank value unset.
                if !v.is_empty() {
                    cfg.headers.push((k, v));
                }
            }
        }
        if let Some(t) = raw.tls_server_config {
            cfg.tls = tls_server(t, dir, &mut cfg.warnings).map_err(|(k, m)| invalid(&k, m))?;
        }
        cfg.users = Users::new(
            raw.basic_auth_users.unwrap_or_default(),
            raw.tocsin_roles.unwrap_or_default(),
        )
        .map_err(|(k, m)| invalid(&k, m))?;
        cfg.auth_excluded_paths = raw.auth_excluded_paths.unwrap_or_default();
        if let Some(r) = raw.rate_limit {
            let interval = match r.interval.as_deref() {
                None | Some("") | Some("0") | Some("0s") => None,
                Some(s) => Some(
                    crate::model::Duration::parse(s)
                        .map_err(|e| invalid("rate_limit.interval", e.to_string()))?
                        .std(),
                ),
            };
            if let Some(interval) = interval.filter(|d| !d.is_zero()) {
                cfg.rate_limit = Some(RateLimit {
                    burst: r.burst.unwrap_or(0),
                    interval,
                });
            }
        }
        Ok(cfg)
    }

    /// Whether requests must authenticate.
    pub fn auth_enabled(&self) -> bool {
        !self.users.is_empty()
    }
}

/// serde-saphyr's messages end with `at line N, column M`, which the error already carries.
fn strip_position(msg: &str) -> &str {
    match msg.rfind(" at line ") {
        Some(i) if msg[i..].contains(", column ") => &msg[..i],
        _ => msg,
    }
}

fn read_file(path: &Path) -> Result<String, WebConfigError> {
    let read_err = |reason| WebConfigError::Read {
        file: path.display().to_string(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(read_err)?;
    if bytes.len() > MAX_FILE_BYTES {
        return Err(WebConfigError::Invalid {
            file: path.display().to_string(),
            key: String::new(),
            message: format!("the file is larger than {MAX_FILE_BYTES} bytes"),
        });
    }
    String::from_utf8(bytes).map_err(|_| WebConfigError::Invalid {
        file: path.display().to_string(),
        key: String::new(),
        message: "the file is not UTF-8 text".into(),
    })
}

fn version(
    key: &str,
    v: Option<&str>,
    default: TlsVersion,
) -> Result<TlsVersion, (String, String)> {
    match v {
        None | Some("") => Ok(default),
        Some("TLS13") => Ok(TlsVersion::Tls13),
        Some("TLS12") => Ok(TlsVersion::Tls12),
        Some("TLS11") | Some("TLS10") => Err((
            key.to_owned(),
            format!(
                "{} is not supported by tocsin (rustls serves TLS12 and TLS13 only)",
                v.unwrap_or_default()
            ),
        )),
        Some(other) => Err((key.to_owned(), format!("unknown TLS version: {other}"))),
    }
}

fn tls_server(
    t: RawTls,
    dir: &Path,
    warnings: &mut Vec<String>,
) -> Result<Option<TlsServer>, (String, String)> {
    let k = |s: &str| format!("tls_server_config.{s}");
    let set = |o: &Option<String>| o.as_deref().is_some_and(|s| !s.is_empty());
    let enabled = set(&t.cert)
        || set(&t.cert_file)
        || t.key.as_ref().is_some_and(|s| !s.expose().is_empty())
        || set(&t.key_file)
        || set(&t.client_ca)
        || set(&t.client_ca_file)
        || set(&t.client_auth_type);
    if !enabled {
        return Ok(None);
    }
    let join = |p: &str| {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            dir.join(p)
        }
    };
    let cert = match (
        t.cert.filter(|s| !s.is_empty()),
        t.cert_file.filter(|s| !s.is_empty()),
    ) {
        (Some(_), Some(_)) => {
            return Err((
                k("cert"),
                "cert and cert_file are mutually exclusive".into(),
            ));
        }
        (Some(c), None) => Pem::Inline(Secret::new(c)),
        (None, Some(f)) => Pem::File(join(&f)),
        (None, None) => return Err((k("cert_file"), "missing one of cert or cert_file".into())),
    };
    let key = match (
        t.key.filter(|s| !s.expose().is_empty()),
        t.key_file.filter(|s| !s.is_empty()),
    ) {
        (Some(_), Some(_)) => {
            return Err((k("key"), "key and key_file are mutually exclusive".into()));
        }
        (Some(c), None) => Pem::Inline(c),
        (None, Some(f)) => Pem::File(join(&f)),
        (None, None) => return Err((k("key_file"), "missing one of key or key_file".into())),
    };
    let client_ca = match (
        t.client_ca.filter(|s| !s.is_empty()),
        t.client_ca_file.filter(|s| !s.is_empty()),
    ) {
        (Some(_), Some(_)) => {
            return Err((
                k("client_ca"),
                "client_ca and client_ca_file are mutually exclusive".into(),
            ));
        }
        (Some(c), None) => Some(Pem::Inline(Secret::new(c))),
        (None, Some(f)) => Some(Pem::File(join(&f))),
        (None, None) => None,
    };
    let client_auth = match t.client_auth_type.as_deref().unwrap_or("") {
        "" | "NoClientCert" => ClientAuth::NoClientCert,
        "RequestClientCert" => ClientAuth::RequestClientCert,
        "RequireAnyClientCert" | "RequireClientCert" => ClientAuth::RequireAnyClientCert,
        "VerifyClientCertIfGiven" => ClientAuth::VerifyClientCertIfGiven,
        "RequireAndVerifyClientCert" => ClientAuth::RequireAndVerifyClientCert,
        other => {
            return Err((
                k("client_auth_type"),
                format!("invalid ClientAuth: {other}"),
            ));
        }
    };
    if client_ca.is_some() && client_auth == ClientAuth::NoClientCert {
        return Err((
            k("client_ca_file"),
            "client CA's have been configured without a Client Auth Policy".into(),
        ));
    }
    if matches!(
        client_auth,
        ClientAuth::VerifyClientCertIfGiven | ClientAuth::RequireAndVerifyClientCert
    ) && client_ca.is_none()
    {
        return Err((
            k("client_ca_file"),
            "client_auth_type verifies client certificates, so it needs client_ca_file or client_ca"
                .into(),
        ));
    }
    let client_allowed_sans = t.client_allowed_sans.unwrap_or_default();
    if !client_allowed_sans.is_empty() && client_auth == ClientAuth::NoClientCert {
        // Go never asks for a certificate then, so the list is never looked at.
        warnings.push(format!(
            "{}: no client certificate is asked for (client_auth_type), so it is not checked",
            k("client_allowed_sans")
        ));
    }
    let min_version = version(
        &k("min_version"),
        t.min_version.as_deref(),
        TlsVersion::Tls12,
    )
    .or_else(|e| {
        // An older minimum only widens what Go would accept; serving 1.2+ is stricter.
        if matches!(t.min_version.as_deref(), Some("TLS10") | Some("TLS11")) {
            warnings.push(format!("{}: {}; TLS12 is the minimum served", e.0, e.1));
            Ok(TlsVersion::Tls12)
        } else {
            Err(e)
        }
    })?;
    let max_version = version(
        &k("max_version"),
        t.max_version.as_deref(),
        TlsVersion::Tls13,
    )?;
    if min_version > max_version {
        return Err((
            k("min_version"),
            "min_version is higher than max_version".into(),
        ));
    }
    let cipher_suites = t.cipher_suites.unwrap_or_default();
    for c in &cipher_suites {
        tls::check_cipher(c, warnings).map_err(|m| (k("cipher_suites"), m))?;
    }
    let curve_preferences = t.curve_preferences.unwrap_or_default();
    for c in &curve_preferences {
        tls::check_curve(c, warnings).map_err(|m| (k("curve_preferences"), m))?;
    }
    Ok(Some(TlsServer {
        cert,
        key,
        client_ca,
        client_auth,
        min_version,
        max_version,
        cipher_suites,
        prefer_server_cipher_suites: t.prefer_server_cipher_suites.unwrap_or(true),
        curve_preferences,
        client_allowed_sans,
    }))
}

/// What one connection is served with: the web config and, with TLS, the rustls config built
/// from it and the files it names.
#[derive(Debug)]
pub struct Loaded {
    /// The web config.
    pub config: Arc<WebConfig>,
    /// The rustls server config (`None`: plain HTTP).
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

/// The bytes a load came from (the file, then each PEM file) and what was built from them.
type LastLoad = (Vec<Vec<u8>>, Arc<Loaded>);

/// What identifies a version of a file without reading it: device, inode, size, and the
/// modification and change times in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: i128,
    ctime: i128,
}

impl Stamp {
    fn of(path: &Path) -> Option<Stamp> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).ok()?;
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        Some(Stamp {
            dev: m.dev(),
            ino: m.ino(),
            len: m.len(),
            mtime: ns(m.mtime(), m.mtime_nsec()),
            ctime: ns(m.ctime(), m.ctime_nsec()),
        })
    }

    /// Whether a later change of the file is sure to change the stamp: file times come from a
    /// coarse clock (a tick of some milliseconds), so a write in the same tick as the last one
    /// may leave them as they were; a second after it, it cannot.
    fn settled(&self) -> bool {
        let now = crate::clock::now().as_nanosecond();
        now - self.mtime.max(self.ctime) > 1_000_000_000
    }
}

/// The config [`Loader::config`] last read, with the stamp its file had just before.
type Seen = (Stamp, Arc<WebConfig>);

/// Re-reads the web config file and the files it names for each new connection (as
/// exporter-toolkit does, so a replaced certificate is served without a restart), rebuilding
/// only when a byte changed.
#[derive(Debug)]
pub struct Loader {
    path: PathBuf,
    /// The last good load and the bytes it came from (file, then each PEM file).
    last: Mutex<Option<LastLoad>>,
    /// The config a request last read, if its file had settled then: a request that finds the
    /// file with the same stamp uses it without reading the file (one `stat`, not a read).
    seen: Mutex<Option<Seen>>,
}

impl Loader {
    /// A loader for `path`; the first [`Loader::current`] reads it.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Loader {
            path: path.into(),
            last: Mutex::new(None),
            seen: Mutex::new(None),
        }
    }

    /// The file this loader reads.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The config as the file is now, for one request: reads the file alone (not the PEM files
    /// it names) and reuses the last load when its text is unchanged. When the file's stamp is
    /// the one a request saw last and the file had settled then, not even the read is needed.
    pub fn config(&self) -> Result<Arc<WebConfig>, WebConfigError> {
        // Stamped before the read: a change during the read leaves a stamp the next request
        // does not find, so that one reads again.
        let stamp = Stamp::of(&self.path);
        if let (Some(s), Some((seen, cfg))) =
            (stamp, &*self.seen.lock().unwrap_or_else(|p| p.into_inner()))
            && s == *seen
        {
            return Ok(Arc::clone(cfg));
        }
        let text = read_file(&self.path)?;
        let last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let cfg = match &*last {
            Some((bytes, loaded)) if bytes.first().is_some_and(|b| b == text.as_bytes()) => {
                Arc::clone(&loaded.config)
            }
            _ => {
                drop(last);
                Arc::new(WebConfig::parse(&text, &self.path)?)
            }
        };
        *self.seen.lock().unwrap_or_else(|p| p.into_inner()) =
            stamp.filter(Stamp::settled).map(|s| (s, Arc::clone(&cfg)));
        Ok(cfg)
    }

    /// The config as the files are now. An error (a file removed, broken or unreadable) is
    /// returned as is: the connection is refused rather than served with stale credentials.
    pub fn current(&self) -> Result<Arc<Loaded>, WebConfigError> {
        let file = self.path.display().to_string();
        let text = read_file(&self.path)?;
        // Cheap path: same file text and same PEM file bytes as last time.
        let cached = self.last.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some((bytes, loaded)) = &cached
            && bytes.first().is_some_and(|b| b == text.as_bytes())
        {
            let now = pem_bytes(&loaded.config, &file)?;
            if now[..] == bytes[1..] {
                return Ok(Arc::clone(loaded));
            }
        }
        let config = WebConfig::parse(&text, &self.path)?;
        let pems = pem_bytes(&config, &file)?;
        let tls = match &config.tls {
            Some(t) => Some(Arc::new(tls::server_config_from(
                t,
                config.http2,
                &file,
                &pems,
            )?)),
            None => None,
        };
        let loaded = Arc::new(Loaded {
            config: Arc::new(config),
            tls,
        });
        let mut bytes = vec![text.into_bytes()];
        bytes.extend(pems);
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some((bytes, Arc::clone(&loaded)));
        Ok(loaded)
    }
}

/// The bytes of the certificate, key and client CA (in that order; missing ones empty).
fn pem_bytes(cfg: &WebConfig, file: &str) -> Result<Vec<Vec<u8>>, WebConfigError> {
    match &cfg.tls {
        None => Ok(Vec::new()),
        Some(t) => tls::server_pems(t, file),
    }
}

#[cfg(test)]
mod tests;
