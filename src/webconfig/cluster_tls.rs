//! `--cluster.tls-config`: Alertmanager's file for mutual TLS between cluster peers. Two keys:
//! `tls_server_config` (exporter-toolkit's server settings, the same as `--web.config.file`'s:
//! certificate, key, client CA and client authentication policy, versions, cipher suites,
//! curves) and `tls_client_config` (Prometheus's common TLS settings, as receivers'
//! `tls_config`: CA, client certificate and key, `server_name`, `insecure_skip_verify`,
//! versions; without a CA, the system's roots as in Go). Relative paths resolve against the
//! file's folder, as Alertmanager resolves them.
//!
//! [`ClusterTls::load`] reads the file and every file it names and builds both rustls configs,
//! so a bad file stops start-up with an error naming the file and the key. It never touches a
//! socket: `cluster::transport::tls` runs the connections.
//!
//! The server side's certificate, key and client CA are read again for each accepted
//! connection ([`ServerTlsFiles::current`]), as Alertmanager's TLS transport reads them for
//! each handshake (exporter-toolkit's `GetCertificate`/`GetConfigForClient`), so a renewed
//! certificate is served without a restart; the config is rebuilt only when a byte changed.
//! The YAML file itself and the client side are read once, at start, as in Alertmanager.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use serde::Deserialize;

use super::{
    RawTls, TlsServer, TlsVersion, WebConfigError, read_file, strip_position, tls, tls_server,
};
use crate::config::TlsConfig;

/// The file as written (unknown keys refused, as Alertmanager's strict YAML parse does).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClusterTls {
    tls_server_config: Option<RawTls>,
    tls_client_config: Option<TlsConfig>,
}

/// A loaded `--cluster.tls-config`: what peers' connections are served and dialled with.
#[derive(Debug, Clone)]
pub struct ClusterTls {
    /// Accepting peers' connections: this peer's certificate, and the client certificate
    /// policy (`client_auth_type`, `client_ca_file`), read again for each connection.
    pub server: Arc<ServerTlsFiles>,
    /// Dialling peers: the CA their certificates are verified against, this peer's client
    /// certificate.
    pub client: Arc<rustls::ClientConfig>,
    /// `tls_client_config.server_name`: the name peers' certificates are verified for
    /// (default: the IP address dialled, as Go verifies it).
    pub server_name: Option<ServerName<'static>>,
    /// What is accepted but not acted on as written (a cipher suite rustls lacks, TLS10).
    pub warnings: Vec<String>,
}

impl ClusterTls {
    /// Reads and validates the file at `path` and the files it names, and builds both rustls
    /// configs. Errors name the file and the key.
    pub fn load(path: &Path) -> Result<ClusterTls, WebConfigError> {
        let text = read_file(path)?;
        Self::parse(&text, path)
    }

    /// As [`ClusterTls::load`], with the file's text already read.
    pub fn parse(text: &str, path: &Path) -> Result<ClusterTls, WebConfigError> {
        let file = path.display().to_string();
        let dir = path.parent().unwrap_or(Path::new("."));
        let options = serde_saphyr::options! { with_snippet: false };
        let raw: Option<RawClusterTls> = serde_saphyr::from_str_with_options(text, options)
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
        let mut warnings = Vec::new();
        let server = match raw.tls_server_config {
            Some(t) => tls_server(t, dir, &mut warnings).map_err(|(k, m)| invalid(&k, m))?,
            None => None,
        };
        let Some(server) = server else {
            return Err(invalid(
                "tls_server_config",
                "missing: peers' connections are served with its cert_file and key_file".into(),
            ));
        };
        let server = ServerTlsFiles {
            settings: server,
            file: file.clone(),
            last: Mutex::new(None),
        };
        // Read and built once here, so that a bad certificate stops start-up.
        server.current()?;
        let client = raw.tls_client_config.unwrap_or_default();
        let (client, server_name) = client_config(&client, dir, &file, &mut warnings)?;
        Ok(ClusterTls {
            server: Arc::new(server),
            client: Arc::new(client),
            server_name,
            warnings,
        })
    }
}

