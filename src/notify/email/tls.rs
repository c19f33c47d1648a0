//! TLS for SMTP with a rustls client config of our own, so `tls_config.max_version` can cap the
//! version: lettre builds its rustls config inside `TlsParameters` and offers a minimum version
//! only. The connection is opened and secured here and handed to lettre as a stream it treats as
//! plain (`AsyncSmtpConnection::connect_with_transport`): for implicit TLS secured before the
//! greeting; for STARTTLS secured in place once lettre's `STARTTLS` command was answered, after
//! which lettre reads the session afresh (see [`SmtpStream::upgrade`]).
//!
//! What the config gives, as lettre gave it before: `ca` replaces the system roots (as Go does),
//! otherwise the platform's verifier; a client certificate; `insecure_skip_verify` (the chain
//! and name are not checked, the handshake's signatures still are); TLS 1.2 and 1.3 between
//! `min_version` and `max_version` (rustls speaks no older version); `server_name`, default the
//! smarthost's host.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use lettre::transport::smtp::client::AsyncTokioStream;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::pem;
use crate::config::TlsConfig;
use crate::notify::error::{BuildCause, HttpConfigError};
use crate::notify::http_tls::{protocol_versions, version_range};
use crate::webconfig::cluster_tls::AnyServerCert;

/// How an SMTP connection is secured: the rustls config and the name the server's certificate
/// must carry.
pub struct Tls {
    /// The client config built from `tls_config`.
    config: Arc<ClientConfig>,
    /// `server_name`, or the smarthost's host (checked when connecting, as lettre did).
    name: String,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tls({})", self.name)
    }
}

fn invalid(key: &'static str, reason: String) -> BuildCause {
    BuildCause::Http(HttpConfigError::Invalid { key, reason })
}

impl Tls {
    /// From `tls_config` (absent: the defaults) for a smarthost on `host`.
    pub fn new(host: &str, t: Option<&TlsConfig>) -> Result<Tls, BuildCause> {
        let default = TlsConfig::default();
        let t = t.unwrap_or(&default);
        let versions = protocol_versions(
            version_range(t.min_version.as_deref(), t.max_version.as_deref())
                .map_err(BuildCause::Http)?,
        );
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&versions)
            .map_err(|e| invalid("tls_config", e.to_string()))?;
        let ca = pem(t.ca.as_deref(), t.ca_file.as_deref(), "tls_config.ca_file")?;
        let builder = if t.insecure_skip_verify {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyServerCert {
                    algs: provider.signature_verification_algorithms,
                }))
        } else if let Some(ca) = ca {
            let mut roots = RootCertStore::empty();
            for c in CertificateDer::pem_slice_iter(&ca) {
                let c = c.map_err(|e| invalid("tls_config.ca", e.to_string()))?;
                roots
                    .add(c)
                    .map_err(|e| invalid("tls_config.ca", e.to_string()))?;
            }
            if roots.is_empty() {
                return Err(invalid(
                    "tls_config.ca",
                    "no PEM certificate found".to_owned(),
                ));
            }
            builder.with_root_certificates(roots)
        } else {
            let verifier = rustls_platform_verifier::Verifier::new(Arc::clone(&provider))
                .map_err(|e| invalid("tls_config", e.to_string()))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
        };
        let cert = pem(
            t.cert.as_deref(),
            t.cert_file.as_deref(),
            "tls_config.cert_file",
        )?;
        let key = pem(
            t.key.as_ref().map(|k| k.expose().as_str()),
            t.key_file.as_deref(),
            "tls_config.key_file",
        )?;
        let client_cert = |e: String| invalid("tls_config client certificate", e);
        let config = match (cert, key) {
            (Some(cert), Some(key)) => {
                let chain = CertificateDer::pem_slice_iter(&cert)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| client_cert(e.to_string()))?;
                let key =
                    PrivateKeyDer::from_pem_slice(&key).map_err(|e| client_cert(e.to_string()))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| client_cert(e.to_string()))?
            }
            (None, None) => builder.with_no_client_auth(),
            _ => {
                return Err(invalid(
                    "tls_config",
                    "cert and key go together: set both or neither".to_owned(),
                ));
            }
        };
        Ok(Tls {
            config: Arc::new(config),
            name: t.server_name.clone().unwrap_or_else(|| host.to_owned()),
        })
    }

    /// Secures `tcp`: the handshake, the server's certificate checked against the name.
    pub async fn connect(
        &self,
        tcp: TcpStream,
    ) -> io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
        let name = ServerName::try_from(self.name.clone()).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("TLS server name {:?} is not a valid DNS name", self.name),
            )
        })?;
        tokio_rustls::TlsConnector::from(Arc::clone(&self.config))
            .connect(name, tcp)
            .await
    }
}

