//! Email over SMTP (reference integrations.md §4), through lettre's SMTP connection.
//!
//! The dialogue is Alertmanager's (§4.1):
//! - implicit TLS when `force_implicit_tls: true`, or when it is unset and the smarthost's port
//!   is 465; else a plain connection, upgraded with STARTTLS when `require_tls` (default true):
//!   a server that does not offer STARTTLS then fails the send (retried), with Alertmanager's
//!   message; with `require_tls: false` STARTTLS is never attempted. TLS is tocsin's own
//!   (tls.rs: `tls_config` with `max_version` as a rustls config; lettre speaks over the
//!   secured stream);
//! - `EHLO <hello>` (default `localhost`);
//! - AUTH only when `auth_username` is set and the server advertises AUTH: its mechanisms in
//!   the server's order, the first one usable (Alertmanager's rule): CRAM-MD5 with
//!   `auth_secret`/`auth_secret_file`, PLAIN (with `auth_identity`) or LOGIN with
//!   `auth_password`/`auth_password_file` (files read when a connection is opened, so a rotated
//!   file needs no reload). PLAIN is skipped on an unencrypted connection to a host other than
//!   localhost, where Go's PLAIN refuses to send the password;
//! - `MAIL FROM` the one `from` address, `RCPT TO` each `to` address, `DATA` (payload.rs).
//!
//! Connections are pooled per smarthost and settings (TLS, hello, credentials, timeout): every
//! receiver with the same ones shares the pool, across reloads too. A pooled connection is
//! checked with `NOOP` before reuse and closed after a minute unused.
//!
//! Retries: a 4xx reply is temporary (retried), a 5xx permanent (not retried), as SMTP means
//! them; connection, TLS and timeout failures are retried; template and address errors are not.
//! Metric reasons: 4xx `serverError`, 5xx `clientError` (530, 534, 535, 538: `authError`), no
//! answer within `timeout` `contextDeadlineExceeded`, the rest `other`. No error names the
//! password: the server's replies and the failing step only (lettre's own logging, which would
//! show the AUTH line, is not compiled in).

pub mod payload;
#[cfg(test)]
mod tests;
mod tls;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::Duration;

use base64::Engine as _;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::AsyncSmtpConnection;
use lettre::transport::smtp::commands::Starttls;
use lettre::transport::smtp::extension::ClientId;
use tokio::time::Instant;

use super::data::NotificationData;
use super::error::{BuildCause, FailureReason, HttpConfigError, NotifyError, ReadError};
use super::integration::{BuildEnv, Sent};
use super::ratelimit::Limiter;
use super::tmpl::Renderer;
use super::value::ValueSource;
use crate::clock;
use crate::config::EmailConfig;
use crate::template::Templates;
use payload::{Fields, Meta};
use tls::{SmtpStream, Tls};

/// How long connecting and each SMTP command may take when the config sets no `timeout` (the
/// whole send is bounded by the pipeline's deadline then).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a pooled connection is kept unused.
const IDLE: Duration = Duration::from_secs(60);
/// At most this many unused connections are kept per smarthost.
const MAX_IDLE: usize = 4;

/// A configured email destination.
pub struct Email {
    /// The templated fields.
    fields: Fields,
    /// The template set the fields render against.
    templates: Arc<Templates>,
    /// The smarthost's connection pool (shared).
    server: Arc<Server>,
    /// How long one send may take (`timeout`; else the pipeline's deadline for the group).
    timeout: Option<Duration>,
    /// Sends per smarthost (no limit unless `rate_limit:` sets one).
    limit: Limiter,
    /// The host name in generated `Message-Id`s.
    hostname: String,
}

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Security {
    /// TLS from the first byte (SMTPS).
    Implicit,
    /// A plain connection upgraded with STARTTLS (which is required).
    StartTls,
    /// No TLS (`require_tls: false`).
    None,
}

/// Alertmanager's choice: implicit TLS when forced, or when unset and the port is 465; else
/// STARTTLS when `require_tls`; else none.
pub fn security(port: u16, force_implicit_tls: Option<bool>, require_tls: bool) -> Security {
    match force_implicit_tls {
        Some(true) => Security::Implicit,
        None if port == 465 => Security::Implicit,
        _ if require_tls => Security::StartTls,
        _ => Security::None,
    }
}