/// `tls_server_config` of a `--cluster.tls-config`: the server config as its certificate, key
/// and client CA files are now.
#[derive(Debug)]
pub struct ServerTlsFiles {
    /// The validated `tls_server_config` (paths resolved).
    settings: TlsServer,
    /// The `--cluster.tls-config` file, named in errors.
    file: String,
    /// The bytes of the last good build (certificate, key, client CA) and its config. A std
    /// mutex: held to compare or replace, never across an `.await`.
    last: Mutex<Option<Built>>,
}

/// The PEM bytes a server config was built from (certificate, key, client CA), and the config.
type Built = (Vec<Vec<u8>>, Arc<rustls::ServerConfig>);

impl ServerTlsFiles {
    /// The server config for a new connection: the files are read, and the last config is
    /// reused when their bytes are unchanged. An error (a file removed, broken, a key that does
    /// not go with the certificate) is returned as is: the connection is refused rather than
    /// served with the old certificate, as Go's handshake fails.
    pub fn current(&self) -> Result<Arc<rustls::ServerConfig>, WebConfigError> {
        let pems = tls::server_pems(&self.settings, &self.file)?;
        if let Some((bytes, config)) = &*self.last.lock().unwrap_or_else(|p| p.into_inner())
            && *bytes == pems
        {
            return Ok(Arc::clone(config));
        }
        let mut config = tls::server_config_from(&self.settings, false, &self.file, &pems)?;
        // Peers speak tocsin's framing, not HTTP.
        config.alpn_protocols.clear();
        let config = Arc::new(config);
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some((pems, Arc::clone(&config)));
        Ok(config)
    }
}

/// One PEM value: inline, or a file (relative to `dir`); both is an error.
fn pem(
    inline: Option<&str>,
    path: Option<&Path>,
    dir: &Path,
    file: &str,
    key: &str,
) -> Result<Option<Vec<u8>>, WebConfigError> {
    let invalid = |message: String| WebConfigError::Invalid {
        file: file.to_owned(),
        key: format!("tls_client_config.{key}_file"),
        message,
    };
    match (inline.filter(|s| !s.is_empty()), path) {
        (Some(_), Some(_)) => Err(invalid(format!(
            "at most one of {key} and {key}_file must be configured"
        ))),
        (Some(s), None) => Ok(Some(s.as_bytes().to_vec())),
        (None, Some(p)) if !p.as_os_str().is_empty() => {
            let p: PathBuf = if p.is_absolute() {
                p.to_path_buf()
            } else {
                dir.join(p)
            };
            std::fs::read(&p)
                .map(Some)
                .map_err(|e| invalid(format!("cannot read {}: {e}", p.display())))
        }
        (None, _) => Ok(None),
    }
}

/// A client-side TLS version (`TLS10` and `TLS11` widen nothing rustls would do: warned, 1.2).
fn client_version(
    v: Option<&str>,
    default: TlsVersion,
    key: &str,
    warnings: &mut Vec<String>,
) -> Result<TlsVersion, String> {
    match v {
        None | Some("") => Ok(default),
        Some("TLS12") => Ok(TlsVersion::Tls12),
        Some("TLS13") => Ok(TlsVersion::Tls13),
        Some(old @ ("TLS10" | "TLS11")) => {
            warnings.push(format!(
                "tls_client_config.{key}: {old} is not supported by rustls; TLS12 is used"
            ));
            Ok(TlsVersion::Tls12)
        }
        Some(other) => Err(format!("unknown TLS version: {other}")),
    }
}

