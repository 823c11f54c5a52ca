//! Just enough X.509 reading to check a reused certificate: its SubjectPublicKeyInfo (does it
//! belong to our key?) and its subjectAltNames (does it name our listeners?). A PEM decoder
//! and a DER walker over the certificate's fixed layout (RFC 5280 §4.1); no signature checks.

use std::net::IpAddr;

use super::SanName;

/// What is read from a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CertInfo {
    /// The SubjectPublicKeyInfo, DER (tag and length included).
    pub spki: Vec<u8>,
    /// DNS names and IP addresses of the subjectAltName extension.
    pub names: Vec<SanName>,
}

/// Reads the first `CERTIFICATE` block of a PEM text.
pub(crate) fn parse_certificate_pem(pem: &str) -> Result<CertInfo, String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let start = pem.find(BEGIN).ok_or("no BEGIN CERTIFICATE line")? + BEGIN.len();
    let len = pem[start..].find(END).ok_or("no END CERTIFICATE line")?;
    let der = base64_decode(&pem[start..start + len]).ok_or("bad base64 in the PEM block")?;
    parse_certificate_der(&der)
}

/// Reads a DER certificate.
pub(crate) fn parse_certificate_der(der: &[u8]) -> Result<CertInfo, String> {
    let (cert, rest) = expect(der, SEQUENCE, "Certificate")?;
    if !rest.is_empty() {
        return Err("trailing bytes after the certificate".to_owned());
    }
    let (tbs, _) = expect(cert, SEQUENCE, "TBSCertificate")?;
    let mut fields = tbs;
    // version [0] EXPLICIT, optional
    if fields.first() == Some(&0xa0) {
        fields = tlv(fields)?.2;
    }
    for what in ["serialNumber", "signature", "issuer", "validity", "subject"] {
        fields = tlv(fields).map_err(|e| format!("{what}: {e}"))?.2;
    }
    let (tag, _, after) = tlv(fields)?;
    if tag != SEQUENCE {
        return Err("subjectPublicKeyInfo is not a SEQUENCE".to_owned());
    }
    let spki = fields[..fields.len() - after.len()].to_vec();
    let mut fields = after;

    let mut names = Vec::new();
    while !fields.is_empty() {
        let (tag, content, rest) = tlv(fields)?;
        fields = rest;
        if tag != 0xa3 {
            continue; // issuerUniqueID [1], subjectUniqueID [2]
        }
        let (mut extensions, _) = expect(content, SEQUENCE, "extensions")?;
        while !extensions.is_empty() {
            let (extension, rest) = expect(extensions, SEQUENCE, "Extension")?;
            extensions = rest;
            let (oid, mut body) = expect(extension, OID, "extnID")?;
            if oid != SUBJECT_ALT_NAME {
                continue;
            }
            if body.first() == Some(&BOOLEAN) {
                body = tlv(body)?.2; // critical
            }
            let (value, _) = expect(body, OCTET_STRING, "extnValue")?;
            let (mut general_names, _) = expect(value, SEQUENCE, "GeneralNames")?;
            while !general_names.is_empty() {
                let (tag, content, rest) = tlv(general_names)?;
                general_names = rest;
                match tag {
                    0x82 => names.push(SanName::Dns(
                        String::from_utf8(content.to_vec()).map_err(|_| "bad dNSName")?,
                    )),
                    0x87 => names.push(SanName::Ip(match content.len() {
                        4 => IpAddr::from(<[u8; 4]>::try_from(content).map_err(|_| "bad IP")?),
                        16 => IpAddr::from(<[u8; 16]>::try_from(content).map_err(|_| "bad IP")?),
                        n => return Err(format!("iPAddress of {n} bytes")),
                    })),
                    _ => {}
                }
            }
        }
    }
    Ok(CertInfo { spki, names })
}

const BOOLEAN: u8 = 0x01;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const SEQUENCE: u8 = 0x30;
/// 2.5.29.17
const SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];

/// One DER element: (tag, content, rest). Single-byte tags, definite lengths only.
fn tlv(input: &[u8]) -> Result<(u8, &[u8], &[u8]), String> {
    let (&tag, rest) = input.split_first().ok_or("truncated DER (tag)")?;
    let (&first, rest) = rest.split_first().ok_or("truncated DER (length)")?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err("unsupported DER length".to_owned());
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return Err("truncated DER (content)".to_owned());
    }
    Ok((tag, &rest[..len], &rest[len..]))
}

/// One DER element that must have `tag`: (content, rest).
fn expect<'a>(input: &'a [u8], tag: u8, what: &str) -> Result<(&'a [u8], &'a [u8]), String> {
    let (found, content, rest) = tlv(input).map_err(|e| format!("{what}: {e}"))?;
    if found != tag {
        return Err(format!("{what}: tag {found:#04x}, expected {tag:#04x}"));
    }
    Ok((content, rest))
}

/// Standard base64 (RFC 4648 §4), ignoring white space; `None` on any other stray byte.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for byte in text.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_padded_and_wrapped_text() {
        assert_eq!(base64_decode("aGVs\nbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGVsbG8h").unwrap(), b"hello!");
        assert!(base64_decode("a*b").is_none());
    }

    #[test]
    fn garbage_is_refused() {
        assert!(parse_certificate_pem("nothing").is_err());
        assert!(parse_certificate_der(&[0x30, 0x05, 0x02]).is_err());
        assert!(parse_certificate_der(&[0x30, 0x00]).is_err());
    }
}