/// What authenticates a connection.
struct Auth {
    /// `auth_username`.
    username: String,
    /// `auth_password` or `auth_password_file`.
    password: Option<ValueSource>,
    /// `auth_identity` (PLAIN's authorization identity).
    identity: String,
    /// `auth_secret` or `auth_secret_file` (CRAM-MD5).
    secret: Option<ValueSource>,
}

/// One smarthost with its settings, and its idle connections.
struct Server {
    /// Host name or address.
    host: String,
    /// Port.
    port: u16,
    /// TLS mode.
    security: Security,
    /// TLS settings (server name, roots, client certificate, versions).
    tls: Tls,
    /// The EHLO name.
    hello: ClientId,
    /// Credentials, when `auth_username` is set.
    auth: Option<Auth>,
    /// Bounds connecting (the whole send is bounded by the integration).
    timeout: Duration,
    /// Connections free for the next send, newest last.
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
}

/// Every pool, by a digest of what configures it; entries die with the last integration.
static SERVERS: LazyLock<Mutex<HashMap<[u8; 32], Weak<Server>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// An SMTP command written as it is (the AUTH PLAIN line with its identity).
struct Raw(String);

impl std::fmt::Display for Raw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Email {
    /// Builds the integration from its config (global `smtp_*` defaults already merged).
    pub fn new(c: &EmailConfig, env: &BuildEnv<'_>) -> Result<Self, BuildCause> {
        let smarthost = c.smarthost.as_deref().ok_or(BuildCause::Missing(
            "email_config needs smarthost or global.smtp_smarthost",
        ))?;
        let (host, port) = split_host_port(smarthost)?;
        let username = c.auth_username.clone().filter(|u| !u.is_empty());
        let password = ValueSource::from_config(
            c.auth_password.as_ref().filter(|p| !p.expose().is_empty()),
            c.auth_password_file.as_deref(),
            "auth_password_file",
        );
        let secret = ValueSource::from_config(
            c.auth_secret.as_ref().filter(|p| !p.expose().is_empty()),
            c.auth_secret_file.as_deref(),
            "auth_secret_file",
        );
        let security = security(port, c.force_implicit_tls, c.require_tls.unwrap_or(true));
        let tls = Tls::new(&host, c.tls_config.as_ref())?;
        let configured = (!c.timeout.is_zero()).then(|| c.timeout.std());
        // Bounds connecting and each command; the whole send is bounded in `notify`.
        let timeout = configured.unwrap_or(DEFAULT_TIMEOUT);
        let hello = c.hello.clone().unwrap_or_else(|| "localhost".to_owned());
        let auth = username.map(|username| Auth {
            username,
            password,
            identity: c.auth_identity.clone().unwrap_or_default(),
            secret,
        });
        let key = pool_key(c, &host, port, security, &hello, timeout);
        let server = Server {
            host,
            port,
            security,
            tls,
            hello: ClientId::Domain(hello),
            auth,
            timeout,
            idle: Mutex::new(Vec::new()),
        };
        Ok(Email {
            fields: Fields::parse(c, env.templates)?,
            templates: Arc::clone(env.templates),
            server: shared(key, server),
            timeout: configured,
            limit: Limiter::new("email", c.rate_limit.as_ref(), None, env.metrics),
            hostname: hostname(),
        })
    }

