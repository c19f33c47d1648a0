//! `http_config.tls_config.server_name` for HTTP receivers: the rustls client config that
//! verifies the server's certificate against `server_name` rather than the URL's host, as Go's
//! `tls.Config.ServerName` does in Alertmanager. The connection still goes to the URL's host.
//!
//! What differs from Go: the SNI. Go sends `server_name` as the SNI; reqwest sends the URL's
//! host name (nothing for an IP address) and offers no hook to send another name short of a
//! second HTTP stack, so only the verification follows `server_name`. A server that picks its
//! certificate by SNI may therefore present another certificate than it would to Alertmanager.
//!
//! Owns only building the config; `notify::http` decides when it is used (a `server_name`
//! without `insecure_skip_verify`) and hands it to reqwest as a preconfigured TLS backend.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use super::error::HttpConfigError;

/// What the client config is built from (the TLS part of an `http_config`, files already read).
pub(super) struct NamedTls<'a> {
    /// `ca`/`ca_file`: extra roots, trusted besides the system's (as reqwest trusts them for
    /// receivers without `server_name`).
    pub ca: Option<&'a [u8]>,
    /// `cert`/`cert_file` and `key`/`key_file`: the client certificate, both or neither.
    pub cert_key: Option<(&'a [u8], &'a [u8])>,
    /// 12 or 13: the lowest TLS version offered.
    pub min_version: Option<u8>,
    /// The name the server's certificate must be valid for.
    pub server_name: &'a str,
    /// Whether HTTP/2 is offered (ALPN `h2`) besides HTTP/1.1.
    pub http2: bool,
}

/// Builds the rustls client config: the system's roots plus `ca`, verified against
/// `server_name`; the client certificate; versions; ALPN as reqwest would set it.
pub(super) fn client_config(t: &NamedTls<'_>) -> Result<rustls::ClientConfig, HttpConfigError> {
    let invalid = |key: &'static str, reason: String| HttpConfigError::Invalid { key, reason };
    let name = ServerName::try_from(t.server_name.to_owned()).map_err(|e| {
        invalid(
            "tls_config.server_name",
            format!("{:?} is not a host name or IP address: {e}", t.server_name),
        )
    })?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut extra = Vec::new();
    if let Some(ca) = t.ca {
        for c in CertificateDer::pem_slice_iter(ca) {
            extra.push(
                c.map_err(|e| invalid("tls_config.ca", format!("not a PEM certificate: {e}")))?,
            );
        }
        if extra.is_empty() {
            return Err(invalid(
                "tls_config.ca",
                "no certificate found in the PEM data".into(),
            ));
        }
    }
    let inner =
        rustls_platform_verifier::Verifier::new_with_extra_roots(extra, Arc::clone(&provider))
            .map_err(|e| {
                HttpConfigError::Client(format!("the system's roots cannot be used: {e}"))
            })?;
    let versions: &[&'static rustls::SupportedProtocolVersion] = if t.min_version == Some(13) {
        &[&rustls::version::TLS13]
    } else {
        &[&rustls::version::TLS13, &rustls::version::TLS12]
    };
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|e| invalid("tls_config.min_version", e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(NamedVerifier {
            inner: Arc::new(inner),
            name,
        }));
    let mut config = match t.cert_key {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert)
                .collect::<Result<_, _>>()
                .map_err(|e| {
                    invalid(
                        "tls_config client certificate",
                        format!("not a PEM certificate chain: {e}"),
                    )
                })?;
            if certs.is_empty() {
                return Err(invalid(
                    "tls_config client certificate",
                    "no certificate found in the PEM data".into(),
                ));
            }
            let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| {
                invalid(
                    "tls_config client certificate",
                    format!("no usable private key: {e}"),
                )
            })?;
            builder.with_client_auth_cert(certs, key).map_err(|e| {
                invalid(
                    "tls_config client certificate",
                    format!("certificate and key do not go together: {e}"),
                )
            })?
        }
    };
    config.alpn_protocols = if t.http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(config)
}

/// Verifies the server's certificate with `inner` (chain, validity, signatures), but for
/// `name` rather than the name the connection was opened with (the URL's host).
#[derive(Debug)]
struct NamedVerifier {
    /// The verifier reqwest uses for receivers: the system's roots plus `ca`.
    inner: Arc<dyn ServerCertVerifier>,
    /// `tls_config.server_name`.
    name: ServerName<'static>,
}

impl ServerCertVerifier for NamedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _url_host: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, &self.name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.inner.requires_raw_public_keys()
    }

    fn root_hint_subjects(&self) -> Option<&[rustls::DistinguishedName]> {
        self.inner.root_hint_subjects()
    }
}