/// `tls_client_config` -> the rustls client config and the server name to verify.
fn client_config(
    t: &TlsConfig,
    dir: &Path,
    file: &str,
    warnings: &mut Vec<String>,
) -> Result<(rustls::ClientConfig, Option<ServerName<'static>>), WebConfigError> {
    let invalid = |key: &str, message: String| WebConfigError::Invalid {
        file: file.to_owned(),
        key: format!("tls_client_config.{key}"),
        message,
    };
    let ca = pem(t.ca.as_deref(), t.ca_file.as_deref(), dir, file, "ca")?;
    let cert = pem(t.cert.as_deref(), t.cert_file.as_deref(), dir, file, "cert")?;
    let key = pem(
        t.key.as_ref().map(|k| k.expose().as_str()),
        t.key_file.as_deref(),
        dir,
        file,
        "key",
    )?;
    let min = client_version(
        t.min_version.as_deref(),
        TlsVersion::Tls12,
        "min_version",
        warnings,
    )
    .map_err(|m| invalid("min_version", m))?;
    let max = client_version(
        t.max_version.as_deref(),
        TlsVersion::Tls13,
        "max_version",
        warnings,
    )
    .map_err(|m| invalid("max_version", m))?;
    if min > max {
        return Err(invalid(
            "min_version",
            "min_version is higher than max_version".into(),
        ));
    }
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = [
        (TlsVersion::Tls13, &rustls::version::TLS13),
        (TlsVersion::Tls12, &rustls::version::TLS12),
    ]
    .into_iter()
    .filter(|(v, _)| *v >= min && *v <= max)
    .map(|(_, p)| p)
    .collect();
    let server_name = match t.server_name.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            ServerName::try_from(s.to_owned())
                .map_err(|e| invalid("server_name", format!("{s:?}: {e}")))?,
        ),
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&versions)
        .map_err(|e| invalid("min_version", e.to_string()))?;
    let builder = if t.insecure_skip_verify {
        warnings.push(
            "tls_client_config.insecure_skip_verify: peers' certificates are not verified".into(),
        );
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyServerCert {
                algs: provider.signature_verification_algorithms,
            }))
    } else if let Some(ca) = ca {
        let mut roots = RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(&ca) {
            let c = c.map_err(|e| invalid("ca_file", format!("not a PEM certificate: {e}")))?;
            roots
                .add(c)
                .map_err(|e| invalid("ca_file", e.to_string()))?;
        }
        if roots.is_empty() {
            return Err(invalid(
                "ca_file",
                "no certificate found in the PEM data".into(),
            ));
        }
        builder.with_root_certificates(roots)
    } else {
        // No CA given: the system's roots, as Go's client uses them.
        let verifier =
            rustls_platform_verifier::Verifier::new(Arc::clone(&provider)).map_err(|e| {
                invalid(
                    "ca_file",
                    format!("no CA given, and the system's roots cannot be used: {e}"),
                )
            })?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
    };
    let config = match (cert, key) {
        (None, None) => builder.with_no_client_auth(),
        (Some(_), None) | (None, Some(_)) => {
            return Err(invalid(
                "cert_file",
                "exactly one of key or cert was specified; both or neither are needed".into(),
            ));
        }
        (Some(cert), Some(key)) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert)
                .collect::<Result<_, _>>()
                .map_err(|e| invalid("cert_file", format!("not a PEM certificate chain: {e}")))?;
            if certs.is_empty() {
                return Err(invalid(
                    "cert_file",
                    "no certificate found in the PEM data".into(),
                ));
            }
            let key = PrivateKeyDer::from_pem_slice(&key)
                .map_err(|e| invalid("key_file", format!("no usable private key: {e}")))?;
            builder.with_client_auth_cert(certs, key).map_err(|e| {
                invalid(
                    "key_file",
                    format!("certificate and key do not go together: {e}"),
                )
            })?
        }
    };
    Ok((config, server_name))
}

/// `insecure_skip_verify`: any server certificate is taken (the peer still proves it holds the
/// key). Cluster TLS and email's `tls_config` both use it.
#[derive(Debug)]
pub(crate) struct AnyServerCert {
    /// The provider's signature algorithms.
    pub(crate) algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

#[cfg(test)]
mod tests;