    /// Sends one notification: one message to every `to` address.
    pub async fn notify(&self, data: &NotificationData) -> Result<Sent, NotifyError> {
        let r = Renderer::new(&self.templates, data);
        let now = clock::now().to_zoned(jiff::tz::TimeZone::system());
        let meta = Meta {
            message_id: format!(
                "<{}.{}@{}>",
                now.timestamp().as_nanosecond(),
                u64::from_be_bytes(random()),
                self.hostname
            ),
            boundary: random::<15>().iter().fold(String::new(), |mut s, b| {
                let _ = write!(s, "{b:02x}");
                s
            }),
            now,
            group_key: &data.group_key,
        };
        let mail = payload::render(&self.fields, &r, &meta)?;
        let address = |a: &str| {
            a.parse::<lettre::Address>().map_err(|e| {
                NotifyError::permanent(FailureReason::Other, format!("address {a:?}: {e}"))
            })
        };
        let to = mail
            .to
            .iter()
            .map(|a| address(a))
            .collect::<Result<Vec<_>, _>>()?;
        let envelope = Envelope::new(Some(address(&mail.from)?), to)
            .map_err(|e| NotifyError::permanent(FailureReason::Other, format!("envelope: {e}")))?;
        let s = &self.server;
        self.limit.acquire(&s.label()).await?;
        let timeout = self.timeout.unwrap_or(data.timeout);
        match tokio::time::timeout(timeout, s.send(&envelope, &mail.message)).await {
            Ok(res) => res.map(|()| Sent::default()),
            Err(_) => Err(NotifyError::retryable(
                FailureReason::DeadlineExceeded,
                format!("SMTP server {}: no answer within {timeout:?}", s.label()),
            )),
        }
    }
}

impl Server {
    /// `host:port`, as errors name the smarthost.
    fn label(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// One message over a pooled or new connection; the connection goes back to the pool
    /// when the server accepted the message.
    async fn send(
        self: &Arc<Self>,
        envelope: &Envelope,
        message: &[u8],
    ) -> Result<(), NotifyError> {
        let mut conn = self.connection().await?;
        conn.send(envelope, message)
            .await
            .map_err(|e| smtp_error("sending the message", &e))?;
        self.park(conn);
        Ok(())
    }

    /// An idle connection that still answers `NOOP`, or a new one.
    async fn connection(&self) -> Result<AsyncSmtpConnection, NotifyError> {
        loop {
            let next = self.idle.lock().map(|mut v| v.pop()).unwrap_or(None);
            let Some((mut conn, since)) = next else {
                return self.connect().await;
            };
            if since.elapsed() < IDLE && conn.test_connected().await {
                return Ok(conn);
            }
            conn.abort().await;
        }
    }

    /// Keeps a connection for the next send, and starts the task closing unused ones.
    fn park(self: &Arc<Self>, conn: AsyncSmtpConnection) {
        if conn.has_broken() {
            return;
        }
        let Ok(mut idle) = self.idle.lock() else {
            return;
        };
        let first = idle.is_empty();
        idle.push((conn, Instant::now()));
        if idle.len() > MAX_IDLE {
            idle.remove(0);
        }
        if first {
            let weak = Arc::downgrade(self);
            tokio::spawn(close_unused(weak));
        }
    }

    /// Connects, secures and authenticates a new connection.
    async fn connect(&self) -> Result<AsyncSmtpConnection, NotifyError> {
        let connecting = || format!("connecting to {}", self.label());
        let tcp = self
            .tcp()
            .await
            .map_err(|e| connection_error(&connecting(), &e))?;
        let stream = if self.security == Security::Implicit {
            let secured = self
                .tls
                .connect(tcp)
                .await
                .map_err(|e| connection_error(&connecting(), &e))?;
            SmtpStream::secured(secured)
        } else {
            SmtpStream::plain(tcp)
        };
        let mut conn =
            AsyncSmtpConnection::connect_with_transport(Box::new(stream.clone()), &self.hello)
                .await
                .map_err(|e| smtp_error(&connecting(), &e))?;
        if self.security == Security::StartTls {
            if !conn.can_starttls() {
                conn.abort().await;
                return Err(NotifyError::retryable(
                    FailureReason::Other,
                    format!(
                        "'require_tls' is true (default) but {:?} does not advertise the \
                         STARTTLS extension",
                        self.label()
                    ),
                ));
            }
            if let Err(e) = conn.command(Starttls).await {
                conn.abort().await;
                return Err(smtp_error("STARTTLS", &e));
            }
            // Secured in place; lettre then starts over on the secured stream (a greeting
            // served by the stream, EHLO), so it knows what the server offers over TLS. The
            // first connection object is dropped without QUIT: the socket is the new one's.
            stream
                .upgrade(&self.tls)
                .await
                .map_err(|e| connection_error("STARTTLS", &e))?;
            conn =
                AsyncSmtpConnection::connect_with_transport(Box::new(stream.clone()), &self.hello)
                    .await
                    .map_err(|e| smtp_error("EHLO after STARTTLS", &e))?;
        }
        if let Some(auth) = &self.auth {
            self.authenticate(&mut conn, auth, stream.is_encrypted())
                .await?;
        }
        Ok(conn)
    }

    /// The TCP connection to the smarthost: each of its addresses in turn, each given
    /// `timeout` (as lettre connects).
    async fn tcp(&self) -> std::io::Result<tokio::net::TcpStream> {
        let mut last = None;
        for addr in tokio::net::lookup_host((self.host.as_str(), self.port)).await? {
            match tokio::time::timeout(self.timeout, tokio::net::TcpStream::connect(addr)).await {
                Ok(Ok(s)) => return Ok(s),
                Ok(Err(e)) => last = Some(e),
                Err(_) => {
                    last = Some(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "connection timed out",
                    ))
                }
            }
        }
        Err(last
            .unwrap_or_else(|| std::io::Error::other("could not resolve to any supported address")))
    }

