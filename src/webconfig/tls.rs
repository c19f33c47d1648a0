//! `tls_server_config` -> a rustls `ServerConfig` on the aws-lc-rs provider (the project's one
//! TLS stack). Go's names for cipher suites and curves are mapped to rustls's; Go suites rustls
//! does not implement (CBC, RSA key exchange) and the P-521 curve are accepted with a warning and
//! left out, as long as something usable remains.

use std::sync::Arc;

use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};

use super::{ClientAuth, TlsServer, TlsVersion, WebConfigError};

/// Go's TLS 1.0–1.2 cipher suite names (`tls.CipherSuites()`), and whether rustls has each.
const GO_SUITES: &[(&str, bool)] = &[
    ("TLS_RSA_WITH_AES_128_CBC_SHA", false),
    ("TLS_RSA_WITH_AES_256_CBC_SHA", false),
    ("TLS_RSA_WITH_AES_128_GCM_SHA256", false),
    ("TLS_RSA_WITH_AES_256_GCM_SHA384", false),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", false),
    ("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", false),
    ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", false),
    ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", false),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", true),
    ("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", true),
    ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", true),
    ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", true),
    ("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", true),
    ("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", true),
    // TLS 1.3 suites: Go accepts the names and ignores them (1.3 suites are not configurable).
    ("TLS_AES_128_GCM_SHA256", false),
    ("TLS_AES_256_GCM_SHA384", false),
    ("TLS_CHACHA20_POLY1305_SHA256", false),
];

/// Checks a `cipher_suites` entry: unknown names are errors (as in exporter-toolkit); names
/// rustls lacks are warnings.
pub fn check_cipher(name: &str, warnings: &mut Vec<String>) -> Result<(), String> {
    match GO_SUITES.iter().find(|(n, _)| *n == name) {
        None => Err(format!("unknown cipher: {name}")),
        Some((_, true)) => Ok(()),
        Some((n, false)) if n.starts_with("TLS_AES") || n.starts_with("TLS_CHACHA") => {
            warnings.push(format!(
                "tls_server_config.cipher_suites: {name} is a TLS 1.3 suite; TLS 1.3 suites are not configurable and it is ignored (as in Go)"
            ));
            Ok(())
        }
        Some(_) => {
            warnings.push(format!(
                "tls_server_config.cipher_suites: {name} is not implemented by rustls and is left out"
            ));
            Ok(())
        }
    }
}

/// Checks a `curve_preferences` entry (exporter-toolkit's four names).
pub fn check_curve(name: &str, warnings: &mut Vec<String>) -> Result<(), String> {
    match name {
        "X25519" | "CurveP256" | "CurveP384" => Ok(()),
        "CurveP521" => {
            warnings.push(
                "tls_server_config.curve_preferences: CurveP521 is not implemented by rustls and is left out"
                    .into(),
            );
            Ok(())
        }
        other => Err(format!("unknown curve: {other}")),
    }
}

fn invalid(file: &str, key: &str, message: impl Into<String>) -> WebConfigError {
    WebConfigError::Invalid {
        file: file.to_owned(),
        key: format!("tls_server_config.{key}"),
        message: message.into(),
    }
}

/// Reads the certificate, key and client CA, and builds the server config.
pub fn server_config(
    t: &TlsServer,
    http2: bool,
    file: &str,
) -> Result<rustls::ServerConfig, WebConfigError> {
    server_config_from(t, http2, file, &server_pems(t, file)?)
}

/// Reads the certificate, key and client CA (in that order; no client CA: empty).
pub fn server_pems(t: &TlsServer, file: &str) -> Result<Vec<Vec<u8>>, WebConfigError> {
    Ok(vec![
        t.cert.read(file, "tls_server_config.cert_file")?,
        t.key.read(file, "tls_server_config.key_file")?,
        match &t.client_ca {
            Some(p) => p.read(file, "tls_server_config.client_ca_file")?,
            None => Vec::new(),
        },
    ])
}

