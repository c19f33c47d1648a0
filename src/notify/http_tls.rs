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
    /// The TLS versions offered ([`version_range`]).
    pub versions: (u8, u8),
    /// The name the server's certificate must be valid for.
    pub server_name: &'a str,
    /// Whether HTTP/2 is offered (ALPN `h2`) besides HTTP/1.1.
    pub http2: bool,
}

/// `tls_config`'s `min_version` and `max_version` (every receiver, email included) as the range
/// of TLS versions to offer, 12 (TLS 1.2) to 13 (TLS 1.3) when unset. A minimum below TLS 1.2
/// is met by 1.2, the oldest version rustls speaks; a maximum below it cannot be, and is refused.
pub(super) fn version_range(
    min: Option<&str>,
    max: Option<&str>,
) -> Result<(u8, u8), HttpConfigError> {
    let parse = |key: &'static str, v: Option<&str>, unset: u8| match v {
        None | Some("") => Ok(unset),
        Some("TLS10" | "TLS11") if key.ends_with("min_version") => Ok(12),
        Some("TLS12") => Ok(12),
        Some("TLS13") => Ok(13),
        Some(v @ ("TLS10" | "TLS11")) => Err(HttpConfigError::Invalid {
            key,
            reason: format!("{v} is not supported: TLS 1.2 is the oldest version tocsin speaks"),
        }),
        Some(other) => Err(HttpConfigError::Invalid {
            key,
            reason: format!("{other} is not a TLS version (TLS10, TLS11, TLS12, TLS13)"),
        }),
    };
    let lo = parse("tls_config.min_version", min, 12)?;
    let hi = parse("tls_config.max_version", max, 13)?;
    if lo > hi {
        return Err(HttpConfigError::Invalid {
            key: "tls_config.min_version",
            reason: "is above tls_config.max_version".into(),
        });
    }
    Ok((lo, hi))
}

/// The rustls versions of a [`version_range`].
pub(super) fn protocol_versions(
    (lo, hi): (u8, u8),
) -> Vec<&'static rustls::SupportedProtocolVersion> {
    [(13, &rustls::version::TLS13), (12, &rustls::version::TLS12)]
        .into_iter()
        .filter(|(v, _)| (lo..=hi).contains(v))
        .map(|(_, p)| p)
        .collect()
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
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&protocol_versions(t.versions))
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

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

    use super::*;

    /// A CA's PEM, and a server config whose certificate (for `names`) it signed.
    fn server(names: &[&str]) -> (String, Arc<rustls::ServerConfig>) {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_key = KeyPair::generate().unwrap();
        let ca = p.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(p, ca_key);
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let leaf = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
        )
        .unwrap();
        (ca.pem(), Arc::new(config))
    }

    /// An in-memory handshake to 127.0.0.1; the client's error, if any.
    fn handshake(
        client: rustls::ClientConfig,
        server: Arc<rustls::ServerConfig>,
    ) -> Result<(), String> {
        let name = ServerName::IpAddress(Ipv4Addr::LOCALHOST.into());
        let mut c = rustls::ClientConnection::new(Arc::new(client), name).unwrap();
        let mut s = rustls::ServerConnection::new(server).unwrap();
        for _ in 0..10 {
            let mut wire = Vec::new();
            while c.wants_write() {
                c.write_tls(&mut wire).unwrap();
            }
            let mut rd = &wire[..];
            while !rd.is_empty() {
                s.read_tls(&mut rd).unwrap();
                s.process_new_packets()
                    .map_err(|e| format!("server: {e}"))?;
            }
            let mut wire = Vec::new();
            while s.wants_write() {
                s.write_tls(&mut wire).unwrap();
            }
            let mut rd = &wire[..];
            while !rd.is_empty() {
                c.read_tls(&mut rd).unwrap();
                c.process_new_packets()
                    .map_err(|e| format!("client: {e}"))?;
            }
            if !c.is_handshaking() && !s.is_handshaking() {
                return Ok(());
            }
        }
        Err("the handshake did not end".into())
    }

    fn named<'a>(ca: &'a str, server_name: &'a str) -> NamedTls<'a> {
        NamedTls {
            ca: Some(ca.as_bytes()),
            cert_key: None,
            versions: (12, 13),
            server_name,
            http2: true,
        }
    }

    #[test]
    fn the_certificate_is_verified_for_server_name_not_the_address_dialled() {
        let (ca, srv) = server(&["hooks.example"]);
        let ok = client_config(&named(&ca, "hooks.example")).unwrap();
        assert_eq!(ok.alpn_protocols, [b"h2".to_vec(), b"http/1.1".to_vec()]);
        handshake(ok, Arc::clone(&srv)).unwrap();
        let other = client_config(&named(&ca, "other.example")).unwrap();
        let err = handshake(other, srv).unwrap_err();
        assert!(err.contains("not valid for name"), "{err}");
    }

    #[test]
    fn a_bad_server_name_or_ca_names_the_key() {
        let (ca, _) = server(&["hooks.example"]);
        let err = client_config(&named(&ca, "not a name!"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("tls_config.server_name:"), "{err}");
        let err = client_config(&named("no PEM here", "hooks.example"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("tls_config.ca:"), "{err}");
    }

    #[test]
    fn versions_below_tls12_are_met_as_a_minimum_and_refused_as_a_maximum() {
        assert_eq!(version_range(None, None).unwrap(), (12, 13));
        assert_eq!(version_range(Some("TLS10"), None).unwrap(), (12, 13));
        assert_eq!(version_range(Some("TLS13"), None).unwrap(), (13, 13));
        assert_eq!(version_range(None, Some("TLS12")).unwrap(), (12, 12));
        let err = version_range(None, Some("TLS11")).unwrap_err().to_string();
        assert!(
            err.starts_with("tls_config.max_version:") && err.contains("TLS11 is not supported"),
            "{err}"
        );
        let err = version_range(Some("TLS13"), Some("TLS12"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("tls_config.min_version:"), "{err}");
        let err = version_range(Some("SSL3"), None).unwrap_err().to_string();
        assert!(err.contains("SSL3 is not a TLS version"), "{err}");
        assert_eq!(protocol_versions((12, 12)), [&rustls::version::TLS12]);
        assert_eq!(protocol_versions((13, 13)), [&rustls::version::TLS13]);
    }
}