    /// AUTH as Alertmanager does it: the mechanisms the server advertises, in its order, and
    /// the first one usable with what is configured: CRAM-MD5 with `auth_secret`, PLAIN (with
    /// the identity; only over TLS or to localhost, as Go refuses to send a password in clear)
    /// or LOGIN with `auth_password`. No AUTH advertised: the message goes without.
    async fn authenticate(
        &self,
        conn: &mut AsyncSmtpConnection,
        auth: &Auth,
        encrypted: bool,
    ) -> Result<(), NotifyError> {
        // lettre keeps the mechanisms it knows, in a set: ask for the list again (EHLO may be
        // repeated, RFC 5321 §4.1.4) to have CRAM-MD5 and the server's order.
        let ehlo = match conn.command(Raw(format!("EHLO {}\r\n", self.hello))).await {
            Ok(r) => r,
            Err(e) => {
                conn.abort().await;
                return Err(smtp_error("EHLO", &e));
            }
        };
        let mechanisms = auth_mechanisms(ehlo.message());
        if mechanisms.is_empty() {
            return Ok(());
        }
        let mut problems = Vec::new();
        for mech in &mechanisms {
            let res = match mech.as_str() {
                "CRAM-MD5" => {
                    let secret = match &auth.secret {
                        Some(s) => s.read().await.map_err(NotifyError::from)?,
                        None => {
                            problems.push("missing secret for CRAM-MD5 auth mechanism".to_owned());
                            continue;
                        }
                    };
                    self.cram_md5(conn, &auth.username, secret.expose()).await
                }
                "PLAIN" | "LOGIN" => {
                    let password = match &auth.password {
                        Some(p) => p.read().await.map_err(NotifyError::from)?,
                        None => {
                            problems.push(format!("missing password for {mech} auth mechanism"));
                            continue;
                        }
                    };
                    if mech == "LOGIN" {
                        let creds =
                            Credentials::new(auth.username.clone(), password.expose().clone());
                        conn.auth(&[Mechanism::Login], &creds).await.map(drop)
                    } else if encrypted || is_loopback(&self.host) {
                        let token = base64::engine::general_purpose::STANDARD.encode(format!(
                            "{}\0{}\0{}",
                            auth.identity,
                            auth.username,
                            password.expose()
                        ));
                        conn.command(Raw(format!("AUTH PLAIN {token}\r\n")))
                            .await
                            .map(drop)
                    } else {
                        problems.push(format!(
                            "PLAIN authentication refused: the connection to {} is not \
                             encrypted (set require_tls: true or use implicit TLS)",
                            self.label()
                        ));
                        continue;
                    }
                }
                _ => continue,
            };
            return match res {
                Ok(()) => Ok(()),
                Err(e) => {
                    conn.abort().await;
                    Err(smtp_error(&format!("AUTH {mech}"), &e))
                }
            };
        }
        conn.abort().await;
        let why = if problems.is_empty() {
            format!("unknown auth mechanism: {}", mechanisms.join(" "))
        } else {
            problems.join("; ")
        };
        Err(NotifyError::permanent(FailureReason::AuthError, why))
    }

