//! `client_allowed_sans`: the subject alternative names of a client certificate, read from its
//! DER (DNS names, email addresses, IP addresses and URIs, as Go's `x509.Certificate` lists
//! them), and the check exporter-toolkit makes: one of them equals one of the allowed values.
//!
//! The reader walks only what it needs (certificate, TBS certificate, extensions, the SAN
//! extension's `GeneralNames`) and gives up on anything malformed: a certificate it cannot read
//! has no names, so it is refused.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One DER element: (tag, contents, what follows). None when malformed or truncated.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let (bytes, after) = rest.split_at_checked(n)?;
        rest = after;
        bytes
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
    };
    let (contents, after) = rest.split_at_checked(len)?;
    Some((tag, contents, after))
}

/// The elements of a constructed value's contents, until the first malformed one.
fn elements(mut input: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    std::iter::from_fn(move || {
        let (tag, contents, rest) = element(input)?;
        input = rest;
        Some((tag, contents))
    })
}

const SEQUENCE: u8 = 0x30;
const EXTENSIONS: u8 = 0xa3;
const OID: u8 = 0x06;
const OCTET_STRING: u8 = 0x04;
/// id-ce-subjectAltName, 2.5.29.17.
const SAN_OID: &[u8] = &[0x55, 0x1d, 0x11];

/// The subject alternative names of a DER certificate, each as Go prints it.
pub fn names(der: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let Some((SEQUENCE, cert, _)) = element(der) else {
        return out;
    };
    let Some((SEQUENCE, tbs, _)) = element(cert) else {
        return out;
    };
    let Some((_, exts)) = elements(tbs).find(|(tag, _)| *tag == EXTENSIONS) else {
        return out;
    };
    let Some((SEQUENCE, exts, _)) = element(exts) else {
        return out;
    };
    for (tag, ext) in elements(exts) {
        if tag != SEQUENCE {
            continue;
        }
        let mut parts = elements(ext);
        if parts.next() != Some((OID, SAN_OID)) {
            continue;
        }
        // An optional `critical` BOOLEAN, then the value.
        let Some((_, value)) = parts.find(|(tag, _)| *tag == OCTET_STRING) else {
            continue;
        };
        let Some((SEQUENCE, general_names, _)) = element(value) else {
            continue;
        };
        for (tag, name) in elements(general_names) {
            match tag {
                // rfc822Name, dNSName, uniformResourceIdentifier (IA5 strings).
                0x81 | 0x82 | 0x86 => {
                    if let Ok(s) = std::str::from_utf8(name) {
                        out.push(s.to_owned());
                    }
                }
                // iPAddress.
                0x87 => {
                    if let Some(ip) = ip(name) {
                        out.push(ip.to_string());
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// An IP address as Go's `net.IP` prints it (an IPv4-mapped IPv6 address as IPv4).
fn ip(bytes: &[u8]) -> Option<IpAddr> {
    if let Ok(b) = <[u8; 4]>::try_from(bytes) {
        return Some(IpAddr::V4(Ipv4Addr::from(b)));
    }
    let v6 = Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?);
    Some(match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(v6),
    })
}

/// Whether the certificate carries one of the `allowed` names (exact, case-sensitive, as
/// exporter-toolkit compares them).
pub fn allowed(der: &[u8], allowed: &[String]) -> bool {
    names(der).iter().any(|n| allowed.contains(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cert(sans: Vec<rcgen::SanType>) -> Vec<u8> {
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.subject_alt_names = sans;
        let key = rcgen::KeyPair::generate().unwrap();
        p.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn every_kind_of_name_is_read() {
        use rcgen::SanType;
        let der = cert(vec![
            SanType::DnsName("client.example".try_into().unwrap()),
            SanType::Rfc822Name("ops@example.org".try_into().unwrap()),
            SanType::URI("spiffe://example.org/prometheus".try_into().unwrap()),
            SanType::IpAddress("192.0.2.7".parse().unwrap()),
            SanType::IpAddress("2001:db8::1".parse().unwrap()),
        ]);
        assert_eq!(
            names(&der),
            [
                "client.example",
                "ops@example.org",
                "spiffe://example.org/prometheus",
                "192.0.2.7",
                "2001:db8::1"
            ]
        );
        assert!(allowed(&der, &["2001:db8::1".to_owned()]));
        assert!(allowed(
            &der,
            &["nope".to_owned(), "client.example".to_owned()]
        ));
        assert!(!allowed(&der, &["CLIENT.example".to_owned()]));
        assert!(!allowed(&cert(Vec::new()), &["client.example".to_owned()]));
    }

    #[test]
    fn a_mapped_ipv4_address_reads_as_go_prints_it() {
        let mut b = [0u8; 16];
        b[10] = 0xff;
        b[11] = 0xff;
        b[12..].copy_from_slice(&[10, 0, 0, 1]);
        assert_eq!(ip(&b).unwrap().to_string(), "10.0.0.1");
        assert_eq!(ip(&[1, 2, 3]), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Any bytes, and any corruption of a real certificate: no panic.
        #[test]
        fn malformed_certificates_never_panic(
            noise in proptest::collection::vec(any::<u8>(), 0..300),
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8),
        ) {
            let _ = names(&noise);
            let mut der = cert(vec![rcgen::SanType::DnsName("a.example".try_into().unwrap())]);
            let n = der.len();
            for (at, b) in flips {
                der[at % n] = b;
            }
            let _ = names(&der);
            let _ = names(&der[..n / 2]);
        }
    }
}