/// The socket under one SMTP connection.
enum State {
    /// Not secured (yet).
    Plain(TcpStream),
    /// Secured.
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    /// Between the two, or after a failed handshake: no I/O.
    Gone,
}

/// What lettre reads and writes: a handle to the connection's socket, shared with the
/// [`SmtpStream`] kept beside the lettre connection, which can secure it in place. The lock is
/// held for one poll at a time, never across an `.await` (lettre polls only while a command
/// runs, the upgrade only runs between commands).
#[derive(Clone)]
pub struct SmtpStream {
    /// The socket.
    state: Arc<Mutex<State>>,
    /// Bytes served before the socket's (the greeting lettre reads when it starts over on the
    /// secured socket).
    prefix: Arc<Mutex<Vec<u8>>>,
}

impl std::fmt::Debug for SmtpStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SmtpStream(encrypted: {})", self.is_encrypted())
    }
}

/// The greeting [`SmtpStream::upgrade`] gives lettre to read when it starts over: RFC 3207 has
/// no new greeting after STARTTLS, the client's next step is EHLO.
const RESTART: &[u8] = b"220 TLS established\r\n";

impl SmtpStream {
    /// A plain connection.
    pub fn plain(tcp: TcpStream) -> Self {
        Self::with(State::Plain(tcp))
    }

    /// A connection secured already (implicit TLS).
    pub fn secured(tls: tokio_rustls::client::TlsStream<TcpStream>) -> Self {
        Self::with(State::Tls(Box::new(tls)))
    }

    fn with(state: State) -> Self {
        SmtpStream {
            state: Arc::new(Mutex::new(state)),
            prefix: Arc::new(Mutex::new(Vec::new())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the socket is secured.
    pub fn is_encrypted(&self) -> bool {
        matches!(*self.lock(), State::Tls(_))
    }

    /// Secures a plain connection after the server answered `STARTTLS` with 220. The next read
    /// returns a greeting, so that lettre, given this stream again, sends EHLO and learns the
    /// extensions the server offers over TLS (AUTH often only there).
    pub async fn upgrade(&self, tls: &Tls) -> io::Result<()> {
        let plain = match std::mem::replace(&mut *self.lock(), State::Gone) {
            State::Plain(tcp) => tcp,
            other => {
                *self.lock() = other;
                return Err(io::Error::other("the connection is not a plain one"));
            }
        };
        let secured = tls.connect(plain).await?;
        *self.lock() = State::Tls(Box::new(secured));
        *self.prefix.lock().unwrap_or_else(PoisonError::into_inner) = RESTART.to_vec();
        Ok(())
    }
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "the TLS handshake failed")
}

impl AsyncRead for SmtpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        {
            let mut prefix = self.prefix.lock().unwrap_or_else(PoisonError::into_inner);
            if !prefix.is_empty() {
                let n = prefix.len().min(buf.remaining());
                buf.put_slice(&prefix[..n]);
                prefix.drain(..n);
                return Poll::Ready(Ok(()));
            }
        }
        match &mut *self.lock() {
            State::Plain(s) => Pin::new(s).poll_read(cx, buf),
            State::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            State::Gone => Poll::Ready(Err(gone())),
        }
    }
}

impl AsyncWrite for SmtpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut *self.lock() {
            State::Plain(s) => Pin::new(s).poll_write(cx, buf),
            State::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            State::Gone => Poll::Ready(Err(gone())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut *self.lock() {
            State::Plain(s) => Pin::new(s).poll_flush(cx),
            State::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            State::Gone => Poll::Ready(Err(gone())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut *self.lock() {
            State::Plain(s) => Pin::new(s).poll_shutdown(cx),
            State::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            State::Gone => Poll::Ready(Ok(())),
        }
    }
}

impl AsyncTokioStream for SmtpStream {
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        match &*self.lock() {
            State::Plain(s) => s.peer_addr(),
            State::Tls(s) => s.get_ref().0.peer_addr(),
            State::Gone => Err(gone()),
        }
    }
}