    /// `AUTH CRAM-MD5` (RFC 2195): the server's challenge answered with the user name and the
    /// HMAC-MD5 of the challenge keyed with the secret, in hex.
    async fn cram_md5(
        &self,
        conn: &mut AsyncSmtpConnection,
        username: &str,
        secret: &str,
    ) -> Result<(), lettre::transport::smtp::Error> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let challenge = conn.command(Raw("AUTH CRAM-MD5\r\n".to_owned())).await?;
        let text = challenge.message().next().unwrap_or_default().trim();
        // A challenge that is not base64 is answered over what was sent; the server refuses.
        let challenge = b64
            .decode(text)
            .unwrap_or_else(|_| text.as_bytes().to_vec());
        let digest = hmac_md5(secret.as_bytes(), &challenge);
        let hex = digest.iter().fold(String::with_capacity(32), |mut h, b| {
            let _ = write!(h, "{b:02x}");
            h
        });
        let answer = b64.encode(format!("{username} {hex}"));
        conn.command(Raw(format!("{answer}\r\n"))).await.map(drop)
    }
}

/// The mechanisms of an EHLO answer's `AUTH` line, upper-cased, in the server's order.
fn auth_mechanisms<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<String> {
    for line in lines {
        let line = line.trim();
        let Some(head) = line.get(..5) else {
            continue;
        };
        if head.eq_ignore_ascii_case("AUTH ") || head.eq_ignore_ascii_case("AUTH=") {
            return line[5..]
                .split_ascii_whitespace()
                .map(|m| m.to_ascii_uppercase())
                .collect();
        }
    }
    Vec::new()
}