/// Builds the server config from the bytes already read: `[cert, key, client CA]`.
pub fn server_config_from(
    t: &TlsServer,
    http2: bool,
    file: &str,
    pems: &[Vec<u8>],
) -> Result<rustls::ServerConfig, WebConfigError> {
    let empty = Vec::new();
    let (cert_pem, key_pem, ca_pem) = (
        pems.first().unwrap_or(&empty),
        pems.get(1).unwrap_or(&empty),
        pems.get(2).unwrap_or(&empty),
    );
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| {
            invalid(
                file,
                "cert_file",
                format!("not a PEM certificate chain: {e}"),
            )
        })?;
    if certs.is_empty() {
        return Err(invalid(
            file,
            "cert_file",
            "no certificate found in the PEM data",
        ));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| invalid(file, "key_file", format!("no usable private key: {e}")))?;

    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    if !t.cipher_suites.is_empty() {
        let wanted: Vec<&str> = t.cipher_suites.iter().map(String::as_str).collect();
        let mut suites: Vec<_> = provider
            .cipher_suites
            .iter()
            .filter(|s| s.version() == &rustls::version::TLS13)
            .copied()
            .collect();
        for name in &wanted {
            if let Some(s) = provider
                .cipher_suites
                .iter()
                .find(|s| format!("{:?}", s.suite()) == *name)
            {
                suites.push(*s);
            }
        }
        let has12 = suites
            .iter()
            .any(|s| s.version() == &rustls::version::TLS12);
        if !has12 && t.max_version == TlsVersion::Tls12 {
            return Err(invalid(
                file,
                "cipher_suites",
                "none of the listed suites is implemented by rustls",
            ));
        }
        provider.cipher_suites = suites;
    }
    if !t.curve_preferences.is_empty() {
        use rustls::crypto::aws_lc_rs::kx_group;
        let groups: Vec<&'static dyn rustls::crypto::SupportedKxGroup> = t
            .curve_preferences
            .iter()
            .filter_map(|c| match c.as_str() {
                "X25519" => Some(kx_group::X25519),
                "CurveP256" => Some(kx_group::SECP256R1),
                "CurveP384" => Some(kx_group::SECP384R1),
                _ => None,
            })
            .collect();
        if groups.is_empty() {
            return Err(invalid(
                file,
                "curve_preferences",
                "none of the listed curves is implemented by rustls",
            ));
        }
        provider.kx_groups = groups;
    }
    let provider = Arc::new(provider);
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = [
        (TlsVersion::Tls13, &rustls::version::TLS13),
        (TlsVersion::Tls12, &rustls::version::TLS12),
    ]
    .into_iter()
    .filter(|(v, _)| *v >= t.min_version && *v <= t.max_version)
    .map(|(_, p)| p)
    .collect();
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&versions)
        .map_err(|e| invalid(file, "min_version", e.to_string()))?;

    let roots = || -> Result<Arc<RootCertStore>, WebConfigError> {
        let mut store = RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(ca_pem) {
            let c = c.map_err(|e| {
                invalid(
                    file,
                    "client_ca_file",
                    format!("not a PEM certificate: {e}"),
                )
            })?;
            store
                .add(c)
                .map_err(|e| invalid(file, "client_ca_file", e.to_string()))?;
        }
        if store.is_empty() {
            return Err(invalid(
                file,
                "client_ca_file",
                "no certificate found in the client CA",
            ));
        }
        Ok(Arc::new(store))
    };
    let verifier: Option<Arc<dyn ClientCertVerifier>> = match t.client_auth {
        ClientAuth::NoClientCert => None,
        ClientAuth::RequestClientCert => Some(Arc::new(AnyClientCert {
            mandatory: false,
            algs: provider.signature_verification_algorithms,
        })),
        ClientAuth::RequireAnyClientCert => Some(Arc::new(AnyClientCert {
            mandatory: true,
            algs: provider.signature_verification_algorithms,
        })),
        ClientAuth::VerifyClientCertIfGiven => Some(
            WebPkiClientVerifier::builder_with_provider(roots()?, Arc::clone(&provider))
                .allow_unauthenticated()
                .build()
                .map_err(|e| invalid(file, "client_ca_file", e.to_string()))?,
        ),
        ClientAuth::RequireAndVerifyClientCert => Some(
            WebPkiClientVerifier::builder_with_provider(roots()?, Arc::clone(&provider))
                .build()
                .map_err(|e| invalid(file, "client_ca_file", e.to_string()))?,
        ),
    };
    let verifier = verifier.map(|inner| -> Arc<dyn ClientCertVerifier> {
        if t.client_allowed_sans.is_empty() {
            inner
        } else {
            Arc::new(AllowedSans {
                inner,
                allowed: t.client_allowed_sans.clone(),
            })
        }
    });
    let builder = match verifier {
        Some(v) => builder.with_client_cert_verifier(v),
        None => builder.with_no_client_auth(),
    };
    let mut cfg = builder.with_single_cert(certs, key).map_err(|e| {
        invalid(
            file,
            "key_file",
            format!("certificate and key do not go together: {e}"),
        )
    })?;
    cfg.ignore_client_order = t.prefer_server_cipher_suites;
    cfg.alpn_protocols = if http2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(cfg)
}

/// `client_allowed_sans`: the policy's own check, then one of the certificate's subject
/// alternative names must be allowed. As in exporter-toolkit, a certificate is then required
/// whatever the policy (Go's check refuses a handshake without one).
#[derive(Debug)]
struct AllowedSans {
    /// The `client_auth_type` policy's verifier.
    inner: Arc<dyn ClientCertVerifier>,
    /// The allowed names.
    allowed: Vec<String>,
}

impl ClientCertVerifier for AllowedSans {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        if super::san::allowed(end_entity, &self.allowed) {
            Ok(verified)
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Go's `RequestClientCert` and `RequireAnyClientCert`: any certificate is taken without
/// checking who issued it (the client still proves it holds the key).
#[derive(Debug)]
struct AnyClientCert {
    /// Whether a certificate is required.
    mandatory: bool,
    /// The provider's signature algorithms.
    algs: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}