/// HMAC-MD5 (RFC 2104), which CRAM-MD5 needs.
fn hmac_md5(key: &[u8], message: &[u8]) -> [u8; 16] {
    use md5::{Digest, Md5};
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..16].copy_from_slice(&Md5::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| k.map(|b| b ^ byte);
    let inner = Md5::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Md5::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

/// Closes connections unused for [`IDLE`]; ends with the pool, or when none is left.
async fn close_unused(server: Weak<Server>) {
    loop {
        tokio::time::sleep(IDLE / 2).await;
        let Some(s) = server.upgrade() else {
            return;
        };
        let (old, left) = {
            let Ok(mut idle) = s.idle.lock() else {
                return;
            };
            let (old, keep): (Vec<_>, Vec<_>) = idle
                .drain(..)
                .partition(|(_, since)| since.elapsed() >= IDLE);
            *idle = keep;
            (old, idle.len())
        };
        for (mut c, _) in old {
            let _ = c.quit().await;
        }
        if left == 0 {
            return;
        }
    }
}

/// The pool for `key`: the live one, or `server` registered as it.
fn shared(key: [u8; 32], server: Server) -> Arc<Server> {
    let Ok(mut map) = SERVERS.lock() else {
        return Arc::new(server);
    };
    map.retain(|_, w| w.strong_count() > 0);
    if let Some(s) = map.get(&key).and_then(Weak::upgrade) {
        return s;
    }
    let s = Arc::new(server);
    map.insert(key, Arc::downgrade(&s));
    s
}

/// A digest of everything a pooled connection depends on (secrets only inside the digest).
fn pool_key(
    c: &EmailConfig,
    host: &str,
    port: u16,
    security: Security,
    hello: &str,
    timeout: Duration,
) -> [u8; 32] {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    let mut add = |s: &str| {
        ctx.update(&(s.len() as u64).to_be_bytes());
        ctx.update(s.as_bytes());
    };
    add(host);
    add(&port.to_string());
    add(&format!("{security:?}"));
    add(hello);
    add(&format!("{timeout:?}"));
    add(c.auth_username.as_deref().unwrap_or(""));
    add(c.auth_identity.as_deref().unwrap_or(""));
    add(c.auth_password.as_ref().map_or("", |p| p.expose().as_str()));
    add(&format!("{:?}", c.auth_password_file));
    add(c.auth_secret.as_ref().map_or("", |p| p.expose().as_str()));
    add(&format!("{:?}", c.auth_secret_file));
    if let Some(t) = &c.tls_config {
        // The files' contents too: a reload after a certificate change makes a new pool.
        let file = |f: &Option<std::path::PathBuf>| {
            f.as_ref()
                .and_then(|f| std::fs::read(f).ok())
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        };
        add(t.ca.as_deref().unwrap_or(""));
        add(&file(&t.ca_file));
        add(t.cert.as_deref().unwrap_or(""));
        add(&file(&t.cert_file));
        add(t.key.as_ref().map_or("", |k| k.expose().as_str()));
        add(&file(&t.key_file));
        add(t.server_name.as_deref().unwrap_or(""));
        add(&format!("{}", t.insecure_skip_verify));
        add(t.min_version.as_deref().unwrap_or(""));
        add(t.max_version.as_deref().unwrap_or(""));
    }
    let d = ctx.finish();
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// `host:port` (`[v6]:port` too); the port is required (config validation checks it).
fn split_host_port(s: &str) -> Result<(String, u16), BuildCause> {
    let bad = || BuildCause::Invalid(format!("smarthost {s:?}: want host:port"));
    let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port = port.parse::<u16>().map_err(|_| bad())?;
    if host.is_empty() {
        return Err(bad());
    }
    Ok((host.to_owned(), port))
}

/// Go's PLAIN sends the password over an unencrypted connection only to these hosts.
fn is_loopback(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "::1")
}

/// Reads inline PEM or its file (once, when the integration is built).
fn pem(
    inline: Option<&str>,
    file: Option<&std::path::Path>,
    what: &'static str,
) -> Result<Option<Vec<u8>>, BuildCause> {
    match (inline, file) {
        (Some(s), _) => Ok(Some(s.as_bytes().to_vec())),
        (None, Some(f)) => std::fs::read(f).map(Some).map_err(|source| {
            BuildCause::Http(HttpConfigError::Read(ReadError {
                what,
                path: f.to_owned(),
                source,
            }))
        }),
        (None, None) => Ok(None),
    }
}

/// A failure to connect or to secure the connection (retried), worded as lettre words its
/// connection errors.
fn connection_error(step: &str, e: &std::io::Error) -> NotifyError {
    let mut message = format!("{step}: Connection error: {e}");
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let _ = write!(message, ": {c}");
        cause = c.source();
    }
    NotifyError::retryable(FailureReason::Other, message)
}

/// An SMTP failure as a retry decision: 4xx temporary, 5xx permanent, the rest retried.
fn smtp_error(step: &str, e: &lettre::transport::smtp::Error) -> NotifyError {
    let mut message = format!("{step}: {e}");
    let mut cause = std::error::Error::source(e);
    // lettre's Display already shows its direct source; add the deeper causes.
    if let Some(c) = cause {
        cause = c.source();
    }
    while let Some(c) = cause {
        let _ = write!(message, ": {c}");
        cause = c.source();
    }
    let code = e.status().map(u16::from);
    match code {
        Some(c @ 500..=599) => {
            let reason = if matches!(c, 530 | 534 | 535 | 538) {
                FailureReason::AuthError
            } else {
                FailureReason::ClientError
            };
            NotifyError::permanent(reason, message)
        }
        Some(_) => NotifyError::retryable(FailureReason::ServerError, message),
        None if e.is_timeout() => NotifyError::retryable(FailureReason::DeadlineExceeded, message),
        None => NotifyError::retryable(FailureReason::Other, message),
    }
}

/// `N` random bytes.
fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    let _ = aws_lc_rs::rand::fill(&mut b);
    b
}

/// This machine's name, for `Message-Id` (Alertmanager's fallback when it is unknown).
fn hostname() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|f| {
            std::fs::read_to_string(f)
                .ok()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic()))
        })
        .unwrap_or_else(|| "localhost.localdomain".to_owned())
}
